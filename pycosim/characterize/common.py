"""Signal operations shared by the device extractors (sampling, energy, robust means)."""

from __future__ import annotations

import numpy as np


def sample_at(t: np.ndarray, y: np.ndarray, t_samples: np.ndarray) -> np.ndarray:
    """Linear interpolation of waveform *y*(t) at *t_samples* (all float64, 1-D)."""
    return np.interp(np.asarray(t_samples, dtype=np.float64), np.real(t), np.real(y))


def energy_J(result, sources, t0_s: float, t1_s: float) -> float:
    """Energy delivered by voltage sources between t0 and t1:  E = Σ_s ∫ −(V₊ − V₋)·I_s dt.

    ngspice's branch current I_s flows into the source's + terminal, so −V·I is the power the
    source delivers to the circuit; the nodes come from the netlist (``meta['source_nodes']``).
    Sources missing from the result are skipped. Trapezoidal rule on the simulator's time grid.
    """
    t = np.real(result.axis)
    mask = (t >= t0_s) & (t <= t1_s)
    nodes = result.meta.get("source_nodes") or {}
    total = 0.0
    for s in sources:
        key = f"{s}#branch"
        if key not in result.vectors or s not in nodes:
            continue
        plus, minus = nodes[s]
        v = _node(result, plus)[mask] - _node(result, minus)[mask]
        p = -v * np.real(result.vectors[key][mask])
        total += float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t[mask])))
    return total


def _node(result, name: str) -> np.ndarray:
    if name in ("0", "gnd"):
        return np.zeros_like(np.real(result.axis))
    return np.real(result.vectors[name])


def finite_mean(values) -> float:
    """Mean of the finite entries (NaN if none)."""
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")
