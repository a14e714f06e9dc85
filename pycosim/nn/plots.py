"""Plots of a training run: learning curves, transfer correlation map, conductance histograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_run(plots_dir, state, metrics: dict) -> list[Path]:
    """Write ``learning_curve.png``, ``transfer_correlation.png`` and ``conductances.png`` into
    *plots_dir*; returns their paths.

    The correlation map shows target versus programmed weight of the latest transfer of every layer
    (or of the initial programming), as Ambrogio et al., Nature 558, 60 (2018), Extended Data.
    """
    from pycosim.plots import pyplot, save_figure

    plt = pyplot()
    d = Path(plots_dir)
    paths = []

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ep = np.arange(1, len(metrics["test_accuracy_per_epoch"]) + 1)
    ax.plot(ep, 100 * np.asarray(metrics["train_accuracy_per_epoch"]), "o-", label="train (running)")
    ax.plot(ep, 100 * np.asarray(metrics["test_accuracy_per_epoch"]), "s-", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{metrics['preset']}  {'-'.join(map(str, metrics['layers']))}")
    ax.grid(alpha=0.3)
    ax.legend()
    paths.append(save_figure(fig, d / "learning_curve.png", dpi=120))

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
