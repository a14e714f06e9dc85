"""Column read (conveyors, mirrors, integrator) and ADC at array level.

The column read (subckt ``colread`` of netlists/integrator.lib, bench ``circuits/integrator_diff.cir``)
holds each line of a pair at V_ref with a regulated current conveyor, copies the two line currents with
current mirrors of gain 1 + ε⁺ and 1 + ε⁻, subtracts them at the integrator's virtual ground and
integrates the net charge on C_int: V_out = V_off + gain·Q (gain ≈ −1/C_int), clamped at the rails
(``integrator_transfer`` bench at the read's C_int; Ambrogio et al., Nature 558, 60 (2018), Methods:
column currents integrated on a capacitor). The bundle gives the mean gain and offset, their
instance-to-instance spread, the rails, the linear range, the output noise of one read, the settling
time after the read pulses, the conveyors' input conductance and residual offset, and the mirrors' gain
spread σ(ε⁺), σ(ε⁻).

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
    one read (None if not loaded); e_read_J: energy per read; cint_F: integration capacitance (F);
    t_settle_s: settling time after the last read pulse (s; the read window is t_x1 + t_settle_s); g_in_S:
    DC input conductance of each line's conveyor (S; sets the line gain :func:`lag_gain`, 0 = no lag);
    eps_plus_std, eps_minus_std: σ of the mirror gains of the plus and minus line (-); vos_line_std_V: σ of
    each conveyor's residual offset (V; the line sits at V_ref + V_os); noise_t_open_s: the time over which
    the bench's read noise noise_out_V was integrated (s; :func:`noise_at`); q_net_fs_C: the share of the linear
    range the net signal may fill (C; q_linear_max minus the 3σ common-mode and conveyor-offset headroom of the
    column read; 0 = all of it).
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
    t_settle_s: float = 0.0
    g_in_S: float = 0.0
    eps_plus_std: float = 0.0
    eps_minus_std: float = 0.0
    vos_line_std_V: float = 0.0
    noise_t_open_s: float = 0.0
    q_net_fs_C: float = 0.0


#: The bundle scalars :func:`params` reads (section ``integrator``): the bundle check requires them.
SCALARS = MODEL_SCALARS["integrator"]


def params(bundle, *, noise: bool = True) -> IntegratorParams:
    """Integrator parameters. Scalars consumed (section ``integrator``, :data:`SCALARS`): gain_V_per_C,
    gain_std_V_per_C, offset_V, offset_std_V, v_sat_lo_V, v_sat_hi_V, q_linear_max_C, e_read_J, cint_F, t_settle_s,
    conveyor_g_in_S, mirror_eps_plus_std, mirror_eps_minus_std, conveyor_vos_std_V, noise_t_open_s, q_net_fs_C, and with noise:
    noise_out_rms_V.
    A missing one raises CalibrationError."""
    s = lambda k, f="integrator": float(require_scalar(bundle, "integrator", k, f))  # noqa: E731
    return IntegratorParams(
        gain_V_per_C=s("gain_V_per_C"), gain_std_V_per_C=s("gain_std_V_per_C"), offset_V=s("offset_V"),
        offset_std_V=s("offset_std_V"), v_lo_V=s("v_sat_lo_V"), v_hi_V=s("v_sat_hi_V"),
        q_linear_max_C=s("q_linear_max_C"), e_read_J=s("e_read_J"), cint_F=s("cint_F"), t_settle_s=s("t_settle_s"),
        g_in_S=s("conveyor_g_in_S"), eps_plus_std=s("mirror_eps_plus_std"), eps_minus_std=s("mirror_eps_minus_std"),
        vos_line_std_V=s("conveyor_vos_std_V"), noise_t_open_s=s("noise_t_open_s"), q_net_fs_C=s("q_net_fs_C"),
        noise_out_V=s("noise_out_rms_V", "integrator noise") if noise else None)


def draw_columns(n: int, p: IntegratorParams, rng: np.random.Generator, *, mismatch_scale: float = 1.0):
    """Per-column (gain V/C, offset V), each (n,) float64: Gaussian with the bundle's mean and σ·scale."""
    gain = p.gain_V_per_C + mismatch_scale * p.gain_std_V_per_C * rng.standard_normal(n)
    off = p.offset_V + mismatch_scale * p.offset_std_V * rng.standard_normal(n)
    return gain, off


def lag_gain(g_line_S, g_in_S: float) -> np.ndarray:
    """Gain κ_L = 1/(1 + G_L/g_in) of a line of total conductance G_L (S) held by a conveyor of DC input
    conductance g_in (S). Derivation (netlists/integrator.lib, colread): the conveyor holds the line at
    V_ref + I/g_in while it carries I; every device k of the line sees its drive v_k minus that error (the idle
    ones, held at V_ref, conduct −G_k·I/g_in), so I = Σ_k G_k·v_k − G_L·I/g_in = Σ_k G_k·v_k·κ_L. The conveyor's
    amplifier pole only delays the current (its input admittance g_in/(1 + s·A0/(2π·GBW)) passes the whole
    charge once settled; t_settle_s), unlike the single-ended integrator whose slewing output kept a
    virtual-ground error I/(C_int·2π·GBW) all through the read (κ ≈ 0.2 at 785 rows; docs/circuits/integrator.md).
    g_line_S: any shape; returns float64 of the same shape (1 for g_in ≤ 0: no lag modelled)."""
    g = np.asarray(g_line_S, np.float64)
    if not g_in_S > 0:
        return np.ones_like(g)
    return 1.0 / (1.0 + g / g_in_S)


def noise_at(p: IntegratorParams, t_open_s: float) -> float:
    """σ (V) of one read integrated over t_open_s: noise_out_V·√(t_open/noise_t_open_s). The column read's noise
    is dominated by white noise currents integrated on C_int (the conveyors' e_n times the line conductance,
    the mirrors' channel noise: charge variance S·t/2, circuits/integrator_diff.cir), so it grows as √t; the
    integrator op-amp's direct share (~0.4 mV of 2.1 mV) does not, which this scaling overstates for windows
    longer than the bench's. 0 when the noise was not loaded; unscaled without noise_t_open_s."""
    if not p.noise_out_V:
        return 0.0
    if not (p.noise_t_open_s > 0 and t_open_s > 0):
        return float(p.noise_out_V)
    return float(p.noise_out_V * np.sqrt(t_open_s / p.noise_t_open_s))


def draw_lines(n: int, p: IntegratorParams, rng: np.random.Generator, *, mismatch_scale: float = 1.0):
    """Per-line mismatch of the column read, each (n,) float64: (ε⁺, ε⁻, V_os⁺, V_os⁻) — the mirror gain errors
    of the plus and minus line (Gaussian, σ = mirror_eps_plus_std, mirror_eps_minus_std; Pelgrom sums of many
    device contributions, so Gaussian) and the conveyors' residual offsets (V, σ = conveyor_vos_std_V), all
    times *mismatch_scale*. Transposed reads use the plus chain (ε⁺, V_os⁺) on each row line."""
    z = rng.standard_normal((4, n))
    s = mismatch_scale
    return (s * p.eps_plus_std * z[0], s * p.eps_minus_std * z[1], s * p.vos_line_std_V * z[2],
            s * p.vos_line_std_V * z[3])


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
