"""Exception types, one per layer of the data flow.

Every message names the file, the parameter and the allowed values where that applies,
so that the command line can print it as a single line (see :mod:`pycosim.cli`).
"""


class PycosimError(Exception):
    """Base class of every error pycosim raises on purpose (bad input, missing tool, bad file)."""


class SpiceError(PycosimError):
    """ngspice is missing, a netlist is invalid, or a simulation failed (carries ngspice's own lines)."""


class DatasetError(PycosimError):
    """A dataset file is missing, truncated or corrupt."""


class CalibrationError(PycosimError):
    """A calibration bundle is missing, truncated, incompatible or fails its provenance check."""


class ConfigError(PycosimError):
    """An invalid configuration value or parameter name."""


class SpiceWarning(UserWarning):
    """A simulation completed but part of it is missing, e.g. a ``.meas`` ngspice could not
    evaluate (its value is NaN); the message names the netlist and the measure."""


def caused_by_interrupt(exc: BaseException) -> bool:
    """True if a KeyboardInterrupt is *exc* or in its cause/context chain: a Ctrl-C that arrived inside
    compiled code (numba) is re-raised by the interpreter as SystemError "returned a result with an
    exception set", the KeyboardInterrupt as its cause."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
