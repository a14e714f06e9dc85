"""'2pcm': one PCM pair per synapse, updated directly by SET pulses (Burr et al., IEEE TED 62, 3498 (2015)).

    W = scale·F·(G⁺ − G⁻)

Update: |n| SET pulses on G⁺ (n > 0) or G⁻ (n < 0), n the coincident pulse count
(:meth:`AnalogCrossbar._counts`); pairs whose larger device passed saturation_frac·G_max are RESET and their
difference reprogrammed open-loop onto one device. Δw_pulse = scale·F·m_k(G_reset) (the mean fitted first
SET step from the RESET floor). No LSP: a transfer moves nothing.
"""

from __future__ import annotations

import numpy as np

from pycosim.array.schemes.analog import AnalogCrossbar
from pycosim.devices import pcm


def mean_first_step_S(pop) -> float:
    """m_k(G_reset,k) averaged over the instances (S): the mean first SET step from the RESET floor."""
    return float(np.mean(np.exp(pcm.mean_log_dg(pop.g_reset_S, np.arange(pop.n), pop)))) * 1e-6


class Pcm2(AnalogCrossbar):
    """'2pcm' (module docstring)."""

    N_PCM = 2

    def _build_lsp(self, bundle) -> None:
        self.dw_pulse = self.scale * mean_first_step_S(self.pcm_pop) * self.cfg.F

    def _update(self, x, d, lr):
        self._pcm_update(x, d, lr, base=0)
