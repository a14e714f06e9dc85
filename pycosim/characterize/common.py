"""Signal operations shared by the device extractors (sampling, energy, robust means)."""

from __future__ import annotations

import numpy as np


def sample_at(t: np.ndarray, y: np.ndarray, t_samples: np.ndarray) -> np.ndarray:
    """Linear interpolation of waveform *y*(t) at *t_samples* (all float64, 1-D)."""
    return np.interp(np.asarray(t_samples, dtype=np.float64), np.real(t), np.real(y))


def energy_J(result, sources, t0_s, t1_s):
    """Energy delivered by voltage sources between t0 and t1:  E = Σ_s ∫ −(V₊ − V₋)·I_s dt.

    ngspice's branch current I_s flows into the source's + terminal, so −V·I is the power the
    source delivers to the circuit; the nodes come from the netlist (``meta['source_nodes']``).
    Sources missing from the result are skipped. The power is integrated once (trapezoidal rule
    on the simulator's time grid, cumulative) and the cumulative energy is interpolated at the
    window edges, so *t0_s*/*t1_s* may be arrays of many windows (e.g. one per pulse): returns
    a float for scalar edges, else an array of their broadcast shape (J).
    """
    t = np.real(result.axis)
    nodes = result.meta.get("source_nodes") or {}
    power = np.zeros_like(t)
    for s in sources:
        key = f"{s}#branch"
        if key in result.vectors and s in nodes:
            plus, minus = nodes[s]
            power -= (_node(result, plus) - _node(result, minus)) * np.real(result.vectors[key])
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (power[1:] + power[:-1]) * np.diff(t))])
    e = np.interp(np.asarray(t1_s, dtype=np.float64), t, cumulative) - np.interp(np.asarray(t0_s, dtype=np.float64), t, cumulative)
    return float(e) if np.ndim(e) == 0 else e


def _node(result, name: str) -> np.ndarray:
    if name in ("0", "gnd"):
        return np.zeros_like(np.real(result.axis))
    return np.real(result.vectors[name])


def finite_mean(values) -> float:
    """Mean of the finite entries (NaN if none)."""
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")
