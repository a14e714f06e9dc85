"""Vectorised crossbar arrays of circuit-calibrated synapses (one object per layer, plain arrays).

    from pycosim.array import ArrayConfig, Crossbar
    xb = Crossbar(784, 250, ArrayConfig(synapse="2pcm+3t1c"), rng=1)
    xb.set_weights(W0)                  # closed-loop programming of initial weights
    y = xb.forward(x); d = xb.backward(delta); xb.update(x, delta, lr=0.1)
    xb.advance(t_example_s); stats = xb.transfer()   # every N examples
    snapshot = xb.state()               # plain arrays; xb2.set_state(snapshot) continues bit for bit

A synapse scheme is a Crossbar subclass chosen once in the registry :mod:`pycosim.array.schemes`
(``Crossbar(...)`` builds the configured one; ``xb.scheme`` says what it has).

Equations and sources: docs/array.md and the module docstrings (:mod:`.crossbar`, :mod:`.periphery`,
:mod:`.transfer`, :mod:`pycosim.devices`).
"""

from pycosim.array.config import (SYNAPSES, ArrayConfig, LSPConfig, PCMConfig, PeripheryConfig, TransferConfig,
                                  UpdateConfig)
from pycosim.array.counters import Counters
from pycosim.array.crossbar import Crossbar
from pycosim.array.transfer import TransferStats

__all__ = ["SYNAPSES", "ArrayConfig", "PCMConfig", "LSPConfig", "PeripheryConfig", "UpdateConfig", "TransferConfig",
           "Counters", "Crossbar", "TransferStats"]
