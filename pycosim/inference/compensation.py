"""Drift compensation: per-layer output factors α_l(t) applied before each activation.

``none``: α = 1.

``global`` (Ambrogio et al., IEDM 2019; aihwkit ``GlobalDriftCompensation``, Rasch et al., Nat. Commun.
14, 5282 (2023)): per layer l a reference read with a known input x_ref = c_l·1 (all rows, bias row
included, at the PWM level c_l ≤ 1 that keeps the t = 0 outputs inside half the forward full scale, so
the ADC does not clip the reference) right after training (t = 0) and again at t; the layer's outputs are
multiplied by

    α_l(t) = mean_j |ŷ_j(x_ref, 0)| / mean_j |ŷ_j(x_ref, t)|

before the activation. A drift that scales every conductance of a layer by the same factor is undone
exactly (up to the periphery's quantisation and noise).
"""

from __future__ import annotations

import numpy as np


class DriftCompensation:
    """No compensation (α = 1). Subclasses read a reference at t = 0 (:meth:`reference`) and turn a read
    of the same reference at t into per-layer factors (:meth:`alpha`)."""

    name = "none"
    #: whether :meth:`reference` needs the vehicle at t = 0 (the driver builds it only then)
    needs_reference = False

    def reference(self, vehicle0, reseed):
        """Reference data from the vehicle at t = 0; *reseed(vehicle)* restarts its read-noise streams."""
        return None

    def alpha(self, vehicle, ref):
        """Per-layer factors (n_layers,) for *vehicle* at some t, or None (= 1)."""
        return None


class GlobalCompensation(DriftCompensation):
    """Global drift compensation (module docstring)."""

    name = "global"
    needs_reference = True

    def reference(self, vehicle0, reseed):
        reseed(vehicle0)
        x_refs = reference_inputs(vehicle0)
        reseed(vehicle0)
        return x_refs, readouts(vehicle0, x_refs)

    def alpha(self, vehicle, ref):
        x_refs, r0 = ref
        return r0 / readouts(vehicle, x_refs)


def reference_inputs(vehicle) -> list[np.ndarray]:
    """Per layer the known input of the reference read, x_ref = c·1 (n_in + 1,): c = 1 unless the t = 0
    outputs of an all-ones read exceed half the forward full scale, then c shrinks so they do not.
    Reads each analog layer once (uses its generator)."""
    out = []
    for xb in vehicle.layers:
        ones = np.ones(xb.n_in, np.float32)
        c = 1.0
        if xb.scheme.analog:
            peak = float(np.abs(xb.forward(ones)).max())
            half = 0.5 * xb.full_scale[0]
            if peak > half:
                c = half / peak
        out.append((ones * np.float32(c)).astype(np.float32))
    return out


def readouts(vehicle, x_refs) -> np.ndarray:
    """mean_j |ŷ_j(x_ref)| of every layer (the global-compensation readout), (n_layers,)."""
    return np.array([max(float(np.abs(xb.forward(x)).mean()), 1e-12) for xb, x in zip(vehicle.layers, x_refs)])


#: name → strategy class
COMPENSATIONS = {c.name: c for c in (DriftCompensation, GlobalCompensation)}
