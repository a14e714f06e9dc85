"""The Crossbar base class's public API: argument checks at their boundaries with their exact messages,
dtypes, the unchecked fast path, hardware time, transfer of selected columns, reseeding and the state's
refusals. Mostly on 'ideal' layers (y = x·W exactly, no bundle needed); a small quiet '2pcm+3t1c' layer where
the LSP matters. Fast (< 1 s): part of the short selection of the mutation script for the crossbar."""

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.errors import ConfigError

F32 = np.float32
QUIET = {"pcm": {"read_noise": False, "drift": False, "c2c_scale": 0.0},
         "lsp": {"read_noise": False, "c2c_scale": 0.0}, "periphery": {"integrator_noise": False}}


def ideal(n_in=3, n_out=2, W=None):
    xb = Crossbar(n_in, n_out, {"synapse": "ideal"}, rng=0)
    if W is not None:
        xb.set_weights(W)
    return xb


def msg(call):
    with pytest.raises(ConfigError) as e:
        call()
    return str(e.value)


def test_config_as_dict_or_object_and_its_refusal():
    xb = Crossbar(2, 2, {"synapse": "ideal", "transfer": {"tolerance": 0.07}})
    assert type(xb).__name__ == "Ideal" and xb.cfg.synapse == "ideal" and xb.cfg.transfer.tolerance == 0.07
    assert Crossbar(2, 2, ArrayConfig(synapse="ideal")).cfg == ArrayConfig(synapse="ideal")
    assert msg(lambda: Crossbar(2, 2, 42)) == "config: expected ArrayConfig or dict, got int"
    assert msg(lambda: Crossbar(2, 2, ["ideal"])) == "config: expected ArrayConfig or dict, got list"


def test_shape_refusals_and_the_smallest_layer():
    for shape in ((0, 3), (3, 0), (0, 0), (-1, 2)):
        assert msg(lambda: Crossbar(*shape, {"synapse": "ideal"})) == (
            f"crossbar shape ({shape[0]}, {shape[1]}): both sizes must be ≥ 1")
    one = Crossbar(1, 1, {"synapse": "ideal"})
    assert one.shape == (1, 1) and one.n_in == 1 and one.n_out == 1
    # an ideal layer has no devices: identity scale, no pulse step, no time passed
    assert one.scale == 1.0 and one.dw_pulse == 0.0 and one.t_s == 0.0
    # a given Generator is used as it is, a seed makes one
    g = np.random.default_rng(3)
    assert Crossbar(1, 1, {"synapse": "ideal"}, rng=g).rng is g


def test_inputs_are_checked_with_exact_messages():
    xb = ideal()
    assert msg(lambda: xb.forward(np.zeros(2))) == "forward: x: expected shape (3,), got (2,)"
    assert msg(lambda: xb.backward(np.zeros(3))) == "backward: delta: expected shape (2,), got (3,)"
    assert msg(lambda: xb.update(np.zeros(4), np.zeros(2), 0.1)) == "update: x: expected shape (3,), got (4,)"
    assert msg(lambda: xb.update(np.zeros(3), np.zeros(1), 0.1)) == "update: delta: expected shape (2,), got (1,)"
    assert msg(lambda: xb.update([0, np.inf, 0], np.zeros(2), 0.1)) == "update: x: contains NaN or infinity"
    for lr in (-0.1, float("nan"), float("inf")):
        assert msg(lambda: xb.update(np.zeros(3), np.zeros(2), lr)) == f"update: lr={lr} must be a finite number ≥ 0"
    for dt in (-1.0, float("nan"), float("inf")):
        assert msg(lambda: xb.advance(dt)) == f"advance: dt_s={dt} must be a finite time ≥ 0 (s)"
    assert msg(lambda: xb.set_weights(np.zeros((2, 3)))) == "set_weights: W_target must have shape (3, 2), got (2, 3)"
    bad = np.zeros((3, 2))
    bad[1, 1] = np.nan
    assert msg(lambda: xb.set_weights(bad)) == "set_weights: W_target contains NaN or infinity"


def test_inputs_are_float32_and_finite_sums_of_huge_values_are_accepted():
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])          # float64 given, stored float32
    xb = ideal(W=W)
    assert xb.weights().dtype == F32
    np.testing.assert_array_equal(xb.weights(), W.astype(F32))
    y = xb.forward(np.array([1, 0, 2]))                           # integers in, float32 out
    assert y.dtype == F32 and y.tolist() == [11.0, 14.0]
    d = xb.backward(np.array([1.0, -1.0]))
    assert d.dtype == F32 and d.tolist() == [-1.0, -1.0, -1.0]
    # 3e38 + 3e38 overflows float32 but not the float64 sum the check uses: finite input, not refused
    big = np.array([3e38, 3e38, 0.0], F32)
    z = ideal(W=np.zeros((3, 2))).forward(big)
    assert z.tolist() == [0.0, 0.0]
    # mode 'exact' stores the matrix as given, in float32 too
    ex = ideal()
    assert ex.set_weights(W, mode="exact") is None
    assert ex.weights().dtype == F32 and ex.forward(np.array([1.0, 0.0, 0.0])).dtype == F32
    # weights() is a copy
    w = xb.weights()
    w[0, 0] = 99.0
    assert xb.weights()[0, 0] == 1.0


def test_unchecked_calls_skip_the_checks():
    """checked=False: the caller guarantees finite float32 vectors of the right shape; nothing is converted
    or refused (a NaN passes straight into the arithmetic)."""
    xb = ideal(W=np.ones((3, 2)))
    x = np.array([1.0, np.nan, 0.0], F32)
    assert np.isnan(xb.forward(x, checked=False)).all()
    assert np.isnan(xb.backward(np.array([np.nan, 0.0], F32), checked=False)).all()
    xb.update(np.zeros(3, F32), np.zeros(2, F32), -1.0, checked=False)      # lr not checked either
    np.testing.assert_array_equal(xb.weights(), np.ones((3, 2), F32))


def test_update_with_zero_rate_and_advance_by_zero_are_allowed():
    xb = ideal(W=np.ones((3, 2)))
    xb.update(np.ones(3), np.ones(2), 0.0)
    np.testing.assert_array_equal(xb.weights(), np.ones((3, 2), F32))
    xb.update(np.array([1.0, 0.0, 2.0]), np.array([0.5, -1.0]), 0.1)       # W − 0.1·x⊗δ
    np.testing.assert_allclose(xb.weights(), [[0.95, 1.1], [1, 1], [0.9, 1.2]], rtol=1e-6)
    xb.advance(0.0)
    assert xb.t_s == 0.0 and xb.counters.sim_time_s == 0.0
    xb.advance(1e-3)
    xb.advance(2e-3)
    assert xb.t_s == pytest.approx(3e-3, rel=1e-12, abs=0)
    assert xb.counters.sim_time_s == pytest.approx(3e-3, rel=1e-12, abs=0)


def test_lsp_contribution_of_schemes_without_an_lsp_is_float32_zero(shipped):
    for name in ("ideal", "2pcm"):
        c = Crossbar(3, 2, {"synapse": name}, bundle=shipped, rng=0).lsp_contribution()
        assert c.dtype == F32 and c.shape == (3, 2) and not c.any()


@pytest.fixture
def lsp_layer(shipped):
    """A quiet 2PCM+3T1C layer with LSP contributions in every column (one update of a rank-one step)."""
    xb = Crossbar(6, 3, ArrayConfig.from_dict({"synapse": "2pcm+3t1c", **QUIET, "lsp": {"read_noise": False,
                  "c2c_scale": 0.0, "leak_batch_s": 1.0}}), bundle=shipped, rng=2)
    xb.set_weights(np.zeros((6, 3), F32))
    xb.update(np.ones(6, F32), np.array([0.3, -0.3, 0.3], F32), 1.0)
    assert np.all(np.abs(xb.lsp_contribution()).max(axis=0) > 0)
    return xb


def test_transfer_moves_only_the_selected_columns(lsp_layer):
    before = lsp_layer.lsp_contribution()
    lsp_layer.transfer(cols=[1])
    after = lsp_layer.lsp_contribution()
    np.testing.assert_array_equal(after[:, [0, 2]], before[:, [0, 2]])     # untouched
    assert np.abs(after[:, 1]).max() < np.abs(before[:, 1]).max()          # reset to the residual


def test_advance_settle_applies_the_deferred_leakage_now(lsp_layer):
    """leak_batch_s = 1 s: 1 ms of leakage is deferred, unless settle=True asks for it now."""
    v0 = lsp_layer.V.copy()
    lsp_layer.advance(1e-3)
    np.testing.assert_array_equal(lsp_layer.V, v0)
    lsp_layer.advance(1e-3, settle=True)
    assert np.abs(lsp_layer.V - v0).max() > 1e-6


def test_reseed_draws_every_later_random_number_from_the_new_generator(shipped):
    """Two layers built alike (same seed: same devices) and reseeded with equal generators read the same
    noise; without the reseed the layer's own stream gives other noise."""
    cfg = ArrayConfig.from_dict({"synapse": "2pcm+3t1c"})           # read noise on
    a, b = Crossbar(4, 2, cfg, bundle=shipped, rng=1), Crossbar(4, 2, cfg, bundle=shipped, rng=1)
    g = np.random.default_rng(9)
    a.reseed(g)
    assert a.rng is g
    b.reseed(np.random.default_rng(9))
    x = np.full(4, 0.5, F32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    assert not np.array_equal(a.forward(x), Crossbar(4, 2, cfg, bundle=shipped, rng=1).forward(x))
    # an 'ideal' layer keeps the generator too (the base class's reseed)
    h = np.random.default_rng(4)
    xi = ideal()
    xi.reseed(h)
    assert xi.rng is h


def test_state_refusals_are_exact(shipped):
    a = Crossbar(6, 3, ArrayConfig(synapse="4pcm"), shipped, rng=0)
    snap = a.state()
    assert msg(lambda: a.set_state("junk")) == "crossbar state version 'str' is not supported (reads version 2)"
    assert msg(lambda: a.set_state(None)) == "crossbar state version 'NoneType' is not supported (reads version 2)"
    assert msg(lambda: a.set_state(snap | {"version": 1})) == (
        "crossbar state version 1 is not supported (reads version 2)")
    assert msg(lambda: Crossbar(6, 3, ArrayConfig(synapse="2pcm"), shipped, rng=0).set_state(snap)) == (
        "crossbar state of '4pcm' [6, 3] does not fit this '2pcm' layer (6, 3)")
    assert msg(lambda: Crossbar(7, 3, ArrayConfig(synapse="4pcm"), shipped, rng=0).set_state(snap)) == (
        "crossbar state of '4pcm' [6, 3] does not fit this '4pcm' layer (7, 3)")
    no_shape = {k: v for k, v in snap.items() if k != "shape"}
    assert msg(lambda: a.set_state(no_shape)) == "crossbar state of '4pcm' None does not fit this '4pcm' layer (6, 3)"
    W = snap["arrays"]["W"]
    bad = snap | {"arrays": {**snap["arrays"], "W": np.zeros((3, 6), W.dtype)}}
    assert msg(lambda: a.set_state(bad)) == "crossbar state: array 'W' has shape (3, 6), the layer (6, 3)"
