"""Data sets by specification: shipped MNIST, idx:DIR, npz:FILE, and their one-line errors."""

import numpy as np
import pytest

from pycosim.datasets import sources
from pycosim.datasets.mnist import shipped_dir
from pycosim.errors import DatasetError


def test_mnist_and_idx_dir_agree():
    a = sources.load("mnist")
    b = sources.load(f"idx:{shipped_dir()}")
    assert a.n_inputs == 784 and a.n_classes == 10
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)


def test_npz_input_size_from_data(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "d.npz"
    np.savez(p, x_train=rng.random((30, 5, 4)), y_train=rng.integers(0, 3, 30),
             x_test=rng.random((10, 20)), y_test=rng.integers(0, 3, 10))
    d = sources.load(f"npz:{p}")
    assert d.n_inputs == 20 and d.x_train.shape == (30, 20) and d.n_classes == 3


@pytest.mark.parametrize("arrays, words", [
    ({"x_train": np.zeros((3, 4)), "y_train": np.zeros(2, int), "x_test": np.zeros((2, 4)), "y_test": np.zeros(2, int)},
     ["3 examples", "2"]),
    ({"x_train": np.zeros((3, 4)), "y_train": np.zeros(3, int), "x_test": np.zeros((2, 5)), "y_test": np.zeros(2, int)},
     ["features"]),
    ({"x_train": np.full((3, 4), 2.0), "y_train": np.arange(3), "x_test": np.zeros((2, 4)), "y_test": np.zeros(2, int)},
     ["[0, 1]"]),
    ({"x_train": np.zeros((3, 4)), "y_train": np.array([0.5, 1, 2]), "x_test": np.zeros((2, 4)), "y_test": np.zeros(2, int)},
     ["integer"]),
    ({"x_train": np.zeros((3, 4)), "y_train": np.arange(3)}, ["missing", "x_test"]),
])
def test_bad_npz(tmp_path, arrays, words):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(DatasetError) as e:
        sources.load(f"npz:{p}")
    for w in words:
        assert w in str(e.value)


def test_bad_specs(tmp_path):
    for spec in ("csv:x", "idx:", "mnist2"):
        with pytest.raises(DatasetError, match="expected mnist, mnist-backrand\[:SEED\], idx:DIR or npz:FILE"):
            sources.load(spec)
    with pytest.raises(DatasetError, match="not found"):
        sources.load(f"npz:{tmp_path / 'none.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable"):
        sources.load(f"npz:{tmp_path / 'junk.npz'}")
    with pytest.raises(DatasetError):
        sources.load(f"idx:{tmp_path}")
