"""Device-requirement sweeps: many training runs over settings, seeds and calibration bundles.

``pycosim sweep SWEEP.toml --out DIR [--jobs J] [--scheduler ADDRESS]`` is :func:`run_sweep`. Modules:
:mod:`~pycosim.sweep.spec` (the sweep file → validated runs), :mod:`~pycosim.sweep.execute` (local
processes or a Dask cluster), :mod:`~pycosim.sweep.results` (journal, results.csv, summaries),
:mod:`~pycosim.sweep.plots`,
:mod:`~pycosim.sweep.runner` (the orchestration). Documentation: docs/sweeps.md.
"""

from pycosim.sweep.runner import SweepResult, check_out_dir, run_sweep
from pycosim.sweep.spec import Sweep, Task, load_sweep

__all__ = ["run_sweep", "load_sweep", "check_out_dir", "Sweep", "SweepResult", "Task"]
