"""Plots of the evaluation: accuracy versus time (circuit and statistical models side by side) and the
energy breakdown with Ambrogio et al.'s efficiency as a reference line. Written atomically as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pycosim.plots import pyplot, save_figure

_COLORS = {"circuit": "tab:blue", "pcm-statistical": "tab:orange"}


def plot_accuracy(result: dict, path) -> Path:
    """Test accuracy (mean ± standard deviation over the repeats) versus time after the end of training,
    one curve per entry of an evaluate.json dict (colour: noise model; dashed: global drift compensation;
    square markers: 3T1C leaking instead of the final transfer). The time axis is logarithmic; t = 0 is
    drawn a decade left of the smallest positive time."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    pos = [t for e in result["entries"] for t in e["times_s"] if t > 0]
    t_zero = (min(pos) if pos else 1.0) / 10
    for e in result["entries"]:
        t = np.where(np.asarray(e["times_s"]) > 0, e["times_s"], t_zero)
        m, s = 100 * np.asarray(e["accuracy_mean"]), 100 * np.asarray(e["accuracy_std"])
        label = e["noise_model"] + (f", LSP {e['lsp_mode']}" if e.get("lsp_mode") else "") + \
            (", global compensation" if e["compensation"] == "global" else "") + f" (R={e['repeats']})"
        ax.errorbar(t, m, yerr=s, color=_COLORS.get(e["noise_model"], "k"),
                    ls="--" if e["compensation"] == "global" else "-",
                    marker="s" if e.get("lsp_mode") == "leak" else "o", capsize=3, label=label)
    if result.get("trained_test_accuracy") is not None:
        ax.axhline(100 * result["trained_test_accuracy"], color="gray", lw=0.8, ls=":",
                   label="end of training (metrics.json)")
    ax.set_xscale("log")
    labels = {}
    for e in result["entries"]:
        for t, lab in zip(e["times_s"], e["time_labels"]):
            labels[t if t > 0 else t_zero] = lab
    ax.set_xticks(sorted(labels))
    ax.set_xticklabels([labels[k] for k in sorted(labels)])
    ax.minorticks_off()
    ax.set_xlabel("time after the end of training")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{result['preset']} {'-'.join(map(str, result['layers']))}: {result['test_examples']} test examples")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=120)


def plot_energy(reports: list[dict], path) -> Path:
    """Left: energy per training example as a stacked bar per run and phase, one colour per term (every
    priced term: bundle and assumed, :data:`pycosim.evaluate.energy.ALL_OPERATIONS`). Right: operations per
    second per watt of training and inference per run, full and analog core, with Ambrogio et al. (2018)'s
    28,065 GOP/s/W."""
    from pycosim.evaluate.energy import ALL_OPERATIONS, AMBROGIO_GOPS_PER_W, PHASES

    plt = pyplot()
    runs = [r for r in reports if r.get("energy")]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1.6, 1]})
    cmap = plt.get_cmap("tab20")
    colours = {op: cmap(k % 20) for k, op in enumerate(ALL_OPERATIONS)}
    w = 0.8 / max(len(runs), 1)
    x = np.arange(len(PHASES))
    for i, r in enumerate(runs):
        en = r["energy"]
        ex = max(int(r.get("examples_seen") or 1), 1)
        bottom = np.zeros(len(PHASES))
        for op in ALL_OPERATIONS:
            vals = np.array([(en["phase_op_J"][p].get(op) or 0.0) / ex for p in PHASES])
            a1.bar(x + (i - (len(runs) - 1) / 2) * w, vals, w, bottom=bottom, color=colours[op],
                   edgecolor="k" if len(runs) > 1 else None, linewidth=0.3,
                   label=op if i == 0 else None)
            bottom += vals
        if len(runs) > 1:
            for k in range(len(PHASES)):
                a1.text(x[k] + (i - (len(runs) - 1) / 2) * w, bottom[k], str(i + 1), ha="center", va="bottom",
                        fontsize=6)
    a1.set_xticks(x)
    a1.set_xticklabels(list(PHASES))
    a1.set_ylabel("energy per training example (J)")
    title = "stacked by term" + ("" if len(runs) < 2 else ": " + ", ".join(
        f"{i + 1} = {r['label']}" for i, r in enumerate(runs)))
    a1.set_title(title, fontsize=8)
    a1.grid(alpha=0.3, axis="y")
    a1.legend(fontsize=6, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)  # below: covers no bar
    xs = np.arange(4)
    for i, r in enumerate(runs):
        g = r["energy"]["gops_per_W"]
        a2.bar(xs + (i - (len(runs) - 1) / 2) * w,
               [g.get(k) or 0 for k in ("training", "training_core", "inference", "inference_core")], w,
               label=r["label"])
    a2.axhline(AMBROGIO_GOPS_PER_W, color="k", ls="--", lw=1, label="Ambrogio et al. 2018: 28,065 GOP/s/W")
    a2.set_xticks(xs)
    a2.set_xticklabels(["training\nfull", "training\nanalog core", "inference\nfull", "inference\nanalog core"],
                       fontsize=8)
    a2.set_yscale("log")
    a2.set_ylabel("GOP/s/W")
    a2.set_title("full: every term; analog core: bundle operations only", fontsize=8)
    a2.grid(alpha=0.3, axis="y")
    a2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)   # below: covers no bar
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
