"""Differential column read (subckt colread of netlists/integrator.lib, bench circuits/integrator_diff.cir)
with the real ngspice.

Physics checked against analytic expectations (tolerances below the effects they guard):

* subtraction: with equal mirrors (mc = 0) the integrator sees only the pair's net charge,
  V_out(t0) - V_out(t_read) = G_net*V_read*t_pw/C_int within 0.3 %, although each line carries ~20x the net
  current (a 1 % error in either copy would move it by ~20 %);
* hold (virtual-ground rule): the line sits at V_ref + I_line/g_in, g_in = gc*a0c = 200 S, within 5 %;
* the window: the net charge reaches 99.9 % of its final value within 4 ns after the last pulse ends (mirror
  pole 1.06 ns);
* energy: the supply delivers 2*V_DD*Q_line+ (the two branches of the PMOS mirror of the plus chain) within 1 %;
* mismatch: the per-instance mirror gains eps+ (NMOS + PMOS mirror) and eps- (NMOS mirror) have the Pelgrom
  sigma sqrt(2*((2/V_ov)^2*A_VT^2 + A_beta^2)/(W*L)) within 30 % (32 instances: statistical 1-sigma 13 %),
  and the common-mode run's output is (eps+ - eps-)*Q_line/C_int per instance within 2 % of the line charge
  mismatch;
* noise: the spread of one read (24 nominal runs) agrees with sigma_Q^2 = (G+^2 + G-^2)*e_n^2*T/2 (conveyor
  e_n turned into line current) + S_mirror*T/2 + 2*(integrator op-amp output noise)^2 within 30 %
  (statistical 1-sigma 15 %);
* kT/C: with the conveyor and mirror noise off, the reset leaves sqrt(kT/C_int) on C_int (9.1 uV at 50 pF)
  within 20 %; with the mirrors on, kT/C + S_m*ron/(4*C) + S_m*t/(2*C^2) within 25 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.characterize import integrator as ci
from pycosim.spice import run_many

DIFF = "circuits/integrator_diff.cir"
KB, TK = 1.380649e-23, 300.15
CINT, VREAD, TPW, VDD = 50e-12, 0.1, 256e-9, 1.2
ROWS, GROW = 785, 24.6e-6
GCM = ROWS * GROW
T0, TSET = 15e-9, 10e-9


def _runs(jobs):
    return run_many([dict(j, netlist=DIFF) for j in jobs], workers=2)


@pytest.fixture(scope="module")
def mc_runs():
    """32 mismatch instances at half scale, at zero net signal and undriven (characterisation's jobs)."""
    jobs = [j for j in ci.diff_jobs(4242) if j["params"]["mc"] == 1]
    res = _runs(jobs)
    by = {}
    for r in res:
        by.setdefault(ci.diff_case(r), []).append(r)
    return {k: sorted(v, key=lambda r: r.meta["seed"]) for k, v in by.items()}


def test_nominal_read_integrates_only_the_net_charge():
    cases = [dict(mc=0, gnet=0.505e-3), dict(mc=0, gnet=0.2e-3), dict(mc=0, gnet=-0.505e-3)]
    for p, res in zip(cases, _runs([dict(params=p, seed=1) for p in cases])):
        m = res.meas
        q_net = p["gnet"] * VREAD * TPW
        line = (GCM + abs(p["gnet"]) / 2) * VREAD * TPW
        print(f"gnet = {p['gnet'] * 1e3:+.3f} mS: dv = {m['dv'] * 1e3:.3f} mV, expected {q_net / CINT * 1e3:.3f} mV;"
              f" line charge / net = {line / abs(q_net):.1f}")
        assert line / abs(q_net) > 19                     # each line carries >= 19x the net signal
        assert m["dv"] == pytest.approx(q_net / CINT, rel=3e-3)
        assert m["q_mp"] - m["q_mn"] == pytest.approx(q_net, rel=2e-3)
        assert m["v_rst"] == pytest.approx(0.6, abs=1e-6)  # mc = 0: no offset


def test_hold_window_and_energy_of_a_full_scale_read():
    p = dict(mc=0, gnet=ci.G_FS_S)
    (res,) = _runs([dict(params=p, seed=1, keep=ci.DIFF_KEEP + ci.DIFF_WAVES)])
    m = res.meas
    i_line = (GCM + ci.G_FS_S / 2) * VREAD
    g_in = 20e-3 * 1e4
    assert m["q_lp"] == pytest.approx(i_line * TPW, rel=1e-3)
    assert m["vh_p"] == pytest.approx(i_line / g_in, rel=0.05)           # hold: I_line/g_in ~ 10 uV
    assert m["vh_n"] == pytest.approx((GCM - ci.G_FS_S / 2) * VREAD / g_in, rel=0.05)
    assert abs(m["vh_p"]) < 0.01 * VREAD / 100                            # rule g_in >= 100 G_line: << 1 %
    t_set, q_net = ci.settle_time(res)
    tau_m = 1 / (2 * np.pi * 150e6)
    print(f"settle {t_set * 1e9:.2f} ns (tau_m {tau_m * 1e9:.2f} ns), Q_net {q_net * 1e12:.3f} pC, "
          f"E_vdd {m['e_vdd'] * 1e9:.3f} nJ")
    assert 0 < t_set < 4e-9
    assert q_net == pytest.approx(ci.G_FS_S * VREAD * TPW, rel=2e-3)
    assert m["e_vdd"] == pytest.approx(2 * VDD * m["q_lp"], rel=0.01)


def test_mirror_energy_splits_into_idle_and_line_charge_parts():
    """The characterisation's nominal energy runs (full input, zero input, 392 of 785 rows driven): the zero-input
    read costs exactly the idle part (the behavioural mirrors draw only the copied current: ~0), the part per
    coulomb is 2*V_DD (both branches of the plus chain's PMOS mirror), and the half-driven read lies on the line
    E_idle + k*Q+ (the linearity check) while costing about half the full-input read."""
    jobs = [j for j in ci.diff_jobs(1) if ci.diff_case(_Case(j["params"])) in ("full", "energy_idle", "energy_part")]
    assert len(jobs) == 3
    by = {ci.diff_case(r): r for r in _runs(jobs)}
    full, idle, part = by["full"], by["energy_idle"], by["energy_part"]
    s = ci.mirror_energy_split(full, idle, part, 271e-9)
    q_full = (GCM + ci.G_FS_S / 2) * VREAD * TPW
    q_part = (ci.ENERGY_PART_ROWS * GROW + ci.G_FS_S / 2) * VREAD * TPW
    print(f"E full {full.meas['e_vdd'] * 1e9:.4f} nJ, idle {idle.meas['e_vdd']:.3g} J, part {part.meas['e_vdd'] * 1e9:.4f} nJ;"
          f" k {s['e_read_mirror_J_per_C']:.5f} J/C, linearity error {s['e_read_mirror_linearity_error']:.2e}")
    assert s["e_read_idle_J"] == idle.meas["e_vdd"]                   # zero input: the idle part, nothing else
    assert abs(s["e_read_idle_J"]) < 1e-9 * full.meas["e_vdd"]         # no bias current in the behavioural mirrors
    assert s["e_read_mirror_J_per_C"] == pytest.approx(2 * VDD, rel=1e-3)
    assert s["e_read_full_line_charge_C"] == pytest.approx(q_full, rel=1e-3)
    assert s["e_read_part_line_charge_C"] == pytest.approx(q_part, rel=1e-3)
    assert part.meas["e_vdd"] == pytest.approx(s["e_read_idle_J"] + 2 * VDD * q_part, rel=1e-3)
    assert abs(s["e_read_mirror_linearity_error"]) < 1e-4
    assert part.meas["e_vdd"] / full.meas["e_vdd"] == pytest.approx(q_part / q_full, rel=1e-3)


class _Case:
    """A stand-in result carrying a job's parameters (for ci.diff_case before the run)."""

    def __init__(self, params):
        self.meta = {"params": params}


def test_mirror_mismatch_is_pelgrom(mc_runs):
    half, cm, idle = mc_runs["half"], mc_runs["cm"], mc_runs["idle"]
    assert len(half) == len(cm) == len(idle) == ci.N_DIFF_INSTANCES
    eps_p = np.array([r.meas["q_mp"] / r.meas["q_lp"] - 1 for r in half])
    eps_n = np.array([r.meas["q_mn"] / r.meas["q_ln"] - 1 for r in half])
    sn = np.sqrt(2 * ((2 / 0.2) ** 2 * 3.5e-9 ** 2 + 1e-8 ** 2) / 1000e-12)     # NMOS mirror, 1000 um^2
    sp = np.sqrt(2 * ((2 / 0.2) ** 2 * 3.0e-9 ** 2 + 1e-8 ** 2) / 2000e-12)     # PMOS mirror, 2000 um^2
    print(f"eps+ sigma {eps_p.std(ddof=1) * 100:.3f} % (Pelgrom {np.hypot(sn, sp) * 100:.3f} %), "
          f"eps- sigma {eps_n.std(ddof=1) * 100:.3f} % (Pelgrom {sn * 100:.3f} %)")
    assert sn == pytest.approx(ci.EPS_MINUS_SIGMA, rel=1e-12) and np.hypot(sn, sp) == pytest.approx(ci.EPS_PLUS_SIGMA)
    assert eps_p.std(ddof=1) == pytest.approx(np.hypot(sn, sp), rel=0.3)
    assert eps_n.std(ddof=1) == pytest.approx(sn, rel=0.3)
    assert abs(np.corrcoef(eps_p, eps_n)[0, 1]) < 0.45                           # independent draws
    # common-mode run (equal lines): the output is the mirror mismatch times the line charge
    for h, c, i in zip(half, cm, idle):
        ep, en = h.meas["q_mp"] / h.meas["q_lp"] - 1, h.meas["q_mn"] / h.meas["q_ln"] - 1
        q_line = 0.5 * (c.meas["q_lp"] + c.meas["q_ln"])
        c_inst = (h.meas["q_mp"] - h.meas["q_mn"]) / h.meas["dv"]     # this instance's C_int (F)
        got = c_inst * (c.meas["dv"] - i.meas["dv"]) / q_line
        assert got == pytest.approx(ep - en, abs=0.02 * np.hypot(sn, sp))


def test_read_noise_matches_the_analytic_sum():
    jobs = [j for j in ci.diff_jobs(777) if float(j["params"].get("noise", 0)) > 0]
    dv = np.array([r.meas["dv"] for r in _runs(jobs)])
    gp, gn = GCM + ci.G_FS_S / 4, GCM - ci.G_FS_S / 4
    t = TPW + TSET                                    # dv = V_out(t0) - V_out(t_read): noise over t_read - t0
    en = 10e-9
    var_conv = (gp ** 2 + gn ** 2) * en ** 2 * t / 2
    s_mirror = 4 * KB * TK * (2 / 3) * (2 * 2e-3 / 0.2) * 6          # 4 + 2 mirror devices
    var_mirror = s_mirror * t / 2
    v_opamp = 0.39e-3                                 # integrator op-amp noise at the output (test_integrator.py)
    sigma = np.sqrt((var_conv + var_mirror) / CINT ** 2 + 2 * v_opamp ** 2)
    print(f"read noise {dv.std(ddof=1) * 1e3:.3f} mV over {dv.size} reads, analytic {sigma * 1e3:.3f} mV "
          f"(conveyor share {np.sqrt(var_conv) / CINT * 1e3:.3f} mV)")
    assert dv.std(ddof=1) == pytest.approx(sigma, rel=0.3)
    assert np.mean(dv) == pytest.approx(ci.G_FS_S / 2 * VREAD * TPW / CINT, rel=3e-3)


def test_ktc_of_the_column_read_reset():
    """kT/C: the reset switch's thermal noise leaves sqrt(kT/C_int) on C_int when it opens (9.1 uV at 50 pF).
    Conveyor and mirror noise off (enc = 0, mnoise = 0), lines idle: sigma of V_C = V(in) - V(out) 0.3 ns after
    the reset opens, over 40 seeds, within 20 % of sqrt(kT/C) (statistical 1-sigma 11 %). With the mirrors' noise
    on, their current noise S_m also sits on C_int: low-passed by the closed switch (S_m*ron/(4*C)) and
    integrated after it opens (S_m*t/(2*C^2)): sigma^2 = kT/C + S_m*ron/(4*C) + S_m*t/(2*C^2), within 25 %."""
    trst, t, ron = 10e-9, 0.3e-9, 25.0
    s_m = 4 * KB * TK * (2 / 3) * (2 * 2e-3 / 0.2) * 6
    ktc = KB * TK / CINT
    base = dict(mc=0, noise=1, enc=0, vread=0, tset=0, tpw=5e-9)
    for mn, want in ((0, np.sqrt(ktc)), (1, np.sqrt(ktc + s_m * ron / (4 * CINT) + s_m * t / (2 * CINT ** 2)))):
        jobs = [dict(params=dict(base, mnoise=mn), seed=900 + k, keep=("xcr.in", "out")) for k in range(40)]
        vc = []
        for res in _runs(jobs):
            ax = np.real(res.axis)
            vc.append(np.interp(trst + 0.05e-9 + t, ax, np.real(res.v("xcr.in")) - np.real(res.v("out"))))
        got = np.std(vc, ddof=1)
        print(f"mirror noise {'on' if mn else 'off'}: sigma V_C {got * 1e6:.2f} uV, expected {want * 1e6:.2f} uV")
        assert got == pytest.approx(want, rel=0.2 if mn == 0 else 0.25)
    assert np.sqrt(ktc) == pytest.approx(9.1e-6, rel=0.01)
