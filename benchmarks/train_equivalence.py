"""Equivalence study: every preset on full MNIST, several epochs and seeds, and single-factor ablations.

Each run is an ordinary ``pycosim.nn.train.train`` run directory under ``--runs`` (config.toml,
metrics.json, checkpoint, plots), so any number here can be re-derived or continued: finished runs are
reused, interrupted ones resumed. Runs go to ``--workers`` processes (this machine has 2 cores).

    python benchmarks/train_equivalence.py [--epochs 5] [--seeds 0,1] [--presets all] [--workers 2]
    python benchmarks/train_equivalence.py --ablations [--epochs 2] [--seeds 0]
    python benchmarks/train_equivalence.py --presets float,ambrogio2018,pcm-only --dataset mnist-backrand:0
    python benchmarks/train_equivalence.py --presets ambrogio2018 --set pcm.drift=false   # overrides on every run

The table (``benchmarks/results/train_equivalence.txt``, or ``train_ablations.txt``) gives the final test
accuracy per seed, the mean, the difference to ``float`` (mean over the same seeds), the accuracy per
epoch and the training speed (examples/s; the speed target itself is measured by train_speed.py, where
every loop runs alone and interleaved with the plain NumPy loop).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

# ambrogio2018 with one non-ideality removed (or one design choice changed) at a time
ABLATIONS = {
    "ambrogio2018": [],
    "no PCM drift": ["pcm.drift=false"],
    "PCM drift without device-to-device spread (ν, r)": ["pcm.drift_d2d_scale=0"],
    "PCM drift halved (ν and ln r × 0.5)": ["pcm.drift_scale=0.5"],
    "closed loop pre-compensates the mean drift to mid-interval (7.2 ms)": ["transfer.drift_horizon_s=0.00716"],
    "closed loop pre-compensates the mean drift to 190 s (tester: mid-transfer + mid-interval)": [
        "transfer.drift_horizon_s=190"],
    "verify read 7 µs after the pulse (tester: instead of 1 ms)": ["schedule.verify_delay_s=7e-6"],
    "only PCM drift (every other noise and spread off)": [
        "pcm.read_noise=false", "lsp.read_noise=false", "periphery.integrator_noise=false", "pcm.c2c_scale=0",
        "lsp.c2c_scale=0", "pcm.d2d_scale=0", "lsp.d2d_scale=0", "lsp.leak=false"],
    "no read noise (PCM, 3T1C, integrator)": ["pcm.read_noise=false", "lsp.read_noise=false",
                                              "periphery.integrator_noise=false"],
    "no cycle-to-cycle noise (PCM, 3T1C)": ["pcm.c2c_scale=0", "lsp.c2c_scale=0"],
    "no device-to-device spread (PCM, 3T1C)": ["pcm.d2d_scale=0", "lsp.d2d_scale=0"],
    "no 3T1C leakage": ["lsp.leak=false"],
    "3T1C up/down symmetric": ["lsp.up_down_ratio=1"],
    "transfer threshold 0 (move every synapse)": ["transfer.threshold=0"],
    "common-mode refresh only at saturation": ["transfer.refresh_frac=1"],
    "same weight range in every layer": ["synapse.weight_scaling=fixed"],
    "deterministic update rounding (instead of pulse trains)": ["update.rounding=deterministic"],
    "per-synapse stochastic update rounding (instead of pulse trains)": ["update.rounding=stochastic"],
    "ideal virtual grounds (no integrator lag)": ["periphery.integrator_lag=false"],
    "no PCM read noise (verify reads exact)": ["pcm.read_noise=false"],
    "constant learning rate (no decay)": ["training.lr_decay=1"],
    "weight range halved (weight_max 0.5, tolerance and threshold halved)": [
        "synapse.weight_max=0.5", "transfer.tolerance=0.025", "transfer.threshold=0.01"],
    "integrator lag not compensated": ["periphery.lag_compensation=false"],
    "transfer tolerance halved": ["transfer.tolerance=0.025"],
    "all of the above noise off": ["pcm.drift=false", "pcm.read_noise=false", "lsp.read_noise=false",
                                   "periphery.integrator_noise=false", "pcm.c2c_scale=0", "lsp.c2c_scale=0",
                                   "pcm.d2d_scale=0", "lsp.d2d_scale=0", "lsp.leak=false"],
    "float": None,
}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:60]


def run_one(job: dict) -> dict:
    """Train (or resume, or reuse) one run; returns its metrics.json content."""
    from pycosim.datasets import sources
    from pycosim.nn.train import CHECKPOINT, resolve_config, train

    out = Path(job["out"])
    m = out / "metrics.json"
    if m.is_file():
        done = json.loads(m.read_text())
        if done.get("status") == "finished":
            return done
    resume = (out / CHECKPOINT).is_file()
    cfg = resolve_config(job["preset"], None, job["overrides"], epochs=job["epochs"], seed=job["seed"],
                         train_subset=job.get("train_subset"))
    ds = sources.load(job["dataset"]) if job.get("dataset") else None
    return train(cfg, out, resume=resume, progress=False, dataset=ds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=None, help="epochs per run (default 5; ablations 2)")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1; ablations 0)")
    ap.add_argument("--presets", default="all", help="comma-separated presets (equivalence study)")
    ap.add_argument("--ablations", action="store_true", help="run the single-factor ablations of ambrogio2018")
    ap.add_argument("--only", default=None, help="ablations: comma-separated start of the row names to run")
    ap.add_argument("--base", default="ambrogio2018",
                    help="ablations: the preset each row changes (ambrogio2018: tester timing; ambrogio2018-accel)")
    ap.add_argument("--train-subset", type=int, default=None, help="first K training examples (smoke tests)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", default="runs/equivalence", help="directory of the run directories")
    ap.add_argument("--results", default=None, help="table file (default benchmarks/results/…)")
    ap.add_argument("--dataset", default=None, help="data set of every run (pycosim --dataset syntax; default mnist)")
    ap.add_argument("--set", dest="sets", action="append", default=[],
                    help="dotted override applied to every run except float (repeatable)")
    args = ap.parse_args()
    from pycosim.nn import presets

    epochs = args.epochs or (2 if args.ablations else 5)
    seeds = [int(s) for s in (args.seeds or ("0" if args.ablations else "0,1")).split(",")]
    root = Path(args.runs)
    jobs = []
    if args.ablations:
        only = [o.strip().lower() for o in args.only.split(",")] if args.only else None
        for name, ov in ABLATIONS.items():
            if only and not any(name.lower().startswith(o) for o in only):
                continue
            preset = "float" if ov is None else args.base
            for s in seeds:
                jobs.append({"row": name, "preset": preset, "overrides": (ov or []) + (args.sets if ov is not None
                                                                                   else []),
                             "seed": s, "epochs": epochs, "train_subset": args.train_subset, "dataset": args.dataset,
                             "out": str(root / f"ablation-{'' if args.base == 'ambrogio2018' else args.base + '-'}"
                                               f"{_slug(name)}-e{epochs}-s{s}")})
    else:
        names = presets.NAMES if args.presets == "all" else args.presets.split(",")
        for name in names:
            for s in seeds:
                jobs.append({"row": name, "preset": name, "overrides": [] if name == "float" else list(args.sets),
                             "seed": s, "epochs": epochs, "train_subset": args.train_subset, "dataset": args.dataset,
                             "out": str(root / f"{name}-e{epochs}-s{s}")})
    # slowest first, so the two workers finish together
    jobs.sort(key=lambda j: j["preset"] == "float")
    t0 = time.time()
    results = {}
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        futs = {ex.submit(run_one, j): j for j in jobs}
        for f in as_completed(futs):
            j = futs[f]
            m = f.result()
            results[(j["row"], j["seed"])] = m
            print(f"[{time.time() - t0:7.0f} s] {j['row']} seed {j['seed']}: "
                  f"{100 * m['test_accuracy']:.2f} % ({m['examples_per_second']:.0f} examples/s)", flush=True)
    rows = list(dict.fromkeys(j["row"] for j in jobs))
    ref_row = "float"
    ref = np.mean([results[(ref_row, s)]["test_accuracy"] for s in seeds]) if (ref_row, seeds[0]) in results else None
    lines = [f"# python benchmarks/train_equivalence.py {'--ablations ' if args.ablations else ''}--epochs {epochs} "
             f"--seeds {','.join(map(str, seeds))}"
             + (f" --train-subset {args.train_subset}" if args.train_subset else "")
             + (f" --dataset {args.dataset}" if args.dataset else "") + "".join(f" --set {x}" for x in args.sets)
             + f"  ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {args.workers} workers, "
             f"wall {time.time() - t0:.0f} s)",
             f"# {args.dataset or 'mnist'}: full test set after each epoch; runs in {root}/ (metrics.json per run)",
             f"{'run':<44}{'seeds':>14}{'mean %':>9}{'Δ float pp':>12}{'ex/s':>7}   test % per epoch (seed {seeds[0]})"]
    for r in rows:
        accs = [100 * results[(r, s)]["test_accuracy"] for s in seeds]
        mean = float(np.mean(accs))
        d = "" if ref is None else f"{mean - 100 * ref:+.2f}"
        eps = float(np.mean([results[(r, s)]["examples_per_second"] for s in seeds]))
        per = " ".join(f"{100 * a:.2f}" for a in results[(r, seeds[0])]["test_accuracy_per_epoch"])
        lines.append(f"{r:<44}{' / '.join(f'{a:.2f}' for a in accs):>14}{mean:>9.2f}{d:>12}{eps:>7.0f}   {per}")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.results or f"benchmarks/results/train_{'ablations' if args.ablations else 'equivalence'}.txt")
    out.write_text(text)


if __name__ == "__main__":
    main()
