"""Read-only access to a training run directory (``pycosim train --out RUNDIR``) for evaluation and reports.

Nothing here writes into the run directory or changes the checkpoint: the state read from it (a
:mod:`pycosim.statefile`, never a pickle) is a fresh object every call, and callers work on deep copies of
its network. Missing or unreadable files are
one-line :class:`pycosim.errors.ConfigError` messages that name the file and what needs it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pycosim.errors import ConfigError
from pycosim.nn.train import CHECKPOINT, CONFIG, LEGACY_CHECKPOINT, METRICS

EVALUATE_JSON = "evaluate.json"
REPORT_JSON = "report.json"


def run_path(run_dir, what: str) -> Path:
    """*run_dir* as a Path; ConfigError if it is not an existing directory (*what* names the command)."""
    p = Path(run_dir).expanduser()
    if not p.is_dir():
        raise ConfigError(f"{what} {p}: no such run directory (make one with `pycosim train --out RUNDIR`)")
    return p


def _need(p: Path, name: str, what: str) -> Path:
    f = p / name
    if not f.is_file() and name == CHECKPOINT and (p / LEGACY_CHECKPOINT).is_file():
        from pycosim.nn.train import pickled_checkpoint_error

        raise ConfigError(f"{what} {pickled_checkpoint_error(p / LEGACY_CHECKPOINT)}")
    if not f.is_file():
        raise ConfigError(f"{what} {p}: no {name} there (not a finished `pycosim train` run directory)")
    return f


def _read(run_dir, name: str, parse, what: str):
    """parse(bytes) of RUNDIR/name, ConfigError naming the file if it is missing or cannot be parsed."""
    p = run_path(run_dir, what)
    f = _need(p, name, what)
    try:
        return p, parse(f.read_bytes())
    except Exception as exc:
        raise ConfigError(f"{what} {p}: unreadable {name} ({type(exc).__name__}: {exc})") from None


def load_state(run_dir, what: str = "evaluate", bundle=None):
    """The :class:`pycosim.nn.train._State` of the run, from its ``checkpoint.npz``: the network (a Network
    of Crossbars) rebuilt from ``config.toml`` with the calibration bundle the run used (*bundle*, else the
    one recorded in the checkpoint if it still exists, else the shipped one; checked against the recorded
    tables' SHA-256) and the saved device state restored. A pickled checkpoint (an old ``checkpoint.pkl``)
    is never unpickled: ConfigError, one line naming the file, as for any unreadable checkpoint."""
    from pycosim.nn import train

    p = run_path(run_dir, what)
    f = _need(p, CHECKPOINT, what)
    cfg = load_config(p, what)
    try:
        tree = train.read_checkpoint(f)
        if bundle is None and cfg.synapse.scheme.analog:
            from pycosim import calibration

            rec = (tree.get("bundle") or {}).get("path")
            bundle = calibration.load(rec) if rec and Path(rec).is_dir() else calibration.load()
        return train.restore_checkpoint(tree, cfg, bundle, f)
    except ConfigError as exc:
        raise ConfigError(f"{what} {exc}") from None


def check_writable(run_dir, what: str) -> None:
    """ConfigError, before any work, naming the directory if *what* (a command writing its results into the
    run directory) cannot write there or in its ``plots/``."""
    from pycosim.files import check_out_dir

    p = Path(run_dir).expanduser()
    check_out_dir(p, what, allow_existing=True)
    if (p / "plots").is_dir():
        check_out_dir(p / "plots", what, allow_existing=True)


def load_metrics(run_dir, what: str = "report") -> dict:
    """``metrics.json`` of the run as a dict (ConfigError if missing, unreadable or without counters)."""
    p, m = _read(run_dir, METRICS, json.loads, what)
    if not isinstance(m, dict) or not isinstance(m.get("counters"), list) or "examples_seen" not in m:
        raise ConfigError(f"{what} {p}: {METRICS} has no hardware counters (written by an older pycosim?)")
    return m


def load_config(run_dir, what: str = "evaluate"):
    """The run's resolved :class:`pycosim.nn.config.TrainConfig` (``config.toml``)."""
    from pycosim.nn import config as ncfg

    p = run_path(run_dir, what)
    return ncfg.load(_need(p, CONFIG, what))


def load_bundle(metrics: dict, calibration_dir=None):
    """The calibration bundle of the run: *calibration_dir* if given, else the one recorded in
    ``metrics.json`` (``calibration.path``) if it still exists, else the shipped bundle. Returns
    (bundle, note) — the note says which one was used and why."""
    from pycosim import calibration

    if calibration_dir is not None:
        return calibration.load(calibration_dir), f"--calibration {calibration_dir}"
    rec = (metrics.get("calibration") or {}).get("path")
    if rec and Path(rec).is_dir():
        return calibration.load(rec), f"the run's bundle {rec}"
    note = "the shipped bundle" + (f" (the run's {rec} no longer exists)" if rec else "")
    return calibration.load(), note
