"""Installation check: is everything pycosim needs present and working?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what was checked, whether it passed, details.

    *stale*: the item is present and works but is out of date (a calibration bundle made from SPICE files
    that have changed since); ``ok`` is then False and the report says STALE, not MISSING."""

    name: str
    ok: bool
    detail: str
    stale: bool = False

    @property
    def state(self) -> str:
        """``ok``, ``STALE`` or ``MISSING`` (the tag of the report line)."""
        return "ok" if self.ok else "STALE" if self.stale else "MISSING"


def format_check(check: Check) -> str:
    """One report line: ``[state] name  detail``."""
    return f"[{check.state}] {check.name:<16} {check.detail}"


def summary_line(checks: list[Check]) -> str | None:
    """The closing line of a report with problems (None when every check passed)."""
    missing = [c.name for c in checks if not c.ok and not c.stale]
    stale = [c.name for c in checks if c.stale]
    parts = ([f"missing or broken: {', '.join(missing)}"] if missing else []) + (
        [f"stale: {', '.join(stale)}"] if stale else [])
    return "pycosim doctor: " + "; ".join(parts) if parts else None


class StaleCalibrationWarning(UserWarning):
    """A calibration bundle was made from SPICE files that have changed since (it still loads and runs)."""


def stale_reason(bundle) -> str | None:
    """Why *bundle* is stale against the SPICE files on disk, or None if it is not: the files its provenance
    hashes (``provenance.files``, paths relative to the shipped SPICE directory) that changed or disappeared
    since it was made (from :func:`pycosim.calibration.stale_files`), with the old and new SHA-256 prefixes,
    and what to run. Library overrides the bundle records (``provenance.lib_params``, from
    ``pycosim characterize --lib-param``) are deliberate and not staleness."""
    from pycosim import calibration
    from pycosim.resources import spice_root

    files = calibration.stale_files(bundle)
    if not files:
        return None
    recorded = bundle.provenance.get("files") or {}
    parts = []
    for rel in files:
        path = spice_root() / rel
        if not path.is_file():
            parts.append(f"{rel} is missing")
        else:
            from pycosim.spice.netlist import sha256_file

            parts.append(f"{rel} changed (SHA-256 {str(recorded.get(rel))[:8]}… at characterisation, "
                         f"{sha256_file(path)[:8]}… now)")
    return (f"made from SPICE files that changed since: {'; '.join(parts)}; re-run pycosim characterize "
            f"--out {bundle.path}")


def analog_bundles(tasks) -> list:
    """The calibration bundles (directories; None = the shipped one) that the analog runs of sweep *tasks*
    (:class:`pycosim.sweep.spec.Task`) load; float runs load none."""
    from pycosim import config as _cfg
    from pycosim.nn.config import TrainConfig

    out = []
    for t in tasks:
        if t.calibration not in out and _cfg.from_dict(TrainConfig, t.config).synapse.scheme.analog:
            out.append(t.calibration)
    return out


def warn_if_stale(calibration_dirs) -> str | None:
    """Issue ONE :class:`StaleCalibrationWarning` (one line) if any bundle of *calibration_dirs* (directories;
    None = the shipped bundle) is stale against the SPICE files on disk (:func:`stale_reason`); returns its
    message, or None. Bundles that do not load are left to the caller (its own error says why).
    Used by ``pycosim train`` and ``pycosim sweep`` before they start."""
    import warnings

    from pycosim import calibration
    from pycosim.errors import PycosimError

    notes, seen = [], set()
    for d in calibration_dirs:
        key = str(d) if d is not None else None
        if key in seen:
            continue
        seen.add(key)
        try:
            bundle = calibration.load(d)
        except PycosimError:
            continue
        why = stale_reason(bundle)
        if why:
            notes.append(f"calibration bundle {bundle.path} is stale: {why}")
    if not notes:
        return None
    message = " | ".join(notes) + " (results use the stale bundle)"
    warnings.warn(message, StaleCalibrationWarning, stacklevel=2)
    return message


def _why(exc: BaseException) -> str:
    """One line for a failed check: pycosim's own message, or the exception type and text."""
    from pycosim.errors import PycosimError

    text = str(exc) if isinstance(exc, PycosimError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def doctor(data_dir=None) -> list[Check]:
    """Check ngspice (shared library, version), PySpice, the shipped SPICE files, MNIST and the shipped
    calibration bundle (present and valid; STALE, with the reason, when SPICE files changed since it was made).

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

        bundle = calibration.load()
        why = stale_reason(bundle)
        if why:
            checks.append(Check("calibration", False, f"{bundle.path}: shipped bundle {why}", stale=True))
        else:
            checks.append(Check("calibration", True, f"{bundle.path}: shipped bundle, provenance matches the "
                                                     f"{len(bundle.provenance['files'])} SPICE files"))
    except Exception as exc:  # noqa: BLE001
        checks.append(Check("calibration", False, _why(exc)))
    return checks
