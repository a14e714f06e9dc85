"""Accuracy of the projected accelerator against the PCM drift onset time t_on, with and without the
periphery's drift compensation (a curve, not a number: the onset of programmed-state drift at µs–ms after
programming is not pinned down by published measurements; docs/circuits/pcm.md).

    python benchmarks/drift_onset.py --bundles 'cal/ton-{t_on:.0e}' [--epochs 5] [--seeds 0]
                                     [--t-on 1e-7,1e-6,1e-5,1e-4,1e-3,1e-2,1e-1]
                                     [--compensation none,column] [--workers 2] [--runs runs/drift-onset]

The onset is a property of the device: the bundle's drift reads (10 µs … 10⁴ s) were simulated with the
``ton`` of ``netlists/pcm.lib``, and the array model's ``pcm.drift_t_on_s`` only re-shapes the curve between
those reads. So every t_on needs its own bundle, characterised with that ``ton`` (``--bundles``: a directory
pattern with ``{t_on}``); without it the script stops with one line instead of drawing a curve that is not
the onset's. Make them with the library override, e.g. for every t_on::

    pycosim characterize --lib-param pcm.ton=1e-04 --mc-pcm 50 --out cal/ton-1e-04

(--mc-pcm 50 halves the PCM Monte Carlo of the shipped bundle's 100 to keep seven bundles affordable; the
1e-06 bundle is made the same way so that every point of the curve has the same population size).

Every run is ``ambrogio2018-accel`` with that bundle, ``pcm.<ONSET_FIELD>=t_on`` (and
``periphery.drift_compensation``),
an ordinary run directory (finished runs are reused, interrupted ones resumed; the float baseline at the same
budget and seeds is run beside them). Writes ``benchmarks/results/drift_onset.txt`` (table) and
``docs/img/drift_onset.png`` (accuracy against t_on, one line per compensation, the float baseline and the
``ambrogio2018`` tester-timing result as horizontal references when their runs are given with --reference-runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

#: the PCMConfig field of the drift onset time (s) — G(t) = G_v·((t + t_on)/(t_v + t_on))^−ν
ONSET_FIELD = "drift_t_on_s"
BASE = "ambrogio2018-accel"


def _job(preset: str, overrides: list[str], seed: int, epochs: int, out: Path, bundle: str | None = None) -> dict:
    return {"preset": preset, "overrides": overrides, "seed": seed, "epochs": epochs, "out": str(out),
            "bundle": bundle}


def run_one(job: dict) -> dict:
    """Train (or resume, or reuse) one run; returns its metrics.json content."""
    from pycosim import calibration
    from pycosim.nn.train import CHECKPOINT, resolve_config, train

    out = Path(job["out"])
    m = out / "metrics.json"
    if m.is_file() and json.loads(m.read_text()).get("status") == "finished":
        return json.loads(m.read_text())
    cfg = resolve_config(job["preset"], None, job["overrides"], epochs=job["epochs"], seed=job["seed"])
    bundle = calibration.load(job["bundle"]) if job.get("bundle") else None
    return train(cfg, out, resume=(out / CHECKPOINT).is_file(), progress=False, plots=False, bundle=bundle)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--t-on", default="1e-7,1e-6,1e-5,1e-4,1e-3,1e-2,1e-1", help="onset times (s), comma-separated")
    ap.add_argument("--compensation", default="none,column", help="periphery.drift_compensation values")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", default="runs/drift-onset")
    ap.add_argument("--results", default="benchmarks/results/drift_onset.txt")
    ap.add_argument("--figure", default="docs/img/drift_onset.png")
    ap.add_argument("--bundles", default=None,
                    help="directory pattern of one bundle per onset, e.g. 'cal/ton-{t_on:.0e}' (required)")
    ap.add_argument("--note", action="append", default=[], help="a comment line for the results file (repeatable)")
    ap.add_argument("--reference-runs", default=None,
                    help="directory holding ambrogio2018-e{E}-s{S} (tester timing) runs to draw as a reference")
    args = ap.parse_args()
    if not args.bundles:
        raise SystemExit("drift_onset.py: --bundles PATTERN is required: each onset needs a bundle characterised "
                         "with that ton (pcm.drift_t_on_s alone only re-shapes the stored drift curve)")
    seeds = [int(s) for s in args.seeds.split(",")]
    t_on = [float(t) for t in args.t_on.split(",")]
    comps = args.compensation.split(",")
    root = Path(args.runs)
    jobs = {}
    for c in comps:
        for t in t_on:
            for s in seeds:
                jobs[(c, t, s)] = _job(BASE, [f"pcm.{ONSET_FIELD}={t!r}", f"periphery.drift_compensation={c}"], s,
                                       args.epochs, root / f"{c}-ton{t:.0e}-e{args.epochs}-s{s}",
                                       args.bundles.format(t_on=t))
    for s in seeds:
        jobs[("float", None, s)] = _job("float", [], s, args.epochs, root / f"float-e{args.epochs}-s{s}")
    t0 = time.time()
    res = {}
    with ProcessPoolExecutor(max_workers=args.workers) as ex:
        futs = {ex.submit(run_one, j): k for k, j in sorted(jobs.items(), key=lambda kv: kv[0][0] == "float")}
        for f in as_completed(futs):
            k = futs[f]
            res[k] = f.result()
            print(f"[{time.time() - t0:7.0f} s] {k}: {100 * res[k]['test_accuracy']:.2f} %", flush=True)
    fl = float(np.mean([res[("float", None, s)]["test_accuracy"] for s in seeds])) * 100
    ref = None
    if args.reference_runs:
        accs = [json.loads((Path(args.reference_runs) / f"ambrogio2018-e{args.epochs}-s{s}" / "metrics.json")
                           .read_text())["test_accuracy"] * 100 for s in seeds]
        ref = float(np.mean(accs))
    lines = [f"# python benchmarks/drift_onset.py --epochs {args.epochs} --seeds {args.seeds} --t-on {args.t_on} "
             f"--compensation {args.compensation}  ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
             f"{args.workers} workers, wall {time.time() - t0:.0f} s)",
             f"# {BASE} (projected accelerator timing), full MNIST, test accuracy % after {args.epochs} epochs "
             f"(mean of seeds {args.seeds}); float baseline {fl:.2f} %"
             + (f"; ambrogio2018 (tester timing) {ref:.2f} %" if ref is not None else ""),
             f"{'t_on (s)':>10}" + "".join(f"{c:>16}{'Δ float':>9}{'per seed':>{8 * len(seeds) + 2}}" for c in comps)]
    curves = {c: [] for c in comps}
    spans = {c: [] for c in comps}  # (lowest, highest) seed of each point
    for t in t_on:
        row = f"{t:>10.0e}"
        for c in comps:
            per = [res[(c, t, s)]["test_accuracy"] * 100 for s in seeds]
            a = float(np.mean(per))
            curves[c].append(a)
            spans[c].append((min(per), max(per)))
            row += f"{a:>16.2f}{a - fl:>+9.2f}  " + " / ".join(f"{x:.2f}" for x in per).rjust(8 * len(seeds))
        lines.append(row)
    if args.note:
        lines[2:2] = [f"# {n}" for n in args.note]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.results).write_text(text)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for c in comps:
        lo = [m - s[0] for m, s in zip(curves[c], spans[c])]
        hi = [s[1] - m for m, s in zip(curves[c], spans[c])]
        ax.errorbar(t_on, curves[c], yerr=[lo, hi] if len(seeds) > 1 else None, fmt="o-", capsize=3,
                    label=f"{BASE}, compensation {c}" + (f" (mean, bars: seeds {args.seeds})" if len(seeds) > 1 else ""))
    ax.set_xscale("log")
    ax.axhline(fl, color="k", ls="--", lw=1, label=f"float {fl:.2f} %")
    ax.axhspan(fl - 0.5, fl, color="0.85", zorder=0, label="within 0.5 pp of float")
    if ref is not None:
        ax.axhline(ref, color="C3", ls=":", lw=1.5, label=f"ambrogio2018 (tester timing) {ref:.2f} %")
    ax.set_xlabel("PCM drift onset t_on (s)")
    ax.set_ylabel(f"test accuracy after {args.epochs} epochs (%)")
    ax.set_title("Accelerator timing: accuracy against the drift onset")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(args.figure, dpi=130)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
