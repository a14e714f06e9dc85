"""``run_sweep``: validate, check the output directory, run what is not finished, persist, plot.

Output directory::

    DIR/sweep.json       the sweep's hash, name, budget and every run (name, key, values, config)
    DIR/sweep.toml       a copy of the sweep file as first run
    DIR/results.jsonl    append-only journal, one line per finished or failed run (pycosim.sweep.results)
    DIR/results.csv      one row per point and seed (and float baseline run), rewritten after each run
    DIR/runs/NAME/       each run's directory (pycosim.nn.train.train: config.toml, metrics.json, plots/)
    DIR/plots/           accuracy versus each varied setting, heat maps (pycosim.sweep.plots)

Running the same sweep into the same directory again resumes it: finished runs are skipped, failed runs
are retried. A directory holding a different sweep (another hash) is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from pycosim.errors import ConfigError
from pycosim import files
from pycosim.files import atomic_write_bytes
from pycosim.sweep import execute, results
from pycosim.sweep.spec import Sweep, load_sweep

SWEEP_JSON = "sweep.json"
RUNS = "runs"
PLOTS = "plots"


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    sweep: the validated sweep; out_dir: its directory; ran / skipped / failed: runs trained now, found
    finished already, failed now; records: key → journal record of every run with a result;
    csv: DIR/results.csv; plots: the plot files; elapsed_s: wall time of this call (s); warnings: one-line
    warnings about the results (:func:`pycosim.sweep.results.convergence_warning`, ``no_transfer_warning``).
    """

    sweep: Sweep
    out_dir: Path
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    records: dict = field(default_factory=dict)
    csv: Path | None = None
    plots: list = field(default_factory=list)
    elapsed_s: float = 0.0
    warnings: list = field(default_factory=list)


def check_out_dir(out_dir, sweep: Sweep) -> bool:
    """Check *out_dir* for *sweep* without creating anything: True if it holds this sweep (resume), False
    if absent or empty; ConfigError if it holds a different sweep, other files, or cannot be written."""
    out = files.check_out_dir(out_dir, "--out", allow_existing=SWEEP_JSON)
    if not (out / SWEEP_JSON).is_file():
        return False                      # absent or empty: a new sweep
    try:
        stored = json.loads((out / SWEEP_JSON).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--out {out}: unreadable {SWEEP_JSON} ({exc})") from None
    if stored.get("hash") != sweep.hash:
        raise ConfigError(f"--out {out}: holds a different sweep ({stored.get('name')!r}, spec hash "
                          f"{str(stored.get('hash'))[:12]}; this one {sweep.hash[:12]}); refusing to mix results, "
                          f"choose a new directory")
    return True


def _write_sweep_json(out: Path, sweep: Sweep) -> None:
    doc = {"hash": sweep.hash, "name": sweep.name, "source": str(sweep.path) if sweep.path else None,
           "base": sweep.base, "sampling": sweep.sampling, "budget_name": sweep.budget_name, "budget": sweep.budget,
           "seeds": list(sweep.seeds), "varied": list(sweep.varied),
           "runs": [{"name": t.name, "key": t.key, "kind": t.kind, "point": t.point, "seed": t.seed,
                     "values": t.values, "calibration": t.calibration, "baseline": t.baseline,
                     "dataset": t.dataset, "config": t.config} for t in sweep.tasks]}
    atomic_write_bytes(out / SWEEP_JSON, (json.dumps(doc, indent=1, default=str) + "\n").encode())
    if sweep.path is not None:
        atomic_write_bytes(out / "sweep.toml", sweep.path.read_bytes())


def run_sweep(spec, out_dir, jobs: int | None = None, scheduler: str | None = None, *, budget: str | None = None,
              progress: bool = True, plots: bool = True, connect_timeout_s: float = 5.0) -> SweepResult:
    """Run the sweep *spec* (a sweep file path, a parsed dict, or a :class:`Sweep`) into *out_dir*.

    jobs: local worker processes (default ``$PYCOSIM_JOBS`` or the CPU cores), ignored with *scheduler*;
    scheduler: address of a Dask scheduler (``tcp://host:8786``) to run on its workers instead;
    budget: a named ``[budget.NAME]`` of the sweep file; progress: a tqdm bar over runs; plots: write the
    plots at the end. Everything is validated first (configurations, bundles, output directory, the
    scheduler within *connect_timeout_s* seconds): ConfigError before any run starts. Every run's result is
    persisted as it finishes; a failing run is recorded and the sweep goes on. Returns a
    :class:`SweepResult`."""
    from pycosim.spice.pool import check_workers, default_workers

    t_start = time.perf_counter()
    sweep = spec if isinstance(spec, Sweep) else load_sweep(spec, budget=budget)
    jobs = default_workers() if jobs is None else check_workers(jobs, "--jobs")
    resuming = check_out_dir(out_dir, sweep)
    out = Path(out_dir).expanduser()
    client = execute.connect(scheduler, connect_timeout_s) if scheduler else None
    try:
        (out / RUNS).mkdir(parents=True, exist_ok=True)
        if not resuming or not (out / SWEEP_JSON).is_file():
            _write_sweep_json(out, sweep)
        journal = out / results.JOURNAL
        records = results.read_journal(journal)
        done = {k for k, r in records.items() if r.get("status") == "finished"}
        todo = [t for t in sweep.tasks if t.key not in done]
        res = SweepResult(sweep, out, skipped=len(sweep.tasks) - len(todo), records=records)
        bar = None
        if progress and todo:
            from tqdm import tqdm

            bar = tqdm(total=len(sweep.tasks), initial=res.skipped, unit="run", desc=f"sweep {sweep.name}",
                       smoothing=0.1)

        def on_done(task, outcome):
            rec = results.make_record(task, outcome)
            results.append_journal(journal, rec)
            records[task.key] = rec
            results.write_csv(out / results.CSV, sweep, records)
            if rec["status"] == "finished":
                res.ran += 1
            else:
                res.failed += 1
            if bar is not None:
                bar.update(1)
                acc = rec["test_accuracy"]
                bar.set_postfix(last=f"{task.name} {'failed' if acc is None else f'{acc:.4f}'}", failed=res.failed)

        try:
            if client is not None:
                execute.run_dask(todo, out / RUNS, client, on_done)
            elif todo:
                execute.run_local(todo, out / RUNS, jobs, on_done)
        finally:
            if bar is not None:
                bar.close()
        res.csv = results.write_csv(out / results.CSV, sweep, records)
        res.warnings = [w for w in (results.convergence_warning(sweep, records),
                                    results.no_transfer_warning(sweep, records)) if w]
        if plots:
            res.plots = _plots(sweep, records, out / PLOTS)
    finally:
        if client is not None:
            client.close()
    res.elapsed_s = time.perf_counter() - t_start
    return res


def _plots(sweep, records, plots_dir) -> list:
    from pycosim.sweep.plots import plot_sweep

    return plot_sweep(sweep, records, plots_dir)
