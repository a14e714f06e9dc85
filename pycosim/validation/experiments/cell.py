"""(b) One coincident update of every 3T1C cell and (d) the cells after a hold and a transmission-gate reset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.validation import model_side
from pycosim.validation.compare import Quantity
from pycosim.validation.experiments import MV, US, labels
from pycosim.validation.setup import UPDATE_A, UPDATE_B, Setup
from pycosim.validation.spice_runs import SpiceResults

RESET_NOTE = ("SPICE: transmission-gate reset with the rows held at V_read (the protocol of circuits/lsp_reset.cir, "
              "whence the model's lsp/reset_vfinal_V), read at V_read")


@dataclass(frozen=True)
class CellResult:
    """quantities: update_dvc, update_vc, update_g, update_dg (b), hold_dvc, reset_vc, reset_residual, reset_g (d);
    pulses (R, C) int: the update's signed pulse counts n_ij = a_i·b_j·σ_j; reset_model_V (R, C): the model's V_C
    after the reset (V)."""

    quantities: tuple[Quantity, ...]
    pulses: np.ndarray
    reset_model_V: np.ndarray


def run(s: Setup, sp: SpiceResults) -> CellResult:
    st, R, C, xb = s.state, s.rows, s.cols, s.xb
    rc = labels((R, C), "row", "column")
    dev = xb.devices()
    Q = []
    # (b) one update: n_ij = a_i·b_j·σ_j pulses, lr = one pulse per unit count
    a, b, sig = st.a, st.b, st.sigma
    n = a[:, None] * b[None, :] * sig[None, :]
    xu = model_side.update(xb, (a / UPDATE_A).astype(np.float32), (-sig * b / UPDATE_B).astype(np.float32),
                           model_side.dw_pulse(xb) * UPDATE_A * UPDATE_B)
    if xu.counters.lsp_up_pulses + xu.counters.lsp_down_pulses != int(np.abs(n).sum()):
        raise RuntimeError("update: the array model applied a different number of pulses than scheduled")
    du = xu.devices()
    pulsed = n != 0
    lab_p = [lbl for lbl, p in zip(rc, pulsed.ravel()) if p]
    dv_s, dv_m = sp.upd_vc1_V - sp.upd_vc0_V, du["V_C_V"].astype(float) - dev["V_C_V"]
    if pulsed.any():
        Q.append(Quantity("update_dvc", "update ΔV_C (pulsed cells)", dv_s[pulsed], dv_m[pulsed], lab_p, 0.10, "mV", MV,
                          note="n = a_i·b_j pulses by coincidence in SPICE; closed-form n-pulse step in the model"))
    Q.append(Quantity("update_vc", "update V_C", sp.upd_vc1_V, du["V_C_V"], rc, 0.01, "V"))
    Q.append(Quantity("update_g", "update g", sp.upd_g1_S, du["g_S"], rc, 0.05, "µS", US, need_frac=0.95))
    if pulsed.any():
        Q.append(Quantity("update_dg", "update Δg (pulsed cells)", (sp.upd_g1_S - sp.upd_g0_S)[pulsed],
                          (du["g_S"] - dev["g_S"])[pulsed], lab_p, 0.10, "µS", US))
    # (d) hold and reset
    v_hold, xr = model_side.hold_and_reset(xb, s.hold_s)
    dr = xr.devices()
    Q.append(Quantity("hold_dvc", f"hold ΔV_C ({s.hold_s * 1e3:.3g} ms)", sp.hold_vc1_V - sp.hold_vc0_V, v_hold - dev["V_C_V"],
                      rc, 0.10, "mV", MV, note="leakage with every programming FET off, rows and columns at 0 V"))
    Q.append(Quantity("reset_vc", "reset V_C", sp.reset_vc_V, dr["V_C_V"], rc, 0.01, "V", note=RESET_NOTE))
    Q.append(Quantity("reset_residual", f"reset residual V_C − {s.v_line_V:g} V", sp.reset_vc_V - s.v_line_V,
                      dr["V_C_V"] - s.v_line_V, rc, 0.10, "mV", MV, note=RESET_NOTE))
    Q.append(Quantity("reset_g", "g after reset", sp.reset_g_S, dr["g_S"], rc, 0.05, "µS", US, note=RESET_NOTE))
    return CellResult(tuple(Q), n, dr["V_C_V"].astype(float))
