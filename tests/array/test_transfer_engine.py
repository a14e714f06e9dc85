"""The transfer engine's algorithm (pycosim/array/transfer.py) against a recording fake programmer.

The engine is pure Python over the MspProgrammer protocol, so its loop can be followed by hand: the fake
below holds two conductances per synapse, a SET pulse adds exactly 1 S, a RESET sets both to 0, and a read
returns w = G⁺ − G⁻ with a chosen (reported, not applied) read-noise σ. Every expected count below is
worked out step by step in the comments. The array-level behaviour (real PCM devices, the crossbar's
transfer) is tested in tests/array/test_crossbar.py and tests/validation/test_engine.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pycosim.array.transfer import (LoopOptions, LoopResult, MspProgrammer, TransferStats, closed_loop, columns,
                                    open_loop, options)
from pycosim.errors import ConfigError


class FakeProgrammer:
    """m synapses; G (2, m) in S, one SET pulse = +1 S, RESET = 0 S; w = G⁺ − G⁻; records every call."""

    def __init__(self, gp, gm, gmax=100.0, sigma=0.0, drift=0.0):
        self.G = np.array([gp, gm], np.float32).reshape(2, -1)
        self.gmax = np.broadcast_to(np.asarray(gmax, np.float32), self.G.shape).copy()
        self.sigma = np.float32(sigma)
        self.drift = np.float32(drift)
        self.calls = []

    def read(self, idx):
        self.calls.append(("read", idx.tolist()))
        assert idx.dtype == np.int64
        return (self.G[0, idx] - self.G[1, idx]).astype(np.float32), np.full(idx.size, self.sigma, np.float32)

    def levels(self, idx):
        self.calls.append(("levels", idx.tolist()))
        return self.G[:, idx].copy(), self.gmax[:, idx].copy()

    def step(self, idx, device, n, reset):
        self.calls.append(("step", idx.tolist(), device.tolist(), n.tolist(), reset.tolist()))
        assert device.dtype == np.int8 and n.dtype == np.int32 and reset.dtype == bool
        self.G[:, idx[reset]] = 0
        self.G[device, idx] += n

    def drift_ahead(self, idx, horizon_s):
        self.calls.append(("drift_ahead", idx.tolist(), horizon_s))
        return np.full(idx.size, self.drift, np.float32)


def opts(**kw):
    return LoopOptions(**({"tolerance": 0.5, "max_pulses": 20, "max_restarts": 0} | kw))


def test_fake_is_a_programmer():
    assert isinstance(FakeProgrammer([0], [0]), MspProgrammer)


def test_closed_loop_of_nothing_touches_nothing():
    p = FakeProgrammer(np.zeros(0), np.zeros(0))
    r = closed_loop(p, np.zeros(0), opts(refresh_frac=0.5))
    assert p.calls == [] and r.pulses.shape == (0,) and r.resets.shape == (0,)
    assert (r.iterations, r.verify_reads) == (0, 0)


def test_closed_loop_pulses_counts_and_calls_by_hand():
    # targets 3, −2, 0.2 from w = 0, tolerance 0.5, noise-free (band = max(0.5 − 0, 0.125) = 0.5):
    # it1 reads {0,1,2}: errors 3, −2, 0.2 → synapse 2 is done; SET G⁺ of 0, G⁻ of 1
    # it2 reads {0,1}: w = 1, −1 → SET both again; it3 reads {0,1}: w = 2, −2 → 1 is done, SET G⁺ of 0
    # it4 reads {0}: w = 3 → done. pulses 3, 2, 0; 4 iterations; 3 + 2 + 2 + 1 = 8 verify reads.
    p = FakeProgrammer([0, 0, 0], [0, 0, 0])
    r = closed_loop(p, np.array([3.0, -2.0, 0.2]), opts())
    assert r.pulses.tolist() == [3, 2, 0] and r.resets.tolist() == [0, 0, 0]
    assert r.pulses.dtype == np.int32 and r.resets.dtype == np.int32
    assert (r.iterations, r.verify_reads) == (4, 8)
    assert p.G.tolist() == [[3, 0, 0], [0, 2, 0]]
    assert p.calls == [
        ("read", [0, 1, 2]), ("levels", [0, 1]), ("step", [0, 1], [0, 1], [1, 1], [False, False]),
        ("read", [0, 1]), ("levels", [0, 1]), ("step", [0, 1], [0, 1], [1, 1], [False, False]),
        ("read", [0, 1]), ("levels", [0]), ("step", [0], [0], [1], [False]),
        ("read", [0]),
    ]


def test_closed_loop_stops_at_the_band_boundary():
    # tolerance 1, σ = 0.25: band = max(1 − 0.5, 0.25) = 0.5. |err| = 0.5 exactly (float32-exact) stops
    # (the test is |err| > band); 0.375 stops (a 3σ guard band would give 0.25 and pulse it); 0.625 is
    # pulsed once (w → 1, err −0.375 ≤ 0.5: done).
    p = FakeProgrammer([0, 0, 0, 0], [0, 0, 0, 0], sigma=0.25)
    r = closed_loop(p, np.array([0.5, -0.5, 0.375, 0.625]), opts(tolerance=1.0))
    assert r.pulses.tolist() == [0, 0, 0, 1]
    assert (r.iterations, r.verify_reads) == (2, 5)


def test_closed_loop_guard_band_floor_is_a_quarter_of_the_tolerance():
    # tolerance 1, σ = 0.5: tol − 2σ = 0 → band = 0.25·tol = 0.25. err 0.25 stops; 1.2 is pulsed once
    # (w = 1, err 0.2: done), −1.2 once on G⁻; a floor of 1.25·tol would stop both at 0.
    p = FakeProgrammer([0, 0, 0], [0, 0, 0], sigma=0.5)
    r = closed_loop(p, np.array([0.25, 1.2, -1.2]), opts(tolerance=1.0))
    assert r.pulses.tolist() == [0, 1, 1]
    assert p.G.tolist() == [[0, 1, 0], [0, 0, 1]]


def test_closed_loop_pulse_budget_and_iteration_count():
    # target 10, budget 3 pulses, no restarts: three pulses, then the 4th read finds the budget spent.
    # The loop may run max_pulses + max_restarts + 1 = 4 iterations: exactly enough.
    p = FakeProgrammer([0], [0])
    r = closed_loop(p, np.array([10.0]), opts(max_pulses=3))
    assert r.pulses.tolist() == [3] and (r.iterations, r.verify_reads) == (4, 4)
    assert p.G[0, 0] == 3
    assert [c[0] for c in p.calls] == ["read", "levels", "step"] * 3 + ["read"]


def test_closed_loop_saturation_restarts_and_drops():
    # G_max 3, saturation_frac 1: G⁺ = 3 is saturated (G ≥ frac·G_max). Target 5, one restart allowed:
    # it1–3 pulse G⁺ to 3; it4 err 2 but G⁺ saturated → RESET pair (restart 1, no pulse);
    # it5–7 pulse G⁺ to 3 again; it8 saturated, no restart left → dropped. 8 iterations, 6 pulses, 1 reset.
    p = FakeProgrammer([0], [0], gmax=3.0)
    r = closed_loop(p, np.array([5.0]), opts(max_pulses=10, max_restarts=1, saturation_frac=1.0))
    assert r.pulses.tolist() == [6] and r.resets.tolist() == [1]
    assert (r.iterations, r.verify_reads) == (8, 8)
    steps = [c for c in p.calls if c[0] == "step" and c[1]]     # (the engine may step an empty set)
    assert steps[3] == ("step", [0], [0], [0], [True])          # the restart: RESET, no SET pulse
    assert [s[3] for s in steps] == [[1], [1], [1], [0], [1], [1], [1]]
    assert p.G[:, 0].tolist() == [3, 0]


def test_closed_loop_saturation_fraction_and_the_restart_budget():
    # saturation_frac 0.5 of G_max 6 → saturated at G ≥ 3 (exactly 3 counts). Synapse 0 on G⁻ the same.
    # max_restarts 0: the first saturation drops the synapse (no reset). Loop bound 10 + 0 + 1 = 11.
    p = FakeProgrammer([0, 0], [0, 0], gmax=6.0)
    r = closed_loop(p, np.array([-5.0, 5.0]), opts(max_pulses=10, saturation_frac=0.5))
    assert r.pulses.tolist() == [3, 3] and r.resets.tolist() == [0, 0]
    assert (r.iterations, r.verify_reads) == (4, 8)
    assert p.G.tolist() == [[0, 3], [3, 0]]


def test_closed_loop_common_mode_refresh():
    # refresh_frac 0.5 of G_max 6 = 3: synapse 0 (4, 4) is reset; 1 (4, 1) and 2 (1, 4) have one device
    # low (both must be above); 3 (3, 4) has one exactly at 3 (strictly above is required).
    # After the refresh synapse 0 reads 0 (target 0: done); the others read 3, −3, −1 = their targets.
    p = FakeProgrammer([4, 4, 1, 3], [4, 1, 4, 4], gmax=6.0)
    r = closed_loop(p, np.array([0.0, 3.0, -3.0, -1.0]), opts(refresh_frac=0.5))
    assert r.resets.tolist() == [1, 0, 0, 0] and r.pulses.tolist() == [0, 0, 0, 0]
    assert p.calls[:2] == [("levels", [0, 1, 2, 3]), ("step", [0], [0], [0], [True])]
    assert p.calls[2:] == [("read", [0, 1, 2, 3])]
    assert (r.iterations, r.verify_reads) == (1, 4)


def test_closed_loop_refresh_uses_each_devices_own_g_max():
    # G_max 6 for G⁺ and 10 for G⁻, refresh_frac 0.5: thresholds 3 and 5. Synapse 0 (4, 6) is above both;
    # synapse 1 (6, 4) has G⁻ below its own threshold (above G⁺'s); synapse 2 (4, 5): G⁻ exactly at 5.
    p = FakeProgrammer([4, 6, 4], [6, 4, 5], gmax=np.array([[6.0], [10.0]]))
    r = closed_loop(p, np.array([0.0, 2.0, -1.0]), opts(refresh_frac=0.5))
    assert r.resets.tolist() == [1, 0, 0] and r.pulses.tolist() == [0, 0, 0]


def test_closed_loop_restart_budget_of_two():
    # G_max 2 (saturated at G ≥ 2), target 10, max_restarts 2: two pulses, restart, two pulses, restart,
    # two pulses, saturated with no restart left → dropped. 6 pulses, 2 resets, 2 + 1 + 2 + 1 + 2 + 1 = 9
    # iterations.
    p = FakeProgrammer([0], [0], gmax=2.0)
    r = closed_loop(p, np.array([10.0]), opts(max_pulses=20, max_restarts=2))
    assert r.pulses.tolist() == [6] and r.resets.tolist() == [2] and r.iterations == 9


def test_closed_loop_iteration_bound_counts_the_restarts():
    # G_max 2, target 10, budget 4 pulses and 1 restart: pulse, pulse, restart, pulse, pulse, then the 6th
    # read finds the budget spent: 6 = max_pulses + max_restarts + 1 iterations, the loop's bound.
    p = FakeProgrammer([0], [0], gmax=2.0)
    r = closed_loop(p, np.array([10.0]), opts(max_pulses=4, max_restarts=1))
    assert r.pulses.tolist() == [4] and r.resets.tolist() == [1] and r.iterations == 6


def test_closed_loop_and_open_loop_work_on_float32_targets():
    # A float64 target is rounded to float32 (the programmers' precision) before it is compared:
    # 0.5 + 1e-10 is 0.5 in float32, exactly at the band (tolerance 0.5, noise-free): not pulsed.
    # −1e-50 is −0 in float32: open loop puts it on G⁺ like any target ≥ 0.
    p = FakeProgrammer([0], [0])
    assert closed_loop(p, np.array([0.5 + 1e-10]), opts()).pulses.tolist() == [0]
    q = FakeProgrammer([0, 0], [0, 0])
    open_loop(q, np.array([-1e-50, -1e-3]), np.array([1, 1]))
    assert q.calls[0][2] == [0, 1]


def test_closed_loop_without_refresh_does_not_look_at_levels_first():
    # refresh_frac 1 (off): the first call is the verify read, even with both devices at G_max.
    p = FakeProgrammer([6], [6], gmax=6.0)
    r = closed_loop(p, np.array([0.0]), opts(refresh_frac=1.0))
    assert p.calls == [("read", [0])] and r.resets.tolist() == [0]


def test_closed_loop_verifies_against_the_drift_prediction():
    # drift_ahead predicts −1 over the horizon: a synapse at w = 1 with target 1 is seen at 0 and pulsed
    # once (then w = 2 − 1 = 1: done). Without a horizon the programmer's drift_ahead is never called.
    p = FakeProgrammer([1], [0], drift=-1.0)
    r = closed_loop(p, np.array([1.0]), opts(drift_horizon_s=3600.0))
    assert r.pulses.tolist() == [1]
    assert p.calls[1] == ("drift_ahead", [0], 3600.0)
    q = FakeProgrammer([1], [0], drift=-1.0)
    r = closed_loop(q, np.array([1.0]), opts())
    assert r.pulses.tolist() == [0] and q.calls == [("read", [0])]


def test_open_loop_by_hand():
    p = FakeProgrammer([5, 5, 5], [5, 5, 5])
    n = np.array([2, 3, 4])
    r = open_loop(p, np.array([1.0, -1.0, 0.0]), n)
    assert p.calls == [("step", [0, 1, 2], [0, 1, 0], [2, 3, 4], [True, True, True])]
    assert p.G.tolist() == [[2, 0, 4], [0, 3, 0]]            # reset first, then G⁺ for target ≥ 0
    assert isinstance(r, LoopResult)
    assert r.pulses.tolist() == [2, 3, 4] and r.resets.tolist() == [1, 1, 1]
    assert r.pulses.dtype == np.int32 and r.resets.dtype == np.int32
    assert (r.iterations, r.verify_reads) == (0, 0)
    n[0] = 99
    assert r.pulses[0] == 2                                  # a copy, not the caller's array
    q = FakeProgrammer(np.zeros(0), np.zeros(0))
    r = open_loop(q, np.zeros(0), np.zeros(0, np.int32))
    assert q.calls == [] and r.pulses.shape == (0,) and r.resets.shape == (0,)


def test_loop_options_of():
    o = LoopOptions.of({"tolerance": "0.05", "max_pulses": 7.0, "max_restarts": 2, "refresh_frac": 0.6,
                        "drift_horizon_s": None}, 0.9)
    assert o == LoopOptions(0.05, 7, 2, 0.6, 0.9, 0.0)
    assert type(o.max_pulses) is int and type(o.tolerance) is float and type(o.drift_horizon_s) is float
    assert LoopOptions.of({"tolerance": 1, "max_pulses": 1, "max_restarts": 0, "refresh_frac": 1,
                           "drift_horizon_s": 10}, 1).drift_horizon_s == 10.0
    d = LoopOptions(0.1, 2, 3)
    assert (d.refresh_frac, d.saturation_frac, d.drift_horizon_s) == (1.0, 1.0, 0.0)


_CFG = SimpleNamespace(mode="closed", threshold=0.02, tolerance=0.05, max_pulses=20, max_restarts=2,
                       refresh_frac=1.0, invert_polarity=True, verify_t_read_s=None, drift_horizon_s=0.0,
                       verify_delay_s=None)


def test_options_defaults_and_overrides():
    assert options(_CFG, {}) == {"mode": "closed", "threshold": 0.02, "tolerance": 0.05, "max_pulses": 20,
                                 "max_restarts": 2, "refresh_frac": 1.0, "invert_polarity": True,
                                 "verify_t_read_s": None, "drift_horizon_s": 0.0, "verify_delay_s": None}
    o = options(_CFG, {"mode": "open", "tolerance": 0.1, "max_pulses": None, "invert_polarity": False})
    assert (o["mode"], o["tolerance"], o["max_pulses"], o["invert_polarity"]) == ("open", 0.1, 20, False)


def test_options_errors_are_one_exact_line():
    with pytest.raises(ConfigError) as e:
        options(_CFG, {"tolerence": 0.1, "zz": 1})
    assert str(e.value) == ("transfer: unknown option 'tolerence'; allowed: mode, threshold, tolerance, "
                            "max_pulses, max_restarts, refresh_frac, invert_polarity, verify_t_read_s, "
                            "drift_horizon_s, verify_delay_s")
    with pytest.raises(ConfigError) as e:
        options(_CFG, {"mode": "Closed"})
    assert str(e.value) == "transfer: mode='Closed'; allowed values are 'closed', 'open'"
    with pytest.raises(ConfigError) as e:
        options(SimpleNamespace(**(vars(_CFG) | {"mode": "half"})), {})
    assert str(e.value) == "transfer: mode='half'; allowed values are 'closed', 'open'"


def test_columns():
    c = columns(None, 4)
    assert c.tolist() == [0, 1, 2, 3]
    c = columns(np.array([True, False, True, False]), 4)
    assert c.tolist() == [0, 2]
    c = columns([3, 0], 4)
    assert c.tolist() == [3, 0] and c.dtype == np.int64
    assert columns(2, 4).tolist() == [2] and columns(0, 4).tolist() == [0]
    assert columns([], 4).tolist() == []
    with pytest.raises(ConfigError) as e:
        columns(np.array([True, False]), 4)
    assert str(e.value) == "transfer: cols mask must have shape (4,), got (2,)"
    for bad in ([4], [-1], [0, 4]):
        with pytest.raises(ConfigError) as e:
            columns(bad, 4)
        assert str(e.value) == "transfer: cols must be in 0…3"


def test_transfer_stats_score_by_hand():
    s = TransferStats("closed", tolerance=0.25)
    assert s.frac_within_tol == 1.0                          # nothing moved
    t = np.array([1.0, 2.0, -1.0, 0.0], np.float64)
    f = np.array([1.25, 2.0, -1.5, 0.125], np.float64)
    s.score(t, f)
    # |e| = 0.25, 0, 0.5, 0.125: within ≤ 0.25 → 3 (0.25 counts); mean 0.875/4; max 0.5;
    # rms sqrt((0.0625 + 0 + 0.25 + 0.015625)/4) = sqrt(0.08203125)
    assert s.n_moved == 4 and s.n_within_tol == 3
    assert s.err_abs_mean == 0.21875 and s.err_abs_max == 0.5
    assert s.err_rms == pytest.approx(0.28641098093474, rel=1e-12, abs=0)
    assert s.frac_within_tol == 0.75
    assert s.target.dtype == np.float32 and s.final.dtype == np.float32
    assert s.target.tolist() == [1.0, 2.0, -1.0, 0.0] and s.final.tolist() == [1.25, 2.0, -1.5, 0.125]
    d = s.as_dict()
    assert "target" not in d and "final" not in d
    assert d["frac_within_tol"] == 0.75 and d["n_within_tol"] == 3 and d["mode"] == "closed"
    assert list(d) == ["mode", "tolerance", "t_verify_s", "t_verify_delay_s", "n_synapses", "n_moved", "n_within_tol",
                       "err_abs_mean", "err_abs_max", "err_rms", "set_pulses", "resets", "verify_reads",
                       "iterations", "dropped_abs_sum", "frac_within_tol"]


def test_transfer_stats_score_of_nothing():
    s = TransferStats("open", tolerance=0.1)
    s.score(np.zeros(0), np.zeros(0))
    assert (s.n_moved, s.n_within_tol, s.err_abs_mean, s.err_abs_max, s.err_rms) == (0, 0, 0.0, 0.0, 0.0)
    assert s.frac_within_tol == 1.0
    assert s.target.dtype == np.float32 and s.target.shape == (0,)
