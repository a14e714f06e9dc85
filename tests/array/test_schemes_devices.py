"""The schemes' device views and placement: devices(), set_devices(), lsp_contribution() and the weight law
W = scale·[F·(G⁺ − G⁻) + LSP] evaluated by hand from placed device states; the 'ideal' scheme's transfer
statistics. Small quiet layers (no drift, no read noise, no c2c): fast, part of the short tests/array
selection of the mutation script."""

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.errors import ConfigError

F32 = np.float32
QUIET = {"pcm": {"read_noise": False, "drift": False, "c2c_scale": 0.0},
         "lsp": {"read_noise": False, "c2c_scale": 0.0}, "periphery": {"integrator_noise": False}}


def layer(shipped, synapse, shape=(3, 2), **cfg):
    return Crossbar(*shape, ArrayConfig.from_dict({"synapse": synapse, **QUIET, **cfg}), bundle=shipped, rng=5)


def msg(call):
    with pytest.raises(ConfigError) as e:
        call()
    return str(e.value)


def test_devices_of_a_2pcm_3t1c_layer_are_copies_of_its_state(shipped):
    xb = layer(shipped, "2pcm+3t1c")
    d = xb.devices()
    assert set(d) == {"G_S", "G_prog_S", "pcm_instance", "g_max_S", "pcm_stuck", "V_C_V", "g_S", "lsp_instance",
                      "g_shared_S", "ref_instance", "v_ref_gate_V", "pol"}
    # the column references' gate: the cells' mean post-reset V_C (a number, the same the layer reads with)
    from pycosim.devices import lsp
    assert d["v_ref_gate_V"] == lsp.reference_gate_V(xb.lsp_pop)
    assert d["G_S"].shape == d["G_prog_S"].shape == d["pcm_instance"].shape == d["g_max_S"].shape == (2, 3, 2)
    assert d["pcm_instance"].dtype == np.int32 and d["pcm_stuck"] is None
    # each device's G_max is its SPICE instance's (the population row of the instance it was given)
    np.testing.assert_array_equal(d["g_max_S"], xb.pcm_pop.g_max_S[d["pcm_instance"]])
    assert d["V_C_V"].shape == d["g_S"].shape == d["lsp_instance"].shape == (3, 2)
    assert d["g_shared_S"].shape == d["ref_instance"].shape == d["pol"].shape == (2,)
    # copies: changing them changes nothing in the layer
    w0 = xb.weights()
    for k in ("G_S", "G_prog_S", "pcm_instance", "V_C_V", "g_S", "lsp_instance", "g_shared_S", "ref_instance", "pol"):
        d[k][...] = 0
    e = xb.devices()
    assert e["G_prog_S"].any() and e["V_C_V"].any() and e["g_S"].any() and np.all(np.abs(e["pol"]) == 1)
    assert e["pcm_instance"].any() and e["lsp_instance"].any() and e["g_shared_S"].any()
    np.testing.assert_array_equal(xb.weights(), w0)
    # with stuck devices configured: a bool map, copied too
    s = layer(shipped, "2pcm", pcm={**QUIET["pcm"], "stuck_reset_frac": 0.5}).devices()["pcm_stuck"]
    assert s.dtype == bool and s.shape == (2, 3, 2)


def test_placed_devices_give_the_weight_law_by_hand(shipped):
    """2PCM+3T1C: W = scale·[F·(G⁺ − G⁻) + pol·(g(V_C) − g_shared)], every term from the placed state."""
    xb = layer(shipped, "2pcm+3t1c")
    P = np.stack([np.full((3, 2), 5e-6), np.full((3, 2), 2e-6)])
    P[0, 1, 1] = 8e-6
    V = np.full((3, 2), 0.6, F32)
    xb.set_devices(P=P.astype(np.float64), V=V, pol=[1, -1])
    d = xb.devices()
    np.testing.assert_array_equal(d["G_prog_S"], P.astype(F32))
    np.testing.assert_array_equal(d["G_S"], P.astype(F32))                  # no drift configured
    np.testing.assert_array_equal(d["V_C_V"], V)
    assert d["pol"].tolist() == [1.0, -1.0]
    g, gs = d["g_S"].astype(np.float64), d["g_shared_S"].astype(np.float64)
    want = xb.scale * (xb.cfg.F * (P[0] - P[1]) + np.array([1.0, -1.0]) * (g - gs))
    np.testing.assert_allclose(xb.weights(), want, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(xb.lsp_contribution(), xb.scale * np.array([1.0, -1.0]) * (g - gs), rtol=2e-5,
                               atol=1e-6)
    assert xb.lsp_contribution().dtype == F32
    # V_C outside the g table is clipped into it (float32 whatever is given); g follows V_C
    xb.set_devices(V=np.full((3, 2), 5.0))
    assert xb.devices()["V_C_V"].dtype == F32
    assert np.all(xb.devices()["V_C_V"] == F32(xb.lsp_pop.v_max_V))
    assert np.all(xb.devices()["g_S"] > g)
    xb.set_devices(V=np.full((3, 2), -1.0))
    assert np.all(xb.devices()["V_C_V"] == F32(xb.lsp_pop.v_min_V))
    # the placed V_C then leaks by the 3T1C law (no stale leakage cache from before the placement)
    from pycosim.devices import lsp
    V2 = np.linspace(0.3, 0.9, 6).reshape(3, 2).astype(F32)
    xb.advance(1e-3, settle=True)
    xb.set_devices(V=V2)
    xb.advance(2e-3, settle=True)
    np.testing.assert_allclose(xb.devices()["V_C_V"], lsp.leak(V2, 2e-3, xb.devices()["lsp_instance"], xb.lsp_pop),
                               atol=2e-6)


def test_4pcm_lsp_contribution_is_the_second_pair(shipped):
    """'4pcm': W = scale·[F·(G⁺ − G⁻) + (g⁺ − g⁻)], the LSP pair devices 2 and 3."""
    xb = layer(shipped, "4pcm")
    P = np.stack([np.full((3, 2), 4e-6), np.full((3, 2), 1e-6), np.full((3, 2), 3e-6), np.full((3, 2), 0.5e-6)])
    P[3, 0, 0] = 2e-6
    xb.set_devices(P=P)
    lsp = xb.scale * (P[2] - P[3])
    np.testing.assert_allclose(xb.lsp_contribution(), lsp, rtol=2e-6)
    assert xb.lsp_contribution().dtype == F32
    np.testing.assert_allclose(xb.weights(), xb.scale * xb.cfg.F * (P[0] - P[1]) + lsp, rtol=2e-5)


def test_set_devices_refusals_are_exact(shipped):
    xb = layer(shipped, "2pcm+3t1c")
    assert msg(lambda: xb.set_devices(P=np.zeros((2, 2, 3)))) == "set_devices: P must have shape (2, 3, 2), got (2, 2, 3)"
    assert msg(lambda: xb.set_devices(V=np.zeros((2, 3)))) == "set_devices: V must have shape (3, 2), got (2, 3)"
    for pol in ([1, 0], [1, -1, 1], [2, -2]):
        assert msg(lambda: xb.set_devices(pol=pol)) == "set_devices: pol must be ±1 with shape (2,)"
    two = layer(shipped, "2pcm")
    for kw in ({"V": np.zeros((3, 2))}, {"pol": [1, 1]}):
        assert msg(lambda: two.set_devices(**kw)) == ("set_devices: V and pol exist only for schemes with 3T1C "
                                                      "cells (this is '2pcm')")
    two.set_devices()                                                        # nothing given: nothing to refuse


def test_ideal_transfer_statistics(shipped):
    xb = Crossbar(3, 2, {"synapse": "ideal", "transfer": {"tolerance": 0.04, "mode": "closed"}})
    st = xb.set_weights(np.ones((3, 2)))
    assert (st.mode, st.tolerance, st.n_synapses, st.n_moved, st.n_within_tol) == ("closed", 0.04, 6, 6, 6)
    st = xb.set_weights(np.ones((3, 2)), mode="open", tolerance=0.1)
    assert (st.mode, st.tolerance) == ("open", 0.1)
    st = xb.transfer(tolerance=0.2)
    assert (st.mode, st.tolerance, st.n_synapses, st.n_moved) == ("closed", 0.2, 0, 0)
    assert xb.transfer(mode="open").mode == "open"


def test_drift_ahead_is_the_mean_power_law_by_hand(shipped):
    """Devices programmed at t = 5 s and read 10 s later (past t0 = 1 s, the power-law branch): over a horizon
    of 90 s each device's conductance is G_now·(100/10)^(−ν̄), ν̄ the drift exponent of the *mean* device
    (drift_nu averaged over the instances) at its level, so Δw = scale·F·[G⁺_now·(10^−ν̄⁺ − 1) − G⁻_now·(10^−ν̄⁻ − 1)]."""
    import dataclasses

    from pycosim.array.schemes.analog import ArrayProgrammer
    from pycosim.devices import pcm

    xb = layer(shipped, "2pcm", pcm={"read_noise": False, "drift": True, "c2c_scale": 0.0})
    P = np.stack([np.array([[6e-6, 3e-6], [10e-6, 1e-6], [2e-6, 8e-6]]), np.full((3, 2), 1.5e-6)])
    xb.advance(5.0)
    xb.set_devices(P=P)                                                       # programmed at t = 5 s
    xb.advance(10.0, settle=True)                                             # age 10 s
    p = xb.pcm_pop
    mean = lambda a: np.broadcast_to(a.mean(axis=0, keepdims=True), a.shape)  # noqa: E731
    mp = dataclasses.replace(p, drift_nu=mean(p.drift_nu), drift_ln_r=mean(p.drift_ln_r),
                             drift_level_x=mean(p.drift_level_x))
    inst = xb.devices()["pcm_instance"]
    nu = pcm.drift_params(P.astype(F32), inst, mp)[1].astype(np.float64)
    assert np.all(nu > 0.01)                                                  # the law has something to say
    G_now = xb.devices()["G_S"].astype(np.float64)
    assert np.all(G_now < P)                                                  # drifted down by t = 10 s
    dG = G_now * (10.0 ** -nu - 1)
    want = xb.scale * xb.cfg.F * (dG[0] - dG[1]).ravel()
    prog = ArrayProgrammer(xb, np.arange(6), 1e-6)
    got = prog.drift_ahead(np.arange(6), 90.0)
    assert got.dtype == F32
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-7)
    assert np.all(prog.drift_ahead(np.arange(6), 0.0) == 0)
    assert prog.drift_ahead(np.arange(0), 90.0).shape == (0,)
    sub = ArrayProgrammer(xb, np.array([4, 1]), 1e-6).drift_ahead(np.array([1]), 90.0)       # flat index 1
    np.testing.assert_allclose(sub, want[[1]], rtol=2e-4, atol=1e-7)
    # without drift: nothing ahead
    still = ArrayProgrammer(layer(shipped, "2pcm"), np.arange(6), 1e-6).drift_ahead(np.arange(3), 90.0)
    assert still.dtype == F32 and still.tolist() == [0.0, 0.0, 0.0]


def test_pulse_counts_by_hand(shipped):
    """n_ij = −lr·x_i·δ_j/Δw_pulse: 'deterministic' the nearest integer (half to even), 'stochastic'
    floor(n + u) with the layer's uniforms; clipped at max_pulses = 8; rows with x = 0 and zero counts left
    out; flat index i·n_out + j (int64), counts int32."""
    xb = layer(shipped, "2pcm", shape=(3, 2), update={"rounding": "deterministic"})
    c = 3.0                                                          # lr = 3·Δw_pulse
    x = np.array([1.0, 0.0, 0.5], F32)
    d = np.array([1.0, -0.4], F32)
    flat, n = xb.pulse_counts(x, d, c * xb.dw_pulse)
    # row 0: −3, +1.2 → −3, 1; row 2: −1.5, +0.6 → −2, 1
    assert flat.dtype == np.int64 and n.dtype == np.int32
    assert flat.tolist() == [0, 1, 4, 5] and n.tolist() == [-3, 1, -2, 1]
    # clipped at ±8; a column whose largest count rounds to 0 is left out
    flat, n = xb.pulse_counts(np.array([1.0, 0.0, 0.0], F32), np.array([-5.0, 0.1], F32), c * xb.dw_pulse)
    assert flat.tolist() == [0] and n.tolist() == [8]
    empty = xb.pulse_counts(np.zeros(3, F32), d, c * xb.dw_pulse)
    assert empty[0].dtype == np.int64 and empty[1].dtype == np.int32 and empty[0].size == empty[1].size == 0
    assert xb.pulse_counts(x, d, 0.0)[0].size == 0
    flat, n = xb.pulse_counts(x, d, xb.dw_pulse)                       # lr = Δw_pulse: −1, 0.4 → 0; −0.5 → −0, 0.2
    assert flat.tolist() == [0] and n.tolist() == [-1]
    assert xb.pulse_counts(x, np.array([0.1, -0.1], F32), c * xb.dw_pulse)[0].size == 0     # |n| ≤ 0.3
    # stochastic rounding: floor(n + u), u the layer's next float32 uniforms over the formed block (rows 0, 2)
    # (a column of small counts, |n| < 0.5, is still formed: it gets a pulse with probability |n|)
    st = layer(shipped, "2pcm", shape=(20, 10), update={"rounding": "stochastic"})
    xs = np.random.default_rng(1).uniform(0.1, 1.0, 20).astype(F32)
    ds = np.random.default_rng(2).uniform(-0.6, 0.6, 10).astype(F32)
    ds[3] = 0.01                                                     # |n| ≤ 0.03 in column 3
    g = np.random.Generator(type(st.rng.bit_generator)())
    g.bit_generator.state = st.rng.bit_generator.state
    u = g.random((20, 10), dtype=F32)
    p = np.multiply.outer(xs * -F32(np.float32(c * st.dw_pulse / st.dw_pulse)), ds)
    want = np.floor(p + u).ravel()
    flat, n = st.pulse_counts(xs, ds, c * st.dw_pulse)
    keep = np.flatnonzero(want)
    assert flat.tolist() == keep.tolist() and n.tolist() == want[keep].astype(int).tolist()


def test_trains_counts_are_coincidences_not_rounded_means(shipped):
    """'trains': a synapse gets one pulse per slot in which its row and its column both fire, so with every
    |x| = |δ| = 1 and n = −2 (lr = 2·Δw_pulse, 8 slots: each line fires with probability 1/2) the counts
    scatter around −2 (mean −2, between 0 and −8), where rounding would give exactly −2 everywhere."""
    xb = layer(shipped, "2pcm", shape=(20, 10), update={"rounding": "trains"})
    flat, n = xb.pulse_counts(np.ones(20, F32), np.ones(10, F32), 2 * xb.dw_pulse)
    assert np.all((n <= 0) & (n >= -8)) and len(set(n.tolist())) > 2
    assert abs(n.sum() / 200 + 2) < 0.5
