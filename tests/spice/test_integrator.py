"""Column current integrator (netlists/integrator.lib) with the real ngspice.

Physics checked (Ambrogio et al., Nature 558, 60-67 (2018): column currents integrated on a capacitor
while the rows carry pulse-width-encoded read pulses):

* transfer: V_out = V_ref - Q_in/C_int within 1 % over the linear range (both current polarities, two
  values of C_int), and V_out clipped at the rails (vlo for charge in, vhi for charge out) beyond it;
* pulse-width-encoded read of 4 rows: V_out(0) - V_out(end) = sum_i G_i*V_read*t_i / C_int within 1 %
  (the residual is the virtual-ground lag (I/C_int)/(2*pi*GBW), ~0.4 % at the bench defaults), and the
  output scales linearly with the pulse widths and with the conductances.
"""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.spice import run_many

TRANSFER = "circuits/integrator_transfer.cir"
PWM = "circuits/integrator_pwm.cir"
VREF, VLO, VHI = 0.6, 0.0, 1.2  # bench defaults (V)


def _charge(res) -> np.ndarray:
    """Input charge Q(t) (C): cumulative trapezoid integral of the input current i(vq)."""
    t, i = res.axis, res.i("vq")
    return np.concatenate(([0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))))


def test_transfer_linear_then_clipped():
    cases = [dict(iamp=1e-6, cint=1e-12, mc=0), dict(iamp=-1e-6, cint=1e-12, mc=0), dict(iamp=1e-6, cint=2e-12, mc=0)]
    # cint = 2p with 1 uA for 1 us: 0.5 V demanded, inside the 0.6 V headroom -> also run 1.6 us to clip
    cases[2]["tq"] = 1.6e-6
    results = run_many([dict(netlist=TRANSFER, params=p) for p in cases], workers=2)
    for p, res in zip(cases, results):
        cint, sign = p["cint"], np.sign(p["iamp"])
        q = _charge(res)
        vout = res.v("out")
        ideal = VREF - q / cint                          # V_out = V_ref - Q/C_int
        rail = VLO if sign > 0 else VHI
        headroom = abs(rail - VREF)                      # V of linear swing available
        dv = np.abs(q) / cint                            # demanded swing |Q|/C_int (V)
        lin = (dv > 0.05 * headroom) & (dv < 0.95 * headroom)
        rel = (VREF - vout[lin]) / (q[lin] / cint) - 1.0
        # slope of V_out versus Q over the linear range, in units of -1/C_int
        slope = -np.polyfit(q[lin], vout[lin], 1)[0] * cint
        sat = dv > 1.05 * headroom
        print(f"iamp={p['iamp']:+.0e} A cint={cint:.0e} F: linear-range max |error| = {np.abs(rel).max()*100:.4f} %"
              f" (slope*C_int = {slope:.5f}); clipped at {vout[sat].min():.4f}..{vout[sat].max():.4f} V"
              f" (rail {rail} V); virtual-ground error at 25 % = {res.meas['vg_q25']*1e3:+.3f} mV")
        assert lin.sum() > 100
        assert np.abs(rel).max() < 0.01
        assert slope == pytest.approx(1.0, abs=0.01)
        assert np.abs(vout[lin] - ideal[lin]).max() < 0.01 * headroom
        # beyond the headroom: clipped at the rail (clamp overshoot ~ gm*|V_in - V_ref|/gcl <= 1 mV)
        assert sat.sum() > 20
        assert np.abs(vout[sat] - rail).max() < 2e-3
        assert res.meas["q_tot"] == pytest.approx(p["iamp"] * p.get("tq", 1e-6), rel=1e-3)
        assert res.meas["v_0"] == pytest.approx(VREF, abs=1e-4)  # reset left V_out at V_ref
        # virtual-ground lag while integrating: (I/C_int)/(2*pi*GBW), GBW = 1 GHz
        assert res.meas["vg_q25"] == pytest.approx(p["iamp"] / cint / (2 * np.pi * 1e9), rel=0.1)


def test_pwm_read_sums_charge():
    g = np.array([5e-6, 10e-6, 15e-6, 20e-6])   # S, bench defaults
    t = np.array([20e-9, 40e-9, 60e-9, 80e-9])  # s
    vread, cint = 0.2, 2e-12
    cases = [
        {},                                                              # defaults
        {f"t{k+1}": float(0.5 * t[k]) for k in range(4)},                # every width halved
        {f"g{k+1}": float(g[::-1][k]) for k in range(4)},                # conductances reversed
        {"t1": 100e-9, "t2": 5e-9, "t3": 2e-9, "t4": 30e-9},             # unequal, short pulses
    ]
    cases = [dict(c, mc=0) for c in cases]                               # nominal op-amp (no offset)
    results = run_many([dict(netlist=PWM, params=p) for p in cases], workers=2)
    dv_exp = []
    for p, res in zip(cases, results):
        gi = np.array([p.get(f"g{k+1}", g[k]) for k in range(4)])
        ti = np.array([p.get(f"t{k+1}", t[k]) for k in range(4)])
        expected = float(gi @ ti) * vread / cint          # sum_i G_i V_read t_i / C_int  (V)
        dv = res.meas["v_0"] - res.meas["v_end"]
        err = dv / expected - 1.0
        print(f"PWM case {p}: dV = {dv*1e3:.3f} mV, expected {expected*1e3:.3f} mV, error {err*100:+.3f} %")
        assert res.meas["dv_exp"] == pytest.approx(expected, rel=1e-6)   # bench formula = Python formula
        assert abs(err) < 0.01
        # the charge that actually entered the input equals C_int * dV (the integrator itself is exact)
        assert res.meas["q_col"] == pytest.approx(cint * dv, rel=2e-3)
        dv_exp.append(dv)
    assert dv_exp[1] == pytest.approx(0.5 * dv_exp[0], rel=5e-3)  # linear in the pulse widths


def test_mismatch_offset_and_cint_spread_reproducible():
    """Monte Carlo (mc=1, default): op-amp offset V_os (sigma 1 mV) and C_int spread (sigma 0.1 %) differ
    between seeds; the same seed repeats exactly. The offset moves the virtual ground to V_ref + V_os
    (= V_out during reset), so the idle rows (at V_ref) leak -V_os*G_i and the pulsed ones see
    V_read - V_os: relative read error ~ -V_os * sum(G) * T / q_exp (T = 120 ns read window)."""
    seeds = [1, 2, 3, 4, 5, 6]
    res = run_many([dict(netlist=PWM, seed=s) for s in seeds] + [dict(netlist=PWM, seed=seeds[0])],
                   workers=2, cache=False)
    vos = np.array([r.meas["v_rst"] for r in res[:-1]]) - VREF     # V_os of each instance (V)
    err = np.array([r.meas["err_rel"] for r in res[:-1]])
    err_pred = -0.004 - vos * 50e-6 * 120e-9 / 0.6e-12              # lag (-0.4 %) + offset term
    print(f"MC {len(seeds)} seeds: V_os = {np.round(vos*1e3, 3)} mV; PWM read error {np.round(err*100, 3)} % "
          f"(predicted from V_os {np.round(err_pred*100, 3)} %)")
    assert res[-1].meas == res[0].meas
    np.testing.assert_array_equal(res[-1].v("out"), res[0].v("out"))
    assert len(np.unique(np.round(vos, 9))) == len(seeds)
    assert 0.2e-3 < vos.std() < 3e-3 and np.abs(vos).max() < 5e-3
    # residual = C_int spread (sigma 0.1 %) -> within 0.4 %
    np.testing.assert_allclose(err, err_pred, atol=0.004)
