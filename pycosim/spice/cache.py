"""On-disk cache of simulation results.

Key: SHA-256 over (expanded netlist text with parameters and seed applied, parameters,
ngspice library identity, seed). One file per entry, written atomically: a magic line, the
SHA-256 of the payload, and the payload (the result's arrays and metadata, pickled with
protocol 5 — several times faster to read than a compressed ``.npz``, which matters when a
characterisation reads thousands of entries). An entry whose checksum does not match
(truncated, bit-flipped, foreign) is deleted and treated as a miss: a corrupt entry is never
returned, and nothing is unpickled before its checksum has been verified.

Location: ``$PYCOSIM_CACHE_DIR`` or ``~/.cache/pycosim/spice``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path

from pycosim.spice.result import Result

#: Bumped when what a cached Result holds changes (old entries then simply miss).
FORMAT = 5
#: File name suffix of a cache entry.
SUFFIX = ".res"
_MAGIC = b"pycosim-result-v5\n"


def cache_dir() -> Path:
    """Directory of the cache (created on first write)."""
    env = os.environ.get("PYCOSIM_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "pycosim" / "spice"


def key(text: str, params: dict | None, library: str, seed: int | None, keep=None) -> str:
    """Cache key: SHA-256 hex of the inputs that determine a simulation's output."""
    blob = json.dumps({"format": FORMAT, "netlist": text, "params": {k: repr(v) for k, v in sorted((params or {}).items())},
                       "library": library, "seed": seed,
                       "keep": sorted(k.lower() for k in keep) if keep is not None else None}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def get(k: str) -> Result | None:
    """The cached result for key *k*, or None (missing or corrupt — a corrupt file is deleted)."""
    path = cache_dir() / f"{k}{SUFFIX}"
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head, digest, payload = blob[: len(_MAGIC)], blob[len(_MAGIC): len(_MAGIC) + 32], blob[len(_MAGIC) + 32:]
    try:
        if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
            raise ValueError("checksum mismatch")
        result = Result.from_arrays(pickle.loads(payload))
    except (ValueError, KeyError, EOFError, TypeError, pickle.UnpicklingError, json.JSONDecodeError):
        path.unlink(missing_ok=True)
        return None
    result.meta["cached"] = True
    return result


def put(k: str, result: Result) -> None:
    """Store *result* under key *k* (atomic; failures to write are ignored — the cache is optional)."""
    payload = pickle.dumps(result.to_arrays(), protocol=5)
    path = cache_dir() / f"{k}{SUFFIX}"
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def clear() -> int:
    """Delete every cache entry; returns how many were removed."""
    d = cache_dir()
    n = 0
    for p in d.glob(f"*{SUFFIX}") if d.is_dir() else []:
        p.unlink(missing_ok=True)
        n += 1
    return n
