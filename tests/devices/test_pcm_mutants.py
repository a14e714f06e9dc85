"""PCM drift and read-noise helpers at their edges: the level coordinate held outside a device's levels, the
drift curve at and before t_p, the float32 results, the refusals without drift tables. Expected values from
the laws' docstrings (held ends, G(t ≤ t_p) = G, the onset law of uniform_drift) and hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.devices import pcm
from pycosim.errors import CalibrationError

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
