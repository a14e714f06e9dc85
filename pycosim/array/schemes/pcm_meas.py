"""'2pcm+meas': a PCM pair plus a measured bidirectional device as the lower-significance part.

    W = scale·[F·(G⁺ − G⁻) + pol_j·(g − g_shared,j)]

The synapse of Ambrogio et al., Nature 558, 60 (2018) with its 3T1C cell replaced by a device the user
measured (``pycosim calibrate-data --role lsp``): g is the device's conductance, updated by the fitted
per-device response ΔG_up,k(G), ΔG_down,k(G) with its cycle-to-cycle σ (:mod:`pycosim.devices.measured_lsp`),
g_shared,j the column's reference device held at the mean reset level, pol_j the polarity bit. Transfer:
moved synapses' PCM pairs are tuned, every device of the columns is returned to its reset level (mid-range),
pol_j ← −pol_j. The device keeps its state between updates (no retention data: no leakage).

Everything else — the update pulses (up where n·pol_j > 0), the fused kernels, the state arrays (``V`` holds
the device's G in siemens) — is :class:`pycosim.array.schemes.pcm_3t1c.Pcm3T1C`'s.
"""

from __future__ import annotations

from pycosim.array.schemes.pcm_3t1c import Pcm3T1C
from pycosim.devices import measured_lsp


class PcmMeasured(Pcm3T1C):
    """'2pcm+meas' (module docstring)."""

    def _build_lsp(self, bundle) -> None:
        super()._build_lsp(measured_lsp.as_3t1c(bundle))

    def _advance_lsp(self, dt_s: float) -> None:
        """No retention data: the measured device keeps its conductance."""
