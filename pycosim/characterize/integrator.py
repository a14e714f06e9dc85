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

Bench ``integrator_noise`` (noise sources on, ``noise=1`` of ``netlists/integrator.lib``): the reset
closes and opens ``ncyc`` times in one transient; after each opening a small constant column
current (conductance ``gcol`` biased at ``vread``) is integrated for ``t_int``. Over
N_NOISE_INSTANCES seeds × ``ncyc`` reads, per read (deviations from the instance's mean, so the
per-instance offset is not counted as noise):

* ``ktc_noise_V``: σ of the capacitor voltage V(in) − V(out) 1 ns after the reset opens, i.e. the
  kT/C charge the reset switch's thermal noise leaves on C_int (expected √(kT/C_int));
* ``noise_in_rms_V``: σ of the op-amp's input-referred noise averaged over the integration window,
  ē_n = (1/t_int)∫(V(in) − mean) dt (expected e_n/√(2·t_int), e_n white). A column of total
  conductance G turns it into an output error G·t_int/C_int·ē_n;
* ``noise_opamp_out_V``: σ of V(in) at the read instant: the op-amp noise that reaches the output
  directly through the closed loop (bandwidth ≈ GBW);
* ``noise_out_rms_V``: σ of V_out at the read instant, everything included:
  σ_out² ≈ ktc² + opamp_out² + (G·t_int/C_int)²·noise_in².

``offset_source`` says where the 1 mV σ of the op-amp offset comes from (OFFSET_SOURCE).
"""

from __future__ import annotations

import numpy as np

from pycosim.spice.netlist import spice_number

BENCHES = ("integrator_transfer", "integrator_noise")
N_INSTANCES = 8
CURRENT_A = 1e-6
N_NOISE_INSTANCES = 4          # seeds of the noise bench (× ncyc = 25 reads each = 100 reads)
K_BOLTZMANN = 1.380649e-23     # J/K
KTC_DELAY_S = 1e-9             # V_C sampled this long after the reset opens
# σ(V_os) = 1 mV: Pelgrom estimate of the op-amp input stage, see netlists/integrator.lib (MISMATCH)
OFFSET_SOURCE = ("Pelgrom estimate (Pelgrom et al., IEEE JSSC 24, 1433 (1989)) with the A_VT of "
                 "netlists/cmos.lib (3.5 mV*um NMOS, 3.0 mV*um PMOS, per device) for an OTA input "
                 "stage: NMOS pair W/L = 28u/1u, PMOS mirror 14u/2u, gm_load/gm_in = 0.5 -> 1.02 mV; "
                 "offset_std_V is the spread of the fitted offsets of N_INSTANCES = 8 instances")


def jobs(mc: int, seed: int) -> dict[str, list[dict]]:
    """Runs: N_INSTANCES seeds × (positive, negative) input current; N_NOISE_INSTANCES noise runs."""
    return {"integrator_transfer": [{"seed": seed + k, "params": {"iamp": sgn * CURRENT_A},
                                     "keep": ("out", "vq#branch")}
                                    for sgn in (1.0, -1.0) for k in range(N_INSTANCES)],
            "integrator_noise": [{"seed": seed + k, "keep": ("out", "in")} for k in range(N_NOISE_INSTANCES)]}


def _param(all_params: dict, name: str) -> float:
    value = spice_number(all_params[name])
    if value is None:
        raise ValueError(f"integrator_noise: parameter {name}={all_params[name]!r} is not a number")
    return value


def noise_reads(res) -> dict[str, np.ndarray]:
    """The ``ncyc`` reads of one ``integrator_noise`` transient (each array has shape (ncyc,)).

    Returns ``vc0_V`` (V(in) − V(out) 1 ns after the reset opens), ``ebar_V`` (mean of V(in) over
    the window), ``vin_read_V`` (V(in) at the read instant) and ``vout_read_V`` (V(out) at the read
    instant); the read of cycle k is at t_open_k + t_int, t_open_k = t_rst + 0.05 ns + k·tper.
    """
    p = res.meta["all_params"]
    t_int, t_rst, ncyc = _param(p, "t_int"), _param(p, "t_rst"), int(round(_param(p, "ncyc")))
    tper = spice_number(p["tper"]) or (t_rst + t_int + 1.2e-9)
    t = np.real(res.axis)
    v_in, v_out = np.real(res.v("in")), np.real(res.v("out"))
    t_open = t_rst + 0.05e-9 + tper * np.arange(ncyc)

    def at(v, times):
        return v[np.clip(np.searchsorted(t, times - 1e-15), 0, len(t) - 1)]

    vc0 = at(v_in, t_open + KTC_DELAY_S) - at(v_out, t_open + KTC_DELAY_S)
    ebar = np.empty(ncyc)
    for k, a in enumerate(t_open):
        m = (t >= a) & (t <= a + t_int)
        ebar[k] = np.trapezoid(v_in[m], t[m]) / (t[m][-1] - t[m][0])
    return {"vc0_V": vc0, "ebar_V": ebar, "vin_read_V": at(v_in, t_open + t_int),
            "vout_read_V": at(v_out, t_open + t_int)}


def pooled_std(groups: list[np.ndarray]) -> float:
    """σ of the deviations from each group's own mean (pooled, ddof = 1 per group)."""
    ss = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups)
    return float(np.sqrt(ss / sum(len(g) - 1 for g in groups)))


def extract_noise(res: list) -> dict:
    """Noise scalars (see the module docstring) from the ``integrator_noise`` runs."""
    reads = [noise_reads(r) for r in res]
    p = res[0].meta["all_params"]
    cint, t_int, gcol = _param(p, "cint"), _param(p, "t_int"), _param(p, "gcol")
    tk = 300.15  # K, the library's default noise temperature (tk of netlists/integrator.lib)
    return {
        "ktc_noise_V": pooled_std([r["vc0_V"] for r in reads]),
        "noise_in_rms_V": pooled_std([r["ebar_V"] for r in reads]),
        "noise_opamp_out_V": pooled_std([r["vin_read_V"] for r in reads]),
        "noise_out_rms_V": pooled_std([r["vout_read_V"] for r in reads]),
        "t_int_s": t_int,
        "noise_cint_F": cint,
        "noise_gcol_S": gcol,
        "noise_reads": int(sum(len(r["vc0_V"]) for r in reads)),
        "noise_en_V_per_rtHz": _param(p, "en"),
        "ktc_analytic_V": float(np.sqrt(K_BOLTZMANN * tk / cint)),
        "noise_in_analytic_white_V": float(_param(p, "en") / np.sqrt(2 * t_int)),
    }


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
    noise = extract_noise(runs["integrator_noise"]) if runs.get("integrator_noise") else {}
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
        "offset_source": OFFSET_SOURCE,
        **noise,
    }
    tables = {"q_in_C": q[order], "v_out_V": v[order], "gain_V_per_C": gains, "offset_V": offsets}
    return scalars, tables
