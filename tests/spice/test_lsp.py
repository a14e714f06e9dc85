"""3T1C lower-significance cell (netlists/lsp_3t1c.lib) and its 90 nm devices (netlists/cmos.lib).

Physics checked with the real ngspice (Ambrogio et al., Nature 558, 60-67 (2018), 3T1C cell):

* the generic 90 nm BSIM4 cards give sensible Vth, Ion and subthreshold swing;
* an up pulse adds, a down pulse removes a near-constant charge on C:
  dV_up = I_P*t_pw/C_tot, dV_dn = -I_N*t_pw/C_tot, so g = I_D/V_DS of the read FET rises/falls
  linearly with the pulse count (R^2 >= 0.99 over the central range);
* with every FET off, V_C drifts through the FETs' own off-state currents
  (C_tot dV_C/dt = I_P,off - I_N,off - I_G,read): for the nominal cell, upwards from 0.5 V towards
  an equilibrium near 0.8 V (as in the published design, Extended Data Figs. 9-10);
* Monte Carlo instances (per-FET Pelgrom mismatch) give different steps; the same seed repeats.
"""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.spice import run, run_many

UP_DOWN = "circuits/lsp_up_down.cir"
RETENTION = "circuits/lsp_retention.cir"
READ_GV = "circuits/lsp_read_gv.cir"
K, TPER = 30, 100e-9  # bench defaults of lsp_up_down.cir (pulses per direction, period in s)


def _r2(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(R^2, slope) of the least-squares line y = a*x + b."""
    a, b = np.polyfit(x, y, 1)
    res = y - (a * x + b)
    return 1.0 - float(np.sum(res**2) / np.sum((y - y.mean()) ** 2)), float(a)


def _per_pulse(res) -> tuple[np.ndarray, np.ndarray]:
    """V_C (V) and g (uS) after j = 0..2K pulses: the waveforms sampled at t = j*tper."""
    tj = np.arange(2 * K + 1) * TPER
    return np.interp(tj, res.axis, res.v("vc")), np.interp(tj, res.axis, res.v("g_us"))


IDVG = """Id-Vg of the generic 90 nm core devices, W/L = 1u/0.1u
.include netlists/cmos.lib
vgs g 0 0
vdl dl 0 0.05
vdh dh 0 1.2
vnl sl 0 0
vnh sh 0 0
m1 dl g sl 0 nch w=1u l=0.1u
m2 dh g sh 0 nch w=1u l=0.1u
vpl pdl 0 -0.05
vph pdh 0 -1.2
vql psl 0 0
vqh psh 0 0
bgp gp 0 v={-v(g)}
m3 pdl gp psl 0 pch w=1u l=0.1u
m4 pdh gp psh 0 pch w=1u l=0.1u
.dc vgs 0 1.2 5m
.end
"""


def test_cmos_idvg():
    """Core nch/pch: Vth (constant current 100 nA*W/L at |Vds| = 50 mV), Ion at 1.2 V, swing."""
    res = run(IDVG)
    vg = res.axis
    for name, lo, hi in (("n", "vnl", "vnh"), ("p", "vql", "vqh")):
        sign = 1.0 if name == "n" else -1.0
        i_lin = sign * res.i(lo)  # source current of the device = drain current (A)
        i_sat = sign * res.i(hi)
        vth = float(np.interp(1e-6, i_lin, vg))          # i_lin increases with |Vgs|
        ion_ua_um = float(i_sat[-1]) * 1e6                # W = 1 um: A -> uA/um
        a, b = np.interp([0.15, 0.25], vg, i_lin)
        ss = 0.1 / np.log10(b / a) * 1e3                  # mV/dec
        print(f"{name}MOS: Vth_lin={vth:.3f} V  Ion={ion_ua_um:.0f} uA/um  SS={ss:.1f} mV/dec")
        assert 0.30 <= vth <= 0.46
        assert (400 if name == "n" else 150) <= ion_ua_um <= (900 if name == "n" else 400)
        assert 75 <= ss <= 105


def test_up_down_pulses_linear_nominal():
    """Nominal cell (mc=0): monotone, linear g versus pulse count; step sizes and their ratio."""
    res = run(UP_DOWN, params={"mc": 0})
    vc, g = _per_pulse(res)
    n = np.arange(2 * K + 1)
    dv = np.diff(vc)
    assert np.all(np.diff(g[: K + 1]) > 0), "g must rise with every up pulse"
    assert np.all(np.diff(g[K:]) < 0), "g must fall with every down pulse"
    dv_up, dv_dn = dv[:K].mean(), -dv[K:].mean()
    assert 5e-3 <= dv_up <= 20e-3 and 5e-3 <= dv_dn <= 20e-3
    # central range: pulses 5..25 of each direction (away from the turn-around)
    r2_up, s_up = _r2(n[5:K - 4], g[5:K - 4])
    r2_dn, s_dn = _r2(n[K + 5:2 * K - 4], g[K + 5:2 * K - 4])
    ratio = res.meas["ud_ratio"]
    print(f"dV/pulse up={dv_up*1e3:.2f} mV down={dv_dn*1e3:.2f} mV  up/down ratio={ratio:.3f}  "
          f"g {g.min():.2f}..{g.max():.2f} uS  dg/pulse up={s_up:.3f} down={s_dn:.3f} uS  "
          f"R2 up={r2_up:.5f} down={r2_dn:.5f}  step drift up {dv[0]*1e3:.2f}->{dv[K-1]*1e3:.2f} mV")
    assert r2_up >= 0.99 and r2_dn >= 0.99
    assert np.isfinite(ratio) and ratio > 0
    assert ratio == pytest.approx(dv_up / dv_dn, rel=0.05)  # .meas agrees with the sampled waveform
    assert res.meas["vc_0"] == pytest.approx(0.5, abs=1e-6)  # initial condition vc0 holds at t = 0


def test_retention_leakage_direction_nominal():
    """All FETs off, nominal cell: V_C rises from 0.5 V and falls from 1.0 V (equilibrium between,
    near 0.8 V) -- the drift emerges from the BSIM4 off-state currents only."""
    lo, hi = run_many([dict(netlist=RETENTION, params={"mc": 0, "vc0": 0.5}),
                       dict(netlist=RETENTION, params={"mc": 0, "vc0": 1.0})], workers=2)
    rate_lo, rate_hi = lo.meas["dvdt"], hi.meas["dvdt"]  # V/s over 1 ms (numerically = mV/ms)
    print(f"leakage (1 ms hold): from 0.5 V {rate_lo:+.1f} mV/ms, from 1.0 V {rate_hi:+.1f} mV/ms;"
          f" g {lo.meas['g_0']:.2f} -> {lo.meas['g_end']:.2f} uS")
    assert lo.meas["vc_end"] - lo.meas["vc_0"] > 5e-3          # measurable (> 5 mV) and UPWARD
    assert 5.0 <= rate_lo <= 200.0                              # 5..200 mV/ms
    assert rate_hi < -1.0                                       # from above the equilibrium: DOWNWARD
    assert lo.meas["g_end"] > lo.meas["g_0"]
    v = lo.v("vc")
    assert np.all(np.diff(v) >= -1e-9)                          # monotone drift


def test_mismatch_spread_and_reproducibility():
    """Monte Carlo (mc=1): per-pulse steps differ between seeds; the same seed repeats exactly."""
    seeds = list(range(1, 7))
    jobs = [dict(netlist=UP_DOWN, seed=s) for s in seeds] + [dict(netlist=UP_DOWN, seed=seeds[0])]
    res = run_many(jobs, workers=2, cache=False)
    up = np.array([r.meas["dv_up"] for r in res[:-1]])
    dn = np.array([r.meas["dv_dn"] for r in res[:-1]])
    ratio = up / dn
    print(f"MC {len(seeds)} seeds: dV_up = {up.mean()*1e3:.2f} +- {up.std()*1e3:.2f} mV, "
          f"dV_dn = {dn.mean()*1e3:.2f} +- {dn.std()*1e3:.2f} mV, up/down ratio {ratio.min():.2f}..{ratio.max():.2f}")
    assert np.all(np.isfinite(up)) and np.all(up > 0) and np.all(dn > 0)
    assert up.std() / up.mean() > 0.02 and dn.std() / dn.mean() > 0.02
    assert res[-1].meas == res[0].meas
    np.testing.assert_array_equal(res[-1].v("vc"), res[0].v("vc"))
    # leakage also varies from instance to instance (print only: its sign depends on the draw)
    ret = run_many([dict(netlist=RETENTION, seed=s) for s in seeds[:4]], workers=2, cache=False)
    rates = np.array([r.meas["dvdt"] for r in ret])  # V/s = mV/ms
    print("MC leakage rates (mV/ms):", np.round(rates, 1))
    assert np.ptp(rates) > 1.0


def test_read_characteristic_and_reference():
    """g(V_C): monotone, linear above threshold; g_shared = g at V_C = vref for the nominal cell."""
    res = run(READ_GV, params={"mc": 0})
    vc, g = res.axis, res.v("g_us")
    assert np.all(np.diff(g) > 0)
    sel = (vc >= 0.5) & (vc <= 0.9)
    r2, slope = _r2(vc[sel], g[sel])
    print(f"g(0.4/0.5/0.8 V) = {res.meas['g_lo']:.2f}/{res.meas['g_mid']:.2f}/{res.meas['g_hi']:.2f} uS; "
          f"slope {slope:.1f} uS/V, R2(0.5-0.9 V) = {r2:.4f}; g_shared = {res.meas['gref']:.2f} uS")
    assert r2 >= 0.99
    assert 1.0 <= res.meas["g_mid"] <= 30.0
    assert res.meas["gref"] == pytest.approx(res.meas["g_mid"], rel=1e-6)
    assert res.meas["vc_eq"] == pytest.approx(0.5, abs=2e-3)


OP_DECK = """3T1C operating point with a preset V_C
.option gmin=1e-15
.include netlists/cmos.lib
.include netlists/lsp_3t1c.lib
vsup vdd 0 1.2
vup upb 0 1.2
vdn dn 0 0
vrd d 0 0.1
xcell d 0 vc upb dn vdd 0 lsp_3t1c vc0=0.63 mc=0
.op
.end
"""


def test_initial_condition_holds_in_op_and_tran():
    """V_C = vc0 in an .op (DC-hold element active only at time 0) and at the start of a .tran."""
    op = run(OP_DECK)
    assert op.analysis == "op"
    assert float(op.v("vc")[0]) == pytest.approx(0.63, abs=1e-6)
    tr = run(RETENTION, params={"mc": 0, "vc0": 0.63, "thold": 1e-4})
    assert tr.meas["vc_0"] == pytest.approx(0.63, abs=1e-6)
    assert tr.meas["vc_end"] != pytest.approx(0.63, abs=1e-4)  # released after t = 0: it leaks
