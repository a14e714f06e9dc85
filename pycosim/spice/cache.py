"""On-disk cache of simulation results, with a size limit and least-recently-used eviction.

Key: SHA-256 over (expanded netlist text with parameters and seed applied, parameters,
ngspice library identity, seed, kept vectors). One file per entry, ``<key>.res``, written
atomically: a magic line (``pycosim-result-v7``), the key itself, the SHA-256 of (key + payload),
and the payload: an uncompressed ``.npz`` of :meth:`Result.to_arrays` (the vectors as ``vec/<plot>/<name>``
arrays, the metadata and ``.meas`` values as the JSON text array ``__meta__``), read with
``np.load(..., allow_pickle=False)`` — nothing in an entry is ever executed or unpickled (uncompressed,
so reading thousands of entries in a characterisation stays fast).
An entry whose checksum does not match (truncated, bit-flipped), that carries another key (a valid
entry copied or renamed under a foreign name) or whose payload is not such an ``.npz`` (an old pickled
entry, a crafted file) is deleted and treated as a miss: such an entry is never returned.

Size limit: ``$PYCOSIM_CACHE_MAX`` bytes (suffixes k, M, G, T: ``500M``, ``2G``; ``0`` stores
nothing; default :data:`DEFAULT_MAX` = 2 GB). A hit refreshes the entry's modification time;
when the cache grows past the limit the least recently used entries are deleted down to 80 %
of it. Eviction is cheap: a small ledger file keeps a running total, and the directory is
scanned only when that total passes the limit or after every limit/4 bytes a process wrote —
never on every store.

Location: ``$PYCOSIM_CACHE_DIR`` or ``~/.cache/pycosim/spice``.
"""

from __future__ import annotations

import hashlib
import json
import os
import io
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError
from pycosim.spice.result import Result

#: Bumped when what a cached Result holds changes (old entries then simply miss).
FORMAT = 7
#: File name suffix of a cache entry.
SUFFIX = ".res"
#: Default size limit in bytes (``$PYCOSIM_CACHE_MAX`` overrides).
DEFAULT_MAX = 2 * 1024**3
_MAGIC = b"pycosim-result-v7\n"
_KEY_LEN = 64  # hex SHA-256
_LEDGER = ".usage"  # approximate total size of the entries, see _account
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

_state = {"dir": None, "estimate": None, "since_scan": 0}


def cache_dir() -> Path:
    """Directory of the cache (created on first write)."""
    env = os.environ.get("PYCOSIM_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pycosim" / "spice"


def parse_size(text: str, what: str = "PYCOSIM_CACHE_MAX") -> int:
    """Bytes from ``"2G"``, ``"500M"``, ``"100k"``, ``"1.5G"``, ``"12345"`` (binary multiples);
    ConfigError naming *what* otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ConfigError(f"{what}={text!r}: expected a size in bytes such as 2G, 500M, 100k or 0 (no cache)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def max_bytes() -> int:
    """The cache size limit in bytes (``$PYCOSIM_CACHE_MAX`` or :data:`DEFAULT_MAX`)."""
    env = os.environ.get("PYCOSIM_CACHE_MAX")
    return parse_size(env) if env is not None and env.strip() else DEFAULT_MAX


def key(text: str, params: dict | None, library: str, seed: int | None, keep=None) -> str:
    """Cache key: SHA-256 hex of the inputs that determine a simulation's output."""
    blob = json.dumps({"format": FORMAT, "netlist": text, "params": {k: repr(v) for k, v in sorted((params or {}).items())},
                       "library": library, "seed": seed,
                       "keep": sorted(k.lower() for k in keep) if keep is not None else None}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _path(k: str) -> Path:
    return cache_dir() / f"{k}{SUFFIX}"


def get(k: str) -> Result | None:
    """The cached result for key *k*, or None (missing, corrupt or foreign — such a file is deleted)."""
    path = _path(k)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    n = len(_MAGIC)
    head, stored_key, digest = blob[:n], blob[n:n + _KEY_LEN], blob[n + _KEY_LEN:n + _KEY_LEN + 32]
    payload = blob[n + _KEY_LEN + 32:]
    try:
        if head != _MAGIC or hashlib.sha256(stored_key + payload).digest() != digest:
            raise ValueError("checksum mismatch")
        if stored_key != k.encode():
            raise ValueError("entry of another key")
        result = _decode(payload)
    except (ValueError, KeyError, EOFError, TypeError, AttributeError, OSError, zipfile.BadZipFile,
            zipfile.LargeZipFile, json.JSONDecodeError):
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)  # least-recently-used order = modification time
    except OSError:
        pass
    result.meta["cached"] = True
    return result


def _encode(result: Result) -> bytes:
    """The payload of an entry: an uncompressed ``.npz`` of ``result.to_arrays()`` (no pickled objects)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in result.to_arrays().items():
            with zf.open(name + ".npy", "w", force_zip64=True) as m:
                np.lib.format.write_array(m, np.asanyarray(arr), allow_pickle=False)
    return buf.getvalue()


def _decode(payload: bytes) -> Result:
    """Inverse of :func:`_encode`; ValueError (or a zipfile error) for anything that is not such an ``.npz``
    — a pickle is refused by ``allow_pickle=False`` before any of it is interpreted."""
    if payload[:4] != b"PK\x03\x04":
        raise ValueError("payload is not an .npz archive")
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        data = {name: z[name] for name in z.files}
    if any(a.dtype.hasobject for a in data.values()):
        raise ValueError("object array in a cache entry")
    return Result.from_arrays(data)


def put(k: str, result: Result) -> None:
    """Store *result* under key *k* (atomic; failures to write are ignored — the cache is optional),
    then evict least-recently-used entries if the cache is over its size limit."""
    limit = max_bytes()
    if limit <= 0:
        return
    try:
        payload = _encode(result)
    except (ValueError, TypeError):   # an object array (cannot be stored without pickle): not cached
        return
    kb = k.encode()
    data = _MAGIC + kb + hashlib.sha256(kb + payload).digest() + payload
    path = _path(k)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        return
    _account(len(data), limit)


def _read_ledger(d: Path) -> int | None:
    try:
        return int((d / _LEDGER).read_text())
    except (OSError, ValueError):
        return None


def _write_ledger(d: Path, total: int) -> None:
    try:
        tmp = d / f"{_LEDGER}.{os.getpid()}.tmp"
        tmp.write_text(str(int(total)))
        os.replace(tmp, d / _LEDGER)
    except OSError:
        pass


def _account(nbytes: int, limit: int) -> None:
    """Track the cache size cheaply and evict when it passes *limit*.

    The running total lives in a small ledger file in the cache directory, so a short-lived
    process (one ``pycosim spice run``) neither scans the directory nor loses count; it is an
    estimate (concurrent processes may overwrite each other's count), corrected by a full scan
    whenever it says "over the limit" and after every limit/4 bytes a process has written.
    """
    d = cache_dir()
    if _state["dir"] != d or _state["estimate"] is None:
        ledger = _read_ledger(d)
        _state.update(dir=d, since_scan=0, estimate=ledger if ledger is not None else usage() - nbytes)
    _state["estimate"] += nbytes
    _state["since_scan"] += nbytes
    if _state["estimate"] > limit or _state["since_scan"] > limit // 4:
        evict(limit)
    else:
        _write_ledger(d, _state["estimate"])


def _entries(d: Path) -> list[tuple[float, int, str]]:
    out = []
    try:
        with os.scandir(d) as it:
            for e in it:
                if e.name.endswith(SUFFIX):
                    try:
                        st = e.stat()
                    except OSError:
                        continue
                    out.append((st.st_mtime, st.st_size, e.path))
    except OSError:
        pass
    return out


def usage() -> int:
    """Total bytes of the cache entries (scans the directory)."""
    return sum(size for _, size, _ in _entries(cache_dir()))


def evict(limit: int | None = None) -> int:
    """Delete least-recently-used entries until the cache is at most 80 % of *limit* (default
    :func:`max_bytes`) when it is over *limit*; returns the number of entries deleted."""
    limit = max_bytes() if limit is None else limit
    d = cache_dir()
    entries = _entries(d)
    total = sum(size for _, size, _ in entries)
    removed = 0
    if total > limit:
        target = int(limit * 0.8)
        for _, size, p in sorted(entries):
            if total <= target:
                break
            try:
                os.unlink(p)
            except OSError:
                continue
            total -= size
            removed += 1
    _state.update(dir=d, estimate=total, since_scan=0)
    _write_ledger(d, total)
    return removed


def clear() -> int:
    """Delete every cache entry; returns how many were removed."""
    d = cache_dir()
    n = 0
    for p in d.glob(f"*{SUFFIX}") if d.is_dir() else []:
        p.unlink(missing_ok=True)
        n += 1
    (d / _LEDGER).unlink(missing_ok=True) if d.is_dir() else None
    _state.update(estimate=None)
    return n
