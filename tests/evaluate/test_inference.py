"""The inference models behind one interface (pycosim.inference): the registry, and that the statistical
PCM model's drift acts on what the network reads (it did not while the model assigned a layer's weight
cache: the forward read kept the programmed matrix, so accuracy was the same at 1 s and 1 y)."""

import copy

import numpy as np
import pytest

from pycosim import inference
from pycosim.errors import ConfigError
from pycosim.evaluate import drift_eval as de
from pycosim.inference.driver import chip_rng
from pycosim.nn import train
from pycosim.nn.config import array_configs
from pycosim.nn.network import Network

SIZES = (24, 10, 4)
YEAR = 365.25 * 86400.0


@pytest.fixture(scope="module")
def net():
    """A small network on ambrogio2018 arrays (2PCM+3T1C, analog periphery), its random initial weights
    programmed closed loop — a real readout without a training run."""
    cfg = train.resolve_config("ambrogio2018", None, [f"network.hidden={SIZES[1]}"])
    return Network(SIZES, array_configs(cfg, SIZES), rng=np.random.default_rng(3), init_scale=2.0)


@pytest.fixture(scope="module")
def inputs():
    return np.random.default_rng(4).random((40, SIZES[0])).astype(np.float32)


def test_registry_builds_each_model_once_by_name():
    assert set(inference.MODELS) == {"circuit", "pcm-statistical"}
    c = inference.model("circuit", lsp_mode="leak")
    assert isinstance(c, inference.CircuitModel) and c.settings() == {"lsp_mode": "leak"}
    s = inference.model("pcm-statistical", lsp_mode="leak")          # options a model lacks are ignored
    assert isinstance(s, inference.PcmStatisticalModel) and s.settings() == {}
    with pytest.raises(ConfigError, match="allowed values are circuit, pcm-statistical"):
        inference.model("aihwkit")
    with pytest.raises(ConfigError, match="--lsp"):
        inference.model("circuit", lsp_mode="hold")
    assert isinstance(inference.compensation_strategy("global"), inference.GlobalCompensation)


def _logits(vehicle, x, r=0):
    inference.reseed_layers(vehicle, 0, r, 2)          # the same read-noise numbers at every time
    return np.stack([inference.logits(vehicle, xi) for xi in x])


def test_statistical_drift_shrinks_the_logits(net, inputs):
    """(t/t₀)^−ν with ν ≥ 0.049 from 1 s to 1 y (t₀ = 20 s): every conductance to ≲ 0.5 of its value, so
    the output layer's logits shrink by about that much (hidden sigmoids stay near their mid-range)."""
    before = [xb.weights() for xb in net.layers]
    model = inference.model("pcm-statistical")
    chip = model.prepare(net, np.random.default_rng(0))
    z1 = _logits(model.at_time(chip, 1.0), inputs)
    zy = _logits(model.at_time(chip, YEAR), inputs)
    z1_again = _logits(model.at_time(chip, 1.0), inputs)
    ratio = np.abs(zy).mean() / np.abs(z1).mean()
    print(f"mean |logit| 1 s {np.abs(z1).mean():.4f}, 1 y {np.abs(zy).mean():.4f}, ratio {ratio:.3f}")
    assert 0.25 < ratio < 0.75, ratio                                 # drift acts, in the right direction
    assert np.abs(zy - z1).max() > 0.2 * np.abs(z1).max()
    np.testing.assert_array_equal(z1_again, z1)                       # a time is a state, not a history
    for xb, w in zip(net.layers, before):                             # the trained network is untouched
        np.testing.assert_array_equal(xb.weights(), w)


def test_statistical_drift_reaches_the_evaluate_driver(net, inputs):
    """Through the evaluate driver: the global-compensation factor of every layer is the inverse of the
    drift of its reference read (≈ 1 at 1 s, ≈ 2 after a year), and the uncompensated predictions change."""
    model = inference.model("pcm-statistical")
    chip = model.prepare(net, chip_rng(0, 0))                         # the driver's chip of repeat 0, seed 0
    labels = np.argmax(_logits(model.at_time(chip, 1.0), inputs), axis=1)   # its own answers at 1 s
    res = de.statistical_curve(net, inputs, labels, [1.0, YEAR], repeats=2, compensation="global")
    alpha = np.asarray(res["alpha"])                                  # (R, T, L)
    print("alpha at 1 s / 1 y:", alpha[:, 0].round(3).tolist(), alpha[:, 1].round(3).tolist())
    assert np.all(np.abs(alpha[:, 0] - 1) < 0.1), alpha[:, 0]
    assert np.all(alpha[:, 1] > 1.5), alpha[:, 1]
    res = de.statistical_curve(net, inputs, labels, [1.0, YEAR], repeats=1)
    acc = np.asarray(res["accuracy"])[0]
    print("accuracy at 1 s / 1 y:", acc.tolist())
    assert acc[0] == 1.0 and acc[1] < acc[0]


def test_cli_choices_mirror_the_registries():
    """The command line keeps its imports light, so it lists the names itself; they must be the registry's."""
    from pycosim.cli import build_parser

    sub = next(a for a in build_parser()._actions if getattr(a, "choices", None) and "evaluate" in a.choices)
    acts = {a.dest: a.choices for a in sub.choices["evaluate"]._actions}
    assert tuple(acts["noise_model"]) == (*inference.MODELS, "both")
    assert tuple(acts["compensation"]) == tuple(inference.COMPENSATIONS)
    assert tuple(acts["lsp"]) == inference.LSP_MODES


def test_circuit_model_moves_the_lsp_into_the_pcm_before_inference(net, inputs):
    """'transfer' mode: the chip starts from a final transfer — every layer's 3T1C contribution moved into
    its PCM pair (the capacitors would leak it away within seconds), the weights kept within the transfer's
    tolerance; 'leak' mode keeps the 3T1C contribution. The trained network itself is untouched."""
    trained = copy.deepcopy(net)
    rng = np.random.default_rng(9)
    for _ in range(30):                          # updates leave weight in the 3T1C cells
        for xb in trained.layers:
            xb.update(rng.random(xb.n_in).astype(np.float32), rng.normal(0, 1, xb.n_out).astype(np.float32), 0.5)
    rms = lambda a: float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))
    lsp_before = [rms(xb.lsp_contribution()) for xb in trained.layers]
    w_before = [xb.weights() for xb in trained.layers]
    w_range = [np.abs(w).max() for w in w_before]
    print("rms 3T1C contribution before:", np.round(lsp_before, 4), "max |W|:", np.round(w_range, 3))
    assert all(c > 0.05 * r for c, r in zip(lsp_before, w_range))
    model = inference.model("circuit")
    chip = model.prepare(trained, np.random.default_rng(0))
    facts = model.chip_info(chip)["final_transfer"]
    assert len(facts) == len(trained.layers) and all(f["n_moved"] > 0 for f in facts)
    assert all(f["dropped_abs_sum"] == 0.0 for f in facts)         # threshold 0: every contribution moved
    for xb, xb0 in zip(chip[0].layers, trained.layers):             # and no polarity flipped
        np.testing.assert_array_equal(xb.pol, xb0.pol)
    for xb, xb0, w0, c0 in zip(chip[0].layers, trained.layers, w_before, lsp_before):
        after = rms(xb.lsp_contribution())     # what is left: the cells' reset residuals
        err = rms(xb.weights() - w0)
        print(f"after the final transfer: rms 3T1C {after:.4f} (was {c0:.4f}); weight error rms {err:.4f}")
        assert after < 0.25 * c0
        assert err < 0.1 * np.abs(w0).max()
        np.testing.assert_array_equal(xb0.weights(), w0)            # the trained network: not transferred
    leak = inference.model("circuit", lsp_mode="leak")
    chip_l = leak.prepare(trained, np.random.default_rng(0))
    assert leak.chip_info(chip_l)["final_transfer"] == []
    for xb, c0 in zip(chip_l[0].layers, lsp_before):
        assert rms(xb.lsp_contribution()) == pytest.approx(c0, rel=1e-6)


def test_circuit_model_at_time_ages_a_copy_pcm_drifting_3t1c_held_or_leaking(net):
    """at_time(chip, t): a copy of the chip t later — its clock advanced by t, the PCM part of every layer
    drifted (re-evaluated now, not on the training schedule), the 3T1C held in 'transfer' mode and leaking
    in 'leak' mode; the chip itself is unchanged (the next time starts from it again)."""
    trained = copy.deepcopy(net)
    rng = np.random.default_rng(9)
    for _ in range(30):
        for xb in trained.layers:
            xb.update(rng.random(xb.n_in).astype(np.float32), rng.normal(0, 1, xb.n_out).astype(np.float32), 0.5)
    rms = lambda a: float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))
    for mode in ("transfer", "leak"):
        m = inference.model("circuit", lsp_mode=mode)
        chip = m.prepare(trained, np.random.default_rng(0))
        xb0 = chip[0].layers[0]
        t0, w0, c0 = xb0.t_s, xb0.weights(), xb0.lsp_contribution()
        v = m.at_time(chip, 1000.0)
        xb = v.layers[0]
        assert xb.t_s == t0 + 1000.0 and xb0.t_s == t0
        np.testing.assert_array_equal(xb0.weights(), w0)
        msp0, msp = rms(w0 - c0), rms(xb.weights() - xb.lsp_contribution())
        print(f"{mode}: rms MSP part {msp0:.4f} → {msp:.4f}; rms 3T1C {rms(c0):.4f} → {rms(xb.lsp_contribution()):.4f}")
        assert msp < 0.9 * msp0                                        # drift reached the weights
        # settled at once, even 100 µs later (below the training schedule's 1 ms drift refresh; without the
        # re-evaluation the weights would be exactly w0). In 'transfer' mode t0 is the end of the final closed
        # loop (devices already iterations × verify delay old), so 100 µs moves them by only ~ν·1e-4 s/age
        w_soon = m.at_time(chip, 1e-4).layers[0].weights()
        assert rms(w_soon - w0) > 1e-6 * rms(w0)
        if mode == "transfer":
            np.testing.assert_array_equal(xb.lsp_contribution(), c0)   # held
        else:
            assert rms(xb.lsp_contribution() - c0) > 0.1 * rms(c0)     # leaked


def test_statistical_model_programs_the_forward_matrix(net):
    """pcm-statistical programs the matrix the forward read applies (with the integrator-lag line gains
    and their compensation), not the bare W — they differ on this network — one layer after another from
    the chip's generator."""
    from pycosim.inference import pcm_statistical as ps

    assert any(not np.array_equal(xb.weights(forward=True), xb.weights()) for xb in net.layers)
    vehicle, programmed = inference.model("pcm-statistical").prepare(net, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    for xb, pl in zip(net.layers, programmed):
        want = ps.program(xb.weights(forward=True), rng)
        np.testing.assert_array_equal(pl.g_prog_us, want.g_prog_us)
        np.testing.assert_array_equal(pl.nu, want.nu)
        assert pl.w_per_us == want.w_per_us
    assert vehicle is not net and len(vehicle.layers) == len(net.layers)
