"""Regression tests of issue 8 (command line, files, control): Ctrl-C stops and writes nothing,
one-line errors checked before simulating, refused zero counts, umask-respecting files,
streamed Monte Carlo output. Real ngspice, commands run as subprocesses where it matters."""

import gzip
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from pycosim import calibration as cal
from pycosim.cli import main
from pycosim.datasets import mnist
from pycosim.errors import CalibrationError, DatasetError
from pycosim.spice.result import NpzStream

# about 8 s of ngspice work, small output: a run that is still going when Ctrl-C comes
LONG_DECK = ("long RC run\n.option interp\nV1 in 0 PULSE(0 1 0 1n 1n 5u 10u)\nR1 in out 1k\nC1 out 0 1n\n"
             ".tran 10u 3m 0 2n\n.end\n")
MC_DECK = "mc\n.param rr=agauss(1k,100,1)\nV1 a 0 1\nR1 a 0 {rr}\n.op\n.end\n"


def _cli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "pycosim.cli", *args], capture_output=True, text=True,
                          env=env, **kw)


def _one_line_error(out, *words):
    assert out.returncode != 0, out
    # (a progress bar, if one had started, is not part of the message)
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip() and "run/s]" not in ln]
    assert len(lines) == 1 and lines[0].startswith("pycosim: error:"), out.stderr
    assert "Traceback" not in out.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


# item 8 --------------------------------------------------------------------------------------
def _interrupt(args, tmp_path, delay, cache_dir):
    env = dict(os.environ, PYCOSIM_CACHE_DIR=str(cache_dir))
    p = subprocess.Popen([sys.executable, "-m", "pycosim.cli", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    time.sleep(delay)
    assert p.poll() is None, "finished before the interrupt: " + p.communicate()[1]
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=120)      # a hang guard only: the order of events is what is checked
    finally:
        p.kill()
    return p.returncode, err


@pytest.mark.parametrize("extra", [["--jobs", "1"], ["--mc", "2", "--jobs", "1"], ["--mc", "4", "--jobs", "2"]])
def test_ctrl_c_stops_spice_run_and_writes_nothing(tmp_path, extra):
    deck = tmp_path / "long.cir"
    deck.write_text(LONG_DECK)
    cache = tmp_path / "cache"
    rc, err = _interrupt(["spice", "run", str(deck), "-o", "out.npz", *extra], tmp_path, 2.0, cache)
    # the interrupt came first, then the exit: 130 (a run that had finished first would exit 0 with out.npz)
    assert rc == 130, (rc, err)
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "long.cir"] or not (tmp_path / "out.npz").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.npz")]  # no temporary left
    assert not list(cache.glob("*.res"))  # no cache entry for the interrupted run


def test_ctrl_c_stops_characterize_and_writes_nothing(tmp_path):
    rc, err = _interrupt(["characterize", "--jobs", "1", "--mc", "2", "--no-cache", "--out", "cal"],
                         tmp_path, 3.0, tmp_path / "cache")
    assert rc == 130, (rc, err)
    assert not (tmp_path / "cal").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".cal")]


# item 9 --------------------------------------------------------------------------------------
def _main(capsys, *args):
    """The CLI in this process (faster than a subprocess; an unexpected exception would raise)."""
    code = main(list(args))
    err = capsys.readouterr().err
    return subprocess.CompletedProcess(args, code, "", err)


def test_bad_inputs_give_one_line_errors_before_simulating(tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    rc = "circuits/rc_step.cir"
    cases = [
        (("spice", "run", rc, "--mc", "-1"), ["--mc -1"]),
        (("spice", "run", rc, "-o", "/sys/x.npz"), ["/sys/x.npz", "cannot write"]),
        (("spice", "run", rc, "-o", str(tmp_path / "nodir" / "x.npz")), ["does not exist"]),
        (("spice", "run", rc, "-o", str(tmp_path)), ["is a directory"]),
        (("characterize", "--out", str(tmp_path / "afile"), "--mc", "2"), ["is a file"]),
        (("characterize", "--out", "/sys/cal", "--mc", "2"), ["cannot write"]),
        (("spice", "run", rc, "--seed", "-3"), ["--seed -3", "0..2147483646"]),
        (("spice", "run", rc, "-p", "r=1=2"), ["r=1=2"]),
    ]
    cache = tmp_path / "cache"
    monkeypatch.setenv("PYCOSIM_CACHE_DIR", str(cache))
    for args, words in cases:
        _one_line_error(_main(capsys, *args), *words)
        # refused before any simulation ran: a finished ngspice run leaves its cache entry, and none is here
        assert not list(cache.glob("*.res")), args
    _main(capsys, "spice", "run", rc)                  # the control: a valid run does leave one
    assert len(list(cache.glob("*.res"))) == 1
    monkeypatch.setenv("PYCOSIM_JOBS", "abc")
    _one_line_error(_main(capsys, "spice", "run", rc, "--mc", "2"), "PYCOSIM_JOBS")
    _one_line_error(_main(capsys, "characterize", "--out", str(tmp_path / "c"), "--mc", "2"), "PYCOSIM_JOBS")
    monkeypatch.delenv("PYCOSIM_JOBS")
    env = dict(os.environ, PYCOSIM_NGSPICE_LIBRARY="/lib/x86_64-linux-gnu/libc.so.6")
    if os.path.exists(env["PYCOSIM_NGSPICE_LIBRARY"]):
        _one_line_error(_cli("spice", "run", rc, "--no-cache", env=env), "cannot load ngspice")


def test_doctor_never_raises_on_a_library_that_is_not_ngspice(tmp_path):
    lib = "/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(lib):
        lib = str(tmp_path / "fake.so")
        open(lib, "wb").write(b"\x7fELF not really")
    out = _cli("doctor", env=dict(os.environ, PYCOSIM_NGSPICE_LIBRARY=lib))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "[MISSING] ngspice " in out.stdout and "cannot load ngspice" in out.stdout


def test_write_failure_late_is_one_line_and_leaves_nothing(tmp_path):
    """A file system that fills up while the result is written (simulated with RLIMIT_FSIZE)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = subprocess.run([sys.executable, "-m", "pycosim.cli", "spice", "run", "circuits/rc_step.cir", "--mc", "3",
                          "--jobs", "1", "--no-cache", "-o", str(tmp_path / "big.npz")],
                         capture_output=True, text=True, preexec_fn=limit)
    _one_line_error(out, "big.npz", "nothing was saved")
    assert list(tmp_path.iterdir()) == []


def test_idx_header_too_short(tmp_path):
    d = tmp_path / "m"
    shutil.copytree(mnist.shipped_dir(), d)
    f = d / "train-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 6))  # 10 bytes
    with pytest.raises(DatasetError, match="truncated"):
        mnist.read_idx(f)


def _small_bundle():
    tables = {name: np.ones((2,) * ndim) for name, ndim in cal.REQUIRED_TABLES.items()}
    example = {"number": 1.0, "list": [1.0], "text": "test", "object": {"form": "test", "a": 1.0}}
    scalars = {sec: {k: example[cal.SCALAR_KINDS.get(f"{sec}.{k}", "number")] for k in keys}
               for sec, keys in cal.REQUIRED_SCALARS.items()}
    return cal.Bundle(scalars=scalars, tables=tables, provenance={"files": {}, "mc": 2, "seed": 0})


@pytest.mark.parametrize("edit, key", [
    (lambda d: d["pcm"].__setitem__("g_max_mean_S", "12u"), "pcm.g_max_mean_S"),
    (lambda d: d["lsp"].__setitem__("e_up_J", [1.0]), "lsp.e_up_J"),
    (lambda d: d["pcm"].__setitem__("dg_fit", [1, 2]), "pcm.dg_fit"),
    (lambda d: d.__setitem__("integrator", [1, 2]), "integrator"),
    (lambda d: d["pcm"].__setitem__("set_pulses", True), "pcm.set_pulses"),
])
def test_hand_edited_calibration_with_wrong_type(tmp_path, capsys, edit, key):
    d = tmp_path / "cal"
    cal.save(_small_bundle(), d)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    edit(doc)
    (d / cal.JSON_NAME).write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match=f"'{key}'"):
        cal.load(d)
    _one_line_error(_main(capsys, "calibration", "show", str(d)), key)


def test_older_bundle_names_characterize(tmp_path):
    d = tmp_path / "cal"
    cal.save(_small_bundle(), d)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    doc["schema_version"] = cal.SCHEMA_VERSION - 1
    (d / cal.JSON_NAME).write_text(json.dumps(doc))
    _one_line_error(_cli("calibration", "show", str(d)), "older", "pycosim characterize")


# item 10 -------------------------------------------------------------------------------------
def test_zero_counts_are_refused(tmp_path, capsys, monkeypatch):
    rc = "circuits/rc_step.cir"
    _one_line_error(_main(capsys, "spice", "run", rc, "--mc", "0"), "--mc 0")
    _one_line_error(_main(capsys, "spice", "run", rc, "--jobs", "0"), "--jobs 0")
    _one_line_error(_main(capsys, "characterize", "--out", str(tmp_path / "c"), "--jobs", "0"), "--jobs 0")
    _one_line_error(_main(capsys, "characterize", "--out", str(tmp_path / "c"), "--mc", "0"), "--mc 0")
    monkeypatch.setenv("PYCOSIM_JOBS", "0")
    _one_line_error(_main(capsys, "spice", "run", rc, "--mc", "2"), "PYCOSIM_JOBS=0")
    assert not (tmp_path / "c").exists()


# item 11 -------------------------------------------------------------------------------------
def test_kept_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["spice", "run", "circuits/rc_step.cir", "--no-cache", "-o", str(tmp_path / "one.npz")]) == 0
        assert main(["spice", "run", "circuits/rc_step.cir", "--mc", "2", "--jobs", "1", "--no-cache",
                     "-o", str(tmp_path / "mc.npz")]) == 0
        cal.save(_small_bundle(), tmp_path / "cal")
        from pycosim import plots

        fig, ax = plots._fig(1, 1)
        ax.plot([0, 1])
        png = plots._save(fig, plots.check_writable(tmp_path / "plots"), "x.png")
    finally:
        os.umask(old)

    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)

    for f in (tmp_path / "one.npz", tmp_path / "mc.npz", tmp_path / "cal" / cal.JSON_NAME,
              tmp_path / "cal" / cal.TABLES_NAME, png):
        assert mode(f) == 0o644, (f, oct(mode(f)))
    for d in (tmp_path / "cal", tmp_path / "plots"):
        assert mode(d) == 0o755, (d, oct(mode(d)))


# item 12 -------------------------------------------------------------------------------------
def test_monte_carlo_output_is_streamed_and_readable(tmp_path, capsys):
    deck = tmp_path / "mc.cir"
    deck.write_text(MC_DECK)
    out = tmp_path / "mc.npz"
    assert main(["spice", "run", str(deck), "--mc", "6", "--seed", "0", "--jobs", "2", "--no-cache",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    with np.load(out) as z:
        currents = np.array([float(z[f"mc{k}/vec/op1/v1#branch"][0]) for k in range(6)])
        assert json.loads(str(z["mc0/__meta__"]))["seed"] == 0
    assert len(set(currents)) == 6
    assert "monte carlo 6 instances, seeds 0..5" in text


def test_npz_stream_zip64_records_and_abort(tmp_path, monkeypatch):
    for entries, offset in ((0xFFFF, 0xFFFFFFFF), (5, 0xFFFFFFFF), (5, 0)):
        # (5, 0): as if past 65,535 entries and past 4 GB, without writing them
        monkeypatch.setattr(NpzStream, "zip64_entries", entries)
        monkeypatch.setattr(NpzStream, "zip64_offset", offset)
        with NpzStream(tmp_path / "s.npz") as w:
            for k in range(12):
                w.add(f"mc{k}/x", np.arange(k + 1, dtype=np.int32))
        with np.load(tmp_path / "s.npz") as z:
            assert len(z.files) == 12 and list(z["mc11/x"]) == list(range(12))
    w = NpzStream(tmp_path / "t.npz")
    w.add("a", np.zeros(3))
    w.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]
