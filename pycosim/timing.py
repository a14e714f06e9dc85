"""Hardware timing of one training example and of a transfer on the crossbars, and the hold time of an interval.

The 3T1C capacitors must hold their charge from one transfer to the next (Ambrogio et al., *Nature*
558, 60–67 (2018): a transfer of the lower-significance weight into the PCM pair every 8,000
examples for MNIST, after which the capacitors are reset). How long that is in hardware follows from
the time one example takes (forward pass, backward pass and weight update, all on the arrays) and from
the time the transfer itself takes. This module writes both down as pure functions (SI units
everywhere). Every number in them is either **derived** from the calibration bundle and the array's
configured periphery (:func:`hardware`), or an **assumption** of :mod:`pycosim.assumptions` (named,
with its source and unit; the energy report reads the same constants).

Example (batch size 1, no pipelining across examples or layers — the conservative case: every layer
waits for the previous one, the update waits for the backward pass)::

    t_read     = t_rst + t_int + t_adc·columns_per_adc + t_digital   (one array read, one direction)
    t_int      = t_x1 + t_settle                                  (derived: t_x1 = q_net_fs·scale/(V_read·
                                                                      full_scale), the read-pulse length of a full
                                                                      input, i.e. the window in which the
                                                                      configured full-scale output fills the
                                                                      integrator's linear range, per layer and
                                                                      direction, pycosim.array.periphery; t_settle
                                                                      the column read's settling after the last
                                                                      pulse, bundle integrator.t_settle_s, bench
                                                                      circuits/integrator_diff.cir. With the
                                                                      column read's C_int sized for the 8-bit PWM
                                                                      window, t_x1 ≈ 256 ns at the default full
                                                                      scale: the bench's t_window_s)
    t_forward  = Σ_{layers} t_read                        (len(layers) − 1 weight layers)
    t_backward = Σ_{weight layers 2..L} t_read            (no error needs to be sent back through layer 1)
    t_update   = n_pulse_max · t_pulse_period             (all layers update in parallel: every array has
                                                            its own row/column pulse drivers; coincident
                                                            pulse trains, Ambrogio et al. 2018, Fig. 2)
    t_pulse_period = lsp.pulse_width_s / UPDATE_DUTY      (derived from the 3T1C bench: 10 ns / 0.5 = 20 ns)
    t_example  = t_forward + t_backward + t_update

Without a network (no bundle: :func:`example_time_s` called bare) t_int falls back to the PWM window
2**pwm_bits·t_lsb (8 bits × 1 ns = 256 ns), the design point of the noise benches; training and the
reports always pass the derived windows.

Transfer (:func:`transfer_time_s`; schedule, an assumption stated in docs/training.md): **training pauses**
during a transfer; the layers transfer in parallel (each array has its own periphery), so the transfer
lasts as long as its slowest layer. Inside a layer the operations are **row-serial, column-parallel**:
one row is driven at a time and every column line of the array is integrated, converted or pulsed at
once (the verify read of a row reads all its synapses; a SET/RESET slot of a row pulses every selected
device of that row). With n_rows = n_in + 1 (the bias row included)::

    t_vread      = t_rst + t_verify + t_adc·columns_per_adc     (one row-parallel verify read)
    t_target     = n_rows·t_vread                               (the target read before the LSP reset)
    t_lsp_reset  = n_rows·T_LSP_RESET                            (row-wise 3T1C reset; '4pcm': a RESET slot)
    t_iteration  = max(n_rows·(t_vread + t_set_slot), T_VERIFY_AFTER_PULSE + t_vread)
    t_resets     = min(resets, iterations + 1)·n_rows·t_reset_slot   (refresh before the loop and restarts:
                                                                   at most one RESET phase per iteration)
    t_open       = n_rows·(t_reset_slot + ⌈set_pulses/n_moved⌉·t_set_slot)   (open loop: no verify; the
                                                                   mean pulse count, a lower bound)
    t_transfer   = t_target + t_lsp_reset + iterations·t_iteration + t_resets     (closed loop)
    t_set_slot   = pcm.set_width_s + 2·PULSE_EDGE + PULSE_GAP;  t_reset_slot = pcm.reset_width_s + 2·PULSE_EDGE + PULSE_GAP

Every closed-loop iteration visits every row (the counts of a transfer do not say which rows still have
active synapses), so t_transfer is an upper bound of this schedule; ``iterations`` are the closed-loop
iterations the transfer engine reports (TransferStats.iterations, Counters.transfer_iterations).

Verify delay (:func:`verify_delay_s`): in this schedule a row is read, then pulsed, and read again one
iteration later, after the other rows' reads and slots (or after T_VERIFY_AFTER_PULSE, whichever is longer).
A device's verify read therefore sees it at the age (end of its pulse → middle of the read's window)::

    t_verify_delay = max((n_rows − 1)·(t_vread + t_set_slot), T_VERIFY_AFTER_PULSE) + t_rst + t_verify/2

The closed loop of the array model reads every device it programmed at this age (PCM drift is a power law
in the time since programming, so the loop converges on the value drifted to t_verify_delay, and the later
drift loss is r(t)/r(t_verify_delay); docs/array.md). It is the same time the transfer's duration above
counts (one iteration per pulse-and-verify), so it adds nothing to t_transfer: the crossbar's clocks advance
once, by t_transfer, after the transfer. The paper's tester has its own, longer delay
(schedule.kind 'tester', TESTER_VERIFY_DELAY_S).

Hold: ``t_hold = interval·t_example + t_transfer`` is what a 3T1C must hold from one reset to the next
(the capacitors are reset at the start of a transfer, so the transfer's own time ends the interval's
hold only for the cells programmed last; counted in full, conservative).
"""

from __future__ import annotations

import math

from pycosim import assumptions as A

#: Default MNIST network of Ambrogio et al. (2018): 784-250-125-10.
LAYERS = (784, 250, 125, 10)


def _check_layers(layers) -> tuple[int, ...]:
    sizes = tuple(int(n) for n in layers)
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise ValueError(f"layers must list at least two positive sizes (input ... output), got {layers!r}")
    return sizes


def read_window_s(pwm_bits: int = 8, t_lsb_s: float = 1e-9) -> float:
    """PWM window 2**pwm_bits · t_lsb (s): the fallback read window without a bundle (256 ns by default),
    and the window of the read-noise benches (``circuits/lsp_read_noise.cir`` uses t_int = 256 ns)."""
    if pwm_bits < 1 or not t_lsb_s > 0:
        raise ValueError(f"pwm_bits must be >= 1 and t_lsb_s > 0, got {pwm_bits!r}, {t_lsb_s!r}")
    return float(2 ** int(pwm_bits) * t_lsb_s)


def integrator_window_s(q_linear_max_C: float, scale: float, read_v_V: float, full_scale: float) -> float:
    """Read window t_x1 (s) that the integrator numbers give: the configured full-scale output y_fs (network
    units, i.e. y_fs/scale siemens of pair difference) at V_read fills the range q in t_x1 = q·scale/(V_read·y_fs)
    (pycosim.array.periphery passes the net share q = integrator.q_net_fs_C)."""
    if not (q_linear_max_C > 0 and scale > 0 and read_v_V > 0 and full_scale > 0):
        raise ValueError("q_linear_max_C, scale, read_v_V and full_scale must be > 0")
    return float(q_linear_max_C * scale / (read_v_V * full_scale))


def line_fill_time_s(q_linear_max_C: float, g_line_S: float, read_v_V: float) -> float:
    """Time (s) in which a single-ended integrator collecting a whole line of total conductance g_line at
    V_read (every row driven) reaches its linear range: q_linear_max/(g_line·V_read)."""
    return float(q_linear_max_C / (g_line_S * read_v_V))


def layer_read_s(n_out: int, *, t_int_s: float | None = None, pwm_bits: int = 8, t_lsb_s: float = 1e-9,
                 t_rst_s: float | None = None, t_adc_s: float | None = None, columns_per_adc: int | None = None,
                 t_digital_s: float | None = None) -> float:
    """Time (s) of one read of one array (forward or backward): reset, integrate, digitise, activate.

    t_read = t_rst + t_int + t_adc·min(columns_per_adc, n_out) + t_digital; t_int = *t_int_s* (the derived
    window) or, if None, 2**pwm_bits·t_lsb. Unset constants come from :mod:`pycosim.assumptions`."""
    t_rst = A.T_INT_RESET_S.value if t_rst_s is None else t_rst_s
    t_adc = A.t_adc_s() if t_adc_s is None else t_adc_s
    cpa = int(A.COLUMNS_PER_ADC.value) if columns_per_adc is None else int(columns_per_adc)
    t_dig = A.T_DIGITAL_S.value if t_digital_s is None else t_digital_s
    if n_out < 1 or cpa < 1:
        raise ValueError(f"n_out and columns_per_adc must be >= 1, got {n_out!r}, {cpa!r}")
    t_int = read_window_s(pwm_bits, t_lsb_s) if t_int_s is None else float(t_int_s)
    if not t_int > 0:
        raise ValueError(f"t_int_s must be > 0, got {t_int_s!r}")
    return float(t_rst + t_int + t_adc * min(cpa, int(n_out)) + t_dig)


def update_period_s(pulse_width_s: float) -> float:
    """Slot of one coincident update pulse (s): the 3T1C bench's pulse width / UPDATE_DUTY."""
    return float(pulse_width_s / A.UPDATE_DUTY.value)


def example_breakdown_s(layers=LAYERS, *, t_int_fwd_s=None, t_int_bwd_s=None, pwm_bits: int = 8,
                        t_lsb_s: float = 1e-9, t_rst_s: float | None = None, t_adc_s: float | None = None,
                        columns_per_adc: int | None = None, t_digital_s: float | None = None,
                        n_pulse_max: int = 8, t_pulse_period_s: float = 20e-9) -> dict[str, float]:
    """Forward, backward and update time (s) of one example, and their sum ``"example"``.

    Forward: one read per weight layer (len(layers) − 1), sequential, layer l with window t_int_fwd_s[l].
    Backward: one transposed read per weight layer except the first, window t_int_bwd_s[l]. Update:
    ``n_pulse_max`` pulse slots of ``t_pulse_period_s``, all layers at once. Windows None: the PWM fallback.
    """
    sizes = _check_layers(layers)
    if n_pulse_max < 1 or not t_pulse_period_s > 0:
        raise ValueError(f"n_pulse_max must be >= 1 and t_pulse_period_s > 0, got {n_pulse_max!r}, {t_pulse_period_s!r}")
    nl = len(sizes) - 1
    fw = [None] * nl if t_int_fwd_s is None else list(t_int_fwd_s)
    bw = [None] * nl if t_int_bwd_s is None else list(t_int_bwd_s)
    if len(fw) != nl or len(bw) != nl:
        raise ValueError(f"t_int_fwd_s and t_int_bwd_s need one window per weight layer ({nl})")
    kw = dict(pwm_bits=pwm_bits, t_lsb_s=t_lsb_s, t_rst_s=t_rst_s, t_adc_s=t_adc_s,
              columns_per_adc=columns_per_adc, t_digital_s=t_digital_s)
    fwd = sum(layer_read_s(sizes[l + 1], t_int_s=fw[l], **kw) for l in range(nl))
    bwd = sum(layer_read_s(sizes[l], t_int_s=bw[l], **kw) for l in range(1, nl))  # transposed reads of layers 2..L
    upd = float(n_pulse_max * t_pulse_period_s)
    return {"forward": fwd, "backward": bwd, "update": upd, "example": fwd + bwd + upd}


def example_time_s(layers=LAYERS, **assumptions) -> float:
    """Hardware time (s) of forward + backward + update of ONE training example (batch size 1):
    ``example_breakdown_s(layers, **assumptions)["example"]`` (module docstring). Bare (PWM fallback
    windows, 8 update pulses of 20 ns) ≈ 1.79 µs for 784-250-125-10."""
    return example_breakdown_s(layers, **assumptions)["example"]


def transfer_hold_s(interval: int = 8000, layers=LAYERS, *, t_transfer_s: float = 0.0, **assumptions) -> float:
    """Time (s) a 3T1C capacitor must hold its charge: ``interval·t_example + t_transfer`` (module
    docstring). Bare (no transfer time, PWM fallback) ≈ 14.3 ms for interval 8,000."""
    if interval < 1:
        raise ValueError(f"interval must be >= 1 example, got {interval!r}")
    return float(interval) * example_time_s(layers, **assumptions) + float(t_transfer_s)


def _count(c, key: str) -> int:
    v = c.get(key, 0) if isinstance(c, dict) else getattr(c, key, 0)
    return int(v or 0)


def set_slot_s(set_width_s: float) -> float:
    """One row-parallel SET slot (s): width + 2·PULSE_EDGE + PULSE_GAP."""
    return float(set_width_s + 2 * A.PULSE_EDGE_S.value + A.PULSE_GAP_S.value)


def verify_delay_s(n_rows: int, *, t_verify_s: float, t_set_slot_s: float, t_rst_s: float | None = None,
                   t_adc_s: float | None = None, columns_per_adc: int | None = None,
                   t_after_pulse_s: float | None = None) -> float:
    """Age (s) of a device at the verify read that follows its pulse in a closed-loop transfer of a layer with
    n_rows rows (module docstring, "Verify delay"): max((n_rows − 1)·(t_vread + t_set_slot), t_after_pulse)
    + t_rst + t_verify/2, t_vread = t_rst + t_verify + t_adc·columns_per_adc. Unset constants come from
    :mod:`pycosim.assumptions` (t_after_pulse: T_VERIFY_AFTER_PULSE)."""
    if n_rows < 1 or not (t_verify_s > 0 and t_set_slot_s >= 0):
        raise ValueError(f"n_rows must be >= 1, t_verify_s > 0 and t_set_slot_s >= 0, got {n_rows!r}, "
                         f"{t_verify_s!r}, {t_set_slot_s!r}")
    t_rst = A.T_INT_RESET_S.value if t_rst_s is None else t_rst_s
    t_adc = A.t_adc_s() if t_adc_s is None else t_adc_s
    cpa = int(A.COLUMNS_PER_ADC.value) if columns_per_adc is None else int(columns_per_adc)
    t_wait = A.T_VERIFY_AFTER_PULSE_S.value if t_after_pulse_s is None else t_after_pulse_s
    t_vread = t_rst + t_verify_s + t_adc * cpa
    return float(max((int(n_rows) - 1) * (t_vread + t_set_slot_s), t_wait) + t_rst + 0.5 * t_verify_s)


def transfer_time_s(counts, n_rows: int, *, t_verify_s: float, t_set_slot_s: float, t_reset_slot_s: float,
                    closed: bool = True, t_lsp_reset_s: float | None = None, t_rst_s: float | None = None,
                    t_adc_s: float | None = None, columns_per_adc: int | None = None,
                    t_after_pulse_s: float | None = None) -> dict[str, float]:
    """Duration (s) of ONE layer's transfer from its own counts (module docstring, "Transfer").

    counts: a TransferStats or a dict with ``iterations``, ``resets``, ``set_pulses``, ``n_moved``;
    n_rows: rows of the array (n_in + 1 with the bias row); t_verify_s: the verify window
    (TransferStats.t_verify_s); t_set_slot_s / t_reset_slot_s: one programming slot of a row
    (:func:`set_slot_s` of pcm.set_width_s / pcm.reset_width_s); closed: closed- or open-loop tuning;
    t_lsp_reset_s: reset of one row of LSP cells (None: T_LSP_RESET). Returns {"target_read",
    "lsp_reset", "program", "resets", "total"} (s); a transfer that moved nothing costs its target read
    and its reset only."""
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows!r}")
    t_rst = A.T_INT_RESET_S.value if t_rst_s is None else t_rst_s
    t_adc = A.t_adc_s() if t_adc_s is None else t_adc_s
    cpa = int(A.COLUMNS_PER_ADC.value) if columns_per_adc is None else int(columns_per_adc)
    t_wait = A.T_VERIFY_AFTER_PULSE_S.value if t_after_pulse_s is None else t_after_pulse_s
    t_lsp = A.T_LSP_RESET_S.value if t_lsp_reset_s is None else t_lsp_reset_s
    t_vread = t_rst + t_verify_s + t_adc * cpa
    it, resets = _count(counts, "iterations"), _count(counts, "resets")
    sets, moved = _count(counts, "set_pulses"), _count(counts, "n_moved")
    out = {"target_read": n_rows * t_vread, "lsp_reset": n_rows * t_lsp}
    if closed:
        t_it = max(n_rows * (t_vread + t_set_slot_s), t_wait + t_vread)
        out["program"] = it * t_it
        out["resets"] = min(resets, it + 1) * n_rows * t_reset_slot_s if resets else 0.0
    else:
        slots = math.ceil(sets / moved) if moved else 0
        out["program"] = n_rows * slots * t_set_slot_s
        out["resets"] = n_rows * t_reset_slot_s if resets else 0.0
    out["total"] = float(sum(out.values()))
    return out


def hardware(net, *, n_pulse_max: int = 8, interval: int | None = None) -> dict:
    """The derived timing of network *net* (a :class:`pycosim.nn.network.Network` of crossbars): per layer
    the read windows the periphery actually uses (``Crossbar.read_pulse``: t_x1 forward and transposed, the
    integrator window of :func:`integrator_window_s`, plus the column read's settling integrator.t_settle_s
    of the bundle), the verify window, the verify delay each layer's closed loop uses (t_verify_delay_s: its
    own :func:`verify_delay_s` or the configured transfer.verify_delay_s), the programming slots from the
    bundle's pulse widths, the update slot from the 3T1C bench, and the example breakdown. Layers without
    an analog periphery ('ideal') fall back to the PWM window. Plain JSON-able dict (metrics.json
    ``hardware_timing``, report.json)."""
    layers = net.layers
    sizes = tuple(int(s) for s in net.sizes)
    fw, bw, per = [], [], []
    pulse_w = set_w = reset_w = None
    for xb in layers:
        d = {"n_rows": int(xb.n_in), "n_out": int(xb.n_out)}
        analog = bool(getattr(xb.scheme, "analog", False))
        if analog:
            v, tf, tb = xb.read_pulse()
            settle = float(getattr(getattr(xb, "integ", None), "t_settle_s", 0.0) or 0.0)
            tf, tb = tf + settle, tb + settle
            d.update(read_v_V=float(v), t_int_forward_s=float(tf), t_int_backward_s=float(tb), t_settle_s=settle,
                     t_verify_s=float(xb.default_verify_window()) if xb.cfg.transfer.verify_t_read_s is None
                     else float(xb.cfg.transfer.verify_t_read_s),
                     t_verify_delay_s=float(xb.verify_delay()))
            sc = xb.bundle.scalars
            pulse_w = float((sc.get("lsp") or {}).get("pulse_width_s", 10e-9))
            set_w, reset_w = float(sc["pcm"]["set_width_s"]), float(sc["pcm"]["reset_width_s"])
            fw.append(tf)
            bw.append(tb)
        else:
            fw.append(None)
            bw.append(None)
        per.append(d)
    t_upd = update_period_s(pulse_w if pulse_w is not None else 10e-9)
    tb = example_breakdown_s(sizes, t_int_fwd_s=fw, t_int_bwd_s=bw, n_pulse_max=n_pulse_max, t_pulse_period_s=t_upd)
    out = {"layers": per, "t_update_slot_s": t_upd, "n_pulse_max": int(n_pulse_max),
           "t_set_slot_s": None if set_w is None else set_slot_s(set_w),
           "t_reset_slot_s": None if reset_w is None else set_slot_s(reset_w),
           "t_int_reset_s": A.T_INT_RESET_S.value, "t_adc_s": A.t_adc_s(), "t_digital_s": A.T_DIGITAL_S.value,
           "columns_per_adc": int(A.COLUMNS_PER_ADC.value), "example_breakdown_s": tb,
           "t_example_s": tb["example"]}
    if interval is not None:
        out["interval"] = int(interval)
        out["t_interval_s"] = float(interval) * tb["example"]
    return out


def layer_transfer_time_s(hw: dict, layer: int, stats, *, closed: bool = True, lsp_cells: bool = True) -> dict:
    """:func:`transfer_time_s` of layer *layer* with the numbers of :func:`hardware` (*hw*)."""
    d = hw["layers"][layer]
    return transfer_time_s(stats, d["n_rows"], t_verify_s=d["t_verify_s"], t_set_slot_s=hw["t_set_slot_s"],
                           t_reset_slot_s=hw["t_reset_slot_s"], closed=closed,
                           t_lsp_reset_s=None if lsp_cells else hw["t_reset_slot_s"],
                           t_rst_s=hw["t_int_reset_s"], t_adc_s=hw["t_adc_s"], columns_per_adc=hw["columns_per_adc"])


def network_transfer_time_s(hw: dict, stats_per_layer, *, closed: bool = True, lsp_cells: bool = True) -> dict:
    """Duration (s) of one transfer of the whole network: the layers transfer in parallel, so the slowest
    layer's :func:`layer_transfer_time_s`. Returns {"per_layer_s": [...], "total": s}."""
    per = [layer_transfer_time_s(hw, l, s, closed=closed, lsp_cells=lsp_cells)["total"]
           for l, s in enumerate(stats_per_layer)]
    return {"per_layer_s": per, "total": max(per, default=0.0)}


#: Read window (s) of the bare (PWM fallback) timing: what the read-noise benches integrate over.
T_INT_S = read_window_s()
#: Bare example time (s) and transfer hold time (s) for 784-250-125-10, interval 8,000 (PWM fallback;
#: the bundle's lsp.t_example_s / lsp.t_hold_transfer_s were written from these).
T_EXAMPLE_S = example_time_s()
T_HOLD_S = transfer_hold_s()

__all__ = ["LAYERS", "T_EXAMPLE_S", "T_HOLD_S", "T_INT_S", "example_breakdown_s", "example_time_s", "hardware",
           "integrator_window_s", "layer_read_s", "layer_transfer_time_s", "line_fill_time_s",
           "network_transfer_time_s", "read_window_s", "set_slot_s", "transfer_hold_s", "transfer_time_s",
           "update_period_s", "verify_delay_s"]
