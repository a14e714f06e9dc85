"""MNIST-backrand (Larochelle et al., ICML 2007): derived from the shipped MNIST, deterministic from a seed."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pycosim.datasets import sources
from pycosim.errors import DatasetError


@pytest.fixture(scope="module")
def mnist():
    return sources.load("mnist")


@pytest.fixture(scope="module")
def backrand():
    return sources.load("mnist-backrand")


def test_shape_dtype_labels_as_mnist(mnist, backrand):
    for split in ("train", "test"):
        a, b = getattr(mnist, f"x_{split}"), getattr(backrand, f"x_{split}")
        assert b.shape == a.shape and b.dtype == a.dtype == np.float32
        assert np.array_equal(getattr(mnist, f"y_{split}"), getattr(backrand, f"y_{split}"))
        assert b.min() >= 0 and b.max() <= 1
    assert backrand.n_classes == 10 and backrand.n_inputs == 784


def test_digit_pixels_unchanged_background_replaced(mnist, backrand):
    for split in ("train", "test"):
        a, b = getattr(mnist, f"x_{split}"), getattr(backrand, f"x_{split}")
        digit = a > 0
        assert np.array_equal(b[digit], a[digit])
        assert (b[~digit] > 0).mean() > 0.999          # background no longer 0 (P(u = 0) ~ 2^-24 per pixel)


def test_background_is_uniform(mnist, backrand):
    from scipy import stats

    bg = backrand.x_test[mnist.x_test == 0]
    assert bg.size > 6_000_000
    sample = bg[:: max(1, bg.size // 200_000)]
    assert stats.kstest(sample, "uniform").pvalue > 1e-3
    # moments of U(0, 1): mean 1/2, variance 1/12 (standard errors ~ 1e-4 at n ≈ 6e6)
    assert abs(bg.mean(dtype=np.float64) - 0.5) < 1e-3
    assert abs(bg.var(dtype=np.float64) - 1 / 12) < 1e-3
    # independent pixels: no correlation between horizontally adjacent background pixels
    img = backrand.x_test.reshape(-1, 28, 28)
    both = (mnist.x_test.reshape(-1, 28, 28)[:, :, :-1] == 0) & (mnist.x_test.reshape(-1, 28, 28)[:, :, 1:] == 0)
    r = np.corrcoef(img[:, :, :-1][both][:200_000], img[:, :, 1:][both][:200_000])[0, 1]
    assert abs(r) < 0.01


def test_deterministic_for_a_seed_and_seed_matters(mnist):
    x_tr = mnist.x_train[:500]
    x_te = mnist.x_test[:200]
    a = sources.backrand(x_tr, x_te, seed=3)
    b = sources.backrand(x_tr, x_te, seed=3)
    c = sources.backrand(x_tr, x_te, seed=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert np.array_equal(x_tr, mnist.x_train[:500])       # the inputs are not modified


def test_spec_with_seed_and_identity(backrand):
    assert backrand.source.startswith("mnist-backrand:0")
    assert backrand.recipe["seed"] == 0 and backrand.recipe["name"] == "mnist-backrand"
    assert "Larochelle" in backrand.recipe["citation"] and "value is 0" in backrand.recipe["rule"]
    d1 = sources.load("mnist-backrand:1")
    assert d1.recipe["seed"] == 1 and not np.array_equal(d1.x_test, backrand.x_test)
    assert np.array_equal(sources.load("mnist-backrand:0").x_test, backrand.x_test)
    for bad in ("mnist-backrand:x", "mnist-backrand:-1", "mnist-backrand:"):
        with pytest.raises(DatasetError):
            sources.load(bad)
    assert sources.takes_path("npz:a.npz") and sources.takes_path("idx:d")
    assert not sources.takes_path("mnist-backrand:3") and not sources.takes_path("mnist")


def test_cli_train_on_backrand(tmp_path):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "pycosim.cli", "train", "--dataset",
                        "mnist-backrand:2", "--train-subset", "500", "--epochs", "1", "--out", str(out), "--quiet",
                        "-s", "network.hidden=16", "-s", "training.test_subset=200"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["dataset"]["recipe"]["seed"] == 2 and m["dataset"]["name"].startswith("mnist-backrand:2")
    assert m["dataset"]["spec"] == "mnist-backrand:2" and len(m["dataset"]["sha256"]) == 64
    assert m["layers"] == [784, 16, 10] and m["status"] == "finished"
