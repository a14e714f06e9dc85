"""The command line: one-line errors, exit codes, saved arrays."""

import subprocess
import sys

import numpy as np

from pycosim.cli import main
from pycosim.spice import Result


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pycosim.cli", *args], capture_output=True, text=True)


def test_version():
    out = _cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("pycosim ")


def test_spice_run_saves_arrays(tmp_path, capsys):
    out = tmp_path / "rc.npz"
    assert main(["spice", "run", "circuits/rc_step.cir", "-p", "r=2000", "-p", "c=1e-6", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "analysis    tran" in text and "v_end" in text
    res = Result.load(out)
    assert res.meta["params"] == {"r": 2000, "c": 1e-6}
    tau = 2e-3
    assert res.meas["t_half"] == np.float64(res.meas["t_half"])
    assert abs(res.meas["t_half"] - tau * np.log(2)) / (tau * np.log(2)) < 5e-3


def test_spice_run_monte_carlo(tmp_path, capsys):
    deck = tmp_path / "mc.cir"
    deck.write_text("mc\n.param rr=agauss(1k,100,1)\nV1 a 0 1\nR1 a 0 {rr}\n.op\n.end\n")
    assert main(["spice", "run", str(deck), "--mc", "3", "--seed", "5", "--jobs", "1", "-o", str(tmp_path / "mc.npz")]) == 0
    with np.load(tmp_path / "mc.npz") as z:
        currents = [float(z[f"mc{k}/vec/op1/v1#branch"][0]) for k in range(3)]
    assert len(set(currents)) == 3


def test_errors_are_one_line_without_traceback(tmp_path):
    cases = [
        ("spice", "run", "does/not/exist.cir"),
        ("spice", "run", "circuits/rc_step.cir", "-p", "nonsense=1"),
        ("spice", "run", "circuits/rc_step.cir", "-p", "novalue"),
        ("spice", "run", "circuits/rc_step.cir", "-o", str(tmp_path / "no" / "dir" / "x.npz")),
        ("spice", "run", "pcm_sett"),                                      # misspelt bench name
        ("characterize", "--out", str(tmp_path / "no" / "cal"), "-p", "pcm_sett.vset=1"),
        ("calibration", "show", str(tmp_path / "no")),
    ]
    for args in cases:
        out = _cli(*args)
        assert out.returncode != 0, args
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pycosim: error:"), out.stderr
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "no").exists()
    assert "pcm_set_staircase" in _cli("spice", "run", "pcm_sett").stderr  # the valid names are listed


def test_doctor_reports_missing_dataset(tmp_path):
    out = _cli("doctor", "--data", str(tmp_path))
    assert out.returncode == 1
    assert "MNIST" in out.stderr and "[MISSING] MNIST" in out.stdout
