"""Sweep execution speed: --jobs 2 versus --jobs 1, per-run overhead through a Dask LocalCluster, and the
time the full-scale example sweeps would take on N workers.

    python benchmarks/sweep_speed.py scaling     # same small sweep (4 runs), --jobs 1 then --jobs 2
    python benchmarks/sweep_speed.py dask        # per-run overhead: near-empty runs, local pool vs LocalCluster
    python benchmarks/sweep_speed.py example     # run (or resume) examples/sweeps/lsp_asymmetry.toml, summary
    python benchmarks/sweep_speed.py estimate    # full-scale time of every examples/sweeps/*.toml on N workers

Results go to benchmarks/results/sweep_{scaling,dask,example_lsp_asymmetry,full_scale}.txt (scaling and dask
append, the others replace). The machine's load average is recorded with each measurement: on a shared
2-core machine the speed-up of 2 processes is bounded by the cores the other jobs leave free.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
EXAMPLES = ROOT / "examples" / "sweeps"
sys.path.insert(0, str(ROOT))

from pycosim.sweep import load_sweep, run_sweep  # noqa: E402
from pycosim.sweep.results import format_summary  # noqa: E402

MNIST_TRAIN, MNIST_TEST = 60000, 10000


def _small(train_subset=1000, test_subset=500, hidden=None, values=(2, 3, 4, 6)) -> dict:
    """A small sweep as a parsed dict: synapse.F over *values*, one seed, no baseline."""
    fixed = ["transfer.interval=250"] + ([f"network.hidden={hidden}"] if hidden else [])
    return {"name": "bench", "base": "ambrogio2018", "seeds": [0], "baseline": False, "set": fixed,
            "budget": {"epochs": 1, "train_subset": train_subset, "test_subset": test_subset},
            "vary": {"synapse.F": list(values)}}


def _header(cmd: str) -> str:
    import numpy as np

    return (f"# python benchmarks/sweep_speed.py {cmd}  ({datetime.date.today()}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs, numpy {np.__version__})\n")


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_children() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(spec, jobs=None, scheduler=None, cpu: dict | None = None) -> tuple[float, float, int]:
    """(elapsed s, Σ in-worker wall s, runs) of *spec* in a fresh directory; *cpu*['s'] gets the CPU time (s)
    of the local worker processes (ended and reaped by then)."""
    with tempfile.TemporaryDirectory() as tmp:
        c0 = _cpu_children()
        t0 = time.perf_counter()
        r = run_sweep(spec, Path(tmp) / "out", jobs=jobs, scheduler=scheduler, progress=False, plots=False)
        el = time.perf_counter() - t0
        if cpu is not None:
            cpu["s"] = _cpu_children() - c0
        assert r.failed == 0, r.records
        return el, sum(rec["wall_s"] for rec in r.records.values()), len(r.records)


def scaling() -> str:
    spec = _small()
    lines = [_header("scaling"), "# sweep: ambrogio2018 784-250-125-10, synapse.F in 2, 3, 4, 6, seed 0, no baseline; "
             "1,000 training / 500 test examples, 1 epoch, transfer every 250 (4 runs)"]
    lines.append("# cores used = CPU time of the worker processes / elapsed: what the other jobs on the machine left us")
    res = {}
    for jobs in (1, 2):
        before = _load()
        cpu = {}
        el, wall, n = _run(spec, jobs=jobs, cpu=cpu)
        res[jobs] = el
        lines.append(f"--jobs {jobs}: {el:7.1f} s elapsed for {n} runs ({el / n:5.1f} s/run), Σ run wall time "
                     f"{wall:6.1f} s, worker CPU {cpu['s']:6.1f} s ({cpu['s'] / n:5.1f} s/run), cores used "
                     f"{cpu['s'] / el:4.2f}   [{before} → {_load()}]")
    lines.append(f"speed-up of --jobs 2 over --jobs 1: {res[1] / res[2]:.2f}x")
    return "\n".join(lines) + "\n"


def dask_overhead() -> str:
    from distributed import LocalCluster

    tiny = _small(train_subset=20, test_subset=20, hidden=4, values=(1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5))
    small = _small()
    lines = [_header("dask"),
             "# per-run overhead = (elapsed × workers − Σ in-worker run wall time) / runs: scheduling, process start-up,",
             "# transfer of the run directory back, the journal and results.csv; 2 workers either way",
             "# near-empty runs: 784-4-10, 20 training / 20 test examples, 8 runs; small runs: the 'scaling' sweep"]
    for label, spec in (("near-empty", tiny), ("small", small)):
        el, wall, n = _run(spec, jobs=2)
        lines.append(f"{label:>10} local --jobs 2:   {el:6.1f} s for {n} runs, Σ run wall {wall:6.1f} s, overhead "
                     f"{(2 * el - wall) / n:5.2f} s/run   [{_load()}]")
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cl:
            start = time.perf_counter() - t0
            el, wall, n = _run(spec, scheduler=cl.scheduler_address)
        lines.append(f"{label:>10} Dask LocalCluster: {el:6.1f} s for {n} runs, Σ run wall {wall:6.1f} s, overhead "
                     f"{(2 * el - wall) / n:5.2f} s/run (cluster start {start:.1f} s, not included)   [{_load()}]")
    return "\n".join(lines) + "\n"


def example(out: Path) -> str:
    spec = EXAMPLES / "lsp_asymmetry.toml"
    t0 = time.perf_counter()
    r = run_sweep(spec, out, jobs=2, progress=True)
    el = time.perf_counter() - t0
    walls = [rec["wall_s"] for rec in r.records.values()]
    lines = [_header(f"example --out {out}"),
             f"# {spec.relative_to(ROOT)}, default (subset) budget {r.sweep.budget}, seeds {list(r.sweep.seeds)}, --jobs 2",
             f"# {len(r.records)} runs: {r.ran} now, {r.skipped} finished earlier; Σ run wall time {sum(walls):.0f} s "
             f"(this call {el:.0f} s); plots: " + ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
                                                               for p in r.plots),
             format_summary(r.sweep, r.records)]
    return "\n".join(lines) + "\n"


def _lpt_makespan(durations: list[float], n: int) -> float:
    """Longest-processing-time-first schedule of *durations* on *n* workers: the finishing time."""
    loads = [0.0] * n
    for d in sorted(durations, reverse=True):
        i = loads.index(min(loads))
        loads[i] += d
    return max(loads)


def _test_seconds_per_example(preset: str, n: int = 300) -> float:
    """Wall time (s) of classifying one test example through the analog forward pass (784-250-125-10)."""
    import numpy as np

    from pycosim.datasets import sources
    from pycosim.nn import config as ncfg
    from pycosim.nn.network import Network
    from pycosim.nn.train import evaluate, resolve_config

    data = sources.load("mnist")
    cfg = resolve_config(preset)
    sizes = (data.n_inputs, *cfg.network.hidden, data.n_classes)
    bundle = None
    if cfg.synapse.kind != "ideal":
        from pycosim import calibration

        bundle = calibration.load()
    net = Network(sizes, ncfg.array_configs(cfg, sizes), bundle, rng=np.random.default_rng(0),
                  init_scale=cfg.network.init_scale)
    evaluate(net, data.x_test[:20], data.y_test[:20])   # warm-up (compiled kernels)
    t0 = time.perf_counter()
    evaluate(net, data.x_test[:n], data.y_test[:n])
    return (time.perf_counter() - t0) / n


def estimate(measured: Path, workers=(1, 2, 8, 32)) -> str:
    """Full-scale time of each example from the speeds measured in the finished sweep directory *measured*."""
    recs = [json.loads(line) for line in (measured / "results.jsonl").read_text().splitlines() if line.strip()]
    recs = [r for r in recs if r["status"] == "finished" and not r.get("reused")]
    runs = {r["name"]: json.loads((measured / "runs" / r["name"] / "metrics.json").read_text()) for r in recs}
    budget = load_sweep(measured / "sweep.toml").budget
    speed, fixed, t_test = {}, {}, {"point": _test_seconds_per_example("ambrogio2018"),
                                     "baseline": _test_seconds_per_example("float")}
    for kind in ("point", "baseline"):
        rs = [r for r in recs if r["kind"] == kind]
        ex_s = [runs[r["name"]]["examples_per_second"] for r in rs]
        # everything but training and testing: data/bundle loading, network set-up and programming, plots
        rest = [r["wall_s"] - runs[r["name"]]["train_seconds"] - budget["test_subset"] * t_test[kind] for r in rs]
        speed[kind] = sum(ex_s) / len(ex_s)
        fixed[kind] = max(0.0, sum(rest) / len(rest))
    lines = [_header(f"estimate --measured {measured}"),
             f"# training speed measured in {measured} ({budget['train_subset']} training examples, 1 epoch, this shared "
             f"2-core machine, {_load()} now): analog runs {speed['point']:.0f} examples/s, float {speed['baseline']:.0f} examples/s;",
             f"# test classification measured now: analog {1e3 * t_test['point']:.2f} ms/example, float "
             f"{1e3 * t_test['baseline']:.2f} ms/example; the rest of a run (set-up, programming, plots): analog "
             f"{fixed['point']:.1f} s, float {fixed['baseline']:.1f} s.",
             "# run time = epochs × (60,000 / (examples/s) + 10,000 × test time) + rest; runs scheduled longest first on N",
             "# workers of this machine's per-core speed. Early-epoch examples are the slowest (large errors → many",
             "# 3T1C pulses), so these are upper bounds; on a dedicated, unloaded core ambrogio2018 trains at 451",
             f"# examples/s (benchmarks/results/train_speed.txt): there, multiply the times by ≈ {speed['point'] / 451:.2f}.",
             f"{'example (--budget full)':<28} {'runs':>9} {'run (h)':>8} " + " ".join(f"{f'N={n} (h)':>9}" for n in workers)]
    for f in sorted(EXAMPLES.glob("*.toml")):
        s = load_sweep(f, budget="full")
        durs = []
        for t in s.tasks:
            kind = t.kind
            tr = t.config["training"]
            n_train = tr["train_subset"] or MNIST_TRAIN
            n_test = tr["test_subset"] or MNIST_TEST
            durs.append(tr["epochs"] * (n_train / speed[kind] + n_test * t_test[kind]) + fixed[kind])
        n_pts = sum(t.kind == "point" for t in s.tasks)
        lines.append(f"{f.stem:<28} {n_pts:>4}+{len(s.tasks) - n_pts:<4} {max(durs) / 3600:8.2f} "
                     + " ".join(f"{_lpt_makespan(durs, n) / 3600:9.2f}" for n in workers))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("scaling", "dask", "example", "estimate"))
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "sweeps" / "lsp_asymmetry",
                    help="example: sweep directory (resumed if it exists); estimate: the measured sweep directory")
    args = ap.parse_args()
    if args.what == "scaling":
        text, name = scaling(), "sweep_scaling.txt"
    elif args.what == "dask":
        text, name = dask_overhead(), "sweep_dask.txt"
    elif args.what == "example":
        text, name = example(args.out), "sweep_example_lsp_asymmetry.txt"
    else:
        text, name = estimate(args.out), "sweep_full_scale.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.what in ("scaling", "dask") and (RESULTS / name).is_file():
        # a shared machine's load changes from one measurement to the next: keep them all
        text = (RESULTS / name).read_text() + "\n" + text
    (RESULTS / name).write_text(text)
    print(text, end="")
    print(f"-> {RESULTS / name}")


if __name__ == "__main__":
    main()
