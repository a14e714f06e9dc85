"""The result of one ngspice run: named NumPy arrays, ``.meas`` values and provenance."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pycosim.errors import SpiceError

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
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
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


def atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez_compressed`` to a temporary file in the same directory, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
