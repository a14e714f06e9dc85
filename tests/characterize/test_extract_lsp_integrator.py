"""Extraction of 3T1C and integrator characteristics from real ngspice runs (small Monte Carlo)."""

import numpy as np
import pytest

from pycosim.characterize import integrator, lsp
from pycosim.errors import CalibrationError
from pycosim.spice import load, run_many


def _runs(module, mc, seed=11):
    out = {}
    for bench, jobs in module.jobs(mc, seed).items():
        net = load(f"circuits/{bench}.cir")
        out[bench] = run_many([dict(j, netlist=net) for j in jobs], workers=2)
    return out


@pytest.fixture(scope="module")
def lsp_runs():
    return _runs(lsp, 4)


@pytest.fixture(scope="module")
def lsp_cal(lsp_runs):
    return lsp.extract(lsp_runs)


def test_lsp_tables_have_no_gaps(lsp_cal):
    """Every cell has an up and a down step at every fixed grid point (lsp_steps): no NaN, right signs."""
    s, t = lsp_cal
    assert s["dv_up_mean_V"] > 0 > s["dv_down_mean_V"]
    grid, up, dn = t["step_vc_V"], t["dv_up_V"], t["dv_down_V"]
    assert up.shape == dn.shape == (4, len(grid)) and grid.min() <= 0.1 + 1e-9 and grid.max() >= 1.1 - 1e-9
    assert np.all(np.isfinite(up)) and np.all(np.isfinite(dn))
    assert np.all(up > 0) and np.all(dn < 0)
    assert 0.2 < s["up_down_ratio"] < 5
    for name, arr in t.items():
        assert np.all(np.isfinite(arr)), name


def test_lsp_mismatch_spread_and_g_of_vc(lsp_cal):
    s, t = lsp_cal
    assert s["dv_up_cv"] > 0 and s["dv_down_cv"] > 0  # Monte Carlo instances differ
    g = t["g_of_vc_S"]
    assert g.shape == (4, len(t["vc_grid_V"]))
    assert np.all(np.diff(g.mean(0)) >= -1e-12)  # g rises with V_C
    assert np.std(g[:, np.argmin(abs(t["vc_grid_V"] - 0.6))]) > 0


def test_lsp_same_row_is_the_same_cell(lsp_cal):
    """Row k of every per-cell table is one cell: g(vc0) from lsp_read_gv equals g_0 of lsp_up_down."""
    s, t = lsp_cal
    g_gv = np.array([np.interp(s["vc_init_V"], t["vc_grid_V"], row) for row in t["g_of_vc_S"]])
    np.testing.assert_allclose(g_gv, t["updown_g_S"][:, 0], rtol=1e-5)


def test_lsp_leakage_small_and_target_robust(lsp_cal):
    """With both programming FETs off (gates 0.3 V beyond the rails) the leak is fA-level: below
    0.2 mV/ms at every grid point; it relaxes toward the per-cell zero crossing near vdd (median)."""
    s, t = lsp_cal
    leak = t["leak_dvdt_V_per_s"]
    assert leak.shape == (4, len(t["leak_vc_V"]))
    assert np.all(np.abs(leak) < 0.2)                     # V/s = mV/ms
    assert np.all(np.diff(leak.mean(0)[1:]) < 0)
    assert 1.0 < s["leak_target_V"] < 1.2 and s["leak_target_clamped_fraction"] == 0
    assert s["t_hold_transfer_s"] == pytest.approx(8000 * s["t_example_s"])


def test_lsp_reset_and_noise_scalars(lsp_cal):
    s, t = lsp_cal
    assert t["reset_vfinal_V"].shape == (4, len(t["reset_vstart_V"]))
    # residual of the TG reset at the 0.8 V operating point: +12.5 mV (PMOS turn-off injection dominates)
    assert abs(s["reset_error_mean_V"]) < 20e-3 and 0 < s["reset_error_std_V"] < 2e-3
    assert 0 < abs(s["reset_injection_V"]) < 20e-3
    assert 0 < s["dv_up_c2c_sigma_V"] < 0.2 * s["dv_up_mean_V"]
    assert 0 < s["dv_down_c2c_sigma_V"] < 0.2 * abs(s["dv_down_mean_V"])
    assert t["read_noise_vc_V"].shape == t["read_noise_rel_sigma"].shape == (4,)
    assert np.all((t["read_noise_rel_sigma"] > 1e-5) & (t["read_noise_rel_sigma"] < 1e-2))
    assert s["read_noise_t_int_s"] == pytest.approx(256e-9)


def test_lsp_energy_positive(lsp_cal):
    s, _ = lsp_cal
    # per pulse the programming sources move the capacitor's charge cs·ΔV_C (≈ 30 fF × 5 mV = 0.15 fC); the
    # up pulse draws it from the supply side (energy/charge ≈ 1.5 V on the shipped bundle: 0.23 fJ), the
    # down pulse dumps it to ground (≈ 0.24 V: 0.04 fJ) — bounds a factor ~2 around those, not "< 1 pJ"
    q_up, q_dn = s["cs_F"] * s["dv_up_mean_V"], s["cs_F"] * abs(s["dv_down_mean_V"])
    print(f"\ne_up {s['e_up_J']:.3e} J = {s['e_up_J'] / q_up:.3f} V × cs·ΔV_up; "
          f"e_down {s['e_down_J']:.3e} J = {s['e_down_J'] / q_dn:.3f} V × cs·|ΔV_down|")
    assert 1.0 < s["e_up_J"] / q_up < 2.0
    assert 0.1 < s["e_down_J"] / q_dn < 0.6


def test_lsp_reset_energy(lsp_cal):
    """lsp.e_reset_J: mean energy of one transmission-gate reset over the bench's 7 starts 0.2 … 1.1 V
    (4 cells). Expected order: E(V_s) ≈ E_0 + C_tot·V_t·(V_t − V_s), the line charge C_tot·(V_t − V_s) delivered
    at V_t = 0.8 V with C_tot = cs + C_gate,read + overlaps ≈ 33 fF; over the starts (mean 0.65 V) that is
    C_tot·V_t·0.15 V ≈ 4 fJ — positive, a fraction of cs·V_t² = 19 fJ and ≪ the PCM pulses (pJ). E_0, the
    gate/line overhead with V_C already on the line, is below the hard-switched 2·C_g·ΔV_g² ≈ 13 fJ of the
    two gates (C_g ≈ 2 fF, ΔV_g = 1.8 V)."""
    s, t = lsp_cal
    e, vt = t["e_reset_J"], s["reset_target_V"]
    assert e.shape == t["reset_vfinal_V"].shape == (4, 7)
    assert s["e_reset_J"] == pytest.approx(e.mean()) and s["e_reset_std_J"] == pytest.approx(e.std())
    assert 1e-15 < s["e_reset_J"] < s["cs_F"] * vt**2
    assert s["e_reset_J"] == pytest.approx(33e-15 * vt * (vt - t["reset_vstart_V"].mean()), rel=0.25)
    assert 30e-15 < s["e_reset_slope_J_per_V"] / vt < 36e-15            # C_tot
    assert 0 < s["e_reset_at_target_J"] < 2 * 2e-15 * 1.8**2
    assert np.all(np.ptp(e, axis=0) < 0.05 * np.ptp(e))                 # cells hardly differ; the start sets E
    assert "0.2 … 1.1 V" in s["e_reset_model"] and "lsp_reset" in s["e_reset_model"]


def test_lsp_extraction_fails_loudly_on_bad_data(lsp_runs):
    """A broken waveform (NaN in a per-cell bench) raises CalibrationError naming the table."""
    import copy

    runs = {b: list(rs) for b, rs in lsp_runs.items()}
    bad = copy.deepcopy(runs["lsp_steps"][1])
    bad.vectors["vc"] = np.full_like(np.real(bad.vectors["vc"]), np.nan)
    runs["lsp_steps"][1] = bad
    with pytest.raises(CalibrationError, match="lsp/dv_up_V"):
        lsp.extract(runs)


def test_integrator_gain_offset_rails():
    s, t = integrator.extract(_runs(integrator, 1))
    assert s["gain_V_per_C"] == pytest.approx(-1 / integrator.CINT_F, rel=0.01)  # the column read's C_int (43 pF)
    assert s["offset_V"] == pytest.approx(0.6, abs=5e-3)             # bench V_ref = 0.6 V
    assert s["v_sat_lo_V"] == pytest.approx(0.0, abs=5e-3) and s["v_sat_hi_V"] == pytest.approx(1.2, abs=5e-3)
    assert s["linearity_error"] < 0.01
    q, v = t["q_in_C"], t["v_out_V"]
    lin = np.abs(q) < 0.9 * s["q_linear_max_C"]
    pred = s["offset_V"] + s["gain_V_per_C"] * q[lin]
    assert np.max(np.abs(v[lin] - pred)) < 0.01 * 1.2
    assert v.min() > -0.01 and v.max() < 1.21  # clipped at the rails


def test_integrator_noise_scalars():
    """Noise scalars of the integrator_noise bench (4 seeds x 25 reads): kT/C within 20 % of sqrt(kT/C_int),
    the window-averaged op-amp noise within 25 % of en/sqrt(2 t_int), the total sigma of one read at least
    each part and close to their quadrature sum; the offset sigma is sourced (a citation, not 'assumed')."""
    s, _ = integrator.extract(_runs(integrator, 1))
    kb, tk = 1.380649e-23, 300.15
    assert s["t_int_s"] == pytest.approx(100e-9) and s["noise_reads"] == 100
    assert s["ktc_noise_V"] == pytest.approx(np.sqrt(kb * tk / s["noise_cint_F"]), rel=0.2)
    assert s["ktc_analytic_V"] == pytest.approx(64.4e-6, rel=1e-3)
    assert s["noise_in_rms_V"] == pytest.approx(s["noise_en_V_per_rtHz"] / np.sqrt(2 * s["t_int_s"]), rel=0.25)
    assert 200e-6 < s["noise_opamp_out_V"] < 600e-6          # ~ en*sqrt(pi/2*gbw) = 396 uV
    parts = np.sqrt(s["ktc_noise_V"] ** 2 + s["noise_opamp_out_V"] ** 2
                    + (s["noise_gcol_S"] * s["t_int_s"] / s["noise_cint_F"] * s["noise_in_rms_V"]) ** 2)
    assert s["noise_int_out_rms_V"] == pytest.approx(parts, rel=0.1)
    assert s["noise_int_out_rms_V"] > max(s["ktc_noise_V"], s["noise_opamp_out_V"])
    # the read's noise is the column read's (circuits/integrator_diff.cir), dominated by the conveyors
    assert s["noise_out_rms_V"] == s["noise_read_rms_V"] > 3 * s["noise_int_out_rms_V"]
    assert "Pelgrom" in s["offset_source"] and 0.2e-3 < s["offset_std_V"] < 3e-3
