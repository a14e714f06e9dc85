"""PCM drift and read-noise helpers at their edges: the level coordinate held outside a device's levels, the
drift curve at and before t_p, the float32 results, the refusals without drift tables. Expected values from
the laws' docstrings (held ends, G(t ≤ t_p) = G, the onset law of uniform_drift) and hand arithmetic.

Round 5 (below): the deterministic-staircase SET law (clean_mean_dg, c2c_sigma, one pulse of the law kernel), the
tables population() reads for it and their refusals, float64 inputs taken at their float32 values, and the
endurance functions (endurance_cycles, failure_modes, stress, wear_out) by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.devices import pcm
from pycosim.errors import CalibrationError, ConfigError

F32 = np.float32


@pytest.fixture(scope="module")
def pop(shipped):
    return pcm.population(shipped)


def test_level_coordinate_is_held_outside_the_devices_levels(pop):
    """Guards the split L = j + f (j in 0 … n_l − 2, f in [0, 1]): a coordinate below 0 reads as level 0 and one
    above n_l − 1 as the top level (no extrapolation of the drift curve or of ν past the measured levels)."""
    n_l = pop.drift_ln_g.shape[1]
    k = np.array([0, 1, 2, 3])
    G = np.full(4, 5e-6, F32)
    t = 100.0
    at0 = pcm.drift_with(G, t, np.zeros(4, F32), k, pop)
    top = pcm.drift_with(G, t, np.full(4, n_l - 1, F32), k, pop)
    np.testing.assert_array_equal(pcm.drift_with(G, t, np.full(4, -0.5, F32), k, pop), at0)
    np.testing.assert_array_equal(pcm.drift_with(G, t, np.full(4, n_l - 1 + 0.7, F32), k, pop), top)
    assert np.all(at0 != top)                                 # the levels do differ
    # on the ν tail (beyond the last stored read) too
    far = 100 * float(pop.drift_t_s[-1])
    np.testing.assert_array_equal(pcm.drift_with(G, far, np.full(4, -0.5, F32), k, pop),
                                  pcm.drift_with(G, far, np.zeros(4, F32), k, pop))
    np.testing.assert_array_equal(pcm.drift_with(G, far, np.full(4, n_l + 0.5, F32), k, pop),
                                  pcm.drift_with(G, far, np.full(4, n_l - 1, F32), k, pop))


def test_drift_before_t_p_is_none_and_results_are_float32(pop):
    """Guards G(t ≤ t_p) = G (the curve's origin: ln g = 0 at t_p) and the float32 results of drift_with, drift_nu,
    age_growth and uniform_drift's table."""
    k = np.arange(5)
    G = np.linspace(2e-6, 20e-6, 5).astype(F32)
    L = pcm.drift_params(G, k, pop)
    for t in (0.0, 0.5 * pop.drift_t_prog_s, pop.drift_t_prog_s):
        out = pcm.drift_with(G, t, L, k, pop)
        assert out.dtype == F32
        np.testing.assert_allclose(out, G, rtol=2e-7)
    assert pcm.drift_nu(G, k, pop).dtype == F32
    assert pcm.age_growth(np.array([1e-3, 1.0]), pop).dtype == F32
    u = pcm.uniform_drift(pop, 0.05)
    assert u.drift_ln_g.dtype == F32 and u.drift_ln_g.shape == pop.drift_ln_g.shape
    # the onset law with one exponent: G(t)/G = ((t + t_on)/(t_p + t_on))^−ν at a stored read time
    t1 = float(pop.drift_t_s[3])
    want = ((t1 + pop.drift_t_on_s) / (pop.drift_t_prog_s + pop.drift_t_on_s)) ** -0.05
    np.testing.assert_allclose(pcm.drift_with(G, t1, pcm.drift_params(G, k, u), k, u) / G, want, rtol=1e-5)


def test_drift_refusals_without_drift_tables_are_exact(shipped):
    """Guards the one-line refusal of drift laws on a population loaded without drift."""
    p = pcm.population(shipped, drift=False)
    for call in (lambda: pcm.drift_with(np.ones(2, F32), 1.0, np.zeros(2, F32), np.arange(2), p),
                 lambda: pcm.drift_params(np.ones(2, F32), np.arange(2), p)):
        with pytest.raises(CalibrationError) as e:
            call()
        assert str(e.value) == "PCM drift was not loaded (population(..., drift=False))"


def test_level_coordinate_of_conductances_outside_the_programmed_levels(pop):
    """Guards drift_params' held ends: G below a device's lowest programmed level has L = 0, G above its highest
    L = n_l − 1 (f clipped to [0, 1]), and a G between two levels the fraction of the way between them."""
    n_l = pop.drift_level_x.shape[1]
    k = np.array([0, 1, 2])
    gmax = pop.g_max_S[k]
    lev = pop.drift_level_x[k]
    assert np.all(lev[:, 0] > 0) and np.all(lev[:, -1] < 1.5)
    low = (0.5 * lev[:, 0] * gmax).astype(F32)
    high = (1.5 * gmax).astype(F32)
    np.testing.assert_array_equal(pcm.drift_params(low, k, pop), np.zeros(3, F32))
    np.testing.assert_array_equal(pcm.drift_params(high, k, pop), np.full(3, n_l - 1, F32))
    x = 0.25 * lev[:, 2] + 0.75 * lev[:, 3]                   # a quarter of the way back from level 3 to 2
    L = pcm.drift_params((x * gmax).astype(F32), k, pop)
    np.testing.assert_allclose(L, 2.75, atol=2e-5)


def test_nu_tail_starts_right_after_the_last_stored_read(pop):
    """Guards the continuation past the bench's last read t_L: ln G(t)/G(t_L) = −ν_k(L)·ln((t + t_on)/(t_L + t_on)),
    also less than an e-fold past t_L (t = 2·t_L)."""
    k = np.arange(4)
    G = np.array([3e-6, 6e-6, 10e-6, 15e-6], F32)
    L = pcm.drift_params(G, k, pop)
    tL, t_on = float(pop.drift_t_s[-1]), pop.drift_t_on_s
    r = pcm.drift_with(G, 2 * tL, L, k, pop).astype(np.float64) / pcm.drift_with(G, tL, L, k, pop)
    nu = pcm.drift_nu(G, k, pop).astype(np.float64)
    assert np.all(nu > 0.01)
    np.testing.assert_allclose(r, ((2 * tL + t_on) / (tL + t_on)) ** -nu, rtol=2e-5)


def _edited(shipped, drop_scalar=None, tables=None):
    from pycosim.calibration import Bundle
    sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
    if drop_scalar:
        sc["pcm"].pop(drop_scalar)
    return Bundle(scalars=sc, tables=dict(shipped.tables) | (tables or {}), provenance={}, path=None)


def test_drift_read_time_from_the_argument_when_the_bundle_lacks_it(shipped):
    """Guards t_p's fallback: without the bundle scalar pcm.drift_t_prog_s the argument is the programmed read's
    time; with neither, the one-line refusal."""
    b = _edited(shipped, drop_scalar="drift_t_prog_s")
    p = pcm.population(b, drift_t_prog_s=5e-6)
    assert p.drift_t_prog_s == 5e-6 and p.drift_t_s[0] == 5e-6
    with pytest.raises(CalibrationError) as e:
        pcm.population(b)
    assert str(e.value).startswith("PCM drift: the read time of pcm/drift_g_prog_S is neither the bundle scalar")


def test_drift_reads_must_come_strictly_after_the_programmed_read(shipped):
    """Guards the check t_i > t_p of the drift table (a read at t_p itself would make ln(t + t_on) repeat)."""
    tp = float(shipped.scalars["pcm"]["drift_t_prog_s"])
    t = np.array(shipped.tables["pcm/drift_t_s"], np.float64)
    t[0] = tp
    with pytest.raises(CalibrationError) as e:
        pcm.population(_edited(shipped, tables={"pcm/drift_t_s": t}))
    assert str(e.value) == f"pcm/drift_t_s must lie after the programmed read t_p = {tp} s"


# ------------------------------------------------------------------------------------------- round 5 (2026-12-07)
# The deterministic-staircase SET law (clean_mean_dg, c2c_sigma, the law kernel) and the tables population() reads
# for it: expectations from the docstrings' equations, the bundle's own tables and invariants.

def _bundle(shipped, drop=(), tables=None):
    from pycosim.calibration import Bundle
    sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
    t = {k: v for k, v in shipped.tables.items() if k not in drop} | (tables or {})
    return Bundle(scalars=sc, tables=t, provenance={}, path=None)


def _refusal(b):
    with pytest.raises(CalibrationError) as e:
        pcm.population(b)
    return str(e.value)


def test_g_max_without_a_deterministic_staircase_is_the_larger_of_g_max_and_the_rows_own_maximum(shipped):
    """Guards G_max,k = max(pcm/g_max_S[k], max of staircase row k) for a bundle without pcm/stair_clean_g_S (data
    from measured arrays): each device's own row, not the maximum over all rows, and not left out."""
    b = _bundle(shipped, drop=("pcm/stair_clean_g_S",))
    p = pcm.population(b)
    assert p.clean_g_S is None and p.c2c_law is None
    st = shipped["pcm/staircase_g_S"]
    want = np.maximum(shipped["pcm/g_max_S"], st.max(axis=1))
    np.testing.assert_allclose(p.g_max_S, want, rtol=1e-6)
    assert np.ptp(p.g_max_S) > 0.05 * p.g_max_S.max()         # devices differ: one pooled maximum would not


def test_population_refuses_a_deterministic_staircase_of_another_device_count(shipped):
    """Guards the row check of pcm/stair_clean_g_S against pcm/staircase_g_S and its exact message."""
    n = shipped["pcm/staircase_g_S"].shape[0]
    clean = shipped["pcm/stair_clean_g_S"][:n - 3]
    assert _refusal(_bundle(shipped, tables={"pcm/stair_clean_g_S": clean})) == (
        f"pcm/stair_clean_g_S has {n - 3} rows, pcm/staircase_g_S {n}")


@pytest.mark.parametrize("table, feature", [
    ("pcm/g_sat_S", "PCM SET pulses"), ("pcm/c2c_law", "PCM cycle-to-cycle noise"),
    ("pcm/c2c_bias_edges_u", "PCM cycle-to-cycle noise"), ("pcm/c2c_bias", "PCM cycle-to-cycle noise")])
def test_population_names_the_missing_table_of_the_set_law(shipped, table, feature):
    """Guards the feature named when a table of the deterministic-staircase SET law is missing while
    pcm/stair_clean_g_S is there (require_table's message, pycosim.devices)."""
    msg = _refusal(_bundle(shipped, drop=(table,)))
    assert (f"table {table!r} (needed for {feature}) is missing; regenerate the bundle with pycosim characterize "
            f"(or disable {feature})") in msg


def test_population_refuses_bad_bias_tables_exactly(shipped):
    """Guards each clause of the c2c-bias check (edges 1-D, one bias per bin, edges strictly increasing, bias
    finite) and its message."""
    edges, bias = shipped["pcm/c2c_bias_edges_u"], shipped["pcm/c2c_bias"]

    def msg(e, bb):
        return _refusal(_bundle(shipped, tables={"pcm/c2c_bias_edges_u": e, "pcm/c2c_bias": bb}))

    def want(e, bb):
        return (f"pcm/c2c_bias_edges_u {np.shape(e)} and pcm/c2c_bias {np.shape(bb)}: increasing edges and one "
                f"finite value per bin")

    nan = bias.copy()
    nan[2] = np.nan
    flat = edges.copy()
    flat[3] = flat[2]                                          # a bin of width 0
    for e, bb in ((edges, nan), (edges, bias[:-1]), (edges[None, :], bias), (flat, bias)):
        assert msg(e, bb) == want(e, bb)


def test_population_refuses_bad_set_law_tables_exactly(shipped):
    """Guards the shape check of pcm/g_sat_S (one per device, on its own), the c2c_law check (three values, each
    finite and ≥ 0: a zero is allowed, a negative or a fourth value is not) and their messages."""
    n = shipped["pcm/staircase_g_S"].shape[0]
    clean = shipped["pcm/stair_clean_g_S"]
    g_sat = np.concatenate([shipped["pcm/g_sat_S"], [3e-5]])
    assert _refusal(_bundle(shipped, tables={"pcm/g_sat_S": g_sat})) == (
        f"pcm/stair_clean_g_S {clean.shape} and pcm/g_sat_S ({n + 1},) do not fit pcm/staircase_g_S "
        f"{shipped['pcm/staircase_g_S'].shape} (expected {n} rows)")
    law = shipped["pcm/c2c_law"].astype(np.float64)
    for bad in (np.append(law, 0.1), law * np.array([1.0, -1.0, 1.0]), law * np.array([1.0, 1.0, np.nan])):
        assert _refusal(_bundle(shipped, tables={"pcm/c2c_law": bad})) == (
            f"pcm/c2c_law {bad}: (c, a, b), three finite values ≥ 0")
    p = pcm.population(_bundle(shipped, tables={"pcm/c2c_law": law * np.array([1.0, 0.0, 1.0])}))
    assert p.c2c_law[1] == 0 and p.c2c_law[0] == F32(law[0])


def test_set_law_tables_and_results_are_float32(shipped):
    """Guards the float32 documented for clean_g_S, g_sat_S, c2c_law, c2c_bias_edges_u, c2c_bias (PCMPopulation)
    and for the results of clean_mean_dg and c2c_sigma. (The population is built here, not taken from the
    module's fixture, so that population() is run by this test.)"""
    pop = pcm.population(shipped, drift=False, read_noise=False)
    for name in ("clean_g_S", "g_sat_S", "c2c_law", "c2c_bias_edges_u", "c2c_bias"):
        assert getattr(pop, name).dtype == F32, name
    assert pop.clean_g_S.flags.c_contiguous
    k = np.arange(6)
    G = pop.clean_g_S[k, 3]
    assert pcm.clean_mean_dg(G, k, pop).dtype == F32
    assert pcm.c2c_sigma(G, k, pop).dtype == F32


def test_slope_above_the_fitted_range_is_never_positive(shipped):
    """Guards slope_hi = min(c1 + 2·c2·G_hi, 0) (PCMPopulation: 'hi ≤ 0'): a device whose fitted ln ΔG still rises
    at the top of its range (c2 = 0, c1 = 0.05/µS, a slope below 1) gets slope 0 — its step is held, not grown,
    above the range."""
    coef = shipped["pcm/fit_coef"].copy()
    coef[:, 1], coef[:, 2] = 0.05, 0.0
    p = pcm.population(_bundle(shipped, tables={"pcm/fit_coef": coef}))
    np.testing.assert_array_equal(p.slope_hi, np.zeros(p.n, F32))
    k = np.arange(4)
    hi = p.g_hi_S[k]
    np.testing.assert_allclose(pcm.mean_log_dg(2 * hi, k, p), pcm.mean_log_dg(hi, k, p), rtol=1e-6)


def test_clean_mean_dg_refusal_without_a_deterministic_staircase_is_exact(shipped):
    """Guards the one-line refusal of clean_mean_dg on a population without pcm/stair_clean_g_S."""
    p = pcm.population(_bundle(shipped, drop=("pcm/stair_clean_g_S",)), drift=False, read_noise=False)
    with pytest.raises(CalibrationError) as e:
        pcm.clean_mean_dg(np.ones(2, F32), np.arange(2), p)
    assert str(e.value) == "PCM: the bundle has no deterministic staircase (pcm/stair_clean_g_S)"


def test_clean_mean_dg_is_the_staircase_step_and_broadcasts(pop):
    """Guards clean_mean_dg's broadcasting of G with inst (either may be the larger, 2-D results in the broadcast
    shape). Expected by hand from clean_dg_cell's law: at a point G_j of device k's staircase the step is
    G_{j+1} − G_j; at or below G_0 the first step; at G_sat,k 0."""
    c = pop.clean_g_S
    k = np.array([0, 7, 19, 42])
    js = np.array([1, 2, 4, 8, 12])
    G = c[k[None, :], js[:, None]]                             # (5, 4): row r at point js[r] of each device
    want = c[k[None, :], js[:, None] + 1] - G
    assert np.all(want > 0)
    out = pcm.clean_mean_dg(G, k, pop)                         # G larger than inst
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    g0 = np.float32(0.5 * c[:, 0].min())                       # below every staircase: its first step
    first = pcm.clean_mean_dg(g0, k, pop)                      # inst larger than G
    assert first.shape == (4,)
    np.testing.assert_allclose(first, c[k, 1] - c[k, 0], rtol=1e-6)
    top = pcm.clean_mean_dg(pop.g_sat_S[k][:, None], k[:, None], pop)
    assert top.shape == (4, 1) and np.all(top == 0)


def test_set_law_one_pulse_by_hand(pop):
    """Guards the SET law's draw: one pulse on device k at a point G_j of its staircase is
    G ← clip(G + m + s·σ·(β + z), min(G, G_reset,k), max(G, G_sat,k)) with m = G_{j+1} − G_j,
    σ = c·m + a·G_sat,k + b·G, β the bias of the bin of G/G_sat,k, and z the generator's float32 standard normals,
    one per pulse in device order (a float64 draw of the same generator is another sequence)."""
    k = np.arange(pop.n)
    j = 1 + k % 30
    G = pop.clean_g_S[k, j]
    s = 0.7
    new, cnt = pcm.set_pulses(G, 1, k, pop, np.random.default_rng(11), since=3, c2c_scale=s)
    z = np.random.default_rng(11).standard_normal(pop.n, dtype=np.float32).astype(np.float64)
    c, a, b = pop.c2c_law.astype(np.float64)
    g = G.astype(np.float64)
    m = pop.clean_g_S[k, j + 1].astype(np.float64) - g
    gs = pop.g_sat_S[k].astype(np.float64)
    sd = c * m + a * gs + b * g
    beta = pop.c2c_bias[np.clip(np.digitize(g / gs, pop.c2c_bias_edges_u) - 1, 0, pop.c2c_bias.size - 1)]
    want = np.clip(g + m + s * sd * (beta + z), np.minimum(g, pop.g_reset_S[k]), np.maximum(g, gs))
    np.testing.assert_allclose(new, want, rtol=2e-5, atol=1e-12)
    assert np.all(cnt == 4)
    assert 0.1 * pop.n < np.sum((new > np.minimum(g, pop.g_reset_S[k])) & (new < np.maximum(g, gs)))


def test_float64_inputs_are_taken_at_their_float32_values(pop):
    """Guards the float32 conversion of the conductance (and level) at the entry of clean_mean_dg, c2c_sigma,
    mean_log_dg, drift_params, drift_with and drift_nu: the state is float32 (module docstring), so a float64 G
    gives what its float32 value gives; and a time or age given in float32 gives what the same number in
    float64 gives (drift_with, age_growth) — as does a float32 conductance in open_loop_pulses."""
    rng = np.random.default_rng(5)
    k = rng.integers(0, pop.n, 400)
    G64 = rng.uniform(0.02, 1.0, k.size) * pop.g_sat_S[k].astype(np.float64)
    G32 = G64.astype(F32)
    assert np.any(G32.astype(np.float64) != G64)
    for f in (pcm.clean_mean_dg, pcm.c2c_sigma, pcm.mean_log_dg, pcm.drift_params, pcm.drift_nu):
        np.testing.assert_array_equal(f(G64, k, pop), f(G32, k, pop), err_msg=f.__name__)
    L32 = pcm.drift_params(G32, k, pop)
    t32 = rng.uniform(1e-5, 3e4, k.size).astype(F32)
    for t in (t32, 1.3e-4):
        np.testing.assert_array_equal(pcm.drift_with(G64, t, L32, k, pop), pcm.drift_with(G32, t, L32, k, pop))
    np.testing.assert_array_equal(pcm.drift_with(G32, t32, L32, k, pop),
                                  pcm.drift_with(G32, t32.astype(np.float64), L32, k, pop))
    np.testing.assert_array_equal(pcm.age_growth(t32, pop), pcm.age_growth(t32.astype(np.float64), pop))
    fit = {"gs_S": 7e-6, "dg0_S": 1e-12}                      # ~10⁶ pulses: float32 exponents would move the count
    lo = (rng.uniform(0.0, 10e-6, 400)).astype(F32)
    hi = (lo + rng.uniform(1e-6, 10e-6, 400)).astype(F32)
    np.testing.assert_array_equal(pcm.open_loop_pulses(lo, hi, fit, 2**30),
                                  pcm.open_loop_pulses(lo.astype(np.float64), hi.astype(np.float64), fit, 2**30))


# ------------------------------------------------------------------------------------------------------ endurance

def test_endurance_cycles_by_hand():
    """Guards L_d = scale·median·exp(σ·z_d) with z_d the generator's float32 standard normals (not a float64 draw,
    not median/exp(σz), which has the same distribution), the defaults median 10⁸, σ 0.25, scale 1, and the
    bounds: median > 0 (0.5 allowed), σ ≥ 0 (0 allowed: every device lives scale·median), scale > 0, with the
    exact message."""
    L = pcm.endurance_cycles((1000,), np.random.default_rng(7))
    z = np.random.default_rng(7).standard_normal((1000,), dtype=np.float32).astype(np.float64)
    np.testing.assert_allclose(L, 1e8 * np.exp(0.25 * z), rtol=2e-6)
    assert L.dtype == F32
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(pcm.endurance_cycles((3,), rng, sigma_ln=0.0, scale=1e-3), np.full(3, F32(1e5)))
    np.testing.assert_array_equal(pcm.endurance_cycles((2,), rng, median_cycles=0.5, sigma_ln=0.0),
                                  np.full(2, F32(0.5)))
    with pytest.raises(ConfigError) as e:
        pcm.endurance_cycles((3,), rng, median_cycles=0.0)
    assert str(e.value) == "endurance_cycles: median 0.0 and scale 1.0 must be > 0, sigma 0.25 ≥ 0"


def test_failure_modes_by_hand():
    """Guards stuck-SET = (u < p) with u the generator's float32 uniforms: the default p = 0.5, p = 0 (no device
    stuck-SET) and p = 1 (every device) allowed, p = 1.5 refused with the exact message, and u = p exactly is
    not stuck-SET (P(u < p) = p on the float32 grid of the uniforms; u ≤ p would add 2⁻²⁴)."""
    hi = pcm.failure_modes((500,), np.random.default_rng(3))
    u = np.random.default_rng(3).random((500,), dtype=np.float32)
    np.testing.assert_array_equal(hi, u < 0.5)
    p = float(u[17])
    at = pcm.failure_modes((500,), np.random.default_rng(3), p)
    np.testing.assert_array_equal(at, u < u[17])
    assert not at[17]
    rng = np.random.default_rng(4)
    assert not pcm.failure_modes((300,), rng, 0.0).any()
    assert pcm.failure_modes((300,), rng, 1.0).all()
    with pytest.raises(ConfigError) as e:
        pcm.failure_modes((3,), rng, 1.5)
    assert str(e.value) == "failure_modes: stuck_high_frac=1.5 must be in [0, 1]"


def test_stress_and_wear_out_by_hand(pop):
    """Guards the float32 stress R + w·S and wear_out: newly = (stress > L) & ~worn — a device at its endurance
    (stress = L) or already worn is not newly worn and keeps its G, as does every device not newly worn (G is
    returned for all devices); the newly worn take G_max,k (stuck-SET) or G_reset,k; float32 G."""
    st = pcm.stress(np.array([3, 0, 5, 9, 9], np.uint32), np.array([10, 4, 0, 2, 2], np.uint32), 0.5)
    assert st.dtype == F32
    np.testing.assert_array_equal(st, np.array([8, 2, 5, 10, 10], F32))
    life = np.array([7, 1, 5, 12, 9], F32)                    # passed, passed, at L, below L, passed but worn
    worn = np.array([False, False, False, False, True])
    high = np.array([True, False, True, True, True])
    k = np.array([2, 5, 8, 11, 14])
    G = np.array([4e-6, 5e-6, 6e-6, 7e-6, 8e-6], F32)
    g, newly = pcm.wear_out(G, st, life, worn, high, k, pop)
    assert g.dtype == F32
    assert newly.tolist() == [True, True, False, False, False]
    np.testing.assert_array_equal(g, [pop.g_max_S[2], pop.g_reset_S[5], G[2], G[3], G[4]])


def test_a_bundle_without_pcm_scalars_is_refused_with_a_calibration_error(shipped):
    """Guards population()'s reading of the bundle's 'pcm' scalars when the section is absent (an empty section,
    not None): with t_p and t_on given as arguments the drift tables load, and the missing scalar pcm.dg_fit is
    the documented one-line CalibrationError, not an AttributeError."""
    from pycosim.calibration import Bundle
    b = Bundle(scalars={k: v for k, v in shipped.scalars.items() if k != "pcm"}, tables=dict(shipped.tables),
               provenance={}, path=None)
    with pytest.raises(CalibrationError) as e:
        pcm.population(b, read_noise=False, drift_t_prog_s=7e-6, drift_t_on_s=1e-6)
    assert "scalar pcm.dg_fit (needed for PCM open-loop tuning) is missing" in str(e.value)
