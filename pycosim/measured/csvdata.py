"""Reading and validating the measured-data CSV files (docs/devices.md, "Add your own device").

Pulse responses (``PULSES.csv``)::

    device,pulse,direction,G_S
    d0,0,up,1.02e-07        one row per read; pulse 0 = the read before the first pulse of a sequence
    d0,1,up,1.61e-06        pulse k = the read after the k-th identical pulse of that sequence
    ...
    d0,0,down,2.31e-05      a new sequence starts where pulse restarts at 0 (or device/direction changes)

``direction`` is ``up`` or ``down`` (``set``/``reset`` accepted for the PCM role), ``G_S`` the read
conductance in siemens. Rows of one sequence are consecutive and in pulse order. Drift
(``DRIFT.csv``): ``device,t_s,G_S`` (reads t_s seconds after programming, the same times for every
device). Read noise (``NOISE.csv``): ``device,G_S`` (repeated reads of a device at one state).

Every check is vectorised over rows (a 100-device, 20-pulse file validates in milliseconds); a bad file
raises a one-line :class:`pycosim.errors.CalibrationError` naming the file, the line (header = line 1)
and the problem, before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycosim.errors import CalibrationError

#: Accepted direction words → True for a potentiating pulse (up/SET), False for a depressing one.
DIRECTIONS = {"up": True, "down": False}
#: Extra words of the PCM role (``msp``): a SET pulse potentiates, a RESET pulse depresses.
PCM_DIRECTIONS = {"set": True, "reset": False}


@dataclass(frozen=True)
class CsvTable:
    """Columns of one CSV file (strings) and where they came from.

    path: the file; sha256: hex digest of its bytes; columns: header name → (n_rows,) str array;
    line: (n_rows,) int64 file line of each row (header = 1)."""

    path: Path
    sha256: str
    columns: dict
    line: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.line.shape[0])


def read_table(path: str | os.PathLike, required: tuple[str, ...], what: str) -> CsvTable:
    """Read CSV *path* with the header columns *required* (extra columns are ignored). CalibrationError (one
    line, naming the file) if it is missing, unreadable, empty, lacks a column, or a row is short."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: not a text (UTF-8) CSV file") from None
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if not rows:
        raise CalibrationError(f"{path}: empty file (expected the header {','.join(required)} and data rows)")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise CalibrationError(f"{path}: line 1: missing column(s) {', '.join(missing)} (header must hold "
                               f"{','.join(required)}; found {','.join(header)})")
    body = rows[1:]
    if not body:
        raise CalibrationError(f"{path}: no data rows after the header")
    lengths = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    # line numbers of the kept rows (blank lines skipped by the reader): recover them from the text
    all_lines = text.splitlines()
    nonblank = np.flatnonzero(np.fromiter((bool(s.strip().strip(",")) for s in all_lines), dtype=bool,
                                          count=len(all_lines))) + 1
    line = nonblank[1:1 + len(body)].astype(np.int64)
    short = np.flatnonzero(lengths < len(header))
    if short.size:
        i = int(short[0])
        raise CalibrationError(f"{path}: line {line[i]}: {lengths[i]} field(s), the header has {len(header)}")
    cols = {}
    for c in required:
        j = header.index(c)
        cols[c] = np.char.strip(np.array([r[j] for r in body], dtype=str))
    return CsvTable(path=path, sha256=hashlib.sha256(data).hexdigest(), columns=cols, line=line)


def numbers(t: CsvTable, col: str, *, kind: str = "number") -> np.ndarray:
    """Column *col* as float64; CalibrationError naming the first line whose value is not a number, or (kind
    "conductance") is NaN, infinite or negative, or (kind "time") not > 0, or (kind "count") not a whole
    number ≥ 0."""
    s = t.columns[col]
    try:
        v = s.astype(np.float64)
    except ValueError:
        bad = next(i for i, x in enumerate(s) if not _is_float(x))   # error path only
        raise CalibrationError(f"{t.path}: line {t.line[bad]}: {col} {str(s[bad])!r} is not a number") from None
    checks = {"number": (~np.isfinite(v), "is not a finite number"),
              "conductance": (~np.isfinite(v) | (v < 0), "is not a conductance (must be a finite number ≥ 0 S)"),
              "time": (~np.isfinite(v) | (v <= 0), "is not a time after programming (must be > 0 s)"),
              "count": (~np.isfinite(v) | (v < 0) | (v != np.round(v)), "is not a pulse number (0, 1, 2, …)")}
    bad_mask, problem = checks[kind]
    bad = np.flatnonzero(bad_mask)
    if bad.size:
        i = int(bad[0])
        raise CalibrationError(f"{t.path}: line {t.line[i]}: {col} {str(s[i])!r} {problem}")
    return v


def _is_float(x: str) -> bool:
    try:
        float(x)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class PulseData:
    """Validated pulse reads, in file order.

    device: (n,) str; device_index: (n,) int64 into ``devices`` (order of first appearance); pulse: (n,)
    int64; up: (n,) bool; g_S: (n,) float64; line: (n,) int64; seq_start: (m,) int64 first row of each
    sequence; seq_len: (m,) int64 reads per sequence; seq_up: (m,) bool; seq_device: (m,) int64;
    devices: (d,) str; path, sha256."""

    path: Path
    sha256: str
    device_index: np.ndarray
    pulse: np.ndarray
    up: np.ndarray
    g_S: np.ndarray
    line: np.ndarray
    seq_start: np.ndarray
    seq_len: np.ndarray
    seq_up: np.ndarray
    seq_device: np.ndarray
    devices: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.g_S.shape[0])

    def staircases(self, up: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sequences of one direction as a rectangle: (G (m, J + 1) S, device index (m,), J + 1 of the
        longest), truncated to the shortest sequence of that direction (J pulses). Empty (0, 0) if none."""
        sel = np.flatnonzero(self.seq_up == up)
        if sel.size == 0:
            return np.zeros((0, 0)), np.zeros(0, np.int64), 0
        n = int(self.seq_len[sel].min())
        idx = self.seq_start[sel, None] + np.arange(n)[None, :]
        return self.g_S[idx], self.seq_device[sel], int(self.seq_len[sel].max())


def read_pulses(path: str | os.PathLike, *, pcm_words: bool) -> PulseData:
    """Read and validate a pulse-response CSV (module docstring). *pcm_words*: accept set/reset.

    Errors (one line: file, line, problem): missing columns, empty file, non-numeric, NaN, infinite or
    negative G_S, a pulse number that is not 0, 1, 2, …, an unknown direction, a sequence that does not
    start at pulse 0, repeats a pulse number or skips one, a device with a single read, a sequence with a
    single read (no pulse)."""
    t = read_table(path, ("device", "pulse", "direction", "G_S"), "pulse responses")
    words = dict(DIRECTIONS, **(PCM_DIRECTIONS if pcm_words else {}))
    dirs = np.char.lower(t.columns["direction"])
    known = np.isin(dirs, list(words))
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise CalibrationError(f"{t.path}: line {t.line[i]}: unknown direction {str(t.columns['direction'][i])!r} "
                               f"(allowed: {', '.join(words)})")
    up = np.isin(dirs, [w for w, u in words.items() if u])
    pulse = numbers(t, "pulse", kind="count").astype(np.int64)
    g = numbers(t, "G_S", kind="conductance")
    dev = t.columns["device"]
    empty = np.flatnonzero(np.char.str_len(dev) == 0)
    if empty.size:
        raise CalibrationError(f"{t.path}: line {t.line[empty[0]]}: empty device identifier")
    devices, first, dev_idx, counts = np.unique(dev, return_index=True, return_inverse=True, return_counts=True)
    single = np.flatnonzero(counts < 2)
    if single.size:
        k = single[np.argmin(first[single])]
        raise CalibrationError(f"{t.path}: line {t.line[first[k]]}: device {str(devices[k])!r} has a single read "
                               "(a response needs the read before a pulse and after it)")
    order = np.argsort(first)                      # devices in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    dev_idx, devices = rank[dev_idx], devices[order]
    n = g.shape[0]
    change = np.ones(n, bool)
    change[1:] = (dev_idx[1:] != dev_idx[:-1]) | (up[1:] != up[:-1])
    start = change | (pulse == 0)
    bad_start = np.flatnonzero(start & (pulse != 0))
    if bad_start.size:
        i = int(bad_start[0])
        raise CalibrationError(f"{t.path}: line {t.line[i]}: a sequence of device {str(devices[dev_idx[i]])!r} "
                               f"({dirs[i]}) starts at pulse {pulse[i]}, not 0")
    step = np.diff(pulse)
    cont = ~start[1:]
    for mask, problem in ((cont & (step == 0), "repeats pulse {a}"),
                          (cont & (step > 1), "skips from pulse {a} to {b} (a gap)"),
                          (cont & (step < 0), "goes back from pulse {a} to {b}")):
        bad = np.flatnonzero(mask)
        if bad.size:
            i = int(bad[0]) + 1
            raise CalibrationError(f"{t.path}: line {t.line[i]}: the sequence of device {str(devices[dev_idx[i]])!r} "
                                   f"({dirs[i]}) " + problem.format(a=pulse[i - 1], b=pulse[i])
                                   + " (pulse numbers within a sequence must be 0, 1, 2, …)")
    seq_start = np.flatnonzero(start)
    seq_len = np.diff(np.append(seq_start, n))
    one = np.flatnonzero(seq_len < 2)
    if one.size:
        i = int(seq_start[one[0]])
        raise CalibrationError(f"{t.path}: line {t.line[i]}: a sequence of device {str(devices[dev_idx[i]])!r} "
                               f"({dirs[i]}) has a single read (pulse 0 and no pulse after it)")
    return PulseData(path=t.path, sha256=t.sha256, device_index=dev_idx, pulse=pulse, up=up, g_S=g, line=t.line,
                     seq_start=seq_start, seq_len=seq_len, seq_up=up[seq_start], seq_device=dev_idx[seq_start],
                     devices=devices)


@dataclass(frozen=True)
class DriftData:
    """Validated drift reads: t_s (n_t,) common read times (ascending), g_S (n_dev, n_t), devices (n_dev,)."""

    path: Path
    sha256: str
    rows: int
    devices: np.ndarray
    t_s: np.ndarray
    g_S: np.ndarray


def _repeated_devices(t, what: str, why: str):
    """The devices of table *t* (np.unique of its ``device`` column: names, first row, row → device, rows per
    device), CalibrationError naming the first device (in file order) with a single *what* and *why*."""
    devices, first, dev_idx, counts = np.unique(t.columns["device"], return_index=True, return_inverse=True,
                                                return_counts=True)
    single = np.flatnonzero(counts < 2)
    if single.size:
        k = single[np.argmin(first[single])]
        raise CalibrationError(f"{t.path}: line {t.line[first[k]]}: device {str(devices[k])!r} has a single {what} "
                               f"({why})")
    return devices, first, dev_idx, counts


def read_drift(path: str | os.PathLike) -> DriftData:
    """Read and validate a drift CSV ``device,t_s,G_S``: every device read at the same ≥ 2 times (each once)."""
    t = read_table(path, ("device", "t_s", "G_S"), "drift reads")
    ts = numbers(t, "t_s", kind="time")
    g = numbers(t, "G_S", kind="conductance")
    devices, first, dev_idx, counts = _repeated_devices(t, "drift read", "a drift exponent needs ≥ 2 times")
    times, t_idx = np.unique(ts, return_inverse=True)
    cell = dev_idx * times.size + t_idx
    uniq, where, cnt = np.unique(cell, return_index=True, return_counts=True)
    dup = np.flatnonzero(cnt > 1)
    if dup.size:
        i = int(np.sort(where[dup])[0])
        raise CalibrationError(f"{t.path}: line {t.line[i]}: device {str(t.columns['device'][i])!r} is read twice at "
                               f"t_s = {ts[i]:g} s")
    if uniq.size != devices.size * times.size:
        have = np.bincount(dev_idx, minlength=devices.size)
        k = int(np.flatnonzero(have < times.size)[0])
        raise CalibrationError(f"{t.path}: line {t.line[first[k]]}: device {str(devices[k])!r} is read at {have[k]} of the "
                               f"{times.size} times of the file (every device must be read at the same times)")
    gm = np.empty(devices.size * times.size)
    gm[cell] = g
    order = np.argsort(first)
    return DriftData(path=t.path, sha256=t.sha256, rows=t.rows, devices=devices[order], t_s=times,
                     g_S=gm.reshape(devices.size, times.size)[order])


@dataclass(frozen=True)
class NoiseData:
    """Validated repeated reads: per device the mean G (S) and the relative σ of one read (ddof 1)."""

    path: Path
    sha256: str
    rows: int
    devices: np.ndarray
    g_mean_S: np.ndarray
    rel_sigma: np.ndarray


def read_noise(path: str | os.PathLike) -> NoiseData:
    """Read and validate a read-noise CSV ``device,G_S`` (≥ 2 reads per device, mean G > 0)."""
    t = read_table(path, ("device", "G_S"), "repeated reads")
    g = numbers(t, "G_S", kind="conductance")
    devices, first, dev_idx, counts = _repeated_devices(t, "read", "read noise needs repeated reads")
    s1 = np.bincount(dev_idx, weights=g)
    s2 = np.bincount(dev_idx, weights=g * g)
    mean = s1 / counts
    var = np.maximum(s2 - counts * mean**2, 0) / (counts - 1)
    zero = np.flatnonzero(mean <= 0)
    if zero.size:
        k = zero[0]
        raise CalibrationError(f"{t.path}: line {t.line[first[k]]}: device {str(devices[k])!r} reads 0 S on average "
                               "(no relative noise can be formed)")
    order = np.argsort(first)
    return NoiseData(path=t.path, sha256=t.sha256, rows=t.rows, devices=devices[order], g_mean_S=mean[order],
                     rel_sigma=(np.sqrt(var) / mean)[order])
