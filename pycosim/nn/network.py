"""A fully connected network whose every layer is one simulated crossbar.

Layer l maps a_l (n_l,) to a_{l+1} = f(z_l), z_l = crossbar_l.forward([a_l, 1]) — the crossbar's
analog multiply-accumulate through its periphery (PWM inputs, integrator, ADC); f is the sigmoid in
hidden layers and the softmax at the output, both computed in the digital periphery.

Biases: each crossbar has one extra row driven by a constant full-width read pulse (input 1), so a
bias is a synapse like any other — stored in the same devices, updated by the same coincident pulses
and moved by the same transfers (the usual "bias neuron" of hardware networks; Burr et al., IEEE TED
62, 3498 (2015)).

Backpropagation (batch size 1, cross-entropy loss):
    δ_L = softmax(z_L) − onehot(y)
    δ_l = (crossbar_{l+1}.backward(δ_{l+1}))[:n_{l+1}] ⊙ a_{l+1} ⊙ (1 − a_{l+1})      (transposed read)
    crossbar_l.update([a_l, 1], δ_l, η)       ΔW_l = −η·[a_l, 1] ⊗ δ_l as coincident pulses (LSP only)
"""

from __future__ import annotations

import numpy as np

from pycosim.array.config import ArrayConfig
from pycosim.array.crossbar import Crossbar


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    """Crossbar layers for sizes (n_in, h_1, …, n_out).

    Args:
        sizes: layer sizes, e.g. (784, 250, 125, 10).
        array: crossbar configuration of every layer, or a list with one per layer
            (:func:`pycosim.nn.config.array_configs`).
        bundle: calibration bundle (None: the shipped one; unused by 'ideal').
        rng: the run's generator; each layer gets its own child generator (spawned), so layers are
            independent and the whole run is reproducible from one seed.
        init_scale: initial weights uniform in ±init_scale/√n_in, programmed into the arrays.
    """

    def __init__(self, sizes, array: ArrayConfig | list, bundle=None, rng: np.random.Generator | None = None,
                 init_scale: float = 1.0):
        self.sizes = tuple(int(s) for s in sizes)
        rng = rng if rng is not None else np.random.default_rng(0)
        children = rng.spawn(len(self.sizes) - 1)
        arrays = list(array) if isinstance(array, (list, tuple)) else [array] * (len(self.sizes) - 1)
        self.layers: list[Crossbar] = []
        self.init_stats = []
        for (n_in, n_out), r, acfg in zip(zip(self.sizes[:-1], self.sizes[1:]), children, arrays):
            xb = Crossbar(n_in + 1, n_out, acfg, bundle, rng=r)
            bound = init_scale / np.sqrt(n_in)
            w0 = r.uniform(-bound, bound, size=(n_in + 1, n_out)).astype(np.float32)
            w0[-1] = 0.0  # biases start at zero
            self.init_stats.append(xb.set_weights(w0))
            self.layers.append(xb)
        self._inputs = [np.ones(n + 1, np.float32) for n in self.sizes[:-1]]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n_out,) float64 for one input x (n_in,) in [0, 1]; keeps the
        activations for :meth:`backward_update`."""
        a = x
        for l, xb in enumerate(self.layers):
            inp = self._inputs[l]
            inp[:-1] = a
            z = xb.forward(inp, checked=False)
            if l < len(self.layers) - 1:
                a = _sigmoid(z).astype(np.float32)
            else:
                e = np.exp(z - z.max(), dtype=np.float64)
                a = e / e.sum()
        if not np.isfinite(a).all():
            raise FloatingPointError("forward pass produced non-finite class probabilities (NaN or infinity)")
        return a

    def backward_update(self, probs: np.ndarray, label: int, lr: float) -> None:
        """Backpropagate the cross-entropy error of the last :meth:`forward` and update every layer."""
        delta = probs.astype(np.float32)
        delta[label] -= 1.0
        for l in range(len(self.layers) - 1, -1, -1):
            xb = self.layers[l]
            if l > 0:
                back = xb.backward(delta, checked=False)[:-1]
                a = self._inputs[l][:-1]
                prev_delta = back * a * (1.0 - a)
            xb.update(self._inputs[l], delta, lr, checked=False)
            if l > 0:
                delta = prev_delta

    def predict(self, x: np.ndarray) -> int:
        """Predicted class of one input through the analog forward pass."""
        return int(np.argmax(self.forward(x)))

    def advance(self, dt_s: float, *, hold_lsp: bool = False) -> None:
        """Let dt_s of hardware time pass on every layer (3T1C leakage, PCM drift); hold_lsp: only the PCM
        clock advances (:meth:`pycosim.array.Crossbar.advance`)."""
        for xb in self.layers:
            xb.advance(dt_s, hold_lsp=hold_lsp)

    def transfer(self) -> list:
        """Transfer every layer's LSP into its MSP pair; returns one TransferStats per layer
        (empty list for synapses without an LSP to transfer)."""
        out = []
        for xb in self.layers:
            if xb.scheme.has_lsp:
                out.append(xb.transfer())
        return out

    def state(self) -> dict:
        """The network's mutable state as plain data (for checkpoints; no pickle): ``{'sizes': [n_in, …,
        n_out], 'layers': [Crossbar.state() of each layer], 'init_stats': [per layer the scalar fields and
        the 'target'/'final' arrays of its initial-programming TransferStats]}``. Restore with
        :meth:`set_state` on a Network built with the same sizes, configs, bundle and generator."""
        import dataclasses

        return {"sizes": list(self.sizes), "layers": [xb.state() for xb in self.layers],
                "init_stats": [{f.name: getattr(s, f.name) for f in dataclasses.fields(s)} for s in self.init_stats]}

    def set_state(self, state: dict) -> None:
        """Restore :meth:`state` into this network (built as the saved one was: same sizes, configs, bundle
        and rng seed path), so it continues bit for bit. ConfigError (one line) if it does not fit."""
        from pycosim.array.transfer import TransferStats
        from pycosim.errors import ConfigError

        if not isinstance(state, dict) or not isinstance(state.get("layers"), list):
            raise ConfigError(f"network state: expected a dict with a list of layers, got {type(state).__name__}")
        sizes = tuple(int(s) for s in state.get("sizes", ()))
        if sizes != self.sizes or len(state["layers"]) != len(self.layers):
            raise ConfigError(f"network state of sizes {sizes} does not fit this network {self.sizes}")
        for xb, s in zip(self.layers, state["layers"]):
            xb.set_state(s)
        self.init_stats = [TransferStats(**s) for s in state.get("init_stats", [])]
