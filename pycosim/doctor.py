"""Installation check: is everything pycosim needs present and working?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what was checked, whether it passed, details."""

    name: str
    ok: bool
    detail: str


def _why(exc: BaseException) -> str:
    """One line for a failed check: pycosim's own message, or the exception type and text."""
    from pycosim.errors import PycosimError

    text = str(exc) if isinstance(exc, PycosimError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def doctor(data_dir=None) -> list[Check]:
    """Check ngspice (shared library, version), PySpice, the shipped SPICE files and MNIST.

    Actually runs a one-resistor ``.op`` through the engine (no cache) so a broken library is
    caught, not just a present file. Returns the list of checks (never raises: whatever goes
    wrong in a check, even an unexpected exception, becomes a failed line of the report).
    """
    from pycosim import __version__

    checks = [Check("pycosim", True, __version__)]
    try:
        from pycosim.spice import engine

        lib = engine.library_path()
        checks.append(Check("ngspice library", True, lib))
        res = engine.run("doctor check\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n", cache=False)
        ok = abs(res.i("v1")[0] + 1e-3) < 1e-9
        checks.append(Check("ngspice", ok, f"version {engine.ngspice_version()}; 1 V over 1 kΩ gives "
                                             f"{-res.i('v1')[0] * 1e3:.6f} mA"))
    except Exception as exc:  # noqa: BLE001 - the doctor reports, it never crashes
        checks.append(Check("ngspice", False, _why(exc)))
    try:
        import PySpice

        checks.append(Check("PySpice", True, PySpice.__version__))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("PySpice", False, f"not importable: {_why(exc)}"))
    try:
        from pycosim.resources import list_benches, spice_root

        benches = list_benches()
        checks.append(Check("SPICE files", bool(benches), f"{spice_root()}: {len(benches)} benches in circuits/"))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("SPICE files", False, _why(exc)))
    try:
        from pycosim.datasets import mnist

        info = mnist.check(data_dir)
        checks.append(Check("MNIST", True, f"{info['dir']}: train {info['train']}, test {info['test']}"))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("MNIST", False, _why(exc)))
    try:
        from pycosim import calibration

        bundle = calibration.load(check_provenance=True)
        checks.append(Check("calibration", True, f"{bundle.path}: shipped bundle, provenance matches the "
                                                 f"{len(bundle.provenance['files'])} SPICE files"))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("calibration", False, _why(exc)))
    return checks
