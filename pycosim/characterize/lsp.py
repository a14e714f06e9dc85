"""3T1C (least-significant pair) characterisation: bench runs → tables.

Benches (``circuits/``, cell ``netlists/lsp_3t1c.lib``; Ambrogio et al., Nature 558, 60 (2018),
Fig. 2, Extended Data Figs. 9–10, Methods):

* ``lsp_up_down``   K up then K down pulses from vc0, read after each (per cell);
* ``lsp_read_gv``   g versus V_C (per cell) and the shared reference;
* ``lsp_steps``     one up and one down pulse from each point of a FIXED V_C grid, the cell reset to the
                    point through its transmission gate before each pulse (per cell) → ΔV tables without
                    gaps or selection bias;
* ``lsp_retention`` reset to each V_C of a grid, then hold with every FET off (per cell) → dV_C/dt(V_C);
* ``lsp_reset``     preset to several V_C, reset to the target line, gates off (per cell) → residual
                    offset, its spread, the turn-off charge-injection step, and the energy of one reset
                    (its supply, reset-line and gate-driver sources);
* ``lsp_c2c``       the nominal cell, K up + K down pulses with and without the programming FETs' shot
                    noise (seeded trrandom) → step-to-step σ of ONE cell (noisy − noiseless steps);
* ``lsp_read_noise`` nominal cells at four V_C with the read channel's thermal noise (seeded trrandom white noise) → relative
                    σ of one read integrated over t_int (:data:`pycosim.timing.T_INT_S`).

Monte Carlo: instance k of every per-cell bench runs with seed + k, and every bench instantiates the
cell before anything else that draws (the reference ``lsp_ref`` comes after it), so row k of every
per-cell table is the SAME cell. Extraction raises :class:`~pycosim.errors.CalibrationError` on
non-finite data instead of writing NaN.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from pycosim import timing
from pycosim.characterize.common import energy_J, finite_mean, sample_at
from pycosim.errors import CalibrationError

BENCHES = ("lsp_up_down", "lsp_read_gv", "lsp_steps", "lsp_retention", "lsp_reset", "lsp_c2c", "lsp_read_noise")
#: Leakage grid of ``lsp_retention`` in the characterisation: 0 … 1.2 V every 0.1 V (13 points).
LEAK_GRID = {"vlo": 0.0, "vstep": 0.1, "nv": 13}
#: Sources that program the cell (their energy counts as programming energy).
PROGRAMMING_SOURCES = ("vsup", "vvp", "vvn", "vup", "vdn")
#: Sources of ``lsp_reset`` that a transmission-gate reset draws its energy from, name → (+ node, − node): the
#: n-well supply, the two source lines (driven to the reset line) and the two gate drivers -- the same roles
#: as :data:`PROGRAMMING_SOURCES` in ``lsp_up_down``. The lines and gates are behavioural (B) sources, which the
#: run's ``source_nodes`` (independent V sources only) does not list, hence the nodes here (circuits/lsp_reset.cir).
RESET_SOURCES = {"vsup": ("vdd", "0"), "bvp": ("vp", "0"), "bvn": ("vn", "0"), "bup": ("upb", "0"), "bdn": ("dn", "0")}
#: Seed offset of the single-cell noise benches (lsp_c2c, lsp_read_noise).
NOISE_SEED_OFFSET = 0


def jobs(mc: int, seed: int) -> dict[str, list[dict]]:
    """Runs needed: *mc* instances (seeds seed..seed+mc−1) of each per-cell bench; the two noise benches
    once each on the nominal cell (lsp_c2c with noise on and off, same seed)."""
    seeds = range(seed, seed + mc)
    ud_keep = ("vc", "g_us", "vdd", "vp", "vn", "upb", "dn", "d") + tuple(f"{s}#branch" for s in PROGRAMMING_SOURCES)
    rst_keep = ("vc", "vdd", "vp", "vn", "upb", "dn") + tuple(f"{s}#branch" for s in RESET_SOURCES)
    return {
        "lsp_up_down": [{"seed": s, "keep": ud_keep} for s in seeds],
        "lsp_read_gv": [{"seed": s, "keep": ("g_us", "gref_us")} for s in seeds],
        "lsp_steps": [{"seed": s, "keep": ("vc",)} for s in seeds],
        "lsp_retention": [{"seed": s, "params": dict(LEAK_GRID), "keep": ("vc",)} for s in seeds],
        "lsp_reset": [{"seed": s, "keep": rst_keep} for s in seeds],
        "lsp_c2c": [{"seed": seed, "params": {"noise": n}, "keep": ("vc",)} for n in (1, 0)],
        "lsp_read_noise": [{"seed": seed, "keep": tuple(f"vcol{k}#branch" for k in range(1, 5))}],
    }


def _param(res, name: str, default: float | None = None) -> float:
    params = res.meta.get("all_params", {})
    if name not in params and default is None:
        raise CalibrationError(f"{res.meta.get('source', 'bench')}: parameter {name!r} not in the run metadata")
    return float(params.get(name, default))


def _finite(name: str, a) -> np.ndarray:
    """*a* as float64; CalibrationError naming the table if any entry is NaN or infinite."""
    arr = np.asarray(a, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        raise CalibrationError(f"lsp/{name}: {int(bad.sum())} non-finite entries (first at index {list(idx)}); "
                               "the bench output is broken -- not writing NaN into the bundle")
    return arr


def updown_traces(results, k: int, tper_s: float) -> tuple[np.ndarray, np.ndarray]:
    """V_C (V) and g (S) after each pulse, shape (n_instances, 2k+1) each, sampled at t_j = j·tper."""
    t = np.arange(2 * k + 1) * tper_s
    vc = np.stack([sample_at(r.axis, r.v("vc"), t) for r in results])
    g = np.stack([sample_at(r.axis, r.v("g_us"), t) for r in results]) * 1e-6
    return vc, g


def step_grid(results) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From ``lsp_steps`` runs: (grid (n_s,), ΔV_up (n, n_s), ΔV_down (n, n_s), V_C before the pulses
    (n, 2·n_s: up and down interleaved)). ΔV = V(after) − V(before) of one pulse started from the grid
    point (after the transmission-gate reset to it; the start differs from the grid point by the reset
    residual, a few mV)."""
    r0 = results[0]
    vlo, vstep, ns, tseg = (_param(r0, n) for n in ("vlo", "vstep", "ns", "tseg"))
    ns = int(round(ns))
    grid = vlo + vstep * np.arange(ns)
    m = np.arange(2 * ns)
    t_before = m * tseg + tseg / 2 + 40e-9
    t_after = m * tseg + tseg - 20e-9
    before = np.stack([sample_at(r.axis, r.v("vc"), t_before) for r in results])
    after = np.stack([sample_at(r.axis, r.v("vc"), t_after) for r in results])
    dv = after - before
    return grid, dv[:, 0::2], dv[:, 1::2], before


def leak_grid(results) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From ``lsp_retention`` grid runs: (grid (n_v,), dV_C/dt (n, n_v) in V/s, hold start V_C (n, n_v))."""
    r0 = results[0]
    vlo, vstep, nv, thold, tsettle = (_param(r0, n) for n in ("vlo", "vstep", "nv", "thold", "tsettle"))
    nv = int(round(nv))
    grid = vlo + vstep * np.arange(nv)
    i = np.arange(nv)
    t0, t1 = i * thold + tsettle, (i + 1) * thold - thold / 200
    v0 = np.stack([sample_at(r.axis, r.v("vc"), t0) for r in results])
    v1 = np.stack([sample_at(r.axis, r.v("vc"), t1) for r in results])
    return grid, (v1 - v0) / (t1 - t0), v0


def leak_targets(vc: np.ndarray, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell level the leakage relaxes toward: the first + → − zero crossing of dV_C/dt(V_C) on the
    grid (linear interpolation). A cell without such a crossing relaxes toward the grid edge its leak
    points to (returned clamped there, flagged in the second array)."""
    out = np.empty(len(rate))
    clamped = np.zeros(len(rate), dtype=bool)
    for i, r in enumerate(rate):  # loop over Monte Carlo cells (not a hot path)
        down = np.nonzero((r[:-1] > 0) & (r[1:] <= 0))[0]
        if down.size:
            j = int(down[0])
            out[i] = vc[j] + r[j] * (vc[j + 1] - vc[j]) / (r[j] - r[j + 1])
        else:
            out[i] = vc[-1] if np.all(r > 0) else vc[0] if np.all(r <= 0) else vc[int(np.argmin(np.abs(r)))]
            clamped[i] = True
    return out, clamped


def reset_table(results) -> dict[str, np.ndarray | float]:
    """From ``lsp_reset`` runs: start grid, V_C at the start, just before turn-off and final (n, n_st)."""
    r0 = results[0]
    vslo, vsstep, nst, tseg, trst, tedge, vt = (_param(r0, n) for n in
                                                ("vslo", "vsstep", "nst", "tseg", "trst", "tedge", "vtarget"))
    nst = int(round(nst))
    i = np.arange(nst)
    t_start = (2 * i + 1) * tseg + 4e-9
    t_on = (2 * i + 1) * tseg + 20e-9 + tedge + trst
    t_fin = (2 * i + 2) * tseg - 20e-9
    pick = lambda t: np.stack([sample_at(r.axis, r.v("vc"), t) for r in results])  # noqa: E731
    return {"vstart_grid": vslo + vsstep * i, "target": vt, "start": pick(t_start), "on": pick(t_on), "final": pick(t_fin)}


def reset_energy(results) -> np.ndarray:
    """Energy (J) of each reset of ``lsp_reset`` runs, shape (n, n_st): E = Σ_s ∫ −V_s·I_s dt of
    :data:`RESET_SOURCES` over the reset segment [(2i+1)·tseg, (2i+2)·tseg] of start state i (lines to the
    target, transmission gate on for trst, gates off, lines back to vdd / 0; idle at both ends, so the
    window is one complete reset). Signed like ``e_up_J``: a cell above the line returns charge to the
    ideal line source (negative energy). CalibrationError if a run lacks a source current."""
    r0 = results[0]
    tseg, nst = _param(r0, "tseg"), int(round(_param(r0, "nst")))
    i = np.arange(nst)
    out = []
    for r in results:
        lacking = [s for s in RESET_SOURCES if f"{s}#branch" not in r.vectors]
        if lacking:
            raise CalibrationError(f"lsp_reset: the run lacks the current(s) of {lacking}; keep "
                                   f"{[f'{s}#branch' for s in lacking]} and their nodes")
        view = SimpleNamespace(axis=r.axis, vectors=r.vectors, meta={"source_nodes": RESET_SOURCES})
        out.append(energy_J(view, tuple(RESET_SOURCES), (2 * i + 1) * tseg, (2 * i + 2) * tseg))
    return np.stack(out)


def c2c_sigma(results) -> tuple[float, float, float, float]:
    """(σ_up, σ_down, mean up, mean down) in V of individual steps of the nominal cell: σ of the noisy
    run's steps minus the noiseless run's steps (same cell, same pulses)."""
    by_noise = {int(round(_param(r, "noise"))): r for r in results}
    if set(by_noise) != {0, 1}:
        raise CalibrationError("lsp_c2c: need one run with noise=1 and one with noise=0")
    k, tper = int(round(_param(by_noise[1], "k"))), _param(by_noise[1], "tper")
    t = np.arange(2 * k + 1) * tper
    dn = np.diff(sample_at(by_noise[1].axis, by_noise[1].v("vc"), t))
    d0 = np.diff(sample_at(by_noise[0].axis, by_noise[0].v("vc"), t))
    diff = dn - d0
    return float(np.std(diff[:k], ddof=1)), float(np.std(diff[k:], ddof=1)), float(d0[:k].mean()), float(d0[k:].mean())


def read_noise(result) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(V_C (4,), relative σ of one read (4,), mean g (4,) in S, t_int) from ``lsp_read_noise``: the column
    charge Q_j = ∫ i dt over consecutive windows of t_int; relative σ = std(Q)/|mean(Q)|."""
    tint, nwin, vread = _param(result, "tint"), int(round(_param(result, "nwin"))), _param(result, "vread")
    t = np.real(np.asarray(result.axis))
    edges = np.arange(nwin + 1) * tint
    vc, rel, g = [], [], []
    for k in range(1, 5):
        i = np.real(np.asarray(result.i(f"vcol{k}")))
        cq = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))])
        q = np.diff(np.interp(edges, t, cq))
        vc.append(_param(result, f"vc{k}"))
        rel.append(np.std(q, ddof=1) / abs(np.mean(q)))
        g.append(abs(np.mean(q)) / (vread * tint))
    return np.array(vc), np.array(rel), np.array(g), tint


def extract(runs: dict[str, list], lib_params: dict | None = None) -> tuple[dict, dict]:
    """Scalars (SI units in names) and tables (``lsp/…``) from the 3T1C bench results (*lib_params*, the
    library overrides of the runs, is accepted for a uniform interface: no 3T1C quantity is read from a
    library file)."""
    missing = [b for b in BENCHES if not runs.get(b)]
    if missing:
        raise CalibrationError(f"3T1C extraction: no results for bench(es) {missing}")
    ud = runs["lsp_up_down"]
    k = int(round(_param(ud[0], "k", 30)))
    tper = _param(ud[0], "tper", 100e-9)
    vc, g = updown_traces(ud, k, tper)

    gv = runs["lsp_read_gv"]
    grid = np.asarray(gv[0].axis, dtype=np.float64)
    g_of_vc = np.stack([np.interp(grid, r.axis, r.v("g_us")) for r in gv]) * 1e-6

    step_vc, dv_up, dv_dn, _ = step_grid(runs["lsp_steps"])
    step_up = np.diff(vc[:, : k + 1], axis=1)
    step_dn = np.diff(vc[:, k:], axis=1)

    leak_vc, leak, _ = leak_grid(runs["lsp_retention"])
    targets, clamped = leak_targets(leak_vc, leak)
    mean_leak = leak.mean(axis=0)

    rs = reset_table(runs["lsp_reset"])
    err = rs["final"] - rs["target"]
    inj = rs["final"] - rs["on"]
    e_rst = _finite("e_reset_J", reset_energy(runs["lsp_reset"]))
    # slope of E versus the start: E ≈ E_0 + k·(V_target − V_start), k ≈ C_tot·V_target (line charge at V_target)
    e_slope = -float(np.polyfit(rs["start"].ravel(), e_rst.ravel(), 1)[0])
    e_at_target = float(np.mean([np.interp(rs["target"], st, e) for st, e in zip(rs["start"], e_rst)]))
    st_grid = rs["vstart_grid"]

    sig_up, sig_dn, c2c_up, c2c_dn = c2c_sigma(runs["lsp_c2c"])
    rn_vc, rn_rel, rn_g, t_int = read_noise(runs["lsp_read_noise"][0])

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
        "leak_target_V": float(np.median(targets)),
        "leak_target_clamped_fraction": float(np.mean(clamped)),
        "leak_dvdt_p99_abs_V_per_s": float(np.percentile(np.abs(leak), 99)),
        "retention_hold_s": _param(runs["lsp_retention"][0], "thold"),
        "e_up_J": float(np.mean(e_up)),
        "e_down_J": float(np.mean(e_dn)),
        "reset_target_V": float(rs["target"]),
        "reset_error_mean_V": float(np.mean(err)),
        "reset_error_std_V": float(np.std(err)),
        "reset_injection_V": float(np.mean(inj)),
        "e_reset_J": float(np.mean(e_rst)),
        "e_reset_std_J": float(np.std(e_rst)),
        "e_reset_at_target_J": e_at_target,
        "e_reset_slope_J_per_V": e_slope,
        "e_reset_model": (f"Σ∫−V·I dt of vsup, the source lines vp/vn and the gate drivers upb/dn over one "
                          f"transmission-gate reset to the {float(rs['target']):g} V line (circuits/lsp_reset.cir, "
                          f"lines switched, gates on {_param(runs['lsp_reset'][0], 'trst') * 1e9:g} ns, off, lines "
                          f"back; ideal sources, signed: charge returned to the line counts negative); mean over "
                          f"{len(st_grid)} start states V_C = {st_grid[0]:g} … {st_grid[-1]:g} V "
                          f"(step {st_grid[1] - st_grid[0]:g} V) × all cells; "
                          f"E ≈ e_reset_at_target_J + e_reset_slope_J_per_V·(V_target − V_start)"),
        "dv_up_c2c_sigma_V": sig_up,
        "dv_down_c2c_sigma_V": sig_dn,
        "read_noise_t_int_s": float(t_int),
        "t_example_s": timing.example_time_s(),
        "t_hold_transfer_s": timing.transfer_hold_s(),
    }
    tables = {
        "vc_grid_V": grid,
        "g_of_vc_S": g_of_vc,
        "step_vc_V": step_vc,
        "dv_up_V": dv_up,
        "dv_down_V": dv_dn,
        "updown_g_S": g,
        "updown_vc_V": vc,
        "leak_vc_V": leak_vc,
        "leak_dvdt_V_per_s": leak,
        "reset_vstart_V": rs["vstart_grid"],
        "reset_vfinal_V": rs["final"],
        "read_noise_vc_V": rn_vc,
        "read_noise_rel_sigma": rn_rel,
        "e_up_J": e_up,
        "e_down_J": e_dn,
        "e_reset_J": e_rst,
    }
    tables = {name: _finite(name, a) for name, a in tables.items()}
    for name, val in scalars.items():
        if not isinstance(val, str):
            _finite(name, val)
    if not (np.all(dv_up > 0) and np.all(dv_dn < 0)):
        raise CalibrationError("lsp/dv_up_V must be > 0 and lsp/dv_down_V < 0 at every grid point of every cell; "
                               f"got up min {dv_up.min():.3g} V, down max {dv_dn.max():.3g} V")
    return scalars, tables
