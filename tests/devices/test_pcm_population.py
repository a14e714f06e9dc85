"""pcm.population and the NumPy-level PCM functions, field by field and message by message.

Expected values are taken from the bundle's own tables with plain NumPy (or by hand), not from the model.
The numba kernels (set-pulse loop, ln ΔG cell) get no mutants (decorated functions); their physics is tested
in tests/devices/test_pcm.py and tests/array/test_kernels.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pycosim.devices import pcm
from pycosim.errors import CalibrationError, ConfigError

F32 = np.float32


def _bundle(shipped, drop=(), tables=None, scalars=None):
    t = {k: v for k, v in shipped.tables.items() if k not in drop} | (tables or {})
    s = {sec: dict(v) for sec, v in shipped.scalars.items()}
    for sec, kv in (scalars or {}).items():
        s[sec].update(kv)
    return type(shipped)(scalars=s, tables=t, provenance={}, path=None)


def test_population_fields_from_the_tables(shipped):
    p = pcm.population(shipped, drift_t_prog_s=7e-6)
    st, res = shipped["pcm/staircase_g_S"], shipped["pcm/fit_dg_residual_S"]
    coef = shipped["pcm/fit_coef"]
    n = st.shape[0]
    assert p.n == n
    for name in ("coef", "g_lo_S", "g_hi_S", "slope_lo", "slope_hi", "c2c_by_pulse_S", "g_max_S", "g_reset_S",
                 "g_initial_S", "drift_levels", "drift_nu", "drift_ln_g", "drift_level_x", "noise_g_S", "noise_rel"):
        assert getattr(p, name).dtype == F32, name
    np.testing.assert_array_equal(p.coef, coef.astype(F32))
    np.testing.assert_allclose(p.g_lo_S, st[:, 0], rtol=1e-6)
    np.testing.assert_allclose(p.g_hi_S, st[:, -2], rtol=1e-6)             # the last G *before* a pulse
    np.testing.assert_array_equal(p.g_initial_S, st[:, 0].astype(F32))
    np.testing.assert_array_equal(p.c2c_by_pulse_S, res.T.astype(F32))
    assert p.c2c_by_pulse_S.flags.c_contiguous
    top = (shipped["pcm/stair_clean_g_S"][:, :st.shape[1]] if "pcm/stair_clean_g_S" in shipped.tables else st).max(axis=1)
    np.testing.assert_array_equal(p.g_max_S, np.maximum(shipped["pcm/g_max_S"], top).astype(F32))
    np.testing.assert_array_equal(p.g_reset_S, np.maximum(shipped["pcm/g_reset_S"], 0).astype(F32))
    assert np.all(p.slope_lo == 0) and p.slope_lo.shape == (n,)
    # d ln ΔG/dG_µS = c₁ + 2c₂·G_µS at the top of the fitted range, never positive
    want = np.minimum(coef[:, 1] + 2 * coef[:, 2] * st[:, -2] * 1e6, 0)
    np.testing.assert_allclose(p.slope_hi, want, rtol=1e-5, atol=1e-7)
    assert p.dg_fit == shipped.scalars["pcm"]["dg_fit"] and isinstance(p.dg_fit, dict)
    np.testing.assert_array_equal(p.drift_levels, shipped["pcm/drift_levels"].astype(F32))
    np.testing.assert_allclose(p.drift_nu, shipped["pcm/drift_nu"], rtol=1e-6)
    ln_g = np.log(shipped["pcm/drift_g_S"] / shipped["pcm/drift_g_prog_S"][..., None])
    np.testing.assert_allclose(p.drift_ln_g[..., 1:], ln_g, rtol=1e-5, atol=1e-6)
    assert np.all(p.drift_ln_g[..., 0] == 0) and p.drift_t_prog_s == 7e-6
    np.testing.assert_array_equal(p.drift_t_s, np.concatenate([[7e-6], shipped["pcm/drift_t_s"]]))
    assert p.drift_t_on_s == shipped.scalars["pcm"]["drift_t_on_s"] == 1e-6
    np.testing.assert_array_equal(p.noise_g_S, shipped["pcm/read_noise_g_S"].astype(F32))
    np.testing.assert_array_equal(p.noise_rel, shipped["pcm/read_noise_rel_sigma"].astype(F32))
    assert p.noise_t_int_s == shipped.scalars["pcm"]["read_noise_t_int_s"]
    assert p.noise_t_rec_s == shipped.scalars["pcm"]["read_noise_record_s"]
    q = pcm.population(shipped, drift_t_on_s=2e-5)
    assert q.drift_t_on_s == 2e-5
    with pytest.raises(ConfigError, match="drift_t_on_s"):
        pcm.population(shipped, drift_t_on_s=0.0)
    r = pcm.population(_bundle(shipped, scalars={"pcm": {"drift_t_prog_s": 5e-6}}), drift_t_prog_s=7e-6)
    assert r.drift_t_prog_s == 5e-6                                        # the bundle's scalar first
    off = pcm.population(shipped, drift=False, read_noise=False)
    assert off.drift_nu is None and off.drift_levels is None and off.noise_rel is None


def test_population_d2d_scale_zero_is_the_mean_device(shipped):
    p = pcm.population(shipped, d2d_scale=0.0, drift_t_prog_s=7e-6)
    coef, st = shipped["pcm/fit_coef"], shipped["pcm/staircase_g_S"]
    np.testing.assert_allclose(p.coef, np.broadcast_to(coef.mean(axis=0), coef.shape), rtol=1e-5)
    top = (shipped["pcm/stair_clean_g_S"][:, :st.shape[1]] if "pcm/stair_clean_g_S" in shipped.tables else st).max(axis=1)
    gmax = np.maximum(shipped["pcm/g_max_S"], top)
    np.testing.assert_allclose(p.g_max_S, np.full(gmax.shape, gmax.mean()), rtol=1e-5)
    np.testing.assert_allclose(p.g_reset_S, np.full(gmax.shape, shipped["pcm/g_reset_S"].mean()), rtol=1e-5)
    np.testing.assert_allclose(p.drift_nu, np.broadcast_to(shipped["pcm/drift_nu"].mean(axis=0), p.drift_nu.shape),
                               rtol=1e-5)


@pytest.mark.parametrize("table, feature", [
    ("pcm/staircase_g_S", "PCM SET pulses"), ("pcm/fit_coef", "PCM SET pulses"), ("pcm/g_max_S", "PCM G_max"),
    ("pcm/g_reset_S", "PCM RESET"), ("pcm/fit_dg_residual_S", "PCM cycle-to-cycle noise"),
    ("pcm/drift_levels", "PCM drift"), ("pcm/drift_nu", "PCM drift"), ("pcm/drift_t_s", "PCM drift"),
    ("pcm/drift_g_prog_S", "PCM drift"), ("pcm/drift_g_S", "PCM drift"),
    ("pcm/read_noise_g_S", "PCM read noise"), ("pcm/read_noise_rel_sigma", "PCM read noise")])
def test_population_names_the_missing_table_and_its_feature(shipped, table, feature):
    with pytest.raises(CalibrationError) as e:
        pcm.population(_bundle(shipped, drop=(table,)), drift_t_prog_s=7e-6)
    assert f"table {table!r} (needed for {feature}) is missing; regenerate the bundle with pycosim characterize " \
           f"(or disable {feature})" in str(e.value)


@pytest.mark.parametrize("key, feature", [("read_noise_t_int_s", "PCM read noise"),
                                          ("read_noise_record_s", "PCM read noise"), ("dg_fit", "PCM open-loop tuning")])
def test_population_names_the_missing_scalar_and_its_feature(shipped, key, feature):
    b = _bundle(shipped)
    del b.scalars["pcm"][key]
    with pytest.raises(CalibrationError) as e:
        pcm.population(b, drift_t_prog_s=7e-6)
    assert f"scalar pcm.{key} (needed for {feature}) is missing" in str(e.value)


def test_population_refusals_are_exact(shipped):
    st = shipped["pcm/staircase_g_S"]
    n, k = st.shape

    def msg(b, **kw):
        with pytest.raises(CalibrationError) as e:
            pcm.population(b, **kw)
        return str(e.value)

    assert msg(_bundle(shipped, tables={"pcm/g_max_S": np.ones(n - 1)}), drift=False) == (
        f"pcm/g_max_S, pcm/g_reset_S and pcm/staircase_g_S disagree on the instance count ({n - 1}, {n}, {n})")
    assert msg(_bundle(shipped, tables={"pcm/g_reset_S": np.ones(n + 2)}), drift=False) == (
        f"pcm/g_max_S, pcm/g_reset_S and pcm/staircase_g_S disagree on the instance count ({n}, {n + 2}, {n})")
    assert msg(_bundle(shipped, tables={"pcm/fit_coef": np.ones((n, 4))}), drift=False) == (
        f"pcm/fit_coef ({n}, 4) and pcm/fit_dg_residual_S ({n}, {k - 1}) do not fit pcm/staircase_g_S ({n}, {k}) "
        f"(expected ({n}, 3) and ({n}, {k - 1}))")
    assert msg(_bundle(shipped, tables={"pcm/fit_dg_residual_S": np.ones((n, k))}), drift=False).startswith(
        f"pcm/fit_coef ({n}, 3) and pcm/fit_dg_residual_S ({n}, {k})")
    L = shipped["pcm/drift_levels"].shape[0]
    assert msg(_bundle(shipped, tables={"pcm/drift_nu": np.ones((n, L + 1))}), drift_t_prog_s=7e-6) == (
        f"pcm/drift_nu has shape ({n}, {L + 1}), expected ({n}, {L})")
    assert msg(_bundle(shipped, tables={"pcm/drift_nu": np.ones(n)}), drift_t_prog_s=7e-6) == (
        f"pcm/drift_nu has shape ({n},), expected ({n}, {L})")
    T = shipped["pcm/drift_t_s"].shape[0]
    assert msg(_bundle(shipped, tables={"pcm/drift_g_S": np.ones((n, L, T - 1))})) == (
        f"pcm/drift_g_S has shape ({n}, {L}, {T - 1}), expected ({n}, {L}, {T})")
    no_tp = _bundle(shipped)
    del no_tp.scalars["pcm"]["drift_t_prog_s"]
    assert msg(no_tp) == ("PCM drift: the read time of pcm/drift_g_prog_S is neither the bundle scalar "
                          "pcm.drift_t_prog_s nor given (drift_t_prog_s)")
    no_on = _bundle(shipped)
    del no_on.scalars["pcm"]["drift_t_on_s"]
    assert msg(no_on) == ("PCM drift: the onset t_on is neither the bundle scalar pcm.drift_t_on_s nor given "
                          "(drift_t_on_s); regenerate the bundle with pycosim characterize")
    early = _bundle(shipped, tables={"pcm/drift_t_s": np.concatenate([[1e-6], shipped["pcm/drift_t_s"][1:]])})
    assert msg(early) == "pcm/drift_t_s must lie after the programmed read t_p = 7e-06 s"
    for name in ("d2d_scale", "drift_scale", "drift_d2d_scale"):
        with pytest.raises(ConfigError) as e:
            pcm.population(shipped, drift=False, **{name: -0.5})
        assert str(e.value) == f"pcm {name}=-0.5: must be ≥ 0"


def test_open_loop_pulses_by_hand():
    # gs = 1 µS, dg0 = 0.1 µS: n = gs/dg0·(e^(G_to/gs) − e^(G_from/gs)) = 10·(e² − 1) = 63.89 → 64;
    # 0.5 → 1 µS: 10·(e − e^0.5) = 10.69 → 11; downwards → 0; above the budget → max_pulses; huge G_to: no overflow
    fit = {"gs_S": 1e-6, "dg0_S": 0.1e-6}
    n = pcm.open_loop_pulses([0.0, 0.5e-6, 2e-6, 0.0, 0.0], [2e-6, 1e-6, 1e-6, 5e-6, 1.0], fit, 100)
    assert n.dtype == np.int32 and n.tolist() == [64, 11, 0, 100, 100]
    assert math.isclose(10 * (math.e ** 2 - 1), 63.89, abs_tol=0.01)
    assert pcm.open_loop_pulses(0.0, 1e-9, fit, 100).tolist() == 0        # 10·(e^0.001 − 1) = 0.01 → 0
    assert pcm.open_loop_pulses(np.float32(0.0), np.float32(2e-6), fit, 1000) == 64
    # the exponent is capped at 700 before exp (e^700 finite), then clipped to the budget
    assert pcm.open_loop_pulses(0.0, 701e-6, fit, 2 ** 31 - 1) == 2 ** 31 - 1


def test_reset_and_read_sigma(shipped):
    p = pcm.population(shipped, drift=False, read_noise=True)
    G = np.array([1e-6, 2e-6, 3e-6])                                        # float64 in
    r = pcm.reset(G, [1, 0, 1], np.array([0, 1, 2]), p)
    assert r.dtype == F32 and r.tolist() == [p.g_reset_S[0], F32(2e-6), p.g_reset_S[2]]
    # window longer than half the record: clamped at t_rec/2 → rel·√(ln 2/ln(t_rec/t_b))
    g = np.array([2e-6, 10e-6])
    rel = np.interp(g, p.noise_g_S.astype(np.float64), p.noise_rel.astype(np.float64))
    t_rec, t_b = p.noise_t_rec_s, p.noise_t_int_s
    for t in (t_rec, 0.6 * t_rec):
        s = pcm.read_sigma(g, p, t)
        assert s.dtype == F32
        np.testing.assert_allclose(s, rel * g * math.sqrt(math.log(2) / math.log(t_rec / t_b)), rtol=1e-5)
    np.testing.assert_allclose(pcm.read_sigma(g, p), rel * g, rtol=1e-6)
    off = pcm.population(shipped, drift=False, read_noise=False)
    with pytest.raises(CalibrationError) as e:
        pcm.read_sigma(g, off)
    assert str(e.value) == "PCM read noise was not loaded (population(..., read_noise=False))"
    with pytest.raises(CalibrationError) as e:
        pcm.drift_nu(g, np.array([0, 1]), off)
    assert str(e.value) == "PCM drift was not loaded (population(..., drift=False))"
    with pytest.raises(CalibrationError) as e:
        pcm.drift_params(g, np.array([0, 1]), off)
    assert str(e.value) == "PCM drift was not loaded (population(..., drift=False))"


def test_set_pulses_shapes_dtypes_and_a_single_device(shipped):
    p = pcm.population(shipped, drift=False, read_noise=False)
    # one device, one pulse: it moves (no shortcut for a single active device); float64 in → float32 out,
    # the counter int32 from an int64 'since'
    g, c = pcm.set_pulses(np.array([p.g_reset_S[0]], np.float64), 1, np.array([0]), p, np.random.default_rng(0),
                          since=np.array([0], np.int64), c2c_scale=0.0)
    assert g.dtype == F32 and c.dtype == np.int32 and c.tolist() == [1]
    assert g[0] > p.g_reset_S[0]
    # a 2-D array of devices: the same as the flat call
    inst = np.arange(6).reshape(2, 3) % p.n
    G = np.broadcast_to(p.g_reset_S[inst], (2, 3)).astype(F32)
    n = np.array([[0, 1, 2], [3, 0, 1]])
    g2, c2 = pcm.set_pulses(G, n, inst, p, np.random.default_rng(1), since=0, c2c_scale=0.0)
    g1, c1 = pcm.set_pulses(G.ravel(), n.ravel(), inst.ravel(), p, np.random.default_rng(1), since=0, c2c_scale=0.0)
    assert g2.shape == (2, 3) and np.array_equal(g2.ravel(), g1) and np.array_equal(c2.ravel(), c1)
    assert c2.tolist() == [[0, 1, 2], [3, 0, 1]]
    assert g2[0, 0] == G[0, 0] and g2[1, 1] == G[1, 1]


def test_read_is_g_plus_sigma_times_a_float32_normal(shipped):
    p = pcm.population(shipped, drift=False, read_noise=True)
    G = np.array([2e-6, 5e-6, 10e-6], np.float64)
    inst = np.array([0, 1, 2])
    assert pcm.read(G, inst, p).dtype == F32
    t = p.noise_t_int_s / 50
    z = np.random.default_rng(3).standard_normal(3, dtype=np.float32)
    g32 = G.astype(F32)
    want = g32 + pcm.read_sigma(g32, p, t) * z
    np.testing.assert_array_equal(pcm.read(G, inst, p, np.random.default_rng(3), t_int_s=t), want)


def test_drift_holds_outside_the_levels_and_continues_with_nu(shipped):
    p = pcm.population(shipped, drift_t_prog_s=7e-6)
    inst = np.arange(4)
    # below the lowest level position and above the highest, ν is held at the end levels
    np.testing.assert_allclose(pcm.drift_nu(np.zeros(4), inst, p), p.drift_nu[inst, 0], rtol=1e-6)
    np.testing.assert_allclose(pcm.drift_nu(3 * p.g_max_S[inst], inst, p), p.drift_nu[inst, -1], rtol=1e-6)
    L = pcm.drift_params(0.5 * p.g_max_S[inst].astype(np.float64), inst, p)
    assert L.dtype == F32 and np.all((L >= 0) & (L <= p.drift_levels.size - 1))
    assert pcm.drift(0.5 * p.g_max_S[inst].astype(np.float64), 10.0, inst, p).dtype == F32
    # above the top level: the top level's curve; beyond the last read (10⁴ s): ((t + t_on)/(t_last + t_on))^−ν
    top = pcm.drift(3 * p.g_max_S[inst], 1e6, inst, p) / (3 * p.g_max_S[inst])
    t_last, t_on = p.drift_t_s[-1], p.drift_t_on_s
    want = np.exp(p.drift_ln_g[inst, -1, -1].astype(np.float64)) * ((1e6 + t_on) / (t_last + t_on)) ** -p.drift_nu[inst, -1].astype(np.float64)
    np.testing.assert_allclose(top, want, rtol=1e-5)
    # before t_p nothing drifts
    np.testing.assert_array_equal(pcm.drift(p.g_max_S[inst], 1e-6, inst, p), p.g_max_S[inst])


def test_c2c_draw_takes_the_residual_of_pulse_min_since_j_of_a_random_staircase(shipped):
    p = pcm.population(shipped, drift=False, read_noise=False)
    tab = p.c2c_by_pulse_S
    J, cols = tab.shape
    since = np.array([0, 3, J - 1, J + 50])
    d = pcm.c2c_draw(since, p, np.random.default_rng(5))
    pick = np.random.default_rng(5).integers(0, cols, size=4)
    assert d.dtype == F32 and d.tolist() == tab[[0, 3, J - 1, J - 1], pick].tolist()


def test_mean_log_dg_is_the_fitted_quadratic_held_below_and_sloped_above(shipped):
    p = pcm.population(shipped, drift=False, read_noise=False)
    k = np.array([0, 1, 2])
    c = p.coef[k].astype(np.float64)
    lo, hi = p.g_lo_S[k].astype(np.float64) * 1e6, p.g_hi_S[k].astype(np.float64) * 1e6
    quad = lambda g: c[:, 0] + c[:, 1] * g + c[:, 2] * g * g  # noqa: E731
    mid = 0.5 * (lo + hi)
    y = pcm.mean_log_dg((mid * 1e-6).astype(F32), k, p)
    assert y.dtype == F32 and y.shape == (3,)
    np.testing.assert_allclose(y, quad(mid), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(pcm.mean_log_dg(np.zeros(3, F32), k, p), quad(lo), rtol=1e-4, atol=1e-4)
    above = hi + 2.0                                                      # 2 µS above the range
    np.testing.assert_allclose(pcm.mean_log_dg((above * 1e-6).astype(F32), k, p),
                               quad(hi) + 2.0 * p.slope_hi[k], rtol=1e-4, atol=1e-4)
    # broadcasting: one G against three devices, a (2, 1) column against them
    assert pcm.mean_log_dg(F32(mid[0] * 1e-6), k, p).shape == (3,)
    assert pcm.mean_log_dg(np.full((2, 1), mid[0] * 1e-6, F32), k, p).shape == (2, 3)


def test_drift_ratio_of_a_zero_conductance_stays_finite(shipped):
    """ln(G(t)/G(t_p)) with both clipped at 1e-30 S: a device that read 0 S (a dead instance) gives a
    finite, if large, log-drift instead of ±inf or NaN."""
    gp, gt = shipped["pcm/drift_g_prog_S"].copy(), shipped["pcm/drift_g_S"].copy()
    gp[0, 0], gt[1, 0, 3] = 0.0, 0.0
    b = _bundle(shipped, tables={"pcm/drift_g_prog_S": gp, "pcm/drift_g_S": gt})
    p = pcm.population(b, drift_t_prog_s=7e-6, d2d_scale=0.0, drift_d2d_scale=1.0)
    assert np.all(np.isfinite(p.drift_ln_g))


def test_reset_spares_only_the_stuck_devices(shipped):
    p = pcm.population(shipped, drift=False, read_noise=False)
    G = np.full(4, 9e-6, F32)
    r = pcm.reset(G, np.ones(4, bool), np.arange(4), p, stuck=np.array([False, True, False, True]))
    assert r.tolist() == [p.g_reset_S[0], F32(9e-6), p.g_reset_S[2], F32(9e-6)]


def test_set_pulses_draws_from_every_staircase_column(shipped):
    """The c2c residual of a pulse comes from a random staircase among all of them, the first included: with
    a residual table that is zero except in column 0, some of 3,000 single pulses carry exactly that
    residual (expected 3,000/n_columns)."""
    import dataclasses

    p = pcm.population(shipped, drift=False, read_noise=False)
    tab = np.zeros_like(p.c2c_by_pulse_S)
    tab[:, 0] = 1e-7
    q = dataclasses.replace(p, c2c_by_pulse_S=tab, c2c_law=None, clean_g_S=None, g_sat_S=None)  # the measured path
    inst = np.arange(3000) % q.n
    G = q.g_reset_S[inst]
    with_c2c, _ = pcm.set_pulses(G, 1, inst, q, np.random.default_rng(0), since=0, c2c_scale=1.0)
    without, _ = pcm.set_pulses(G, 1, inst, q, np.random.default_rng(0), since=0, c2c_scale=0.0)
    hit = np.abs((with_c2c - without) - 1e-7) < 1e-9
    assert 3000 / tab.shape[1] / 3 < hit.sum() < 3 * 3000 / tab.shape[1]
    assert np.all(hit | (with_c2c == without))


def test_set_law_replays_the_clean_staircase_and_draws_its_sigma(shipped):
    """The SET law of a simulated bundle: without c2c (c2c_scale = 0) a device started at the first point of its
    deterministic staircase (pcm/stair_clean_g_S) follows it pulse by pulse (to float32 rounding); with c2c one
    pulse from many states is ΔG = m_k(G) + σ_k(G)·(β + z) with σ_k(G) = c·m_k(G) + a·G_sat,k + b·G (pop.c2c_law) and
    β the bin's offset (pop.c2c_bias): the standardised steps less β have mean 0 and σ 1 (4,000 pulses away from the
    ceiling); every G stays ≤ G_sat,k."""
    p = pcm.population(shipped, drift=False, read_noise=False)
    assert p.c2c_law is not None and p.c2c_law.shape == (3,) and np.all(p.c2c_law > 0)
    inst = np.arange(p.n)
    clean = p.clean_g_S
    g, c = clean[:, 0].copy(), np.zeros(p.n, np.int32)
    for j in range(1, 21):
        g, c = pcm.set_pulses(g, 1, inst, p, np.random.default_rng(j), since=c, c2c_scale=0.0)
        np.testing.assert_allclose(g, clean[:, j], rtol=2e-5, atol=1e-12)
    rng = np.random.default_rng(3)
    k = np.repeat(inst, 40)
    G = (clean[k, 5] + rng.random(k.size).astype(F32) * (clean[k, 40] - clean[k, 5])).astype(F32)
    new, _ = pcm.set_pulses(G, 1, k, p, np.random.default_rng(4), since=0)
    m = pcm.clean_mean_dg(G, k, p).astype(np.float64)
    sd = pcm.c2c_sigma(G, k, p).astype(np.float64)
    np.testing.assert_allclose(sd, p.c2c_law[0] * m + p.c2c_law[1] * p.g_sat_S[k] + p.c2c_law[2] * G, rtol=1e-5)
    free = (new < p.g_sat_S[k]) & (new > np.minimum(p.g_reset_S[k], G))
    j = np.clip(np.digitize(G / p.g_sat_S[k], p.c2c_bias_edges_u) - 1, 0, p.c2c_bias.size - 1)
    z = ((new.astype(np.float64) - G - m) / sd - p.c2c_bias[j])[free]                 # the bin's mean offset β
    print(f"\nstandardised steps: mean {z.mean():+.3f}, sigma {z.std():.3f} ({free.sum()} of {k.size} off the bounds)")
    assert free.sum() > 3500 and abs(z.mean()) < 0.06 and abs(z.std() - 1) < 0.05
    assert np.all(new <= np.maximum(p.g_sat_S[k], G))
