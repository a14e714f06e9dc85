"""Array-level device models driven by a calibration bundle (no SPICE at run time).

Each module turns the per-instance tables of a :class:`pycosim.calibration.Bundle` into a
*population* (a small frozen dataclass of float arrays, one row per SPICE Monte Carlo instance)
and offers pure functions over plain float32 state arrays:

* :mod:`pycosim.devices.pcm` — phase-change memory: partial-SET pulses, RESET, drift, read noise;
* :mod:`pycosim.devices.lsp` — the 3T1C cell: g(V_C), up/down pulses, leakage, transmission-gate
  reset, read noise;
* :mod:`pycosim.devices.integrator` — column integrator and ADC.

Device instances. Every device of an array is given the index ``inst`` of one SPICE Monte Carlo
instance (row k of every per-instance table of that device type is one simulated device, drawn
with the same seed in every bench, so using one row for all of a device's characteristics keeps
the correlations between, e.g., its step size, its G_max and its drift exponent). Instances are
assigned *balanced*: every instance is used ⌊N/n⌋ or ⌈N/n⌉ times, in random order
(:func:`assign_instances`). With N ≤ n every array device is a different SPICE device, so a
population of 200 cells reproduces the bench's 200 cells without resampling noise; with N ≫ n the
array holds n device types in equal proportions, never the mean device.

Randomness only through a passed :class:`numpy.random.Generator`.

Each law is written once, as a numba-compiled per-device function (:func:`lerp_row` here,
:func:`pycosim.devices.lsp.step_cell`, :func:`pycosim.devices.pcm.log_dg_cell`); the NumPy-facing
functions of the modules and the array's fused kernels (:mod:`pycosim.array.kernels`) both call it.
(numba caches each compiled function by its own file: after editing a law here, remove the package's
``__pycache__`` so that kernels in other files that inline it are rebuilt.)
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from pycosim.errors import CalibrationError


def _where(bundle) -> str:
    return str(bundle.path) if getattr(bundle, "path", None) is not None else "calibration bundle"


def require_table(bundle, name: str, feature: str) -> np.ndarray:
    """Table *name* of *bundle* as float64, or a one-line CalibrationError naming it and the feature."""
    if name not in bundle.tables:
        raise CalibrationError(f"{_where(bundle)}: table {name!r} (needed for {feature}) is missing; "
                               f"regenerate the bundle with pycosim characterize (or disable {feature})")
    return np.asarray(bundle.tables[name], dtype=np.float64)


def require_scalar(bundle, section: str, key: str, feature: str):
    """Scalar ``section.key`` of *bundle*, or a one-line CalibrationError naming it and the feature."""
    sec = bundle.scalars.get(section) or {}
    if key not in sec:
        raise CalibrationError(f"{_where(bundle)}: scalar {section}.{key} (needed for {feature}) is missing; "
                               f"regenerate the bundle with pycosim characterize (or disable {feature})")
    return sec[key]


def assign_instances(shape, n_instances: int, rng: np.random.Generator) -> np.ndarray:
    """Balanced random assignment of Monte Carlo instances to the devices of an array.

    Returns an int32 array of *shape* with values in [0, n_instances): every instance appears
    ⌊N/n⌋ or ⌈N/n⌉ times (N = prod(shape)), in random positions. Resampling without
    replacement keeps the population's mean and spread exact up to the remainder N mod n.
    """
    size = int(np.prod(shape))
    reps = -(-size // n_instances)
    base = np.concatenate([rng.permutation(n_instances) for _ in range(reps)])[:size]
    return rng.permutation(base).astype(np.int32).reshape(shape)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def lerp_row(x, tab, base, x0, inv, top):
    """Linear interpolation of one row of a flattened per-instance table on a uniform grid, end values
    held: pos = clip((x − x₀)·inv, 0, top), i = ⌊pos⌋, value = t[base + i] + (t[base + i + 1] − t[base + i])·(pos − i),
    with base = row·n_grid and top = (n_grid − 1)·(1 − 10⁻⁶) (float32). The one interpolation law of every
    per-cell table (3T1C g(V_C), step ΔV(V_C), read-noise variance)."""
    pos = min(max((x - x0) * inv, np.float32(0)), top)
    i = uint64(pos)                       # unsigned indices: no wrap-around checks in the compiled loop
    j = uint64(base) + i
    a = tab[j]
    return a + (tab[j + uint64(1)] - a) * (pos - np.float32(i))


@njit(cache=True)
def _interp_rows(x, rows, tab, n_g, x0, inv, top, out):
    for t in range(x.shape[0]):
        out[t] = lerp_row(x[t], tab, np.int64(rows[t]) * n_g, x0, inv, top)
    return out


def grid_args(grid: np.ndarray) -> tuple:
    """(n_g, x₀, 1/h, top) of a uniform grid, as :func:`lerp_row` takes them (float32 scalars)."""
    n_g = grid.shape[0]
    return n_g, np.float32(grid[0]), np.float32(1.0 / (grid[1] - grid[0])), np.float32(n_g - 1) * np.float32(1 - 1e-6)


def interp_rows(x: np.ndarray, grid: np.ndarray, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-row linear interpolation on a shared *uniform* grid: ``table[rows, :]`` evaluated at *x*
    (:func:`lerp_row` per element).

    x: any shape, float; grid: (n_g,) uniform; table: (n_rows, n_g); rows: int, same shape as x.
    Outside the grid the end values are held. Float32, shape of x.
    """
    x = np.asarray(x, dtype=np.float32)
    n_g, x0, inv, top = grid_args(grid)
    xf = np.ascontiguousarray(x).reshape(-1)
    rf = np.ascontiguousarray(np.broadcast_to(rows, x.shape)).reshape(-1)
    tf = np.ascontiguousarray(table, dtype=np.float32).reshape(-1)
    return _interp_rows(xf, rf, tf, n_g, x0, inv, top, np.empty(xf.shape, np.float32)).reshape(x.shape)
