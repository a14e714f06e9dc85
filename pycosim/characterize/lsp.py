"""3T1C (least-significant pair) characterisation: bench runs → tables.

Benches (``circuits/``): ``lsp_up_down`` (K up then K down pulses, read after each),
``lsp_read_gv`` (g versus V_C), ``lsp_retention`` (all FETs off, held at several V_C).
Extracted (Ambrogio et al., Nature 558, 60 (2018), Extended Data Figs. 9–10):

* g(V_C) per Monte Carlo instance and its mismatch spread;
* ΔV_C per up pulse and per down pulse as functions of V_C, per instance
  (ΔV_j = V_C(t_j) − V_C(t_{j−1}) attributed to V_C(t_{j−1}), interpolated onto a grid);
* leakage dV_C/dt at several V_C with every programming FET off;
* energy per up/down pulse E = Σ_sources ∫ −V·I dt over the programming phase / K
  (read-drain source excluded: read energy is the integrator's and the array's business).
"""

from __future__ import annotations

import numpy as np

from pycosim.characterize.common import energy_J, finite_mean, sample_at

BENCHES = ("lsp_up_down", "lsp_read_gv", "lsp_retention")
#: V_C values (V) at which leakage is measured by ``lsp_retention``.
LEAK_VC_V = (0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.1)
#: Sources that program the cell (their energy counts as programming energy).
PROGRAMMING_SOURCES = ("vsup", "vup", "vdn")


def jobs(mc: int, seed: int) -> dict[str, list[dict]]:
    """Runs needed: *mc* instances of each bench (seeds seed..seed+mc−1); retention at each
    :data:`LEAK_VC_V` for every instance."""
    seeds = range(seed, seed + mc)
    ud_keep = ("vc", "g_us", "vdd", "upb", "dn", "d") + tuple(f"{s}#branch" for s in PROGRAMMING_SOURCES)
    return {
        "lsp_up_down": [{"seed": s, "keep": ud_keep} for s in seeds],
        "lsp_read_gv": [{"seed": s, "keep": ("g_us", "gref_us")} for s in seeds],
        "lsp_retention": [{"seed": s, "params": {"vc0": v}, "keep": ("vc",)} for v in LEAK_VC_V for s in seeds],
    }


def _param(res, name: str, default: float) -> float:
    return float(res.meta.get("all_params", {}).get(name, default))


def updown_traces(results, k: int, tper_s: float) -> tuple[np.ndarray, np.ndarray]:
    """V_C (V) and g (S) after each pulse, shape (n_instances, 2k+1) each, sampled at t_j = j·tper."""
    t = np.arange(2 * k + 1) * tper_s
    vc = np.stack([sample_at(r.axis, r.v("vc"), t) for r in results])
    g = np.stack([sample_at(r.axis, r.v("g_us"), t) for r in results]) * 1e-6
    return vc, g


def steps_on_grid(vc: np.ndarray, grid: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """ΔV_C per up and per down pulse versus V_C before the pulse, interpolated onto *grid*.

    vc: (n, 2k+1) V_C after each pulse (first k up, next k down). Returns two (n, len(grid))
    arrays, NaN outside the V_C range each instance visited.
    """
    out = []
    for lo, hi in ((0, k), (k, 2 * k)):
        before, step = vc[:, lo:hi], np.diff(vc[:, lo:hi + 1], axis=1)
        table = np.full((len(vc), len(grid)), np.nan)
        for i in range(len(vc)):  # loop over Monte Carlo instances (not devices in a hot path)
            order = np.argsort(before[i])
            x, y = before[i][order], step[i][order]
            inside = (grid >= x[0]) & (grid <= x[-1])
            table[i, inside] = np.interp(grid[inside], x, y)
        out.append(table)
    return out[0], out[1]


def _leak_target(vc: np.ndarray, rate: np.ndarray) -> float:
    """V_C where the mean leakage rate crosses zero (the level the cell relaxes toward);
    linear extrapolation from the nearest two points when it does not cross inside the grid."""
    cross = np.nonzero(np.diff(np.sign(rate)) != 0)[0]
    j = int(cross[0]) if cross.size else (len(vc) - 2 if rate[-1] > 0 else 0)
    slope = (rate[j + 1] - rate[j]) / (vc[j + 1] - vc[j])
    return float(vc[j] - rate[j] / slope) if slope != 0 else float("nan")


def extract(runs: dict[str, list]) -> tuple[dict, dict]:
    """Scalars (SI units in names) and tables (``lsp/…``) from the 3T1C bench results."""
    ud = runs["lsp_up_down"]
    k = int(_param(ud[0], "k", 30))
    tper = _param(ud[0], "tper", 100e-9)
    vc, g = updown_traces(ud, k, tper)

    gv = runs["lsp_read_gv"]
    grid = np.asarray(gv[0].axis, dtype=np.float64)
    g_of_vc = np.stack([np.interp(grid, r.axis, r.v("g_us")) for r in gv]) * 1e-6

    dv_up, dv_dn = steps_on_grid(vc, grid, k)
    step_up = np.diff(vc[:, : k + 1], axis=1)
    step_dn = np.diff(vc[:, k:], axis=1)

    ret = runs["lsp_retention"]
    leak_vc = np.asarray(LEAK_VC_V)
    by_v = {v: [r for r in ret if abs(_param(r, "vc0", 0.5) - v) < 1e-12] for v in LEAK_VC_V}
    n_leak = min(len(v) for v in by_v.values())
    leak = np.stack([[r.meas["dvdt"] for r in by_v[v][:n_leak]] for v in LEAK_VC_V], axis=1)  # (n, n_v)
    mean_leak = np.nanmean(leak, axis=0)
    target = _leak_target(leak_vc, mean_leak)

    e_up = np.array([energy_J(r, PROGRAMMING_SOURCES, 0.0, k * tper) for r in ud]) / k
    e_dn = np.array([energy_J(r, PROGRAMMING_SOURCES, k * tper, 2 * k * tper) for r in ud]) / k
    up_mean, dn_mean = float(np.mean(step_up)), float(np.mean(step_dn))
    vc0 = _param(ud[0], "vc0", 0.5)
    scalars = {
        "vc_init_V": vc0,
        "pulses_per_direction": k,
        "pulse_width_s": _param(ud[0], "tpw", 10e-9),
        "cs_F": _param(ud[0], "cs", 30e-15),
        "read_v_V": _param(gv[0], "vread", 0.1),
        "dv_up_mean_V": up_mean,
        "dv_down_mean_V": dn_mean,
        "dv_up_std_V": float(np.std(step_up.mean(axis=1))),
        "dv_down_std_V": float(np.std(step_dn.mean(axis=1))),
        "dv_up_cv": float(np.std(step_up.mean(axis=1)) / abs(up_mean)),
        "dv_down_cv": float(np.std(step_dn.mean(axis=1)) / abs(dn_mean)),
        "up_down_ratio": float(abs(up_mean / dn_mean)),
        "g_at_init_S": float(np.mean(g[:, 0])),
        "g_min_S": float(np.min(g_of_vc.mean(0))),
        "g_max_S": float(np.max(g_of_vc.mean(0))),
        "dg_dvc_at_init_S_per_V": float(np.mean(np.gradient(g_of_vc, grid, axis=1)[:, np.argmin(abs(grid - vc0))])),
        "g_shared_S": finite_mean([r.meas.get("gref", np.nan) for r in gv]) * 1e-6,
        "leak_dvdt_at_init_V_per_s": float(np.interp(vc0, leak_vc, mean_leak)),
        "leak_target_V": target,
        "retention_hold_s": _param(ret[0], "thold", 1e-3),
        "e_up_J": float(np.mean(e_up)),
        "e_down_J": float(np.mean(e_dn)),
    }
    tables = {
        "vc_grid_V": grid,
        "g_of_vc_S": g_of_vc,
        "dv_up_V": dv_up,
        "dv_down_V": dv_dn,
        "updown_g_S": g,
        "updown_vc_V": vc,
        "leak_vc_V": leak_vc,
        "leak_dvdt_V_per_s": leak,
        "e_up_J": e_up,
        "e_down_J": e_dn,
    }
    return scalars, tables
