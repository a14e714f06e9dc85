"""PCM (most-significant pair) characterisation: bench runs → jump table, drift, energies.

Benches (``circuits/``): ``pcm_set_staircase`` (N identical partial-SET pulses from RESET,
read after each), ``pcm_reset`` (RESET pulse, read), ``pcm_read_iv`` (read current versus
read voltage), ``pcm_drift`` (reads from 1 s to 10⁴ s after programming).

Extracted, per Monte Carlo instance (device-to-device spread and cycle-to-cycle noise of the
compact model in ``netlists/pcm.lib``):

* the staircase G_k, k = 0..N, and from it the **jump table**: for bins of G, the empirical
  distribution (quantiles) of ΔG = G_{k+1} − G_k per SET pulse (the form used by array
  simulators of PCM training, e.g. Ambrogio et al., Nature 558, 60 (2018), Methods, and
  Burr et al., IEEE TED 62, 3498 (2015));
* a compact fit of the mean, ΔG(G) = dg0·(1 − G/G_max)^p (saturating SET response);
* the RESET floor and its spread; the per-device maximum conductance (last staircase value);
* conductance versus read voltage; the drift exponent ν per device from a least-squares fit
  of log G = log G₀ − ν·log(t/t₀) (Ielmini et al., IEEE TED 54, 308 (2007));
* energy per SET and per RESET pulse, E = Σ_sources ∫ −V·I dt over the pulse.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

from pycosim.characterize.common import energy_J

BENCHES = ("pcm_set_staircase", "pcm_reset", "pcm_read_iv", "pcm_drift")
N_BINS = 20
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 21)


def jump_table(stair_S: np.ndarray, n_bins: int = N_BINS, g_top_S: float | None = None) -> dict:
    """Empirical ΔG-per-pulse distribution in bins of G before the pulse.

    stair_S: (n_instances, n_pulses + 1) float64, G after each pulse (column 0: before any).
    Returns ``dg_bins_S`` (n_bins+1,), ``dg_quantiles_S`` (n_bins, n_q), ``dg_quantile_levels``
    (n_q,), ``dg_count`` (n_bins,), ``dg_mean_S`` and ``dg_std_S`` (n_bins,), NaN for empty bins.
    """
    g = stair_S[:, :-1].ravel()
    dg = np.diff(stair_S, axis=1).ravel()
    top = float(g_top_S if g_top_S is not None else stair_S.max())
    edges = np.linspace(0.0, top * (1 + 1e-9), n_bins + 1)
    idx = np.clip(np.digitize(g, edges) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    mean = np.bincount(idx, weights=dg, minlength=n_bins) / np.maximum(count, 1)
    sq = np.bincount(idx, weights=dg**2, minlength=n_bins) / np.maximum(count, 1)
    std = np.sqrt(np.maximum(sq - mean**2, 0))
    mean[count == 0] = np.nan
    std[count == 0] = np.nan
    quant = np.full((n_bins, len(QUANTILE_LEVELS)), np.nan)
    order = np.lexsort((dg, idx))  # sort by bin, then ΔG: quantiles per bin without a Python loop over samples
    starts = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(int)
    for b in np.nonzero(count)[0]:  # loop over bins (≤ N_BINS), not over samples
        vals = dg[order[starts[b]:starts[b] + int(count[b])]]
        quant[b] = np.quantile(vals, QUANTILE_LEVELS)
    return {"dg_bins_S": edges, "dg_quantiles_S": quant, "dg_quantile_levels": QUANTILE_LEVELS.copy(),
            "dg_count": count, "dg_mean_S": mean, "dg_std_S": std}


def dg_model(g_S, fit: dict):
    """Compact mean SET response ΔG(G) = dg0·(1 − G/G_max)^p, zero at and above G_max (S)."""
    x = np.clip(1.0 - np.asarray(g_S, dtype=np.float64) / fit["gmax_S"], 0.0, None)
    return fit["dg0_S"] * x ** fit["p"]


def fit_dg(stair_S: np.ndarray) -> dict:
    """Least-squares fit of :func:`dg_model` to every (G, ΔG) pair of the staircases."""
    g = stair_S[:, :-1].ravel()
    dg = np.diff(stair_S, axis=1).ravel()
    gmax0 = float(stair_S[:, -1].mean() * 1.2)

    def f(x, dg0, gmax, p):
        return dg0 * np.clip(1 - x / gmax, 0, None) ** p

    try:
        (dg0, gmax, p), _ = curve_fit(f, g, dg, p0=[max(dg.max(), 1e-9), gmax0, 1.0],
                                      bounds=([0, stair_S.max() * 0.5, 0.05], [np.inf, stair_S.max() * 10, 10]),
                                      maxfev=20000)
    except (RuntimeError, ValueError):
        dg0, gmax, p = float(np.mean(dg[: len(stair_S)])), gmax0, 1.0
    resid = dg - f(g, dg0, gmax, p)
    return {"form": "dg0*(1-G/gmax)^p", "dg0_S": float(dg0), "gmax_S": float(gmax), "p": float(p),
            "rms_residual_S": float(np.sqrt(np.mean(resid**2)))}


def fit_drift(t_s: np.ndarray, g_S: np.ndarray, t0_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-device drift fit log G = log G₀ − ν·log(t/t₀); g_S (n, n_t) → (ν (n,), G₀ (n,) in S)."""
    x = np.log(np.asarray(t_s) / t0_s)
    y = np.log(np.clip(g_S, 1e-30, None))
    xm = x - x.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ xm / (xm @ xm)
    g0 = np.exp(y.mean(axis=1) - slope * x.mean())
    return -slope, g0
