"""Column current integrator and ADC at array level.

The integrator holds its line at virtual ground and integrates the line current on C_int:
V_out = V_off + gain·Q (gain ≈ −1/C_int), clamped at the rails (``integrator_transfer`` bench;
Ambrogio et al., Nature 558, 60 (2018), Methods: column currents integrated on a capacitor). The
bundle gives the mean gain and offset, their instance-to-instance spread, the rails, the linear
range, and the output noise of one read.

Per-column instances: a parametric Gaussian draw, V_off,j ~ N(offset_V, offset_std_V²),
gain_j ~ N(gain_V_per_C, gain_std_V_per_C²). The bundle simulates only 16 integrator instances;
offset and gain errors are sums of many independent mismatch contributions (op-amp input pair,
C_int), so a Gaussian with the measured mean and σ is the natural per-column model, and it does
not repeat 16 values across hundreds of columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.calibration import MODEL_SCALARS
from pycosim.devices import require_scalar
from pycosim.errors import ConfigError


@dataclass(frozen=True)
class IntegratorParams:
    """Integrator characteristics from the bundle (SI units in the names).

    gain_V_per_C, gain_std_V_per_C, offset_V, offset_std_V: mean and σ over instances;
    v_lo_V, v_hi_V: rails; q_linear_max_C: end of the linear range; noise_out_V: σ of the output of
    one read (None if not loaded); e_read_J: energy per read; cint_F: integration capacitance (F) and
    gbw_Hz: op-amp gain-bandwidth product (Hz) of the bench (they set the virtual-ground lag,
    :func:`lag_gain`).
    """

    gain_V_per_C: float
    gain_std_V_per_C: float
    offset_V: float
    offset_std_V: float
    v_lo_V: float
    v_hi_V: float
    q_linear_max_C: float
    noise_out_V: float | None
    e_read_J: float
    cint_F: float = 0.0
    gbw_Hz: float = 0.0


#: The bundle scalars :func:`params` reads (section ``integrator``): the bundle check requires them.
SCALARS = MODEL_SCALARS["integrator"]


def params(bundle, *, noise: bool = True) -> IntegratorParams:
    """Integrator parameters. Scalars consumed (section ``integrator``, :data:`SCALARS`): gain_V_per_C,
    gain_std_V_per_C, offset_V, offset_std_V, v_sat_lo_V, v_sat_hi_V, q_linear_max_C, e_read_J, cint_F, gbw_Hz, and with
    noise: noise_out_rms_V. A missing one raises CalibrationError."""
    s = lambda k, f="integrator": float(require_scalar(bundle, "integrator", k, f))  # noqa: E731
    return IntegratorParams(
        gain_V_per_C=s("gain_V_per_C"), gain_std_V_per_C=s("gain_std_V_per_C"), offset_V=s("offset_V"),
        offset_std_V=s("offset_std_V"), v_lo_V=s("v_sat_lo_V"), v_hi_V=s("v_sat_hi_V"),
        q_linear_max_C=s("q_linear_max_C"), e_read_J=s("e_read_J"), cint_F=s("cint_F"), gbw_Hz=s("gbw_Hz"),
        noise_out_V=s("noise_out_rms_V", "integrator noise") if noise else None)


def draw_columns(n: int, p: IntegratorParams, rng: np.random.Generator, *, mismatch_scale: float = 1.0):
    """Per-column (gain V/C, offset V), each (n,) float64: Gaussian with the bundle's mean and σ·scale."""
    gain = p.gain_V_per_C + mismatch_scale * p.gain_std_V_per_C * rng.standard_normal(n)
    off = p.offset_V + mismatch_scale * p.offset_std_V * rng.standard_normal(n)
    return gain, off


def lag_gain(g_line_S, cint_F: float, gbw_Hz: float) -> np.ndarray:
    """Gain κ_L = 1/(1 + G_L/(C_int·2π·GBW)) of a line of total conductance G_L (S) read by an integrator
    whose single-pole op-amp (gain-bandwidth GBW, Hz) drives C_int (F). Derivation (Johns & Martin, *Analog
    Integrated Circuit Design*, ch. 5; netlists/integrator.lib): integrating a current I, the output slews
    at I/C_int, which the op-amp (A(s) ≈ 2π·GBW/s) sustains only with an input error V_in = I/(C_int·2π·GBW);
    every device k of the line sees its drive v_k minus V_in (the idle ones, held at 0 V, conduct −G_k·V_in),
    so I = Σ_k G_k·v_k − G_L·V_in = Σ_k G_k·v_k·κ_L. Measured against SPICE in docs/validation.md.
    g_line_S: any shape; returns float64 of the same shape (1 for GBW or C_int ≤ 0: no lag modelled)."""
    g = np.asarray(g_line_S, np.float64)
    if not (cint_F > 0 and gbw_Hz > 0):
        return np.ones_like(g)
    return 1.0 / (1.0 + g / (cint_F * 2.0 * np.pi * gbw_Hz))


def integrate(q_C: np.ndarray, gain: np.ndarray, offset: np.ndarray, p: IntegratorParams,
              rng: np.random.Generator | None = None) -> np.ndarray:
    """Output voltage of each column: V = clip(V_off,j + gain_j·Q_j + σ_out·z, V_lo, V_hi) (V, float64).

    q_C: (n,) integrated charge; z ~ N(0, 1) only when rng is given and the noise was loaded. The
    transfer is linear to 0.012 % of the swing inside the rails (``linearity_error``), so the line
    plus the clamp is the calibrated transfer curve."""
    v = offset + gain * np.asarray(q_C, np.float64)
    if rng is not None and p.noise_out_V:
        v = v + p.noise_out_V * rng.standard_normal(v.shape)
    return np.clip(v, p.v_lo_V, p.v_hi_V)


def adc(v: np.ndarray, bits: int | None, v_min: float, v_max: float) -> np.ndarray:
    """Uniform ADC: code = round((V − V_min)/(V_max − V_min)·(2^bits − 1)) clipped to [0, 2^bits − 1],
    returned as the reconstructed voltage V_min + code·LSB (float64). bits=None: no quantisation."""
    if bits is None:
        return np.clip(v, v_min, v_max)
    if bits < 1:
        raise ConfigError(f"adc bits={bits}: must be ≥ 1 or None")
    levels = (1 << bits) - 1
    lsb = (v_max - v_min) / levels
    return v_min + np.clip(np.rint((v - v_min) / lsb), 0, levels) * lsb
