"""`pycosim sweep` on the command line: dry run, and every error as one line, non-zero exit, no traceback."""

import json
import socket
import subprocess
import sys


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pycosim.cli", "sweep", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def _one_line_error(out, *needles):
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pycosim: error:"), out.stderr
    assert "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dry_run_lists_runs(write_sweep):
    out = _cli(write_sweep('"synapse.F" = [2, 3]', seeds="[0, 1]"), "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "2 point(s) x 2 seed(s) = 4 runs + 2 float baseline run(s)" in out.stdout
    assert "p001-s1" in out.stdout and "synapse.F=3" in out.stdout


def test_errors(tmp_path, write_sweep):
    _one_line_error(_cli(write_sweep('"lsp.up_down_ration" = [0.9]'), "--dry-run"),
                    "unknown setting 'lsp.up_down_ration'", "did you mean lsp.up_down_ratio", "lsp has: lsp.d2d_scale")
    _one_line_error(_cli(write_sweep('"transfer.interval" = [100, "often"]'), "--dry-run"),
                    "transfer.interval='often': expected an integer")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nseeds = [0, 1\n[vary]\n')
    _one_line_error(_cli(bad, "--dry-run"), "not valid TOML", "line 3, column 1")
    # an output directory holding another sweep (its sweep.json hash differs): refused, nothing touched
    other = tmp_path / "other"
    other.mkdir()
    (other / "sweep.json").write_text(json.dumps({"hash": "0" * 64, "name": "older"}))
    _one_line_error(_cli(write_sweep('"synapse.F" = [2]'), "--out", other), "holds a different sweep", "'older'")
    assert sorted(p.name for p in other.iterdir()) == ["sweep.json"]
    notsweep = tmp_path / "notsweep"
    notsweep.mkdir()
    (notsweep / "x.txt").write_text("x")
    _one_line_error(_cli(write_sweep('"synapse.F" = [2]'), "--out", notsweep), "holds no sweep")
    # nobody listens on this loopback port: refused before the output directory is created
    address = f"tcp://127.0.0.1:{_free_port()}"
    _one_line_error(_cli(write_sweep('"synapse.F" = [2]'), "--out", tmp_path / "d", "--scheduler", address),
                    f"--scheduler {address}: cannot reach the Dask scheduler")
    assert not (tmp_path / "d").exists()
    _one_line_error(_cli(write_sweep('"synapse.F" = [2]'), "--out", tmp_path / "e", "--jobs", "0"), "--jobs 0")
    _one_line_error(_cli(write_sweep('"synapse.F" = [2]'), "--budget", "full", "--dry-run"), "no budget 'full'")


def test_a_small_budget_gives_undetermined_verdicts_and_one_warning_line_each(tmp_path, write_sweep):
    """1 epoch of 100 examples: the float baseline cannot have converged, and with transfer.interval 5000 no
    run transfers — each said once, on one line, naming the budget."""
    path = write_sweep('"synapse.F" = [2, 3]')
    path.write_text(path.read_text().replace("transfer.interval=50", "transfer.interval=5000"))
    out = _cli(path, "--out", tmp_path / "sw", "--jobs", "1", "--quiet", "--no-plots")
    assert out.returncode == 0, out.stderr
    table = [line for line in out.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(table) == 2 and all(line.split()[5] == "undet" for line in table)
    warns = [line for line in out.stderr.splitlines() if line.startswith("pycosim: warning:")]
    assert len(warns) == 2 and len(out.stderr.strip().splitlines()) == 2, out.stderr
    assert "has not converged at budget 'default' (100 training examples × 1 epoch(s))" in warns[0]
    assert "2 run(s) did 0 transfers" in warns[1] and "transfer.interval (5000)" in warns[1]
