"""pycosim — circuit-level co-simulation of neural-network training on analog NVM crossbars.

Data flow: netlist → ngspice run → extracted characteristics → calibration bundle →
vectorised array model → training → metrics, plots, energy.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("pycosim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from pycosim.errors import CalibrationError, ConfigError, DatasetError, PycosimError, SpiceError  # noqa: E402

__all__ = ["__version__", "PycosimError", "SpiceError", "DatasetError", "CalibrationError", "ConfigError"]
