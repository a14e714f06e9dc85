"""The k-pair redundant schemes: rotation divides each device's RESETs by k, spares replace failed pairs,
k = 1 is the plain scheme bit for bit, and the state round-trips."""

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar


def _cfg(synapse, **pcm_kw):
    return ArrayConfig.from_dict({"synapse": synapse, "pcm": {"drift": False, **pcm_kw}, "lsp": {"leak": False}})


def _train(xb, steps=120, every=10, seed=0):
    rng = np.random.default_rng(seed)
    xb.set_weights(rng.uniform(-0.4, 0.4, xb.shape).astype(np.float32))
    for it in range(steps):
        xb.update(rng.uniform(0, 1, xb.n_in).astype(np.float32), rng.normal(0, 0.3, xb.n_out).astype(np.float32), 0.1)
        if it % every == every - 1:
            xb.transfer()
    return xb


def _lower_resets(xb):
    """(k, n_in, n_out) RESETs of the devices of each lower pair (G+ row of each pair: both rows are RESET together)."""
    rows = xb.ring_rows()
    return xb.counters.pcm_resets_per_device[rows[:, 0]]


@pytest.mark.parametrize("k", [2, 4])
def test_rotation_over_k_pairs_divides_each_device_reset_count_by_k(bundle2, k):
    """'4pcm-kpairs', rotate: the lower pairs take the transfer RESETs in turn, so per synapse the k pairs' RESET
    counts differ by at most one, each ≈ 1/k of the synapse's RESETs, and the layer's RESETs per lower-pair device
    fall ≈ k-fold against the plain scheme run through the same stimulus."""
    one = _train(Crossbar(12, 6, _cfg("4pcm"), bundle2, rng=4))
    kx = _train(Crossbar(12, 6, _cfg("4pcm-kpairs", redundant_pairs=k, redundancy="rotate"), bundle2, rng=4))
    r1 = one.counters.pcm_resets_per_device[2].astype(float)
    rk = _lower_resets(kx).astype(float)                                    # (k, 12, 6)
    assert rk.sum() > 200
    assert np.all(rk.max(axis=0) - rk.min(axis=0) <= 1)                      # round robin, per synapse
    np.testing.assert_allclose(rk.mean(axis=0), rk.sum(axis=0) / k)
    ratio = r1.mean() / rk.mean()
    assert ratio == pytest.approx(k, rel=0.25)
    assert r1.max() / rk.max() > 0.6 * k
    # both devices of a pair are RESET together, and nothing else of the layer is touched by the rotation
    np.testing.assert_array_equal(kx.counters.pcm_resets_per_device[kx.ring_rows()[:, 1]], rk)


def test_rotation_spreads_the_pcm_pair_resets_of_2pcm_3t1c(bundle2):
    """'2pcm+3t1c-kpairs', rotate: the RESETs of the closed loop (common-mode refresh, restarts) go round the k pairs."""
    kx = _train(Crossbar(12, 6, _cfg("2pcm+3t1c-kpairs", redundant_pairs=3, redundancy="rotate"), bundle2, rng=4),
                steps=60, every=5)
    rows = kx.ring_rows()
    r = kx.counters.pcm_resets_per_device[rows[:, 0]].astype(int)
    assert r.sum() > 0 and kx.counters.redundancy_switches == r.sum() - 0
    assert np.all(r.max(axis=0) - r.min(axis=0) <= 1)


@pytest.mark.parametrize("plain,kp", [("4pcm", "4pcm-kpairs"), ("2pcm+3t1c", "2pcm+3t1c-kpairs")])
def test_one_pair_is_the_plain_scheme_bit_for_bit(bundle2, plain, kp):
    a = _train(Crossbar(10, 5, _cfg(plain, endurance_scale=1e-6), bundle2, rng=7), steps=40)
    b = _train(Crossbar(10, 5, _cfg(kp, endurance_scale=1e-6, redundant_pairs=1), bundle2, rng=7), steps=40)
    np.testing.assert_array_equal(a.weights(), b.weights())
    np.testing.assert_array_equal(a.P, b.P)
    assert a.counters.as_dict() == b.counters.as_dict()


def test_spares_take_over_from_worn_pairs_and_rotation_plus_spare_skips_them(bundle2):
    """A fast-wearing lower pair: with spares the connected pairs are the healthy ones as long as any is left."""
    for mode in ("spare", "rotate+spare"):
        xb = _train(Crossbar(12, 6, _cfg("4pcm-kpairs", redundant_pairs=3, redundancy=mode, endurance_scale=1e-7,
                                         endurance_set_weight=0.0), bundle2, rng=2), steps=200, every=5)
        worn = xb.counters.pcm_worn_per_device
        rows = xb.ring_rows()
        broken = worn[rows[:, 0]] | worn[rows[:, 1]]                          # (k, 12, 6)
        assert broken.any()
        has_healthy = (~broken).any(axis=0)
        # every synapse with a healthy pair left that had a RESET since its pair broke is on a healthy pair:
        # at most a few still wait for their next RESET
        assert (broken[0] & has_healthy).sum() <= 0.1 * broken[0].size
        assert xb.counters.redundancy_switches > 0


def test_the_state_round_trips_with_redundancy_and_endurance(bundle2):
    cfg = _cfg("4pcm-kpairs", redundant_pairs=2, redundancy="rotate+spare", endurance_scale=1e-7)
    a = _train(Crossbar(8, 4, cfg, bundle2, rng=3), steps=30)
    b = Crossbar(8, 4, cfg, bundle2, rng=3)
    b.set_state(a.state())
    for xb in (a, b):
        _train(xb, steps=20, seed=9)
    np.testing.assert_array_equal(a.weights(), b.weights())
    np.testing.assert_array_equal(a.counters.pcm_worn_per_device, b.counters.pcm_worn_per_device)
    assert a.counters.as_dict() == b.counters.as_dict()


def test_roles_and_devices_view_of_the_k_pairs(bundle2):
    xb = Crossbar(4, 3, _cfg("4pcm-kpairs", redundant_pairs=3), bundle2, rng=0)
    assert xb.device_roles() == ("G+", "G-", "g+", "g-", "g+", "g-", "g+", "g-")
    d = xb.devices()
    assert d["G_S"].shape == (4, 4, 3) and d["bank_G_S"].shape == (4, 4, 3)
    assert xb.counters.pcm_resets_per_device.shape == (8, 4, 3)
    assert set(xb.counters.as_dict()["pcm_worn_by_role"]) == {"G+", "G-", "g+", "g-"}
