"""MNIST in IDX format (LeCun et al., 1998), shipped gzipped inside the package.

:func:`load` returns images as float32 in [0, 1] (pixel/255) with shape (n, 784) and
labels as uint8 with shape (n,). A user's own directory of IDX files (gzipped or not) is
read with ``load(data_dir=DIR)``, the ``PYCOSIM_DATA`` environment variable or ``--data DIR``;
sizes and magic numbers are verified and a truncated or corrupt file raises DatasetError.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from pycosim.errors import DatasetError

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
EXPECTED_COUNT = {"train": 60000, "test": 10000}
_MAGIC = {3: 2051, 1: 2049}  # IDX magic for ubyte images (3 dims) and labels (1 dim)


@dataclass(frozen=True)
class MNIST:
    """The four MNIST arrays.

    Attributes:
        x_train: float32 (60000, 784) in [0, 1].   y_train: uint8 (60000,) in 0..9.
        x_test:  float32 (10000, 784) in [0, 1].   y_test:  uint8 (10000,) in 0..9.
        source: directory the files were read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def shipped_dir() -> Path:
    """Directory of the MNIST files shipped inside the package."""
    return Path(str(resources.files("pycosim.datasets"))) / "data" / "mnist"


def resolve_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The directory to read: *data_dir*, else ``$PYCOSIM_DATA``, else the shipped copy."""
    if data_dir is None:
        data_dir = os.environ.get("PYCOSIM_DATA") or shipped_dir()
    d = Path(data_dir).expanduser()
    if not d.is_dir():
        raise DatasetError(f"MNIST directory not found: {d} (expected the four IDX files {', '.join(FILES.values())})")
    return d


def _find(d: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (d / name).is_file():
            return d / name
    raise DatasetError(f"{d}: missing {stem}.gz (or uncompressed {stem})")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or raw) of unsigned bytes; verify magic number and size.

    IDX layout: big-endian magic (0x0000 08 NDIM), NDIM big-endian uint32 sizes, then data.
    Returns uint8 array with the stored shape.
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated file ({exc})") from None
    if len(raw) < 8:
        raise DatasetError(f"{path}: truncated file ({len(raw)} bytes, no IDX header)")
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in _MAGIC:
        raise DatasetError(f"{path}: bad IDX magic number 0x{magic:08x} (expected 0x00000801 or 0x00000803)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated file ({len(raw)} bytes; an IDX header with {ndim} dimensions "
                           f"needs {header})")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DatasetError(f"{path}: truncated or padded file: {len(raw) - header} data bytes, "
                           f"header {dims} implies {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load(data_dir: str | os.PathLike | None = None) -> MNIST:
    """Load MNIST train and test sets (shipped copy by default).

    Images are scaled x = pixel / 255 (float32, shape (n, 784)); labels uint8 (n,).
    Raises DatasetError for a missing directory/file, bad magic number, wrong size or
    inconsistent image/label counts.
    """
    d = resolve_dir(data_dir)
    arrays = {k: read_idx(_find(d, stem)) for k, stem in FILES.items()}
    out = {}
    for split in ("train", "test"):
        img, lab = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if img.ndim != 3 or lab.ndim != 1:
            raise DatasetError(f"{d}: {split} images/labels have wrong dimensionality {img.shape}/{lab.shape}")
        if img.shape[0] != lab.shape[0]:
            raise DatasetError(f"{d}: {split} has {img.shape[0]} images but {lab.shape[0]} labels")
        if lab.max(initial=0) > 9:
            raise DatasetError(f"{d}: {split} labels outside 0..9")
        out[f"x_{split}"] = (img.reshape(img.shape[0], -1).astype(np.float32) / np.float32(255.0))
        out[f"y_{split}"] = lab.astype(np.uint8)
    return MNIST(**out, source=str(d))


def check(data_dir: str | os.PathLike | None = None) -> dict:
    """Verify the dataset for ``pycosim doctor``: returns counts per split (raises DatasetError)."""
    m = load(data_dir)
    counts = {"train": len(m.y_train), "test": len(m.y_test)}
    if data_dir is None and not os.environ.get("PYCOSIM_DATA"):
        for split, n in EXPECTED_COUNT.items():
            if counts[split] != n:
                raise DatasetError(f"shipped MNIST {split} has {counts[split]} examples, expected {n}")
    return {"dir": m.source, **counts}
