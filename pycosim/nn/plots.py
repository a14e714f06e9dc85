"""Plots of a training run: learning curves (one run, or a run against its float baseline on the same axes),
transfer correlation map, conductance histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np


#: Line colours of the runs of :func:`plot_learning_curves` (analog first, float baseline second).
_RUN_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _label(m: dict) -> str:
    return "float baseline" if m.get("preset") == "float" else str(m.get("preset"))


def plot_learning_curves(path, runs: list[dict], title: str | None = None) -> Path:
    """One learning-curve figure of several runs (their ``metrics.json`` dicts; e.g. an analog run and its
    float baseline) on the same axes: the running training accuracy (``running_accuracy``: windows of
    training examples, classified before their update) as a line against training examples seen, and the
    test accuracy after each epoch as markers at the epoch's end. The y range follows the data. Returns
    *path* (PNG, written atomically)."""
    from pycosim.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ys = []
    for m, color in zip(runs, _RUN_COLORS):
        lab = _label(m)
        run = np.asarray(m.get("running_accuracy") or [], float).reshape(-1, 2)
        if len(run):
            ax.plot(run[:, 0], 100 * run[:, 1], "-", color=color, lw=1.2, alpha=0.8,
                    label=f"{lab}: training, running")
            ys += list(100 * run[:, 1])
        test = 100 * np.asarray(m.get("test_accuracy_per_epoch") or [], float)
        per = m.get("examples_per_epoch") or (m["examples_seen"] / max(1, len(test)) if len(test) else 1)
        ex = per * np.arange(1, len(test) + 1)
        if len(test):
            ax.plot(ex, test, "o--" if len(test) > 1 else "o", color=color, ms=7, mec="k",
                    label=f"{lab}: test after each epoch ({test[-1]:.2f} %)")
            ys += list(test)
    if ys:
        lo, hi = float(np.min(ys)), float(np.max(ys))
        pad = max(1.0, 0.08 * (hi - lo))
        ax.set_ylim(max(0.0, lo - pad), min(100.0, hi + pad))
    ax.set_xlim(left=0)
    ax.set_xlabel("training examples seen")
    ax.set_ylabel("accuracy (%)")
    if title is None:
        m0 = runs[0]
        title = f"{_label(m0)}  {'-'.join(map(str, m0.get('layers', [])))}"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2 if len(runs) > 1 else 1,
              frameon=False)      # below the axes: it never covers a curve
    return save_figure(fig, path, dpi=120)


def plot_weight_drift(path, metrics: dict) -> Path:
    """Per layer, the rms change of the PCM-pair part of the weights since the last transfer (network
    units; ``metrics.json`` → ``msp_change_rms``) against training examples seen, with the transfers as
    vertical lines: the drift between transfers, which the next transfer resets. Returns *path*."""
    from pycosim.plots import pyplot, save_figure

    plt = pyplot()
    data = np.asarray(metrics["msp_change_rms"], float)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for l in range(data.shape[1] - 1):
        ax.plot(data[:, 0], data[:, l + 1], "-", lw=1.2, color=_RUN_COLORS[l % len(_RUN_COLORS)],
                label=f"layer {l + 1}")
    tr = [t["example"] for t in (metrics.get("transfers") or {}).get("per_transfer", [])]
    for k, e in enumerate(tr):
        ax.axvline(e, color="0.6", ls=":", lw=0.8, label="transfer" if k == 0 else None)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("training examples seen")
    ax.set_ylabel("rms change of F·(G⁺ − G⁻) part (network units)")
    ax.set_title(f"{metrics.get('preset')}: PCM-pair weights against their value when programmed\n"
                 f"at the last transfer (drift, including during the transfer itself)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
    return save_figure(fig, path, dpi=120)


def plot_run(plots_dir, state, metrics: dict) -> list[Path]:
    """Write ``learning_curve.png``, ``weight_drift.png`` (schemes with an LSP,
    :func:`plot_weight_drift`), ``transfer_correlation.png`` and ``conductances.png`` into *plots_dir*;
    returns their paths.

    The correlation map shows target versus programmed weight of the latest transfer of every layer
    (or of the initial programming), as Ambrogio et al., Nature 558, 60 (2018), Extended Data.
    """
    from pycosim.plots import pyplot, save_figure

    plt = pyplot()
    d = Path(plots_dir)
    paths = []

    paths.append(plot_learning_curves(d / "learning_curve.png", [metrics]))
    if metrics.get("msp_change_rms"):
        paths.append(plot_weight_drift(d / "weight_drift.png", metrics))

    pairs = state.last_transfer or []
    if any(len(t) for t, _ in pairs):
        fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs), 3.2), squeeze=False)
        for l, (ax, (t, f)) in enumerate(zip(axes[0], pairs)):
            if len(t):
                lim = float(max(np.abs(t).max(), np.abs(f).max()))
                h = ax.hist2d(t, f, bins=60, range=[[-lim, lim], [-lim, lim]], cmap="viridis", cmin=1)
                ax.plot([-lim, lim], [-lim, lim], "w--", lw=0.8)
                fig.colorbar(h[3], ax=ax, shrink=0.8)
            ax.set_title(f"layer {l + 1}: {len(t)} synapses")
            ax.set_xlabel("target W")
            ax.set_ylabel("programmed W")
        fig.suptitle("last transfer: target vs programmed weight")
        paths.append(save_figure(fig, d / "transfer_correlation.png", dpi=120))

    layers = state.net.layers
    if layers and layers[0].scheme.analog:
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        for l, xb in enumerate(layers):
            dev = xb.devices()
            axes[0].hist(1e6 * dev["G_prog_S"][0].ravel(), bins=80, histtype="step", label=f"layer {l + 1}")
            axes[1].hist(1e6 * dev["G_prog_S"][1].ravel(), bins=80, histtype="step", label=f"layer {l + 1}")
            if "V_C_V" in dev:
                axes[2].hist(dev["V_C_V"].ravel(), bins=80, histtype="step", label=f"layer {l + 1}")
        axes[0].set_xlabel("G⁺ (µS)")
        axes[1].set_xlabel("G⁻ (µS)")
        axes[2].set_xlabel("3T1C V_C (V)" if layers[0].scheme.has_3t1c else "(no 3T1C)")
        for ax in axes:
            ax.set_ylabel("devices")
            ax.set_yscale("log")
        axes[0].legend(fontsize=7)
        paths.append(save_figure(fig, d / "conductances.png", dpi=120))
    return paths
