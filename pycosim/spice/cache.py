"""On-disk cache of simulation results.

Key: SHA-256 over (expanded netlist text with parameters and seed applied, parameters,
ngspice library identity, seed). One ``.npz`` file per entry, written atomically. An entry
that cannot be read (truncated, corrupt zip, bad metadata) is deleted and treated as a miss:
a corrupt entry is never returned.

Location: ``$PYCOSIM_CACHE_DIR`` or ``~/.cache/pycosim/spice``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from pycosim.spice.result import Result, atomic_savez

#: Bumped when what a cached Result holds changes (old entries then simply miss).
FORMAT = 3


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
    path = cache_dir() / f"{k}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            result = Result.from_arrays(data)
            for arr in result.vectors.values():  # force decompression so CRC errors surface here
                arr.sum()
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError):
        path.unlink(missing_ok=True)
        return None
    result.meta["cached"] = True
    return result


def put(k: str, result: Result) -> None:
    """Store *result* under key *k* (atomic; failures to write are ignored — the cache is optional)."""
    try:
        atomic_savez(cache_dir() / f"{k}.npz", result.to_arrays())
    except OSError:
        pass


def clear() -> int:
    """Delete every cache entry; returns how many were removed."""
    d = cache_dir()
    n = 0
    for p in d.glob("*.npz") if d.is_dir() else []:
        p.unlink(missing_ok=True)
        n += 1
    return n
