"""Deployment (pycosim.deploy): a float run programmed into arrays reproduces its accuracy at t = 0 within
the programming error; a network from a WEIGHTS.npz is deployed, evaluated and reported; bad files get
one-line errors."""

import json

import numpy as np
import pytest

from pycosim.cli import main
from pycosim.datasets import sources
from pycosim.deploy import deploy, load_weights, run_weights, save_weights
from pycosim.errors import ConfigError
from pycosim.evaluate import evaluate, report
from pycosim.nn import config as ncfg
from pycosim.nn import presets, train

N_TRAIN, N_TEST = 600, 300


@pytest.fixture(scope="module")
def float_run(tmp_path_factory, mnist_npz):
    """A small float run (784-32-10) on an npz subset of MNIST, and that data set's spec."""
    spec = f"npz:{mnist_npz(N_TRAIN, N_TEST)}"
    out = tmp_path_factory.mktemp("float") / "run"
    cfg = ncfg.override(presets.get("float"), ["network.hidden=[32]", "training.epochs=2", "training.lr=0.2"])
    train.train(cfg, out, dataset=sources.load(spec), progress=False, plots=False)
    return out, spec


def _software_accuracy(layers, x, y) -> float:
    """Accuracy of per-layer [W; b] weights in exact float arithmetic (sigmoid hidden layers)."""
    a = x.astype(np.float64)
    for l, m in enumerate(layers):
        z = a @ m[:-1] + m[-1]
        a = 1 / (1 + np.exp(-z)) if l < len(layers) - 1 else z
    return float(np.mean(np.argmax(a, 1) == y))


def test_float_run_deployed_reproduces_its_accuracy_within_the_programming_error(tmp_path, float_run):
    run, spec = float_run
    m = deploy(run, "2pcm+3t1c", tmp_path / "dep")
    d = m["deployment"]
    # the transfer engine put (nearly) every synapse within its tolerance of [W; b]
    for s in d["layers"]:
        assert s["frac_within_tol"] > 0.95 and s["n_moved"] == s["n_synapses"]
    data = sources.load(spec)
    x, y = data.x_test, data.y_test
    layers, _, fm = run_weights(run)
    # the deployed chip's noise-free weights are the source's [W; b] (biases included) within tolerance
    dep, _, _ = run_weights(tmp_path / "dep")
    # at t = 0 (the end of the slowest closed loop, every device aged from the loop's start: the verify delay
    # model, TransferStats.loop_wait_s) the devices accepted early have drifted on while the loop went on, so
    # fewer are within tolerance than at their verify reads (0.96-0.99 before that model). Measured over 4
    # deployment seeds and two bundles: 0.95-0.953 (784x32 layer), 0.897-0.945 (the 330 synapses of the 33x10
    # layer: a binomial sigma of 0.015), within 2 tolerances >= 0.988; the bias rows (42 synapses) 0.88-0.93.
    bias_ok = []
    for w_dep, w_src, s in zip(dep, layers, d["layers"]):
        lsp_free = np.abs(w_dep - np.clip(w_src, -s["w_range"], s["w_range"]))
        assert np.mean(lsp_free <= s["tolerance"]) > 0.88
        assert np.mean(lsp_free <= 2 * s["tolerance"]) > 0.97
        bias_ok.append(lsp_free[-1] <= s["tolerance"])
    assert np.mean(np.concatenate(bias_ok)) > 0.8                       # the bias rows
    acc_float = _software_accuracy(layers, x, y)
    assert acc_float == pytest.approx(fm["test_accuracy"], abs=1e-9)
    ev = evaluate(tmp_path / "dep", "0s", repeats=2, noise_model="circuit", seed=0, progress=False)
    acc_dep = float(np.mean(ev["entries"][0]["accuracy_mean"]))
    # the programming error's own effect: the float weights with Gaussian errors of each layer's measured
    # rms (deployment and the evaluation's final transfer, added in quadrature), in exact arithmetic
    fin = ev["entries"][0]["final_transfer"]
    rms = [np.sqrt(s["err_rms"] ** 2 + np.mean([r[l]["err_rms"] for r in fin]) ** 2) for l, s in enumerate(d["layers"])]
    rng = np.random.default_rng(0)
    pert = [_software_accuracy([w + r * rng.standard_normal(w.shape) for w, r in zip(layers, rms)], x, y)
            for _ in range(10)]
    se = np.sqrt(acc_float * (1 - acc_float) / len(y))
    print(f"float {acc_float:.4f}, deployed t=0 {acc_dep:.4f}, float + programming error {np.mean(pert):.4f} "
          f"± {np.std(pert):.4f} (rms per layer {np.round(rms, 4)})")
    assert abs(acc_dep - np.mean(pert)) <= 3 * np.std(pert, ddof=1) + 3 * se
    assert abs(acc_dep - acc_float) <= abs(acc_float - np.mean(pert)) + 3 * np.std(pert, ddof=1) + 3 * se


def test_weights_npz_is_deployed_evaluated_and_reported(tmp_path, float_run, capsys):
    run, spec = float_run
    layers, _, _ = run_weights(run)
    npz = save_weights(tmp_path / "net.npz", layers)
    back, act = load_weights(npz)
    assert act == "sigmoid" and all(np.array_equal(a, b) for a, b in zip(back, layers))
    out = tmp_path / "imported"
    assert main(["deploy", str(npz), "--synapse", "2pcm+3t1c", "--dataset", spec, "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["status"] == "finished" and m["examples_seen"] == 0 and m["preset"] == "deploy:weights"
    assert m["deployment"]["source_kind"] == "weights" and m["layers"] == [784, 32, 10]
    assert m["deployment"]["test_accuracy_t0"] > 0.6
    assert main(["evaluate", str(out), "--times", "1s,1d", "--repeats", "1", "--compensation", "global",
                 "--noise-model", "both", "--quiet"]) == 0
    ev = json.loads((out / "evaluate.json").read_text())
    assert {e["noise_model"] for e in ev["entries"]} == {"circuit", "pcm-statistical"}
    # well above chance (0.1) at 1 s and 1 d with global compensation (measured circuit 0.72 / 0.49,
    # statistical 0.78 / 0.79 on this 784-32-10 network)
    assert all(a > 0.4 for e in ev["entries"] for a in e["accuracy_mean"])
    rep = report([out])[0]
    assert rep["energy"]["per_inference_J"] > 0 and rep["evaluate"]
    capsys.readouterr()


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case, match", [
    ("chain", "W1 has 5 inputs, but W0 has 4 outputs"),
    ("bias", r"b0 must have shape \(4,\)"),
    ("nan", "W0 contains NaN or infinity"),
    ("inf_b", "b1 contains NaN or infinity"),
    ("activation", "activation 'relu'; allowed values are 'sigmoid'"),
    ("no_activation", "no 'activation' array"),
    ("extra", "unknown array 'gamma0'"),
    ("missing", "layer 1 has no array 'b1'"),
    ("object", "holds Python objects, which are never loaded"),
    ("vector", r"W0 must be a matrix"),
])
def test_bad_weights_files_are_one_line_errors(tmp_path, case, match, capsys):
    r = np.random.default_rng(0)
    W0, b0, W1, b1 = r.random((3, 4)), r.random(4), r.random((4, 2)), r.random(2)
    a = dict(W0=W0, b0=b0, W1=W1, b1=b1, activation=np.array("sigmoid"))
    if case == "chain":
        a["W1"] = r.random((5, 2))
    elif case == "bias":
        a["b0"] = r.random(3)
    elif case == "nan":
        a["W0"] = W0.copy()
        a["W0"][1, 2] = np.nan
    elif case == "inf_b":
        a["b1"] = np.array([1.0, np.inf])
    elif case == "activation":
        a["activation"] = np.array("relu")
    elif case == "no_activation":
        del a["activation"]
    elif case == "extra":
        a["gamma0"] = r.random(4)
    elif case == "missing":
        del a["b1"]
    elif case == "object":
        a["W0"] = np.array([W0, "x"], dtype=object)
    elif case == "vector":
        a["W0"] = r.random(3)
    p = tmp_path / "w.npz"
    if case == "object":
        np.savez(p, **a)             # allow_pickle is the writer's default; the reader refuses it
    else:
        _npz(p, **a)
    with pytest.raises(ConfigError, match=match):
        load_weights(p)
    assert main(["deploy", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pycosim: error:")
    assert not (tmp_path / "o").exists()


def test_deploy_refuses_a_network_that_does_not_fit_the_data(tmp_path, mnist_npz):
    p = save_weights(tmp_path / "w.npz", [np.zeros((11, 4), np.float32), np.zeros((5, 10), np.float32)])
    with pytest.raises(ConfigError, match="has 784 inputs"):
        deploy(p, "2pcm+3t1c", tmp_path / "o", dataset=f"npz:{mnist_npz(N_TRAIN, N_TEST)}")
    with pytest.raises(ConfigError, match="--synapse 'pcm'"):
        deploy(p, "pcm", tmp_path / "o")
