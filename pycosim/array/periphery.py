"""Read periphery: pulse-width-modulated inputs, line integrators and ADCs (Ambrogio et al. 2018, Methods).

A read of weights W (network units, W = scale·W_S with W_S in siemens) with input x:

    t_i = |x̂_i|·t_x1,  x̂ = sign(x)·round(|x|·L)/L, L = 2^input_bits − 1, |x| clipped to 1   (PWM)
    Q_j = V_read·Σ_i sign(x_i)·t_i·W_S,ij = V_read·t_x1·y_j/scale,  y = x̂·W                 (charge, C)
    V_j = clip(V_off,j + gain_j·Q_j + σ_out·z, V_lo, V_hi)                                    (integrator)
    ŷ_j = (ADC(V_j) − V_off)/(gain·V_read·t_x1)·scale                                         (digital result)

with the nominal (bundle mean) offset and gain in the reconstruction, so per-line offset and gain
mismatch, noise, rails and ADC quantisation stay as errors.

The column read (netlists/integrator.lib, colread) integrates the NET current of a pair: the plus and
minus line currents are copied by mirrors of gain 1 + ε⁺_j, 1 + ε⁻_j and subtracted before C_int, so the
charge is Q_j = (1 + ε⁺_j)·Q⁺_j − (1 + ε⁻_j)·Q⁻_j: the mirror gains multiply each line's conductances (the
line gains κ of :class:`pycosim.array.schemes.analog.AnalogCrossbar`, folded into its read matrix, so the
common-mode error ε⁺·Q⁺ − ε⁻·Q⁻ costs no extra accumulation). Each conveyor holds its line at
V_ref + V_os,j, so every cell of the line conducts −V_os,j·G for the whole integration t_open = t_x1 +
t_settle: a per-line charge offset Q_off,j = −(V_os⁺_j·G⁺_L,j − V_os⁻_j·G⁻_L,j)·t_open that the crossbar
sets from its line sums (:meth:`ReadChannel.set_line_charge`). The pulse length for x = 1 is chosen
so that the configured full-scale output reaches the net share of the integrator's linear range:
t_x1 = q_net_fs_C·scale/(V_read·full_scale), q_net_fs_C = q_linear_max_C minus the column read's 3σ
common-mode and offset headroom (bundle; netlists/integrator.lib, C_INT); outputs up to
q_linear_max_C·scale/(V_read·t_x1) (≈ 1.17 full scales) stay linear. Device read noise adds Σ_i σ²_ij·t_bench/t_i per
device in charge terms, i.e. var(y_j) = Σ_i |x̂_i|·S_ij / t_x1 with S_ij = Σ_devices σ²·t_bench
(white noise; :class:`pycosim.array.crossbar.Crossbar` keeps S cached).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.devices import integrator

_NO_Z = np.zeros(0, np.float32)


@dataclass(frozen=True)
class ReadChannel:
    """The integrators and ADCs of one read direction (forward: one per output; backward: one per input).

    a: (n,) float64, gain_j·V_read·t_x1/scale (V per network unit) of each line; off: (n,) offsets (V);
    a_nom, off_nom: nominal values used in the reconstruction; t_x1_s: read-pulse length for |x| = 1;
    noise_V: integrator output σ (0 = off); bits: ADC bits; v_lo_V, v_hi_V: rails (= ADC range).
    eps_p, eps_n, vos_p, vos_n: (n,) float64 mirror gain errors and conveyor offsets (V) of the plus and
    minus line of each output (:func:`pycosim.devices.integrator.draw_lines`; transposed reads use the plus
    chain); y_per_C: network units per coulomb of net charge, scale/(V_read·t_x1); t_open_s: integration
    time from the reset opening to the sample, t_x1 + t_settle (s).
    kernel_args: the constants of :func:`pycosim.array.kernels.adc_convert` after y (a, off, noise_V) and
    after z (bits … 1/a_nom), float32, built once.
    """

    a: np.ndarray
    off: np.ndarray
    a_nom: float
    off_nom: float
    t_x1_s: float
    noise_V: float
    bits: int | None
    v_lo_V: float
    v_hi_V: float
    eps_p: np.ndarray | None = None
    eps_n: np.ndarray | None = None
    vos_p: np.ndarray | None = None
    vos_n: np.ndarray | None = None
    y_per_C: float = 0.0
    t_open_s: float = 0.0

    @classmethod
    def build(cls, n: int, p: integrator.IntegratorParams, *, scale: float, read_v_V: float, full_scale: float,
              bits: int | None, noise: bool, mismatch_scale: float, rng: np.random.Generator,
              t_read_s: float | None = None) -> "ReadChannel":
        """Per-line gains and offsets drawn as in :func:`pycosim.devices.integrator.draw_columns`, then the
        mirror and conveyor mismatch (:func:`pycosim.devices.integrator.draw_lines`); the read-pulse length
        for |x| = 1 is t_read_s if given, else q_net·scale/(V_read·full_scale), q_net = q_net_fs_C (q_linear_max_C
        when the bundle gives none); the output noise that
        of a read integrated over t_x1 + t_settle (:func:`pycosim.devices.integrator.noise_at`)."""
        q_net = p.q_net_fs_C if p.q_net_fs_C > 0 else p.q_linear_max_C
        t_x1 = t_read_s if t_read_s is not None else q_net * scale / (read_v_V * full_scale)
        gain, off = integrator.draw_columns(n, p, rng, mismatch_scale=mismatch_scale)
        eps_p, eps_n, vos_p, vos_n = integrator.draw_lines(n, p, rng, mismatch_scale=mismatch_scale)
        k = read_v_V * t_x1 / scale
        return cls(a=(gain * k), off=off, a_nom=p.gain_V_per_C * k, off_nom=p.offset_V, t_x1_s=t_x1,
                   noise_V=integrator.noise_at(p, t_x1 + p.t_settle_s) if noise else 0.0, bits=bits, v_lo_V=p.v_lo_V, v_hi_V=p.v_hi_V,
                   eps_p=eps_p, eps_n=eps_n, vos_p=vos_p, vos_n=vos_n, y_per_C=1.0 / k,
                   t_open_s=t_x1 + p.t_settle_s)

    def line_charge(self, g_plus_S: np.ndarray, g_minus_S: np.ndarray | None = None) -> np.ndarray:
        """Offset charge (C, (n,) float64) of each line from its conveyors' offsets over the integration:
        Q_off,j = −(V_os⁺_j·G⁺_L,j − V_os⁻_j·G⁻_L,j)·t_open (module docstring); g_minus_S None: one line per
        output (transposed reads, the plus chain)."""
        if self.vos_p is None:
            return np.zeros(np.shape(g_plus_S))
        q = self.vos_p * np.asarray(g_plus_S, np.float64)
        if g_minus_S is not None:
            q = q - self.vos_n * np.asarray(g_minus_S, np.float64)
        return -q * self.t_open_s

    def set_line_charge(self, q_C: np.ndarray | None) -> None:
        """Make each line's offset (V) include the charge offset q_C (C, (n,); None = none): V_off,j + gain_j·q_j
        (gain_j = a_j·y_per_C), written in place into the offsets the read kernels use."""
        v = np.asarray(self.off, np.float64)
        if q_C is not None:
            v = v + np.asarray(self.a, np.float64) * self.y_per_C * np.asarray(q_C, np.float64)
        self._off32[:] = v.astype(np.float32)

    def convert(self, y: np.ndarray, rng: np.random.Generator | None, z: np.ndarray | None = None) -> np.ndarray:
        """Ideal line sums y (network units, float32) → digitised result ŷ (float32), in place.

        Evaluated (:func:`pycosim.array.kernels.adc_convert`) as V = clip(off + a·y + σ_out·z, V_lo, V_hi),
        code = clip(rint((V − V_lo)/LSB), 0, 2^bits − 1), ŷ = code·(LSB/a_nom) + (V_lo − V_off)/a_nom.
        z: one N(0, 1) per line for the output noise (drawn from *rng* when None and the noise is on)."""
        from pycosim.array import kernels

        y = np.ascontiguousarray(y, np.float32)
        if self.noise_V:
            if z is None:
                z = rng.standard_normal(y.shape[0], dtype=np.float32)
        else:
            z = _NO_Z
        return kernels.adc_convert(y, *self.kernel_args[:3], z, *self.kernel_args[3:])

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "_a32", np.asarray(self.a, np.float32))
        set_(self, "_off32", np.asarray(self.off, np.float32))
        set_(self, "_inv_lsb", np.float32(0))
        set_(self, "_levels", np.float32(0))
        set_(self, "_lsb_over_a", np.float32(0))
        set_(self, "_y0", np.float32(0))
        if self.bits is not None:
            levels = (1 << self.bits) - 1
            lsb = (self.v_hi_V - self.v_lo_V) / levels
            set_(self, "_levels", np.float32(levels))
            set_(self, "_inv_lsb", np.float32(1.0 / lsb))
            set_(self, "_lsb_over_a", np.float32(lsb / self.a_nom))
            set_(self, "_y0", np.float32((self.v_lo_V - self.off_nom) / self.a_nom))
        set_(self, "kernel_args", (self._a32, self._off32, np.float32(self.noise_V), self.bits or 0,
                                   np.float32(self.v_lo_V), np.float32(self.v_hi_V), self._inv_lsb, self._levels,
                                   self._lsb_over_a, self._y0, np.float32(self.off_nom), np.float32(1.0 / self.a_nom)))
