"""The result of one ngspice run: named NumPy arrays, ``.meas`` values and provenance."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pycosim.errors import SpiceError
from pycosim.files import atomic_write, chmod_like_new

_AXIS_NAMES = {"tran": ("time",), "ac": ("frequency",), "noise": ("frequency",)}


@dataclass
class Result:
    """One simulation.

    Attributes:
        analysis: the last analysis run (``"tran"``, ``"dc"``, ``"op"``, ``"ac"`` …).
        vectors: ngspice vectors of that analysis, lower-case name → float64 (complex for ac)
            array of shape (n_points,): node voltages in V (``"out"``, ``"x1.st"``), branch
            currents in A (``"v1#branch"``, current into the source's + terminal), the axis.
        meas: ``.meas`` results by lower-case name (NaN where ngspice reported the measure failed).
        meta: provenance: ``ngspice_version``, ``library``, ``netlist_sha256``, ``source``,
            ``params``, ``seed``, ``wall_time_s``, ``cached``.
        analyses: every analysis plot of the run, plot name (``"op1"``, ``"tran1"``) → vectors.
    """

    analysis: str
    vectors: dict[str, np.ndarray]
    meas: dict[str, float] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    analyses: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def axis(self) -> np.ndarray:
        """Abscissa: time in s (tran), sweep values (dc), frequency in Hz (ac); shape (1,) zeros for op."""
        for name in _AXIS_NAMES.get(self.analysis, ()):
            if name in self.vectors:
                return self.vectors[name]
        sweeps = [k for k in self.vectors if k.endswith("-sweep")]
        if sweeps:
            return self.vectors[sweeps[0]]
        return np.zeros(1)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vector(name)

    def vector(self, name: str) -> np.ndarray:
        """A vector by name (case-insensitive); KeyError lists the available names."""
        key = name.lower()
        if key not in self.vectors:
            raise KeyError(f"no vector {name!r}; available: {', '.join(sorted(self.vectors))}")
        return self.vectors[key]

    def v(self, node: str) -> np.ndarray:
        """Voltage of *node* in V, shape (n_points,); ``"v(out)"`` and ``"out"`` are the same."""
        node = node.lower()
        if node.startswith("v(") and node.endswith(")"):
            node = node[2:-1]
        return self.vector(node)

    def i(self, source: str) -> np.ndarray:
        """Current in A through voltage source *source*, shape (n_points,) (into its + terminal)."""
        return self.vector(f"{source.lower()}#branch")

    # ---- persistence -------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat dict for :func:`numpy.savez`: ``vec/<plot>/<name>``, ``meas`` and ``__meta__`` (JSON)."""
        arrays: dict[str, np.ndarray] = {}
        for plot, vecs in self.analyses.items():
            for name, arr in vecs.items():
                arrays[f"vec/{plot}/{name}"] = arr
        meta = dict(self.meta, analysis=self.analysis, last_plot=self._last_plot(), meas=self.meas)
        arrays["__meta__"] = np.array(json.dumps(meta, default=str))
        return arrays

    def _last_plot(self) -> str:
        for plot, vecs in self.analyses.items():
            if vecs is self.vectors:
                return plot
        return next(iter(self.analyses), "")

    @classmethod
    def from_arrays(cls, data) -> "Result":
        """Inverse of :meth:`to_arrays` (accepts an ``NpzFile``)."""
        meta = json.loads(str(data["__meta__"]))
        analyses: dict[str, dict[str, np.ndarray]] = {}
        for key in data.files if hasattr(data, "files") else data:
            if key.startswith("vec/"):
                _, plot, name = key.split("/", 2)
                analyses.setdefault(plot, {})[name] = np.asarray(data[key])
        last = meta.pop("last_plot")
        analysis = meta.pop("analysis")
        meas = {k: float(v) for k, v in meta.pop("meas").items()}
        return cls(analysis=analysis, vectors=analyses.get(last, {}), meas=meas, meta=meta, analyses=analyses)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the arrays and metadata to an ``.npz`` file atomically (temp file + rename)."""
        path = Path(path)
        atomic_savez(path, self.to_arrays())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Result":
        """Read a result written by :meth:`save`; SpiceError if it is missing or corrupt."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls.from_arrays(data)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise SpiceError(f"cannot read result file {path}: {exc}") from None

    def summary(self) -> str:
        """A few human-readable lines: analysis, points, vectors, .meas values, wall time."""
        m = self.meta
        lines = [
            f"source      {m.get('source')}",
            f"analysis    {self.analysis}  ({len(self.axis)} points, {len(self.vectors)} vectors)",
            f"ngspice     {m.get('ngspice_version')}   netlist sha256 {str(m.get('netlist_sha256'))[:16]}…",
            f"params      {m.get('params') or '{}'}   seed {m.get('seed')}",
            f"wall time   {m.get('wall_time_s', float('nan')) * 1e3:.1f} ms{'  (cache hit)' if m.get('cached') else ''}",
        ]
        if self.analysis == "op":
            lines += [f"  {k:<24} {float(np.real(v[0])):.6g}" for k, v in sorted(self.vectors.items())[:40]]
        if self.meas:
            lines.append(".meas")
            lines += [f"  {k:<24} {v:.6g}" for k, v in self.meas.items()]
        return "\n".join(lines)


def check_output_file(path: str | os.PathLike, flag: str = "-o") -> Path:
    """Validate an output file location before any work: not a directory, its directory exists
    and a file can be created there. ConfigError (naming *flag*) otherwise."""
    from pycosim.errors import ConfigError

    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory; give a file name such as result.npz")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: directory {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".check")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot write in {parent} ({exc.strerror or exc})") from None
    return path


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez_compressed`` to a temporary file in the same directory, then rename
    (:func:`pycosim.files.atomic_write`: umask permissions, nothing left behind on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


class NpzStream:
    """Write a ``.npz`` (zip of ``.npy`` entries, readable with :func:`numpy.load`) one entry at a
    time, in bounded memory whatever the number of entries.

    :class:`zipfile.ZipFile` keeps an object per entry until it is closed (hundreds of bytes
    each: ~200 MB for 100,000 Monte Carlo results of five vectors), so this writer keeps the
    central directory in a temporary file instead and appends it at the end (zip64 records
    where offsets or counts need them). Entries are deflate-compressed like
    ``numpy.savez_compressed``. The archive is written to a temporary file next to *path* and
    renamed onto it by :meth:`commit` (permissions from the umask); :meth:`abort` (or an
    exception inside ``with``) deletes it, so an interrupted run leaves no partial file.
    """

    #: Entry count / byte offset from which zip64 records are written (class attributes so that
    #: a test can exercise the zip64 paths without writing 65,536 entries or 4 GB).
    zip64_entries = 0xFFFF
    zip64_offset = 0xFFFFFFFF

    def __init__(self, path: str | os.PathLike, flag: str = "-o"):
        self.path = check_output_file(path, flag)
        self.flag = flag
        parent = self.path.parent
        fd, self._tmp = tempfile.mkstemp(dir=parent, prefix=f".{self.path.name}.", suffix=".tmp")
        self._fh = os.fdopen(fd, "wb")
        self._cd = tempfile.TemporaryFile(dir=parent, prefix=f".{self.path.name}.cd.")
        self._count = 0
        self._cd_size = 0
        import time as _time

        t = _time.localtime()
        self._dostime = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
        self._dosdate = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False

    def add(self, name: str, array) -> None:
        """Append one array as entry ``name`` (``numpy.load(path)[name]`` reads it back)."""
        import io
        import struct
        import zlib

        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
        raw = buf.getvalue()
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = comp.compress(raw) + comp.flush()
        crc = zlib.crc32(raw) & 0xFFFFFFFF
        fname = (name + ".npy").encode("utf-8")
        flags = 0x800 if not fname.isascii() else 0
        if len(raw) >= 0xFFFFFFFF or len(data) >= 0xFFFFFFFF:  # pragma: no cover - one 4 GB vector
            raise ValueError(f"{name}: a single array of 4 GB or more is not supported")
        offset = self._fh.tell()
        self._fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, self._dostime, self._dosdate,
                                   crc, len(data), len(raw), len(fname), 0) + fname)
        self._fh.write(data)
        extra = b""
        off_field = offset
        if offset >= self.zip64_offset:
            extra = struct.pack("<HHQ", 0x0001, 8, offset)
            off_field = 0xFFFFFFFF
        rec = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 45, 45 if extra else 20, flags, 8,
                          self._dostime, self._dosdate, crc, len(data), len(raw), len(fname), len(extra), 0, 0,
                          0, (0o100644 << 16) & 0xFFFFFFFF, off_field) + fname + extra
        self._cd.write(rec)
        self._cd_size += len(rec)
        self._count += 1

    def add_result(self, prefix: str, result: "Result") -> None:
        """Append every array of *result* (:meth:`Result.to_arrays`) under ``prefix``."""
        for key, arr in result.to_arrays().items():
            self.add(prefix + key, arr)

    def commit(self) -> Path:
        """Finish the archive and rename it onto the destination path."""
        import shutil
        import struct

        try:
            cd_offset = self._fh.tell()
            self._cd.seek(0)
            shutil.copyfileobj(self._cd, self._fh, 1 << 20)
            self._cd.close()
            n, size = self._count, self._cd_size
            if n >= self.zip64_entries or cd_offset >= self.zip64_offset or size >= 0xFFFFFFFF:
                z64 = self._fh.tell()
                self._fh.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, size, cd_offset))
                self._fh.write(struct.pack("<IIQI", 0x07064B50, 0, z64, 1))
                self._fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                           min(size, 0xFFFFFFFF), min(cd_offset, 0xFFFFFFFF), 0))
            else:
                self._fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, size, cd_offset, 0))
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            chmod_like_new(self._tmp)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Discard the temporary archive (nothing is left at the destination)."""
        for f in (self._fh, self._cd):
            try:
                f.close()
            except OSError:
                pass
        Path(self._tmp).unlink(missing_ok=True)
