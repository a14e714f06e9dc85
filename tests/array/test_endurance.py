"""PCM endurance inside training: per-device cycles to failure, failure modes, stuck worn devices, the closed loop
routing around them, and the worn counts of the counters."""

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.devices import pcm
from pycosim.errors import ConfigError


def _cfg(synapse="2pcm+3t1c", **pcm_kw):
    return ArrayConfig.from_dict({"synapse": synapse, "pcm": {"drift": False, "read_noise": False, **pcm_kw},
                                  "lsp": {"leak": False, "read_noise": False, "c2c_scale": 0.0},
                                  "periphery": {"integrator_noise": False, "mismatch_scale": 0.0}})


def test_the_endurance_distribution_is_the_stated_lognormal_and_the_failure_modes_their_fraction():
    rng = np.random.default_rng(0)
    L = pcm.endurance_cycles((200_000,), rng, median_cycles=1e8, sigma_ln=0.25, scale=1e-3)
    assert L.dtype == np.float32
    assert np.median(L) == pytest.approx(1e5, rel=0.01)
    assert np.std(np.log(L)) == pytest.approx(0.25, rel=0.02)
    hi = pcm.failure_modes((200_000,), rng, 0.3)
    assert hi.mean() == pytest.approx(0.3, abs=0.005)
    assert pcm.stress(np.array([3]), np.array([10]), 0.5)[0] == pytest.approx(8.0)
    with pytest.raises(ConfigError):
        pcm.endurance_cycles((3,), rng, scale=0)


def test_endurance_off_draws_nothing_and_keeps_no_endurance_state(bundle2):
    a = Crossbar(8, 4, _cfg(), bundle2, rng=5)
    b = Crossbar(8, 4, _cfg(endurance_scale=1.0), bundle2, rng=5)
    assert a.P_life is None and a.P_fail_hi is None and b.P_life is not None
    # the draws come from a child of the layer's seed sequence: the layer's own stream is untouched, so the two
    # layers stay the same layer, bit for bit, as long as no device has worn out
    np.testing.assert_array_equal(a.P_inst, b.P_inst)
    for xb in (a, b):
        rng = np.random.default_rng(1)
        xb.set_weights(rng.uniform(-0.3, 0.3, (8, 4)).astype(np.float32))
        for _ in range(20):
            xb.update(rng.uniform(0, 1, 8).astype(np.float32), rng.normal(0, 0.2, 4).astype(np.float32), 0.1)
        xb.transfer()
    assert b.counters.as_dict()["pcm_worn_total"] == 0
    np.testing.assert_array_equal(a.weights(), b.weights())
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    assert a.counters.as_dict()["pcm_worn_total"] == 0


def test_a_device_past_its_endurance_stays_stuck_in_its_failure_state(bundle2):
    """Open-loop programming RESETs both MSP devices every time: the device with L = 2.5 cycles fails at its
    third RESET, sits at its failure state (stuck-SET: G_max) from then on, and is counted as worn."""
    xb = Crossbar(4, 3, _cfg(endurance_scale=1.0, endurance_set_weight=0.0), bundle2, rng=1)
    xb.P_life[...] = 1e9
    xb.P_life[0, 1, 2] = 2.5                     # G+ of synapse (1, 2)
    xb.P_fail_hi[0, 1, 2] = True
    xb.P_life[1, 0, 0] = 0.5                     # G− of synapse (0, 0): fails at its first RESET, stuck-RESET
    xb.P_fail_hi[1, 0, 0] = False
    W = np.full((4, 3), 0.3, np.float32)
    gmax = xb.devices()["g_max_S"]
    floor = xb.pcm_pop.g_reset_S[xb.P_inst]
    history = []
    for i in range(6):
        xb.set_weights(W * (1 if i % 2 else -1), mode="open")
        history.append(xb.P[0, 1, 2])
        if i >= 2:
            assert xb.P_stuck[0, 1, 2] and xb.counters.pcm_worn_per_device[0, 1, 2]
    assert history[0] != history[2] or history[1] != history[2]   # it moved before it failed
    assert history[2:] == [gmax[0, 1, 2]] * 4                        # and is stuck at G_max since its 3rd RESET
    assert xb.P[1, 0, 0] == floor[1, 0, 0] and xb.P_stuck[1, 0, 0]
    assert xb.counters.pcm_resets_per_device[0, 1, 2] == 6          # the RESET pulses are still applied and counted
    c = xb.counters.as_dict()
    assert c["pcm_worn_total"] == 2 and c["pcm_worn_by_role"] == {"G+": 1, "G-": 1}


def test_set_stress_wears_a_device_without_resets(bundle2):
    """endurance_set_weight w: a device fails when R + w·S > L, SET pulses alone suffice."""
    xb = Crossbar(3, 2, _cfg(synapse="2pcm", endurance_scale=1.0, endurance_set_weight=0.5), bundle2, rng=2)
    xb.P_life[...] = 1e9
    xb.P_life[0, 0, 0] = 3.0                     # 7 SET pulses (3.5 cycles) at w = 0.5
    xb._set(np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([6], np.int32), counter="pcm_update_set_pulses")
    assert not xb.P_stuck[0, 0, 0] if xb.P_stuck is not None else True
    xb._set(np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([1], np.int32), counter="pcm_update_set_pulses")
    assert xb.P_stuck[0, 0, 0] and xb.counters.pcm_worn_per_device[0, 0, 0]


def test_the_bundle_energy_ratio_is_the_default_set_weight(bundle2):
    xb = Crossbar(2, 2, _cfg(endurance_scale=1.0), bundle2, rng=0)
    s = bundle2.scalars["pcm"]
    assert xb.set_stress_weight == pytest.approx(s["e_set_J"] / s["e_reset_J"])


def _stuck_synapse(bundle2, synapse, high, **kw):
    """A layer whose G+ of synapse 0 has failed (stuck at G_max if high, else at its RESET floor)."""
    xb = Crossbar(3, 2, _cfg(synapse=synapse, endurance_scale=1.0, endurance_set_weight=1.0, **kw), bundle2, rng=3)
    xb.P_life[...] = 1e9
    xb.P_life[0, 0, 0] = 0.5
    xb.P_fail_hi[0, 0, 0] = high
    one = np.zeros(1, np.int64)
    xb._set(one, one, np.ones(1, np.int32), counter="transfer_set_pulses")     # the pulse that wears it out
    xb._refresh(np.arange(xb.W.size))
    assert xb.P_stuck[0, 0, 0] and xb.counters.redundancy_switches == 0
    return xb


def test_the_closed_loop_never_pulses_a_stuck_device_and_reaches_what_its_partner_can(bundle2):
    """G+ stuck at its floor: a negative target is reached with G− alone; a positive one is out of reach and the
    loop drops it after its restarts instead of spending the SET budget on the dead device."""
    xb = _stuck_synapse(bundle2, "2pcm+3t1c", high=False)
    sets_before = int(xb.counters.pcm_sets_per_device[0, 0, 0])
    W = np.zeros((3, 2), np.float32)
    W[0, 0] = -0.3
    # five restarts: a single SET step's σ (≈ 0.1 of the range at mid G, the published preset's c2c) is several
    # times the ±0.02 tolerance, so G− alone may need more than two RESET-and-retry rounds (two left it at −0.38)
    st = xb.set_weights(W, mode="closed", tolerance=0.02, max_restarts=5)
    assert abs(xb.weights()[0, 0] + 0.3) <= 0.02
    W[0, 0] = +0.3
    before = xb.counters.transfer_set_pulses
    st = xb.set_weights(W, mode="closed", tolerance=0.02, max_restarts=2, max_pulses=100)
    # the other five synapses sit at ~0 (a few pulses at most); the stuck one got none on G+, and G− was RESET
    assert xb.counters.transfer_set_pulses - before < 30
    assert st.n_within_tol == st.n_moved - 1
    assert int(xb.counters.pcm_sets_per_device[0, 0, 0]) == sets_before


def test_with_a_spare_pair_the_closed_loop_routes_around_the_failed_device(bundle2):
    """'2pcm+3t1c-kpairs', spare: the synapse whose connected G+ failed (stuck at its floor) is switched to the
    spare pair at the loop's RESET and programmed to its positive target there."""
    xb = _stuck_synapse(bundle2, "2pcm+3t1c-kpairs", high=False, redundant_pairs=2, redundancy="spare")
    failed_inst = xb.P_inst[0, 0, 0]
    W = np.zeros((3, 2), np.float32)
    W[0, 0] = 0.3
    st = xb.set_weights(W, mode="closed", tolerance=0.02, max_restarts=2)
    assert abs(xb.weights()[0, 0] - 0.3) <= 0.02 and st.n_within_tol == st.n_moved
    assert xb.counters.redundancy_switches == 1
    assert not xb.P_stuck[0, 0, 0] and xb.P_stuck[2, 0, 0] and xb.P_inst[2, 0, 0] == failed_inst
    assert xb.counters.pcm_worn_per_device[2, 0, 0]          # the counters moved with the device


def test_a_stuck_high_device_gets_no_common_mode_refresh(bundle2):
    """A pair whose G+ is stuck at G_max must not have its G− RESET by the common-mode refresh (it would
    leave the largest positive weight behind)."""
    xb = _stuck_synapse(bundle2, "2pcm+3t1c", high=True)
    xb.P[1, 0, 0] = xb.devices()["g_max_S"][1, 0, 0] * 0.8         # G− high: W ≈ small, both above refresh_frac
    xb._refresh(np.arange(xb.W.size))
    w0 = xb.weights()[0, 0]
    resets = int(xb.counters.pcm_resets_per_device[1, 0, 0])
    W = xb.weights()
    W[0, 0] = w0
    xb.set_weights(W, mode="closed", tolerance=0.05, refresh_frac=0.25)
    assert int(xb.counters.pcm_resets_per_device[1, 0, 0]) == resets
