"""Energy per training example (by phase) and per inference, and operations per second per watt.

Every number is a hardware counter of the run (``metrics.json`` → ``counters``, one dict per layer,
:meth:`pycosim.array.counters.Counters.as_dict`) times a per-operation energy of the calibration bundle:

    E_phase = Σ_layers Σ_op count_phase,op · e_op

| operation | bundle scalar | measured by |
|---|---|---|
| integration: one integrator read of one line (forward, backward, or one verify read of one synapse) | ``integrator.e_read_J`` | C_int·swing·V_DD (behavioural op-amp), ``circuits/integrator_*.cir`` |
| PCM partial-SET pulse on one device | ``pcm.e_set_J`` | Σ∫−V·I dt of the bit/word-line sources, ``circuits/pcm_set_staircase.cir`` |
| PCM RESET pulse on one device | ``pcm.e_reset_J`` | same, ``circuits/pcm_reset.cir`` |
| 3T1C up / down pulse | ``lsp.e_up_J`` / ``lsp.e_down_J`` | programming sources over the up/down sequence, ``circuits/lsp_up_down.cir`` |
| 3T1C transmission-gate reset of one cell | ``lsp.e_reset_J`` | supply, reset-line and gate-driver sources over one reset, mean over the bench's start states, ``circuits/lsp_reset.cir`` (bundles made before it: missing, counted, not priced) |
| ADC conversion of one line | ``adc.e_conversion_J`` | **not in the bundle** (no ADC circuit) |

Phases (counts per layer; "train share" of the forward reads = examples_seen/reads_forward, the rest
are the test-set evaluations after each epoch):

    forward    integrations_forward · examples_seen/reads_forward                   (integration)
    backward   integrations_backward                                               (integration)
    update     lsp_up_pulses, lsp_down_pulses, pcm_update_set_pulses + pcm_update_reprogram_set_pulses
               (pcm_set), pcm_update_resets (pcm_reset)
    transfer   transfer_set_pulses, transfer_resets, transfer_verify_reads (every closed-loop iteration's
               SET/RESET pulses and verify reads) minus those of the initial weight programming, lsp_resets
    initial programming  (one-time) the counts of the first programming of the weights, from the
                         checkpoint's ``net.init_stats`` (:func:`init_counts`)
    test inference       the remaining forward integrations (test set after each epoch)

Per training example: (forward + backward + update + transfer)/examples_seen. Per inference: the
integrations of one forward pass, Σ_l n_out,l · e_integration.

An operation whose scalar the bundle lacks (e.g. ``lsp.e_reset_J`` in a bundle older than its measurement) is
counted, left out of every total and listed under ``missing``.

Operations (MAC = 2 operations; the bias row is a physical row, so a layer has (n_in + 1)·n_out MACs):
inference 2·Σ_l (n_in,l + 1)·n_out,l; training example: that, plus the same for the backward reads of
layers 2…L and for the outer-product update of every layer. Efficiency = operations/energy (GOP/s/W =
GOP/J, independent of time); throughput and power need the time of one example, from
:func:`pycosim.timing.example_breakdown_s` with the run's PWM bits and pulse budget (its stated
assumptions; transfers and their time are not in it). Reference: Ambrogio et al., Nature 558, 60 (2018)
project 28,065 GOP/s/W for their analog-memory training chip.
"""

from __future__ import annotations

import numpy as np

#: operation → (bundle section, scalar name, meaning)
OPERATIONS = {
    "integration": ("integrator", "e_read_J", "integrator read of one line (forward/backward read of a line, "
                                              "or one verify read of one synapse)"),
    "pcm_set": ("pcm", "e_set_J", "partial-SET pulse on one PCM device"),
    "pcm_reset": ("pcm", "e_reset_J", "RESET pulse on one PCM device"),
    "lsp_up": ("lsp", "e_up_J", "3T1C up pulse"),
    "lsp_down": ("lsp", "e_down_J", "3T1C down pulse"),
    "lsp_reset": ("lsp", "e_reset_J", "3T1C transmission-gate reset of one cell"),
    "adc_conversion": ("adc", "e_conversion_J", "ADC conversion of one line read"),
}
PHASES = ("forward", "backward", "update", "transfer")
ONE_TIME = ("initial programming", "test inference")
#: Ambrogio et al., Nature 558, 60 (2018): projected energy efficiency of their chip (GOP/s/W).
AMBROGIO_GOPS_PER_W = 28065.0

#: Energies that no counter and no bundle scalar covers: never in the totals.
NOT_MODELLED = (
    "array conduction during reads (V_read·I in the PCM and 3T1C devices; an upper bound from the checkpoint's "
    "conductances is printed separately when available)",
    "row/column line charging and the pulse drivers of reads, updates and transfers",
    "digital periphery: activation functions, error computation, pulse-train generation, control",
    "static/leakage power of the periphery and SRAM/DRAM traffic of inputs, labels and activations",
)


def per_op_energies(scalars: dict) -> dict:
    """{operation: e (J) or None when the bundle lacks it} from ``bundle.scalars``."""
    out = {}
    for op, (sec, key, _) in OPERATIONS.items():
        v = (scalars.get(sec) or {}).get(key)
        out[op] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    return out


def init_counts(net) -> list[dict]:
    """Per layer the SET/RESET/verify-read counts of the initial weight programming, from the checkpoint's
    ``net.init_stats`` (the TransferStats of :meth:`Crossbar.program`; program() has no other reads or
    resets). The per-transfer statistics in metrics.json cannot give them: a transfer also counts its
    target read and, in '4pcm', the RESETs of the moved LSP pairs outside its TransferStats."""
    return [{"set_pulses": int(s.set_pulses), "resets": int(s.resets), "verify_reads": int(s.verify_reads)}
            for s in net.init_stats]


def event_counts(metrics: dict, init: list[dict]) -> dict:
    """{phase: {operation: count}} summed over the layers (phases: forward, backward, update, transfer,
    initial programming, test inference; module docstring); *init*: :func:`init_counts` of the run's
    checkpoint. ADC conversions = integrations."""
    ex = int(metrics["examples_seen"])
    phases = {p: {} for p in PHASES + ONE_TIME}

    def add(phase, op, n):
        phases[phase][op] = phases[phase].get(op, 0) + n

    if len(init) != len(metrics["counters"]):
        raise ValueError(f"init counts of {len(init)} layers for {len(metrics['counters'])} counter sets")
    for c, ini in zip(metrics["counters"], init):
        reads = int(c.get("reads_forward", 0))
        fwd = int(c.get("integrations_forward", 0))
        fwd_train = round(fwd * ex / reads) if reads else 0
        add("forward", "integration", fwd_train)
        add("test inference", "integration", fwd - fwd_train)
        add("backward", "integration", int(c.get("integrations_backward", 0)))
        add("update", "lsp_up", int(c.get("lsp_up_pulses", 0)))
        add("update", "lsp_down", int(c.get("lsp_down_pulses", 0)))
        add("update", "pcm_set", int(c.get("pcm_update_set_pulses", 0)) + int(c.get("pcm_update_reprogram_set_pulses", 0)))
        add("update", "pcm_reset", int(c.get("pcm_update_resets", 0)))
        add("transfer", "pcm_set", int(c.get("transfer_set_pulses", 0)) - ini["set_pulses"])
        add("transfer", "pcm_reset", int(c.get("transfer_resets", 0)) - ini["resets"])
        add("transfer", "integration", int(c.get("transfer_verify_reads", 0)) - ini["verify_reads"])
        add("transfer", "lsp_reset", int(c.get("lsp_resets", 0)))
        add("initial programming", "pcm_set", ini["set_pulses"])
        add("initial programming", "pcm_reset", ini["resets"])
        add("initial programming", "integration", ini["verify_reads"])
    for ph in phases.values():
        if ph.get("integration"):
            ph["adc_conversion"] = ph["integration"]
    return phases


def operations(layers) -> dict:
    """Operations (2 per MAC, bias row included) of one inference and of one training example."""
    sizes = [int(s) for s in layers]
    macs = [(n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    inf = 2 * sum(macs)
    return {"inference": inf, "training_example": inf + 2 * sum(macs[1:]) + 2 * sum(macs)}


def energy(metrics: dict, scalars: dict, init: list[dict], *, timing_kw: dict | None = None) -> dict:
    """Energy and efficiency of the run of *metrics* with the bundle *scalars* (module docstring); *init*:
    the initial-programming counts of the run (:func:`init_counts` of its checkpoint's network).

    Returns {"per_op_J", "counts" {phase: {op: n}}, "phase_J" {phase: J}, "total_J" (every counted event of
    the run with a known energy), "per_example_J" {phase: J, "total": J}, "per_inference_J",
    "operations", "gops_per_W" {training, inference}, "time_s" {training_example, inference},
    "power_W", "throughput_ops_per_s", "missing" [{operation, scalar, count, meaning}]}."""
    from pycosim import timing

    e = per_op_energies(scalars)
    counts = event_counts(metrics, init)
    phase_J = {p: float(sum(n * e[op] for op, n in ops.items() if e[op] is not None)) for p, ops in counts.items()}
    ex = max(int(metrics["examples_seen"]), 1)
    per_ex = {p: phase_J[p] / ex for p in PHASES}
    per_ex["total"] = sum(per_ex[p] for p in PHASES)
    layers = metrics["layers"]
    e_int = e["integration"] or 0.0
    per_inf = float(sum(layers[1:]) * e_int)
    ops = operations(layers)
    tb = timing.example_breakdown_s(tuple(layers), **(timing_kw or {}))
    t_train, t_inf = tb["example"], tb["forward"]
    gops = {"training": ops["training_example"] / per_ex["total"] / 1e9 if per_ex["total"] > 0 else None,
            "inference": ops["inference"] / per_inf / 1e9 if per_inf > 0 else None}
    missing = []
    for op, (sec, key, meaning) in OPERATIONS.items():
        n = sum(ph.get(op, 0) for ph in counts.values())
        if e[op] is None and n:
            missing.append({"operation": op, "scalar": f"{sec}.{key}", "count": int(n), "meaning": meaning})
    return {"per_op_J": e, "counts": counts, "phase_J": phase_J, "total_J": float(sum(phase_J.values())),
            "per_example_J": per_ex, "per_inference_J": per_inf, "operations": ops, "gops_per_W": gops,
            "time_s": {"training_example": t_train, "inference": t_inf, "breakdown": tb},
            "power_W": {"training": per_ex["total"] / t_train, "inference": per_inf / t_inf},
            "throughput_ops_per_s": {"training": ops["training_example"] / t_train, "inference": ops["inference"] / t_inf},
            "missing": missing, "not_modelled": list(NOT_MODELLED)}


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
