"""The published statistical PCM model's formulas (pycosim/inference/pcm_statistical.py) and the drift
compensation (pycosim/inference/compensation.py), value by value.

Expected values are worked out by hand from the equations of Rasch et al., Nat. Commun. 14, 5282 (2023),
Methods (c₀ = 0.26348, c₁ = 1.9650, c₂ = −1.1731 µS; μ_ν, σ_ν clips; t₀ = 20 s; t_r = 250 ns; G_max = 25 µS),
written out in the comments — not computed with the functions under test. The model as a whole (drift
reaching the logits, the evaluate driver) is tested in tests/evaluate/test_inference.py.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from pycosim.inference import compensation as comp
from pycosim.inference import pcm_statistical as ps


def approx(x, rel=1e-9):
    return pytest.approx(x, rel=rel, abs=0)


def test_constants():
    assert ps.G_MAX_US == 25.0 and ps.PROG_COEFF_US == (0.26348, 1.9650, -1.1731)
    assert ps.T0_S == 20.0 and ps.T_READ_S == 250e-9


def test_prog_sigma():
    # ĝ = 0: c₀; ĝ = 1: 0.26348 + 1.9650 − 1.1731 = 1.05538; ĝ = 0.5: 0.26348 + 0.9825 − 0.293275 = 0.952705
    assert ps.prog_sigma_us([0.0, 25.0, 12.5]).tolist() == approx([0.26348, 1.05538, 0.952705])
    # G_max 50 µS: ĝ = 0.5 at 25 µS, σ scaled by 50/25
    assert ps.prog_sigma_us(25.0, 50.0) == approx(1.90541)


def test_drift_nu_mean_and_std():
    # ĝ = 0.1: μ = 0.0155·ln 10 + 0.0244 = 0.0600900690, σ = 0.0125·ln 10 − 0.0059 = 0.02288231366
    # ĝ = 0.01: μ = 0.0155·ln 100 + 0.0244 = 0.0957801379 (inside the clip)
    # ĝ = 1: μ = 0.0244 → 0.049 (lower clip), σ = −0.0059 → 0.008
    # ĝ = 10⁻³: μ = 0.1314702 → 0.1 (upper clip), σ = 0.0804469 → 0.045; G = 0 → ĝ = 10⁻⁷ (both upper clips)
    g = [2.5, -2.5, 0.25, 25.0, 0.025, 0.0]
    assert ps.drift_nu_mean(g).tolist() == approx([0.0600900690, 0.0600900690, 0.0957801379, 0.049, 0.1, 0.1])
    assert ps.drift_nu_std(g[:2] + g[3:]).tolist() == approx([0.02288231366, 0.02288231366, 0.008, 0.045, 0.045])
    assert ps.drift_nu_mean(5.0, 50.0) == approx(0.0600900690)            # ĝ = 5/50
    assert ps.drift_nu_std(5.0, 50.0) == approx(0.02288231366)
    # the 10⁻⁷ floor itself: at ĝ = 10⁻⁷ σ would be 0.0125·16.118 − 0.0059 = 0.1956 → 0.045 either way;
    # μ just inside its clip needs ĝ = exp(−(0.1 − 0.0244)/0.0155) = 7.6e-3: ĝ = 8e-3 → 0.0992300, ĝ = 7e-3 → 0.1
    assert ps.drift_nu_mean([0.2, 0.175]).tolist() == approx([0.0155 * -math.log(8e-3) + 0.0244, 0.1])


def test_drift_factor():
    # (t + t₀)/t₀ to the −ν: t = 20 s, ν = 0.05 → 2^−0.05 = 0.9659363289; t = 180 s, ν = 0.1 → 10^−0.1; t = 0 → 1
    assert ps.drift_factor(0.05, 20.0) == approx(0.9659363289)
    assert ps.drift_factor([0.1, 0.0], 180.0).tolist() == approx([0.7943282347, 1.0])
    assert ps.drift_factor(0.3, 0.0) == 1.0


def test_read_noise_q_and_rel():
    # Q_s = min(0.0088/max(ĝ, 10⁻³)^0.65, 0.2): ĝ = 1 → 0.0088; ĝ = 0.1 → 0.0088·10^0.65 = 0.0393081561;
    # ĝ = 0 → 0.0088·10^1.95 = 0.784 → 0.2; ĝ = 0.01 → 0.0088·10^1.3 = 0.1755830837 (inside the clip)
    assert ps.read_noise_q([25.0, 2.5, -2.5, 0.0, 0.25]).tolist() == approx(
        [0.0088, 0.0393081561, 0.0393081561, 0.2, 0.1755830837])
    assert ps.read_noise_q(5.0, 50.0) == approx(0.0393081561)
    # the 10⁻³ floor: ĝ = 5·10⁻⁴ (0.0125 µS) is read as 10⁻³ → 0.0088·10^1.95 = 0.78430 → 0.2; the clip at
    # 0.2 is reached at ĝ = (0.0088/0.2)^(1/0.65) = 8.1e-3: ĝ = 0.009 → 0.0088·0.009^−0.65
    assert ps.read_noise_q(0.225) == approx(0.0088 * 0.009 ** -0.65)
    # σ_nG(t) = Q_s·√ln((t + t₀ + t_r)/(2 t_r)): t = 0 → √ln((20 + 2.5e-7)/5e-7); t = 80 → √ln((100 + 2.5e-7)/5e-7)
    s0 = math.sqrt(math.log((20 + 250e-9) / 500e-9))
    s80 = math.sqrt(math.log((100 + 250e-9) / 500e-9))
    assert s0 == approx(4.1838248, rel=1e-7)                       # √(ln 4 + 7 ln 10)
    assert ps.read_noise_rel([25.0, 2.5], 0.0).tolist() == approx([0.0088 * s0, 0.0393081561 * s0])
    assert ps.read_noise_rel(5.0, 80.0, 50.0) == approx(0.0393081561 * s80)


def test_to_conductances():
    W = np.array([[1.0, -0.5], [0.0, 0.25]])
    g, w_per_us = ps.to_conductances(W)
    assert g.tolist() == [[[25.0, 0.0], [0.0, 6.25]], [[0.0, 12.5], [0.0, 0.0]]]
    assert w_per_us == 0.04
    g, w_per_us = ps.to_conductances(np.array([[-2.0, 1.0]]), 50.0)        # max|W| = 2 → 50 µS
    assert g.tolist() == [[[0.0, 25.0]], [[50.0, 0.0]]] and w_per_us == 0.04
    g, w_per_us = ps.to_conductances(np.zeros((2, 2)))                     # all zero: max|W| floored at 1e-7
    assert g.tolist() == [[[0.0, 0.0]] * 2] * 2 and w_per_us == approx(1e-7 / 25)
    g, w_per_us = ps.to_conductances(np.zeros((0, 3)))
    assert g.shape == (2, 0, 3) and w_per_us == approx(1e-7 / 25)


class FixedNormals:
    """A generator stand-in handing out given N(0, 1) arrays in order (z₁, z₂, z₃ of program())."""

    def __init__(self, *zs):
        self.zs = [np.asarray(z, np.float64) for z in zs]
        self.shapes = []

    def standard_normal(self, shape):
        self.shapes.append(tuple(shape))
        return self.zs.pop(0)


def test_program_by_hand():
    # W = [1, −0.5] → G_T: G⁺ = [25, 0], G⁻ = [0, 12.5]; σ_P at 25, 0, 12.5 µS: 1.05538, 0.26348, 0.952705
    # z₁ = G⁺ [1, −1], G⁻ [−1, 2] → G_P: G⁺ [26.05538, max(−0.26348, 0) = 0], G⁻ [0, 12.5 + 1.90541]
    # μ_ν at ĝ = 1, 0, 0, 0.5: 0.049, 0.1, 0.1, clip(0.0351438, …) = 0.049; σ_ν: 0.008, 0.045, 0.045, 0.008
    # z₂ = G⁺ [1, −3], G⁻ [0, −10] → ν = |0.057|, |0.1 − 0.135|, |0.1|, |0.049 − 0.08| = 0.057, 0.035, 0.1, 0.031
    z3 = [[[0.5, -0.5]], [[1.5, 2.0]]]
    rng = FixedNormals([[[1.0, -1.0]], [[-1.0, 2.0]]], [[[1.0, -3.0]], [[0.0, -10.0]]], z3)
    pl = ps.program(np.array([[1.0, -0.5]]), rng)
    assert rng.shapes == [(2, 1, 2)] * 3
    assert pl.g_prog_us.ravel().tolist() == approx([26.05538, 0.0, 0.0, 14.40541])
    assert pl.nu.ravel().tolist() == approx([0.057, 0.035, 0.1, 0.031])
    assert pl.z_read.tolist() == z3 and pl.w_per_us == 0.04


def test_weights_at_by_hand():
    # G_P = (20, 5) µS, ν = (0.1, 0), no read noise: t = 180 s → G⁺ = 20·10^−0.1 = 15.886564694, G⁻ = 5;
    # W = (15.886564694 − 5)·0.04 = 0.43546258777
    pl = ps.ProgrammedLayer(np.array([[[20.0]], [[5.0]]]), np.array([[[0.1]], [[0.0]]]), np.zeros((2, 1, 1)), 0.04)
    w = ps.weights_at(pl, 180.0)
    assert w.dtype == np.float32 and w.shape == (1, 1)
    assert float(w[0, 0]) == approx(0.43546258777, rel=1e-6)
    # with read noise at t = 0 (no drift): G = G_P·(1 + σ_nG·z); σ_nG(20 µS) = 0.0088·0.8^−0.65·√ln((20 + t_r)/(2 t_r))
    # z⁺ = 2, z⁻ = −1; a z⁻ of −1000 clips G⁻ at 0
    s0 = math.sqrt(math.log((20 + 250e-9) / 500e-9))
    q20, q5 = 0.0088 * 0.8 ** -0.65, 0.0088 * 0.2 ** -0.65
    pl.z_read = np.array([[[2.0]], [[-1.0]]])
    assert float(ps.weights_at(pl, 0.0)[0, 0]) == approx((20 * (1 + 2 * q20 * s0) - 5 * (1 - q5 * s0)) * 0.04, rel=1e-6)
    pl.z_read = np.array([[[0.0]], [[-1000.0]]])
    assert float(ps.weights_at(pl, 0.0)[0, 0]) == approx(20 * 0.04, rel=1e-6)
    # G_max enters only the read-noise amplitude: G_max 50 → ĝ = 0.4, 0.1
    pl.z_read = np.array([[[1.0]], [[0.0]]])
    assert float(ps.weights_at(pl, 0.0, 50.0)[0, 0]) == approx((20 * (1 + 0.0088 * 0.4 ** -0.65 * s0) - 5) * 0.04,
                                                                rel=1e-6)


# ------------------------------------------------------------------------------------------- compensation
class FakeLayer:
    """A layer whose forward read returns a fixed vector y·(mean of x) and records its inputs."""

    def __init__(self, y, analog=True, full_scale=4.0, n_in=3):
        self.y = np.asarray(y, np.float32)
        self.scheme = SimpleNamespace(analog=analog)
        self.full_scale = (full_scale, None)
        self.n_in = n_in
        self.inputs = []

    def forward(self, x):
        self.inputs.append(np.array(x))
        return self.y * float(np.mean(x))


def test_reference_inputs():
    # peak 3 > half full scale 2 → c = 2/3; peak exactly 2 → c = 1 (only a larger peak shrinks it);
    # a digital layer is not read (c = 1)
    a, b, d = FakeLayer([1.0, -3.0]), FakeLayer([-2.0, 1.0]), FakeLayer([9.0], analog=False, n_in=2)
    x = comp.reference_inputs(SimpleNamespace(layers=[a, b, d]))
    assert [xi.dtype for xi in x] == [np.float32] * 3
    assert x[0].tolist() == approx([2 / 3] * 3, rel=1e-7) and x[1].tolist() == [1.0] * 3 and x[2].tolist() == [1.0] * 2
    assert [i.tolist() for i in a.inputs] == [[1.0, 1.0, 1.0]] and len(b.inputs) == 1 and d.inputs == []


def test_readouts_and_global_alpha():
    a, b, z = FakeLayer([1.0, -3.0]), FakeLayer([0.5, 0.5]), FakeLayer([0.0, 0.0])
    v = SimpleNamespace(layers=[a, b, z])
    x = [np.full(3, 0.5, np.float32), np.ones(3, np.float32), np.ones(3, np.float32)]
    # mean |y·mean(x)|: (0.5 + 1.5)/2 = 1; 0.5; an all-zero read floored at 1e-12
    assert comp.readouts(v, x).tolist() == [1.0, 0.5, 1e-12]
    events = []
    g = comp.GlobalCompensation()
    ref = g.reference(v, lambda veh: events.append(("reseed", len(a.inputs))))
    # reseed, one read per layer for the reference inputs, reseed again, the t = 0 readout
    assert events == [("reseed", 1), ("reseed", 2)] and len(a.inputs) == 3     # (1: the readouts above)
    x_refs, r0 = ref
    assert x_refs[0].tolist() == approx([2 / 3] * 3, rel=1e-7) and r0.tolist() == approx([4 / 3, 0.5, 1e-12], rel=1e-7)
    a.y, b.y = a.y * 0.5, b.y * 0.25                                       # drifted by ×0.5 and ×0.25
    assert g.alpha(v, ref).tolist() == approx([2.0, 4.0, 1.0], rel=1e-6)


def test_no_compensation_and_registry():
    n = comp.DriftCompensation()
    assert n.name == "none" and n.needs_reference is False
    assert n.reference(None, None) is None and n.alpha(None, None) is None
    assert comp.GlobalCompensation.name == "global" and comp.GlobalCompensation.needs_reference is True
    assert comp.COMPENSATIONS == {"none": comp.DriftCompensation, "global": comp.GlobalCompensation}


def test_formulas_work_in_float64_whatever_the_input():
    # float32 inputs are promoted: the formulas are evaluated in float64 (a float32 ĝ would round 0.1)
    g32 = np.array([2.5, 25.0], np.float32)
    for f in (ps.prog_sigma_us, ps.drift_nu_mean, ps.drift_nu_std, ps.read_noise_q):
        assert f(g32).dtype == np.float64
    assert ps.drift_factor(np.array([0.1], np.float32), 180.0).dtype == np.float64
    g, _ = ps.to_conductances(np.array([[0.1, -0.3]], np.float32))
    assert g.dtype == np.float64
    assert ps.prog_sigma_us(np.float32(2.5)) == approx(0.26348 + 0.19650 - 0.011731)  # ĝ = 0.1 exactly


def test_read_noise_rel_uses_t_plus_t_read():
    # (t + t_r)/(2 t_r), not (t − t_r)/(2 t_r): they differ by 7·10⁻¹⁰ relative at t = 20 s
    s0 = math.sqrt(math.log((20 + 250e-9) / 500e-9))
    assert ps.read_noise_rel(25.0, 0.0) == pytest.approx(0.0088 * s0, rel=1e-13, abs=0)


def test_to_conductances_clips_at_g_max():
    # 0.3·(25/0.3) = 25.000000000000004 in floating point: the clip keeps the largest weight at G_max
    g, _ = ps.to_conductances(np.array([[0.3, -0.3]]))
    assert g.tolist() == [[[25.0, 0.0]], [[0.0, 25.0]]]


def test_program_with_another_g_max():
    # G_max 50, W = [1, 0.1] → G⁺ = [50, 5], G⁻ = [0, 0] (ĝ = 1, 0.1, 0, 0); w_per_us = 1/50
    # σ_P = 2·(c₀ + c₁ĝ + c₂ĝ²): 2.11076, 2·0.448249 = 0.896498, 2·0.26348 = 0.52696 (ĝ = 0)
    # z₁ = 1: G_P⁺ = [52.11076, 5.896498], G_P⁻ = [0.52696, 0.52696]
    # z₂ = 1: ν = μ + σ: ĝ 1 → 0.049 + 0.008; ĝ 0.1 → 0.0600900690 + 0.02288231366; ĝ 0 → 0.1 + 0.045
    rng = FixedNormals(np.ones((2, 1, 2)), np.ones((2, 1, 2)), np.zeros((2, 1, 2)))
    pl = ps.program(np.array([[1.0, 0.1]]), rng, 50.0)
    assert pl.w_per_us == 0.02
    assert pl.g_prog_us.ravel().tolist() == approx([52.11076, 5.896498, 0.52696, 0.52696])
    assert pl.nu.ravel().tolist() == approx([0.057, 0.08297238266, 0.145, 0.145])


def test_registry_messages_are_exact():
    from pycosim import inference
    from pycosim.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        inference.compensation_strategy("local")
    assert str(e.value) == "--compensation 'local': allowed values are none, global"
    with pytest.raises(ConfigError) as e:
        inference.model("circuit", lsp_mode="hold")
    assert str(e.value) == "--lsp 'hold': allowed values are transfer, leak"
    assert isinstance(inference.compensation_strategy("global"), comp.GlobalCompensation)


# ---------------------------------------------------------------------------- the readout and the driver
class LinearLayer:
    """forward(inp) = inp @ M (inp = [a, 1]); records its inputs and the generators it is reseeded with."""

    def __init__(self, M):
        self.M = np.asarray(M, np.float32)
        self.n_in = self.M.shape[0]
        self.scheme = SimpleNamespace(analog=False)
        self.full_scale = (1.0, None)
        self.inputs, self.seeds = [], []

    def forward(self, inp):
        self.inputs.append(np.array(inp))
        return (inp @ self.M).astype(np.float32)

    def reseed(self, rng):
        self.seeds.append(rng.integers(1 << 30))


def test_logits_and_accuracy_by_hand():
    from pycosim.inference.base import accuracy, logits

    # layer 1: z₁ = [0, ln 3/2] for x = [1, 0]; α₁ = 2 → σ(0) = 0.5, σ(ln 3) = 0.75 (sigmoid in hidden layers)
    # layer 2: identity plus a bias row (1, −1): z₂ = [1.5, −0.25]; α₂ = 0.5 → logits [0.75, −0.125] (no sigmoid)
    l1 = LinearLayer([[0.0, math.log(3) / 2], [0.0, 0.0], [0.0, 0.0]])
    l2 = LinearLayer([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    v = SimpleNamespace(layers=[l1, l2])
    out = logits(v, np.array([1.0, 0.0], np.float32), alpha=[2.0, 0.5])
    assert out.tolist() == approx([0.75, -0.125], rel=1e-6)
    assert l2.inputs[0].tolist() == approx([0.5, 0.75, 1.0], rel=1e-6)
    assert logits(v, np.array([1.0, 0.0], np.float32)).tolist() == approx([1.5, -1 + 1 / (1 + 3 ** -0.5)], rel=1e-6)
    # accuracy: argmax of the logits against y; α = (1, −1) flips the output's argmax
    x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], np.float32)
    assert accuracy(v, x, np.array([0, 0, 0, 1])) == 0.75
    assert accuracy(v, x, np.array([0, 0, 0, 1]), alpha=[1.0, -1.0]) == 0.25


class FakeModel:
    """An inference model whose chip records its first draw and whose vehicle's answer depends on t:
    logits (1, t) → class 1 when t > 1."""

    name, label = "fake", "fake"

    def __init__(self):
        self.at = []

    def prepare(self, net, rng):
        return {"draw": int(rng.integers(1 << 30))}

    def chip_info(self, chip):
        return {"draw": chip["draw"], "two": 2}

    def at_time(self, chip, t):
        self.at.append(t)
        layer = LinearLayer([[0.0, 0.0], [1.0, float(t)]])
        return SimpleNamespace(layers=[layer], t=t)


def test_curve_defaults_by_hand():
    from pycosim.inference.driver import curve

    m = FakeModel()
    r = curve(m, SimpleNamespace(layers=[None]), np.zeros((2, 1), np.float32), np.array([1, 1]), [0.0, 2.0])
    # 5 repeats (default), no compensation (no reference read), seed 0: chip r draws from default_rng([0, r, 1])
    assert r["accuracy"] == [[0.0, 1.0]] * 5
    assert np.array(r["alpha"]).shape == (5, 2, 1) and np.all(np.array(r["alpha"]) == 1.0)
    assert m.at == [0.0, 2.0] * 5
    assert r["chip_info"] == {"draw": [int(np.random.default_rng([0, k, 1]).integers(1 << 30)) for k in range(5)],
                              "two": [2] * 5}


def test_curve_with_a_compensation_instance():
    from pycosim.inference.driver import curve

    seen = []

    class Flip(comp.DriftCompensation):
        name, needs_reference = "flip", True

        def reference(self, vehicle0, reseed):
            reseed(vehicle0)
            seen.append(("reference", vehicle0.t, vehicle0.layers[0].seeds[0]))
            return "REF"

        def alpha(self, vehicle, ref):
            seen.append(("alpha", vehicle.t, ref, vehicle.layers[0].seeds[0]))
            return np.array([-1.0])

    m = FakeModel()
    r = curve(m, SimpleNamespace(layers=[None]), np.zeros((1, 1), np.float32), np.array([1]), [0.5, 3.0], repeats=2, compensation=Flip(), seed=7)
    assert r["accuracy"] == [[1.0, 0.0]] * 2                     # α = −1 flips the answer at both times
    assert np.array(r["alpha"]).ravel().tolist() == [-1.0] * 4
    read = [int(np.random.default_rng([7, k, 0, 2]).integers(1 << 30)) for k in range(2)]   # (seed, r, layer, READ)
    assert seen == [("reference", 0.0, read[0]), ("alpha", 0.5, "REF", read[0]), ("alpha", 3.0, "REF", read[0]),
                    ("reference", 0.0, read[1]), ("alpha", 0.5, "REF", read[1]), ("alpha", 3.0, "REF", read[1])]
    assert r["chip_info"]["draw"] == [int(np.random.default_rng([7, k, 1]).integers(1 << 30)) for k in range(2)]


def test_curve_progress_bar(monkeypatch, capfd):
    """Without progress=True nothing is printed; with it, one bar over repeats × times × examples, advanced
    by the examples of each time, labelled with the model, the time and the accuracy."""
    import tqdm as tqdm_mod

    from pycosim.inference.driver import curve

    bars = []

    class Bar:
        def __init__(self, **kw):
            self.kw, self.n, self.post, self.closed = kw, 0, [], False
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix(self, **kw):
            self.post.append(kw)

        def close(self):
            self.closed = True

    net = SimpleNamespace(layers=[None])
    x, y = np.zeros((3, 1), np.float32), np.array([1, 1, 0])
    curve(FakeModel(), net, x, y, [0.0, 2.0], repeats=1)
    assert capfd.readouterr().err == ""
    monkeypatch.setattr(tqdm_mod, "tqdm", Bar)
    curve(FakeModel(), net, x, y, [0.0, 2.0], repeats=1)
    assert bars == []
    curve(FakeModel(), net, x, y, [0.0, 2.0, 20.0], repeats=2, progress=True)
    (b,) = bars
    assert b.kw == {"total": 2 * 3 * 3, "unit": "ex", "desc": "fake", "mininterval": 0.5}
    assert b.n == 18 and b.closed
    assert b.post[:3] == [{"t": "0s", "acc": "0.333", "refresh": False}, {"t": "2s", "acc": "0.667", "refresh": False},
                          {"t": "20s", "acc": "0.667", "refresh": False}]
