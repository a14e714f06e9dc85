"""'ideal': the software reference — W stored as float32, exact arithmetic, no devices, no periphery.

    y = x·W,  d = W·δ,  W ← W − lr·x⊗δ,  set_weights: W ← W_target exactly; nothing to transfer.
"""

from __future__ import annotations

import numpy as np

from pycosim.array import transfer as tr
from pycosim.array.crossbar import Crossbar


class Ideal(Crossbar):
    """Exact float32 weights (module docstring)."""

    _STATE_ARRAYS = ("W",)

    def _build(self, bundle) -> None:
        self.W = np.zeros(self.shape, np.float32)

    @property
    def full_scale(self) -> tuple[float, float]:
        """(forward, backward) output range: unbounded."""
        return (float("inf"), float("inf"))

    def _forward(self, x):
        return x @ self.W

    def _backward(self, d):
        return self.W @ d

    def _update(self, x, d, lr):
        if lr:
            self.W -= np.multiply.outer(x * np.float32(lr), d)

    def _set_exact(self, W):
        self.W = W

    def _set_weights(self, W, mode, overrides):
        if mode is not None:
            overrides = dict(overrides, mode=mode)
        opt = tr.options(self.cfg.transfer, overrides)
        self.W[...] = W
        stats = tr.TransferStats(mode=opt["mode"], tolerance=opt["tolerance"])
        stats.n_synapses = stats.n_moved = stats.n_within_tol = W.size
        return stats

    def _transfer(self, cols, overrides):
        opt = tr.options(self.cfg.transfer, overrides)
        return tr.TransferStats(mode=opt["mode"], tolerance=opt["tolerance"])
