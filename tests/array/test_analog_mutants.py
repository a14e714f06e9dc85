"""The shared analog machinery of every PCM scheme (pycosim/array/schemes/analog.py), by hand: the saturation
refresh of a PCM pair, the drift-compensation reference devices and their gain, the drift-refresh clock, the
views and resolved settings. Expected values come from the device module's laws (pcm.reset, pcm.set_pulses,
pcm.open_loop_pulses, pcm.drift_with on the same population: device physics checked in tests/devices) and
hand arithmetic, never from the crossbar under test. Small quiet layers (no c2c, no read noise unless a test
is about it): fast, part of the short tests/array selection of the mutation script."""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.devices import pcm

F32 = np.float32
QUIET = {"pcm": {"read_noise": False, "drift": False, "c2c_scale": 0.0},
         "lsp": {"read_noise": False, "c2c_scale": 0.0}, "periphery": {"integrator_noise": False}}


def layer(shipped, synapse, shape=(3, 2), seed=5, **cfg):
    d = {k: dict(v) for k, v in QUIET.items()}
    for k, v in cfg.items():
        if isinstance(v, dict):
            d.setdefault(k, {}).update(v)
        else:
            d[k] = v
    return Crossbar(*shape, ArrayConfig.from_dict({"synapse": synapse, **d}), bundle=shipped, rng=seed)


# ------------------------------------------------------------------------------------------ saturation refresh


def test_saturation_refresh_resets_the_pair_and_reprograms_its_difference_by_hand(shipped):
    """Guards the '4pcm' LSP pair's refresh (Burr et al. 2015 occasional RESET): pairs (devices 2, 3) whose larger
    device passed saturation_frac·G_max (strictly) are RESET to their own floors, and |G⁺ − G⁻| goes back onto
    the larger side open loop with the mean-device count, clipped at transfer.max_pulses; other pairs and the
    MSP pair untouched; the counters."""
    xb = layer(shipped, "4pcm", pcm={"saturation_frac": 0.5}, transfer={"max_pulses": 3})
    pp, N = xb.pcm_pop, xb.W.size
    inst = xb.P_inst.reshape(4, N)
    gmax, g0 = pp.g_max_S[inst], pp.g_reset_S[inst]
    P = np.array(xb.P).reshape(4, N)
    P[0] = g0[0] + 1e-6                                     # the MSP pair: never touched by the refresh
    P[1] = g0[1] + 2e-6
    lo = lambda k: g0[k] + 0.3 * (gmax[k] - g0[k])           # noqa: E731 — well below half of G_max
    # synapse 0: g⁺ past the bound (diff > 0); 1: g⁻ past it (diff < 0); 2: g⁺ exactly at it (not passed);
    # 3: both low; 4: g⁺ past it with a large difference (count clipped at 3); 5: both past it, equal
    P[2] = [0.9 * gmax[2, 0], lo(2)[1], 0.5 * gmax[2, 2], lo(2)[3], gmax[2, 4], 0.8 * gmax[2, 5]]
    P[3] = [lo(3)[0], 0.8 * gmax[3, 1], lo(3)[2], lo(3)[3], g0[3, 4], 0.8 * gmax[2, 5]]
    P = P.astype(F32)
    P[2, 2] = F32(0.5) * gmax[2, 2]                          # float32 half of a float32 G_max: exactly at the bound
    assert P[2, 2] == 0.5 * np.float64(gmax[2, 2])
    xb.set_devices(P=P.reshape(xb.P.shape))
    flat = np.arange(N)
    xb._saturation_refresh(flat, 2)
    got = xb.P.reshape(4, N)
    np.testing.assert_array_equal(got[:2], P[:2])
    sat = np.array([True, True, False, False, True, True])
    np.testing.assert_array_equal(got[2:, ~sat], P[2:, ~sat])
    diff = P[2].astype(np.float64) - P[3]
    up = diff >= 0
    want = np.where(sat, g0[2:], P[2:]).astype(F32)          # both RESET to their own floors
    for s in np.flatnonzero(sat):
        d = 2 if up[s] else 3
        n = pcm.open_loop_pulses(want[d - 2, s], want[d - 2, s] + abs(diff[s]), pp.dg_fit, 3)
        g, _ = pcm.set_pulses(want[d - 2, s:s + 1], n, inst[d, s:s + 1], pp, np.random.default_rng(0), since=0,
                              c2c_scale=0.0)
        want[d - 2, s] = g[0]
    np.testing.assert_allclose(got[2:], want, rtol=1e-6, atol=0)
    assert got[2, 0] > g0[2, 0] and got[3, 0] == g0[3, 0]    # diff > 0 went onto g⁺
    assert got[3, 1] > g0[3, 1] and got[2, 1] == g0[2, 1]    # diff < 0 onto g⁻
    assert got[2, 5] == g0[2, 5] and got[3, 5] == g0[3, 5]   # no difference: nothing programmed
    n4 = pcm.open_loop_pulses(g0[2, 4], g0[2, 4] + abs(diff[4]), pp.dg_fit, 10 ** 6)
    assert n4 > 3                                            # the clip at max_pulses = 3 is what limits it
    c = xb.counters
    assert c.pcm_update_resets == 8
    rc = c.pcm_resets_per_device.reshape(4, N)
    np.testing.assert_array_equal(rc[2:], np.where([sat, sat], 1, 0))
    assert rc[:2].sum() == 0
    n_exp = [pcm.open_loop_pulses(g0[2 if up[s] else 3, s], g0[2 if up[s] else 3, s] + abs(diff[s]), pp.dg_fit, 3)
             for s in np.flatnonzero(sat)]
    assert c.pcm_update_reprogram_set_pulses == int(np.sum(n_exp)) and n_exp[2] == 3


def test_saturation_refresh_of_unpulsed_or_unsaturated_pairs_does_nothing(shipped):
    """Guards the early return: without a saturated pair nothing is RESET or counted."""
    xb = layer(shipped, "2pcm")
    P0 = xb.P.copy()
    xb._saturation_refresh(np.arange(xb.W.size), 0)
    np.testing.assert_array_equal(xb.P, P0)
    assert xb.counters.pcm_update_resets == 0 and xb.counters.pcm_resets_per_device.sum() == 0


def test_pcm_update_pulses_the_pair_of_its_sign_then_refreshes(shipped):
    """Guards '2pcm' updates: n > 0 SET pulses on G⁺, n < 0 on G⁻ (|n| pulses by the mean-device law), counted as
    update SET pulses, then the saturation refresh of the pulsed pairs only."""
    xb = layer(shipped, "2pcm", update={"rounding": "deterministic"}, pcm={"saturation_frac": 0.9})
    pp, N = xb.pcm_pop, xb.W.size
    inst = xb.P_inst.reshape(2, N)
    P0 = xb.P.reshape(2, N).copy()
    lr = 1.0
    x = np.array([1.0, 0.0, 1.0], F32)                         # row 1 gets nothing
    d = np.array([-2.0, 1.0], F32) * F32(xb.dw_pulse)          # column 0: +2 pulses, column 1: −1 pulse
    xb.update(x, d, lr)
    got = xb.P.reshape(2, N)
    want = P0.copy()
    for s, (dev, n) in {0: (0, 2), 1: (1, 1), 4: (0, 2), 5: (1, 1)}.items():
        g, _ = pcm.set_pulses(P0[dev, s:s + 1], n, inst[dev, s:s + 1], pp, np.random.default_rng(0), since=0,
                              c2c_scale=0.0)
        want[dev, s] = g[0]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    assert xb.counters.pcm_update_set_pulses == 6 and xb.counters.pcm_update_resets == 0
    # a pair pushed past the bound by the update is refreshed: both RESET, the difference back on G⁺
    P = xb.P.reshape(2, N).copy()
    P[0, 0] = F32(0.95) * pp.g_max_S[inst[0, 0]]
    xb.set_devices(P=P.reshape(xb.P.shape))
    xb.update(x, d, lr)
    assert xb.counters.pcm_update_resets == 2
    assert xb.P.reshape(2, N)[1, 0] == pp.g_reset_S[inst[1, 0]]
    assert xb.P.reshape(2, N)[0, 0] < F32(0.95) * pp.g_max_S[inst[0, 0]]


# ------------------------------------------------------------------------------------------ drift references


def refs_layer(shipped, mode="column", **cfg):
    return layer(shipped, "2pcm", shape=(4, 3), pcm={"drift": True} | cfg.pop("pcm", {}),
                 periphery={"integrator_noise": False, "drift_compensation": mode, "integrator_lag": False,
                            "mismatch_scale": 0.0} | cfg.pop("periphery", {}),
                 **cfg)


@pytest.mark.parametrize("mode, max_pulses", [("column", 40), ("layer", 2)])
def test_reference_devices_are_programmed_open_loop_and_read_by_hand(shipped, mode, max_pulses):
    """Guards _program_refs/_read_refs: every group's r reference devices RESET and given the mean device's
    open-loop count to drift_ref_level·mean G_max, their clock restarted at t, R_prog = Σ of their reads (no
    noise: Σ G), gain 1; counters per device; then ĝ = R_prog/Σ drift_with(R, Δt) at the next drift refresh."""
    xb = refs_layer(shipped, mode, transfer={"max_pulses": max_pulses})
    pp, pe = xb.pcm_pop, xb.cfg.periphery
    m = 3 if mode == "column" else 1
    assert xb.R.shape == (m, pe.drift_ref_devices) and np.all(xb.R_prog == 0) and np.all(xb.dc_gain == 1)
    np.testing.assert_array_equal(xb.R, pp.g_reset_S[xb.R_inst])
    xb.advance(2e-3)                                     # a drift refresh: one (useless) read of every reference
    assert xb.counters.drift_ref_reads == xb.R.size and np.all(xb.dc_gain == 1)     # never programmed: gain 1
    xb.set_weights(np.full(xb.shape, 0.2, F32), mode="open")
    target = F32(pe.drift_ref_level * float(np.mean(pp.g_max_S)))
    n_free = int(pcm.open_loop_pulses(float(np.mean(pp.g_reset_S)), target, pp.dg_fit, 10 ** 6))
    assert 2 < n_free < 40                                # the clip at max_pulses = 2 is what limits 'layer'
    n = min(n_free, max_pulses)
    R, _ = pcm.set_pulses(pp.g_reset_S[xb.R_inst], np.full(xb.R.shape, n), xb.R_inst, pp, np.random.default_rng(0),
                          since=0, c2c_scale=0.0)
    np.testing.assert_allclose(xb.R, R, rtol=1e-6, atol=0)
    if n == n_free:
        assert xb.R.mean() == pytest.approx(target, rel=0.25)    # the mean device lands near the target level
    np.testing.assert_array_equal(xb.R_tprog, np.full(xb.R.shape, 2e-3))
    np.testing.assert_allclose(xb.R_drift, pcm.drift_params(R, xb.R_inst, pp), rtol=1e-6)
    np.testing.assert_allclose(xb.R_prog, R.astype(np.float64).sum(1), rtol=1e-6)
    assert xb.R_prog.dtype == F32 and np.all(xb.dc_gain == 1)
    c = xb.counters
    assert (c.drift_ref_resets, c.drift_ref_set_pulses, c.drift_ref_reads) == (R.size, n * R.size, 2 * R.size)
    # drift: the gain undoes the references' own decay, ĝ = Σ G(prog)/Σ G(t)
    xb.advance(30e-3, settle=True)
    now = pcm.drift_with(R, 30e-3, xb.R_drift, xb.R_inst, pp).astype(np.float64).sum(1)
    np.testing.assert_allclose(xb.dc_gain, R.astype(np.float64).sum(1) / now, rtol=1e-5)
    assert np.all(xb.dc_gain > 1.01)                      # a measurable drift at 30 ms
    assert c.drift_ref_reads == 3 * R.size
    gains = xb._col_gain()
    assert gains.shape == (3,) and gains.dtype == F32
    np.testing.assert_allclose(gains, np.broadcast_to(xb.dc_gain, (3,)), rtol=0)
    # the forward read is scaled by ĝ_j (exact read path: no ADC, no lag, no noise)
    np.testing.assert_allclose(xb.weights(forward=True), xb.W * gains, rtol=1e-6)


def test_reference_read_noise_is_the_bench_window_sigma(shipped):
    """Guards the references' read noise: R_prog = Σ (G + σ(G)·z) with σ the verify (bench-window) read's σ, so
    its spread over many groups is √Σσ² (the noise on, the mean unbiased)."""
    xb = layer(shipped, "2pcm", shape=(2, 400), pcm={"drift": True, "read_noise": True, "read_noise_growth": False},
               periphery={"integrator_noise": False, "drift_compensation": "column"})
    xb.set_weights(np.zeros(xb.shape, F32), mode="open")
    sig = pcm.read_sigma(xb.R, xb.pcm_pop).astype(np.float64)
    err = xb.R_prog - xb.R.astype(np.float64).sum(1)
    sd = np.sqrt((sig ** 2).sum(1))
    z = err / sd
    assert abs(z.mean()) < 0.2 and 0.85 < z.std() < 1.15       # 400 groups: ±0.05, ±0.035 (1σ)


def test_references_of_a_transfer_are_the_transferred_columns(shipped):
    """Guards the transfer's reference programming: 'column' mode reprograms the moved columns' groups only;
    'layer' mode reprograms its single group only when every column is transferred (a partial transfer keeps
    the gain, which the columns not moved still need); the gain of the others is kept."""
    for mode, groups in (("column", [1]), ("layer", [])):
        xb = layer(shipped, "2pcm+3t1c", shape=(4, 3), pcm={"drift": True},
                   periphery={"integrator_noise": False, "drift_compensation": mode})
        xb.set_weights(np.full(xb.shape, 0.2, F32), mode="open")
        xb.advance(30e-3, settle=True)
        g_before, t_before, R_before = xb.dc_gain.copy(), xb.R_tprog.copy(), xb.R.copy()
        assert np.all(g_before > 1.01)
        xb.transfer(cols=np.array([1]))
        for g in range(xb.R.shape[0]):
            if g in groups:
                assert xb.dc_gain[g] == 1 and np.all(xb.R_tprog[g] == xb.t_s)
                # RESET first, then the same open-loop count (no c2c): the same conductances as the first time
                np.testing.assert_array_equal(xb.R[g], R_before[g])
            else:
                assert xb.dc_gain[g] == g_before[g] and np.array_equal(xb.R_tprog[g], t_before[g])
        assert xb.counters.drift_ref_resets == xb.R.size + len(groups) * xb.R.shape[1]
        n = int(pcm.open_loop_pulses(float(np.mean(xb.pcm_pop.g_reset_S)),
                                     F32(xb.cfg.periphery.drift_ref_level * float(np.mean(xb.pcm_pop.g_max_S))),
                                     xb.pcm_pop.dg_fit, xb.cfg.transfer.max_pulses))
        assert xb.counters.drift_ref_set_pulses == n * (xb.R.size + len(groups) * xb.R.shape[1])


@pytest.mark.parametrize("growth", [True, False])
def test_reference_read_noise_grows_with_the_references_age(shipped, growth):
    """Guards the age of the references' reads (t − t_prog, pcm.read_noise_growth): programmed at t = 1000 s and
    read 1 ms later, the spread of Σ reads is √Σ(σ·growth(1 ms))², not that of the bench record or of an age of
    2000 s; without growth the bench σ. No drift (ν = 0): the reads differ from the programmed sum by noise alone."""
    xb = layer(shipped, "2pcm", shape=(2, 400), pcm={"drift": True, "read_noise": True, "read_noise_growth": growth},
               periphery={"integrator_noise": False, "drift_compensation": "column"})
    xb.pcm_pop = pcm.uniform_drift(xb.pcm_pop, 0.0)
    xb.R_drift = pcm.drift_params(xb.R, xb.R_inst, xb.pcm_pop)
    xb.advance(1000.0, settle=True)
    xb.set_weights(np.zeros(xb.shape, F32), mode="open")
    xb.advance(1e-3, settle=True)
    assert np.all(xb.R_tprog == 1000.0)
    now = xb.R_prog / xb.dc_gain                              # Σ reads at the refresh
    grow = pcm.age_growth(1e-3, xb.pcm_pop) if growth else 1.0
    assert not growth or grow > 1.3                           # 1 ms is well past the bench's 10 µs record
    sd = np.sqrt(((pcm.read_sigma(xb.R, xb.pcm_pop).astype(np.float64) * grow) ** 2).sum(1))
    z = (now - xb.R.astype(np.float64).sum(1)) / sd
    assert abs(z.mean()) < 0.2 and 0.85 < z.std() < 1.15


def test_drift_refresh_clock_at_its_exact_bounds(shipped):
    """Guards _drift_due: a refresh is due when Δt ≥ max(drift_refresh_s, rel·(a + t_on)), a = age of the youngest
    device at the last refresh (t_drift − t_young), inclusive at the bound; a device programmed at the very
    instant of the last refresh counts as age 0 (due after drift_refresh_s, whatever rel). Numbers chosen exact
    in binary: t_on = 2⁻²⁰ s, rel = 1/2, a = 64 s → bound 32 + 2⁻²¹ s."""
    t_on = 2.0 ** -20
    xb = layer(shipped, "2pcm", pcm={"drift": True, "drift_t_on_s": t_on, "drift_refresh_rel": 0.5})
    xb.advance(16.0, settle=True)
    xb.set_weights(np.full(xb.shape, 0.3, F32), mode="open")      # t_young = 16 s
    xb.advance(64.0, settle=True)                                 # refresh at 80 s: a = 64 s
    w = xb.weights()
    xb.advance(32.0)                                              # Δt = 32 s < 32 + 2⁻²¹ s: not due
    assert np.array_equal(xb.weights(), w)
    xb.advance(2.0 ** -21)                                        # Δt = 32 + 2⁻²¹ s exactly: due
    assert xb.t_s - 80.0 == 0.5 * (64.0 + t_on)
    assert not np.array_equal(xb.weights(), w)
    # age 0: programmed at the instant of the refresh; rel·t_on = 5 s > drift_refresh_s = 1 ms
    yb = layer(shipped, "2pcm", pcm={"drift": True, "drift_t_on_s": 1e-6, "drift_refresh_rel": 5e6})
    yb.advance(1.0, settle=True)
    yb.set_weights(np.full(yb.shape, 0.3, F32), mode="open")
    w = yb.weights()
    yb.advance(0.9e-3)
    assert np.array_equal(yb.weights(), w)                        # Δt < drift_refresh_s
    yb.advance(0.2e-3)
    assert not np.array_equal(yb.weights(), w)                    # due at 1.1 ms, not after rel·t_on = 5 s


# ------------------------------------------------------------------------------------------ read matrices

EXACT = {"integrator_noise": False, "adc_bits": None, "mismatch_scale": 0.0}
G_IN = 2e-4        # a conveyor input conductance comparable to a 20-row line's total: κ visibly below 1


def slow_conveyors(shipped):
    from pycosim.calibration import Bundle
    sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
    sc["integrator"]["conveyor_g_in_S"] = G_IN
    return Bundle(scalars=sc, tables=shipped.tables, provenance={}, path=None)


def test_backward_line_gains_are_compensated_digitally(shipped):
    """Guards the transposed read's digital compensation 1/κ_i (lag_compensation): y_i = Σ_j W_ij·δ_j again."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(4, 30),
               periphery=EXACT | {"integrator_lag": True, "lag_compensation": True, "input_bits": None})
    xb.set_weights(np.random.default_rng(0).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    d = np.linspace(-1, 1, 30).astype(F32)
    np.testing.assert_allclose(xb.backward(d), xb.weights().astype(np.float64) @ d, rtol=3e-5, atol=2e-6)


@pytest.mark.parametrize("comp", [True, False])
def test_forward_matrix_with_the_line_lag_and_its_compensation_by_hand(shipped, comp):
    """Guards weights(forward=True) with the conveyors' hold error: κ±_j = 1/(1 + G_L±_j/g_in) of each column
    line's total (F·Σ_i G±_ij), Wf = scale·(κ⁺_j·F·G⁺ − κ⁻_j·F·G⁻), times the nominal compensation 2/(κ⁺_j + κ⁻_j)
    when lag_compensation is on; weights() stays the lag-free W."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(20, 3),
               periphery=EXACT | {"integrator_lag": True, "lag_compensation": comp})
    xb.set_weights(np.random.default_rng(0).uniform(-0.8, 0.8, xb.shape).astype(F32), mode="open")
    G = xb.devices()["G_S"].astype(np.float64)
    F = xb.cfg.F
    g_in = G_IN
    kp = 1 / (1 + F * G[0].sum(0) / g_in)
    kn = 1 / (1 + F * G[1].sum(0) / g_in)
    assert kp.max() < 0.8                                   # a lag the test can see
    wf = xb.scale * F * (kp * G[0] - kn * G[1])
    want = wf * (2 / (kp + kn)) if comp else wf
    np.testing.assert_allclose(xb.weights(forward=True), want, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(xb.weights(), xb.scale * F * (G[0] - G[1]), rtol=2e-5, atol=2e-6)
    assert not np.allclose(xb.weights(forward=True), xb.weights(), rtol=0, atol=1e-4) or comp


def test_drift_compensated_forward_matrix_with_the_line_lag(shipped):
    """Guards the product of the two digital factors: weights(forward=True) = Wf·ĝ_j·2/(κ⁺_j + κ⁻_j) with both
    the line lag and the drift compensation on; weights() unscaled."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(20, 3), pcm={"drift": True},
               periphery=EXACT | {"integrator_lag": True, "lag_compensation": True, "drift_compensation": "column"})
    xb.set_weights(np.random.default_rng(0).uniform(-0.8, 0.8, xb.shape).astype(F32), mode="open")
    xb.advance(30e-3, settle=True)
    g = xb.dc_gain.astype(np.float64)
    assert np.all(g > 1.01)
    G = xb.devices()["G_S"].astype(np.float64)
    F = xb.cfg.F
    g_in = G_IN
    kp = 1 / (1 + F * G[0].sum(0) / g_in)
    kn = 1 / (1 + F * G[1].sum(0) / g_in)
    wf = xb.scale * F * (kp * G[0] - kn * G[1])
    np.testing.assert_allclose(xb.weights(forward=True), wf * g * 2 / (kp + kn), rtol=3e-5, atol=2e-6)
    np.testing.assert_allclose(xb.weights(), xb.scale * F * (G[0] - G[1]), rtol=2e-5, atol=2e-6)


def test_backward_read_noise_is_the_1_over_f_law_of_the_squared_pulse_fractions(shipped):
    """Guards the transposed read's PCM noise: var(y_i) = m²·κ(t_x1)·Σ_j (δ_j/m)²·S_ij with S_ij = scale²·F²·(σ²(G⁺) +
    σ²(G⁻))·t_b (pcm.read_sigma at the bench window), κ(t) = ln(t_rec/min(t, t_b))/(ln(t_rec/t_b)·t_b) (1/f:
    the squared pulse fraction, not |δ|); float32 output. 4000 reads: the z-scores' σ to ±2 %."""
    xb = layer(shipped, "2pcm", shape=(6, 4), pcm={"read_noise": True, "read_noise_growth": False},
               periphery=EXACT | {"integrator_lag": False})
    xb.set_weights(np.random.default_rng(1).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    pp = xb.pcm_pop
    G = xb.devices()["G_S"]
    var = sum(pcm.read_sigma(G[k], pp).astype(np.float64) ** 2 for k in (0, 1))
    S = xb.scale ** 2 * xb.cfg.F ** 2 * var * pp.noise_t_int_s
    t = xb.read_pulse()[2]
    t_b, t_rec = pp.noise_t_int_s, pp.noise_t_rec_s
    kappa = np.log(t_rec / min(t, t_b)) / (np.log(t_rec / t_b) * t_b)
    d = np.array([0.8, 0.16, -0.16, 0.16], F32)                # m = 0.8: pulse fractions 1, 0.2, −0.2, 0.2
    m = 0.8
    sd = np.sqrt(m * m * kappa * (S * (d / m) ** 2).sum(1))
    mean = xb.weights().astype(np.float64) @ d
    ys = np.array([xb.backward(d) for _ in range(4000)])
    assert ys.dtype == F32
    z = (ys - mean) / sd
    assert abs(z.mean()) < 0.05
    assert z.std() == pytest.approx(1.0, abs=0.04)            # |δ| instead of δ²: σ × 1.2


def test_reads_without_noise_draw_no_random_number(shipped):
    """Guards the noise switches of the reads: a quiet PCM layer (no device or integrator noise) keeps no
    read-noise cache and leaves its generator untouched by forward and backward reads, so switching noise
    off does not shift a seeded run's later draws."""
    for synapse in ("2pcm", "4pcm"):
        xb = layer(shipped, synapse, periphery=EXACT)
        assert xb.S is None
        before = xb.rng.bit_generator.state
        xb.forward(np.ones(3, F32))
        xb.backward(np.ones(2, F32))
        assert xb.rng.bit_generator.state == before


# ------------------------------------------------------------------------------------------ state and placement


def drift_clock_layer(shipped):
    xb = layer(shipped, "2pcm", pcm={"drift": True, "drift_t_on_s": 2.0 ** -20, "drift_refresh_rel": 0.5})
    xb.advance(16.0, settle=True)
    xb.set_weights(np.full(xb.shape, 0.3, F32), mode="open")      # t_young = 16 s
    xb.advance(64.0, settle=True)                                 # refresh at 80 s: a = 64 s
    return xb


def test_drift_refresh_evaluates_each_devices_age_since_its_programming(shipped):
    """Guards Pe = drift_with(P, t − t_prog): devices programmed at 16 s and refreshed at 80 s are 64 s old."""
    xb = drift_clock_layer(shipped)
    want = pcm.drift_with(xb.P, 64.0, pcm.drift_params(xb.P, xb.P_inst, xb.pcm_pop), xb.P_inst, xb.pcm_pop)
    np.testing.assert_allclose(xb.devices()["G_S"], want, rtol=1e-6)
    assert np.all(xb.devices()["G_S"] < 0.97 * xb.P)              # 64 s of drift is visible


def test_restored_layer_keeps_the_drift_clock_of_its_youngest_device(shipped):
    """Guards _restored: the youngest device's programming time is rebuilt from the restored programming times,
    so the restored layer refreshes drift at the same instants as the original (bound 32 + 2⁻²¹ s here)."""
    a = drift_clock_layer(shipped)
    b = layer(shipped, "2pcm", pcm={"drift": True, "drift_t_on_s": 2.0 ** -20, "drift_refresh_rel": 0.5})
    b.set_state(a.state())
    for dt in (32.0, 2.0 ** -21, 1.0):
        w_a, w_b = a.weights(), b.weights()
        a.advance(dt)
        b.advance(dt)
        assert np.array_equal(a.weights(), b.weights())
        assert np.array_equal(a.weights(), w_a) == np.array_equal(b.weights(), w_b)


def test_set_devices_restarts_the_drift_clock_and_assumes_a_steady_state_c2c(shipped):
    """Guards set_devices: the pulse counters at the steady state of the c2c table (its last row, history
    unknown), every device programmed now (age 0: a drift refresh is due after drift_refresh_s)."""
    xb = layer(shipped, "2pcm", pcm={"drift": True})
    xb.advance(5.0, settle=True)
    P = np.full(xb.P.shape, 8e-6, F32)
    xb.set_devices(P=P)
    J = xb.pcm_pop.c2c_by_pulse_S.shape[0]
    assert J != xb.pcm_pop.c2c_by_pulse_S.shape[1]
    assert np.all(xb.P_since == J)
    assert np.all(xb.devices()["G_S"] == P)
    w = xb.weights()
    xb.advance(1.5e-3)                                            # past drift_refresh_s: refreshed
    assert not np.array_equal(xb.weights(), w)
    want = pcm.drift_with(P, 1.5e-3, pcm.drift_params(P, xb.P_inst, xb.pcm_pop), xb.P_inst, xb.pcm_pop)
    np.testing.assert_allclose(xb.devices()["G_S"], want, rtol=1e-6)


def test_exact_weights_use_no_reference_devices(shipped):
    """Guards _set_exact with drift compensation: the inference model's exact read matrix has no reference
    devices, so a later drift refresh reads none and the forward read is x·W exactly."""
    xb = refs_layer(shipped, "column", periphery={"adc_bits": None})
    W = np.random.default_rng(2).uniform(-0.5, 0.5, xb.shape).astype(F32)
    xb.set_weights(W, mode="exact")
    x = np.array([1.0, 0.0, 1.0, 1.0], F32)                      # full and no pulses: no PWM rounding
    np.testing.assert_allclose(xb.forward(x), x @ W, rtol=1e-5, atol=1e-6)
    reads = xb.counters.drift_ref_reads
    xb.advance(2e-3)
    assert xb.counters.drift_ref_reads == reads


@pytest.mark.parametrize("synapse, drift, lag", [("2pcm", False, False), ("2pcm+3t1c", True, False)])
def test_restored_layer_without_drift_or_line_model_reads_its_updates(shipped, synapse, drift, lag):
    """A restored layer continues bit for bit (Crossbar.state's contract) also without drift or line model."""
    kw = dict(pcm={"drift": drift}, periphery=EXACT | {"integrator_lag": lag},
              update={"rounding": "deterministic"})
    a, b = layer(shipped, synapse, **kw), layer(shipped, synapse, **kw)
    a.set_weights(np.full(a.shape, 0.1, F32), mode="open")
    b.set_state(a.state())
    x, d = np.ones(3, F32), -np.ones(2, F32)
    for xb in (a, b):
        for _ in range(3):
            xb.update(x, d, 0.5)
    assert np.array_equal(a.weights(), b.weights())
    assert np.array_equal(a.forward(x), b.forward(x))


def test_layer_compensation_keeps_the_columns_a_transfer_did_not_move(shipped):
    """The effective weights ĝ·W of a column that a transfer did not touch do not jump."""
    xb = layer(shipped, "2pcm+3t1c", shape=(8, 3), pcm={"drift": True},
               periphery=EXACT | {"integrator_lag": False, "drift_compensation": "layer"})
    xb.set_weights(np.full(xb.shape, 0.3, F32), mode="open")
    xb.advance(30.0, settle=True, hold_lsp=True)
    w0 = xb.weights(forward=True)
    xb.transfer(cols=np.array([1]))
    np.testing.assert_allclose(xb.weights(forward=True)[:, 0], w0[:, 0], rtol=0.02)


# ------------------------------------------------------------------------------------------ update counts and drift ahead


def test_pulse_counts_clip_both_ways_and_keep_columns_reached_through_large_inputs(shipped):
    """Guards _counts: |n| ≤ update.max_pulses in both directions (depression too), and the deterministic
    column pre-selection uses max_i |x_i| (an input above 1 can bring a column to a pulse)."""
    xb = layer(shipped, "2pcm", update={"rounding": "deterministic", "max_pulses": 4})
    dw = xb.dw_pulse
    flat, n = xb.pulse_counts(np.array([1.0, 0.0, 0.5], F32), np.array([20 * dw, -20 * dw], F32), 1.0)
    assert flat.tolist() == [0, 1, 4, 5] and n.tolist() == [-4, 4, -4, 4]
    # x = 4 on row 0: n = 4·0.25 = 1 on column 0 (0.25 per unit input), 0 on column 1
    flat, n = xb.pulse_counts(np.array([4.0, 0.0, 0.0], F32), np.array([-0.25 * dw, -0.1 * dw], F32), 1.0)
    assert flat.tolist() == [0] and n.tolist() == [1]


def test_drift_ahead_beyond_the_last_stored_read_uses_the_mean_exponent(shipped):
    """Guards _mean_drift's ν: past the bench's last stored drift read, the mean device continues with the
    instances' mean ν (pcm.drift_with with drift_nu averaged), not each instance's own."""
    import dataclasses

    from pycosim.array.schemes.analog import ArrayProgrammer

    xb = layer(shipped, "2pcm", pcm={"drift": True})
    P = np.stack([np.full((3, 2), 9e-6), np.full((3, 2), 2e-6)]).astype(F32)
    xb.advance(5.0)
    xb.set_devices(P=P)
    xb.advance(10.0, settle=True)
    p = xb.pcm_pop
    h = 10 * float(p.drift_t_s[-1])                          # ten times the last stored read: on the ν tail
    mean = lambda a: np.broadcast_to(a.mean(axis=0, keepdims=True), a.shape)  # noqa: E731
    mp = dataclasses.replace(p, drift_nu=mean(p.drift_nu), drift_ln_g=mean(p.drift_ln_g),
                             drift_level_x=mean(p.drift_level_x))
    inst = xb.P_inst
    lev = pcm.drift_params(P, inst, mp)
    ratio = (pcm.drift_with(np.ones_like(P), 10.0 + h, lev, inst, mp).astype(np.float64)
             / pcm.drift_with(np.ones_like(P), 10.0, lev, inst, mp).astype(np.float64))
    dG = xb.devices()["G_S"].astype(np.float64) * (ratio - 1)
    want = xb.scale * xb.cfg.F * (dG[0] - dG[1]).ravel()
    got = ArrayProgrammer(xb, np.arange(6), 1e-6).drift_ahead(np.arange(6), h)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-7)
    own = dataclasses.replace(mp, drift_nu=p.drift_nu)       # each instance's own ν on the tail: differs
    r_own = (pcm.drift_with(np.ones_like(P), 10.0 + h, lev, inst, own).astype(np.float64)
             / pcm.drift_with(np.ones_like(P), 10.0, lev, inst, own).astype(np.float64))
    assert np.abs(r_own - ratio).max() > 1e-3


# ------------------------------------------------------------------------------------------ transfer


@pytest.mark.parametrize("mode", ["column", "layer"])
def test_compensated_transfer_moves_the_change_of_the_effective_weight(shipped, mode):
    """Guards the transfer's contribution under drift compensation: a column's effective weight ĝ_j·W changes by
    c = (ĝ_j − 1)·W + LSP when its LSP resets and ĝ_j → 1, so that c decides what moves and what is dropped
    ('4pcm': LSP = scale·(g⁺ − g⁻) placed by hand)."""
    xb = layer(shipped, "4pcm", pcm={"drift": True},
               periphery=EXACT | {"integrator_lag": False, "drift_compensation": mode})
    gp = np.array([[3e-6, 1e-6], [2e-6, 2e-6], [5e-6, 0.5e-6]])
    P = np.stack([np.full((3, 2), 9e-6), np.full((3, 2), 1e-6), gp, np.full((3, 2), 1e-6)])
    xb.set_devices(P=P)
    xb.set_weights(xb.weights(), mode="open")                 # references programmed (MSP reprogrammed too)
    P = xb.P.copy()
    P[2:] = np.stack([gp, np.full((3, 2), 1e-6)])             # the LSP pair placed again
    xb.set_devices(P=P)
    xb.advance(30.0, settle=True)
    g = np.broadcast_to(xb.dc_gain, (2,)).astype(np.float64)
    assert np.all(g > 1.02)
    W, c_lsp = xb.weights().astype(np.float64), xb.lsp_contribution().astype(np.float64)
    c = (g - 1) * W + c_lsp
    assert np.abs((g - 1) * W).min() > 0.1 * np.abs(c_lsp).max()   # both terms matter
    st = xb.transfer(threshold=np.inf)
    assert st.n_moved == 0 and st.n_synapses == 6
    assert st.dropped_abs_sum == pytest.approx(np.abs(c).sum(), rel=1e-4)


def test_transfer_threshold_is_strict(shipped):
    """Guards |c| > threshold: at threshold 0 a synapse whose LSP holds exactly nothing is not moved."""
    xb = layer(shipped, "4pcm")
    gp = np.array([[3e-6, 1e-6], [1e-6, 2e-6], [5e-6, 1e-6]])
    xb.set_devices(P=np.stack([np.full((3, 2), 4e-6), np.full((3, 2), 1e-6), gp, np.full((3, 2), 1e-6)]))
    st = xb.transfer(threshold=0.0)
    assert (st.n_synapses, st.n_moved, st.dropped_abs_sum) == (6, 3, 0.0)


# ------------------------------------------------------------------------------------------ construction


def test_construction_scale_state_and_dtypes_by_hand(shipped):
    """Guards _build: scale = weight_max/(F·(mean G_max − mean RESET floor)) with pcm.g_max_scale applied to every
    device's G_max first; every device at its own RESET floor; the state arrays' dtypes (float32 conductances,
    int32 pulse counters, float64 clocks, uint32 per-device counters); drifted values a separate array; the
    read voltage from the configuration."""
    xb = layer(shipped, "2pcm", shape=(4, 3), F=2.0, weight_max=0.5, pcm={"drift": True, "g_max_scale": 0.8},
               periphery={"integrator_noise": False, "drift_compensation": "column", "read_v_V": 0.2})
    raw = pcm.population(shipped)
    gmax = (raw.g_max_S * 0.8).astype(F32)
    assert xb.scale == pytest.approx(0.5 / (2.0 * (np.mean(gmax) - np.mean(raw.g_reset_S))), rel=1e-6)
    d = xb.devices()
    np.testing.assert_array_equal(d["g_max_S"], gmax[d["pcm_instance"]])
    np.testing.assert_array_equal(d["G_prog_S"], raw.g_reset_S[d["pcm_instance"]])
    assert d["pcm_stuck"] is None
    for name, dt in (("P", F32), ("Pe", F32), ("P_since", np.int32), ("P_tprog", np.float64), ("P_drift", F32),
                     ("R", F32), ("R_tprog", np.float64), ("R_prog", F32), ("dc_gain", F32), ("W", F32)):
        assert getattr(xb, name).dtype == dt, name
    assert xb._drift_dirty.dtype == bool
    for name in ("pcm_resets_per_device", "pcm_sets_per_device"):
        a = getattr(xb.counters, name)
        assert a.dtype == np.uint32 and a.shape == (2, 4, 3) and a.sum() == 0
    assert xb.Pe is not xb.P
    np.testing.assert_array_equal(xb.R_drift, pcm.drift_params(xb.R, xb.R_inst, xb.pcm_pop))
    assert xb.read_pulse()[0] == 0.2 and xb.integ.noise_out_V is None
    assert layer(shipped, "2pcm", periphery={"integrator_noise": True}).integ.noise_out_V > 0
    quiet = layer(shipped, "2pcm", pcm={"drift": False})
    assert quiet._drift_dirty is None and quiet.P_tprog is None and quiet.R is None


def test_stuck_fractions_at_g_max_and_at_the_reset_floor(shipped):
    """Guards the yield model: a fraction stuck_max_frac of the devices sits at its own G_max and a fraction
    stuck_reset_frac at its RESET floor, both stuck (disjoint draws); either alone works. 20 000 devices: the
    fractions to ±0.01 (3.5σ)."""
    for fmax, freset in ((0.2, 0.0), (0.0, 0.3), (0.1, 0.25)):
        xb = layer(shipped, "2pcm", shape=(100, 100), pcm={"stuck_max_frac": fmax, "stuck_reset_frac": freset})
        d = xb.devices()
        at_max = d["G_prog_S"] == d["g_max_S"]
        stuck = d["pcm_stuck"]
        assert stuck is not None and stuck.dtype == bool
        assert at_max.mean() == pytest.approx(fmax, abs=0.01)
        assert np.all(stuck[at_max])
        assert (stuck & ~at_max).mean() == pytest.approx(freset, abs=0.01)
        reset = xb.pcm_pop.g_reset_S[d["pcm_instance"]]
        assert np.all(d["G_prog_S"][~at_max] == reset[~at_max])


def test_forward_read_noise_laws_by_hand(shipped):
    """Guards the forward read's noise: with PCM noise (1/f) var(y_j) = κ(t)·Σ_i x̂_i²·S_ij, κ(t) =
    ln(t_rec/min(t, t_b))/(ln(t_rec/t_b)·t_b), S_ij = scale²·[F²·(σ²(G⁺) + σ²(G⁻))]·t_b; with only the 3T1C FET's
    white noise var(y_j) = Σ_i |x̂_i|·S_ij/t. 4000 reads: σ of the z-scores to ±0.04."""
    x = np.array([1.0, 0.2, 0.2, 0.2, 0.0, 0.2], F32)          # x² and |x| differ by 1.12 vs 1.8 (σ × 1.27)
    xb = layer(shipped, "2pcm", shape=(6, 40), pcm={"read_noise": True, "read_noise_growth": False},
               periphery=EXACT | {"integrator_lag": False, "input_bits": None})
    xb.set_weights(np.random.default_rng(1).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    pp = xb.pcm_pop
    G = xb.devices()["G_S"]
    S = xb.scale ** 2 * xb.cfg.F ** 2 * sum(pcm.read_sigma(G[k], pp).astype(np.float64) ** 2 for k in (0, 1)) \
        * pp.noise_t_int_s
    np.testing.assert_allclose(xb.S, S, rtol=1e-5)
    t, t_b, t_rec = xb.read_pulse()[1], pp.noise_t_int_s, pp.noise_t_rec_s
    assert t != t_b
    kappa = np.log(t_rec / min(t, t_b)) / (np.log(t_rec / t_b) * t_b)
    assert xb.noise_factor(t) == pytest.approx(kappa, rel=1e-12)
    assert xb.noise_factor(10 * t_b) == pytest.approx(1 / t_b, rel=1e-12)       # no credit for longer windows
    z = (np.array([xb.forward(x) for _ in range(100)]) - x @ xb.weights()) / np.sqrt(kappa * (x * x) @ S)
    assert abs(z.mean()) < 0.05 and z.std() == pytest.approx(1.0, abs=0.04)
    # white law: the 3T1C cells' noise alone
    yb = layer(shipped, "2pcm+3t1c", shape=(6, 40), lsp={"read_noise": True},
               periphery=EXACT | {"integrator_lag": False, "input_bits": None})
    t = yb.read_pulse()[1]
    assert yb.noise_factor(t) == 1.0 / t
    S = yb.S.astype(np.float64)
    assert S.min() > 0
    z = (np.array([yb.forward(x) for _ in range(100)]) - x @ yb.weights()) / np.sqrt(np.abs(x) @ S / t)
    assert abs(z.mean()) < 0.05 and z.std() == pytest.approx(1.0, abs=0.04)


def test_4pcm_read_noise_density_counts_both_pairs(shipped):
    """Guards S = scale²·[F²·(σ²(G⁺) + σ²(G⁻)) + σ²(g⁺) + σ²(g⁻)]·t_b for '4pcm' (the LSP pair at weight 1)."""
    xb = layer(shipped, "4pcm", pcm={"read_noise": True, "read_noise_growth": False})
    P = np.stack([np.full((3, 2), 9e-6), np.full((3, 2), 2e-6), np.full((3, 2), 5e-6), np.full((3, 2), 3e-6)])
    xb.set_devices(P=P)
    pp = xb.pcm_pop
    v = [pcm.read_sigma(P[k].astype(F32), pp).astype(np.float64) ** 2 for k in range(4)]
    want = xb.scale ** 2 * (xb.cfg.F ** 2 * (v[0] + v[1]) + v[2] + v[3]) * pp.noise_t_int_s
    np.testing.assert_allclose(xb.S, want, rtol=1e-5)


@pytest.mark.parametrize("bits", [2, 3])
def test_input_pulse_width_levels(shipped, bits):
    """Guards the PWM input encoding x̂ = round(x·L)/L with L = 2^bits − 1 read-pulse levels."""
    xb = layer(shipped, "2pcm", periphery=EXACT | {"integrator_lag": False, "input_bits": bits})
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], F32)
    xb.set_weights(W, mode="exact")
    L = 2 ** bits - 1
    x = np.array([0.4, 0.55, 0.0], F32)
    np.testing.assert_allclose(xb.forward(x), np.rint(x[:2] * L) / L, rtol=1e-5, atol=1e-6)


def test_resolved_settings_report_the_values_the_layer_uses(shipped):
    """Guards resolved_settings: every setting left None is reported with the value in use (read voltage from
    the bundle, the read windows of a full input per direction, the verify window = the PCM bench window with
    its read noise on, else the forward window; drift horizon 0), and nothing for settings given."""
    xb = layer(shipped, "2pcm", pcm={"read_noise": True})
    r = xb.resolved_settings()
    v, t_f, t_b = xb.read_pulse()
    assert r == {"periphery.read_v_V": float(shipped.scalars["lsp"]["read_v_V"]),
                 "periphery.t_read_s": {"forward": t_f, "backward": t_b},
                 "transfer.verify_t_read_s": float(xb.pcm_pop.noise_t_int_s), "transfer.drift_horizon_s": 0.0,
                 "transfer.verify_delay_s": xb.default_verify_delay(),
                 "pcm.endurance_set_weight": float(shipped.scalars["pcm"]["e_set_J"])
                 / float(shipped.scalars["pcm"]["e_reset_J"])}
    assert r["transfer.verify_delay_s"] > 7e-6 and type(r["transfer.verify_delay_s"]) is float
    assert v == float(shipped.scalars["lsp"]["read_v_V"]) and t_f > 0 and t_b > 0
    assert all(type(x) is float for x in (r["periphery.read_v_V"], r["transfer.verify_t_read_s"], t_f, t_b))
    assert layer(shipped, "2pcm").resolved_settings()["transfer.verify_t_read_s"] == t_f     # PCM noise off
    given = layer(shipped, "2pcm", periphery={"read_v_V": 0.3, "t_read_s": 5e-7},
                  transfer={"verify_t_read_s": 1e-6, "drift_horizon_s": 10.0, "verify_delay_s": 1e-3},
                  pcm={"endurance_set_weight": 0.5})
    assert given.resolved_settings() == {}
    assert given.read_pulse() == (0.3, 5e-7, 5e-7)


def test_programmer_step_resets_pairs_counts_and_pulses_only_positive_counts(shipped):
    """Guards ArrayProgrammer.step: a restart RESETs both devices of the pair (two RESETs each, accumulated over
    calls, as the layer's transfer_resets counts them); SET pulses go only to devices with n > 0 — a device
    given no pulse is not programmed (its drift clock keeps running)."""
    from pycosim.array.schemes.analog import ArrayProgrammer

    xb = layer(shipped, "2pcm", pcm={"drift": True})
    xb.set_weights(np.full(xb.shape, 0.3, F32), mode="open")
    xb.advance(5.0, settle=True)
    tprog = xb.P_tprog.copy()
    prog = ArrayProgrammer(xb, np.array([0, 3, 5, 1]), 1e-6)         # synapse 1: never reset nor pulsed
    r0, s0 = xb.counters.transfer_resets, xb.counters.transfer_set_pulses
    prog.step(np.arange(4), np.array([0, 1, 0, 0]), np.array([0, 2, 0, 0]), np.array([True, False, True, False]))
    assert prog.resets == 4 and xb.counters.transfer_resets == r0 + 4
    prog.step(np.arange(4), np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), np.array([False, True, False, False]))
    assert prog.resets == 6 and xb.counters.transfer_resets == r0 + 6
    assert prog.set_pulses == 2 and xb.counters.transfer_set_pulses == s0 + 2
    N = xb.W.size
    tp = xb.P_tprog.reshape(2, N)
    # programmed now (t = 5 s): synapse 0 and 5 (reset), 3 (reset in the second call and its G⁻ pulsed)
    assert np.all(tp[:, [0, 3, 5]] == xb.t_s)
    assert np.array_equal(tp[:, [1, 2, 4]], tprog.reshape(2, N)[:, [1, 2, 4]])
    pp = xb.pcm_pop
    G = xb.P.reshape(2, N)
    inst = xb.P_inst.reshape(2, N)
    np.testing.assert_array_equal(G[:, [0, 3, 5]], pp.g_reset_S[inst[:, [0, 3, 5]]])


# ------------------------------------------------------------------------------------------ programming, reads, streams


def test_open_loop_programming_by_hand(shipped):
    """Guards open-loop set_weights: every pair RESET, then n = pcm.open_loop_pulses(Ḡ_reset, Ḡ_reset + |w|/(scale·F),
    fit, max_pulses) SET pulses (the mean device's count, from the bundle's mean RESET floor) on G⁺ for w ≥ 0,
    on G⁻ for w < 0; the counts clipped at transfer.max_pulses; stats and counters accumulate."""
    xb = layer(shipped, "2pcm", transfer={"max_pulses": 6})
    w = np.array([[0.05, -0.2], [0.9, -0.9], [0.0, 0.3]], F32)
    st = xb.set_weights(w, mode="open")
    pp, N = xb.pcm_pop, xb.W.size
    g_from = float(shipped.scalars["pcm"]["g_reset_mean_S"])
    dG = np.abs(w.reshape(-1)) / F32(xb.scale * xb.cfg.F)
    n = pcm.open_loop_pulses(g_from, g_from + dG, pp.dg_fit, 6)
    n_free = pcm.open_loop_pulses(g_from, g_from + dG, pp.dg_fit, 10 ** 6)
    assert n_free.max() > 6 and n.max() == 6                  # the ±0.9 weights are clipped
    inst = xb.P_inst.reshape(2, N)
    want = pp.g_reset_S[inst].astype(F32)
    dev = np.where(w.reshape(-1) >= 0, 0, 1)
    for s in range(N):
        g, _ = pcm.set_pulses(want[dev[s], s:s + 1], n[s], inst[dev[s], s:s + 1], pp, np.random.default_rng(0),
                              since=0, c2c_scale=0.0)
        want[dev[s], s] = g[0]
    np.testing.assert_allclose(xb.P.reshape(2, N), want, rtol=1e-6, atol=0)
    assert st.set_pulses == int(n.sum()) and st.resets == 2 * N
    c = xb.counters
    assert c.transfer_set_pulses == int(n.sum()) and c.transfer_resets == 2 * N
    st2 = xb.set_weights(w, mode="open")
    assert st2.set_pulses == int(n.sum()) and st2.resets == 2 * N
    assert c.transfer_set_pulses == 2 * int(n.sum()) and c.transfer_resets == 4 * N
    # closed loop: iterations and verify reads, per call in the stats, accumulated in the counters
    it0, vr0 = c.transfer_iterations, c.transfer_verify_reads
    a = xb.set_weights(-w, mode="closed")
    b = xb.set_weights(w, mode="closed")
    assert a.iterations > 0 and b.iterations > 0 and b.resets > 0 and a.verify_reads > 0
    assert c.transfer_iterations == it0 + a.iterations + b.iterations
    assert c.transfer_verify_reads == vr0 + a.verify_reads + b.verify_reads


def test_verify_read_noise_by_hand(shipped):
    """Guards ArrayProgrammer.read: w = W + σ·z with σ = √(S·κ(t_read)) per synapse (S by hand, κ the 1/f law),
    independent normals per synapse; σ = 0 and float32 without read noise; levels() are each pair's (G⁺, G⁻)
    and their G_max."""
    from pycosim.array.schemes.analog import ArrayProgrammer

    xb = layer(shipped, "2pcm", shape=(20, 40), pcm={"read_noise": True, "read_noise_growth": False})
    xb.set_weights(np.random.default_rng(3).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    pp, N = xb.pcm_pop, xb.W.size
    G = xb.devices()["G_S"].reshape(2, N)
    S = xb.scale ** 2 * xb.cfg.F ** 2 * (pcm.read_sigma(G[0], pp).astype(np.float64) ** 2
                                        + pcm.read_sigma(G[1], pp).astype(np.float64) ** 2) * pp.noise_t_int_s
    t = 4e-7
    kappa = np.log(pp.noise_t_rec_s / min(t, pp.noise_t_int_s)) / (np.log(pp.noise_t_rec_s / pp.noise_t_int_s)
                                                                  * pp.noise_t_int_s)
    flat = np.arange(N)[::-1].copy()
    prog = ArrayProgrammer(xb, flat, t)
    w, sig = prog.read(np.arange(N))
    assert w.dtype == F32 and sig.dtype == F32
    np.testing.assert_allclose(sig, np.sqrt(S[flat] * kappa), rtol=1e-5)
    z = (w - xb.weights().reshape(-1)[flat]) / sig
    assert abs(z.mean()) < 0.06 and z.std() == pytest.approx(1.0, abs=0.05)   # 800 independent reads
    g, gmax = prog.levels(np.array([0, 5]))
    P = xb.P.reshape(2, N)
    np.testing.assert_array_equal(g, P[:, flat[[0, 5]]])
    np.testing.assert_array_equal(gmax, pp.g_max_S[xb.P_inst.reshape(2, N)[:, flat[[0, 5]]]])
    quiet = ArrayProgrammer(layer(shipped, "2pcm"), np.arange(6), t)
    w, sig = quiet.read(np.arange(6))
    assert w.dtype == F32 and sig.dtype == F32 and np.all(sig == 0)


def test_read_noise_density_uses_each_devices_age(shipped):
    """Guards _pcm_var with read_noise_growth: S = scale²·F²·Σ (σ(G)·growth(t − t_prog))²·t_b, the age since each
    device's own programming (programmed at 1000 s, refreshed 1 ms later: growth(1 ms), not growth(2000 s))."""
    xb = layer(shipped, "2pcm", pcm={"drift": True, "read_noise": True, "read_noise_growth": True})
    xb.pcm_pop = pcm.uniform_drift(xb.pcm_pop, 0.0)
    xb.advance(1000.0, settle=True)
    xb.set_weights(np.full(xb.shape, 0.3, F32), mode="open")
    xb.advance(1e-3, settle=True)
    pp = xb.pcm_pop
    G = xb.devices()["G_S"]
    gr = float(pcm.age_growth(1e-3, pp))
    assert gr > 1.3 and abs(gr - float(pcm.age_growth(2000.0, pp))) > 0.3
    S = xb.scale ** 2 * xb.cfg.F ** 2 * gr ** 2 * (pcm.read_sigma(G[0], pp).astype(np.float64) ** 2
                                                   + pcm.read_sigma(G[1], pp).astype(np.float64) ** 2) * pp.noise_t_int_s
    np.testing.assert_allclose(xb.S, S, rtol=1e-5)


def test_forward_counters_and_output_noise_through_the_line_gain(shipped):
    """Guards the forward read's bookkeeping (reads and integrations per read, float32 y) and the line model on
    the device noise: with the hold error and no digital compensation, the device noise current is scaled by the
    line's nominal gain κ_j = (κ⁺_j + κ⁻_j)/2 like the signal: σ(y_j) = κ_j·√(κ(t)·Σ_i x_i²·S_ij)."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(20, 30), pcm={"read_noise": True, "read_noise_growth": False},
               periphery=EXACT | {"integrator_lag": True, "lag_compensation": False, "input_bits": None})
    xb.set_weights(np.random.default_rng(1).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    G = xb.devices()["G_S"].astype(np.float64)
    F = xb.cfg.F
    kp = 1 / (1 + F * G[0].sum(0) / G_IN)
    kn = 1 / (1 + F * G[1].sum(0) / G_IN)
    kj = (kp + kn) / 2
    assert kj.max() < 0.8
    pp = xb.pcm_pop
    t = xb.read_pulse()[1]
    kappa = np.log(pp.noise_t_rec_s / min(t, pp.noise_t_int_s)) / (np.log(pp.noise_t_rec_s / pp.noise_t_int_s)
                                                                  * pp.noise_t_int_s)
    S = xb.scale ** 2 * F ** 2 * (pcm.read_sigma(G[0].astype(F32), pp).astype(np.float64) ** 2
                                  + pcm.read_sigma(G[1].astype(F32), pp).astype(np.float64) ** 2) * pp.noise_t_int_s
    x = np.linspace(0.1, 1.0, 20).astype(F32)
    mean = x @ xb.weights(forward=True).astype(np.float64)
    ys = np.array([xb.forward(x) for _ in range(150)])
    assert ys.dtype == F32
    z = (ys - mean) / (kj * np.sqrt(kappa * (x.astype(np.float64) ** 2) @ S))
    assert abs(z.mean()) < 0.06 and z.std() == pytest.approx(1.0, abs=0.04)     # without κ_j: σ × 1.3 or more
    assert xb.counters.reads_forward == 150 and xb.counters.integrations_forward == 150 * 30


def test_forward_matrix_of_updated_synapses_uses_the_line_gains(shipped):
    """Guards _wf_of: after an update the pulsed synapses' forward weights are scale·(κ⁺_j·F·G⁺ − κ⁻_j·F·G⁻) with their
    own column's gains (the gains of the last line refresh), the others unchanged."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(20, 3), update={"rounding": "deterministic"},
               periphery=EXACT | {"integrator_lag": True, "lag_compensation": False})
    xb.set_weights(np.random.default_rng(0).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    G0 = xb.devices()["G_S"].astype(np.float64)
    F = xb.cfg.F
    kp = 1 / (1 + F * G0[0].sum(0) / G_IN)
    kn = 1 / (1 + F * G0[1].sum(0) / G_IN)
    x = np.zeros(20, F32)
    x[[2, 7]] = 1.0
    xb.update(x, np.array([-2, 1, 0], F32) * F32(xb.dw_pulse), 1.0)
    G = xb.devices()["G_S"].astype(np.float64)
    assert not np.array_equal(G, G0)
    np.testing.assert_allclose(xb.weights(forward=True), xb.scale * F * (kp * G[0] - kn * G[1]), rtol=3e-5, atol=2e-6)


def test_uniform_and_normal_streams_continue_in_order(shipped):
    """Guards the layer's buffered streams: consecutive draws continue the buffer (no number reused or skipped)
    and the buffer is filled from the layer's generator (uniforms: rng.random float32; normals:
    kernels.standard_normal)."""
    from pycosim.array import kernels

    xb = layer(shipped, "2pcm")
    ref = np.random.Generator(np.random.PCG64())
    ref.bit_generator.state = xb.rng.bit_generator.state
    a = xb._uniforms(4).copy()
    b = xb._uniforms(3).copy()
    c = xb._uniforms(2).copy()
    want = ref.random(xb._UBUF, dtype=np.float32)
    np.testing.assert_array_equal(np.concatenate([a, b, c]), want[:9])
    # past the end of the buffer: the unused rest first, then the next numbers of the generator
    big = np.concatenate([xb._uniforms(40000).copy(), xb._uniforms(40000).copy()])
    fresh = ref.random(4 * 40000 - (xb._UBUF - 40009), dtype=np.float32)
    np.testing.assert_array_equal(big, np.concatenate([want[9:], fresh])[:80000])
    ref.bit_generator.state = xb.rng.bit_generator.state
    g1 = xb._gauss(5).copy()
    g2 = xb._gauss(2).copy()
    np.testing.assert_array_equal(np.concatenate([g1, g2]), kernels.standard_normal(ref, xb._ZBUF)[:7])


def test_backward_read_with_the_row_line_gains_and_its_counters(shipped):
    """Guards the transposed read's line model: without digital compensation each row's result carries its line
    gain κ_i = 1/(1 + F·Σ_j (G⁺_ij + G⁻_ij)/g_in), y_i = κ_i·Σ_j W_ij·δ_j; the read and integration counters."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(4, 30),
               periphery=EXACT | {"integrator_lag": True, "lag_compensation": False, "input_bits": None})
    xb.set_weights(np.random.default_rng(0).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    G = xb.devices()["G_S"].astype(np.float64)
    kr = 1 / (1 + xb.cfg.F * (G[0] + G[1]).sum(1) / G_IN)
    assert kr.max() < 0.9
    d = np.linspace(-1, 1, 30).astype(F32)
    for _ in range(3):
        y = xb.backward(d)
    assert y.dtype == F32
    np.testing.assert_allclose(y, kr * (xb.weights().astype(np.float64) @ d), rtol=2e-5, atol=2e-6)
    assert xb.counters.reads_backward == 3 and xb.counters.integrations_backward == 3 * 4


def test_restored_layer_without_drift_reads_as_the_original(shipped):
    """Guards _restored on a layer without drift (no programming times): the restore completes and the layer
    reads and weighs as the original."""
    kw = dict(pcm={"drift": False}, periphery=EXACT | {"integrator_lag": False})
    a, b = layer(shipped, "2pcm", **kw), layer(shipped, "2pcm", **kw)
    a.set_weights(np.full(a.shape, 0.2, F32), mode="open")
    b.set_state(a.state())
    x = np.ones(3, F32)
    assert np.array_equal(a.weights(), b.weights()) and np.array_equal(a.forward(x), b.forward(x))


def test_4pcm_single_depressing_update_pulses_the_lsp_minus_device(shipped):
    """Guards the update's device choice for a pulse count of one synapse with n < 0 in '4pcm': device 3 (g⁻) of
    that synapse gets the pulse, never the MSP pair."""
    xb = layer(shipped, "4pcm", update={"rounding": "deterministic"})
    P0 = xb.P.copy()
    x = np.array([0.0, 1.0, 0.0], F32)
    xb.update(x, np.array([0.0, 1.0], F32) * F32(xb.dw_pulse), 1.0)          # n = −1 on synapse (1, 1)
    changed = np.argwhere(xb.P != P0)
    assert changed.tolist() == [[3, 1, 1]]
    assert xb.counters.pcm_update_set_pulses == 1


def test_trains_pulse_counts_are_integers(shipped):
    """Guards the work arrays of the 'trains' counts: synapse indices int64 and signed counts int32, as the update
    kernels and the counters take them (a float count array would be summed and scattered as floats)."""
    xb = layer(shipped, "2pcm", shape=(6, 4), update={"rounding": "trains"})
    x = np.linspace(0.2, 1.0, 6).astype(F32)
    d = np.array([-1.0, 0.5, -0.25, 1.0], F32) * F32(20 * xb.dw_pulse)
    flat, n = xb.pulse_counts(x, d, 1.0)
    assert flat.size > 0 and flat.dtype == np.int64 and n.dtype == np.int32
    assert np.all(n != 0) and np.all(np.diff(flat) > 0)


@pytest.mark.parametrize("frac", [0.2, 0.0])
def test_reset_restarts_the_pulse_count_except_on_stuck_devices(shipped, frac):
    """Guards the SET-pulse counter since the last RESET (it picks each pulse's c2c residual row): a RESET sets it
    to 0, the open-loop pulses then count from there; a stuck device is not RESET and keeps its count."""
    xb = layer(shipped, "2pcm", shape=(10, 10), pcm={"stuck_max_frac": frac})
    stuck = xb.devices()["pcm_stuck"]
    if frac:
        assert 0 < stuck.sum() < stuck.size
    else:
        assert stuck is None
        stuck = np.zeros(xb.P.shape, bool)
    xb.set_devices(P=xb.P)                                   # history unknown: steady-state count J everywhere
    J = xb.pcm_pop.c2c_by_pulse_S.shape[0]
    w = np.random.default_rng(0).uniform(-0.5, 0.5, xb.shape).astype(F32)
    xb.set_weights(w, mode="open")
    dev = np.where(w >= 0, 0, 1)
    g_from = float(shipped.scalars["pcm"]["g_reset_mean_S"])
    n = pcm.open_loop_pulses(g_from, g_from + np.abs(w) / F32(xb.scale * xb.cfg.F), xb.pcm_pop.dg_fit,
                             xb.cfg.transfer.max_pulses)
    want = np.stack([np.where(dev == 0, n, 0), np.where(dev == 1, n, 0)])
    want = np.where(stuck, J, want)
    np.testing.assert_array_equal(xb.P_since, want)


def test_endurance_sticks_a_device_after_more_resets_than_the_limit(shipped):
    """Guards pcm.endurance_resets: a device sticks once it has had MORE RESETs than the limit (2 here): after two
    open-loop programmings (one RESET each) nothing is stuck, after the third every device is."""
    xb = layer(shipped, "2pcm", pcm={"endurance_resets": 2})
    for k in range(3):
        xb.set_weights(np.full(xb.shape, 0.3, F32), mode="open")
        stuck = xb.devices()["pcm_stuck"]
        if k < 2:
            assert stuck is None or not stuck.any()
        else:
            assert stuck is not None and stuck.all()
    assert np.all(xb.counters.pcm_resets_per_device == 3)


def _bundle_without(shipped, tables=(), scalars=()):
    from pycosim.calibration import Bundle
    sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
    for key in scalars:
        sc["pcm"].pop(key)
    return Bundle(scalars=sc, tables={k: v for k, v in shipped.tables.items() if k not in tables}, provenance={},
                  path=None)


def test_layer_settings_reach_the_pcm_population(shipped):
    """Guards _build's population arguments: without drift or read noise the layer needs none of their tables;
    d2d_scale 0 makes every device the mean device; drift_t_prog_s (when the bundle lacks it), drift_t_on_s,
    drift_scale and drift_d2d_scale reach the drift law; g_max_scale scales every G_max (also ×2)."""
    drift_tabs = [k for k in shipped.tables if k.startswith("pcm/drift_")]
    noise_tabs = [k for k in shipped.tables if k.startswith("pcm/read_noise_")]
    assert drift_tabs and noise_tabs
    layer(_bundle_without(shipped, tables=drift_tabs), "2pcm", pcm={"drift": False})
    layer(_bundle_without(shipped, tables=noise_tabs), "2pcm", pcm={"read_noise": False})
    assert np.ptp(layer(shipped, "2pcm", pcm={"d2d_scale": 0.0}).devices()["g_max_S"]) == 0
    xb = layer(_bundle_without(shipped, scalars=("drift_t_prog_s",)), "2pcm",
               pcm={"drift": True, "drift_t_prog_s": 5e-6, "drift_t_on_s": 2e-6})
    assert xb.pcm_pop.drift_t_prog_s == 5e-6 and xb.pcm_pop.drift_t_on_s == 2e-6
    ref = pcm.population(shipped)
    half = layer(shipped, "2pcm", pcm={"drift": True, "drift_scale": 0.5}).pcm_pop
    np.testing.assert_allclose(half.drift_nu, 0.5 * ref.drift_nu, rtol=1e-6)
    same = layer(shipped, "2pcm", pcm={"drift": True, "drift_d2d_scale": 0.0}).pcm_pop
    assert np.ptp(same.drift_nu, axis=0).max() == 0
    two = layer(shipped, "2pcm", pcm={"g_max_scale": 2.0})
    np.testing.assert_array_equal(two.devices()["g_max_S"], (ref.g_max_S * 2.0).astype(F32)[two.P_inst])
    assert two.devices()["g_max_S"].dtype == F32 and two.P.dtype == F32


def test_fresh_devices_drift_from_power_up(shipped):
    """Guards the power-up drift state: every device counts as programmed at t = 0 at its RESET floor (its level
    coordinate from that value), so a fresh layer drifts by the law from t = 0 and refreshes on the schedule of
    devices aged t (at 0.5 s the next refresh waits rel·(0.5 s + t_on) = 50 ms, not 1 ms)."""
    xb = layer(shipped, "2pcm", pcm={"drift": True})
    P = xb.P.copy()
    xb.advance(0.5, settle=True)
    want = pcm.drift_with(P, 0.5, pcm.drift_params(P, xb.P_inst, xb.pcm_pop), xb.P_inst, xb.pcm_pop)
    np.testing.assert_allclose(xb.devices()["G_S"], want, rtol=1e-6)
    assert np.all(np.isfinite(xb.devices()["G_S"])) and not np.allclose(want, P, rtol=1e-4)
    g = xb.devices()["G_S"]
    xb.advance(2e-3)
    assert np.array_equal(xb.devices()["G_S"], g)
    stuck = layer(shipped, "2pcm", shape=(10, 10), pcm={"stuck_max_frac": 0.3})
    assert stuck.devices()["G_prog_S"].dtype == F32


def test_a_single_pulse_is_counted_per_device_next_to_stuck_devices(shipped):
    """Guards the per-device SET count when some devices are stuck: a device given one pulse counts 1."""
    xb = layer(shipped, "2pcm", shape=(10, 10), update={"rounding": "deterministic"}, pcm={"stuck_reset_frac": 0.3})
    stuck = xb.devices()["pcm_stuck"]
    x = np.zeros(10, F32)
    x[0] = 1.0
    d = np.zeros(10, F32)
    d[:] = -xb.dw_pulse                                        # one pulse on G⁺ of every synapse of row 0
    xb.update(x, d, 1.0)
    got = xb.counters.pcm_sets_per_device[0, 0]
    np.testing.assert_array_equal(got, np.where(stuck[0, 0], 0, 1))
    assert 0 < stuck[0, 0].sum() < 10


def _integrator_bundle(shipped, **scalars):
    from pycosim.calibration import Bundle
    sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
    sc["integrator"].update(scalars)
    return Bundle(scalars=sc, tables=shipped.tables, provenance={}, path=None)


def test_forward_matrix_carries_the_mirror_gain_errors(shipped):
    """Guards the column read's mirror mismatch (mismatch_scale > 0, no hold error): Wf = scale·F·((1 + ε⁺_j)·G⁺ −
    (1 + ε⁻_j)·G⁻) with each column's drawn mirror errors; the line model is on when any of σ(ε⁺), σ(ε⁻), σ(V_os)
    is positive and off when all are 0 (or without a hold error, mismatch_scale = 0: no line gains at all)."""
    xb = layer(slow_conveyors(shipped), "2pcm", shape=(5, 4),
               periphery={"integrator_noise": False, "adc_bits": None, "integrator_lag": False, "mismatch_scale": 1.0})
    xb.set_weights(np.random.default_rng(0).uniform(-0.5, 0.5, xb.shape).astype(F32), mode="open")
    G = xb.devices()["G_S"].astype(np.float64)
    ep, en = xb.fwd.eps_p, xb.fwd.eps_n
    assert np.abs(ep).max() > 1e-4
    want = xb.scale * xb.cfg.F * ((1 + ep) * G[0] - (1 + en) * G[1])     # no hold error: κ_L = 1 (g_in unused)
    np.testing.assert_allclose(xb._wf_of(None).reshape(xb.shape), want, rtol=3e-5, atol=2e-6)
    np.testing.assert_allclose(xb.Wf, want, rtol=3e-5, atol=2e-6)
    np.testing.assert_allclose(xb.kappa_r, 1 + xb.bwd.eps_p, rtol=1e-6)     # rows: the plus chain's ε
    for k in (xb.kappa_p, xb.kappa_n, xb.kappa_r, xb.Wf, xb.weights(forward=True)):
        assert k.dtype == F32
    zero = dict(mirror_eps_plus_std=0.0, mirror_eps_minus_std=0.0, conveyor_vos_std_V=0.0)
    for key in zero:
        b = _integrator_bundle(shipped, **(zero | {key: 1e-3}))
        assert layer(b, "2pcm", periphery={"integrator_lag": False, "mismatch_scale": 1.0}).kappa_p is not None, key
    assert layer(_integrator_bundle(shipped, **zero), "2pcm",
                 periphery={"integrator_lag": False, "mismatch_scale": 1.0}).kappa_p is None
    assert layer(_integrator_bundle(shipped, conveyor_g_in_S=0.0), "2pcm",
                 periphery={"integrator_lag": True, "mismatch_scale": 0.0}).kappa_p is None


def test_adc_resolution_reaches_the_read_channels(shipped):
    """Guards periphery.adc_bits: with a 3-bit ADC every column's output takes at most 2³ values."""
    xb = layer(shipped, "2pcm", shape=(6, 3), periphery={"integrator_noise": False, "adc_bits": 3, "forward_full_scale": 2.0,
                                                          "integrator_lag": False, "mismatch_scale": 0.0})
    xb.set_weights(np.random.default_rng(0).uniform(-0.8, 0.8, xb.shape).astype(F32), mode="open")
    ys = np.array([xb.forward(x) for x in np.random.default_rng(1).uniform(0, 1, (200, 6)).astype(F32)])
    assert max(len(np.unique(ys[:, j])) for j in range(3)) <= 8
    assert max(len(np.unique(ys[:, j])) for j in range(3)) >= 3


def test_saturation_of_the_minus_device_is_strict_too(shipped):
    """Guards the bound on G⁻: a pair whose G⁻ sits exactly at saturation_frac·G_max has not passed it."""
    xb = layer(shipped, "2pcm", pcm={"saturation_frac": 0.5})
    P = xb.P.copy()
    gmax = xb.pcm_pop.g_max_S[xb.P_inst]
    P[1] = F32(0.5) * gmax[1]
    xb.set_devices(P=P)
    xb._saturation_refresh(np.arange(xb.W.size), 0)
    np.testing.assert_array_equal(xb.P, P)
    assert xb.counters.pcm_update_resets == 0


def test_drift_compensation_without_drift(shipped):
    """Guards the references' drift state: without PCM drift they have none, and the compensation still programs
    and reads them (gain 1: nothing drifts)."""
    xb = layer(shipped, "2pcm", pcm={"drift": False}, periphery={"drift_compensation": "column"})
    assert xb.R_drift is None
    xb.set_weights(np.full(xb.shape, 0.2, F32), mode="open")
    xb.advance(1.0, settle=True)
    assert np.all(xb.dc_gain == 1) and np.all(xb.R_prog > 0)


def test_set_weights_statistics_and_options(shipped):
    """Guards _set_weights: the stats carry the mode, tolerance, verify window and the number of synapses, and
    options given with a mode are kept (a tolerance of 0.3 and a verify window of 1 µs)."""
    xb = layer(shipped, "2pcm")
    st = xb.set_weights(np.full(xb.shape, 0.2, F32), mode="closed", tolerance=0.3, verify_t_read_s=1e-6)
    assert (st.mode, st.tolerance, st.t_verify_s, st.n_synapses) == ("closed", 0.3, 1e-6, 6)
    st = xb.set_weights(np.full(xb.shape, 0.2, F32))
    assert (st.mode, st.n_synapses) == (xb.cfg.transfer.mode, 6) and st.t_verify_s == xb.default_verify_window()
