"""The closed loop's verify read comes a delay t_v after each programming pulse (TransferConfig.verify_delay_s).

PCM drift is a power law in the time since programming, so a loop that verifies at t_v converges on the value
drifted to t_v: the weight read at t_v is the target (within the tolerance), and later it has lost only
r(t)/r(t_v), not r(t)/r(t_p). These tests use a known drift law (every device alike, G·((t + t_on)/(t_p +
t_on))^−ν) and check the arithmetic independently of the model's drift interpolation.
"""

import numpy as np
import pytest

from pycosim import assumptions as A
from pycosim import timing
from pycosim.array import ArrayConfig, Crossbar
from pycosim.devices import pcm
from pycosim.nn import config as ncfg
from pycosim.nn import presets

NU = 0.05
QUIET = {"pcm": {"read_noise": False, "c2c_scale": 0.0, "stuck_reset_frac": 0.0, "stuck_max_frac": 0.0},
         "periphery": {"integrator_noise": False}}
OLD_S = 1e4          # the devices sit this long at their RESET floor before programming: their drift has stopped


def make(bundle, delay, shape=(40, 8), seed=3, quiet=True, periphery=None, **transfer):
    cfg = {k: dict(v) for k, v in QUIET.items()} if quiet else {}
    cfg["transfer"] = {"verify_delay_s": delay, "refresh_frac": 1.0, **transfer}
    if periphery:
        cfg.setdefault("periphery", {}).update(periphery)
    xb = Crossbar(*shape, ArrayConfig.from_dict({"synapse": "2pcm", **cfg}), bundle=bundle, rng=seed)
    xb.pcm_pop = pcm.uniform_drift(xb.pcm_pop, NU)
    xb.P_drift = pcm.drift_params(xb.P, xb.P_inst, xb.pcm_pop)
    return xb


def r(t, pop):
    """The uniform drift law by hand: 1 up to t_p, then ((t + t_on)/(t_p + t_on))^−ν."""
    tp, ton = pop.drift_t_prog_s, pop.drift_t_on_s
    return 1.0 if t <= tp else ((t + ton) / (tp + ton)) ** -NU


def targets(shape, seed=0):
    w = np.random.default_rng(seed).uniform(0.15, 0.6, shape)
    return (w * np.where(np.random.default_rng(seed + 1).random(shape) < 0.5, -1, 1)).astype(np.float32)


def program(xb, W):
    """Age the RESET floor, then program W closed loop; returns (stats, one-sided mask, pulsed device (n_in,
    n_out) 0/1): synapses whose loop moved one device only (its partner still at its old RESET level)."""
    xb.advance(OLD_S, settle=True)
    before = xb.devices()["G_prog_S"]
    st = xb.set_weights(W)
    moved = xb.devices()["G_prog_S"] != before
    one = moved[0] ^ moved[1]
    return st, one, np.where(moved[0], 0, 1)


@pytest.mark.parametrize("t_v", [1e-3, 30e-6])
def test_weight_read_at_the_verify_delay_is_the_target_and_drifts_from_there(bundle2, t_v):
    xb = make(bundle2, t_v)
    W = targets(xb.shape)
    st, one, dev = program(xb, W)
    tol = st.tolerance
    assert st.t_verify_delay_s == t_v and one.mean() > 0.8
    assert st.frac_within_tol > 0.97                                  # the loop's own verdict, at t_v
    t0 = xb.t_s
    assert xb.counters.sim_time_s == pytest.approx(OLD_S)              # the loop's waits do not move the clock
    xb.advance(t_v, settle=True)
    Wv, Gv = xb.weights(), xb.devices()["G_S"]
    seen = st.final.reshape(xb.shape)                                 # what the loop's last verify read saw
    np.testing.assert_allclose(Wv[one], seen[one], atol=2e-5)          # = the weight read at t_v
    ok = one & (np.abs(seen - W) <= tol)                              # accepted (not out of pulses)
    assert ok.mean() > 0.8
    e = (Wv - W)[ok]
    assert np.all(np.abs(e) <= tol + 2e-5), np.abs(e).max()            # read at t_v: the target
    # SET-only tuning approaches |W| from below and stops inside the band (mean ≈ −tol/2), no drift loss on top
    assert -0.75 * tol < float(np.mean(e * np.sign(W[ok]))) < 0.25 * tol
    # later reads: the pulsed device's G(t) = G(t_v)·r(t)/r(t_v) (t counted from its programming at t0)
    pop = xb.pcm_pop
    rows, cols = np.nonzero(one)
    d = dev[rows, cols]
    scale_F = np.float32(xb.scale * xb.cfg.F)
    sign = np.where(d == 0, 1.0, -1.0)
    for t in (0.1, 30.0, 3600.0):
        xb.advance(t0 + t - xb.t_s, settle=True)
        G = xb.devices()["G_S"]
        ratio = r(t, pop) / r(t_v, pop)
        np.testing.assert_allclose(G[d, rows, cols], Gv[d, rows, cols] * ratio, rtol=2e-5)
        part = lambda Gs, Ww: Ww[rows, cols] - sign * scale_F * Gs[d, rows, cols]    # the old partner's share
        old = r(OLD_S + t, pop) / r(OLD_S + t_v, pop)                  # the partner's own (old) drift
        np.testing.assert_allclose(part(G, xb.weights()), part(Gv, Wv) * old, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(xb.weights()[rows, cols] - part(G, xb.weights()),
                                   (Wv[rows, cols] - part(Gv, Wv)) * ratio, rtol=1e-4, atol=1e-6)


def test_the_loop_programs_higher_by_the_drift_to_the_verify_delay(bundle2):
    """Against a loop that verifies at t_p: the devices end programmed higher by ≈ r(t_p)/r(t_v), and an hour
    later the weights have lost r(1 h)/r(t_v), not r(1 h)/r(t_p)."""
    t_v = 1e-3
    W = targets((40, 8))
    out = {}
    for delay in (0.0, t_v):
        xb = make(bundle2, delay)
        st, one, dev = program(xb, W)
        rows, cols = np.nonzero(one)
        G = xb.devices()["G_prog_S"][dev[rows, cols], rows, cols]
        xb.advance(3600.0, settle=True)
        out[delay] = (G, (xb.weights() * np.sign(W))[one].mean() / np.abs(W[one]).mean(), one)
    both = out[0.0][2] & out[t_v][2]
    pop = make(bundle2, 0.0).pcm_pop
    hi = np.median(out[t_v][0]) / np.median(out[0.0][0])
    assert hi == pytest.approx(r(0.0, pop) / r(t_v, pop), rel=0.1) and both.mean() > 0.8
    assert out[0.0][1] == pytest.approx(r(3600.0, pop), abs=0.04)
    assert out[t_v][1] == pytest.approx(r(3600.0, pop) / r(t_v, pop), abs=0.04)


def test_a_fresh_verify_age_reproduces_the_drift_free_verify_bit_for_bit(bundle2):
    """verify_delay_s 0 (the verify read at t_p, as before) and a delay that keeps every read at or below t_p
    (the drift law's flat part: 1 ns, at most ~100 iterations) give the same devices, weights, counts and random
    stream, with read noise, c2c noise and the shipped drift curves."""
    runs = []
    for delay in (0.0, 1e-9):
        xb = Crossbar(40, 8, ArrayConfig.from_dict({"synapse": "2pcm+3t1c", "transfer": {"verify_delay_s": delay}}),
                      bundle=bundle2, rng=7)
        W = targets(xb.shape, seed=4)
        st0 = xb.set_weights(W)
        xb.advance(20.0, settle=True)
        xb.update(np.random.default_rng(1).random(40).astype(np.float32),
                  np.random.default_rng(2).standard_normal(8).astype(np.float32) * 0.3, 0.1)
        st1 = xb.transfer()
        runs.append((xb, st0, st1))
    (a, a0, a1), (b, b0, b1) = runs
    assert a0.t_verify_delay_s == 0.0 and b0.t_verify_delay_s == 1e-9
    for k in ("W", "P", "Pe", "P_since", "P_tprog"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    for sa, sb in ((a0, b0), (a1, b1)):
        da, db = sa.as_dict(), sb.as_dict()
        da.pop("t_verify_delay_s"), db.pop("t_verify_delay_s")
        assert da == db and np.array_equal(sa.final, sb.final)
    assert a.counters.as_dict() == b.counters.as_dict()
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_the_accelerator_derives_its_delay_and_the_tester_sets_its_own(bundle2):
    """None: the layer's own row-serial schedule (pycosim.timing.verify_delay_s of its rows, verify window and
    SET slot); the tester preset: TESTER_VERIFY_DELAY_S through schedule.verify_delay_s."""
    xb = Crossbar(785, 4, ArrayConfig.from_dict({"synapse": "2pcm+3t1c"}), bundle=bundle2, rng=0)
    slot = timing.set_slot_s(float(bundle2.scalars["pcm"]["set_width_s"]))
    want = timing.verify_delay_s(785, t_verify_s=xb.default_verify_window(), t_set_slot_s=slot)
    assert xb.verify_delay() == want and xb.resolved_settings()["transfer.verify_delay_s"] == want
    assert 100e-6 < want < 1e-3                                       # 784 rows of read + SET slot
    tester, accel = presets.get("ambrogio2018"), presets.get("ambrogio2018-accel")
    assert tester.schedule.verify_delay_s == A.TESTER_VERIFY_DELAY_S.value == 1e-3
    assert ncfg.array_config(tester, 784, 784).transfer.verify_delay_s == 1e-3
    assert ncfg.array_config(accel, 784, 784).transfer.verify_delay_s is None
    own = ncfg.override(tester, ["transfer.verify_delay_s=2e-3"])         # the transfer's own value wins
    assert ncfg.array_config(own, 784, 784).transfer.verify_delay_s == 2e-3
    assert ncfg.array_config(ncfg.override(tester, ["schedule.verify_delay_s=5e-3"]), 784, 784) \
        .transfer.verify_delay_s == 5e-3
    st = xb.transfer(cols=[0], verify_delay_s=5e-4)
    assert st.t_verify_delay_s == 5e-4
    with pytest.raises(Exception, match="verify_delay_s"):
        ArrayConfig.from_dict({"transfer": {"verify_delay_s": -1.0}})


def test_compensation_references_are_read_at_the_verify_delay(bundle2):
    """Per-column drift compensation: the references' programmed read R_prog comes t_v after their programming,
    like the weights' verify reads, so ĝ(t) = R_prog/R(t) = r(t_v)/r(t) undoes exactly the drift the weights
    see from their verify on: the compensated weights stay at their targets (no over-correction by
    r(t_p)/r(t_v) ≈ 1.3 at 1 ms)."""
    t_v = 1e-3
    xb = make(bundle2, t_v, periphery={"integrator_noise": False, "drift_compensation": "column"})
    W = targets(xb.shape)
    st, one, _ = program(xb, W)
    seen = st.final.reshape(xb.shape)
    t0 = xb.t_s
    for t in (t_v, 1.0, 3600.0):
        xb.advance(t0 + t - xb.t_s, settle=True)
        # atol: the column gain also scales the old partner's small share (≈ 0.002, it barely drifts)
        np.testing.assert_allclose(xb.weights(forward=True)[one], seen[one], rtol=1e-2, atol=5e-3)
