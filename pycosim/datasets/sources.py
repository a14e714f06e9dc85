"""Training data by specification: ``mnist`` (shipped), ``mnist-backrand[:SEED]``, ``idx:DIR`` or ``npz:FILE``.

All sources give the same :class:`Dataset`: float32 inputs in [0, 1] of shape (n, n_in) and
integer class labels of shape (n,), train and test; the network's input size and number of
classes are taken from the data. The kinds of specification are chosen once, in the registry
``SOURCES`` (name → :class:`Source`): code elsewhere asks it (``spec_help()``, ``takes_path(spec)``)
instead of comparing names.

``mnist-backrand`` (Larochelle et al., ICML 2007, "An empirical evaluation of deep architectures on
problems with many factors of variation"; the second data set of Ambrogio et al., Nature 558, 60
(2018)): the MNIST digits with every background pixel replaced by an independent uniform random value,
derived from the MNIST copy in use (:func:`backrand`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
        recipe: how the data were generated from their source, for data sets derived by a recipe
            (``mnist-backrand``: name, rule, seed, citation), else None.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    source: str
    recipe: dict | None = field(default=None, compare=False)

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


BACKRAND_CITATION = ("Larochelle et al., ICML 2007, 'An empirical evaluation of deep architectures on problems "
                     "with many factors of variation' (mnist-back-rand)")
BACKRAND_RULE = ("a pixel is background iff its 8-bit MNIST value is 0; each background pixel of train and test "
                 "is replaced by an independent float32 uniform value in [0, 1) drawn from "
                 "numpy.random.default_rng(seed): the train split's background pixels in row-major order, then "
                 "the test split's; digit pixels (value > 0) and labels unchanged")


def backrand(x_train: np.ndarray, x_test: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-backrand inputs from MNIST inputs (float32 in [0, 1], pixel/255), deterministic from *seed*.

    Recipe (Larochelle et al., ICML 2007): "a random background was inserted in the digit image; each
    random pixel value was generated uniformly between 0 and 255" — here as a float32 uniform in [0, 1)
    (the published files store pixel/255). Which pixels are background is not spelled out in the paper;
    ASSUMPTION: a pixel is background iff its original value is exactly 0. MNIST's digits are
    anti-aliased, so the grey pixels at the stroke edges (value > 0) are part of the digit and stay; a
    threshold above 0 would replace parts of the strokes' edges by noise. About 81 % of MNIST's pixels
    are 0. Returns new arrays (the inputs are not modified)."""
    rng = np.random.default_rng(seed)
    out = []
    for x in (x_train, x_test):
        y = np.array(x, dtype=np.float32, copy=True)
        bg = y == 0
        y[bg] = rng.random(int(bg.sum()), dtype=np.float32)
        out.append(y)
    return out[0], out[1]


@dataclass(frozen=True)
class Source:
    """One kind of data-set specification.

    name: the specification's kind (``NAME`` or ``NAME:ARG``);
    arg: what follows the colon: None (no argument), 'path' (a file or directory) or 'seed' (an integer ≥ 0);
    arg_required: whether ``NAME`` alone is refused;
    form: how the specification is written (help texts and error messages);
    loader: (arg or None) → Dataset.
    """

    name: str
    arg: str | None
    arg_required: bool
    form: str
    loader: Callable[[str | None], Dataset]


def _load_mnist(_arg=None) -> Dataset:
    from pycosim.datasets import mnist

    m = mnist.load()
    return _checked(m.x_train, m.y_train, m.x_test, m.y_test, f"mnist ({m.source})")


def _load_backrand(arg: str | None) -> Dataset:
    from pycosim.datasets import mnist

    try:
        seed = 0 if arg is None else int(arg)
    except ValueError:
        seed = -1
    if seed < 0:
        raise DatasetError(f"--dataset mnist-backrand:{arg}: the seed must be a whole number ≥ 0")
    m = mnist.load()
    x_tr, x_te = backrand(m.x_train, m.x_test, seed)
    d = _checked(x_tr, m.y_train, x_te, m.y_test, f"mnist-backrand:{seed} ({m.source})")
    recipe = {"name": "mnist-backrand", "seed": seed, "derived_from": f"mnist ({m.source})",
              "rule": BACKRAND_RULE, "citation": BACKRAND_CITATION}
    return Dataset(d.x_train, d.y_train, d.x_test, d.y_test, d.n_classes, d.source, recipe)


def _load_idx(arg: str) -> Dataset:
    from pycosim.datasets import mnist

    path = Path(arg).expanduser()
    m = mnist.load(path)
    return _checked(m.x_train, m.y_train, m.x_test, m.y_test, f"idx:{path}")


def _load_npz(arg: str) -> Dataset:
    path = Path(arg).expanduser()
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


#: kind → Source: the one registry of data-set specifications
SOURCES = {s.name: s for s in (
    Source("mnist", None, False, "mnist", _load_mnist),
    Source("mnist-backrand", "seed", False, "mnist-backrand[:SEED]", _load_backrand),
    Source("idx", "path", True, "idx:DIR", _load_idx),
    Source("npz", "path", True, "npz:FILE", _load_npz),
)}


def spec_help() -> str:
    """'mnist, mnist-backrand[:SEED], idx:DIR or npz:FILE' (the accepted forms, from the registry)."""
    forms = [s.form for s in SOURCES.values()]
    return ", ".join(forms[:-1]) + " or " + forms[-1]


def _parse(spec: str) -> tuple[Source, str | None]:
    kind, sep, arg = str(spec).partition(":")
    src = SOURCES.get(kind)
    if src is None or (sep and (src.arg is None or not arg)) or (not sep and src.arg_required):
        raise DatasetError(f"--dataset {spec!r}: expected {spec_help()}")
    return src, (arg if sep else None)


def takes_path(spec: str) -> bool:
    """Whether *spec*'s argument is a file or directory (to be resolved against a sweep file's folder)."""
    src = SOURCES.get(str(spec).partition(":")[0])
    return src is not None and src.arg == "path"


def load(spec: str | None = None) -> Dataset:
    """Load a data set by specification.

    ``None`` or ``"mnist"``: the shipped MNIST (or ``$PYCOSIM_DATA``);
    ``"mnist-backrand"`` / ``"mnist-backrand:SEED"``: MNIST with a uniform random background
    (:func:`backrand`, seed 0 by default), derived from the same MNIST copy;
    ``"idx:DIR"``: four IDX files in MNIST's layout and names (gzipped or not);
    ``"npz:FILE"``: a NumPy archive with arrays ``x_train, y_train, x_test, y_test``.
    Raises DatasetError naming the file and the problem (missing array, mismatched shapes, values
    outside [0, 1], non-integer labels).
    """
    if spec is None:
        spec = "mnist"
    src, arg = _parse(spec)
    return src.loader(arg)


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
    """The specification that reloads *data* (``mnist``, ``mnist-backrand:SEED``, ``npz:FILE``, ``idx:DIR``), or
    None for a data set built in memory."""
    src = str(data.source)
    if src == "mnist" or src.startswith("mnist ("):
        return "mnist"
    if src.startswith("mnist-backrand:"):
        return src.split(" ", 1)[0]
    if src.startswith(("npz:", "idx:")):
        return src
    return None


def identity(data: Dataset) -> dict:
    """What a run records about its data: {'name', 'spec', 'sha256', 'n_train', 'n_test', 'n_inputs',
    'n_classes', 'recipe'} (:func:`sha256`, :func:`spec_of`; 'recipe': how a derived set was generated, e.g.
    ``mnist-backrand``'s rule, seed and citation, else None)."""
    return {"name": str(data.source), "spec": spec_of(data), "sha256": sha256(data), "n_train": int(len(data.y_train)),
            "n_test": int(len(data.y_test)), "n_inputs": data.n_inputs, "n_classes": int(data.n_classes),
            "recipe": data.recipe}
