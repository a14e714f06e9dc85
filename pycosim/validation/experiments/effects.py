"""Physical effects measured one at a time: the integrators' virtual-ground lag (SPICE real against ideal
op-amp, beside the model's own lag), IR drop on the lines, the PCM's non-ohmic read, half-selected cells in
the update, a reset with the rows idle, the 3T1C read coupling and the single-ended integrator swing."""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields

import numpy as np

from pycosim.validation import compare, model_side
from pycosim.validation.experiments.cell import CellResult
from pycosim.validation.experiments.reads import ReadsResult
from pycosim.validation.setup import Setup
from pycosim.validation.spice_runs import SpiceResults


@dataclass(frozen=True)
class Effects:
    """One record per effect, as written to validate.json 'effects' (each with a 'description'):

    integrator_virtual_ground_lag: median_rel, max_rel (SPICE reads, calibrated vs ideal op-amp), model_median_rel,
        model_max_rel (the model's reads, lag on vs off) — relative changes (-);
    ir_drop: median_rel, max_rel (-), r_wire_ohm (Ω) — None when not measured;
    pcm_non_ohmic_read: measured (bool), bundle_read_v_V, v_read_V (V), G_ratio_median/min/max (-), median_rel,
        max_rel (-);
    update_half_select: cells (int), max_abs_dVC_V (V), max_over_step (-);
    reset_rows_idle: median_rel, max_rel (-), median_V, min_V, max_V (V);
    read_coupling_3t1c: median_V, min_V, max_V (V), g_change_median_rel (-);
    integrator_single_ended_swing: max_abs_V (V).
    """

    integrator_virtual_ground_lag: dict
    ir_drop: dict | None
    pcm_non_ohmic_read: dict
    update_half_select: dict
    reset_rows_idle: dict
    read_coupling_3t1c: dict
    integrator_single_ended_swing: dict

    def as_dict(self) -> dict:
        """validate.json 'effects' (ir_drop left out when not measured)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def run(s: Setup, sp: SpiceResults, reads: ReadsResult, cell: CellResult) -> Effects:
    st, xb, ne = s.state, s.xb, s.n_eff
    y_cal = sp.y_forward[:ne]
    m_lag = compare.effect_size(reads.y_forward[:ne], reads.y_forward_ideal)
    lag = dict(
        compare.effect_size(y_cal, sp.y_forward_ideal[:ne]), model_median_rel=m_lag["median_rel"], model_max_rel=m_lag["max_rel"],
        description=(
            "SPICE: forward reads with the calibrated op-amp (a0, GBW of the bundle) against an ideal one (a0 = 1e9, "
            "GBW = 10 THz): the virtual ground lags by I/(C_int·2π·GBW), so each device sees V_read minus that lag. "
            "In the array model (PeripheryConfig.integrator_lag, κ = 1/(1 + G_L/(C_int·2π·GBW)) per line): "
            "model_* is the same change of the model's forward reads, integrator_lag off against on"))
    ir = None
    if sp.y_forward_wire is not None:
        ir = dict(compare.effect_size(sp.y_forward_wire[:ne], y_cal), r_wire_ohm=s.r_wire_ohm, description=(
            f"forward reads with {s.r_wire_ohm:g} Ω of line resistance per cell pitch against ideal lines (IR drop "
            "along rows and columns, and the sneak currents it causes); not in the array model"))
    v_read = s.read_kw["v_read_V"]
    if s.non_ohmic:
        lo = copy.deepcopy(xb)
        lo.set_devices(P=sp.G_1s_vread_S)
        y_lo = model_side.forward_reads(lo, st.x)
        ratio = sp.G_1s_vread_S / sp.G_1s_S
        non_ohmic = {
            "measured": True, "bundle_read_v_V": s.v_pcm_V, "v_read_V": v_read,
            "G_ratio_median": float(np.median(ratio)), "G_ratio_min": float(ratio.min()), "G_ratio_max": float(ratio.max()),
            **compare.effect_size(y_lo, reads.y_forward),
            "description": (f"PCM G read at the crossbar's V_read = {v_read:g} V over G at the bundle's {s.v_pcm_V:g} V "
                            "(read self-heating and the amorphous sinh term); the array model uses the bundle's values. "
                            "The relative change is that of the forward reads computed by the model with either set"),
        }
    else:
        non_ohmic = {
            "measured": False, "bundle_read_v_V": s.v_pcm_V, "v_read_V": v_read,
            "G_ratio_median": 1.0, "G_ratio_min": 1.0, "G_ratio_max": 1.0, "median_rel": 0.0, "max_rel": 0.0,
            "description": (f"the bundle's PCM G is read at the crossbar's V_read = {v_read:g} V (pcm.read_v_V): the "
                            "model's G is the read value, nothing to correct (not simulated)"),
        }
    half = (cell.pulses == 0) & ((st.a > 0)[:, None] | (st.b > 0)[None, :])
    dv = np.abs(sp.upd_vc1_V - sp.upd_vc0_V)
    step = float(s.bundle.scalars["lsp"]["dv_up_mean_V"])
    half_select = {
        "cells": int(half.sum()), "max_abs_dVC_V": float(dv[half].max()) if half.any() else 0.0,
        "max_over_step": float(dv[half].max() / step) if half.any() else 0.0,
        "description": "V_C change of cells with n = 0 whose row or column fired (V_GS = 0 on the programming FET); "
                       "the array model changes only pulsed cells",
    }
    e_rst = compare.relative_errors(cell.reset_model_V - s.v_line_V, sp.idle_reset_vc_V - s.v_line_V)
    d_idle = sp.idle_reset_vc_V - sp.reset_vc_V
    rows_idle = {
        "median_rel": float(np.median(e_rst)), "max_rel": float(e_rst.max()),
        "median_V": float(np.median(d_idle)), "min_V": float(d_idle.min()), "max_V": float(d_idle.max()),
        "description": "a transmission-gate reset done with the rows idle at 0 V instead of held at V_read (the bench "
                       "protocol that the comparison and the array model follow): read at V_read afterwards, V_C is "
                       "higher by about the read-coupling step (*_V: idle minus held, after a hold; median_rel/max_rel: "
                       "its residual V_C − V_line against the array model's)",
    }
    delta = sp.upd_vc0_V - sp.upd_vc0_idle_V
    coupling = {
        "median_V": float(np.median(delta)), "min_V": float(delta.min()), "max_V": float(delta.max()),
        "g_change_median_rel": float(np.median(sp.upd_g0_S / model_side.g_at(xb, sp.upd_vc0_idle_V) - 1)),
        "description": "rise of the floating storage node V_C when the read FET's drain steps from 0 V (idle row) "
                       "to V_read (gate-drain coupling): the benches hold the drain at V_read throughout, so the "
                       "bundle's V_C is the read-bias value; in the crossbar the rows idle at 0 V. Reads agree; a "
                       "transmission-gate reset done with the rows idle leaves V_C higher by this step during reads",
    }
    swing = {
        "max_abs_V": float(sp.vout_max_V),
        "description": "largest |V_out − V_ref| of a read output during the reads (the column read integrates the "
                       "pair's net charge; each phase of a signed read separately); the calibrated integrator is "
                       f"linear to {s.bundle.scalars['integrator']['q_linear_max_C'] / s.read_kw['cint_F']:.2f} V",
    }
    return Effects(lag, ir, non_ohmic, half_select, rows_idle, coupling, swing)
