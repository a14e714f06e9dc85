"""Corrections of the array model's reads that the validation found necessary (proposed for pycosim.array).

The array model reads W = scale·[F·(G⁺ − G⁻) + pol·(g − g_shared)] with the PCM conductances of the
bundle (read at the PCM benches' 0.2 V) and ideal integrators. Against SPICE two effects dominate the
read error (docs/validation.md); both are computed here from the crossbar's state and the bundle only,
so they can move into :mod:`pycosim.array` unchanged:

1. **PCM read voltage.** The crossbar reads at V_read = lsp.read_v_V (0.1 V), the PCM benches at
   0.2 V. The device's I/V depends on V (the amorphous path's sinh term and read self-heating through
   the crystal's activation energy), so

       G(V_read) = ρ(G)·G,   ρ(G) = g_s(V_read)/g_s(0.2 V) interpolated linearly in G between the states s
                              of pcm/read_g_S (mean I/V of five crystalline fractions, read at pcm/read_v_V)

2. **Integrator virtual-ground lag.** A single-pole op-amp (gain-bandwidth GBW) holding a line at
   virtual ground while it integrates a current I lags by V_in = I/(C_int·2π·GBW) (netlists/integrator.lib;
   Johns & Martin, *Analog Integrated Circuit Design*, ch. 5). Every device on the line then sees
   V_read − V_in, so a line of effective conductance G_L(t) = Σ_k F_k·G_k(t) (F_k = F for the mirrored PCM,
   1 for the 3T1C and reference FETs; the sum over the devices whose row pulse is still on at t) collects

       Q = V_read·∫ G_L(t) / (1 + G_L(t)/(C_int·2π·GBW)) dt        (quasi-static: the op-amp settles in ~0.2 ns)

   With PWM pulses that all start together, G_L(t) is piecewise constant between the sorted pulse ends,
   so Q is a sum over the R segments — the cost of one sort per input and one cumulative sum per line.
   The relative loss of a differential read is about (G_L⁺ + G_L⁻)/(C_int·2π·GBW): it grows with the
   number of rows and with the common-mode (not the differential) conductance.
"""

from __future__ import annotations

import numpy as np

from pycosim.devices import require_table


def pcm_read_ratio(bundle, G_S, v_read_V: float) -> np.ndarray:
    """ρ(G) = G(V_read)/G(0.2 V) of PCM devices with bundle conductance G (S) (module docstring, 1)."""
    v = require_table(bundle, "pcm/read_v_V", "PCM read-voltage correction")
    g = require_table(bundle, "pcm/read_g_S", "PCM read-voltage correction")
    v_bench = float(bundle.scalars["pcm"]["read_v_V"])
    at = lambda vv: np.array([np.interp(vv, v, row) for row in g])  # noqa: E731  (per state)
    g_bench, g_read = at(v_bench), at(v_read_V)
    order = np.argsort(g_bench)
    return np.interp(np.asarray(G_S, float), g_bench[order], (g_read / g_bench)[order])


def line_conductances(xb, G_read: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Effective conductances (S) of every synapse on its p and n line, ((R, C), (R, C)):
    F·G⁺ + [g if pol > 0 else g_shared] and F·G⁻ + [g_shared if pol > 0 else g]; G_read: (2, R, C) PCM
    conductances at the read voltage."""
    F = float(xb.cfg.F)
    pos = xb.pol[None, :] > 0
    g, gs = xb.g.astype(float), np.broadcast_to(xb.g_shared.astype(float), xb.shape)
    return F * G_read[0] + np.where(pos, g, gs), F * G_read[1] + np.where(pos, gs, g)


def lagged_charge(t_s: np.ndarray, G_line: np.ndarray, c_omega_S: float) -> np.ndarray:
    """Q/V_read (S·s) of lines whose devices (axis 0) carry pulses of durations t_s (n_dev,) starting together:
    Σ_segments Δt·G_L/(1 + G_L/c_omega_S) with G_L the conductance of the devices still on (module docstring, 2).
    G_line: (n_dev, n_lines). Returns (n_lines,)."""
    order = np.argsort(-np.asarray(t_s, float), kind="stable")
    t = np.asarray(t_s, float)[order]
    GL = np.cumsum(G_line[order], axis=0)                           # devices on during segment k: the k+1 longest
    dt = t - np.append(t[1:], 0.0)                                  # length of segment k
    return (dt[:, None] * GL / (1.0 + GL / c_omega_S)).sum(axis=0)


def corrected_reads(xb, bundle, x: np.ndarray, d: np.ndarray, *, cint_F: float, gbw_Hz: float,
                    read_ratio: bool = True, lag: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Forward (N, C) and transposed (N, R) reads of *xb* (network units) with the corrections of the module
    docstring applied to the noise-free analog result (inputs on the PWM grid; signed inputs as the
    difference of a positive and a negative phase, as the periphery does)."""
    P = np.asarray(xb.Pe, float)
    G_read = P * pcm_read_ratio(bundle, P, xb.read_v_V) if read_ratio else P
    Gp, Gn = line_conductances(xb, G_read)
    c_omega = cint_F * 2 * np.pi * gbw_Hz if lag else np.inf
    s = float(xb.scale)

    def phase_charge(t, Gdev_p, Gdev_n):         # (n_dev,) durations, (n_dev, n_lines) conductances per line side
        return lagged_charge(t, Gdev_p, c_omega) - lagged_charge(t, Gdev_n, c_omega)

    yf = np.empty((len(x), xb.n_out))
    for k, u in enumerate(x):
        q = phase_charge(np.clip(u, 0, None), Gp, Gn) - phase_charge(np.clip(-u, 0, None), Gp, Gn)
        yf[k] = s * q
    yb = np.empty((len(d), xb.n_in))
    for k, u in enumerate(d):
        m = float(np.abs(u).max()) or 1.0
        up, un = np.clip(u / m, 0, None), np.clip(-u / m, 0, None)
        # rows integrate; phase A: colp lines for u > 0 and coln lines for u < 0, phase B the other lines
        tA, tB = np.concatenate([up, un]), np.concatenate([un, up])
        Gd = np.concatenate([Gp.T, Gn.T])             # (2C, R): device on line (side, j) for row i
        qA = lagged_charge(tA, Gd, c_omega)
        qB = lagged_charge(tB, Gd, c_omega)
        yb[k] = s * m * (qA - qB)
    return yf, yb
