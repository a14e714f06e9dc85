"""lsp.population and the NumPy-level 3T1C laws on a tiny hand-made bundle (3 instances).

The tables below are chosen so that every law has a closed form written out here: g(V_C) linear per row
(one row negative at 0 V, clipped), step tables constant or linear in V_C, leakage rates linear per
segment (relaxation, linear drift and runaway, crossings of one and two segment boundaries, the end
segment extended beyond the table), a reset table interpolated and held, a read-noise table. Expected
values come from these formulas and hand arithmetic, never from the model. The shipped bundle's tables
are uniform and smooth, so most of the branches checked here (resampling of a non-uniform grid, a
two-point reset table, b = 0 segments) never run on it.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from pycosim.calibration import Bundle
from pycosim.devices import lsp
from pycosim.errors import CalibrationError, ConfigError

F32 = np.float32

GRID = np.linspace(0.0, 1.2, 7)                      # V_C grid of g, 0.2 V steps (v_min 0, v_max 1.2)
G = np.stack([10e-6 * GRID, 20e-6 * GRID - 1e-6, 5e-6 * GRID + 2e-6])       # row 1 is −1 µS at 0 V
SGRID = np.array([0.0, 0.5, 1.0])
UP = np.array([0.01 - 0.004 * SGRID, np.full(3, 0.02), np.full(3, 0.015)])  # ΔV_up = α + βV (row 0: β = −0.004)
DN = np.array([np.full(3, -0.01), -0.005 - 0.01 * SGRID, np.full(3, -0.012)])
LV = np.array([0.1, 0.4, 0.7, 1.0])                  # starts above the g grid's 0 V: the end segment extends below
#: dV/dt at LV: row 0 = 3 − 10V everywhere (relaxation to 0.3 V, τ = 0.1 s); row 1 = −1 V/s below 0.4 V,
#: 4V − 2.6 above (runaway away from 0.65 V); row 2 = +2 V/s below 0.4 V, 4V + 0.4 on 0.4–0.7 V (runaway from
#: −0.1 V), +3.2 V/s above 0.7 V
LR = np.array([3 - 10 * LV, [-1.0, -1.0, 0.2, 1.4], [2.0, 2.0, 3.2, 3.2]])
RS = np.array([0.2, 0.6, 1.0])
RF = np.array([[0.80, 0.81, 0.83], [0.79, 0.80, 0.80], [0.82, 0.82, 0.84]])
SCALARS = {"vc_init_V": 0.8, "dv_up_c2c_sigma_V": 1e-3, "dv_down_c2c_sigma_V": 2e-3, "read_noise_t_int_s": 256e-9}


def tiny(tables=None, drop=(), scalars=None, drop_scalars=()):
    t = {"lsp/vc_grid_V": GRID, "lsp/g_of_vc_S": G, "lsp/step_vc_V": SGRID, "lsp/dv_up_V": UP, "lsp/dv_down_V": DN,
         "lsp/leak_vc_V": LV, "lsp/leak_dvdt_V_per_s": LR, "lsp/reset_vstart_V": RS, "lsp/reset_vfinal_V": RF,
         "lsp/read_noise_vc_V": np.array([0.4, 0.8]), "lsp/read_noise_rel_sigma": np.array([0.002, 0.001])}
    t = {k: v for k, v in t.items() if k not in drop} | (tables or {})
    s = {k: v for k, v in SCALARS.items() if k not in drop_scalars} | (scalars or {})
    return Bundle(scalars={"lsp": s}, tables=t, provenance={}, path=None)


@pytest.fixture(scope="module")
def p():
    return lsp.population(tiny())


# ------------------------------------------------------------------------------------------ population


def test_population_fields_by_hand(p):
    assert p.n == 3
    for name in ("vc_grid_V", "g_of_vc_S", "step_grid_V", "dv_up_V", "dv_down_V", "reset_vstart_V", "reset_vfinal_V",
                 "noise_vc_V", "noise_rel"):
        assert getattr(p, name).dtype == F32, name
    for name in ("leak_vc_V", "leak_a_V_per_s", "leak_b_per_s"):
        assert getattr(p, name).dtype == np.float64, name
    np.testing.assert_array_equal(p.vc_grid_V, GRID.astype(F32))
    want_g = G.copy()
    want_g[1, 0] = 0.0                                        # a conductance is never negative
    np.testing.assert_allclose(p.g_of_vc_S, want_g, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(p.step_grid_V, SGRID.astype(F32))
    np.testing.assert_allclose(p.dv_up_V, [[0.01, 0.008, 0.006], [0.02] * 3, [0.015] * 3], rtol=1e-6)
    np.testing.assert_allclose(p.dv_down_V, [[-0.01] * 3, [-0.005, -0.01, -0.015], [-0.012] * 3], rtol=1e-6)
    assert p.dv_up_c2c_V == 1e-3 and p.dv_down_c2c_V == 2e-3
    assert p.v_min_V == 0.0 and p.v_max_V == 1.2 and p.vc_init_V == 0.8
    assert all(type(x) is float for x in (p.v_min_V, p.v_max_V, p.vc_init_V, p.dv_up_c2c_V, p.noise_t_int_s))
    # rate a + b·V per segment: row 0 b = −10, a = 3; row 1 (b, a) = (0, −1), (4, −2.6), (4, −2.6);
    # row 2 (0, 2), (4, 0.4), (0, 3.2)
    np.testing.assert_array_equal(p.leak_vc_V, LV)
    np.testing.assert_allclose(p.leak_b_per_s, [[-10, -10, -10], [0, 4, 4], [0, 4, 0]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.leak_a_V_per_s, [[3, 3, 3], [-1, -2.6, -2.6], [2, 0.4, 3.2]], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(p.reset_vstart_V, RS.astype(F32))
    np.testing.assert_array_equal(p.reset_vfinal_V, RF.astype(F32))
    np.testing.assert_array_equal(p.noise_vc_V, F32([0.4, 0.8]))
    np.testing.assert_array_equal(p.noise_rel, F32([0.002, 0.001]))
    assert p.noise_t_int_s == 256e-9
    # the step table: up rows then down rows, each scaled
    np.testing.assert_array_equal(p.step_table(), np.concatenate([p.dv_up_V, p.dv_down_V]))
    t = p.step_table(2.0, 0.5)
    assert t.dtype == F32 and t.shape == (6, 3)
    np.testing.assert_allclose(t[:3], 2 * p.dv_up_V, rtol=1e-7)
    np.testing.assert_allclose(t[3:], 0.5 * p.dv_down_V, rtol=1e-7)


def test_population_without_the_optional_parts():
    q = lsp.population(tiny(drop=("lsp/reset_vstart_V", "lsp/reset_vfinal_V", "lsp/read_noise_vc_V",
                                  "lsp/read_noise_rel_sigma"), drop_scalars=("dv_up_c2c_sigma_V",
                                                                             "dv_down_c2c_sigma_V", "read_noise_t_int_s")),
                       c2c=False, reset=False, read_noise=False)
    assert q.dv_up_c2c_V == 0.0 and q.dv_down_c2c_V == 0.0
    assert q.reset_vstart_V is None and q.reset_vfinal_V is None
    assert q.noise_vc_V is None and q.noise_rel is None and q.noise_t_int_s is None
    # c2c, reset and read noise are on by default: each of their tables is then required
    with pytest.raises(CalibrationError, match="dv_up_c2c_sigma_V"):
        lsp.population(tiny(drop_scalars=("dv_up_c2c_sigma_V",)))
    with pytest.raises(CalibrationError, match="reset_vstart_V"):
        lsp.population(tiny(drop=("lsp/reset_vstart_V",)))
    with pytest.raises(CalibrationError, match="read_noise_vc_V"):
        lsp.population(tiny(drop=("lsp/read_noise_vc_V",)))


def test_population_d2d_scale_shrinks_every_table_toward_the_instance_mean():
    """d2d_scale s: each row → mean + s·(row − mean), the mean over the instances (axis 0)."""
    h = lsp.population(tiny(), d2d_scale=0.5)
    # g at V = 1.2: rows 12, 23, 8 µS, mean 43/3; at V = 0 rows 0, −1, 2 µS, mean 1/3 (shrunk, then clipped at 0)
    m = 43e-6 / 3
    np.testing.assert_allclose(h.g_of_vc_S[:, -1], [m + 0.5 * (12e-6 - m), m + 0.5 * (23e-6 - m), m + 0.5 * (8e-6 - m)],
                               rtol=1e-6)
    m0 = 1e-6 / 3
    np.testing.assert_allclose(h.g_of_vc_S[:, 0], [m0 - 0.5 * m0, max(m0 + 0.5 * (-1e-6 - m0), 0), m0 + 0.5 * (2e-6 - m0)],
                               rtol=1e-6, atol=1e-15)
    # up steps at V = 0: 0.01, 0.02, 0.015 → mean 0.015 → 0.0125, 0.0175, 0.015; down at V = 1: −0.01, −0.015, −0.012
    np.testing.assert_allclose(h.dv_up_V[:, 0], [0.0125, 0.0175, 0.015], rtol=1e-6)
    md = (-0.01 - 0.015 - 0.012) / 3
    np.testing.assert_allclose(h.dv_down_V[:, 2], [md + 0.5 * (-0.01 - md), md + 0.5 * (-0.015 - md),
                                                   md + 0.5 * (-0.012 - md)], rtol=1e-6)
    # rates at LV = 0.7: 3 − 7 = −4, 0.2, 3.2 → mean −0.2: shrunk −2.1, 0, 1.5; the slopes follow
    r = np.array([-4.0, 0.2, 3.2])
    mr = r.mean()
    np.testing.assert_allclose(h.leak_a_V_per_s[:, 2] + h.leak_b_per_s[:, 2] * 0.7, mr + 0.5 * (r - mr), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(h.reset_vfinal_V[:, 1], [0.81, 0.805, 0.815], rtol=1e-6)     # 0.81, 0.80, 0.82: mean 0.81
    z = lsp.population(tiny(), d2d_scale=0.0)               # 0 is allowed: every instance is the mean device
    np.testing.assert_allclose(z.dv_up_V, np.broadcast_to(UP.mean(axis=0), (3, 3)), rtol=1e-6)
    np.testing.assert_allclose(z.reset_vfinal_V, np.broadcast_to(RF.mean(axis=0), (3, 3)), rtol=1e-6)
    with pytest.raises(ConfigError) as e:
        lsp.population(tiny(), d2d_scale=-0.5)
    assert str(e.value) == "lsp d2d_scale=-0.5: must be ≥ 0"


def test_non_uniform_grids_are_resampled_at_the_smallest_spacing():
    """g on V_C = 0, 0.2, 0.6, 1.0, 1.2 (spacing 0.2 and 0.4) → resampled on 0, 0.2, …, 1.2 by linear
    interpolation; steps on 0, 0.25, 1.0 → 0, 0.25, 0.5, 0.75, 1.0."""
    gv = np.array([0.0, 0.2, 0.6, 1.0, 1.2])
    gt = np.stack([gv ** 2 * 1e-6, gv * 1e-6, np.full(5, 3e-6)])       # row 0 not linear: interpolated, not recomputed
    sv = np.array([0.0, 0.25, 1.0])
    up = np.array([[0.01, 0.02, 0.05], [0.02] * 3, [0.015] * 3])
    dn = np.array([[-0.01, -0.02, -0.05], [-0.02] * 3, [-0.015] * 3])
    q = lsp.population(tiny(tables={"lsp/vc_grid_V": gv, "lsp/g_of_vc_S": gt, "lsp/step_vc_V": sv,
                                    "lsp/dv_up_V": up, "lsp/dv_down_V": dn}))
    np.testing.assert_allclose(q.vc_grid_V, [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2], atol=1e-7)
    # row 0 at 0.4: midway of 0.04 and 0.36 µS = 0.2 µS; at 0.8: midway of 0.36 and 1.0 = 0.68 µS
    np.testing.assert_allclose(q.g_of_vc_S[0], [0, 0.04e-6, 0.2e-6, 0.36e-6, 0.68e-6, 1.0e-6, 1.44e-6], rtol=1e-6)
    np.testing.assert_allclose(q.g_of_vc_S[1], [0, 0.2e-6, 0.4e-6, 0.6e-6, 0.8e-6, 1.0e-6, 1.2e-6], rtol=1e-6, atol=1e-13)
    np.testing.assert_allclose(q.step_grid_V, [0, 0.25, 0.5, 0.75, 1.0], atol=1e-7)
    # 0.5 and 0.75 are 1/3 and 2/3 of the way from 0.25 to 1.0: 0.02 + (0.03)/3 = 0.03, 0.04
    np.testing.assert_allclose(q.dv_up_V[0], [0.01, 0.02, 0.03, 0.04, 0.05], rtol=1e-6)
    np.testing.assert_allclose(q.dv_down_V[0], [-0.01, -0.02, -0.03, -0.04, -0.05], rtol=1e-6)
    assert q.v_min_V == 0.0 and q.v_max_V == pytest.approx(1.2, abs=1e-12)
    # the fine grid ends at the multiple of the smallest spacing nearest the table's last point
    for last, end in ((1.06, 1.0), (1.12, 1.2)):
        gv2 = np.array([0.0, 0.2, 0.6, last])
        q2 = lsp.population(tiny(tables={"lsp/vc_grid_V": gv2, "lsp/g_of_vc_S": np.stack([gv2 * 1e-6] * 3)}))
        assert q2.v_max_V == pytest.approx(end, abs=1e-9), last
        assert q2.vc_grid_V.shape == (round(end / 0.2) + 1,)
    # uniform to a relative 10⁻⁶ only: a spacing off by 5·10⁻⁶ (5 nV in 1 mV) is resampled, and the last
    # point moves onto the 1 mV lattice
    gv3 = np.array([0.0, 1e-3, 2e-3 + 5e-9])
    q3 = lsp.population(tiny(tables={"lsp/vc_grid_V": gv3, "lsp/g_of_vc_S": np.stack([gv3 * 1e-3] * 3)}))
    assert q3.v_max_V == pytest.approx(2e-3, rel=1e-12, abs=0) and q3.v_max_V != 2e-3 + 5e-9


@pytest.mark.parametrize("table, feature", [
    ("lsp/vc_grid_V", "3T1C read"), ("lsp/g_of_vc_S", "3T1C read"), ("lsp/dv_up_V", "3T1C pulses"),
    ("lsp/dv_down_V", "3T1C pulses"), ("lsp/step_vc_V", "3T1C pulses"), ("lsp/leak_vc_V", "3T1C leakage"),
    ("lsp/leak_dvdt_V_per_s", "3T1C leakage"), ("lsp/reset_vstart_V", "3T1C transmission-gate reset"),
    ("lsp/reset_vfinal_V", "3T1C transmission-gate reset"), ("lsp/read_noise_vc_V", "3T1C read noise"),
    ("lsp/read_noise_rel_sigma", "3T1C read noise")])
def test_population_names_the_missing_table_and_its_feature(table, feature):
    with pytest.raises(CalibrationError) as e:
        lsp.population(tiny(drop=(table,)))
    assert str(e.value) == (f"calibration bundle: table {table!r} (needed for {feature}) is missing; regenerate the "
                            f"bundle with pycosim characterize (or disable {feature})")


@pytest.mark.parametrize("key, feature", [
    ("vc_init_V", "3T1C reference"), ("dv_up_c2c_sigma_V", "3T1C cycle-to-cycle noise"),
    ("dv_down_c2c_sigma_V", "3T1C cycle-to-cycle noise"), ("read_noise_t_int_s", "3T1C read noise")])
def test_population_names_the_missing_scalar_and_its_feature(key, feature):
    with pytest.raises(CalibrationError) as e:
        lsp.population(tiny(drop_scalars=(key,)))
    assert str(e.value) == (f"calibration bundle: scalar lsp.{key} (needed for {feature}) is missing; regenerate the "
                            f"bundle with pycosim characterize (or disable {feature})")


def test_population_refusals_are_exact():
    def msg(**kw):
        with pytest.raises(CalibrationError) as e:
            lsp.population(tiny(**kw))
        return str(e.value)

    assert msg(tables={"lsp/dv_up_V": np.zeros((3, 4))}) == "lsp/dv_up_V must be finite with shape (3, 3), got (3, 4)"
    assert msg(tables={"lsp/dv_down_V": np.zeros((2, 3))}) == "lsp/dv_down_V must be finite with shape (3, 3), got (2, 3)"
    bad = DN.copy()
    bad[2, 1] = np.nan
    assert msg(tables={"lsp/dv_down_V": bad}) == "lsp/dv_down_V must be finite with shape (3, 3), got (3, 3)"
    bad = UP.copy()
    bad[0, 0] = np.inf
    assert msg(tables={"lsp/dv_up_V": bad}) == "lsp/dv_up_V must be finite with shape (3, 3), got (3, 3)"
    leak = "lsp/leak_vc_V must hold ≥ 2 increasing V_C values"
    assert msg(tables={"lsp/leak_vc_V": np.array([0.5]), "lsp/leak_dvdt_V_per_s": LR[:, :1]}) == leak
    assert msg(tables={"lsp/leak_vc_V": np.array([0.1, 0.4, 0.4, 1.0])}) == leak       # not strictly increasing
    assert msg(tables={"lsp/leak_vc_V": np.array([0.1, 0.7, 0.4, 1.0])}) == leak
    assert msg(tables={"lsp/reset_vfinal_V": RF[:, :2]}) == "lsp/reset_vfinal_V has shape (3, 2), expected (3, 3)"
    assert msg(tables={"lsp/reset_vfinal_V": RF[:2]}) == "lsp/reset_vfinal_V has shape (2, 3), expected (3, 3)"
    # two increasing leak points are enough
    two = lsp.population(tiny(tables={"lsp/leak_vc_V": np.array([0.1, 1.0]), "lsp/leak_dvdt_V_per_s": LR[:, [0, 3]]}))
    np.testing.assert_allclose(two.leak_b_per_s[:, 0], [-10, 2.4 / 0.9, 1.2 / 0.9], rtol=1e-12)


# ------------------------------------------------------------------------------------------ the laws


def test_g_of_vc_is_the_row_interpolated(p):
    v = F32([0.3, 0.3, 0.3, 0.1, 1.3, -0.2])
    inst = np.array([0, 1, 2, 1, 0, 2])
    # 3 µS, 20·0.3 − 1 = 5 µS, 3.5 µS; row 1 at 0.1 V: between the clipped 0 S at 0 V and 3 µS at 0.2 V → 1.5 µS;
    # outside the grid the end values are held: 12 µS, 2 µS
    want = [3e-6, 5e-6, 3.5e-6, 1.5e-6, 12e-6, 2e-6]
    g = lsp.g_of_vc(v, inst, p)
    assert g.dtype == F32
    np.testing.assert_allclose(g, want, rtol=2e-6)


def test_step_signed_closed_form_by_hand(p):
    """V_n = V + n·s·ΔV(V + (n − 1)/2·s·ΔV(V)) (midpoint rule), up for n > 0, down for n < 0."""
    v = F32([0.5, 0.5, 0.5, 0.5, 0.5, 0.3])
    n = np.array([5, 3, -3, -3, 0, -2])
    inst = np.array([0, 1, 0, 1, 0, 2])
    # row 0 up, ΔV = 0.01 − 0.004V: ΔV(0.5) = 0.008, midpoint 0.5 + 2·0.008 = 0.516, ΔV = 0.007936 → 0.53968
    # (the exact solution of the linear law: 2.5 − 2·0.996⁵ = 0.53968064); row 1 up 0.02 → 0.56;
    # row 0 down −0.01 → 0.47; row 1 down, ΔV = −0.005 − 0.01V: −0.01, midpoint 0.49, −0.0099 → 0.4703;
    # n = 0 unchanged; row 2 down −0.012 ×2 → 0.276
    want = [0.53968, 0.56, 0.47, 0.4703, 0.5, 0.276]
    got = lsp.step_signed(v, n, inst, p, None)
    assert got.dtype == F32 and got.shape == (6,)
    np.testing.assert_allclose(got, want, atol=2e-7)
    assert abs(float(got[0]) - (2.5 - 2 * 0.996 ** 5)) < 2e-6
    # scales: up ×2, down ×0.5 (the midpoint moves with the scaled step: row 0 up, ΔV(0.5)·2 = 0.016,
    # midpoint 0.532, ΔV = 0.007872·2 → 0.5 + 5·0.015744 = 0.57872)
    s = lsp.step_signed(v, n, inst, p, None, up_scale=2.0, down_scale=0.5)
    np.testing.assert_allclose(s, [0.57872, 0.62, 0.485, 0.5 + 3 * 0.5 * (-0.005 - 0.01 * 0.495), 0.5, 0.288],
                               atol=2e-7)
    # a cached table is used as given (the scales are the caller's to match)
    np.testing.assert_array_equal(lsp.step_signed(v, n, inst, p, None, table=p.step_table(2.0, 0.5)), s)
    # the shapes broadcast: one V and one instance for a grid of counts, one count for many V, many instances
    b = lsp.step_signed(F32(0.5), np.array([[1, -1], [2, 0]]), 1, p, None)
    assert b.shape == (2, 2)
    np.testing.assert_allclose(b, [[0.52, 0.49], [0.54, 0.5]], atol=2e-7)
    np.testing.assert_allclose(lsp.step_signed(F32([0.2, 0.5, 0.8]), 2, 1, p, None), [0.24, 0.54, 0.84], atol=2e-7)
    np.testing.assert_allclose(lsp.step_signed(F32(0.5), -1, np.array([0, 1, 2]), p, None), [0.49, 0.49, 0.488],
                               atol=2e-7)
    # V_C stays in the g table's range [0, 1.2]
    np.testing.assert_allclose(lsp.step_signed(F32([1.19, 0.005]), np.array([3, -3]), np.array([1, 0]), p, None),
                               [1.2, 0.0], atol=1e-7)


def test_step_signed_c2c_is_sigma_of_the_direction_times_sqrt_n_times_a_float32_normal(p):
    """The c2c term σ·c2c_scale·√|n|·z, σ the up or the down step's (1 mV / 2 mV here), z the generator's
    float32 standard normals in cell order."""
    v = np.full(6, 0.5, F32)
    n = np.array([4, -4, 9, -1, 0, 1])
    inst = np.array([1, 1, 2, 2, 0, 0])
    det = lsp.step_signed(v, n, inst, p, None).astype(np.float64)
    z = np.random.default_rng(7).standard_normal(6, dtype=F32).astype(np.float64)
    got = lsp.step_signed(v, n, inst, p, np.random.default_rng(7), c2c_scale=1.5).astype(np.float64)
    sig = np.array([1e-3, 2e-3, 1e-3, 2e-3, 2e-3, 1e-3]) * 1.5
    np.testing.assert_allclose(got - det, sig * np.sqrt(np.abs(n)) * z, atol=3e-7)
    # c2c only up (σ_down = 0): the down cells move deterministically, the up cells still get noise
    up_only = dataclasses.replace(p, dv_down_c2c_V=0.0)
    g2 = lsp.step_signed(v, n, inst, up_only, np.random.default_rng(7)).astype(np.float64)
    np.testing.assert_allclose(g2 - det, np.where(n > 0, 1e-3 * np.sqrt(np.abs(n)) * z, 0.0), atol=3e-7)
    # c2c only down (σ_up = 0): noise on the down cells only
    dn_only = dataclasses.replace(p, dv_up_c2c_V=0.0)
    g3 = lsp.step_signed(v, n, inst, dn_only, np.random.default_rng(7)).astype(np.float64)
    np.testing.assert_allclose(g3 - det, np.where(n < 0, 2e-3 * np.sqrt(np.abs(n)) * z, 0.0), atol=3e-7)
    # no noise (c2c_scale 0, no c2c in the population, no generator) draws no random numbers
    for q, scale in ((p, 0.0), (dataclasses.replace(p, dv_up_c2c_V=0.0, dv_down_c2c_V=0.0), 1.0)):
        rng = np.random.default_rng(7)
        np.testing.assert_array_equal(lsp.step_signed(v, n, inst, q, rng, c2c_scale=scale), det.astype(F32))
        assert rng.standard_normal(dtype=F32) == np.random.default_rng(7).standard_normal(dtype=F32)


def test_apply_pulses_up_then_down_by_hand(p):
    v = F32([0.5, 0.5, 0.5, 0.5])
    inst = np.array([1, 1, 1, 0])
    # row 1: 2 up (0.02 each) → 0.54, then 1 down at 0.54: −0.005 − 0.0054 = −0.0104 → 0.5296
    # (down first would give 0.49 + 0.04 = 0.53); only up 1 → 0.52; only down 2: −0.01, midpoint 0.495,
    # −0.00995 → 0.4801; row 0 unchanged
    n_up, n_dn = np.array([2, 1, 0, 0], np.int32), np.array([1, 0, 2, 0], np.uint8)   # counters may be unsigned
    got = lsp.apply_pulses(v, n_up, n_dn, inst, p)
    assert got.dtype == F32
    np.testing.assert_allclose(got, [0.5296, 0.52, 0.4801, 0.5], atol=2e-7)
    np.testing.assert_array_equal(lsp.apply_pulses(v, 0, 0, inst, p), v)
    np.testing.assert_allclose(lsp.apply_pulses(v, 1, 0, inst, p, up_scale=2.0), [0.54, 0.54, 0.54, 0.516], atol=2e-7)
    np.testing.assert_allclose(lsp.apply_pulses(v, 0, 1, inst, p, down_scale=2.0), [0.48, 0.48, 0.48, 0.48], atol=2e-7)
    # the generator reaches the c2c term: 1 up pulse per cell, σ_up = 1 mV
    z = np.random.default_rng(3).standard_normal(4, dtype=F32)
    np.testing.assert_allclose(lsp.apply_pulses(v, 1, 0, inst, p, np.random.default_rng(3)) - F32([0.52, 0.52, 0.52, 0.508]),
                               1e-3 * z, atol=3e-7)
    # … and so do the down pulses (σ_down = 2 mV)
    z = np.random.default_rng(4).standard_normal(4, dtype=F32)
    np.testing.assert_allclose(lsp.apply_pulses(v, 0, 1, inst, p, np.random.default_rng(4)) - F32([0.49] * 4),
                               2e-3 * z, atol=3e-7)
    # a cell without pulses is left exactly as it is, even outside the g table's range (only pulsed cells are
    # kept inside it)
    out = lsp.apply_pulses(F32([1.25, 1.25, -0.01, 1.19]), [0, 1, 0, 0], [0, 0, 0, 2], np.array([1, 1, 1, 2]), p)
    np.testing.assert_allclose(out, [1.25, 1.2, -0.01, 1.166], atol=2e-7)
    for name, kw in (("n_up", {"n_up": [0, -2, 0, 0], "n_down": 0}), ("n_down", {"n_up": 0, "n_down": [0, 0, -1, -3]})):
        with pytest.raises(ConfigError) as e:
            lsp.apply_pulses(v, kw["n_up"], kw["n_down"], inst, p)
        assert str(e.value) == f"apply_pulses: {name} must be ≥ 0 (got min {-2 if name == 'n_up' else -3})"
    # an empty array of cells is fine
    assert lsp.apply_pulses(np.zeros(0, F32), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), p).shape == (0,)


def test_leak_segment_by_hand(p):
    v = [-0.1, 0.0, 0.1, 0.2, 0.4, 0.69, 0.7, 1.0, 1.1]
    assert lsp.leak_segment(v, p).tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2]
    assert lsp.leak_segment(F32(0.4), p) == 1


def test_phi_and_the_one_segment_propagator_by_hand(p):
    """φ(x) = (e^x − 1)/x, φ(0) = 1; E = e^{b·dt}, A = a·dt·φ(b·dt)."""
    x = np.array([1.0, -1.0, 0.5, 1e-13, 0.0, -3e-12])
    want = [math.e - 1, 1 - 1 / math.e, 2 * (math.exp(0.5) - 1), 1 + 0.5e-13, 1.0, 1 - 1.5e-12]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # φ(0) without a 0/0 on the way
        np.testing.assert_allclose(lsp._phi(x), want, rtol=1e-14)
    E, A = lsp.leak_tables(0.05, p)
    assert E.shape == A.shape == (3, 3) and E.dtype == A.dtype == np.float64
    # row 0: b = −10, a = 3: E = e^{−0.5}, A = 3·0.05·(1 − e^{−0.5})/0.5 = 0.3·(1 − e^{−0.5});
    # row 1 segment 0: b = 0, a = −1: E = 1, A = −0.05; segment 1: b = 4, a = −2.6: E = e^{0.2}, A = −2.6·(e^{0.2} − 1)/4
    np.testing.assert_allclose(E[0], [math.exp(-0.5)] * 3, rtol=1e-14)
    np.testing.assert_allclose(A[0], [0.3 * (1 - math.exp(-0.5))] * 3, rtol=1e-13)
    np.testing.assert_allclose(E[1], [1.0, math.exp(0.2), math.exp(0.2)], rtol=1e-14)
    np.testing.assert_allclose(A[1], [-0.05, -2.6 * (math.exp(0.2) - 1) / 4, -2.6 * (math.exp(0.2) - 1) / 4], rtol=1e-12)
    # one step of V·E + A is the leak over 50 ms of a cell that stays in its segment
    v0 = 0.2
    assert lsp.leak(F32([v0]), 0.05, np.array([0]), p)[0] == pytest.approx(v0 * E[0, 0] + A[0, 0], abs=1e-7)


def test_leak_closed_form_with_segment_crossings_by_hand(p):
    """Exact solutions of the hand-made rate tables (module docstring), crossings included."""
    cases = [  # (instance, V0, dt, expected V)
        (0, 0.2, 0.1, 0.3 - 0.1 / math.e),             # relaxation from below, stays in segment 0
        (0, 0.9, 0.1, 0.3 + 0.6 / math.e),             # from 0.9 down across 0.7: 0.52073
        (0, 0.95, 0.2, 0.3 + 0.65 * math.exp(-2)),      # across 0.7 and 0.4 in one step: 0.38797
        (0, 0.1, 0.3, 0.3 - 0.2 * math.exp(-3)),
        (0, 0.05, 0.1, 0.3 - 0.25 / math.e),            # below the table (0.1 V): the first segment continues
        (0, 1.15, 0.01, 0.3 + 0.85 * math.exp(-0.1)),   # above the table (1.0 V): the end segment continues
        (1, 0.6, 0.5, math.log(5) / 4 - 0.1),           # runaway from 0.65 V down to 0.4 V at t = ln5/4, then −1 V/s
        (1, 0.3, 0.1, 0.2),                             # linear drift −1 V/s in segment 0
        (1, 0.3, 0.25, 0.05),                           # … and on below the table's first point
        (1, 0.66, 0.1, 0.65 + 0.01 * math.exp(0.4)),    # runaway upward inside segments 1–2
        # +2 V/s to 0.4 V at t = 0.05 s, runaway from −0.1 V to 0.7 V at t = 0.05 + ln(1.6)/4, then +3.2 V/s
        (2, 0.3, 0.2, 0.7 + 3.2 * (0.15 - math.log(1.6) / 4)),
        (2, 0.0, 0.25, -0.1 + 0.5 * math.exp(0.2)),     # from 0 V: 0.4 V at t = 0.2 s, then 50 ms of runaway
        (2, 0.1, 0.1, 0.3),                             # linear drift +2 V/s
        (2, 0.9, 0.2, 1.2),                             # past the g table's top: held at v_max = 1.2 V
        (1, 0.2, 0.5, 0.0),                             # drift below 0 V: held at v_min
        (0, 0.5, 0.0, 0.5),                             # no time, no change
    ]
    inst = np.array([c[0] for c in cases])
    for dt in sorted({c[2] for c in cases}):
        sel = [i for i, c in enumerate(cases) if c[2] == dt]
        with warnings.catch_warnings():
            warnings.simplefilter("error")              # no division warnings from the b = 0 segments
            got = lsp.leak(F32([cases[i][1] for i in sel]), dt, inst[sel], p)
        assert got.dtype == F32
        np.testing.assert_allclose(got, [cases[i][3] for i in sel], atol=3e-7, err_msg=f"dt = {dt}")
    # shape kept (2-D cells), and every cell computed independently of the others
    v2 = F32([[0.9, 0.6], [0.3, 0.95]])
    np.testing.assert_allclose(lsp.leak(v2, 0.1, np.array([[0, 1], [2, 0]]), p),
                               [[0.3 + 0.6 / math.e, 0.65 - 0.05 * math.exp(0.4)],
                                [-0.1 + 0.5 * math.exp(0.2), 0.3 + 0.65 / math.e]], atol=3e-7)
    for bad in (-1e-9, float("nan")):
        with pytest.raises(ConfigError) as e:
            lsp.leak(v2, bad, np.zeros((2, 2), int), p)
        assert str(e.value) == f"leak: dt_s must be ≥ 0 (got {bad})"


def test_leak_rate_by_hand(p):
    v = np.array([0.2, 0.55, 1.1, 0.2, 0.5, 0.9, 0.0])
    inst = np.array([0, 0, 0, 1, 2, 2, 2])
    np.testing.assert_allclose(lsp.leak_rate(v, inst, p), [1.0, -2.5, -8.0, -1.0, 2.4, 3.2, 2.0], rtol=1e-12)


def test_tg_reset_interpolates_and_holds_by_hand(p):
    v = F32([0.4, 0.8, 0.6, 0.1, 1.1, 1.0, 0.2, 0.7])
    inst = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    # row 0 (0.80, 0.81, 0.83 at 0.2, 0.6, 1.0 V): 0.805, 0.82, 0.81, held 0.80 below and 0.83 above;
    # row 1 at 1.0: 0.80; at 0.2: 0.79; row 2 at 0.7: 0.82 + 0.25·0.02 = 0.825
    got = lsp.tg_reset(v, inst, p)
    assert got.dtype == F32
    np.testing.assert_allclose(got, [0.805, 0.82, 0.81, 0.80, 0.83, 0.80, 0.79, 0.825], atol=2e-7)
    # a two-point table (0.2 → 0.5 V) and a one-point table
    two = lsp.population(tiny(tables={"lsp/reset_vstart_V": np.array([0.2, 1.0]),
                                      "lsp/reset_vfinal_V": np.array([[0.8, 0.9], [0.7, 0.7], [0.75, 0.85]])}))
    np.testing.assert_allclose(lsp.tg_reset(F32([0.6, 1.1, 0.0, 0.4]), np.array([0, 0, 1, 2]), two),
                               [0.85, 0.9, 0.7, 0.775], atol=2e-7)
    one = lsp.population(tiny(tables={"lsp/reset_vstart_V": np.array([0.5]), "lsp/reset_vfinal_V": RF[:, :1]}))
    r1 = lsp.tg_reset(F32([0.1, 0.9, 0.5]), np.array([0, 1, 2]), one)
    assert r1.dtype == F32
    np.testing.assert_allclose(r1, [0.80, 0.79, 0.82], atol=2e-7)
    off = lsp.population(tiny(), reset=False)
    with pytest.raises(CalibrationError) as e:
        lsp.tg_reset(v, inst, off)
    assert str(e.value) == "3T1C reset was not loaded (population(..., reset=False))"


def test_read_sigma_and_read_by_hand(p):
    v = np.array([0.6, 0.2, 1.0, 0.5])
    g = np.array([4e-6, 2e-6, 10e-6, 1e-6])
    # rel 0.0015 at 0.6 V (midway), held 0.002 below 0.4 V and 0.001 above 0.8 V, 0.00175 at 0.5 V
    s = lsp.read_sigma(v, g, p)
    assert s.dtype == F32
    np.testing.assert_allclose(s, [6e-9, 4e-9, 1e-8, 1.75e-9], rtol=1e-6)
    # a window 4× shorter than the bench's 256 ns: σ × 2 (white noise); 4× longer: σ / 2
    np.testing.assert_allclose(lsp.read_sigma(v, g, p, 64e-9), [1.2e-8, 8e-9, 2e-8, 3.5e-9], rtol=1e-6)
    np.testing.assert_allclose(lsp.read_sigma(v, g, p, 1024e-9), [3e-9, 2e-9, 5e-9, 0.875e-9], rtol=1e-6)
    # one read: g(V_C) + σ·z, z the generator's float32 normals; no generator: no noise
    vv = F32([0.6, 0.3, 1.0])
    inst = np.array([0, 1, 2])
    g0 = F32([6e-6, 5e-6, 7e-6])
    r0 = lsp.read(vv, inst, p)
    assert r0.dtype == F32
    np.testing.assert_allclose(r0, g0, rtol=1e-6)
    z = np.random.default_rng(11).standard_normal(3, dtype=F32)
    sig = np.array([0.0015, 0.002, 0.001]) * g0 * 2                 # window 64 ns
    r = lsp.read(vv, inst, p, np.random.default_rng(11), t_int_s=64e-9)
    assert r.dtype == F32
    np.testing.assert_allclose(r.astype(np.float64) - g0, sig * z, rtol=1e-4, atol=1e-14)
    off = lsp.population(tiny(), read_noise=False)
    with pytest.raises(CalibrationError) as e:
        lsp.read_sigma(v, g, off)
    assert str(e.value) == "3T1C read noise was not loaded (population(..., read_noise=False))"
    np.testing.assert_array_equal(lsp.read(vv, inst, off), r0)      # no generator: never looks at the noise


def test_leak_crossing_time_of_a_slow_exponential(p):
    """A segment with |b| < 1/s is still an exponential, crossing at t_c = ln((V_b − V∞)/(V − V∞))/b, not at the
    linear estimate (V_b − V)/rate: rate 0.5 − 0.5·V everywhere (V∞ = 1 V, τ = 2 s), from 0.2 V for 1 s →
    1 − 0.8·e^{−0.5} = 0.51478 V, across the 0.4 V boundary (the linear estimate would give 0.53273 V)."""
    slow = dataclasses.replace(p, leak_a_V_per_s=np.full((3, 3), 0.5), leak_b_per_s=np.full((3, 3), -0.5))
    got = lsp.leak(F32([0.2, 0.2]), 1.0, np.array([0, 2]), slow)
    np.testing.assert_allclose(got, [1 - 0.8 * math.exp(-0.5)] * 2, atol=3e-7)


def test_leak_of_constant_drifts_raises_no_floating_point_warnings(p):
    """Constant −0.5 V/s (b = 0 in every segment) across the 0.4 V boundary: the exponential branch of the
    crossing time, unused for b = 0, meets 0/0 (from 0.5 V = −a/b's stand-in) and log(−1) (from 0.6 V);
    they must stay silent (a warning per leak step would flood a training run)."""
    flat = dataclasses.replace(p, leak_a_V_per_s=np.full((3, 3), -0.5), leak_b_per_s=np.zeros((3, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(lsp.leak(F32([0.5]), 0.4, np.array([0]), flat), [0.3], atol=2e-7)
        np.testing.assert_allclose(lsp.leak(F32([0.6]), 0.5, np.array([1]), flat), [0.35], atol=2e-7)


def test_leak_takes_voltages_of_any_numeric_type(p):
    """V_C given as integers (1 V, 0 V) or float64 is a voltage like any other: 0.3 + 0.7/e, 0.3 − 0.3/e."""
    want = [0.3 + 0.7 / math.e, 0.3 - 0.3 / math.e]
    for v in (np.array([1, 0]), [1, 0], np.array([1.0, 0.0])):
        np.testing.assert_allclose(lsp.leak(v, 0.1, np.array([0, 0]), p), want, atol=2e-7)


def test_step_signed_works_on_the_float32_values_of_its_inputs(shipped):
    """V_C is float32 state, and the per-cell law (step_cell, shared with the array's fused update kernel) runs
    in float32: float64 V, int64 counts or a float64 cached table give exactly what their float32 values give
    (a float64 path differs in the last bits of a quarter of the cells)."""
    pop = lsp.population(shipped, c2c=False, reset=False, read_noise=False)
    rng = np.random.default_rng(1)
    m = 4000
    inst = rng.integers(0, pop.n, m)
    v = rng.uniform(0.1, 1.0, m)                                 # float64, not float32-representable
    n = rng.integers(-9, 10, m)
    ref = lsp.step_signed(v.astype(F32), n.astype(F32), inst, pop, None)
    assert ref.dtype == F32
    np.testing.assert_array_equal(lsp.step_signed(v, n.astype(F32), inst, pop, None), ref)
    np.testing.assert_array_equal(lsp.step_signed(v.astype(F32), n, inst, pop, None), ref)
    np.testing.assert_array_equal(lsp.step_signed(v.astype(F32), n.astype(F32), inst, pop, None,
                                                  table=pop.step_table().astype(np.float64)), ref)


def test_tg_reset_works_on_the_float32_values_of_its_inputs(shipped):
    """V_C is float32 state: a float64 V gives exactly what its float32 value gives (the interpolation in
    float64 would differ in the last bit for about one cell in seven)."""
    pop = lsp.population(shipped, c2c=False, reset=True, read_noise=False)
    rng = np.random.default_rng(2)
    inst = rng.integers(0, pop.n, 4000)
    v = rng.uniform(0.1, 1.2, 4000)
    np.testing.assert_array_equal(lsp.tg_reset(v, inst, pop), lsp.tg_reset(v.astype(F32), inst, pop))
