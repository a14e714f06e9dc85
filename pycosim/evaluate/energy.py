"""Energy per training example (by phase), per inference and per transfer, and operations per second per watt.

Every number is a hardware counter of the run (``metrics.json`` → ``counters``, one dict per layer,
:meth:`pycosim.array.counters.Counters.as_dict`) times a per-operation energy, which is either a scalar of
the calibration bundle (measured on a bench) or computed from an **assumed** constant of
:mod:`pycosim.assumptions` (named, with source and unit; the timing uses the same module):

    E_phase = Σ_layers Σ_op count_phase,op,layer · e_op,layer

| operation (unit counted) | energy of one | from |
|---|---|---|
| ``integration`` (one line read, plus the counted line charge) | column read (:func:`integration_estimate_J`): n_lines·(E_idle·t_int/t_idle + C_int·swing·V_DD)/lines + k·Q⁺, lines = 2 per pair read (forward, verify), 1 per row line (transposed), Q⁺ the plus-line charge the array counted (``counters.line_charge_*_C``) | bench ``circuits/integrator_diff.cir`` at zero, half and full input (``integrator.e_read_idle_J``, ``e_read_idle_t_s``, ``e_read_mirror_J_per_C``, ``e_read_cint_J``) |
| ``integrator_bias`` (one line read) | AMPLIFIERS_PER_LINE_READ·P_opamp·(t_rst + t_int), P_opamp = 2·g_m/(g_m/I_D)·V_DD | assumption (OPAMP_GM_OVER_ID), t_int the layer's derived window |
| ``adc_conversion`` (one column read: a pair forward, a row line transposed) | FoM_W·2^ENOB | assumption (ADC_FOM_WALDEN_J; Walden 1999, Murmann survey) |
| ``digital_neuron`` (one line result) | E_NEURON_J | assumption (Horowitz, ISSCC 2014) |
| ``line_charging`` (one cell length of a driven read line) | C_cell·V_read² | assumption (C_WIRE_PER_M·CELL_PITCH_M) |
| ``row_drivers`` (same events) | C_cell·V_read·(V_DD − V_read) | same; the driver's loss charging from V_DD |
| ``update_drivers`` (one cell length of a pulsed update line) | C_cell·ΔV_gate·V_gate-supply | same, levels of ``circuits/lsp_up_down.cir`` |
| ``programming_lines`` (bit line per SET/RESET pulse, word line per row slot) | n_rows·C_cell·V_pulse², n_out·C_cell·V_gate² | same, levels of the PCM benches |
| ``pcm_set`` / ``pcm_reset`` (one pulse on one device) | ``pcm.e_set_J`` / ``pcm.e_reset_J`` | bench |
| ``lsp_up`` / ``lsp_down`` (one coincidence) | ``lsp.e_up_J`` / ``lsp.e_down_J`` | bench |
| ``lsp_reset`` (one cell) | ``lsp.e_reset_J`` | bench ``circuits/lsp_reset.cir`` |

Counting (per layer of n_rows = n_in + 1 rows and n_out outputs; upper bounds where a counter is missing):

* column-read energy: an ESTIMATE from the line charge each read actually drove through the mirrors. The array
  counts per read Q⁺ = V_read·t_x1·Σ_i min(|x_i|, 1)·Σ_j W⁺_ij (forward: the plus line of every pair, whose PMOS
  mirror draws 2·I⁺ from V_DD), Σ_j min(|δ_j|/m, 1)·V_read·t_x1·Σ_i (W⁺_ij + W⁻_ij) (transposed: every row
  line) and V_read·t_verify·W⁺ per verify read (:class:`pycosim.array.counters.Counters`). Residual
  approximations: the line sums Σ W^± are those of the last line refresh (drift refresh, transfer, programming,
  and every 256 reads), so the updates since then are not in them; the PWM rounding of x̂ is not applied
  (≤ 1/(2·(2^bits − 1)) per row); signed inputs count |x| (a negative pulse drives the same charge); the
  transposed read counts the gross row-line charge (both devices of a pair conduct into the row line); the
  forward (verify) charge is shared between training and test (initial programming and transfers) by read
  count. The former price, every line read at full input (every row of a 785-row line driven for the whole
  window, :func:`integration_energy_J`), is reported beside the totals as ``integration.full_input_bound``
  and used (labelled "full input (upper bound)") for runs or bundles without the counted charge or the split.

* forward read: 2·n_out line reads (p and n column lines, LINES_PER_OUTPUT_FORWARD), n_out neuron results,
  n_rows·n_out cell charges (every row line driven: inputs of zero are not counted by the arrays' counters,
  so this is an upper bound); the train share is one read per example, the rest are test inference.
* transposed read: n_rows line reads (row lines), n_rows neuron results, n_rows·n_out cell charges.
* update (one per layer and example): every row and column line pulsed in every one of the max_pulses
  slots, 2·n_rows·n_out cell charges per slot (upper bound), plus the counted 3T1C coincidences and PCM pulses.
* transfer: per verify read of a synapse 2 line reads and one digital compare; per row-parallel verify read
  n_out cell charges, (iterations + 1)·n_rows row reads per transfer (the target read included); the word
  line of every row slot of every iteration; the bit line of every SET/RESET pulse; the 3T1C resets.
  With drift compensation (periphery.drift_compensation) the reference devices' SET and RESET pulses and
  their reads (each priced as one verify-window line read and one digital operation, an upper bound: a
  design may sum a column's references on one line) are added to this phase, where they are programmed.

Operations (MAC = 2 operations; the bias row is a physical row, so a layer has (n_in + 1)·n_out MACs):
inference 2·Σ_l (n_in,l + 1)·n_out,l; training example: that, plus the same for the backward reads of
layers 2…L and for the outer-product update of every layer (the convention of Ambrogio et al., Nature 558,
60 (2018): forward, backward and update each counted as multiply-accumulates over the array). Efficiency
= operations/energy (GOP/s/W = GOP/J, independent of time). Two figures: **full** (every term above) and
**analog core** (the bundle's integrator charge and device-programming energies only: the scope of
pycosim's earlier headline, for comparison with Ambrogio et al.'s projected 28,065 GOP/s/W; whether their
projection left out exactly these periphery terms is not verified here). Time per example (for power and
throughput) from :func:`pycosim.timing.hardware` (the run's ``metrics.json`` → ``hardware_timing``) plus the
transfers' own duration spread over the examples (``metrics.json`` → ``transfers.total_duration_s``).

Array conduction (V_read·I in the devices) is the only energy not in the totals: an upper bound from the
checkpoint's conductances is printed beside them (:func:`read_conduction_bound_J`).
"""

from __future__ import annotations

import numpy as np

from pycosim import assumptions as A

#: Bundle-priced operations: operation → (bundle section, scalar name, meaning)
OPERATIONS = {
    "integration": ("integrator", "e_read_J", "column read of one line at FULL input (upper bound, not the "
                    "totals' price: idle + e_read_mirror_J_per_C x counted line charge + C_int swing, "
                    "integration_estimate_J)"),
    "pcm_set": ("pcm", "e_set_J", "partial-SET pulse on one PCM device"),
    "pcm_reset": ("pcm", "e_reset_J", "RESET pulse on one PCM device"),
    "lsp_up": ("lsp", "e_up_J", "3T1C up pulse"),
    "lsp_down": ("lsp", "e_down_J", "3T1C down pulse"),
    "lsp_reset": ("lsp", "e_reset_J", "3T1C transmission-gate reset of one cell"),
}
#: Operations priced from the assumed constants of pycosim.assumptions: operation → meaning
ASSUMED_OPERATIONS = {
    "integrator_bias": "op-amp bias of one line read, P_opamp·(t_rst + t_int) (OPAMP_GM_S, OPAMP_GM_OVER_ID)",
    "adc_conversion": "ADC conversion of one line read, FoM_W·2^ENOB (ADC_FOM_WALDEN_J)",
    "digital_neuron": "digital neuron operation on one line result (E_NEURON_J)",
    "line_charging": "one cell length of a driven read line, C_cell·V_read² (C_WIRE_PER_M, CELL_PITCH_M)",
    "row_drivers": "read-driver loss for the same, C_cell·V_read·(V_DD − V_read) (V_DD_DRIVER_V)",
    "update_drivers": "one cell length of a pulsed update line, C_cell·ΔV_gate·V_supply (V_UPDATE_*)",
    "programming_lines": "bit line of one SET/RESET pulse (n_rows·C_cell·V²) and word line of one row slot "
                         "(n_out·C_cell·V_gate²)",
}
ALL_OPERATIONS = tuple(OPERATIONS) + tuple(ASSUMED_OPERATIONS)
#: The analog-core scope (the earlier headline): the bundle's own operations.
CORE_OPERATIONS = tuple(OPERATIONS)
PHASES = ("forward", "backward", "update", "transfer")
ONE_TIME = ("initial programming", "test inference")
#: Ambrogio et al., Nature 558, 60 (2018): projected energy efficiency of their chip (GOP/s/W).
AMBROGIO_GOPS_PER_W = 28065.0

#: Energies that no counter and no energy of this module covers: never in the totals.
NOT_MODELLED = (
    "array conduction during reads (V_read·I in the PCM and 3T1C devices; an upper bound from the checkpoint's "
    "conductances is printed separately when available)",
    "static/leakage power of the periphery outside the reads, control logic, and SRAM/DRAM traffic of inputs, "
    "labels and activations",
)


#: Amplifiers biased per line read of the column read (netlists/integrator.lib, colread): a pair read (forward,
#: verify) has two conveyors and one integrator op-amp for two lines; a transposed read one conveyor and one
#: integrator per row line. Each priced as one op-amp of :func:`pycosim.assumptions.opamp_power_W`.
AMPLIFIERS_PER_LINE_READ = {"forward": 1.5, "backward": 2.0, "verify": 1.5}
#: Lines sharing one column read: a pair (forward, verify), a single row line (transposed).
LINES_PER_READ = {"forward": 2, "backward": 1, "verify": 2}


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integration_energy_J(integ: dict, t_int_s: float, lines: int) -> float | None:
    """UPPER BOUND (J) of one LINE read of the column read over a window t_int_s (bench ``integrator_diff``):
    E = (E_mirrors·t_int/t_window + C_int·swing·V_DD)/lines. E_mirrors = V_DD·∫I_vdd dt of a full-input read
    (every row driven for the whole PWM window, the mirrors copy the line currents from V_DD, a 785-row line),
    which scales with the read's duration; the integrator's C_int·swing·V_DD does not; *lines* share one read
    (2: the pair of a forward or verify read; 1: a transposed read's row line). The totals use
    :func:`integration_estimate_J` where the run counted its line charge; this figure is reported beside them.
    Falls back to integrator.e_read_J per line (a bundle without the column read's scalars); None without
    that either."""
    e_m, e_c, t_w = (integ.get(k) for k in ("e_read_mirrors_J", "e_read_cint_J", "t_window_s"))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (e_m, e_c, t_w)) and t_w > 0:
        return float((e_m * t_int_s / t_w + e_c) / lines)
    v = integ.get("e_read_J")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def mirror_J_per_C(integ: dict) -> float | None:
    """The mirrors' supply energy per coulomb of plus-line charge, k = (E_vdd,full − E_idle)/Q⁺_line (J/C,
    bundle ``integrator.e_read_mirror_J_per_C``, bench ``integrator_diff`` at full and zero input;
    :func:`pycosim.characterize.integrator.mirror_energy_split`); None when the bundle lacks the split."""
    k = integ.get("e_read_mirror_J_per_C")
    return float(k) if _num(k) and k >= 0 else None


def integration_fixed_J(integ: dict, t_int_s: float, lines: int) -> float | None:
    """The input-independent energy (J) of one LINE read over a window t_int_s:

        E_fixed = (E_idle·t_int/t_idle + C_int·swing·V_DD)/lines

    E_idle = ``integrator.e_read_idle_J``, the bench's supply energy of a read at zero input over
    t_idle = ``e_read_idle_t_s`` (bench ``integrator_diff``, vread = 0; the mirrors' idle current, scaled to the
    layer's window); C_int·swing·V_DD = ``e_read_cint_J`` (the integrator's full-scale swing, an upper bound of
    that small term); *lines* share one read as in :func:`integration_energy_J`. None when the bundle lacks the
    split."""
    e_i, t_i, e_c = (integ.get(k) for k in ("e_read_idle_J", "e_read_idle_t_s", "e_read_cint_J"))
    if not (_num(e_i) and _num(t_i) and _num(e_c) and t_i > 0 and mirror_J_per_C(integ) is not None):
        return None
    return float((e_i * t_int_s / t_i + e_c) / lines)


def integration_estimate_J(integ: dict, t_int_s: float, lines: int, line_reads: float, q_C: float) -> float | None:
    """Estimated column-read energy (J) of *line_reads* line reads over a window t_int_s that together collected
    the counted plus-line charge q_C (C; :class:`pycosim.array.counters.Counters`, ``line_charge_*``):

        E = line_reads·E_fixed + k·q_C

    E_fixed of :func:`integration_fixed_J` (idle mirrors + C_int swing), k of :func:`mirror_J_per_C` (the
    plus chain's PMOS mirror draws I_vdd = 2·I⁺ from V_DD: netlists/integrator.lib, colread; measured on the
    bench at zero, half and full input, linear within ``e_read_mirror_linearity_error``). None when the bundle
    lacks the split (the caller prices the reads with :func:`integration_energy_J`, an upper bound)."""
    fixed, k = integration_fixed_J(integ, t_int_s, lines), mirror_J_per_C(integ)
    if fixed is None or k is None:
        return None
    return float(line_reads * fixed + k * q_C)


def per_op_energies(scalars: dict) -> dict:
    """{operation: e (J) or None when the bundle lacks it} of the bundle-priced operations (``bundle.scalars``)."""
    out = {}
    for op, (sec, key, _) in OPERATIONS.items():
        v = (scalars.get(sec) or {}).get(key)
        out[op] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return out


def init_counts(net) -> list[dict]:
    """Per layer the SET/RESET/verify-read/iteration counts of the initial weight programming, from the
    checkpoint's ``net.init_stats`` (the TransferStats of :meth:`Crossbar.program`; program() has no other
    reads or resets). The per-transfer statistics in metrics.json cannot give them: a transfer also counts its
    target read and, in '4pcm', the RESETs of the moved LSP pairs outside its TransferStats."""
    return [{"set_pulses": int(s.set_pulses), "resets": int(s.resets), "verify_reads": int(s.verify_reads),
             "iterations": int(s.iterations)} for s in net.init_stats]


def _hw_layers(metrics: dict, hw: dict | None) -> list[dict]:
    """Per layer {n_rows, n_out, read_v_V, t_int_forward_s, t_int_backward_s, t_verify_s} from the run's
    hardware timing; the PWM fallback window where a run predates it."""
    from pycosim import timing

    layers = [int(x) for x in metrics["layers"]]
    got = ((hw or metrics.get("hardware_timing") or {}).get("layers")) or []
    out = []
    for l in range(len(layers) - 1):
        d = dict(got[l]) if l < len(got) else {}
        d.setdefault("n_rows", layers[l] + 1)
        d.setdefault("n_out", layers[l + 1])
        d.setdefault("read_v_V", 0.1)
        for k in ("t_int_forward_s", "t_int_backward_s", "t_verify_s"):
            d.setdefault(k, timing.T_INT_S)
        out.append(d)
    return out


def layer_energies(scalars: dict, hwl: dict, *, adc_bits: int | None = 8) -> dict:
    """Energy (J) of one counted event of every operation for one layer (*hwl*: a :func:`_hw_layers` entry).
    Bundle-priced operations may be None (bundle lacks the scalar); integrator_bias and integration have one
    value per read direction (keys ``…_forward``, ``_backward``, ``_verify``; the bare key is the forward one):
    ``integration_<d>`` the full-input upper bound per line read (:func:`integration_energy_J`),
    ``integration_fixed_<d>`` the input-independent part per line read and ``mirror_J_per_C`` the part per
    coulomb of counted line charge (:func:`integration_estimate_J`; None without the bundle's split)."""
    e = per_op_energies(scalars)
    integ, pcm = scalars.get("integrator") or {}, scalars.get("pcm") or {}
    v_dd = float(integ.get("v_sat_hi_V") or A.V_DD_DRIVER_V.value)
    p_bias = A.opamp_power_W(v_dd)
    t_rst = A.T_INT_RESET_S.value
    c = A.c_cell_F()
    vr = float(hwl["read_v_V"])
    v_set, v_reset = float(pcm.get("set_v_V", 1.6)), float(pcm.get("reset_v_V", 2.5))
    amps = AMPLIFIERS_PER_LINE_READ
    e.update({
        "integrator_bias_forward": amps["forward"] * p_bias * (t_rst + hwl["t_int_forward_s"]),
        "integrator_bias_backward": amps["backward"] * p_bias * (t_rst + hwl["t_int_backward_s"]),
        "integrator_bias_verify": amps["verify"] * p_bias * (t_rst + hwl["t_verify_s"]),
        **{f"integration_{d}": integration_energy_J(integ, hwl[f"t_int_{d}_s" if d != "verify" else "t_verify_s"],
                                                    LINES_PER_READ[d]) for d in ("forward", "backward", "verify")},
        **{f"integration_fixed_{d}": integration_fixed_J(integ, hwl[f"t_int_{d}_s" if d != "verify" else "t_verify_s"],
                                                         LINES_PER_READ[d]) for d in ("forward", "backward", "verify")},
        "mirror_J_per_C": mirror_J_per_C(integ),
        "adc_conversion": A.adc_energy_J(adc_bits),
        "digital_neuron": A.E_NEURON_J.value,
        "line_charging": c * vr * vr,
        "row_drivers": c * vr * max(v_dd - vr, 0.0),
        "update_drivers": c * A.V_UPDATE_GATE_SWING_V.value * A.V_UPDATE_SUPPLY_V.value,
        "set_bit_line": hwl["n_rows"] * c * v_set ** 2,
        "reset_bit_line": hwl["n_rows"] * c * v_reset ** 2,
        "word_line_slot": hwl["n_out"] * c * A.V_PROGRAM_GATE_V.value ** 2,
    })
    e["integrator_bias"] = e["integrator_bias_forward"]
    e["integration"] = e["integration_forward"]
    return e


def _layer_events(c: dict, ini: dict, hwl: dict, ex: int, n_pulse_max: int, lines_fwd: int) -> dict:
    """{phase: {event: count}} of one layer (module docstring, "Counting")."""
    R, N = int(hwl["n_rows"]), int(hwl["n_out"])
    g = lambda k: int(c.get(k, 0) or 0)  # noqa: E731
    q = lambda k: float(c.get(k, 0.0) or 0.0)  # noqa: E731
    counted = all(f"line_charge_{d}_C" in c for d in ("forward", "backward", "verify", "ref"))
    reads = g("reads_forward")
    tr_reads = reads and min(ex, reads)
    out = {}
    for ph, nr in (("forward", tr_reads), ("test inference", reads - tr_reads)):
        out[ph] = {"line_reads_forward": lines_fwd * N * nr, "digital_neuron": N * nr, "cells_read": R * N * nr}
        if counted:      # the forward charge shared by read count between training and test reads
            out[ph]["line_charge_forward"] = q("line_charge_forward_C") * nr / reads if reads else 0.0
    rb = g("reads_backward")
    out["backward"] = {"line_reads_backward": R * rb, "digital_neuron": R * rb, "cells_read": R * N * rb}
    if counted:
        out["backward"]["line_charge_backward"] = q("line_charge_backward_C")
    out["update"] = {"lsp_up": g("lsp_up_pulses"), "lsp_down": g("lsp_down_pulses"),
                     "pcm_set": g("pcm_update_set_pulses") + g("pcm_update_reprogram_set_pulses"),
                     "pcm_reset": g("pcm_update_resets"),
                     "update_cells": 2 * R * N * n_pulse_max * ex}
    ver = g("transfer_verify_reads") - ini["verify_reads"]
    it = g("transfer_iterations") - ini.get("iterations", 0)
    ref = g("drift_ref_reads")         # drift-compensation reference devices (0 without them)
    out["transfer"] = {"pcm_set": g("transfer_set_pulses") - ini["set_pulses"] + g("drift_ref_set_pulses"),
                       "pcm_reset": g("transfer_resets") - ini["resets"] + g("drift_ref_resets"),
                       "line_reads_verify": lines_fwd * ver + ref, "digital_neuron": ver + ref,
                       "cells_read": N * R * (it + g("transfers")), "word_line_slots": R * it,
                       "lsp_reset": g("lsp_resets")}
    iti = ini.get("iterations", 0)
    out["initial programming"] = {"pcm_set": ini["set_pulses"], "pcm_reset": ini["resets"],
                                  "line_reads_verify": lines_fwd * ini["verify_reads"],
                                  "digital_neuron": ini["verify_reads"], "cells_read": N * R * iti,
                                  "word_line_slots": R * iti}
    if counted:          # verify charge shared by read count between the initial programming and the transfers
        tot = g("transfer_verify_reads")
        qv = q("line_charge_verify_C")
        out["initial programming"]["line_charge_verify"] = qv * ini["verify_reads"] / tot if tot else 0.0
        out["transfer"]["line_charge_verify"] = (qv * ver / tot if tot else 0.0) + q("line_charge_ref_C")
    return out


def _conversions(line_reads: dict) -> float:
    """ADC conversions of {direction: line reads}: one per column read (LINES_PER_READ lines share it)."""
    return sum(n / LINES_PER_READ[d] for d, n in line_reads.items())


def _integration_parts(ev: dict, e: dict) -> dict | None:
    """The column-read energy (J) of one layer-phase's events *ev* with the layer energies *e*:
    {"fixed": Σ_d n_d·E_fixed,d, "line_charge": k·Σ_d Q_d, "full_input_bound": Σ_d n_d·E_full,d, "counted": bool}
    (:func:`integration_estimate_J`, :func:`integration_energy_J`; n_d line reads and Q_d counted plus-line
    charge of direction d). Without a counted charge or the bundle's split: fixed = the bound, line_charge = 0,
    counted False. None when the bundle has no column-read energy at all."""
    lr = {d: ev.get(f"line_reads_{d}", 0) for d in ("forward", "backward", "verify")}
    used = [d for d, n in lr.items() if n]
    bound = [(lr[d], e.get(f"integration_{d}", e["integration"])) for d in used]
    if any(v is None for _, v in bound):
        return None
    b = float(sum(n * v for n, v in bound))
    k = e.get("mirror_J_per_C")
    fixed = [e.get(f"integration_fixed_{d}") for d in used]
    if k is None or any(v is None for v in fixed) or any(f"line_charge_{d}" not in ev for d in used):
        return {"fixed": b, "line_charge": 0.0, "full_input_bound": b, "counted": not used}
    return {"fixed": float(sum(lr[d] * v for d, v in zip(used, fixed))),
            "line_charge": float(k * sum(ev[f"line_charge_{d}"] for d in used)), "full_input_bound": b,
            "counted": True}


def _price(ev: dict, e: dict) -> dict:
    """{operation: J} of one layer-phase's events *ev* with the layer energies *e* (None: bundle lacks it)."""
    lr = {d: ev.get(f"line_reads_{d}", 0) for d in ("forward", "backward", "verify")}
    parts = _integration_parts(ev, e)
    J = {"integration": None if parts is None else parts["fixed"] + parts["line_charge"],
         "integrator_bias": sum(n * e[f"integrator_bias_{d}"] for d, n in lr.items()),
         "adc_conversion": _conversions(lr) * e["adc_conversion"],
         "digital_neuron": ev.get("digital_neuron", 0) * e["digital_neuron"],
         "line_charging": ev.get("cells_read", 0) * e["line_charging"],
         "row_drivers": ev.get("cells_read", 0) * e["row_drivers"],
         "update_drivers": ev.get("update_cells", 0) * e["update_drivers"],
         "programming_lines": ev.get("pcm_set", 0) * e["set_bit_line"] + ev.get("pcm_reset", 0) * e["reset_bit_line"]
                              + ev.get("word_line_slots", 0) * e["word_line_slot"]}
    for op in ("pcm_set", "pcm_reset", "lsp_up", "lsp_down", "lsp_reset"):
        J[op] = None if e[op] is None else ev.get(op, 0) * e[op]
    return J


def event_counts(metrics: dict, init: list[dict], hw: dict | None = None, n_pulse_max: int | None = None) -> dict:
    """{phase: {operation: count}} summed over the layers (phases: forward, backward, update, transfer,
    initial programming, test inference; module docstring "Counting"). Line reads count for integration,
    integrator_bias and adc_conversion; cell charges for line_charging and row_drivers."""
    layers = _hw_layers(metrics, hw)
    if len(init) != len(metrics["counters"]):
        raise ValueError(f"init counts of {len(init)} layers for {len(metrics['counters'])} counter sets")
    npm = int(n_pulse_max or (hw or metrics.get("hardware_timing") or {}).get("n_pulse_max") or 8)
    lines = int(A.LINES_PER_OUTPUT_FORWARD.value)
    phases = {p: {} for p in PHASES + ONE_TIME}
    for c, ini, hwl in zip(metrics["counters"], init, layers):
        for ph, ev in _layer_events(c, ini, hwl, int(metrics["examples_seen"]), npm, lines).items():
            d = phases[ph]
            n_lines = sum(ev.get(f"line_reads_{x}", 0) for x in ("forward", "backward", "verify"))
            conv = _conversions({d: ev.get(f"line_reads_{d}", 0) for d in ("forward", "backward", "verify")})
            for op, n in (("integration", n_lines), ("integrator_bias", n_lines), ("adc_conversion", conv),
                          ("line_charging", ev.get("cells_read", 0)), ("row_drivers", ev.get("cells_read", 0)),
                          ("update_drivers", ev.get("update_cells", 0)),
                          ("programming_lines", ev.get("pcm_set", 0) + ev.get("pcm_reset", 0)
                           + ev.get("word_line_slots", 0))):
                d[op] = d.get(op, 0) + n
            for op in ("digital_neuron", "pcm_set", "pcm_reset", "lsp_up", "lsp_down", "lsp_reset"):
                if op in ev:
                    d[op] = d.get(op, 0) + ev[op]
    return {p: {op: n for op, n in ops.items() if n} for p, ops in phases.items()}


def operations(layers) -> dict:
    """Operations (2 per MAC, bias row included) of one inference and of one training example."""
    sizes = [int(s) for s in layers]
    macs = [(n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    inf = 2 * sum(macs)
    return {"inference": inf, "training_example": inf + 2 * sum(macs[1:]) + 2 * sum(macs)}


def energy(metrics: dict, scalars: dict, init: list[dict], *, timing_kw: dict | None = None, hw: dict | None = None,
           adc_bits: int | None = 8) -> dict:
    """Energy and efficiency of the run of *metrics* with the bundle *scalars* (module docstring); *init*:
    the initial-programming counts of the run (:func:`init_counts` of its checkpoint's network); *hw*: the
    run's :func:`pycosim.timing.hardware` (default ``metrics["hardware_timing"]``); *timing_kw*: only for
    runs without it (PWM fallback timing).

    Returns {"per_op_J" (layer 1, forward where it matters), "per_op_J_by_layer", "counts" {phase: {op: n}},
    "phase_J" {phase: J}, "phase_op_J" {phase: {op: J}}, "total_J", "per_example_J" {phase: J, "total"},
    "per_example_op_J" {op: J}, "per_inference_J", "integration" {basis, per_example_J / per_inference_J /
    phase_J: {fixed, line_charge, full_input_bound}, line_charge_share_of_total, note} (the column-read term
    split as in :func:`integration_estimate_J`, with its full-input upper bound), "operations", "gops_per_W" {training, inference,
    training_core, inference_core}, "time_s" {training_example, inference, breakdown (with a transfer
    term)}, "power_W", "throughput_ops_per_s", "missing", "not_modelled", "assumptions"}."""
    from pycosim import timing

    hw = hw or metrics.get("hardware_timing")
    layers_hw = _hw_layers(metrics, hw)
    npm = int((hw or {}).get("n_pulse_max") or (timing_kw or {}).get("n_pulse_max") or 8)
    lines = int(A.LINES_PER_OUTPUT_FORWARD.value)
    ex = max(int(metrics["examples_seen"]), 1)
    if len(init) != len(metrics["counters"]):
        raise ValueError(f"init counts of {len(init)} layers for {len(metrics['counters'])} counter sets")
    per_layer_e = [layer_energies(scalars, h, adc_bits=adc_bits) for h in layers_hw]
    phase_op = {p: {op: 0.0 for op in ALL_OPERATIONS} for p in PHASES + ONE_TIME}
    parts_keys = ("fixed", "line_charge", "full_input_bound")
    phase_int = {p: dict.fromkeys(parts_keys, 0.0) for p in PHASES + ONE_TIME}
    counted = True
    missing_n: dict[str, int] = {}
    for c, ini, h, e in zip(metrics["counters"], init, layers_hw, per_layer_e):
        for ph, ev in _layer_events(c, ini, h, int(metrics["examples_seen"]), npm, lines).items():
            ip = _integration_parts(ev, e)
            if ip is not None:
                counted &= ip["counted"]
                for k in parts_keys:
                    phase_int[ph][k] += ip[k]
            for op, J in _price(ev, e).items():
                if J is None:
                    n = (sum(ev.get(f"line_reads_{d}", 0) for d in ("forward", "backward", "verify"))
                         if op == "integration" else ev.get(op, 0))
                    missing_n[op] = missing_n.get(op, 0) + int(n)
                else:
                    phase_op[ph][op] += float(J)
    phase_J = {p: float(sum(v.values())) for p, v in phase_op.items()}
    per_ex = {p: phase_J[p] / ex for p in PHASES}
    per_ex["total"] = sum(per_ex[p] for p in PHASES)
    per_ex_op = {op: sum(phase_op[p][op] for p in PHASES) / ex for op in ALL_OPERATIONS}
    core_ex = sum(per_ex_op[op] for op in CORE_OPERATIONS)
    # one inference: one forward read of every layer
    per_inf_op = {op: 0.0 for op in ALL_OPERATIONS}
    inf_int = dict.fromkeys(parts_keys, 0.0)
    for c, h, e in zip(metrics["counters"], layers_hw, per_layer_e):
        ev = {"line_reads_forward": lines * h["n_out"], "digital_neuron": h["n_out"],
              "cells_read": h["n_rows"] * h["n_out"]}
        if "line_charge_forward_C" in c and int(c.get("reads_forward", 0) or 0) > 0:   # the run's mean forward read
            ev["line_charge_forward"] = float(c["line_charge_forward_C"]) / int(c["reads_forward"])
        ip = _integration_parts(ev, e)
        if ip is not None:
            counted &= ip["counted"]
            for k in parts_keys:
                inf_int[k] += ip[k]
        for op, J in _price(ev, e).items():
            per_inf_op[op] += J or 0.0
    per_inf = float(sum(per_inf_op.values()))
    core_inf = sum(per_inf_op[op] for op in CORE_OPERATIONS)
    layers = metrics["layers"]
    ops = operations(layers)
    if hw:
        tb = dict(hw["example_breakdown_s"])
    else:
        tb = timing.example_breakdown_s(tuple(layers), **(timing_kw or {}))
    t_tr = float((metrics.get("transfers") or {}).get("total_duration_s") or 0.0)
    tb["transfer"] = t_tr / ex
    tb["example_with_transfers"] = tb["example"] + tb["transfer"]
    t_train, t_inf = tb["example_with_transfers"], tb["forward"]
    gops = {"training": ops["training_example"] / per_ex["total"] / 1e9 if per_ex["total"] > 0 else None,
            "inference": ops["inference"] / per_inf / 1e9 if per_inf > 0 else None,
            "training_core": ops["training_example"] / core_ex / 1e9 if core_ex > 0 else None,
            "inference_core": ops["inference"] / core_inf / 1e9 if core_inf > 0 else None}
    e0 = per_layer_e[0]
    per_op = {op: (e0[op] if op in e0 else None) for op in ALL_OPERATIONS}
    per_op["programming_lines"] = e0["set_bit_line"]
    missing = [{"operation": op, "scalar": f"{OPERATIONS[op][0]}.{OPERATIONS[op][1]}", "count": n,
                "meaning": OPERATIONS[op][2]} for op, n in missing_n.items() if n]
    by_layer = [{k: v for k, v in e.items()} for e in per_layer_e]
    int_ex = {k: sum(phase_int[p][k] for p in PHASES) / ex for k in parts_keys}
    integration = {
        "basis": "counted line charge (estimate)" if counted else "full input (upper bound)",
        "per_example_J": int_ex, "per_inference_J": inf_int,
        "phase_J": phase_int,
        "line_charge_share_of_total": int_ex["line_charge"] / per_ex["total"] if per_ex["total"] > 0 else 0.0,
        "note": "fixed = idle mirrors + C_int swing per line read; line_charge = e_read_mirror_J_per_C x counted "
                "plus-line charge; full_input_bound = every line read priced at full input (not in the totals)"}
    return {"per_op_J": per_op, "per_op_J_by_layer": by_layer, "counts": event_counts(metrics, init, hw, npm),
            "phase_J": phase_J, "phase_op_J": phase_op, "total_J": float(sum(phase_J.values())),
            "per_example_J": per_ex, "per_example_op_J": per_ex_op, "per_example_core_J": core_ex,
            "per_inference_J": per_inf, "per_inference_op_J": per_inf_op, "per_inference_core_J": core_inf,
            "integration": integration,
            "operations": ops, "gops_per_W": gops,
            "operation_convention": "2 operations per MAC, bias row included; a training example counts the "
                                    "forward, backward (layers 2..L) and update MACs (Ambrogio et al. 2018)",
            "time_s": {"training_example": t_train, "inference": t_inf, "breakdown": tb},
            "power_W": {"training": per_ex["total"] / t_train, "inference": per_inf / t_inf},
            "throughput_ops_per_s": {"training": ops["training_example"] / t_train,
                                     "inference": ops["inference"] / t_inf},
            "missing": missing, "not_modelled": list(NOT_MODELLED), "assumptions": A.all_assumptions()}


def read_pulse(xb, bundle=None) -> tuple[float, float]:
    """(V_read (V), V_read·t_x1 (V·s)) of a forward read of layer *xb* at full width (|x| = 1)
    (:meth:`pycosim.array.Crossbar.read_pulse`). *bundle* is accepted for older callers and unused."""
    v, t_fwd, _ = xb.read_pulse()
    return v, v * t_fwd


def read_conduction_bound_J(net, bundle=None) -> float | None:
    """Upper bound (J) of the energy the devices dissipate in one inference (forward read of every layer):
    every row driven for the full pulse width t_x1 at V_read, E ≤ Σ_l V_read²·t_x1,l·Σ_devices G — the PCM
    devices (drifted conductances as in the checkpoint, ``Crossbar.devices()['G_S']``) and the 3T1C read
    FETs (``'g_S'``, schemes with 3T1C cells); the columns' reference cells are left out. V_read and t_x1:
    :func:`read_pulse` (*bundle*: the run's calibration bundle, None = the shipped one). A derived
    estimate, not a bundle energy: it is never added to the totals. None for non-analog ('ideal') layers."""
    total = 0.0
    for xb in net.layers:
        if not xb.scheme.analog:
            return None
        d = xb.devices()
        g = float(np.sum(d["G_S"], dtype=np.float64))
        if "g_S" in d:
            g += float(np.sum(d["g_S"], dtype=np.float64))
        v, vt = read_pulse(xb, bundle)
        total += v * vt * g
    return total


def redundancy_cost(metrics: dict, energy_report: dict | None, *, pairs: int, mode: str, n_pcm_plain: int,
                    pairs_per_synapse_redundant: int = 1) -> dict:
    """The periphery cost of k conductance pairs at one significance (the redundant schemes,
    :mod:`pycosim.array.schemes.redundant`), against the plain scheme (k = 1):

    * area in cells per synapse: PCM devices n_plain + 2(k − 1), plus SELECT_TRANSISTORS_PER_PAIR·k select
      switches (k > 1), each counted as one cell (assumption), plus a pair pointer of ⌈log₂ k⌉ SRAM bits;
    * switch-overs: counters.redundancy_switches of the run, each one pointer write (⌈log₂ k⌉ bits ×
      E_POINTER_BIT_WRITE_J) and the gate swing of two select lines, 2·C_cell·V_program_gate²;
    * line length: the waiting pairs lengthen the column lines by the factor f = (cells per synapse)/(n_plain)
      along a column (a cell-pitch wire model, :func:`pycosim.assumptions.c_cell_F`), so the read-line charging and
      row-driver energies grow by (f − 1)·(their energy) — an estimate from the wire model;
    * extra reads: none — the closed loop programs the connected pair only, its verify reads are counted as ever
      (a switch-over RESETs one pair and re-programs another inside the same loop).

    Returns {"pairs", "mode", "pcm_devices_per_synapse", "cells_per_synapse", "cells_per_synapse_plain",
    "area_ratio", "pointer_bits_per_synapse", "synapses", "switches", "switch_J", "per_example_J" {switches,
    line_length, total}, "total_with_redundancy_J" (per example, the report's total plus these), "note"}.
    Not in the energy totals of :func:`energy` (reported beside them)."""
    import math

    k = int(pairs)
    sizes = [int(s) for s in metrics["layers"]]
    synapses = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    devices = n_pcm_plain + 2 * (k - 1) * pairs_per_synapse_redundant
    select = A.SELECT_TRANSISTORS_PER_PAIR.value * k if k > 1 else 0.0
    cells, cells_plain = devices + select, float(n_pcm_plain)
    bits = math.ceil(math.log2(k)) if k > 1 else 0
    sw = sum(int(c.get("redundancy_switches", 0) or 0) for c in metrics.get("counters") or [])
    e_sw = bits * A.E_POINTER_BIT_WRITE_J.value + 2 * A.c_cell_F() * A.V_PROGRAM_GATE_V.value ** 2
    ex = max(int(metrics.get("examples_seen") or 0), 1)
    f = cells / cells_plain
    line = 0.0
    if energy_report:
        op = energy_report.get("per_example_op_J") or {}
        line = (f - 1) * float((op.get("line_charging") or 0.0) + (op.get("row_drivers") or 0.0))
    per_ex = {"switches": sw * e_sw / ex, "line_length": line}
    per_ex["total"] = per_ex["switches"] + per_ex["line_length"]
    tot = (energy_report or {}).get("per_example_J", {}).get("total")
    return {"pairs": k, "mode": mode, "pcm_devices_per_synapse": devices, "cells_per_synapse": cells,
            "cells_per_synapse_plain": cells_plain, "area_ratio": f, "pointer_bits_per_synapse": bits,
            "synapses": synapses, "pointer_bits_total": bits * synapses, "switches": sw, "switch_J": e_sw,
            "per_example_J": per_ex, "total_with_redundancy_J": None if tot is None else tot + per_ex["total"],
            "note": "cells: PCM devices + select switches (one cell each, assumption); energy not in the totals "
                    "above (reported beside them); pointer SRAM leakage not modelled"}
