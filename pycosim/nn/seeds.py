"""Several seeds of one run: ``pycosim train --seeds 0,1,2`` (Python: :func:`train_seeds`).

Equivalence is a statement about a mean and a spread, so the run is repeated with each seed (every random
draw: device instances, noise, pulse rounding, example order) into ``OUT/seed-S/`` — each a complete run
directory, with its float baseline in ``OUT/seed-S/float-baseline/`` when asked — in parallel worker
processes where cores allow (``jobs``, default ``$PYCOSIM_JOBS`` or the CPU cores), and then writes
``OUT/seeds.json`` (schema :data:`SCHEMA`, version :data:`SCHEMA_VERSION`, atomically):

    seeds                      the seeds, in order
    runs                       per seed: run_dir, test_accuracy, baseline_accuracy, gap_pp, transfers
    test_accuracy              {'mean', 'sd', 'n'} over the seeds (sd: sample standard deviation, n − 1)
    baseline_accuracy, gap_pp  the same for the float baselines and the gaps (percentage points), if trained
    baseline_converged         every baseline converged at this budget (pycosim.nn.baseline)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pycosim.errors import ConfigError
from pycosim.files import atomic_write_bytes

SEEDS_JSON = "seeds.json"
SCHEMA = "pycosim.seeds"
SCHEMA_VERSION = 1


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` → [0, 1, 2]; ConfigError (one line) for anything but distinct integers in 0 … 2⁶³−1."""
    try:
        seeds = [int(s) for s in str(text).replace(" ", "").split(",") if s != ""]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected integers separated by commas, e.g. 0,1,2") from None
    if not seeds:
        raise ConfigError(f"--seeds {text!r}: no seed given")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: a seed is repeated")
    bad = [s for s in seeds if not 0 <= s < 2**63]
    if bad:
        raise ConfigError(f"--seeds {text!r}: seed {bad[0]} is outside 0 … 2^63−1")
    return seeds


def _stats(values) -> dict:
    v = [float(x) for x in values if x is not None]
    if not v:
        return {"mean": None, "sd": None, "n": 0}
    mean = sum(v) / len(v)
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else None
    return {"mean": mean, "sd": sd, "n": len(v)}


def _one(cfg, run_dir: str, dataset: str | None, calibration: str | None, baseline: bool) -> dict:
    """Train one seed (in a worker process): the run, then its float baseline; returns its summary."""
    import warnings

    from pycosim import calibration as cal
    from pycosim.datasets import sources
    from pycosim.nn.baseline import attach_baseline
    from pycosim.nn.config import float_baseline_of
    from pycosim.nn.train import train

    data = sources.load(dataset)
    bundle = cal.load(calibration) if calibration else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # the parent warns once for all seeds
        m = train(cfg, run_dir, dataset=data, bundle=bundle, progress=False)
        fm = None
        if baseline:
            fm = train(float_baseline_of(cfg), Path(run_dir) / "float-baseline", dataset=data, progress=False)
            m = attach_baseline(run_dir, fm, Path(run_dir) / "float-baseline")
    b = m.get("baseline") or {}
    return {"seed": cfg.training.seed, "run_dir": str(run_dir), "test_accuracy": m["test_accuracy"],
            "baseline_accuracy": b.get("test_accuracy"), "gap_pp": b.get("gap_pp"),
            "baseline_converged": b.get("converged"), "transfers": m["transfers"]["count"]}


def train_seeds(cfg, out_dir, seeds, *, dataset: str | None = None, calibration: str | None = None,
                baseline: bool = False, jobs: int | None = None) -> dict:
    """Train *cfg* once per seed in *seeds* into ``out_dir/seed-S`` (module docstring), *jobs* at a time
    (default: :func:`pycosim.spice.pool.default_workers`, at most one per seed), with the float baseline of
    each when *baseline*; then write and return the ``seeds.json`` document. *dataset*: a data set
    specification (:func:`pycosim.datasets.sources.load`); *calibration*: a bundle directory (None: the
    shipped one). ConfigError before anything runs for an occupied directory."""
    from concurrent.futures import ProcessPoolExecutor
    from dataclasses import replace

    from pycosim.nn.train import check_run_dir
    from pycosim.spice.pool import check_workers, default_workers

    out = Path(out_dir).expanduser()
    if (out / SEEDS_JSON).exists():
        raise ConfigError(f"--out {out}: holds a finished seed set ({SEEDS_JSON}); choose a new directory")
    cfgs = [replace(cfg, training=replace(cfg.training, seed=s)) for s in seeds]
    dirs = [out / f"seed-{s}" for s in seeds]
    for d in dirs:
        check_run_dir(d, False)
        if baseline:
            check_run_dir(d / "float-baseline", False)
    jobs = min(len(seeds), default_workers() if jobs is None else check_workers(jobs, "--jobs"))
    out.mkdir(parents=True, exist_ok=True)
    args = [(c, str(d), dataset, calibration, baseline) for c, d in zip(cfgs, dirs)]
    if jobs == 1:
        runs = [_one(*a) for a in args]
    else:
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
            runs = list(ex.map(_one, *zip(*args)))
    doc = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "preset": cfg.preset, "seeds": list(seeds),
           "runs": runs, "test_accuracy": _stats(r["test_accuracy"] for r in runs)}
    if baseline:
        doc["baseline_accuracy"] = _stats(r["baseline_accuracy"] for r in runs)
        doc["gap_pp"] = _stats(r["gap_pp"] for r in runs)
        doc["baseline_converged"] = all(bool(r["baseline_converged"]) for r in runs)
    atomic_write_bytes(out / SEEDS_JSON, (json.dumps(doc, indent=2) + "\n").encode())
    return doc


def format_seeds(doc: dict) -> str:
    """A few lines: each seed's accuracy (and gap), then the mean ± sd over the seeds."""
    def pm(s, scale=100.0, unit=" %"):
        if s["mean"] is None:
            return "—"
        sd = f" ± {scale * s['sd']:.2f}" if s["sd"] is not None else ""
        return f"{scale * s['mean']:.2f}{sd}{unit}"

    lines = []
    for r in doc["runs"]:
        gap = f", gap {r['gap_pp']:+.2f} pp" if r.get("gap_pp") is not None else ""
        lines.append(f"  seed {r['seed']}: test accuracy {100 * r['test_accuracy']:.2f} %{gap} -> {r['run_dir']}")
    line = f"{doc['preset']}: test accuracy {pm(doc['test_accuracy'])} (mean ± sd over {len(doc['seeds'])} seeds)"
    if "gap_pp" in doc:
        line += (f"; float {pm(doc['baseline_accuracy'])}; gap {pm(doc['gap_pp'], 1.0, ' pp')}"
                 + ("" if doc["baseline_converged"] else " (float baseline NOT converged at this budget)"))
    return "\n".join(lines + [line])
