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
def tiny_npz(mnist_npz):
    """The first 300/100 MNIST examples as an npz data set (for real CLI runs in subprocesses)."""
    return mnist_npz(300, 100)


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


def _refused_on_load(d, capsys, words):
    """calibration.load(d) refuses the bundle naming every one of *words*; `calibration show` says the first in
    one line with exit 2."""
    with pytest.raises(CalibrationError) as e:
        cal.load(d)
    for w in words:
        assert w in str(e.value)
    code, err = _main(capsys, "calibration", "show", d)
    assert code == 2
    _one_line(err, words[0])


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
    _refused_on_load(d, capsys, words)


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
    _refused_on_load(d, capsys, words)


# 5 ------------------------------------------------------------------- non-finite settings
@pytest.mark.parametrize("assignment", ["training.lr=inf", "pcm.c2c_scale=inf", "transfer.threshold=inf",
                                        "synapse.F=inf", "synapse.weight_max=nan", "periphery.forward_full_scale=inf",
                                        "network.init_scale=-inf", "lsp.up_down_ratio=NaN"])
def test_every_float_setting_refuses_inf_and_nan(tmp_path, capsys, assignment):
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


def test_sweep_never_starts_more_processes_than_runs(tmp_path, write_sweep):
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

        r = run_sweep(write_sweep('"synapse.F" = [3]', baseline="false"), tmp_path / "o", jobs=64,
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


# ---------------------------------------------------------------------------------------- training runs
def _train(out, data, *extra, resume=False):
    args = ["train", "--resume", out] if resume else ["train", "--out", out, "--preset", "float",
                                                        "-s", "network.hidden=16", "--epochs", "1"]
    return _cli(*args, "--dataset", f"npz:{data}", "--quiet", *extra)


def _wait_for(pred, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _metrics(run):
    return json.loads((Path(run) / "metrics.json").read_text())


# 1 -------------------------------------------------------------------- two trains into one --out
def test_two_concurrent_trains_into_one_out(tmp_path, tiny_npz):
    """Started together: exactly one trains, the other refuses in one line; the directory holds one run's
    config and metrics (same seed in both)."""
    for trial in range(2):
        run = tmp_path / f"run{trial}"
        procs = [subprocess.Popen([PY, "-m", "pycosim.cli", "train", "--out", str(run), "--preset", "float",
                                   "-s", "network.hidden=16", "--epochs", "2", "--seed", str(seed), "--dataset",
                                   f"npz:{tiny_npz}", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for seed in (1, 2)]
        outs = [p.communicate(timeout=300) for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes == [0, 2], [(p.returncode, e) for p, (o, e) in zip(procs, outs)]
        loser = next(e for p, (o, e) in zip(procs, outs) if p.returncode == 2).strip()
        _one_line(loser, str(run))
        assert "in use by another pycosim process" in loser or "not empty" in loser
        m = _metrics(run)
        cfg_seed = int([l for l in (run / "config.toml").read_text().splitlines() if l.startswith("seed")][0]
                       .split("=")[1])
        assert m["status"] == "finished" and m["seed"] == cfg_seed
        assert not (run / ".pycosim.lock").exists()


def test_lock_refuses_a_live_holder_and_ignores_a_dead_one(tmp_path, tiny_npz):
    from pycosim import files

    d = tmp_path / "d"
    d.mkdir()
    with files.lock_dir(d):
        with pytest.raises(ConfigError, match=f"in use by another pycosim process \\(pid {os.getpid()}\\)"):
            files.lock_dir(d)
    # a train killed with SIGKILL holds no lock: the run resumes at once
    run = tmp_path / "run"
    p = subprocess.Popen([PY, "-m", "pycosim.cli", "train", "--out", str(run), "--preset", "float", "-s",
                          "network.hidden=16", "--epochs", "400", "--dataset", f"npz:{tiny_npz}", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (run / "checkpoint.npz").is_file(), what="the first checkpoint")
    assert (run / ".pycosim.lock").is_file()
    p.kill()
    p.wait(timeout=30)
    r = _train(run, tiny_npz, "--epochs", "1", resume=True)   # fewer epochs than done: refused, but not as locked
    assert "in use" not in r.stderr
    done = _metrics(run)["epochs_done"]
    r = _train(run, tiny_npz, "--epochs", str(done + 1), resume=True)
    assert r.returncode == 0, r.stderr


# 2 -------------------------------------------------------------------- what --resume may change
def test_resume_refuses_changes_and_records_more_epochs(tmp_path, tiny_npz):
    run = tmp_path / "run"
    assert _train(run, tiny_npz).returncode == 0
    for extra, words in [(["-s", "training.lr=5.0"], ["training.lr 0.1 → 5.0"]),
                         (["--preset", "ambrogio2018"], ["synapse.kind 'ideal' → '2pcm+3t1c'"]),
                         (["--seed", "7"], ["training.seed 0 → 7"]),
                         (["--train-subset", "100"], ["training.train_subset"])]:
        r = _train(run, tiny_npz, *extra, resume=True)
        assert r.returncode == 2, (extra, r.stderr)
        _one_line(r.stderr.strip(), *words, "only --epochs may change")
    # an edited config.toml is not applied either
    toml = (run / "config.toml").read_text()
    (run / "config.toml").write_text(toml.replace("lr = 0.1", "lr = 5.0"))
    r = _train(run, tiny_npz, resume=True)
    _one_line(r.stderr.strip(), "training.lr 0.1 → 5.0")
    (run / "config.toml").write_text(toml)
    # other data: refused, naming it
    other = tmp_path / "other.npz"
    with np.load(tiny_npz) as z:
        np.savez(other, **{k: (z[k][::-1] if k.startswith(("x_train", "y_train")) else z[k]) for k in z.files})
    r = _cli("train", "--resume", run, "--dataset", f"npz:{other}", "--epochs", "2", "--quiet")
    assert r.returncode == 2
    _one_line(r.stderr.strip(), "trained on the data set", str(tiny_npz))
    # more epochs: allowed and recorded
    r = _train(run, tiny_npz, "--epochs", "2", resume=True)
    assert r.returncode == 0, r.stderr
    m = _metrics(run)
    assert m["epochs_done"] == 2 and m["epochs"] == 2
    assert m["resumes"] == [{"at_epoch": 1, "at_example": 300, "changed": {"training.epochs": [1, 2]}}]
    assert "epochs = 2" in (run / "config.toml").read_text()


def test_resume_refuses_another_calibration_bundle(tmp_path):

    from pycosim.datasets import sources
    from pycosim.nn import presets, train
    from pycosim.nn import config as ncfg

    d = sources.load("mnist")
    tiny = sources.Dataset(d.x_train[:100], d.y_train[:100], d.x_test[:50], d.y_test[:50], 10, "tiny")
    cfg = ncfg.override(presets.get("ambrogio2018"), ["network.hidden=4", "training.epochs=1",
                                                      "transfer.interval=50"])
    train.train(cfg, tmp_path / "run", dataset=tiny, progress=False)
    other = _copy_shipped(tmp_path)
    _edit_scalars(other, "pcm", "e_set_J", 2e-11)      # same tables, other scalars
    more = ncfg.override(cfg, ["training.epochs=2"])
    with pytest.raises(ConfigError, match="trained with the calibration bundle .*scalars"):
        train.train(more, tmp_path / "run", dataset=tiny, bundle=cal.load(other), resume=True, progress=False)
    m = train.train(more, tmp_path / "run", dataset=tiny, resume=True, progress=False)   # the run's own bundle
    assert m["epochs_done"] == 2 and m["calibration"]["path"] == str(cal.default_path())


# 3 -------------------------------------------------------------------- the run records its data set
def test_run_records_its_dataset_and_evaluate_uses_it(tmp_path, tiny_npz, capsys):
    from pycosim.datasets import sources

    run = tmp_path / "run"
    r = _cli("train", "--out", run, "--preset", "ambrogio2018", "-s", "network.hidden=8", "-s",
             "transfer.interval=100", "--epochs", "1", "--dataset", f"npz:{tiny_npz}", "--quiet")
    assert r.returncode == 0, r.stderr
    rec = _metrics(run)["dataset"]
    assert rec["spec"] == f"npz:{tiny_npz}" and rec["sha256"] == sources.sha256(sources.load(f"npz:{tiny_npz}"))
    code, err = _main(capsys, "evaluate", run, "--times", "1s", "--repeats", "1", "--quiet")
    assert code == 0, err
    ev = json.loads((run / "evaluate.json").read_text())
    assert ev["dataset"] == f"npz:{tiny_npz}" and ev["test_examples"] == 100
    code, err = _main(capsys, "evaluate", run, "--times", "1s", "--repeats", "1", "--dataset", "mnist", "--quiet")
    assert code == 2
    _one_line(err, "not the data set the run was trained on")


# 7 -------------------------------------------------------------------- SIGINT mid-epoch: metrics of the last finished epoch
def test_sigint_mid_epoch_reports_the_last_finished_epoch(tmp_path, tiny_npz):
    from pycosim.nn import train

    run = tmp_path / "run"
    p = subprocess.Popen([PY, "-m", "pycosim.cli", "train", "--out", str(run), "--preset", "ambrogio2018", "-s",
                          "network.hidden=16", "-s", "transfer.interval=40", "--epochs", "50", "--dataset",
                          f"npz:{tiny_npz}", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (run / "checkpoint.npz").is_file(), what="the first checkpoint")
    time.sleep(0.4)    # into the next epoch
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err, err
    m = _metrics(run)
    tree = train.read_checkpoint(run / "checkpoint.npz")
    assert m["status"] == "interrupted"
    assert m["epochs_done"] == tree["epoch"] and m["examples_seen"] == tree["examples"] == 300 * tree["epoch"]
    assert m["transfers"]["count"] == len(tree["transfers"])
    assert m["train_seconds"] == pytest.approx(tree["train_seconds"])
    assert m["unfinished_epoch"]["epoch"] == tree["epoch"] + 1


# 9 -------------------------------------------------------------------- interrupted before the first checkpoint
def test_directory_interrupted_before_its_first_checkpoint_can_be_rerun_or_resumed(tmp_path):
    from pycosim.datasets import sources

    d = sources.load("mnist")
    big = tmp_path / "big.npz"          # an epoch long enough to interrupt before its end
    np.savez(big, x_train=d.x_train[:20000], y_train=d.y_train[:20000], x_test=d.x_test[:100], y_test=d.y_test[:100])
    for how in ("rerun", "resume"):
        run = tmp_path / how
        p = subprocess.Popen([PY, "-m", "pycosim.cli", "train", "--out", str(run), "--preset", "float", "-s",
                              "network.hidden=16", "--epochs", "1", "--dataset", f"npz:{big}", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: (run / "metrics.json").is_file(), what="metrics.json")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 130, err
        assert not (run / "checkpoint.npz").exists() and _metrics(run)["status"] == "interrupted"
        r = (_cli("train", "--out", run, "--preset", "float", "-s", "network.hidden=16", "--epochs", "1",
                  "--train-subset", "300", "--dataset", f"npz:{big}", "--quiet") if how == "rerun" else
             _cli("train", "--resume", run, "--dataset", f"npz:{big}", "--quiet"))
        assert r.returncode == 0, r.stderr
        assert _metrics(run)["status"] == "finished" and (run / "checkpoint.npz").is_file()
    assert _metrics(tmp_path / "resume")["resumes"][0]["note"].startswith("no checkpoint.npz")
    # a directory with a file of someone else is still refused
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    r = _cli("train", "--out", tmp_path / "x", "--preset", "float", "--quiet")
    _one_line(r.stderr.strip(), "not empty")


# 12 ------------------------------------------------------------------- stale temporary files
def test_stale_temporary_files_are_cleaned_on_the_next_start(tmp_path, tiny_npz):
    run = tmp_path / "run"
    assert _train(run, tiny_npz).returncode == 0
    stale = [run / ".checkpoint.npz.k3j_x9q2.tmp", run / ".metrics.json.abcdefgh.tmp",
             run / "plots" / ".learning_curve.png.zz00zz00.tmp"]
    for f in stale:
        f.write_bytes(b"\0" * 4096)           # what a SIGKILL during a write leaves
    keep = run / ".notes.tmp"                 # not of our naming
    keep.write_text("x")
    r = _train(run, tiny_npz, "--epochs", "2", resume=True)
    assert r.returncode == 0, r.stderr
    assert not any(f.exists() for f in stale) and keep.exists()


# 10 ------------------------------------------------------------------ sweep workers die with their parent
def _descendants(pid: int) -> set[int]:
    """Process ids below *pid* (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sweep_workers_exit_when_the_main_process_is_killed(tmp_path, write_sweep):
    spec = write_sweep('"synapse.F" = [2, 3]', baseline="false", epochs=5000)   # runs of minutes
    out = tmp_path / "out"
    proc = subprocess.Popen([PY, "-m", "pycosim.cli", "sweep", str(spec), "--out", str(out), "--jobs", "2",
                             "--quiet", "--no-plots"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait_for(lambda: all((out / "runs" / n / "metrics.json").is_file() for n in ("p000-s0", "p001-s0")),
                  what="both workers training")
        below = _descendants(proc.pid)
        assert len(below) >= 2
        os.kill(proc.pid, signal.SIGKILL)            # the main process only, as an OOM killer would
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in below):
            time.sleep(0.2)
        assert not [p for p in below if _alive(p)], "worker processes outlived the sweep's main process"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# 11 ------------------------------------------------------------------ Dask scheduler addresses
def test_scheduler_address_that_is_not_a_scheduler_fails_in_one_line_within_the_timeout(tmp_path, write_sweep):
    pytest.importorskip("distributed")
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = write_sweep('"synapse.F" = [3]', baseline="false")
    try:
        for address, words in [(f"tcp://127.0.0.1:{server.server_address[1]}", ["no answer from a Dask scheduler"]),
                               ("nonsense", ["missing port"]), ("tcp://127.0.0.1:1", ["cannot reach"])]:
            # the documented timeout is 5 s; 60 s is only the safety bound of a hang
            r = _cli("sweep", spec, "--out", tmp_path / "o", "--scheduler", address, "--quiet", timeout=60)
            assert r.returncode == 2, (address, r.stderr)
            _one_line(r.stderr.strip(), address, *words)
            assert "Exception ignored" not in r.stderr
    finally:
        server.shutdown()
    assert not (tmp_path / "o").exists()


# 13 ------------------------------------------------------------------ Ctrl-C during evaluate (real signals)
def test_ctrl_c_during_evaluate_exits_130_without_traceback(tmp_path, tiny_npz):
    run = tmp_path / "run"
    r = _cli("train", "--out", run, "--preset", "ambrogio2018", "-s", "network.hidden=8", "-s",
             "transfer.interval=100", "--epochs", "1", "--dataset", f"npz:{tiny_npz}", "--quiet")
    assert r.returncode == 0, r.stderr
    for delay in (0.5, 1.0, 1.5, 2.0, 2.5):
        p = subprocess.Popen([PY, "-m", "pycosim.cli", "evaluate", str(run), "--repeats", "50", "--times",
                              "1s,1h,1d,1y", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 130 and "Traceback" not in err, (delay, p.returncode, err[-800:])


# 14 ------------------------------------------------------------------ former tracebacks
def test_resume_with_baseline_and_other_former_tracebacks(tmp_path, tiny_npz, capsys):
    run = tmp_path / "run"
    base = ["--dataset", f"npz:{tiny_npz}", "--quiet"]
    r = _cli("train", "--out", run, "--preset", "ambrogio2018", "-s", "network.hidden=8", "-s",
             "transfer.interval=100", "--epochs", "1", *base)
    assert r.returncode == 0, r.stderr
    r = _cli("train", "--resume", run, "--epochs", "2", "--baseline", *base)
    assert r.returncode == 0 and "float: test accuracy" in r.stdout, r.stderr
    assert _metrics(run)["epochs_done"] == 2 and _metrics(run / "float-baseline")["status"] == "finished"
    code, err = _main(capsys, "evaluate", run, "--seed=-1")
    assert code == 2
    _one_line(err, "--seed -1")
    empty = tmp_path / "nofeat.npz"
    np.savez(empty, x_train=np.zeros((10, 0)), y_train=np.arange(10) % 2, x_test=np.zeros((5, 0)),
             y_test=np.arange(5) % 2)
    code, err = _main(capsys, "train", "--out", tmp_path / "x", "--dataset", f"npz:{empty}")
    assert code == 2
    _one_line(err, "no input features")
    import pickle

    with open(run / "checkpoint.npz", "wb") as fh:        # a valid pickle of a dict where the checkpoint is
        pickle.dump({"net": {"sizes": [784, 8, 10]}, "order_rng": {}, "epoch": 0}, fh, protocol=0)
    code, err = _main(capsys, "train", "--resume", run, *base[:2])
    assert code == 2
    _one_line(err, "checkpoint.npz")


# 15 ------------------------------------------------------------------ sizes that cannot fit
def test_sizes_that_cannot_fit_are_refused_with_the_estimate(tmp_path, capsys):
    huge_label = tmp_path / "label.npz"
    x = np.zeros((10, 4), np.float32)
    y = np.zeros(10, np.int64)
    y[0] = 10**9
    np.savez(huge_label, x_train=x, y_train=y, x_test=x, y_test=y)
    for args, words in [(["train", "-s", "network.hidden=2000000", "--out", tmp_path / "a"], ["network 784-2000000-10", "GiB"]),
                        (["train", "--dataset", f"npz:{huge_label}", "--out", tmp_path / "b"], ["1000000001", "GiB"]),
                        (["train", "--config", "/dev/zero", "--out", tmp_path / "c"], ["/dev/zero", "larger than"]),
                        (["sweep", "/dev/zero", "--dry-run"], ["/dev/zero", "larger than"]),
                        (["evaluate", "{run}", "--repeats", "1000000000"], ["--repeats 1,000,000,000", "GiB"])]:
        if "{run}" in args:
            run = tmp_path / "run"
            r = _cli("train", "--out", run, "--preset", "float", "-s", "network.hidden=4", "--epochs", "1",
                     "--train-subset", "50", "-s", "training.test_subset=20", "--quiet")
            assert r.returncode == 0, r.stderr
            args = [run if a == "{run}" else a for a in args]
        code, err = _main(capsys, *args)
        assert code == 2, (args, err)
        _one_line(err, *words)
        assert "available on this machine" in err or "larger than" in err
    for vary in ['"synapse.F" = { min = 1, max = 4, num = 100000000 }',
                 '"synapse.F" = { min = 1, max = 4, num = 100000 }\n"pcm.c2c_scale" = { min = 0, max = 4, num = 100000 }']:
        (tmp_path / "big.toml").write_text(f'base = "ambrogio2018"\n[vary]\n{vary}\n')
        code, err = _main(capsys, "sweep", tmp_path / "big.toml", "--dry-run")
        assert code == 2
        _one_line(err, "runs: needs about", "GiB")
    assert not any((tmp_path / n).exists() for n in "abc")


# 17 ------------------------------------------------------------------ read-only run directories, metrics.json required
def _as_unprivileged(cmd):
    """*cmd* run so that file permissions apply (root: without capabilities, via setpriv)."""
    import shutil

    if os.geteuid() != 0:
        return cmd
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: permissions would not apply")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--", *cmd]


def test_evaluate_and_report_on_a_read_only_run_fail_up_front(tmp_path, tiny_npz):
    run = tmp_path / "run"
    r = _cli("train", "--out", run, "--preset", "ambrogio2018", "-s", "network.hidden=8", "-s",
             "transfer.interval=100", "--epochs", "1", "--dataset", f"npz:{tiny_npz}", "--quiet")
    assert r.returncode == 0, r.stderr
    before = sorted(p.name for p in run.rglob("*"))
    for d in [run, run / "plots"]:
        d.chmod(0o555)
    try:
        for args in (["evaluate", run, "--times", "1s", "--repeats", "1", "--quiet"], ["report", run]):
            r = subprocess.run(_as_unprivileged([PY, "-m", "pycosim.cli", *map(str, args)]), capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 2, r.stderr
            _one_line(r.stderr.strip(), str(run), "cannot write")
            assert "/." not in r.stderr.split("cannot write", 1)[0]     # names the directory, no hidden temp file
    finally:
        for d in [run, run / "plots"]:
            d.chmod(0o755)
    assert sorted(p.name for p in run.rglob("*")) == before


def test_evaluate_refuses_a_missing_or_truncated_metrics_json(tmp_path, tiny_npz, capsys):
    run = tmp_path / "run"
    r = _cli("train", "--out", run, "--preset", "ambrogio2018", "-s", "network.hidden=8", "-s",
             "transfer.interval=100", "--epochs", "1", "--dataset", f"npz:{tiny_npz}", "--quiet")
    assert r.returncode == 0, r.stderr
    text = (run / "metrics.json").read_text()
    (run / "metrics.json").write_text(text[: len(text) // 2])
    code, err = _main(capsys, "evaluate", run, "--times", "1s", "--repeats", "1", "--quiet")
    assert code == 2
    _one_line(err, "metrics.json")
    (run / "metrics.json").unlink()
    code, err = _main(capsys, "evaluate", run, "--times", "1s", "--repeats", "1", "--quiet")
    assert code == 2
    _one_line(err, "no metrics.json")
    assert not (run / "evaluate.json").exists()
