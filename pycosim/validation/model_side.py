"""The array-model side of ``pycosim validate``: the crossbar configuration and its experiments.

The array model runs exactly as in training (:class:`pycosim.array.Crossbar`, synapse '2pcm+3t1c', the
bundle's tables), with the noise sources that the SPICE netlists do not simulate switched off, so the
comparison isolates the deterministic physics:

* PCM and 3T1C read noise off (the crossbar netlists have no noise sources), integrator noise off;
* integrator mismatch off (``mismatch_scale`` 0: the SPICE integrators are nominal), no ADC quantisation
  (``adc_bits`` None: SPICE outputs are compared as analog values); 8-bit PWM inputs (the inputs are drawn
  on that grid, so both sides use identical pulse widths);
* the integrators' virtual-ground lag on (``integrator_lag``, as in training: SPICE's integrators lag too),
  its digital compensation off (``lag_compensation`` False: it divides the *digitised* result by κ̂, while
  the SPICE integrator outputs compared here are the analog values before any digital correction);
* 3T1C shot noise off (``lsp.c2c_scale`` 0: the cells of the netlists have none); PCM cycle-to-cycle noise
  on (both sides draw it, independently);
* deterministic update rounding (the update experiment chooses inputs whose pulse counts are integers);
* PCM drift off for the reads, update and hold (the devices are placed in the states SPICE reads), on for
  the transfer (the devices start 1 s after programming, as SPICE's);
* the closed loop's verify delay 0 (``transfer.verify_delay_s``): the SPICE programmer reads every device at
  the end of its 1-µs programming period, before the drift law's t_p, so the model reads what it programmed
  at t_p too (the accelerator's own delay, ``pycosim.timing.verify_delay_s``, is what training uses).

Only the Crossbar's public API is used: forward, backward, update, advance, weights, set_devices, devices
(with the 3T1C cells' and references' SPICE instances), transfer, lsp_contribution, read_pulse, scale,
dw_pulse, cfg, counters.
"""

from __future__ import annotations

import copy

import numpy as np

from pycosim.array import ArrayConfig, Crossbar
from pycosim.errors import ConfigError


def validation_config(*, drift: bool = False, lag: bool = True) -> ArrayConfig:
    """The array configuration of the validation (module docstring); everything else at its default.
    lag=False: ideal virtual grounds (only to measure the size of the model's own lag).
    lag_compensation is off: it is a digital correction of the ADC output, and SPICE's integrator outputs
    are analog, so the model's analog read (with the lag) is what the circuit must reproduce."""
    return ArrayConfig.from_dict({
        "synapse": "2pcm+3t1c",
        "pcm": {"read_noise": False, "drift": drift},
        "lsp": {"read_noise": False, "c2c_scale": 0.0},
        "periphery": {"integrator_noise": False, "mismatch_scale": 0.0, "adc_bits": None, "input_bits": 8,
                      "integrator_lag": lag, "lag_compensation": False},
        "update": {"rounding": "deterministic", "max_pulses": 8},
        "transfer": {"verify_delay_s": 0.0},
    })


def build(rows: int, cols: int, bundle, seed: int, *, drift: bool = False, lag: bool = True) -> Crossbar:
    """Crossbar of the validation (seeded: the same seed gives the same device instances for any drift or
    lag flag)."""
    return Crossbar(rows, cols, validation_config(drift=drift, lag=lag), bundle, rng=np.random.default_rng(seed))


def same_instances(a: Crossbar, b: Crossbar) -> None:
    """Raise ConfigError unless crossbars a and b hold the same device instances."""
    da, db = a.devices(), b.devices()
    if not (np.array_equal(da["pcm_instance"], db["pcm_instance"]) and np.array_equal(lsp_instances(a), lsp_instances(b))
            and np.array_equal(da["g_shared_S"], db["g_shared_S"])):
        raise ConfigError("the array model drew different device instances for the same seed; "
                          "the validation needs them identical")


def read_v_V(xb: Crossbar) -> float:
    """The crossbar's read voltage (V), from read_pulse() (PeripheryConfig.read_v_V, else the bundle's lsp.read_v_V)."""
    return float(xb.read_pulse()[0])


def drift_t_prog_s(xb: Crossbar, bundle) -> float:
    """Time after programming at which the drift law's programmed G is defined (s): the bundle's
    pcm.drift_t_prog_s, else PCMConfig.drift_t_prog_s (as :func:`pycosim.devices.pcm.population`)."""
    return float(bundle.scalars.get("pcm", {}).get("drift_t_prog_s", xb.cfg.pcm.drift_t_prog_s))


def forward_reads(xb: Crossbar, x: np.ndarray) -> np.ndarray:
    """Forward results y_n = forward(x_n) (N, C), network units (on a copy: counters and rng untouched)."""
    xb = copy.deepcopy(xb)
    return np.stack([xb.forward(v) for v in x])


def reads(xb: Crossbar, x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward results forward(x_n) (N, C) and transposed results backward(δ_n) (N, R), network units."""
    xb = copy.deepcopy(xb)
    return forward_reads(xb, x), np.stack([xb.backward(v) for v in d])


def update(xb: Crossbar, x: np.ndarray, d: np.ndarray, lr: float) -> Crossbar:
    """One update ΔW = −lr·x⊗δ on a copy of *xb* (returned)."""
    xb = copy.deepcopy(xb)
    xb.update(x, d, lr)
    return xb


def hold_and_reset(xb: Crossbar, t_hold_s: float) -> tuple[np.ndarray, Crossbar]:
    """V_C after a hold of t_hold_s (leakage, applied at once) and the crossbar after a transmission-gate
    reset of every cell (a transfer that moves nothing: threshold above every contribution, polarity kept).
    Returns (V after the hold (R, C), crossbar after the reset)."""
    xb = copy.deepcopy(xb)
    xb.advance(t_hold_s, settle=True)
    v_hold = xb.devices()["V_C_V"].astype(float)
    xb.transfer(threshold=np.inf, invert_polarity=False)
    return v_hold, xb


def g_at(xb: Crossbar, v) -> np.ndarray:
    """g (S) of every cell of *xb* at V_C = v (its own table; on a copy placed there)."""
    xb = copy.deepcopy(xb)
    xb.set_devices(V=np.asarray(v, np.float32))
    return xb.devices()["g_S"].astype(float)


# ------------------------------------------------------------------------------------------------------------
# Device instances and read pulses, from the public API (devices(), read_pulse(), dw_pulse)

def lsp_instances(xb: Crossbar) -> np.ndarray:
    """SPICE instance index of every 3T1C cell (R, C): devices()['lsp_instance'] (to re-create each cell in SPICE)."""
    return np.asarray(xb.devices()["lsp_instance"])


def ref_instances(xb: Crossbar) -> np.ndarray:
    """SPICE instance index of every column's reference cell (C,): devices()['ref_instance']."""
    return np.asarray(xb.devices()["ref_instance"], np.int64)


def read_windows_s(xb: Crossbar) -> tuple[float, float]:
    """(forward, transposed) read-pulse length for |x| = 1 (s), from read_pulse(): the SPICE reads use the
    model's pulse widths."""
    _, t_f, t_b = xb.read_pulse()
    return float(t_f), float(t_b)


def dw_pulse(xb: Crossbar) -> float:
    """Mean weight step of one update pulse (network units; the read-only attribute dw_pulse): the update
    experiment's learning rate makes the pulse counts integers."""
    return float(xb.dw_pulse)
