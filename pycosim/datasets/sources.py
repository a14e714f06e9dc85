"""Training data by specification: ``mnist`` (shipped), ``idx:DIR`` or ``npz:FILE``.

All sources give the same :class:`Dataset`: float32 inputs in [0, 1] of shape (n, n_in) and
integer class labels of shape (n,), train and test; the network's input size and number of
classes are taken from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycosim.errors import DatasetError


@dataclass(frozen=True)
class Dataset:
    """A classification data set.

    Attributes:
        x_train: float32 (n_train, n_in), values in [0, 1].   y_train: int64 (n_train,) in 0..n_classes−1.
        x_test:  float32 (n_test, n_in).                      y_test:  int64 (n_test,).
        n_classes: number of classes (max label + 1 over both splits).
        source: the specification it was read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str

    @property
    def n_inputs(self) -> int:
        """Input size (features per example)."""
        return int(self.x_train.shape[1])


def _checked(x_train, y_train, x_test, y_test, source: str) -> Dataset:
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for split in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{split}"]), np.asarray(arrays[f"y_{split}"])
        if x.ndim < 2:
            raise DatasetError(f"{source}: x_{split} has shape {x.shape}; expected (n, features...)")
        if y.ndim != 1:
            raise DatasetError(f"{source}: y_{split} has shape {y.shape}; expected (n,)")
        if x.shape[0] != y.shape[0]:
            raise DatasetError(f"{source}: x_{split} has {x.shape[0]} examples but y_{split} has {y.shape[0]}")
        if x.shape[0] == 0:
            raise DatasetError(f"{source}: the {split} split is empty")
        if int(np.prod(x.shape[1:])) == 0:
            raise DatasetError(f"{source}: x_{split} has shape {x.shape}: no input features")
        if not np.issubdtype(y.dtype, np.integer):
            if not (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
                raise DatasetError(f"{source}: y_{split} must hold integer class labels (dtype {y.dtype})")
        if y.min() < 0:
            raise DatasetError(f"{source}: y_{split} has negative labels")
        x = x.reshape(x.shape[0], -1)
        if np.issubdtype(x.dtype, np.integer):
            x = x.astype(np.float32) / np.float32(np.iinfo(x.dtype).max if x.dtype == np.uint8 else max(x.max(), 1))
        x = np.asarray(x, dtype=np.float32)
        if not np.all(np.isfinite(x)):
            raise DatasetError(f"{source}: x_{split} contains NaN or infinite values")
        if x.min() < 0 or x.max() > 1:
            raise DatasetError(f"{source}: x_{split} values span [{x.min():.3g}, {x.max():.3g}]; inputs become "
                               f"read-pulse durations and must lie in [0, 1] (scale them first)")
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y.astype(np.int64)
    if arrays["x_train"].shape[1] != arrays["x_test"].shape[1]:
        raise DatasetError(f"{source}: train inputs have {arrays['x_train'].shape[1]} features, "
                           f"test inputs {arrays['x_test'].shape[1]}")
    n_classes = int(max(arrays["y_train"].max(), arrays["y_test"].max()) + 1)
    if n_classes < 2:
        raise DatasetError(f"{source}: need at least 2 classes, found {n_classes}")
    return Dataset(**arrays, n_classes=n_classes, source=source)


def load(spec: str | None = None) -> Dataset:
    """Load a data set by specification.

    ``None`` or ``"mnist"``: the shipped MNIST (or ``$PYCOSIM_DATA``);
    ``"idx:DIR"``: four IDX files in MNIST's layout and names (gzipped or not);
    ``"npz:FILE"``: a NumPy archive with arrays ``x_train, y_train, x_test, y_test``.
    Raises DatasetError naming the file and the problem (missing array, mismatched shapes, values
    outside [0, 1], non-integer labels).
    """
    from pycosim.datasets import mnist

    if spec is None or spec == "mnist":
        m = mnist.load()
        return _checked(m.x_train, m.y_train, m.x_test, m.y_test, f"mnist ({m.source})")
    kind, sep, where = str(spec).partition(":")
    if not sep or kind not in ("idx", "npz") or not where:
        raise DatasetError(f"--dataset {spec!r}: expected mnist, idx:DIR or npz:FILE")
    path = Path(where).expanduser()
    if kind == "idx":
        m = mnist.load(path)
        return _checked(m.x_train, m.y_train, m.x_test, m.y_test, f"idx:{path}")
    if not path.is_file():
        raise DatasetError(f"--dataset npz:{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in z.files]
            if missing:
                raise DatasetError(f"{path}: missing array(s) {', '.join(missing)} (has: {', '.join(z.files) or 'none'})")
            arrays = {k: np.asarray(z[k]) for k in ("x_train", "y_train", "x_test", "y_test")}
    except DatasetError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError (pickled objects), OSError
        raise DatasetError(f"{path}: not a readable .npz archive ({type(exc).__name__}: {exc})") from None
    return _checked(**arrays, source=f"npz:{path}")


def sha256(data: Dataset) -> str:
    """SHA-256 of a data set's contents (both splits, inputs as the float32 the network reads, labels as
    int64, with their shapes): what a run records, so that a resumed run or an evaluation on other data is
    refused. Computed once per Dataset object."""
    import hashlib

    cached = getattr(data, "_sha256", None)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    for name in ("x_train", "y_train", "x_test", "y_test"):
        a = np.ascontiguousarray(getattr(data, name), dtype=np.float32 if name[0] == "x" else np.int64)
        h.update(f"{name}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    digest = h.hexdigest()
    object.__setattr__(data, "_sha256", digest)
    return digest


def spec_of(data: Dataset) -> str | None:
    """The specification that reloads *data* (``mnist``, ``npz:FILE``, ``idx:DIR``), or None for a data set
    built in memory."""
    src = str(data.source)
    if src == "mnist" or src.startswith("mnist ("):
        return "mnist"
    if src.startswith(("npz:", "idx:")):
        return src
    return None


def identity(data: Dataset) -> dict:
    """What a run records about its data: {'name', 'spec', 'sha256', 'n_train', 'n_test', 'n_inputs',
    'n_classes'} (:func:`sha256`, :func:`spec_of`)."""
    return {"name": str(data.source), "spec": spec_of(data), "sha256": sha256(data), "n_train": int(len(data.y_train)),
            "n_test": int(len(data.y_test)), "n_inputs": data.n_inputs, "n_classes": int(data.n_classes)}
