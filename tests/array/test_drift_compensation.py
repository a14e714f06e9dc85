"""Drift compensation in the periphery (PeripheryConfig.drift_compensation): reference PCM devices per column
pair (or per layer), a digital gain ĝ = Ĝ_prog/Ĝ(t) on the reads, counted reference reads and programming."""


import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.devices import pcm
from pycosim.errors import ConfigError

QUIET = {"pcm": {"read_noise": False, "c2c_scale": 0.0},
         "lsp": {"read_noise": False, "c2c_scale": 0.0}, "periphery": {"integrator_noise": False}}


def make(bundle, mode, synapse="2pcm", shape=(40, 12), seed=3, quiet=True, **extra):
    cfg = {k: dict(v) for k, v in QUIET.items()} if quiet else {"periphery": {}}
    cfg["periphery"]["drift_compensation"] = mode
    for k, v in extra.items():
        cfg.setdefault(k, {}).update(v)
    return Crossbar(*shape, ArrayConfig.from_dict({"synapse": synapse, **cfg}), bundle=bundle, rng=seed)


def uniform_drift(xb, nu=0.05):
    """Every device of the population drifts alike: the onset law G·((t + t_on)/(t_p + t_on))^−ν at every level."""
    xb.pcm_pop = pcm.uniform_drift(xb.pcm_pop, nu)
    xb.P_drift = pcm.drift_params(xb.P, xb.P_inst, xb.pcm_pop)    # devices not programmed again


def weights(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.6, 0.6, shape)).astype(np.float32)


def inputs(n, seed=1):
    return np.random.default_rng(seed).uniform(0.2, 1.0, n).astype(np.float32)


EXACT = {"adc_bits": None, "integrator_lag": False, "mismatch_scale": 0.0}


def drifted_pair(bundle, mode, synapse, periphery=None, t_s=20e-3):
    """(compensated layer, uncompensated layer, x, y before drift) after t_s of uniform drift."""
    per = {"periphery": periphery} if periphery else {}
    xb, ref = make(bundle, mode, synapse, **per), make(bundle, "none", synapse, **per)
    for layer in (xb, ref):
        uniform_drift(layer)
        layer.set_weights(weights(layer.shape), mode="open")
    x = inputs(xb.n_in)
    y0 = xb.forward(x)
    assert np.array_equal(y0, ref.forward(x))          # fresh: gain 1, the same read as without compensation
    for layer in (xb, ref):
        layer.advance(t_s, settle=True, hold_lsp=True)     # PCM drift only (no 3T1C leakage)
    return xb, ref, x, y0


@pytest.mark.parametrize("mode", ["column", "layer"])
@pytest.mark.parametrize("synapse", ["2pcm", "4pcm", "2pcm+3t1c"])
def test_uniform_drift_is_undone(bundle2, mode, synapse):
    """Uniform drift scales every PCM conductance by one factor, which the reference devices see exactly:
    without noise, ADC, line lag and integrator mismatch the compensated forward read after 20 ms equals
    the undrifted one to float32 precision — except, in '2pcm+3t1c', the 3T1C part, which does not drift
    and which the gain scales too: y = y₀ + (ĝ − 1)·x·LSP (docs/array.md)."""
    xb, ref, x, y0 = drifted_pair(bundle2, mode, synapse, EXACT)
    y_comp, y_raw = xb.forward(x), ref.forward(x)
    assert np.abs(y_raw - y0).max() > 0.15 * np.abs(y0).max()      # drift moved the uncompensated read
    assert np.all(xb.dc_gain > 1.2)
    want = y0
    if synapse == "2pcm+3t1c":
        xq = np.round(x * 255) / 255                               # the 8-bit PWM input
        want = y0 + (xb._col_gain() - 1) * (xq @ xb.lsp_contribution())
    np.testing.assert_allclose(y_comp, want, atol=1e-4 * np.abs(y0).max())
    # the transposed read: the column gains scale the inputs δ_j
    d = np.linspace(-1, 1, xb.n_out).astype(np.float32)
    fresh = make(bundle2, "none", synapse, periphery=EXACT)
    uniform_drift(fresh)
    fresh.set_weights(weights(fresh.shape), mode="open")
    b0, b_comp, b_raw = fresh.backward(d), xb.backward(d), ref.backward(d)
    ok = np.abs(b0) < 0.8 * xb.full_scale[1]                  # rows whose undrifted read does not clip
    err = np.abs(b_comp - b0)[ok].max()
    assert err < (0.3 if synapse == "2pcm+3t1c" else 1e-4) * np.abs(b_raw - b0)[ok].max()


def test_uniform_drift_with_the_default_periphery(bundle2):
    """With the 8-bit ADC, the column read's mismatch and the line lag (compensated): within 1.5 LSB (after 50 ms,
    so that the uncompensated drift error is well above the ADC step of the column read's range)."""
    xb, ref, x, y0 = drifted_pair(bundle2, "column", "2pcm", t_s=50e-3)
    lsb = 2 * xb.full_scale[0] / 255
    assert np.abs(xb.forward(x) - y0).max() < 1.5 * lsb < 0.3 * np.abs(ref.forward(x) - y0).max()


def test_uniform_drift_with_read_noise_within_noise(bundle2):
    """With the PCM read noise on (arrays and references), the compensated read's mean over repeats stays
    within the spread the reference reads leave (16 devices: σ_ĝ ≈ 1 %) of the undrifted one. The read noise is
    the bench's at every age (pcm.read_noise_growth off: its 1/f growth, ×1.9 in σ at 20 ms, would widen the
    spread this bound is set by)."""
    xb = make(bundle2, "column", quiet=False, shape=(40, 16), pcm={"read_noise_growth": False})
    uniform_drift(xb)
    xb.set_weights(weights(xb.shape), mode="open")
    x = inputs(xb.n_in)
    y0 = np.mean([xb.forward(x) for _ in range(64)], axis=0)
    xb.advance(20e-3, settle=True)
    y1 = np.mean([xb.forward(x) for _ in range(64)], axis=0)
    big = np.abs(y0) > 0.3 * np.abs(y0).max()
    rel = (y1[big] - y0[big]) / y0[big]
    assert np.abs(rel).max() < 0.06                     # uncompensated: −17 % (drift factor 0.83)
    assert abs(np.median(rel)) < 0.03


def test_counters_and_gain_updates(bundle2):
    xb = make(bundle2, "column", pcm={"drift": True})
    n_ref = xb.cfg.periphery.drift_ref_devices
    m = xb.n_out * n_ref
    c = xb.counters
    assert (c.drift_ref_reads, c.drift_ref_resets, c.drift_ref_set_pulses) == (0, 0, 0)
    xb.set_weights(weights(xb.shape), mode="open")
    assert c.drift_ref_resets == m and c.drift_ref_reads == m and c.drift_ref_set_pulses > 0
    sets = c.drift_ref_set_pulses
    assert np.all(xb.dc_gain == 1)
    xb.advance(0.5e-3)
    assert c.drift_ref_reads == m                       # no drift refresh yet: no reference read
    xb.advance(0.6e-3)                                  # refresh (pcm.drift_refresh_s = 1 ms): one read each
    assert c.drift_ref_reads == 2 * m and np.all(xb.dc_gain > 1)
    d = c.as_dict()
    assert d["drift_ref_reads"] == 2 * m and d["drift_ref_set_pulses"] == sets
    layer = make(bundle2, "layer", pcm={"drift": True})
    layer.set_weights(weights(layer.shape), mode="open")
    assert layer.counters.drift_ref_reads == n_ref and layer.dc_gain.shape == (1,)


def test_transfer_reprograms_references_and_keeps_effective_weights(bundle2):
    """A transfer resets the gain of its columns to 1 and programs the effective weights ĝ·W, so the
    forward read continues (no jump of the size of the drift)."""
    xb = make(bundle2, "column", synapse="2pcm+3t1c", pcm={"drift": True})
    uniform_drift(xb)
    xb.set_weights(weights(xb.shape), mode="closed")
    xb.advance(20e-3, settle=True)
    w_eff = xb.weights(forward=True)
    r0 = xb.counters.drift_ref_resets
    xb.transfer()
    assert xb.counters.drift_ref_resets == r0 + xb.R.size
    assert np.all(xb.dc_gain == 1)
    xb.advance(xb.verify_delay(), settle=True)      # read as the loop verified them, t_v after their pulses
    after = xb.weights(forward=True)
    # closed-loop programming tolerance 0.05; without the compensation target the weights would drop ~17 %
    assert np.abs(after - w_eff).mean() < 0.03
    assert np.corrcoef(after.ravel(), w_eff.ravel())[0, 1] > 0.98


def test_state_round_trip(bundle2):
    a = make(bundle2, "column", synapse="2pcm+3t1c", pcm={"drift": True}, quiet=False)
    a.set_weights(weights(a.shape), mode="open")
    a.advance(3e-3)
    st = a.state()
    for k in ("R", "R_tprog", "R_drift", "R_prog", "dc_gain"):
        assert k in st["arrays"]
    b = make(bundle2, "column", synapse="2pcm+3t1c", pcm={"drift": True}, quiet=False)
    b.set_state(st)
    x = inputs(a.n_in)
    for layer in (a, b):
        layer.advance(2e-3)
        layer.transfer()
        layer.advance(1.5e-3)
    assert np.array_equal(a.forward(x), b.forward(x)) and np.array_equal(a.dc_gain, b.dc_gain)
    assert a.counters.as_dict() == b.counters.as_dict()


def test_none_has_no_references(bundle2):
    xb = make(bundle2, "none", pcm={"drift": True})
    xb.set_weights(weights(xb.shape), mode="open")
    xb.advance(5e-3)
    assert xb.R is None and xb.dc_gain is None and xb._cfd is None
    assert not any(k in xb.state()["arrays"] for k in ("R", "R_tprog", "R_drift", "R_prog", "dc_gain"))
    assert xb.counters.drift_ref_reads == 0


def test_config_checks():
    for bad in ({"drift_compensation": "global"}, {"drift_ref_devices": 0}, {"drift_ref_level": 1.5}):
        with pytest.raises(ConfigError):
            ArrayConfig.from_dict({"periphery": bad})
