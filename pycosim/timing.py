"""Hardware timing of one training example on the crossbars, and the hold time of a transfer interval.

The 3T1C capacitors must hold their charge from one transfer to the next (Ambrogio et al., *Nature*
558, 60–67 (2018): a transfer of the lower-significance weight into the PCM pair every 8,000
examples for MNIST, after which the capacitors are reset). How long that is in hardware follows from
the time one example takes: forward pass, backward pass and weight update, all on the arrays. This
module writes that time down as pure functions of stated assumptions (SI units everywhere; the
defaults are this project's design point, chosen to be consistent with the circuits in
``circuits/``, not numbers taken from the paper, which does not list them).

Model (batch size 1, no pipelining across examples or layers — the conservative case: every layer
waits for the previous one, the update waits for the backward pass)::

    t_read     = t_rst + t_int + t_adc·columns_per_adc + t_digital   (one array read, one direction)
    t_int      = 2**pwm_bits · t_lsb                      (PWM-encoded activations/errors: the read window)
    t_forward  = Σ_{layers} t_read                        (len(layers) − 1 weight layers)
    t_backward = Σ_{weight layers 2..L} t_read            (no error needs to be sent back through layer 1)
    t_update   = n_pulse_max · t_pulse_period             (all layers update in parallel: every array has
                                                            its own row/column pulse drivers; coincident
                                                            pulse trains, Ambrogio et al. 2018, Fig. 2)
    t_example  = t_forward + t_backward + t_update
    t_hold     = interval · t_example                     (time between two transfers = what a 3T1C must hold)

The ADC term: each column (or column pair) integrator has an ADC shared by ``columns_per_adc``
columns, converted one after the other, so one read costs ``t_adc·columns_per_adc`` of conversion
(default: one ADC per column, ``columns_per_adc = 1``).

Default assumptions (each a keyword argument):
    pwm_bits = 8, t_lsb_s = 1 ns   → t_int = 256 ns read window (8-bit activations as pulse widths,
                                      1 ns resolution, as the row drivers of pycosim.validation.netlists)
    t_rst_s = 10 ns                 integrator reset before each read (netlists/integrator.lib bench value)
    t_adc_s = 50 ns                 one 8-bit conversion (a SAR ADC at 20 MS/s per column)
    t_digital_s = 10 ns             activation function / derivative in the digital periphery
    n_pulse_max = 8, t_pulse_period_s = 20 ns → t_update = 160 ns (≤ 8 coincident pulses per update,
                                      10-ns programming pulses of circuits/lsp_up_down.cir plus gaps)
For 784-250-125-10 this gives t_example ≈ 1.79 µs and, for 8,000 examples, t_hold ≈ 14.3 ms.
"""

from __future__ import annotations

#: Default MNIST network of Ambrogio et al. (2018): 784-250-125-10.
LAYERS = (784, 250, 125, 10)


def _check_layers(layers) -> tuple[int, ...]:
    sizes = tuple(int(n) for n in layers)
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise ValueError(f"layers must list at least two positive sizes (input ... output), got {layers!r}")
    return sizes


def read_window_s(pwm_bits: int = 8, t_lsb_s: float = 1e-9) -> float:
    """Integration window t_int = 2**pwm_bits · t_lsb (s) of one array read with PWM-encoded inputs.

    This is the window over which a column integrates its current, hence the window of the read-noise
    benches (``circuits/lsp_read_noise.cir`` uses t_int = 256 ns, the default here).
    """
    if pwm_bits < 1 or not t_lsb_s > 0:
        raise ValueError(f"pwm_bits must be >= 1 and t_lsb_s > 0, got {pwm_bits!r}, {t_lsb_s!r}")
    return float(2 ** int(pwm_bits) * t_lsb_s)


def layer_read_s(n_out: int, *, pwm_bits: int = 8, t_lsb_s: float = 1e-9, t_rst_s: float = 10e-9,
                 t_adc_s: float = 50e-9, columns_per_adc: int = 1, t_digital_s: float = 10e-9) -> float:
    """Time (s) of one read of one array (forward or backward): reset, integrate, digitise, activate.

    t_read = t_rst + t_int + t_adc·min(columns_per_adc, n_out) + t_digital; *n_out* is the number of
    columns read (the conversion of ``columns_per_adc`` columns sharing one ADC is sequential).
    """
    if n_out < 1 or columns_per_adc < 1:
        raise ValueError(f"n_out and columns_per_adc must be >= 1, got {n_out!r}, {columns_per_adc!r}")
    conversions = min(int(columns_per_adc), int(n_out))
    return float(t_rst_s + read_window_s(pwm_bits, t_lsb_s) + t_adc_s * conversions + t_digital_s)


def example_breakdown_s(layers=LAYERS, *, pwm_bits: int = 8, t_lsb_s: float = 1e-9, t_rst_s: float = 10e-9,
                        t_adc_s: float = 50e-9, columns_per_adc: int = 1, t_digital_s: float = 10e-9,
                        n_pulse_max: int = 8, t_pulse_period_s: float = 20e-9) -> dict[str, float]:
    """Forward, backward and update time (s) of one example, and their sum ``"example"``.

    Forward: one read per weight layer (len(layers) − 1), sequential. Backward: one transposed read per
    weight layer except the first (its input error is not needed). Update: ``n_pulse_max`` pulse slots of
    ``t_pulse_period_s``, all layers at once. See the module docstring for the equations and defaults.
    """
    sizes = _check_layers(layers)
    if n_pulse_max < 1 or not t_pulse_period_s > 0:
        raise ValueError(f"n_pulse_max must be >= 1 and t_pulse_period_s > 0, got {n_pulse_max!r}, {t_pulse_period_s!r}")
    kw = dict(pwm_bits=pwm_bits, t_lsb_s=t_lsb_s, t_rst_s=t_rst_s, t_adc_s=t_adc_s,
              columns_per_adc=columns_per_adc, t_digital_s=t_digital_s)
    fwd = sum(layer_read_s(n_out, **kw) for n_out in sizes[1:])
    bwd = sum(layer_read_s(n_in, **kw) for n_in in sizes[1:-1])  # transposed reads of layers 2..L
    upd = float(n_pulse_max * t_pulse_period_s)
    return {"forward": fwd, "backward": bwd, "update": upd, "example": fwd + bwd + upd}


def example_time_s(layers=LAYERS, **assumptions) -> float:
    """Hardware time (s) of forward + backward + update of ONE training example (batch size 1).

    ``t_example = Σ_fwd t_read + Σ_bwd t_read + n_pulse_max·t_pulse_period`` with
    ``t_read = t_rst + 2**pwm_bits·t_lsb + t_adc·columns_per_adc + t_digital`` (module docstring).
    Keyword *assumptions*: pwm_bits, t_lsb_s, t_rst_s, t_adc_s, columns_per_adc, t_digital_s,
    n_pulse_max, t_pulse_period_s. Defaults give ≈ 1.79 µs for 784-250-125-10.
    """
    return example_breakdown_s(layers, **assumptions)["example"]


def transfer_hold_s(interval: int = 8000, layers=LAYERS, **assumptions) -> float:
    """Time (s) a 3T1C capacitor must hold its charge: one transfer interval of *interval* examples.

    ``t_hold = interval · example_time_s(layers, **assumptions)`` (the transfer itself and the reset
    are not counted: they start the next interval). Ambrogio et al. (2018) transfer every 8,000
    examples on MNIST; default ≈ 14.3 ms.
    """
    if interval < 1:
        raise ValueError(f"interval must be >= 1 example, got {interval!r}")
    return float(interval) * example_time_s(layers, **assumptions)


#: Read window (s) of the default timing: what the read-noise benches integrate over.
T_INT_S = read_window_s()
#: Default example time (s) and transfer hold time (s) for 784-250-125-10, interval 8,000.
T_EXAMPLE_S = example_time_s()
T_HOLD_S = transfer_hold_s()

__all__ = ["LAYERS", "T_EXAMPLE_S", "T_HOLD_S", "T_INT_S", "example_breakdown_s", "example_time_s",
           "layer_read_s", "read_window_s", "transfer_hold_s"]

