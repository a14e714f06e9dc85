"""MNIST shipped with the package and the IDX reader's checks."""

import gzip
import shutil

import numpy as np
import pytest

from pycosim.datasets import mnist
from pycosim.errors import DatasetError


@pytest.fixture(scope="module")
def data():
    return mnist.load()


def test_shapes_dtypes_ranges(data):
    assert data.x_train.shape == (60000, 784) and data.x_train.dtype == np.float32
    assert data.x_test.shape == (10000, 784) and data.x_test.dtype == np.float32
    assert data.y_train.dtype == np.uint8 and data.y_test.shape == (10000,)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0


def test_label_histograms(data):
    # the published MNIST class counts
    train = np.bincount(data.y_train, minlength=10)
    test = np.bincount(data.y_test, minlength=10)
    assert train.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _copy(tmp_path):
    d = tmp_path / "mnist"
    shutil.copytree(mnist.shipped_dir(), d)
    return d


def test_user_directory_and_env_var(tmp_path, monkeypatch):
    d = _copy(tmp_path)
    # an uncompressed copy of one file is read too
    raw = gzip.decompress((d / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    (d / "t10k-labels-idx1-ubyte").write_bytes(raw)
    monkeypatch.setenv("PYCOSIM_DATA", str(d))
    m = mnist.load()
    assert m.source == str(d) and m.y_test.shape == (10000,)


def test_truncated_file_rejected(tmp_path):
    d = _copy(tmp_path)
    f = d / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(f.read_bytes())
    f.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DatasetError, match="truncated"):
        mnist.load(d)
    f.write_bytes(f.read_bytes()[:500])  # truncated gzip stream
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        mnist.load(d)


def test_bad_magic_and_missing(tmp_path):
    d = _copy(tmp_path)
    f = d / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(f.read_bytes()))
    raw[3] = 0x05
    f.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetError, match="bad IDX magic"):
        mnist.load(d)
    f.unlink()
    with pytest.raises(DatasetError, match="missing t10k-images"):
        mnist.load(d)
    with pytest.raises(DatasetError, match="not found"):
        mnist.load(tmp_path / "nowhere")
