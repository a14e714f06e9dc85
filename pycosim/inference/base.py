"""The interface of an inference model, and the readout every model shares.

An inference model answers one question: what does a trained network compute a time t after the end of
training? It does so in two steps, so that one chip (one draw of programming errors, drift exponents, …)
can be read at many times:

    chip    = model.prepare(net, rng)        # once per repeat: a private copy of the trained network,
                                             # brought into its inference state with draws from rng
    vehicle = model.at_time(chip, t_s)       # per time t ≥ 0 after training: an object with .layers,
                                             # each a layer with the crossbar's read API

The vehicle's layers are read by :func:`logits` / :func:`accuracy` exactly as the network reads its
crossbars (:class:`pycosim.nn.network.Network`): z_l = layer_l.forward([a_l, 1]), a_{l+1} = σ(α_l·z_l) in
hidden layers, the logits z_L·α_L at the output (α: drift compensation, :mod:`pycosim.inference.compensation`).
A layer of a vehicle needs only the public read API of :class:`pycosim.array.Crossbar`: ``forward``,
``n_in``, ``full_scale``, ``scheme``, ``reseed``.

Random numbers: the chip's draws come from the generator given to :meth:`InferenceModel.prepare`; the read
noise of a vehicle comes from the generators the driver gives its layers (:func:`reseed_layers`) before
every read sweep, so that every time of one repeat sees the same read-noise numbers (common random numbers:
differences between times are drift, not noise). The trained network is never modified.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class InferenceModel(ABC):
    """One way of turning a trained network into the network read at time t after training.

    Subclasses set :attr:`name` (the registry key, :data:`pycosim.inference.MODELS`) and :attr:`options`
    (the keyword options their constructor accepts; :func:`pycosim.inference.model` passes only those).
    """

    #: registry key and the ``noise_model`` of evaluate.json entries
    name: str = ""
    #: constructor options (keywords) this model accepts
    options: tuple[str, ...] = ()

    @abstractmethod
    def prepare(self, net, rng: np.random.Generator):
        """The chip of one repeat: a private copy of *net* (never modified) in its state at the end of
        training, with every random draw of the chip from *rng*. Opaque to the caller."""

    @abstractmethod
    def at_time(self, chip, t_s: float):
        """The network read t_s ≥ 0 seconds after the end of training: an object with ``.layers`` (layers
        with the crossbar read API). *chip* is not changed in a way that matters for later times; the
        returned vehicle may be reused (and overwritten) by the next :meth:`at_time` call on the same chip."""

    def chip_info(self, chip) -> dict:
        """Named facts of one prepared chip for evaluate.json, {key: value} (the driver collects each key
        over the repeats, e.g. ``final_transfer``); default {}."""
        return {}

    def settings(self) -> dict:
        """The model's options, for evaluate.json ({} when it has none)."""
        return {k: getattr(self, k) for k in self.options}

    @property
    def label(self) -> str:
        """Short label for progress bars: the name and the option values."""
        return "/".join([self.name, *map(str, self.settings().values())])


# ------------------------------------------------------------------ the shared readout
def reseed_layers(vehicle, seed: int, repeat: int, stream: int) -> None:
    """Give every layer of *vehicle* a fresh generator from (seed, repeat, layer, stream)."""
    for l, xb in enumerate(vehicle.layers):
        xb.reseed(np.random.default_rng([seed, repeat, l, stream]))


def logits(vehicle, x: np.ndarray, alpha=None, bufs=None) -> np.ndarray:
    """Output-layer pre-activations (n_out,) of one input x (n_in,) through the analog forward pass of
    *vehicle*, each layer's outputs multiplied by alpha[l] (drift compensation; None = 1) before its
    activation (sigmoid in hidden layers, as :class:`pycosim.nn.network.Network`)."""
    from pycosim.nn.network import _sigmoid

    layers = vehicle.layers
    bufs = bufs or [np.ones(xb.n_in, np.float32) for xb in layers]
    a = x
    for l, xb in enumerate(layers):
        inp = bufs[l]
        inp[:-1] = a
        z = xb.forward(inp)
        if alpha is not None:
            z = z * np.float32(alpha[l])
        a = _sigmoid(z).astype(np.float32) if l < len(layers) - 1 else z
    return a


def accuracy(vehicle, x: np.ndarray, y: np.ndarray, alpha=None) -> float:
    """Fraction of (x, y) whose :func:`logits` have their maximum at the label."""
    bufs = [np.ones(xb.n_in, np.float32) for xb in vehicle.layers]
    correct = sum(int(np.argmax(logits(vehicle, x[i], alpha, bufs))) == int(y[i]) for i in range(len(y)))
    return correct / len(y)
