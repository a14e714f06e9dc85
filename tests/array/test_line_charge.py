"""The line-charge counters of the reads (Counters.line_charge_*_C), which price the column read's mirror energy
(pycosim.evaluate.energy.integration_estimate_J). Every expected charge is written out from the device state
(Crossbar.devices()) and the read pulse by independent arithmetic:

    forward   Q⁺ = V_read·t_x1·Σ_i |x̂_i|·Σ_j W⁺_ij          (plus line of every pair)
    transposed Q = V_read·t_x1,b·Σ_j |PWM(δ_j/max|δ|)|·Σ_i (W⁺_ij + W⁻_ij)   (every row line)

with x̂ = PWM(x) the pulse width of 8-bit inputs, round(min(|x|, 1)·255)/255
    verify    Q⁺ = V_read·t_verify·W⁺ of each synapse read

with W⁺ = F·G⁺ + g (pol > 0) or g_shared (pol < 0), W⁻ = F·G⁻ + the other one ('2pcm+3t1c'), W^± = F·G^±
('2pcm')."""

import numpy as np
import pytest

from pycosim.array import Crossbar
from pycosim.array.schemes.analog import ArrayProgrammer

CFG = {"synapse": "2pcm+3t1c", "pcm": {"drift": False}}


def lines(xb):
    """(W⁺, W⁻) in S, float64 (n_in, n_out), from the layer's device copies."""
    d = xb.devices()
    F = xb.cfg.F
    Gp, Gn = d["G_S"][0].astype(np.float64), d["G_S"][1].astype(np.float64)
    if "g_S" not in d:
        return F * Gp, F * Gn
    g, gs, pos = d["g_S"].astype(np.float64), d["g_shared_S"].astype(np.float64)[None, :], d["pol"][None, :] > 0
    return F * Gp + np.where(pos, g, gs), F * Gn + np.where(pos, gs, g)


def test_forward_read_counts_the_plus_line_charge():
    xb = Crossbar(5, 3, CFG, rng=1)
    v, t_f, _ = xb.read_pulse()
    wp, _ = lines(xb)
    xb.forward(np.zeros(5, np.float32))
    assert xb.counters.line_charge_forward_C == 0.0                       # zero input: no line charge
    assert xb.cfg.periphery.input_bits == 8                                # pulse widths in steps of 1/255
    x = np.array([0.5, 0.0, 1.0, -0.25, 2.0], np.float32)                 # |x| clipped to 1, sign ignored
    xb.forward(x)
    want = v * t_f * (128 / 255 * wp[0].sum() + wp[2].sum() + 64 / 255 * wp[3].sum() + wp[4].sum())
    assert xb.counters.line_charge_forward_C == pytest.approx(want, rel=1e-6, abs=0)
    print(f"Q+ = {want * 1e12:.4f} pC")
    a = np.array([64, 0, 100, -32, 120], np.float32) / np.float32(255)       # on the 8-bit grid
    q0 = xb.counters.line_charge_forward_C
    xb.forward(a)
    q1 = xb.counters.line_charge_forward_C
    xb.forward(2 * a)                                                        # doubled pulse widths: doubled charge
    assert xb.counters.line_charge_forward_C - q1 == pytest.approx(2 * (q1 - q0), rel=1e-6, abs=0)


def test_transposed_read_counts_the_row_line_charge():
    xb = Crossbar(4, 3, CFG, rng=2)
    v, _, t_b = xb.read_pulse()
    wp, wn = lines(xb)
    assert xb.cfg.periphery.normalize_backward
    xb.backward(np.array([0.1, -0.3, 0.0], np.float32))                   # δ/max|δ| = 1/3, 1, 0
    want = v * t_b * ((wp[:, 0] + wn[:, 0]).sum() / 3 + (wp[:, 1] + wn[:, 1]).sum())
    assert xb.counters.line_charge_backward_C == pytest.approx(want, rel=1e-6, abs=0)
    assert xb.counters.line_charge_forward_C == 0.0


def test_verify_reads_count_the_plus_line_charge_of_each_synapse():
    xb = Crossbar(4, 3, {"synapse": "2pcm", "pcm": {"drift": False}}, rng=3)
    xb.set_weights(np.full((4, 3), 0.3, np.float32))
    v = xb.read_pulse()[0]
    wp, _ = lines(xb)
    flat = np.array([0, 5, 11])
    q0 = xb.counters.line_charge_verify_C
    ArrayProgrammer(xb, flat, 1e-6).read(np.arange(3))
    want = v * 1e-6 * wp.reshape(-1)[flat].sum()
    assert xb.counters.line_charge_verify_C - q0 == pytest.approx(want, rel=1e-6, abs=0)
    assert q0 > 0                                                          # the programming's own verify reads


def test_line_sums_follow_the_updates_within_256_reads():
    """The line sums are cached at the line refresh and recomputed after every LINE_Q_REFRESH_READS-th read: a
    3T1C update moves g, the next 256 reads still use the old sums, the 257th the new ones."""
    xb = Crossbar(6, 4, CFG, rng=4)
    v, t_f, _ = xb.read_pulse()
    old = v * t_f * lines(xb)[0].sum()
    for _ in range(20):
        xb.update(np.ones(6, np.float32), np.full(4, -1.0, np.float32), 0.5)
    new = v * t_f * lines(xb)[0].sum()
    assert abs(new - old) > 1e-3 * old                                     # the updates moved the plus lines
    one = np.ones(6, np.float32)
    k = xb.LINE_Q_REFRESH_READS
    for _ in range(k):
        xb.forward(one)                                                     # the 256th read recomputes the sums
    assert xb.counters.line_charge_forward_C == pytest.approx(k * old, rel=1e-5, abs=0)
    xb.forward(one)                                                         # … which the next read uses
    assert xb.counters.line_charge_forward_C == pytest.approx(k * old + new, rel=1e-5, abs=0)


def test_state_round_trip_continues_the_line_counters():
    """The cached line sums are part of the state: the restored layer counts what the original counts (here the
    sums of the 256th read, after updates, differ from those of a freshly built layer and from the devices')."""
    a = Crossbar(6, 4, CFG, rng=5)
    x = np.linspace(0, 1, 6).astype(np.float32)
    for _ in range(3):
        a.update(np.ones(6, np.float32), np.full(4, 1.0, np.float32), 0.5)
    for _ in range(a.LINE_Q_REFRESH_READS):
        a.forward(x)
    a.update(np.ones(6, np.float32), np.full(4, 1.0, np.float32), 0.5)
    b = Crossbar(6, 4, CFG, rng=5)
    b.set_state(a.state())
    for xb in (a, b):
        xb.forward(x)
        xb.backward(np.ones(4, np.float32))
    for k in ("line_charge_forward_C", "line_charge_backward_C", "line_charge_verify_C"):
        assert getattr(b.counters, k) == getattr(a.counters, k), k
