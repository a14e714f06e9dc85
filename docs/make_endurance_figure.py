"""Lifetime against the number of conductance pairs k: the table and figure of docs/evaluation.md
("Endurance and redundancy"), from training runs with the endurance model on.

    python docs/make_endurance_figure.py RUNROOT [--scale 5e-7] [--out docs/img/endurance_lifetime_vs_k.png]

RUNROOT holds run directories named e-<scheme>-k<k> (endurance on, pcm.endurance_scale = --scale) and
free-<scheme>-k<k> (endurance off, the wear-free references), scheme in {4pcm, 3t1c}, made by

    pycosim train --preset cristiano2018-4pcm|ambrogio2018-accel -s synapse.kind=4pcm-kpairs|2pcm+3t1c-kpairs \
        -s pcm.redundant_pairs=K -s pcm.redundancy=rotate+spare -s pcm.endurance_scale=SCALE \
        -s transfer.interval=1000 -s training.lr_decay=1 --train-subset 2000 --epochs 10 \
        -s training.test_subset=2000 --seed 0 --out RUNROOT/e-<scheme>-k<K>

What is measured (no extrapolation inside the run): each device's wear-out time (counters
pcm_worn_at_s_per_device, the layer clock), hence the examples until 0.1 % of the PCM devices are worn and
until 0.1 % of the synapses have failed (a synapse fails when a device of a non-redundant pair is worn, or
when every one of its k redundant pairs has a worn device); and the test accuracy per epoch against the
wear-free run. Converted to the real endurance by dividing the examples by the scale (linear in the cycles
to failure: every L_d is scaled alike), and to time at 100 % training duty by the run's accelerator time per
example (transfers included). Where the run ends first, the report's projection of the same run
(:func:`pycosim.evaluate.lifetime.stress_projection`, SET stress included) is given instead, marked 'proj.'.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

YEAR = 365.25 * 86400


def _load(run: Path):
    from pycosim.evaluate import rundir

    m = json.loads((run / "metrics.json").read_text())
    st = rundir.load_state(run, "report")
    return m, st


def _t_example(m: dict) -> float:
    """Accelerator time per training example with the transfers' own time spread over the examples (s)."""
    ex = max(int(m["examples_seen"]), 1)
    tb = (m.get("hardware_timing") or {}).get("example_breakdown_s") or {}
    t = float(tb.get("example") or m["t_example_hardware_s"])
    return t + float((m.get("transfers") or {}).get("total_duration_s") or 0.0) / ex


def _failure_examples(m: dict, st, fraction: float) -> tuple[float | None, float | None, float]:
    """(examples until the first `fraction` of devices are worn, … of synapses have failed, worn fraction at the
    end); None where the run ended first. Layer clock → examples by the run's hardware time per example."""
    ex = int(m["examples_seen"])
    per_ex = float(m["hardware_time_s"]) / ex
    dev_t, syn_t = [], []
    for xb in st.net.layers:
        t = np.asarray(xb.counters.pcm_worn_at_s_per_device, np.float64)
        if t.size == 0:
            return None, None, 0.0
        dev_t.append(t.ravel())
        n = xb.N_PCM
        rows = xb.ring_rows() if hasattr(xb, "ring_rows") else None
        plain = [r for r in range(n) if rows is None or r not in rows[0]]
        fail = np.min(t[plain], axis=0) if plain else np.full(t.shape[1:], np.inf)
        if rows is not None:
            pair = np.minimum(t[rows[:, 0]], t[rows[:, 1]])          # a pair is lost at its first worn device
            fail = np.minimum(fail, pair.max(axis=0))                # the synapse when all k pairs are lost
        syn_t.append(fail.ravel())
    out = []
    for t in (np.concatenate(dev_t), np.concatenate(syn_t)):
        k = max(1, math.ceil(fraction * t.size))
        q = float(np.partition(t, k - 1)[k - 1])
        out.append(q / per_ex if np.isfinite(q) else None)
    worn = np.concatenate(dev_t)
    return out[0], out[1], float(np.isfinite(worn).mean())


def _acc_drop(acc: list, ref: list, per_epoch: int, pp: float = 0.5) -> tuple[float | None, float]:
    """Examples until the 3-epoch mean test accuracy falls more than pp below the reference's (None: never),
    and the rms of the per-epoch difference before the first wear (the resolution)."""
    a, r = np.asarray(acc), np.asarray(ref)
    n = min(a.size, r.size)
    for e in range(1, n - 1):
        if (a[e - 1:e + 2].mean() - r[e - 1:e + 2].mean()) * 100 < -pp:
            return (e + 1) * per_epoch, 0.0
    return None, 0.0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--scale", type=float, default=5e-7)
    ap.add_argument("--fraction", type=float, default=1e-3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "img" / "endurance_lifetime_vs_k.png")
    args = ap.parse_args(argv)
    from pycosim.evaluate import lifetime

    rows, curves = [], {}
    for scheme in ("4pcm", "3t1c"):
        ref_m = json.loads((args.root / f"free-{scheme}-k1" / "metrics.json").read_text())
        for k in (1, 2, 4, 8):
            run = args.root / f"e-{scheme}-k{k}"
            if not (run / "metrics.json").is_file():
                continue
            m, st = _load(run)
            ex = int(m["examples_seen"])
            t_ex = _t_example(m)
            n_dev, n_syn, worn_end = _failure_examples(m, st, args.fraction)
            acc = m["test_accuracy_per_epoch"]
            per_epoch = ex // len(acc)
            drop, _ = _acc_drop(acc, ref_m["test_accuracy_per_epoch"], per_epoch)
            lt = lifetime.lifetime(st.net, ex, t_ex * args.scale, endurance_cycles=1e8 * args.scale)
            proj = lt["stress"]["all"]["examples_to_failure"]
            R = np.concatenate([x.counters.pcm_resets_per_device.ravel() for x in st.net.layers])
            S = np.concatenate([x.counters.pcm_sets_per_device.ravel() for x in st.net.layers])
            proj0 = lifetime.stress_projection(R, S, ex, t_ex * args.scale, set_weight=0.0, repeats=4,
                                               endurance_cycles=1e8 * args.scale)["examples_to_failure"]
            free_k = args.root / f"free-{scheme}-k{k}" / "metrics.json"
            acc_free = json.loads(free_k.read_text())["test_accuracy"] if free_k.is_file() else None

            def years(n):
                return None if n is None else n / args.scale * t_ex / YEAR

            last = lambda a: float(np.mean(a[-5:]))  # noqa: E731  (epochs 6-10: 10,000-20,000 examples)
            free_m = json.loads(free_k.read_text()) if free_k.is_file() else None
            rows.append({"scheme": scheme, "k": k, "examples": ex, "t_example_s": t_ex,
                         "acc_last5": last(acc), "acc_free_k1_last5": last(ref_m["test_accuracy_per_epoch"]),
                         "acc_free_same_k_last5": None if free_m is None else last(free_m["test_accuracy_per_epoch"]),
                         "devices_0.1%_examples": n_dev, "synapses_0.1%_examples": n_syn,
                         "devices_0.1%_years": years(n_dev), "synapses_0.1%_years": years(n_syn),
                         "projected_devices_0.1%_years": years(proj), "projected_resets_only_years": years(proj0),
                         "acc_drop_examples": drop,
                         "acc_drop_years": years(drop), "run_years": years(ex), "worn_fraction_end": worn_end,
                         "acc_final": m["test_accuracy"], "acc_free_same_k": acc_free,
                         "acc_free_k1": ref_m["test_accuracy"], "acc_per_epoch": acc,
                         "acc_free_k1_per_epoch": ref_m["test_accuracy_per_epoch"]})
            curves[(scheme, k)] = (np.arange(1, len(acc) + 1) * per_epoch, acc)
    print(json.dumps([{k: v for k, v in r.items() if "per_epoch" not in k} for r in rows], indent=1))
    for scheme in ("4pcm", "3t1c"):      # the resolution: the same criteria between two wear-free runs
        f1, f8 = (args.root / f"free-{scheme}-k{k}" / "metrics.json" for k in (1, 8))
        if f1.is_file() and f8.is_file():
            a1, a8 = (json.loads(f.read_text())["test_accuracy_per_epoch"] for f in (f1, f8))
            n = min(len(a1), len(a8))
            a1, a8 = a1[:n], a8[:n]
            d, _ = _acc_drop(a8, a1, 2000)
            print(f"wear-free {scheme} k=8 against k=1: last-5-epoch mean {100 * (np.mean(a8[-5:]) - np.mean(a1[-5:])):+.2f} pp, "
                  f"per-epoch rms difference {100 * np.sqrt(np.mean((np.asarray(a8) - np.asarray(a1)) ** 2)):.2f} pp, "
                  f"'−0.5 pp' criterion fires at {d} examples")
    _table(rows)
    _figure(rows, curves, args.out)


def _fmt(v, run_years, proj=None):
    if v is not None:
        return f"{v:.3g}"
    s = f"> {run_years:.2g}"
    return s + (f" (proj. {proj:.3g})" if proj is not None else "")


def _table(rows) -> None:
    print("| scheme | k | 0.1 % of devices worn: measured (y) | projected from the run (y) | projected, RESETs only (y) | "
          "0.1 % of synapses "
          "failed (y) | 3-epoch accuracy −0.5 pp (y) | worn at run end | test accuracy, mean of epochs 6–10: "
          "worn / wear-free same k / wear-free k=1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        fr = lambda v: "—" if v is None else f"{100 * v:.1f} %"  # noqa: E731
        print(f"| {r['scheme']} | {r['k']} | {_fmt(r['devices_0.1%_years'], r['run_years'])} | "
              f"{r['projected_devices_0.1%_years']:.3g} | {r['projected_resets_only_years']:.3g} | "
              f"{_fmt(r['synapses_0.1%_years'], r['run_years'])} | {_fmt(r['acc_drop_years'], r['run_years'])} | "
              f"{100 * r['worn_fraction_end']:.2g} % | {fr(r['acc_last5'])} / {fr(r['acc_free_same_k_last5'])} / "
              f"{fr(r['acc_free_k1_last5'])} |")


def _figure(rows, curves, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.4))
    for scheme, c in (("4pcm", "C0"), ("3t1c", "C3")):
        rs = [r for r in rows if r["scheme"] == scheme]
        if not rs:
            continue
        k = [r["k"] for r in rs]
        lab = "4PCM (k lower pairs)" if scheme == "4pcm" else "2PCM+3T1C (k PCM pairs)"
        for key, mk, ls, what in (("devices_0.1%_years", "o", "-", "0.1 % devices worn"),
                                  ("synapses_0.1%_years", "s", "--", "0.1 % synapses failed")):
            y = [r[key] if r[key] is not None else np.nan for r in rs]
            ax[0].plot(k, y, marker=mk, ls=ls, color=c, label=f"{lab}: {what}")
            lb = [r["run_years"] if r[key] is None else np.nan for r in rs]
            ax[0].plot(k, lb, marker="^", ls="none", color=c, alpha=0.5)
        yp = [r["projected_devices_0.1%_years"] for r in rs]
        ax[0].plot(k, yp, marker="x", ls=":", color=c, alpha=0.7, label=f"{lab}: projection of the run")
        ax[1].plot([max(r["worn_fraction_end"], 1e-5) * 100 for r in rs],
                   [100 * (r["acc_last5"] - r["acc_free_k1_last5"]) for r in rs], marker="o", ls="none", color=c,
                   label=lab)
        for r in rs:
            ax[1].annotate(f"k={r['k']}", (max(r["worn_fraction_end"], 1e-5) * 100,
                                           100 * (r["acc_last5"] - r["acc_free_k1_last5"])), fontsize=7)
            if r["acc_free_same_k_last5"] is not None and r["k"] > 1:
                ax[1].plot([1e-3], [100 * (r["acc_free_same_k_last5"] - r["acc_free_k1_last5"])], marker="*",
                           color=c, ls="none", label=f"{scheme}: wear-free k={r['k']} (noise reference)")
        for r in rs:
            x, a = curves[(scheme, r["k"])]
            ax[2].plot(x, 100 * np.asarray(a), color=c, alpha=0.3 + 0.7 * r["k"] / 8, label=f"{scheme} k={r['k']}")
        ref = rs[0]["acc_free_k1_per_epoch"]
        x = curves[(scheme, rs[0]["k"])][0][:len(ref)]
        ax[2].plot(x, 100 * np.asarray(ref), color=c, ls="--", lw=2, label=f"{scheme} wear-free k=1")
    ax[0].set_xscale("log", base=2)
    ax[0].set_yscale("log")
    ax[0].axhline(1, color="k", lw=0.8)
    ax[0].set_xlabel("conductance pairs k (rotation with spares)")
    ax[0].set_ylabel("lifetime at 100 % training (years)")
    ax[0].set_title("measured in training (▲: run ended first), ×: projection", fontsize=9)
    ax[0].legend(fontsize=6.5)
    ax[1].set_xscale("log")
    ax[1].axhline(0, color="k", lw=0.8)
    ax[1].set_xlabel("PCM devices worn at the end of the run (%)")
    ax[1].set_ylabel("test accuracy, epochs 6-10, minus wear-free k=1 (pp)")
    ax[1].legend(fontsize=6.5)
    ax[2].set_xlabel("training examples (scaled endurance)")
    ax[2].set_ylabel("test accuracy (%)")
    ax[2].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
