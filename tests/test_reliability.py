"""Reliability, third pass: values checked at the door, run directories that cannot be mixed or mislabelled,
processes that die with their parent, one-line errors instead of tracebacks. One test (or more) per class of
defect; real processes and signals where the class is about them, real ngspice where it simulates."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pycosim import calibration as cal
from pycosim.errors import CalibrationError, ConfigError

PY = sys.executable


def _cli(*args, timeout=300, **kw):
    return subprocess.run([PY, "-m", "pycosim.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def _main(capsys, *args):
    from pycosim.cli import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err.strip()


def _one_line(err: str, *words):
    assert err.startswith("pycosim: error:"), err
    assert "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    """The first 300/100 MNIST examples as an npz data set (for real CLI runs in subprocesses)."""
    from pycosim.datasets import sources

    d = sources.load("mnist")
    p = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(p, x_train=d.x_train[:300], y_train=d.y_train[:300], x_test=d.x_test[:100], y_test=d.y_test[:100])
    return p


TINY_SWEEP = """
name = "tiny"
base = "ambrogio2018"
set = ["network.hidden=4", "transfer.interval=50"]
seeds = {seeds}
baseline = {baseline}

[budget]
epochs = {epochs}
train_subset = {train}
test_subset = 50

[vary]
{vary}
"""


@pytest.fixture
def write_sweep_local(tmp_path):
    def write(vary, seeds="[0]", baseline="true", epochs=1, train=100, name="s.toml"):
        p = tmp_path / name
        p.write_text(TINY_SWEEP.format(vary=vary, seeds=seeds, baseline=baseline, epochs=epochs, train=train))
        return p

    return write


# 4 ------------------------------------------------------------------- calibration values checked on load
def _copy_shipped(tmp_path):
    import shutil

    d = tmp_path / "cal"
    shutil.copytree(cal.default_path(), d)
    return d


def _edit_scalars(d, section, key, value):
    doc = json.loads((d / cal.JSON_NAME).read_text())
    doc[section][key] = value
    (d / cal.JSON_NAME).write_text(json.dumps(doc, allow_nan=True))


def _edit_table(d, name, fn):
    import hashlib

    with np.load(d / cal.TABLES_NAME) as z:
        tables = {k: z[k] for k in z.files}
    tables[name] = fn(tables[name])
    np.savez_compressed(d / cal.TABLES_NAME, **tables)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    doc["provenance"]["tables_sha256"] = hashlib.sha256((d / cal.TABLES_NAME).read_bytes()).hexdigest()
    (d / cal.JSON_NAME).write_text(json.dumps(doc))


@pytest.mark.parametrize("section, key, value, words", [
    ("pcm", "e_set_J", -2.15e-7, ["pcm.e_set_J", "out of range"]),
    ("lsp", "e_up_J", float("nan"), ["lsp.e_up_J", "not a finite number"]),
    ("integrator", "gain_V_per_C", float("nan"), ["integrator.gain_V_per_C", "not a finite"]),
    ("pcm", "read_v_V", float("nan"), ["pcm.read_v_V"]),
    ("integrator", "e_read_J", float("inf"), ["integrator.e_read_J"]),
    ("pcm", "read_v_V", 0.0, ["pcm.read_v_V", "> 0"]),
])
def test_calibration_scalars_are_checked_on_load(tmp_path, capsys, section, key, value, words):
    d = _copy_shipped(tmp_path)
    _edit_scalars(d, section, key, value)
    with pytest.raises(CalibrationError) as e:
        cal.load(d)
    for w in words:
        assert w in str(e.value)
    code, err = _main(capsys, "calibration", "show", d)
    assert code == 2
    _one_line(err, words[0])


@pytest.mark.parametrize("name, fn, words", [
    ("pcm/g_max_S", lambda t: np.where(np.arange(t.size) == 3, np.nan, t), ["pcm/g_max_S", "non-finite"]),
    ("lsp/g_of_vc_S", lambda t: t[:, :-1], ["lsp/g_of_vc_S", "inconsistent", "lsp/vc_grid_V"]),
    ("pcm/drift_nu", lambda t: t[:-1], ["pcm/drift_nu", "inconsistent"]),
    ("pcm/read_g_S", lambda t: -t, ["pcm/read_g_S", "negative"]),
    ("lsp/dv_up_V", lambda t: t[:, :0], ["lsp/dv_up_V", "empty"]),
])
def test_calibration_tables_are_checked_on_load(tmp_path, capsys, name, fn, words):
    d = _copy_shipped(tmp_path)
    _edit_table(d, name, fn)
    with pytest.raises(CalibrationError) as e:
        cal.load(d)
    for w in words:
        assert w in str(e.value)
    code, err = _main(capsys, "calibration", "show", d)
    assert code == 2
    _one_line(err, name)


# 5 ------------------------------------------------------------------- non-finite settings
@pytest.mark.parametrize("assignment", ["training.lr=inf", "pcm.c2c_scale=inf", "transfer.threshold=inf",
                                        "synapse.F=inf", "synapse.weight_max=nan", "periphery.forward_full_scale=inf",
                                        "network.init_scale=-inf", "lsp.up_down_ratio=NaN"])
def test_every_float_setting_refuses_inf_and_nan(tmp_path, capsys, assignment):
    from pycosim import config as _cfg
    from pycosim.nn import config as ncfg
    from pycosim.nn import presets

    with pytest.raises(ConfigError, match="finite"):
        ncfg.override(presets.get("ambrogio2018"), [assignment])
    code, err = _main(capsys, "train", "-s", assignment, "--out", tmp_path / "run")
    assert code == 2
    _one_line(err, assignment.split("=")[0], "finite")
    assert not (tmp_path / "run").exists()
    # the same in a TOML file, and for every float field of the tree (the check is central, not per field)
    path, _, _ = assignment.partition("=")
    section, key = path.split(".")
    (tmp_path / "c.toml").write_text(f"[{section}]\n{key} = inf\n")
    with pytest.raises(ConfigError, match="finite"):
        ncfg.load(tmp_path / "c.toml")


def test_no_float_field_accepts_infinity():
    import typing

    from pycosim import config as _cfg
    from pycosim.nn import config as ncfg

    cfg = ncfg.TrainConfig()
    floats = [p for p in _cfg.paths(ncfg.TrainConfig) if _annotation(ncfg.TrainConfig, p) in (float, float | None)]
    assert len(floats) > 10
    for p in floats:
        for bad in ("inf", "-inf", "nan"):
            with pytest.raises(ConfigError, match="finite"):
                _cfg.override(cfg, [f"{p}={bad}"])


def _annotation(cls, path):
    import typing

    for k in path.split("."):
        ann = typing.get_type_hints(cls)[k]
        cls = ann
    return ann


# 6 ------------------------------------------------------------------- evaluate --times bounded
@pytest.mark.parametrize("text", ["1e39y", "1s,2e9y", "1e300s"])
def test_evaluate_times_are_bounded(text):
    from pycosim.evaluate import parse_times

    with pytest.raises(ConfigError, match="longest time"):
        parse_times(text)
    assert parse_times("1e9y")[0][1] == pytest.approx(1e9 * 365.25 * 86400)


# 13 ------------------------------------------------------------------ Ctrl-C inside compiled code
def test_interrupt_surfacing_as_system_error_exits_130(monkeypatch, capsys):
    """A Ctrl-C that arrives inside numba-compiled code is re-raised as SystemError with the
    KeyboardInterrupt as its cause: still exit 130, one line, no traceback."""
    import pycosim.cli as cli

    def boom(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("<numba function> returned a result with an exception set") from exc

    monkeypatch.setattr(cli, "cmd_evaluate", boom)
    monkeypatch.setattr(cli, "build_parser", _parser_with(cli, boom))
    code = cli.main(["evaluate", "x"])
    err = capsys.readouterr().err
    assert code == 130 and err.strip() == "pycosim: interrupted"


def _parser_with(cli, fn):
    real = cli.build_parser

    def build():
        p = real()
        p._subparsers._group_actions[0].choices["evaluate"].set_defaults(func=fn)
        return p

    return build


# 16 ------------------------------------------------------------------ no more workers than jobs
def test_never_more_spice_workers_than_jobs(monkeypatch):
    from pycosim.spice import pool

    made = []
    real = pool._Worker.__init__

    def counting(self, *a, **k):
        made.append(self)
        real(self, *a, **k)

    monkeypatch.setattr(pool._Worker, "__init__", counting)
    monkeypatch.setenv("PYCOSIM_JOBS", "99999")
    jobs = [{"netlist": "circuits/rc_step.cir", "seed": s} for s in range(2)]
    res = pool.run_many(jobs, cache=False)
    assert len(res) == 2 and len(made) == 2


def test_sweep_never_starts_more_processes_than_runs(tmp_path, write_sweep_local):
    from pycosim.sweep import execute

    seen = {}
    real = execute.ProcessPoolExecutor

    class Spy(real):
        def __init__(self, max_workers=None, **kw):
            seen["max_workers"] = max_workers
            super().__init__(max_workers=max_workers, **kw)

    import pycosim.sweep.execute as ex

    ex.ProcessPoolExecutor, old = Spy, ex.ProcessPoolExecutor
    try:
        from pycosim.sweep import run_sweep

        r = run_sweep(write_sweep_local('"synapse.F" = [3]', baseline="false"), tmp_path / "o", jobs=64,
                      progress=False, plots=False)
    finally:
        ex.ProcessPoolExecutor = old
    assert r.ran == 1 and seen["max_workers"] == 1


# 17 ------------------------------------------------------------------ schema_version as text
def test_schema_version_text_is_a_wrong_type(tmp_path, capsys):
    d = _copy_shipped(tmp_path)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    doc["schema_version"] = "2"
    (d / cal.JSON_NAME).write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match=r"'schema_version' must be a whole number.*text \('2'\)"):
        cal.load(d)
