"""Peripheral current-integrator characterisation: bench runs → transfer table and scalars.

Bench ``integrator_transfer``: a constant current into the virtual-ground input after the reset
opens, so the input charge Q(t) = ∫ I_in dt grows linearly through the linear range into the
rail. Run with positive and negative current (both rails), over Monte Carlo instances (op-amp
offset and C_int spread).

Extracted: V_out = offset + gain·Q on the linear range (gain ≈ −1/C_int, Ambrogio et al.,
Nature 2018, Methods: column currents integrated on a capacitor), the charge where the
deviation from that line exceeds 1 % of the rail-to-rail swing (end of the linear range), the
rails, and the energy per read.

Energy per read: the op-amp is behavioural (no supply current in the netlist), so the energy is
estimated from the physics of any integrator with a supply V_DD: swinging the output by ΔV on
C_int draws charge C_int·ΔV from the supply, E_read = C_int·ΔV_fs·V_DD with ΔV_fs the
full-scale (linear-range) swing. This is stated in the bundle as ``e_read_model``.
"""

from __future__ import annotations

import numpy as np

BENCHES = ("integrator_transfer",)
N_INSTANCES = 8
CURRENT_A = 1e-6


def jobs(mc: int, seed: int) -> dict[str, list[dict]]:
    """Runs: N_INSTANCES seeds × (positive, negative) input current."""
    return {"integrator_transfer": [{"seed": seed + k, "params": {"iamp": sgn * CURRENT_A},
                                     "keep": ("out", "vq#branch")}
                                    for sgn in (1.0, -1.0) for k in range(N_INSTANCES)]}


def transfer_curve(res) -> tuple[np.ndarray, np.ndarray]:
    """(Q_in in C, V_out in V) from one transient: Q(t) = ∫_{t_start} I_in dt (trapezoid)."""
    t = np.real(res.axis)
    tstart = float(res.meta["all_params"]["tstart"])
    i_in = np.real(res.i("vq"))
    v = np.real(res.v("out"))
    m = t >= tstart
    t, i_in, v = t[m], i_in[m], v[m]
    q = np.concatenate([[0.0], np.cumsum(0.5 * (i_in[1:] + i_in[:-1]) * np.diff(t))])
    return q, v


def linear_fit(q: np.ndarray, v: np.ndarray, v_lo: float, v_hi: float) -> tuple[float, float, float, float]:
    """Fit V = offset + gain·Q inside the central 10–90 % of the rails; return
    (gain V/C, offset V, |Q| end of linear range in C, max relative error on the fitted span)."""
    span = v_hi - v_lo
    inside = (v > v_lo + 0.1 * span) & (v < v_hi - 0.1 * span)
    gain, offset = np.polyfit(q[inside], v[inside], 1)
    err = np.abs(v - (offset + gain * q)) / span
    bad = np.nonzero(err > 0.01)[0]
    bad = bad[np.abs(q[bad]) > 0]
    q_lin = float(np.abs(q[bad[0]])) if bad.size else float(np.abs(q).max())
    return float(gain), float(offset), q_lin, float(err[inside].max())


def extract(runs: dict[str, list]) -> tuple[dict, dict]:
    """Scalars and tables (``integrator/…``) from the transfer runs."""
    res = runs["integrator_transfer"]
    pos = [r for r in res if r.meta["params"]["iamp"] > 0]
    neg = [r for r in res if r.meta["params"]["iamp"] < 0]
    p0 = pos[0].meta["all_params"]
    v_lo = min(float(np.min(r.v("out"))) for r in pos)
    v_hi = max(float(np.max(r.v("out"))) for r in neg)
    fits = np.array([linear_fit(*transfer_curve(r), v_lo, v_hi) for r in pos + neg])
    gains, offsets = fits[:, 0], fits[:, 1]
    q_pos, v_pos = transfer_curve(pos[0])
    q_neg, v_neg = transfer_curve(neg[0])
    q = np.concatenate([q_neg[::-1], q_pos[1:]])
    v = np.concatenate([v_neg[::-1], v_pos[1:]])
    order = np.argsort(q)
    q_lin = float(np.min(fits[:, 2]))
    cint = -1.0 / float(np.mean(gains))
    vdd = float(p0["vdd"])
    swing = min(q_lin / cint, v_hi - v_lo)
    scalars = {
        "gain_V_per_C": float(np.mean(gains)),
        "gain_std_V_per_C": float(np.std(gains)),
        "cint_F": cint,
        "offset_V": float(np.mean(offsets)),
        "offset_std_V": float(np.std(offsets)),
        "q_linear_max_C": q_lin,
        "v_sat_lo_V": v_lo,
        "v_sat_hi_V": v_hi,
        "linearity_error": float(np.max(fits[:, 3])),
        "e_read_J": cint * swing * vdd,
        "e_read_model": f"C_int * full-scale swing * V_DD (behavioural op-amp, V_DD = {vdd} V)",
        "a0": float(p0["a0"]),
        "gbw_Hz": float(p0["gbw"]),
    }
    tables = {"q_in_C": q[order], "v_out_V": v[order], "gain_V_per_C": gains, "offset_V": offsets}
    return scalars, tables
