"""Figures a device engineer expects from a calibration bundle (PNG, matplotlib Agg).

Each function takes a :class:`pycosim.calibration.Bundle` and an output directory and
returns the path of the PNG it wrote. :func:`plot_bundle` writes all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pycosim.calibration import dg_model
from pycosim.files import atomic_write, check_out_dir

_US = 1e6  # S → µS


def check_writable(directory: str | os.PathLike) -> Path:
    """Create *directory* if needed and check a file can be written there; ConfigError if not."""
    return check_out_dir(directory, "--plots", allow_existing=True, create=True)


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Lay out *fig*, write it as PNG to *path* atomically (parent directories created; an interrupted write
    leaves no file; the canvas grows to hold every title, label and legend, even one placed outside the
    axes) and close it; returns the path."""
    path = Path(path)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight"))
    finally:
        pyplot().close(fig)
    return path


def _fig(*shape, **kw):
    return pyplot().subplots(*shape, **kw)


def _save(fig, directory: Path, name: str) -> Path:
    return save_figure(fig, Path(directory) / name)


def pcm_staircase(b, d) -> Path:
    """G (µS) after each of N identical partial-SET pulses: every instance and the mean."""
    g = b["pcm/staircase_g_S"] * _US
    fig, ax = _fig(figsize=(5.5, 4))
    n = np.arange(g.shape[1])
    ax.plot(n, g[: min(len(g), 40)].T, color="tab:blue", alpha=0.25, lw=0.8)
    ax.plot(n, g.mean(0), color="k", lw=2, label=f"mean of {len(g)} devices")
    ax.set(xlabel="SET pulse number", ylabel="G at read (µS)", title="PCM partial-SET staircase")
    ax.legend()
    return _save(fig, d, "pcm_staircase.png")


def pcm_dg_vs_g(b, d) -> Path:
    """ΔG per SET pulse versus G: bin mean, 10–90 % and 25–75 % quantile bands, compact fit."""
    edges = b["pcm/dg_bins_S"] * _US
    q = b["pcm/dg_quantiles_S"] * _US
    lv = b["pcm/dg_quantile_levels"]
    mid = 0.5 * (edges[1:] + edges[:-1])
    ok = b["pcm/dg_count"] > 0
    fig, ax = _fig(figsize=(5.5, 4))

    def band(lo, hi, alpha, label):
        i, j = int(np.argmin(abs(lv - lo))), int(np.argmin(abs(lv - hi)))
        ax.fill_between(mid[ok], q[ok, i], q[ok, j], alpha=alpha, color="tab:orange", label=label)

    band(0.1, 0.9, 0.25, "10–90 %")
    band(0.25, 0.75, 0.45, "25–75 %")
    ax.plot(mid[ok], b["pcm/dg_mean_S"][ok] * _US, "o-", color="tab:red", label="mean")
    fit = b.scalars["pcm"]["dg_fit"]
    if "dg0_S" in fit:
        gg = np.linspace(0, edges[-1], 200)
        ax.plot(gg, dg_model(gg / _US, fit) * _US, "k--", label="fit: " + fit["form"])
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="G before pulse (µS)", ylabel="ΔG per SET pulse (µS)", title="PCM jump table")
    ax.legend(fontsize=8)
    return _save(fig, d, "pcm_dg_vs_g.png")


def pcm_drift(b, d) -> Path:
    """Conductance versus time after programming at every programmed level (log–log), mean and a few
    devices, with the fitted ν per level (Nandakumar et al., ICECS 2019: ν falls with G)."""
    t, g = b["pcm/drift_t_s"], b["pcm/drift_g_S"] * _US          # (n, n_levels, n_t)
    levels, nu = b["pcm/drift_levels"], b["pcm/drift_nu"]
    fig, (ax, ax2) = _fig(1, 2, figsize=(10, 4))
    from matplotlib import colormaps

    colors = colormaps["viridis"](np.linspace(0, 0.9, len(levels)))
    for k, (lev, c) in enumerate(zip(levels, colors)):
        ax.loglog(t, g[: min(len(g), 8), k].T, color=c, alpha=0.25, lw=0.7)
        ax.loglog(t, g[:, k].mean(0), color=c, lw=2, label=f"{lev:.0%} of G_max: ν = {nu[:, k].mean():.3f}")
    ax.set(xlabel="time after programming (s)", ylabel="G (µS)", title="PCM drift G(t) = G₀(t/t₀)^−ν")
    ax.legend(fontsize=7)
    g0 = b["pcm/drift_g0_S"] * _US
    ax2.scatter(g0.ravel(), nu.ravel(), s=4, alpha=0.4, label="devices")
    ax2.errorbar(g0.mean(0), nu.mean(0), yerr=nu.std(0), fmt="ko-", label="mean ± σ per level")
    ax2.set(xlabel="G(1 s) (µS)", ylabel="drift exponent ν", title="ν versus programmed conductance")
    ax2.legend(fontsize=8)
    return _save(fig, d, "pcm_drift.png")


def pcm_read_iv(b, d) -> Path:
    """Read conductance I/V versus read voltage for several programmed states."""
    v, g = b["pcm/read_v_V"], b["pcm/read_g_S"] * _US
    fig, ax = _fig(figsize=(5.5, 4))
    states = b.tables.get("pcm/read_states_x", np.full(len(g), np.nan))
    for row, x in zip(g, states):
        ax.semilogy(v, np.clip(row, 1e-6, None), label=f"crystalline fraction {x:g}")
    ax.axvline(b.scalars["pcm"]["read_v_V"], color="grey", ls=":", label="read voltage")
    ax.set(xlabel="read voltage (V)", ylabel="I/V (µS)", title="PCM conductance versus read voltage")
    ax.legend(fontsize=8)
    return _save(fig, d, "pcm_read_iv.png")


def lsp_updown(b, d) -> Path:
    """3T1C read conductance g after each of K up pulses then K down pulses."""
    g = b["lsp/updown_g_S"] * _US
    n = np.arange(g.shape[1])
    fig, ax = _fig(figsize=(5.5, 4))
    ax.plot(n, g[: min(len(g), 40)].T, color="tab:green", alpha=0.25, lw=0.8)
    ax.plot(n, g.mean(0), "k", lw=2, label=f"mean of {len(g)} cells")
    ax.axvline((g.shape[1] - 1) / 2, color="grey", ls=":")
    ax.set(xlabel="pulse number (up, then down)", ylabel="g (µS)", title="3T1C up/down programming")
    ax.legend()
    return _save(fig, d, "lsp_updown.png")


def lsp_dv_vs_vc(b, d) -> Path:
    """ΔV_C of one up and one down pulse from fixed V_C grid points, mean and 5–95 % spread over instances
    (the view of Ambrogio et al. 2018, Extended Data Fig. 10), plus their distributions."""
    v = b["lsp/step_vc_V"]
    fig, (ax, ax2) = _fig(1, 2, figsize=(10, 4))
    for name, color, label in (("lsp/dv_up_V", "tab:red", "up (PMOS)"), ("lsp/dv_down_V", "tab:blue", "down (NMOS)")):
        dv = b[name] * 1e3
        ok = np.isfinite(dv).sum(0) > 1
        if not ok.any():
            continue
        ax.plot(v[ok], np.nanmean(dv[:, ok], 0), color=color, label=label)
        ax.fill_between(v[ok], np.nanpercentile(dv[:, ok], 5, 0), np.nanpercentile(dv[:, ok], 95, 0),
                        color=color, alpha=0.25)
        vals = dv[np.isfinite(dv)]
        ax2.hist(np.abs(vals), bins=50, color=color, alpha=0.6, label=label)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="V_C (V)", ylabel="ΔV_C per pulse (mV)", title="3T1C step versus capacitor voltage")
    ax.legend()
    ax2.set(xlabel="|ΔV_C| per pulse (mV)", ylabel="count", title="step distribution (all instances)")
    ax2.legend()
    return _save(fig, d, "lsp_dv_vs_vc.png")


def lsp_g_vs_vc(b, d) -> Path:
    """Read-FET conductance g versus capacitor voltage V_C with mismatch spread."""
    v, g = b["lsp/vc_grid_V"], b["lsp/g_of_vc_S"] * _US
    fig, ax = _fig(figsize=(5.5, 4))
    ax.plot(v, g.mean(0), "k", lw=2, label="mean")
    ax.fill_between(v, np.percentile(g, 5, 0), np.percentile(g, 95, 0), alpha=0.3, label="5–95 %")
    ax.set(xlabel="V_C (V)", ylabel="g (µS)", title="3T1C read conductance g(V_C)")
    ax.legend()
    return _save(fig, d, "lsp_g_vs_vc.png")


def lsp_leakage(b, d) -> Path:
    """Leakage dV_C/dt versus V_C with all programming FETs off."""
    v, r = b["lsp/leak_vc_V"], b["lsp/leak_dvdt_V_per_s"]  # V/s = mV/ms
    fig, ax = _fig(figsize=(5.5, 4))
    ax.plot(v, r.mean(0), "k", lw=2, label="mean")
    ax.fill_between(v, np.percentile(r, 5, 0), np.percentile(r, 95, 0), alpha=0.3, label="5–95 %")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="V_C (V)", ylabel="dV_C/dt (mV/ms)", title="3T1C leakage (FETs off)")
    ax.legend()
    return _save(fig, d, "lsp_leakage.png")


def integrator_transfer(b, d) -> Path:
    """Integrator output voltage versus integrated input charge, with the linear fit."""
    q, v = b["integrator/q_in_C"], b["integrator/v_out_V"]
    s = b.scalars["integrator"]
    fig, ax = _fig(figsize=(5.5, 4))
    ax.plot(q * 1e15, v, "o", ms=3, label="SPICE")
    qq = np.linspace(q.min(), q.max(), 100)
    ax.plot(qq * 1e15, np.clip(s["offset_V"] + s["gain_V_per_C"] * qq, s["v_sat_lo_V"], s["v_sat_hi_V"]), "k--",
            label="gain·Q + offset, clipped")
    ax.axvline(s["q_linear_max_C"] * 1e15, color="grey", ls=":", label="end of linear range")
    ax.set(xlabel="input charge (fC)", ylabel="V_out (V)", title="current integrator transfer")
    ax.legend(fontsize=8)
    return _save(fig, d, "integrator_transfer.png")


ALL = (pcm_staircase, pcm_dg_vs_g, pcm_drift, pcm_read_iv, lsp_updown, lsp_dv_vs_vc, lsp_g_vs_vc,
       lsp_leakage, integrator_transfer)


def plot_bundle(bundle, directory: str | os.PathLike) -> list[Path]:
    """Write every figure of :data:`ALL` for *bundle* into *directory*; returns the paths."""
    d = check_writable(directory)
    return [f(bundle, d) for f in ALL]
