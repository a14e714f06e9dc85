"""SPICE layer: run ngspice netlists from Python and get NumPy arrays back.

>>> from pycosim.spice import run
>>> res = run("circuits/integrator_transfer.cir", params={"cint": 1e-12})   # doctest: +SKIP
>>> res.v("out"), res.meas, res.meta["ngspice_version"]                      # doctest: +SKIP
"""

from pycosim.errors import SpiceError, SpiceWarning
from pycosim.resources import resource_path
from pycosim.spice.engine import library_path, ngspice_version, run
from pycosim.spice.netlist import Netlist, load
from pycosim.spice.pool import iter_many, iter_monte_carlo, run_many, run_monte_carlo
from pycosim.spice.result import Result

__all__ = ["run", "run_many", "run_monte_carlo", "iter_many", "iter_monte_carlo", "Result", "Netlist", "load", "SpiceError", "SpiceWarning",
           "resource_path", "library_path", "ngspice_version"]
