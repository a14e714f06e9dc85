"""Helpers shared by the validation netlist writers: argument checks, number text, instance lines and
piecewise-linear waveforms."""

from __future__ import annotations

import numpy as np

#: the shipped libraries every fixed-draw netlist includes (models, global ``.param``/``.func``)
FX_LIBS = ("cmos.lib", "pcm.lib", "lsp_3t1c.lib")
INCLUDES = tuple(f".include netlists/{lib}" for lib in FX_LIBS)


def as_grid(name: str, a, shape: tuple[int, int] | None, lo: float, hi: float) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if shape is None:
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"{name} must be a 2-D array (rows x columns) with at least one cell, got shape {arr.shape}")
    else:
        try:
            arr = np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(f"{name} has shape {arr.shape}, which does not broadcast to the crossbar shape {shape}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{name} must lie in [{lo}, {hi}]; {name}{list(idx)} = {arr[idx]!r}")
    return arr


def check_positive(**values) -> None:
    """ValueError naming the first value that is not a finite number > 0."""
    for name, val in values.items():
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {val!r}")


def num(x: float) -> str:
    """SPICE number text with 12 significant digits (round-trips the values used here)."""
    return f"{float(x):.12g}"


def instance_line(name: str, nodes, subckt: str, params: dict) -> str:
    """An X line with its parameters on continuation lines (8 per line)."""
    items = [f"{k}={num(v)}" for k, v in params.items()]
    return "\n".join([f"{name} {' '.join(nodes)} {subckt}"] + ["+ " + " ".join(items[n:n + 8]) for n in range(0, len(items), 8)])


class Wave:
    """A piecewise-linear source waveform built from level changes: ``set(t, v, edge)`` ramps from the
    current level at t to v at t + edge. Times must not go back."""

    def __init__(self, v0: float):
        self.pts = [(0.0, float(v0))]

    @property
    def level(self) -> float:
        return self.pts[-1][1]

    def set(self, t: float, v: float, edge: float) -> None:
        if float(v) == self.level:
            return
        if t < self.pts[-1][0] - 1e-15:
            raise ValueError(f"waveform time goes back: {t} < {self.pts[-1][0]}")
        if t > self.pts[-1][0] + 1e-15:
            self.pts.append((t, self.level))
        self.pts.append((t + edge, float(v)))

    def line(self, name: str, node: str) -> str:
        if len(self.pts) == 1:
            return f"{name} {node} 0 {num(self.level)}"
        body = " ".join(f"{num(t)} {num(v)}" for t, v in self.pts)
        return f"{name} {node} 0 pwl({body})"


def pwm_pulse(w: Wave, t_on: float, t: float, v: float, v0: float, t_edge: float) -> None:
    """PWM read pulse of area (v − v0)·t: edges e = min(t_edge, t), flat top t − e."""
    if t <= 0:
        return
    e = min(t_edge, t)
    w.set(t_on, v, e)
    w.set(t_on + t, v0, e)

