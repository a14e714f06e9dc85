"""(a) Forward and transposed PWM reads of N random inputs, and the initial 3T1C state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.validation import model_side
from pycosim.validation.compare import Quantity
from pycosim.validation.experiments import US, labels
from pycosim.validation.setup import Setup
from pycosim.validation.spice_runs import SpiceResults


@dataclass(frozen=True)
class ReadsResult:
    """quantities: g_initial, g_shared, read_forward, read_transposed; y_forward (N, C) and y_transposed (N, R):
    the model's reads (network units, integrator lag on, as shipped); y_forward_ideal (n_eff, C): the model's
    forward reads with ideal virtual grounds (the size of its own lag)."""

    quantities: tuple[Quantity, ...]
    y_forward: np.ndarray
    y_transposed: np.ndarray
    y_forward_ideal: np.ndarray


def run(s: Setup, sp: SpiceResults) -> ReadsResult:
    """The model's reads of the devices placed in SPICE's states (s.xb placed by the caller)."""
    st, R, C, xb = s.state, s.rows, s.cols, s.xb
    dev = xb.devices()
    y_f, y_b = model_side.reads(xb, st.x, st.d)
    Q = [
        Quantity("g_initial", "3T1C g(V_C), initial state", sp.upd_g0_S, dev["g_S"], labels((R, C), "row", "column"), 0.01,
                 "µS", US, note="SPICE: each cell read alone at V_DS = V_read; model: the cell's row of lsp/g_of_vc_S"),
        Quantity("g_shared", "reference g_shared per column", sp.g_shared_S, dev["g_shared_S"], labels((C,), "column"), 0.01,
                 "µS", US),
        Quantity("read_forward", "forward read y = x·W", sp.y_forward, y_f, labels(y_f.shape, "input", "column"), 0.10,
                 "network units", median_tol=0.03, note="SPICE: integrator outputs decoded with the bundle's gain; model: "
                 "Crossbar.forward as shipped (virtual-ground lag per line), before the digital lag compensation"),
        Quantity("read_transposed", "transposed read y = W·δ", sp.y_transposed, y_b, labels(y_b.shape, "input", "row"), 0.10,
                 "network units", median_tol=0.03, note="SPICE: two phases per read, row integrators; model: "
                 "Crossbar.backward as shipped (virtual-ground lag per line), before the digital lag compensation"),
    ]
    s.xbi.set_devices(P=sp.G_1s_S, V=st.vc, pol=st.pol)
    y_ideal = model_side.forward_reads(s.xbi, st.x[:s.n_eff])
    return ReadsResult(tuple(Q), y_f, y_b, y_ideal)
