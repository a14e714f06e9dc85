"""Crossbar: operations, caches, transfer accuracy, polarity, leakage, stuck devices, bad input.

Uses the bundle fixture ``bundle2`` (the shipped bundle) — a unit test of the mechanics, not a closure claim.
"""

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.config import override
from pycosim.errors import CalibrationError, ConfigError

QUIET = {"pcm": {"read_noise": False, "drift": False, "c2c_scale": 0.0},
         "lsp": {"read_noise": False, "c2c_scale": 0.0}, "periphery": {"integrator_noise": False}}


def make(bundle, synapse="2pcm+3t1c", shape=(60, 20), seed=1, **cfg):
    return Crossbar(*shape, ArrayConfig.from_dict({"synapse": synapse, **cfg}), bundle=bundle, rng=seed)


def data(shape, seed=0, scale=0.05):
    rng = np.random.default_rng(seed)
    x = rng.random(shape[0]).astype(np.float32)
    x[x < 0.5] = 0
    return x, (rng.standard_normal(shape[1]) * scale).astype(np.float32)


@pytest.mark.parametrize("synapse", ["2pcm+3t1c", "4pcm", "2pcm", "ideal"])
def test_zero_delta_changes_nothing(bundle2, synapse):
    xb = make(bundle2, synapse)
    xb.set_weights(np.full(xb.shape, 0.1, np.float32))
    state = [a.copy() for a in (xb.W, getattr(xb, "V", xb.W), getattr(xb, "P", xb.W))]
    c0 = xb.counters.as_dict()
    x, _ = data(xb.shape)
    xb.update(x, np.zeros(xb.n_out, np.float32), 0.5)
    xb.update(np.zeros(xb.n_in, np.float32), np.ones(xb.n_out, np.float32), 0.5)
    for a, b in zip(state, (xb.W, getattr(xb, "V", xb.W), getattr(xb, "P", xb.W))):
        assert np.array_equal(a, b)
    assert xb.counters.as_dict() == c0


@pytest.mark.parametrize("synapse", ["2pcm+3t1c", "4pcm", "2pcm", "ideal"])
@pytest.mark.parametrize("rounding", ["trains", "stochastic", "deterministic"])
def test_update_direction_and_cache(bundle2, synapse, rounding):
    """Updates move W along −x⊗δ, and the cached W equals the weights recomputed from the devices."""
    xb = make(bundle2, synapse, update={"rounding": rounding})
    x, d = data(xb.shape, scale=0.3)     # large enough that deterministic rounding gives whole PCM pulses
    W0 = xb.weights()
    for _ in range(5):
        xb.update(x, d, 0.2)
    dW = (xb.weights() - W0).ravel()
    want = -np.outer(x, d).ravel()
    # PCM LSPs ('4pcm', '2pcm') take steps of 0.05–0.13 weight units with c2c σ comparable to the step
    assert np.corrcoef(dW, want)[0, 1] > {"ideal": 0.99, "2pcm+3t1c": 0.3}.get(synapse, 0.1)
    if synapse != "ideal":
        np.testing.assert_allclose(xb.W.ravel(), xb._w_of(None), atol=1e-5)
        c = xb.counters
        assert c.lsp_up_pulses + c.lsp_down_pulses + c.pcm_update_set_pulses > 0


def test_ideal_is_float_sgd(bundle2):
    xb = make(None, "ideal")
    rng = np.random.default_rng(0)
    W = (rng.standard_normal(xb.shape) * 0.1).astype(np.float32)
    xb.set_weights(W)
    x, d = data(xb.shape)
    np.testing.assert_array_equal(xb.forward(x), x @ W)
    np.testing.assert_array_equal(xb.backward(d), W @ d)
    xb.update(x, d, 0.1)
    np.testing.assert_allclose(xb.weights(), W - 0.1 * np.outer(x, d), atol=1e-7)


def test_forward_backward_close_to_weights(bundle2):
    """With ideal virtual grounds (integrator_lag off) the reads are x·W and W·δ up to the ADC, the integrators'
    offset mismatch and the column read's per-line errors: the mirror gains ε (the read matrix
    weights(forward=True), κ_r on the rows) and the conveyor offsets' line charge (y_per_C·Q_off)."""
    quiet = {**QUIET, "periphery": {**QUIET["periphery"], "integrator_lag": False}}
    xb = make(bundle2, shape=(100, 30), **quiet)
    rng = np.random.default_rng(3)
    xb.set_weights((rng.standard_normal(xb.shape) * 0.2).astype(np.float32))
    x, d = data(xb.shape, scale=0.3)
    W, Wf = xb.weights(), xb.weights(forward=True)
    assert np.abs(Wf - W).max() > 0                   # the mirror mismatch is in the read matrix
    y, b = xb.forward(x), xb.backward(d)
    fs_f, fs_b = xb.full_scale
    yf_off = xb._qoff_f * xb.fwd.y_per_C
    assert np.abs(y - (x @ Wf + yf_off)).max() < 2 * fs_f / 255 + 1e-3 * fs_f     # ADC LSB + offset mismatch
    m = np.abs(d).max()
    want_b = xb.kappa_r * (W @ d) + m * xb._qoff_b * xb.bwd.y_per_C
    assert np.abs(b - want_b).max() < m * (2 * fs_b / 255 + 1e-3 * fs_b)
    small = d * 1e-3                                  # tiny errors survive thanks to the normalisation
    want_s = xb.kappa_r * (W @ small) + 1e-3 * m * xb._qoff_b * xb.bwd.y_per_C
    np.testing.assert_allclose(xb.backward(small), want_s, atol=m * 1e-3 * (2 * fs_b / 255 + 1e-3 * fs_b))
    assert xb.counters.integrations_forward == xb.n_out and xb.counters.integrations_backward == 2 * xb.n_in


@pytest.mark.parametrize("synapse", ["2pcm+3t1c", "4pcm", "2pcm"])
@pytest.mark.parametrize("comp", [True, False])
def test_integrator_lag_reads(bundle2, synapse, comp):
    """Reads carry the virtual-ground lag κ = 1/(1 + G_L/(C_int·2π·GBW)) of each line (docs/validation.md),
    recomputed here from the device state independently of the crossbar's caches, and stay consistent
    after updates, a transfer and a polarity inversion; with lag_compensation the periphery divides by κ̂."""
    from pycosim.devices import integrator
    per = {**QUIET["periphery"], "adc_bits": None, "mismatch_scale": 0.0, "lag_compensation": comp}
    xb = make(bundle2, synapse, shape=(200, 12), **{**QUIET, "periphery": per})
    rng = np.random.default_rng(4)
    xb.set_weights((rng.standard_normal(xb.shape) * 0.2).astype(np.float32))
    x, d = data(xb.shape, scale=0.3)
    xb.update(x, d, 0.3)
    if synapse == "2pcm+3t1c":
        xb.transfer(cols=[0, 3])
        xb.invert_polarity([1])
        xb.update(x, d, 0.3)

    def expected():
        F = xb.cfg.F
        wp, wn = F * xb.Pe[0].astype(float), F * xb.Pe[1].astype(float)
        if synapse == "2pcm+3t1c":
            pos = xb.pol > 0
            wp = wp + np.where(pos, xb.g, xb.g_shared)
            wn = wn + np.where(pos, xb.g_shared, xb.g)
        elif synapse == "4pcm":
            wp, wn = wp + xb.Pe[2], wn + xb.Pe[3]
        g_in = xb.integ.g_in_S
        kp, kn = integrator.lag_gain(wp.sum(0), g_in), integrator.lag_gain(wn.sum(0), g_in)
        kr = integrator.lag_gain(wp.sum(1) + wn.sum(1), g_in)
        xq = np.rint(np.clip(x, -1, 1) * 255) / 255
        m = np.abs(d).max()
        dq = np.rint(d / m * 255) / 255 * m
        yf = xb.scale * (xq @ (kp * wp - kn * wn)) / ((kp + kn) / 2 if comp else 1)
        yb = kr * ((xb.scale * (wp - wn)) @ dq) / (kr if comp else 1)
        return yf, yb, kp, kr

    xb._refresh_all()        # the line totals are taken at refreshes (drift, transfer, state changes)
    yf, yb, kp, kr = expected()
    assert 0.9999 < kp.min() and kp.max() < 1 and kr.max() < 1       # the conveyors hold the lines (g_in ≈ 200 S)
    fs = xb.cfg.periphery.forward_full_scale
    np.testing.assert_allclose(xb.forward(x), yf, atol=2e-3 * fs)
    np.testing.assert_allclose(xb.backward(d), yb, atol=2e-3 * np.abs(yb).max())



def test_integrator_lag_off_without_bench_constants(bundle2):
    """κ = 1 when the bundle gives no conveyor input conductance (lag_gain's documented fallback);
    κ = 1/(1 + G_L/g_in) otherwise."""
    from pycosim.devices import integrator
    assert np.all(integrator.lag_gain(np.array([1e-3, 1.0]), 0.0) == 1)
    k = integrator.lag_gain(np.array([0.0, 200.0, 0.069]), 200.0)
    np.testing.assert_allclose(k, [1.0, 0.5, 1 / (1 + 0.069 / 200)], rtol=1e-12)


def test_polarity_inversion(bundle2):
    xb = make(bundle2, update={"rounding": "deterministic"}, **QUIET)
    x, d = data(xb.shape, scale=0.3)
    for _ in range(3):
        xb.update(x, d, 0.2)
    W, lsp_c = xb.weights(), xb.lsp_contribution()
    assert np.abs(lsp_c).max() > 0
    xb.invert_polarity()
    np.testing.assert_allclose(xb.weights(), W - 2 * lsp_c, atol=1e-5)    # contribution flips sign
    xb.invert_polarity()
    np.testing.assert_allclose(xb.weights(), W, atol=1e-5)
    # after a transfer (LSP reset, polarity inverted) the same update still moves W along −x⊗δ
    st = xb.transfer(threshold=0.0)
    assert np.all(xb.pol == -1)
    W1 = xb.weights()
    xb.update(x, d, 0.2)
    dW = (xb.weights() - W1).ravel()
    assert np.corrcoef(dW, -np.outer(x, d).ravel())[0, 1] > 0.8
    assert st.n_moved > 0


def test_transfer_closed_vs_open(bundle2):
    """Closed loop leaves ≥ 98 % of moved synapses within tolerance; open loop is worse. (≥ 99 % before the PCM
    cycle-to-cycle noise had the published preset's additive and slope terms: a single SET step's σ is now ≈ 2 µS,
    ≈ 0.1 of the range, at mid and high G, comparable to the ±0.05 tolerance; measured 98.5 %.)"""
    out = {}
    for mode in ("closed", "open"):
        xb = make(bundle2, shape=(200, 50), seed=5)
        rng = np.random.default_rng(11)
        xb.set_weights((rng.standard_normal(xb.shape) * 0.15).astype(np.float32), mode="closed")
        for i in range(30):
            x, d = data(xb.shape, seed=100 + i, scale=0.2)
            xb.update(x, d, 0.3)
        W_before = xb.weights()
        st = xb.transfer(mode=mode)
        out[mode] = st
        print(f"\n{mode}-loop transfer: moved {st.n_moved}/{st.n_synapses}, within ±{st.tolerance} "
              f"{st.frac_within_tol:.2%}, |err| mean {st.err_abs_mean:.4f} max {st.err_abs_max:.4f} rms "
              f"{st.err_rms:.4f}; SET {st.set_pulses}, RESET {st.resets}, verify reads {st.verify_reads} "
              f"({st.t_verify_s * 1e9:.0f} ns)")
        assert st.n_moved > 100
        if mode == "closed":
            # what moved is the 3T1C's share, within tolerance but for the few synapses the loop leaves off: the
            # largest change is a tail statistic of 10,000 synapses (0.32-0.60 over 6 seeds and two bundles), the
            # 99.9th percentile is not (0.125-0.185)
            dW = np.abs(xb.weights() - W_before)
            assert np.percentile(dW, 99.9) < 0.25 and dW.max() < 1.0
    assert out["closed"].frac_within_tol >= 0.98
    assert out["open"].err_rms > out["closed"].err_rms
    assert out["open"].frac_within_tol < out["closed"].frac_within_tol


def test_transfer_counters_and_lsp_reset(bundle2):
    xb = make(bundle2, **{"transfer": {"threshold": 0.0}})
    x, d = data(xb.shape, scale=0.3)
    xb.update(x, d, 0.3)
    c0 = xb.counters.transfer_set_pulses
    st = xb.transfer()
    assert xb.counters.transfers == 1 and xb.counters.lsp_resets == xb.W.size
    assert xb.counters.transfer_set_pulses - c0 == st.set_pulses
    assert st.verify_reads >= st.n_moved
    assert np.abs(xb.lsp_contribution()).max() < 0.05        # residual of the TG reset only
    np.testing.assert_allclose(xb.W.ravel(), xb._w_of(None), atol=1e-5)


def test_leak_toward_asymptote_and_cache(bundle2):
    from pycosim.devices import lsp
    xb = make(bundle2, shape=(40, 30), lsp={"leak_batch_s": 0.0})
    x, d = data(xb.shape, scale=0.3)
    xb.update(x, d, 0.3)
    V0 = xb.V.copy()
    r0 = lsp.leak_rate(V0, xb.V_inst, xb.lsp_pop)
    dt = 1e-2 / float(np.abs(r0).max())          # ≤ 10 mV at the fastest cell
    xb.advance(dt)
    moved = xb.V - V0
    big = np.abs(r0) * dt > 1e-5
    assert np.all(np.sign(moved[big]) == np.sign(r0[big]))                 # toward the asymptote
    np.testing.assert_allclose(xb.V, lsp.leak(V0, dt, xb.V_inst, xb.lsp_pop), atol=2e-6)   # = exact solution
    np.testing.assert_allclose(xb.W.ravel(), xb._w_of(None), atol=1e-5)
    # repeated steps with the cached factors = one long exact step (+ the stale cells after an update)
    for _ in range(10):
        xb.advance(dt)
    np.testing.assert_allclose(xb.V, lsp.leak(V0, 11 * dt, xb.V_inst, xb.lsp_pop), atol=2e-5)
    assert xb.counters.sim_time_s == pytest.approx(11 * dt)


def test_leak_batch_defers(bundle2):
    xb = make(bundle2, lsp={"leak_batch_s": 1e-2})
    V0 = xb.V.copy()
    xb.advance(4e-3)
    assert np.array_equal(xb.V, V0)
    xb.advance(6e-3)
    assert not np.array_equal(xb.V, V0)
    d = make(bundle2)
    assert d.leak_batch_s > 0
    print(f"\ndefault leak batch: {d.leak_batch_s:.3g} s")


def test_stuck_devices_never_move(bundle2):
    xb = make(bundle2, "2pcm", pcm={"stuck_reset_frac": 0.3, "stuck_max_frac": 0.3})
    stuck = xb.P_stuck.copy()
    P0 = xb.P.copy()
    for i in range(20):
        x, d = data(xb.shape, seed=i, scale=0.5)
        xb.update(x, d, 0.5)
    xb.set_weights(np.full(xb.shape, 0.2, np.float32))
    assert np.array_equal(xb.P[stuck], P0[stuck])
    assert not np.array_equal(xb.P[~stuck], P0[~stuck])
    at_max = stuck & (P0 > xb.pcm_pop.g_max_S[xb.P_inst] * 0.999)
    assert 0.2 < at_max.mean() / stuck.mean() < 0.8


def test_endurance(bundle2):
    xb = make(bundle2, "2pcm", pcm={"endurance_resets": 1}, **{"transfer": {"max_restarts": 5}})
    for w in (0.9, -0.9, 0.9, -0.9):
        xb.set_weights(np.full(xb.shape, w, np.float32), mode="open")
    assert xb.counters.pcm_resets_per_device.max() >= 2
    worn = xb.counters.pcm_resets_per_device > 1
    assert np.all(xb.P_stuck[worn])


def test_pcm_update_saturation_refresh(bundle2):
    xb = make(bundle2, "4pcm", update={"rounding": "deterministic"})
    x = np.ones(xb.n_in, np.float32)
    d = np.full(xb.n_out, -1.0, np.float32)
    for _ in range(30):
        xb.update(x, d, 0.5)
    assert xb.counters.pcm_update_resets > 0
    assert np.all(xb.P[2] <= xb.pcm_pop.g_ceiling_S[xb.P_inst[2]] + 1e-12)   # G_sat (the SET law's clip)


def test_drift_refresh(bundle2):
    from pycosim.devices import pcm
    xb = make(bundle2, "2pcm", pcm={"drift": True, "read_noise": False})
    xb.set_weights(np.full(xb.shape, 0.3, np.float32), mode="open")
    W0 = xb.weights()
    xb.advance(0.5e-3)
    assert np.array_equal(xb.weights(), W0)        # within the refresh interval: cached weights unchanged
    xb.advance(0.5e-3)                                # 1 ms: refresh
    want = pcm.drift(xb.P, xb.t_s - xb.P_tprog, xb.P_inst, xb.pcm_pop)
    np.testing.assert_allclose(xb.Pe, want, rtol=1e-6)
    assert np.abs(xb.weights()).mean() < np.abs(W0).mean()
    xb.advance(1000.0)
    assert np.abs(xb.weights()).mean() < 0.9 * np.abs(W0).mean()


@pytest.mark.parametrize("growth", [True, False])
def test_read_noise_grows_with_age(bundle2, growth):
    """pcm.read_noise_growth: the read-noise variance density S of PCM synapses (no drift: ν = 0) grows with the
    time since programming by the published 1/f law, (σ(14.3 ms)/σ(bench))² = 1.843²; off: unchanged."""
    from pycosim.devices import pcm
    xb = make(bundle2, "2pcm", pcm={"drift": True, "read_noise": True, "read_noise_growth": growth})
    xb.pcm_pop = pcm.uniform_drift(xb.pcm_pop, 0.0)
    xb.set_weights(np.full(xb.shape, 0.3, np.float32), mode="open")
    S0 = xb.S.copy()
    xb.advance(14.3e-3, settle=True)
    ratio = np.median(xb.S / S0)
    want = float(pcm.age_growth(14.3e-3, xb.pcm_pop)) ** 2 if growth else 1.0
    print(f"\nS(14.3 ms)/S(programmed) median {ratio:.4f} (want {want:.4f})")
    assert ratio == pytest.approx(want, rel=1e-3)
    assert (want == pytest.approx(1.843 ** 2, rel=2e-3)) if growth else True


def test_bad_input(bundle2, shipped):
    xb = make(bundle2)
    with pytest.raises(ConfigError, match=r"forward: x: expected shape \(60,\), got \(59,\)"):
        xb.forward(np.zeros(59))
    with pytest.raises(ConfigError, match="backward: delta: expected shape"):
        xb.backward(np.zeros((20, 1)))
    x = np.zeros(60, np.float32)
    x[3] = np.nan
    with pytest.raises(ConfigError, match="forward: x: contains NaN"):
        xb.forward(x)
    with pytest.raises(ConfigError, match="update: delta: contains NaN"):
        xb.update(np.zeros(60), np.full(20, np.nan), 0.1)
    with pytest.raises(ConfigError, match="lr=-0.1"):
        xb.update(np.zeros(60), np.zeros(20), -0.1)
    with pytest.raises(ConfigError, match="advance: dt_s=-1"):
        xb.advance(-1)
    with pytest.raises(ConfigError, match=r"synapse='3pcm': allowed values are '2pcm\+3t1c', '4pcm', '2pcm', 'ideal'"):
        ArrayConfig.from_dict({"synapse": "3pcm"})
    with pytest.raises(ConfigError, match="unknown setting update.roundng; valid names: rounding, max_pulses"):
        ArrayConfig.from_dict({"update": {"roundng": "trains"}})
    with pytest.raises(ConfigError, match="allowed values are 'deterministic', 'stochastic', 'trains'"):
        ArrayConfig.from_dict({"update": {"rounding": "random"}})
    with pytest.raises(ConfigError, match="transfer: mode='half'"):
        xb.transfer(mode="half")
    with pytest.raises(ConfigError, match="unknown option 'tol'"):
        xb.transfer(tol=0.1)
    with pytest.raises(ConfigError, match=r"set_weights: W_target must have shape \(60, 20\)"):
        xb.set_weights(np.zeros((20, 60)))
    with pytest.raises(ConfigError, match="pcm.stuck_reset_frac=1.5"):
        ArrayConfig.from_dict({"pcm": {"stuck_reset_frac": 1.5}})
    assert not make(bundle2, "2pcm").scheme.polarity and not hasattr(make(bundle2, "2pcm"), "invert_polarity")
    gone = {k: v for k, v in bundle2.tables.items() if k != "lsp/reset_vfinal_V"}
    b = type(bundle2)(scalars=bundle2.scalars, tables=gone, provenance={}, path=None)
    with pytest.raises(CalibrationError, match="'lsp/reset_vfinal_V' \\(needed for 3T1C transmission-gate reset\\).*"
                                               "pycosim characterize"):
        Crossbar(4, 2, bundle=b)


def test_config_dict_roundtrip_and_override():
    c = ArrayConfig.from_dict({"synapse": "4pcm", "F": 4, "transfer": {"mode": "open"}})
    assert c.F == 4.0 and c.transfer.mode == "open"
    assert ArrayConfig.from_dict(c.to_dict()) == c
    c2 = override(c, ["transfer.tolerance=0.05", "lsp.up_down_ratio=0.8"])
    assert c2.transfer.tolerance == 0.05 and c2.lsp.up_down_ratio == 0.8


def test_asymmetry_override(bundle2):
    from pycosim.devices import lsp
    xb = make(bundle2, lsp={"up_down_ratio": 0.5, "c2c_scale": 0.0})
    lp = xb.lsp_pop
    k = np.arange(lp.n)
    v0 = np.full(lp.n, lp.vc_init_V, np.float32)
    up = lsp.step_signed(v0, np.ones(lp.n, int), k, lp, None, table=xb._step_tab) - v0
    dn = lsp.step_signed(v0, -np.ones(lp.n, int), k, lp, None, table=xb._step_tab) - v0
    assert up.mean() / -dn.mean() == pytest.approx(0.5, rel=1e-3)


def test_seeded_runs_repeat(bundle2):
    ws = []
    for _ in range(2):
        xb = make(bundle2, seed=9)
        x, d = data(xb.shape, scale=0.3)
        xb.update(x, d, 0.3)
        ws.append((xb.forward(x), xb.weights()))
    assert np.array_equal(ws[0][0], ws[1][0]) and np.array_equal(ws[0][1], ws[1][1])


def test_set_state(bundle2):
    xb = make(bundle2)
    rng = np.random.default_rng(0)
    P = (rng.random(xb.P.shape) * 20e-6).astype(np.float32)
    V = rng.uniform(0.3, 0.9, xb.shape).astype(np.float32)
    pol = np.where(rng.random(xb.n_out) < 0.5, -1, 1)
    xb.set_devices(P=P, V=V, pol=pol)
    from pycosim.devices import lsp
    g = lsp.g_of_vc(V, xb.V_inst, xb.lsp_pop)
    want = xb.scale * (xb.cfg.F * (P[0] - P[1]) + pol * (g - xb.g_shared))
    np.testing.assert_allclose(xb.weights(), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="pol must be ±1"):
        xb.set_devices(pol=np.zeros(xb.n_out))


def test_read_noise_follows_the_1_over_f_law_of_the_circuit(bundle2):
    """PCM read noise is 1/f in the circuit: a read of window T has variance ∝ ln(t_rec/T) (not ∝ 1/T),
    a longer window than the bench's is credited with nothing, and a pulse fraction x contributes x²·S·κ.
    The empirical σ of repeated forward reads matches √(Σ x_i²·S_ij·κ(t_x1)) (integrator noise and ADC
    off, so the only noise is the devices')."""
    xb = make(bundle2, shape=(60, 20), seed=3, periphery={"integrator_noise": False, "adc_bits": None,
                                                          "input_bits": None, "mismatch_scale": 0.0,
                                                          "integrator_lag": False})
    p = xb.pcm_pop
    t_b, t_rec = p.noise_t_int_s, p.noise_t_rec_s
    assert np.isclose(xb.noise_factor(t_b), 1 / t_b)
    assert np.isclose(xb.noise_factor(10 * t_b), 1 / t_b)
    assert np.isclose(xb.noise_factor(t_b / 50) * t_b, np.log(50 * t_rec / t_b) / np.log(t_rec / t_b))
    rng = np.random.default_rng(2)
    xb.set_weights((rng.standard_normal(xb.shape) * 0.3).astype(np.float32), mode="open")
    x = rng.random(60).astype(np.float32)
    y0 = x @ xb.weights()
    ys = np.stack([xb.forward(x) for _ in range(600)])
    sigma = ys.std(axis=0)
    expected = np.sqrt((x * x) @ xb.S * xb.noise_factor(xb.fwd.t_x1_s))
    print(f"forward window {xb.fwd.t_x1_s * 1e9:.1f} ns: σ measured/expected {np.median(sigma / expected):.3f}; "
          f"white-noise law would give {np.median(np.sqrt(x @ xb.S / xb.fwd.t_x1_s) / expected):.2f}x")
    np.testing.assert_allclose(ys.mean(axis=0), y0, atol=4 * sigma.max() / np.sqrt(600) + 1e-3)
    np.testing.assert_allclose(sigma, expected, rtol=0.15)


def test_drift_horizon_precompensates_the_mean_drift(bundle2):
    """Closed-loop tuning to the weight the mean drift law predicts h later (transfer.drift_horizon_s):
    right after programming the weights sit above their targets; h later they are closer to the targets
    than weights tuned to the present, whose magnitude has drifted down."""
    cfg = {"pcm": {"read_noise": False, "c2c_scale": 0.0}, "lsp": {"read_noise": False, "leak": False},
           "periphery": {"integrator_noise": False}}
    rng = np.random.default_rng(5)
    Wt = (rng.standard_normal((80, 12)) * 0.25).astype(np.float32)
    h = 7e-3
    errs = {}
    for horizon in (None, h):
        xb = make(bundle2, shape=(80, 12), seed=2, transfer={"drift_horizon_s": horizon}, **cfg)
        xb.set_weights(Wt)
        w0 = xb.weights()
        xb.advance(h, settle=True)
        errs[horizon] = float(np.mean(np.abs(xb.weights() - Wt)))
        if horizon:
            assert np.mean(np.abs(w0)) > np.mean(np.abs(Wt))      # programmed high, by design
    assert errs[h] < 0.8 * errs[None], errs
    with pytest.raises(ConfigError, match="drift_horizon_s"):
        ArrayConfig.from_dict({"transfer": {"drift_horizon_s": 0}})


def test_reset_cells_and_their_reference_agree(bundle2):
    """A reset 3T1C cell and the column reference g_shared sit at the same V_C on average (≤ 1 mV): the
    reference gate is the cells' mean post-reset V_C of the bundle's reset table (lsp_reset bench), not the
    reset line's level — the turn-off charge injection leaves every cell ≈ +12.5 mV above the line, which
    an ideal reference would turn into a systematic g − g_shared ≈ +0.6 µS on every synapse."""
    vs = np.asarray(bundle2.tables["lsp/reset_vstart_V"])
    vf = np.asarray(bundle2.tables["lsp/reset_vfinal_V"])
    v_line = float(bundle2.scalars["lsp"]["vc_init_V"])
    v_reset_mean = float(vf[:, int(np.argmin(np.abs(vs - v_line)))].mean())   # by hand: the bench's mean
    assert v_reset_mean - v_line > 5e-3           # the injection this guards against is there (12.5 mV shipped)
    xb = make(bundle2, shape=(120, 40), **{"transfer": {"threshold": 0.0}, "lsp": {"leak": False}})
    d0 = xb.devices()
    assert d0["v_ref_gate_V"] == pytest.approx(v_reset_mean, abs=2e-5)
    assert abs(float(d0["V_C_V"].mean()) - d0["v_ref_gate_V"]) <= 1e-3      # power-up reset
    x, dl = data(xb.shape, scale=0.3)
    xb.update(x, dl, 0.3)
    assert np.abs(xb.devices()["V_C_V"] - d0["v_ref_gate_V"]).max() > 20e-3      # the update moved them
    xb.transfer()
    d1 = xb.devices()
    assert abs(float(d1["V_C_V"].mean()) - d1["v_ref_gate_V"]) <= 1e-3
    # the same in conductance, instance by instance: g_k(V_C) − g_k(V_ref) averages to ≪ the 0.6 µS offset
    from pycosim.devices import lsp
    g_ref_own = lsp.g_of_vc(np.full(xb.shape, d1["v_ref_gate_V"], np.float32), d1["lsp_instance"], xb.lsp_pop)
    assert abs(float((d1["g_S"] - g_ref_own).mean())) < 0.1e-6


@pytest.mark.parametrize("rel, first_change", [(0.1, 10), (0.0, 1)])
def test_drift_refresh_waits_for_the_youngest_age_to_grow_by_rel(bundle2, rel, first_change):
    """pcm.drift_refresh_rel: devices programmed at t = 0 and refreshed at 1 s are re-evaluated only once Δt ≥
    rel·(1 s + t_on) = 0.1 s, i.e. at the 10th step of 11 ms (rel = 0: every step, Δt ≥ drift_refresh_s); the
    lag a device carries unrefreshed stays below ν·ln(1 + rel) (0.5 % at ν = 0.05, 1.4 % for the fastest)."""
    xb = make(bundle2, "2pcm", pcm={"read_noise": False, "c2c_scale": 0.0, "drift_refresh_rel": rel})
    xb.set_weights(np.full(xb.shape, 0.2, np.float32))
    xb.advance(1.0, settle=True)
    g = xb.devices()["G_S"]
    changed_at, before = None, None
    for k in range(1, 12):
        xb.advance(0.011)
        g2 = xb.devices()["G_S"]
        if changed_at is None and not np.array_equal(g, g2):
            changed_at = k
        if k == 9:
            before = g2
    assert changed_at == first_change
    if rel:
        xb2 = make(bundle2, "2pcm", pcm={"read_noise": False, "c2c_scale": 0.0, "drift_refresh_rel": rel})
        xb2.set_weights(np.full(xb.shape, 0.2, np.float32))
        xb2.advance(1.099, settle=True)                  # what the unrefreshed step 9 should have read
        exact = xb2.devices()["G_S"]
        on = exact > 1e-7
        lag = before[on] / exact[on] - 1
        assert 0 < lag.max() < np.log(1 + rel) * 0.2   # ν < 0.2 for every device (RESET: 0.1 ± 0.05)
