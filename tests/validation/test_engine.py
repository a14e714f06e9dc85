"""The SPICE side of ``pycosim validate`` drives the transfer engine training uses (no simulator needed here)."""

from __future__ import annotations

import numpy as np

from pycosim.validation import programmer
from pycosim.validation.model_side import validation_config


def test_spice_side_uses_the_shared_engine():
    """The closed loop of the validation is pycosim.array.transfer's where it exists (else the stand-in of its
    specification), with the options of the model's TransferConfig."""
    from pycosim.array import transfer

    if hasattr(transfer, "closed_loop"):
        assert programmer.closed_loop is transfer.closed_loop
    cfg = validation_config()
    opt = programmer.loop_options(cfg)
    t = cfg.transfer
    assert (opt.tolerance, opt.max_pulses, opt.max_restarts, opt.refresh_frac) == (t.tolerance, t.max_pulses,
                                                                                   t.max_restarts, t.refresh_frac)
    assert opt.saturation_frac == cfg.pcm.saturation_frac and opt.drift_horizon_s == 0.0


class _Linear:
    """A noise-free programmer: each SET pulse adds dg to its device, RESET sets both to g0."""

    def __init__(self, m, g0=1e-6, dg=1e-6, gmax=20e-6):
        self.G = np.full((2, m), g0)
        self.g0, self.dg, self.gmax = g0, dg, gmax
        self.steps = 0

    def read(self, idx):
        return (self.G[0, idx] - self.G[1, idx]).astype(np.float32) * 1e6, np.zeros(idx.size, np.float32)

    def levels(self, idx):
        return self.G[:, idx], np.full((2, idx.size), self.gmax)

    def step(self, idx, device, n, reset):
        self.steps += 1
        self.G[:, idx[reset]] = self.g0
        self.G[device, idx] += n * self.dg


def test_closed_loop_reaches_the_tolerance_noise_free():
    """σ = 0: the guard band is the tolerance itself; every synapse ends within it."""
    prog = _Linear(3)
    target = np.array([3.2, -2.1, 0.0], np.float32)
    res = programmer.closed_loop(prog, target, programmer.LoopOptions(0.5, 10, 1, 1.0, 0.95, 0.0))
    w, _ = prog.read(np.arange(3))
    assert np.all(np.abs(w - target) <= 0.5)
    np.testing.assert_array_equal(res.pulses, [3, 2, 0])
    assert res.resets.sum() == 0 and res.iterations == 4 and prog.steps == 3
