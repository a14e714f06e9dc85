"""Hardware counters of one crossbar (consumed by the energy and lifetime reports)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class Counters:
    """Event counts of one crossbar since it was built (plain ints; per-device RESETs as an array).

    integrations_forward / integrations_backward: integrator reads (one per output line per read);
    reads_forward / reads_backward: array reads (calls);
    lsp_up_pulses / lsp_down_pulses: 3T1C programming pulses of updates;
    pcm_update_set_pulses: SET pulses of updates ('4pcm' LSP pair, '2pcm');
    pcm_update_resets / pcm_update_reprogram_set_pulses: RESET and SET pulses of the occasional
        saturation refresh of '2pcm' / '4pcm' LSP pairs;
    transfer_set_pulses / transfer_resets: PCM SET and RESET pulses of transfers and weight programming
        (every closed-loop iteration counted);
    transfer_verify_reads: verify reads of closed-loop tuning (one per synapse per iteration) plus the
        initial read of each transferred synapse;
    transfer_iterations: closed-loop iterations (vectorised steps);
    lsp_resets: 3T1C transmission-gate resets;
    transfers: transfer calls;
    sim_time_s: simulated time passed to ``leak``;
    drift_ref_reads / drift_ref_set_pulses / drift_ref_resets: reads (one per reference device per read),
        SET pulses and RESETs of the drift-compensation reference devices (PeripheryConfig.drift_compensation;
        0 without it);
    pcm_resets_per_device: (n_pcm_per_synapse, n_in, n_out) uint32, RESETs of each PCM device (endurance);
    pcm_sets_per_device: same shape, SET pulses of each PCM device (updates, transfers, programming);
    pcm_worn_per_device: same shape, bool, devices past their endurance (PCMConfig.endurance_scale), stuck in
        their failure state; pcm_worn_at_s_per_device: float32, the layer's hardware time t_s (s) at which each
        device wore out (inf: not worn; empty without the endurance model);
    redundancy_switches: pair switch-overs of the redundant schemes (one pointer write per synapse switched);
    line_charge_forward_C / line_charge_backward_C / line_charge_verify_C / line_charge_ref_C: the charge (C)
        the read lines whose mirrors draw from the supply collect, summed over the forward reads (plus line of
        every pair, Q⁺ = V_read·t_x1·Σ_i min(|x_i|, 1)·Σ_j W⁺_ij), the transposed reads (every row line,
        V_read·t_x1·Σ_j min(|δ_j|/m, 1)·Σ_i (W⁺_ij + W⁻_ij)), the verify and target reads of programming and
        transfers (V_read·t_verify·W⁺ of each synapse read) and the drift-compensation reference reads
        (V_read·t_verify·G_ref); W^± the line conductances of :meth:`AnalogCrossbar._lines_of` (S), summed per row
        or column at the last line refresh (:meth:`AnalogCrossbar._refresh_line_q`). The energy report prices them
        with the bench's J per coulomb (integrator.e_read_mirror_J_per_C). 0 for 'ideal' layers;
    device_roles: the role label of each row of the per-device arrays (Crossbar.device_roles: 'G+', 'G-', …;
        the waiting pairs of redundant schemes repeat their significance's labels).
    """

    integrations_forward: int = 0
    integrations_backward: int = 0
    reads_forward: int = 0
    reads_backward: int = 0
    lsp_up_pulses: int = 0
    lsp_down_pulses: int = 0
    pcm_update_set_pulses: int = 0
    pcm_update_resets: int = 0
    pcm_update_reprogram_set_pulses: int = 0
    transfer_set_pulses: int = 0
    transfer_resets: int = 0
    transfer_verify_reads: int = 0
    transfer_iterations: int = 0
    lsp_resets: int = 0
    transfers: int = 0
    sim_time_s: float = 0.0
    drift_ref_reads: int = 0
    drift_ref_set_pulses: int = 0
    drift_ref_resets: int = 0
    redundancy_switches: int = 0
    line_charge_forward_C: float = 0.0
    line_charge_backward_C: float = 0.0
    line_charge_verify_C: float = 0.0
    line_charge_ref_C: float = 0.0
    pcm_resets_per_device: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.uint32))
    pcm_sets_per_device: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.uint32))
    pcm_worn_per_device: np.ndarray = field(default_factory=lambda: np.zeros((0,), bool))
    pcm_worn_at_s_per_device: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    device_roles: tuple = ()

    def clear_events(self) -> None:
        """Zero every event count (the scalar counters and the per-device RESET and SET counts), in place; the
        device state it also holds stays (which devices are worn and when, the role labels)."""
        for f in fields(self):
            if f.name in ("device_roles", "pcm_worn_per_device", "pcm_worn_at_s_per_device"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v[...] = 0
            else:
                setattr(self, f.name, type(v)(0))

    def as_dict(self) -> dict:
        """Plain dict (the per-device arrays summarised: RESETs max and total, SET pulses max, worn devices in
        total and per role, ``pcm_worn_by_role`` {role: n})."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if not f.name.endswith("_per_device") and f.name != "device_roles"}
        r = self.pcm_resets_per_device
        out["pcm_resets_max_per_device"] = int(r.max()) if r.size else 0
        out["pcm_resets_total"] = int(r.sum(dtype=np.int64)) if r.size else 0
        s = self.pcm_sets_per_device
        out["pcm_sets_max_per_device"] = int(s.max()) if s.size else 0
        out["pcm_sets_total"] = int(s.sum(dtype=np.int64)) if s.size else 0
        w = np.asarray(self.pcm_worn_per_device)
        out["pcm_worn_total"] = int(np.count_nonzero(w))
        out["pcm_devices"] = int(r.size)
        out["pcm_worn_by_role"] = worn_by_role(w, self.device_roles)
        return out


def worn_by_role(worn: np.ndarray, roles) -> dict:
    """{role: number of worn devices} of a (rows, …) bool array whose row i has role roles[i] (rows of the same
    role summed; 'dev{i}' when the roles are unknown)."""
    out: dict[str, int] = {}
    if worn.ndim == 0 or worn.size == 0:
        return out
    roles = tuple(roles) if roles is not None and len(roles) == worn.shape[0] else tuple(
        f"dev{i}" for i in range(worn.shape[0]))
    for i, role in enumerate(roles):
        out[role] = out.get(role, 0) + int(np.count_nonzero(worn[i]))
    return out
