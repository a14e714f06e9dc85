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
"""

from __future__ import annotations

import numpy as np

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


def interp_rows(x: np.ndarray, grid: np.ndarray, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-row linear interpolation on a shared *uniform* grid: ``table[rows, :]`` evaluated at *x*.

    x: any shape, float; grid: (n_g,) uniform; table: (n_rows, n_g); rows: int, same shape as x.
    Outside the grid the end values are held. One gather of two neighbours, no Python loop. Float32.
    """
    n_g = grid.shape[0]
    pos = (np.asarray(x, dtype=np.float32) - np.float32(grid[0])) * np.float32(1.0 / (grid[1] - grid[0]))
    np.clip(pos, 0.0, np.float32(n_g - 1) * np.float32(1 - 1e-6), out=pos)
    i0 = pos.astype(np.int32)
    pos -= i0
    i0 += rows.astype(np.int32, copy=False) * np.int32(n_g)
    tf = table.reshape(-1)
    a = tf.take(i0)
    i0 += 1
    b = tf.take(i0)
    b -= a
    b *= pos
    b += a
    return b
