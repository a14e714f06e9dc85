"""'4pcm': two PCM pairs of different significance (Cristiano et al., J. Appl. Phys. 124, 151901 (2018)).

    W = scale·[F·(G⁺ − G⁻) + (g⁺ − g⁻)]

Devices 0, 1 are the MSP pair G⁺, G⁻; devices 2, 3 the LSP pair g⁺, g⁻. Update: |n| SET pulses on g⁺
(n > 0) or g⁻ (n < 0), with the LSP pair's saturation refresh; Δw_pulse = scale·m_k(G_reset). Transfer:
the moved synapses' LSP pairs are RESET, their MSP pair programmed to the read target
(:mod:`pycosim.array.transfer`).
"""

from __future__ import annotations

import numpy as np

from pycosim.array.schemes.analog import AnalogCrossbar
from pycosim.array.schemes.pcm2 import mean_first_step_S


class Pcm4(AnalogCrossbar):
    """'4pcm' (module docstring)."""

    N_PCM = 4

    def _build_lsp(self, bundle) -> None:
        self.dw_pulse = self.scale * mean_first_step_S(self.pcm_pop)

    def _lsp_w(self, flat, take):
        return take(self.Pe[2]) - take(self.Pe[3])

    def _lsp_lines(self, flat, take, wp, wn):
        return wp + take(self.Pe[2]), wn + take(self.Pe[3])

    def _update(self, x, d, lr):
        self._pcm_update(x, d, lr, base=2)

    def lsp_contribution(self) -> np.ndarray:
        return np.float32(self.scale) * (self.Pe[2] - self.Pe[3])

    def _reset_lsp(self, flat, moved, cols, opt):
        N = self.W.size
        self._reset(np.concatenate([2 * N + moved, 3 * N + moved]), "transfer_resets")
