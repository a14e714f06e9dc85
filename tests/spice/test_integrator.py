"""Column current integrator (netlists/integrator.lib) with the real ngspice.

Physics checked (Ambrogio et al., Nature 558, 60-67 (2018): column currents integrated on a capacitor
while the rows carry pulse-width-encoded read pulses):

* transfer: V_out = V_ref - Q_in/C_int within 1 % over the linear range (both current polarities, two
  values of C_int), and V_out clipped at the rails (vlo for charge in, vhi for charge out) beyond it;
* pulse-width-encoded read of 4 rows: V_out(0) - V_out(end) = sum_i G_i*V_read*t_i / C_int within 1 %
  (the residual is the virtual-ground lag (I/C_int)/(2*pi*GBW), ~0.4 % at the bench defaults), and the
  output scales linearly with the pulse widths and with the conductances.
* noise (circuits/integrator_noise.cir, noise=1): the kT/C noise the reset switch's thermal noise leaves
  on C_int is sqrt(kT/C_int) within 20 % (two capacitors), and the op-amp input-referred noise averaged
  over the window, its direct share of the output and the total output sigma of one read agree with the
  analytic sigma^2 = integral S(f)*|H(f)|^2 df within 25 % (100 reads each: statistical 1-sigma ~ 7 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.characterize.integrator import noise_reads, pooled_std
from pycosim.spice import run_many

TRANSFER = "circuits/integrator_transfer.cir"
PWM = "circuits/integrator_pwm.cir"
NOISE = "circuits/integrator_noise.cir"
KB, TK = 1.380649e-23, 300.15  # J/K; K (the library's noise temperature, ngspice default 27 C)
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


# --- noise --------------------------------------------------------------------------------------
# Sources (netlists/integrator.lib, noise=1): white Gaussian samples of sigma NA, new every tsn, held in
# between (ngspice TRRANDOM): one-sided density S(f) = 2*NA^2*tsn*sinc^2(f*tsn), NA = sqrt(S0/(2*tsn)).

TSN, RON = 0.1e-9, 1e3  # s, ohm: noise hold step and reset switch on-resistance (library defaults)


def _integral(fun, f_lo: float, f_hi: float = 1e12, n: int = 200_000) -> float:
    """integral of fun(f) df over [f_lo, f_hi] on a logarithmic grid (trapezoid)."""
    f = np.geomspace(f_lo, f_hi, n)
    return float(np.trapezoid(fun(f), f))


def _held_lowpass_std(s0: float, tau: float, phase: float, tsn: float = TSN) -> float:
    """Exact sigma of a held-sample white source (density s0, hold tsn) after a single pole tau, sampled
    a time *phase* after the last new sample: the value is a_0*(1 - x) + sum_k a_k*x*r^(k-1)*(1 - r),
    x = exp(-phase/tau), r = exp(-tsn/tau), so var = NA^2*((1 - x)^2 + x^2*(1 - r)/(1 + r))."""
    na2 = s0 / (2 * tsn)
    x, r = np.exp(-phase / tau), np.exp(-tsn / tau)
    return float(np.sqrt(na2 * ((1 - x) ** 2 + x**2 * (1 - r) / (1 + r))))


def _noise_runs(params: dict, seeds=(1, 2, 3, 4)):
    res = run_many([dict(netlist=NOISE, params=params, seed=s, keep=("out", "in")) for s in seeds], workers=2)
    return res, [noise_reads(r) for r in res]


def test_ktc_reset_noise():
    """Op-amp noise off (en=0), switch thermal noise (4kT*ron) on: when the reset opens, C_int keeps a
    charge of sigma sqrt(kT*C_int). Measured as V(in) - V(out) 1 ns after the opening and as V_out itself
    (= V_ref' - V_C, V_ref' constant per instance), 4 seeds x 25 reads, C_int = 1 pF and 4 pF (reset held
    40 ns = 10 ron*C_int for 4 pF)."""
    for cint, t_rst in ((1e-12, 10e-9), (4e-12, 40e-9)):
        res, reads = _noise_runs(dict(en=0, cint=cint, t_rst=t_rst))
        ideal = np.sqrt(KB * TK / cint)
        tau = RON * cint
        # integral 4kT*ron*sinc^2(f*tsn)/(1 + (2 pi f tau)^2) df  (phase average) ...
        ana = np.sqrt(_integral(lambda f: 4 * KB * TK * RON * np.sinc(f * TSN) ** 2 / (1 + (2 * np.pi * f * tau) ** 2), 1.0))
        # ... and exact for the phase at which the switch opens (mid-edge, 0.05 ns after a new sample)
        exact = _held_lowpass_std(4 * KB * TK * RON, tau, 0.05e-9)
        sig_vc = pooled_std([r["vc0_V"] for r in reads])
        tper = t_rst + 100e-9 + 1.2e-9
        t_open = t_rst + 0.05e-9 + tper * np.arange(25)
        vout = [r.v("out")[np.searchsorted(r.axis, t_open + 1e-9 - 1e-15)] for r in res]
        sig_out = pooled_std(vout)
        print(f"kT/C, C_int = {cint*1e12:.0f} pF: sigma(V_C) = {sig_vc*1e6:.1f} uV, sigma(V_out 1 ns after the reset) "
              f"= {sig_out*1e6:.1f} uV; sqrt(kT/C) = {ideal*1e6:.1f} uV (integral with the held-sample shape "
              f"{ana*1e6:.1f}, exact at the opening phase {exact*1e6:.1f}); ratio {sig_vc/ideal:.3f}")
        assert sig_vc == pytest.approx(ideal, rel=0.2)
        assert sig_out == pytest.approx(ideal, rel=0.2)
        assert sig_vc == pytest.approx(exact, rel=0.2)


def test_opamp_noise_matches_analytic():
    """All noise on (bench defaults: en = 10 nV/rtHz, G = 10 uS, C_int = 1 pF, t_int = 100 ns), 4 x 25 reads.

    e_n reaches V(in) through H(f) = A/(1 + A + G/(j w C)), A = a0/(1 + j f/f_p) (~ a pole at gbw).
      window average:  sigma(ebar)^2 = integral S(f)*sinc^2(f*t_int) df           (white: en^2/(2 t_int))
      direct:          sigma(V_in(t_read))^2 = integral S(f)*|H(f)|^2 df           (continuous: en^2*pi/2*gbw)
                       -- the reads fall at the end of a hold interval of the held-sample source, where
                       the exact value (_held_lowpass_std, phase = tsn) is 9 % above the phase average;
      output:          sigma_out^2 = kT/C + direct^2 + (G t_int/C)^2 sigma(ebar)^2.
    Each agrees within 25 % (statistical 1-sigma of 100 reads ~ 7 %)."""
    _, reads = _noise_runs({})
    en, gbw, a0, g, cint, t_int = 10e-9, 1e9, 1e5, 10e-6, 1e-12, 100e-9
    s_en = lambda f: en**2 * np.sinc(f * TSN) ** 2  # noqa: E731

    def h2(f):
        s = 2j * np.pi * f
        a = a0 / (1 + s / (2 * np.pi * gbw / a0))
        return np.abs(a / (1 + a + g / (s * cint))) ** 2

    ebar_ana = np.sqrt(_integral(lambda f: s_en(f) * np.sinc(f * t_int) ** 2, 1.0))
    direct_avg = np.sqrt(_integral(lambda f: s_en(f) * h2(f), 1e3))
    direct_ana = _held_lowpass_std(en**2, 1 / (2 * np.pi * gbw), TSN)
    ktc_ana = _held_lowpass_std(4 * KB * TK * RON, RON * cint, 0.05e-9)
    out_ana = np.sqrt(ktc_ana**2 + direct_ana**2 + (g * t_int / cint * ebar_ana) ** 2)
    got = {k: pooled_std([r[k] for r in reads]) for k in ("ebar_V", "vin_read_V", "vout_read_V", "vc0_V")}
    print(f"op-amp noise averaged over t_int: {got['ebar_V']*1e6:.2f} uV (integral {ebar_ana*1e6:.2f}, "
          f"en/sqrt(2 t_int) = {en/np.sqrt(2*t_int)*1e6:.2f}); direct at the read: {got['vin_read_V']*1e6:.1f} uV "
          f"(exact {direct_ana*1e6:.1f}, phase-averaged integral {direct_avg*1e6:.1f}, continuous "
          f"en*sqrt(pi/2*gbw) = {en*np.sqrt(np.pi/2*gbw)*1e6:.1f}); kT/C {got['vc0_V']*1e6:.1f} uV "
          f"(exact {ktc_ana*1e6:.1f}); output of one read {got['vout_read_V']*1e6:.1f} uV (analytic {out_ana*1e6:.1f})")
    assert got["ebar_V"] == pytest.approx(ebar_ana, rel=0.25)
    assert got["vin_read_V"] == pytest.approx(direct_ana, rel=0.25)
    assert got["vc0_V"] == pytest.approx(ktc_ana, rel=0.2)
    assert got["vout_read_V"] == pytest.approx(out_ana, rel=0.25)
    # the reads themselves: V_out = V_ref' - G*vread*t_int/C (0.1 V swing; V_os ~ 1 mV, lag < 1 mV)
    assert np.mean([r["vout_read_V"].mean() for r in reads]) == pytest.approx(0.5, abs=5e-3)


def test_noise_off_is_deterministic_and_seeded_noise_repeats():
    """noise=0: every read after the first identical (no noise left); noise=1: the same seed repeats
    exactly (also after another seed ran in the same process), another seed differs."""
    jobs = [({"noise": 0, "ncyc": 4}, 1), ({"ncyc": 4}, 1), ({"ncyc": 4}, 2), ({"ncyc": 4}, 1)]
    res = run_many([dict(netlist=NOISE, params=p, seed=s, keep=("out", "in")) for p, s in jobs], workers=1,
                   cache=False)
    quiet = noise_reads(res[0])
    assert np.ptp(quiet["vout_read_V"][1:]) < 1e-6 and np.ptp(quiet["vc0_V"][1:]) < 1e-6
    np.testing.assert_array_equal(res[1].v("out"), res[3].v("out"))
    assert not np.array_equal(res[1].v("out"), res[2].v("out"))
