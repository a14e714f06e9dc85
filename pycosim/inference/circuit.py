"""The circuit-derived inference model: the run's own devices, every number from the calibration bundle.

1. The 3T1C is volatile, so it is handled explicitly (option ``lsp_mode``):

   * ``transfer`` (default): one final transfer moves every layer's LSP contribution into its PCM pair
     (:meth:`pycosim.array.Crossbar.transfer`: closed- or open-loop as in training, with the run's
     tolerance and pulse budget) with threshold 0 — every contribution is moved, since no later transfer
     would pick it up — and without the polarity inversion (it serves only the updates that follow a
     transfer in training; on a last transfer it would flip each cell's reset residual). The capacitors
     are reset and the transmission gate holds them at their reset value during inference
     (``Crossbar.advance(hold_lsp=True)``), so only the PCM drifts. This is what the hardware must do: the
     capacitors leak in seconds (dV_C/dt ≈ 0.02 V/s at V_C = 0.5 V on the shipped bundle), so weights
     kept for hours or years can be kept only in the PCM. ('4pcm': the LSP pair is PCM; moved pairs are
     RESET as in training.)
   * ``leak``: no final transfer; the 3T1C leaks for t (exact piecewise closed form), its contribution
     pol·(g(V_C(t)) − g_shared) running toward the leakage target (``Crossbar.advance(hold_lsp=False)``).

2. Time passes: every PCM device drifts from its own programming time (its last SET/RESET),
   the circuit's own drift curve of its level and device (the bundle's reads 10 µs … 10⁴ s after programming,
   interpolated in ln(t + t_on), then ((t + t_on)/(10⁴ s + t_on))^(−ν); :func:`pycosim.devices.pcm.drift_with`),
   re-evaluated at t (``advance(…, settle=True)``).

3. The test set is read through the analog forward pass with the circuit's read noise (1/f law of the
   bench), integrator noise, gain/offset mismatch, PWM and ADC.
"""

from __future__ import annotations

import copy

import numpy as np

from pycosim.errors import ConfigError
from pycosim.inference.base import InferenceModel

LSP_MODES = ("transfer", "leak")

_TRANSFER_FACTS = ("n_moved", "frac_within_tol", "err_rms", "set_pulses", "resets", "dropped_abs_sum")


def consolidate(net) -> list:
    """Final transfer of every layer with an LSP into its PCM pair, in place: the run's transfer with
    threshold 0 and without polarity inversion (module docstring). The layers transfer in parallel, so time
    t = 0 of the curve is the end of the slowest layer's closed loop: every layer then lets
    max over layers of TransferStats.loop_wait_s (iterations × verify delay) pass, 3T1C held, so that no
    device is read younger than at its own verify read (with a verify delay a device read at its programming
    age would show the conductance it had before the drift the loop verified against). Returns the
    TransferStats."""
    stats = [xb.transfer(threshold=0.0, invert_polarity=False) for xb in net.layers if xb.scheme.has_lsp]
    wait = max((s.loop_wait_s for s in stats), default=0.0)
    if wait > 0:
        advance(net, wait, "transfer")
    return stats


def advance(net, t_s: float, lsp_mode: str = "transfer") -> None:
    """Let t_s of hardware time pass on every layer of *net* (in place) and re-evaluate the PCM drift now.
    'transfer': the 3T1C held at its value, only the PCM drifts; 'leak': the 3T1C leaks for t_s too."""
    for xb in net.layers:
        xb.advance(t_s, hold_lsp=lsp_mode != "leak", settle=True)


class CircuitModel(InferenceModel):
    """The circuit-derived model (module docstring). Option *lsp_mode*: 'transfer' (default) or 'leak'."""

    name = "circuit"
    options = ("lsp_mode",)

    def __init__(self, lsp_mode: str = "transfer"):
        if lsp_mode not in LSP_MODES:
            raise ConfigError(f"--lsp {lsp_mode!r}: allowed values are {', '.join(LSP_MODES)}")
        self.lsp_mode = lsp_mode

    def prepare(self, net, rng: np.random.Generator):
        """A copy of *net*, each layer drawing from its own child of *rng*; in 'transfer' mode after the
        final transfer. The chip is (network, transfer statistics)."""
        base = copy.deepcopy(net)
        for xb, child in zip(base.layers, rng.spawn(len(base.layers))):
            xb.reseed(child)
        stats = consolidate(base) if self.lsp_mode == "transfer" else []
        return base, stats

    def at_time(self, chip, t_s: float):
        nt = copy.deepcopy(chip[0])
        advance(nt, t_s, self.lsp_mode)
        return nt

    def chip_info(self, chip) -> dict:
        """{"final_transfer": per layer with an LSP the summary of the final transfer (none in 'leak' mode)}."""
        return {"final_transfer": [{k: s.as_dict()[k] for k in _TRANSFER_FACTS} for s in chip[1]]}
