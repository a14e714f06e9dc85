"""State files: a nested tree of plain data and NumPy arrays in one non-executable file.

Used for training checkpoints (``checkpoint.npz``) and anywhere else pycosim keeps state a user may
copy, share or receive: loading one never runs code (no pickle; ``np.load(..., allow_pickle=False)``
only, object arrays refused).

Format — one uncompressed NumPy ``.npz`` (a zip of ``.npy`` members), written atomically
(:func:`pycosim.files.atomic_write`):

* member ``__statefile__``: a 1-D uint8 array holding UTF-8 JSON, the *skeleton*::

      {"format": "pycosim.statefile", "schema_version": <int>, "kind": "<e.g. pycosim.checkpoint>",
       "tree": <the tree, arrays replaced by references>}

* members ``a0``, ``a1``, …: the arrays of the tree, in the order they were met.

In ``tree`` a dict, list, str, int (any size: JSON keeps big ints exact), float (``repr`` precision;
NaN and ±inf as the JSON extensions ``NaN``/``Infinity``), bool and None are themselves; tuples are
stored as lists. Two kinds of one-key objects are references:

* ``{"$array": "a3"}`` — the array stored as member ``a3`` (any shape and non-object dtype);
* ``{"$scalar": "<dtype, e.g. <f4>", "value": v}`` — a NumPy scalar (``np.float32(…)`` etc.), restored
  with its dtype.

Dict keys must be strings; a user key that starts with ``$`` is stored with one more ``$`` in front.
``schema_version`` is the version of the *kind*'s layout, chosen by the caller (:func:`save`'s
*version*); :func:`load` reads only the version it is told to.

:func:`dumps`/:func:`loads` are the same format in memory (the SPICE worker pipe uses them).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError
from pycosim.files import atomic_write

#: Name of the skeleton member (without ``.npy``).
SKELETON = "__statefile__"
#: Value of the skeleton's ``format`` key.
FORMAT = "pycosim.statefile"
_ZIP_MAGIC = b"PK\x03\x04"
_SCALAR_KINDS = "biufc"   # bool, signed, unsigned, float, complex


def looks_pickled(path: str | os.PathLike) -> bool:
    """True if *path* looks like a Python pickle: protocol 2 or later (byte 0x80, then the protocol number),
    or a protocol 0/1 pickle (a typical first opcode and the final STOP opcode ``.``). Reads the first two
    and the last byte; never unpickles anything."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            if len(head) < 2:
                return False
            fh.seek(-1, os.SEEK_END)
            last = fh.read(1)
    except OSError:
        return False
    if head[0] == 0x80:
        return 2 <= head[1] <= 5
    return last == b"." and head[:1] in (b"(", b"c", b"]", b"}", b")", b"N", b"I", b"F", b"S", b"V", b"L", b"X", b"K")


def _encode(obj, arrays: dict, where: str):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError(f"statefile: {where} is an object array (not storable without pickle)")
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"$array": name}
    if isinstance(obj, np.generic):
        if obj.dtype.kind not in _SCALAR_KINDS:
            raise TypeError(f"statefile: {where} is a NumPy scalar of dtype {obj.dtype} (not storable)")
        value = obj.item()
        if isinstance(value, complex):
            value = [value.real, value.imag]
        return {"$scalar": obj.dtype.str, "value": value}
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"statefile: {where} has a key {k!r} of type {type(k).__name__} (keys must be str)")
            out["$" + k if k.startswith("$") else k] = _encode(v, arrays, f"{where}[{k!r}]")
        return out
    if isinstance(obj, (list, tuple)):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(f"statefile: {where} is a {type(obj).__name__} (storable: dict, list, str, int, float, bool, "
                    f"None, numpy arrays and scalars)")


def _writer(tree, kind: str, version: int):
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"statefile: kind must be a non-empty str, got {kind!r}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError(f"statefile: version must be an int, got {version!r}")
    arrays: dict[str, np.ndarray] = {}
    skeleton = {"format": FORMAT, "schema_version": version, "kind": kind, "tree": _encode(tree, arrays, "tree")}
    text = json.dumps(skeleton, separators=(",", ":"), ensure_ascii=False)
    members = {SKELETON: np.frombuffer(text.encode("utf-8"), np.uint8)} | arrays

    def write(fh):
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, arr in members.items():
                with zf.open(name + ".npy", "w", force_zip64=True) as m:
                    np.lib.format.write_array(m, np.asanyarray(arr), allow_pickle=False)

    return write


def save(path: str | os.PathLike, tree, kind: str, *, version: int = 1) -> Path:
    """Write *tree* (see the module docstring) to *path* as a state file of *kind* and schema *version*,
    atomically. TypeError naming the place in the tree for anything not storable (objects, object arrays,
    non-str dict keys); OSError from the file system (no file left)."""
    return atomic_write(path, _writer(tree, kind, version))


def dumps(tree, kind: str, *, version: int = 1) -> bytes:
    """The bytes of the state file :func:`save` would write (for pipes and containers)."""
    buf = io.BytesIO()
    _writer(tree, kind, version)(buf)
    return buf.getvalue()


def loads(data: bytes, kind: str, *, version: int = 1, name: str = "<bytes>"):
    """:func:`load` of state-file bytes; errors name *name*."""
    if data[:1] == b"\x80" or (data[-1:] == b"." and data[:1] != b"P"):
        raise ConfigError(f"{name}: a Python pickle, not a pycosim state file (pickles are never loaded)")
    return _read(io.BytesIO(data), data[:4], Path(name), kind, version)


class _Decoder:
    """Rebuild the tree from the skeleton, resolving array and scalar references against the archive *z*."""

    def __init__(self, z):
        self.z = z

    def __call__(self, obj):
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "$array" in obj:
            name = obj["$array"]
            if not isinstance(name, str) or name == SKELETON or name not in self.z.files:
                raise ValueError(f"array reference {name!r} has no member")
            arr = self.z[name]   # allow_pickle=False: an object array raises ValueError here
            if arr.dtype.hasobject:
                raise ValueError(f"member {name!r} is an object array")
            return arr
        if "$scalar" in obj:
            dt = np.dtype(str(obj["$scalar"]))
            if dt.kind not in _SCALAR_KINDS:
                raise ValueError(f"scalar of dtype {dt} is not allowed")
            v = obj["value"]
            if isinstance(v, list):
                v = complex(*v)
            return np.array(v, dtype=dt)[()]
        return {(k[1:] if k.startswith("$") else k): self(v) for k, v in obj.items()}


def load(path: str | os.PathLike, kind: str, *, version: int = 1):
    """The tree stored in the state file *path* (written by :func:`save` with this *kind* and *version*).

    Never executes anything from the file. ConfigError, one line naming the file: missing, a pickle, not a
    state file, another kind, another schema version (both versions named), a skeleton of the wrong type,
    or corrupt/truncated."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if looks_pickled(path):
        raise ConfigError(f"{path}: a Python pickle, not a pycosim state file (pickles are never loaded)")
    return _read(path, head, path, kind, version)


def _read(source, head: bytes, path: Path, kind: str, version: int):
    if head != _ZIP_MAGIC:
        raise ConfigError(f"{path}: not a pycosim state file (not an .npz archive)")
    try:
        with np.load(source, allow_pickle=False) as z:
            if SKELETON not in z.files:
                raise ConfigError(f"{path}: not a pycosim state file (no {SKELETON} member)")
            raw = z[SKELETON]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"{SKELETON} is {raw.dtype} {raw.shape}, not 1-D uint8")
            skel = json.loads(raw.tobytes().decode("utf-8"))
            if not isinstance(skel, dict) or skel.get("format") != FORMAT:
                raise ConfigError(f"{path}: not a pycosim state file (its skeleton has no format {FORMAT!r})")
            got_kind = skel.get("kind")
            if got_kind != kind:
                raise ConfigError(f"{path}: a state file of kind {got_kind!r}, expected {kind!r}")
            v = skel.get("schema_version")
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"{path}: schema_version is {v!r} of type {type(v).__name__}, expected an int "
                                  f"(file corrupt or not written by pycosim)")
            if v > version:
                raise ConfigError(f"{path}: {kind} schema version {v} is newer than this pycosim reads "
                                  f"(version {version}); upgrade pycosim")
            if v < version:
                raise ConfigError(f"{path}: {kind} schema version {v} is older than this pycosim reads "
                                  f"(version {version}); it cannot be loaded")
            if "tree" not in skel:
                raise ValueError("skeleton has no tree")
            return _Decoder(z)(skel["tree"])
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, EOFError, OSError, UnicodeDecodeError, zipfile.BadZipFile,
            zipfile.LargeZipFile, RecursionError) as exc:
        text = " ".join(str(exc).split())
        raise ConfigError(f"{path}: corrupt or truncated state file ({type(exc).__name__}: {text})") from None
