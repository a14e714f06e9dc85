"""Running sweeps for real (tiny networks): local processes, a Dask LocalCluster, resume after a kill,
failed runs recorded while the sweep goes on."""

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pycosim import calibration
from pycosim.sweep import run_sweep
from pycosim.sweep.results import read_journal


def _rows(out):
    with open(out / "results.csv") as fh:
        return {r["name"]: r for r in csv.DictReader(fh)}


def test_local_sweep_records_results_failures_and_resumes(tmp_path, write_sweep):
    """A point whose network cannot fit the memory (refused when its run starts, in the worker) is a failed
    run, recorded in one line; the sweep goes on. (A broken calibration bundle no longer gets that far:
    it is refused when the sweep is loaded.)"""
    spec = write_sweep('"network.hidden" = [[4], [30000000]]')
    out = tmp_path / "out"
    r = run_sweep(spec, out, jobs=2, progress=False)
    assert (r.ran, r.skipped, r.failed) == (2, 0, 2)
    rows = _rows(out)
    assert set(rows) == {"float-0-s0", "float-1-s0", "p000-s0", "p001-s0"}
    ok, bad, base = rows["p000-s0"], rows["p001-s0"], rows["float-0-s0"]
    assert ok["status"] == "finished" and 0 <= float(ok["test_accuracy"]) <= 1
    assert float(ok["energy_per_example_J"]) > 0 and float(ok["pcm_pulses_per_example"]) > 0
    assert float(ok["gap_pp"]) == pytest.approx(100 * (float(ok["test_accuracy"]) - float(base["test_accuracy"])))
    assert bad["status"] == "failed" and "ConfigError" in bad["error"] and "GiB" in bad["error"]
    assert not bad["test_accuracy"]   # one line, its type named
    assert json.loads((out / "runs" / "p000-s0" / "metrics.json").read_text())["status"] == "finished"
    assert list((out / "plots").glob("accuracy_vs_*.png"))
    # the same command again: finished runs are skipped, the failed one is retried (and fails again)
    again = run_sweep(spec, out, jobs=2, progress=False)
    assert (again.ran, again.skipped, again.failed) == (0, 2, 2)
    assert len((out / "results.jsonl").read_text().splitlines()) == 6


def test_killed_sweep_loses_nothing_finished(tmp_path, write_sweep):
    spec = write_sweep('"synapse.F" = [2, 3, 4]', baseline="false")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pycosim.cli", "sweep", str(spec), "--out", str(out), "--jobs", "1", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not read_journal(out / "results.jsonl"):
            time.sleep(0.2)
        assert read_journal(out / "results.jsonl"), "no run finished within 60 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)   # the sweep and its worker process, mid-run
        proc.wait()
    finished = {k for k, v in read_journal(out / "results.jsonl").items() if v["status"] == "finished"}
    assert 1 <= len(finished) < 3
    r = run_sweep(spec, out, jobs=1, progress=False)
    assert r.skipped == len(finished) and r.ran == 3 - len(finished) and r.failed == 0
    assert [row["status"] for row in _rows(out).values()] == ["finished"] * 3


def test_dask_local_cluster(tmp_path, write_sweep):
    distributed = pytest.importorskip("distributed")
    spec = write_sweep('"transfer.mode" = ["closed", "open"]')
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cl:
        r = run_sweep(spec, tmp_path / "out", scheduler=cl.scheduler_address, progress=False)
    assert (r.ran, r.failed) == (3, 0)
    rows = _rows(tmp_path / "out")
    assert {row["transfer.mode"] for row in rows.values() if row["kind"] == "point"} == {"closed", "open"}
    for name in rows:   # the run directories came back from the workers (no checkpoint)
        run = tmp_path / "out" / "runs" / name
        assert json.loads((run / "metrics.json").read_text())["status"] == "finished"
        assert (run / "config.toml").is_file() and (run / "plots").is_dir() and not (run / "checkpoint.npz").exists()
