"""Vectorised crossbar arrays of circuit-calibrated synapses (one object per layer, plain arrays).

    from pycosim.array import ArrayConfig, Crossbar
    xb = Crossbar(784, 250, ArrayConfig(synapse="2pcm+3t1c"), rng=1)
    xb.program(W0)                      # closed-loop programming of initial weights
    y = xb.forward(x); d = xb.backward(delta); xb.update(x, delta, lr=0.1)
    xb.leak(t_example_s); stats = xb.transfer()   # every N examples

Equations and sources: docs/array.md and the module docstrings (:mod:`.crossbar`, :mod:`.periphery`,
:mod:`.transfer`, :mod:`pycosim.devices`).
"""

from pycosim.array.config import (SYNAPSES, ArrayConfig, LSPConfig, PCMConfig, PeripheryConfig, TransferConfig,
                                  UpdateConfig)
from pycosim.array.counters import Counters
from pycosim.array.crossbar import Crossbar
from pycosim.array.transfer import TransferStats, program, transfer

__all__ = ["SYNAPSES", "ArrayConfig", "PCMConfig", "LSPConfig", "PeripheryConfig", "UpdateConfig", "TransferConfig",
           "Counters", "Crossbar", "TransferStats", "program", "transfer"]
