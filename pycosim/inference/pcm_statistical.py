"""The published statistical PCM inference model, for comparison with the circuit-derived one.

Source: M. J. Rasch et al., "Hardware-aware training for large-scale and diverse deep learning inference
workloads using in-memory computing-based accelerators", Nature Communications 14, 5282 (2023), Methods
("PCM noise model"), as released in the IBM Analog Hardware Acceleration Kit (aihwkit,
``aihwkit.inference.noise.pcm.PCMLikeNoiseModel`` with ``SinglePairConductanceConverter`` and
``GlobalDriftCompensation``); the model was fitted on a million-device doped-GST PCM array (Nandakumar
et al., ICECS 2019; Joshi et al., Nature Communications 11, 2473 (2020)). Implemented here from those
equations (NumPy, no aihwkit dependency). Conductances in µS, times in s.

Weight → conductance (one differential pair, the other device at 0; per layer):

    ĝ_T = |W|/max|W|,   G_T = ĝ_T·G_max on G⁺ if W > 0 (G⁻ if W < 0), the other device G_T = 0;
    G_max = 25 µS

Programming noise (iterative program-and-verify; σ a quadratic polynomial in ĝ_T):

    G_P = max(G_T + σ_P(G_T)·z₁, 0),   σ_P = (c₀ + c₁·ĝ_T + c₂·ĝ_T²)·G_max/25 µS
    c₀ = 0.26348 µS, c₁ = 1.9650 µS, c₂ = −1.1731 µS

Drift (per device, exponent drawn once from its target conductance; t_inf = time after programming):

    ν = |μ_ν(ĝ_T) + σ_ν(ĝ_T)·z₂|
    μ_ν = clip(−0.0155·ln ĝ_T + 0.0244, 0.049, 0.1),   σ_ν = clip(−0.0125·ln ĝ_T − 0.0059, 0.008, 0.045)
    (ĝ_T clipped below at 10⁻⁷)
    G_D(t) = G_P·(t/t₀)^(−ν),   t = t_inf + t₀,   t₀ = 20 s

Read noise (1/f, accumulated since programming, with the log-time term; drawn per evaluation time):

    G(t) = max(G_D(t) + |G_D(t)|·σ_nG(t)·z₃, 0)
    σ_nG(t) = Q_s·√ln((t + t_r)/(2·t_r)),   Q_s = min(0.0088/max(|G_P|/G_max, 10⁻³)^0.65, 0.2),   t_r = 250 ns

Back to weights: W(t) = (G⁺(t) − G⁻(t))·max|W|/G_max. Global drift compensation (aihwkit
``GlobalDriftCompensation``) is applied by the caller, the same way as for the circuit model
(:mod:`pycosim.inference.compensation`). z₁, z₂, z₃ ~ N(0, 1), independent per device.

As an inference model (:class:`PcmStatisticalModel`, registry name ``'pcm-statistical'``): per repeat the
noise-free trained weights of every layer are programmed (:func:`program`), and at each time t the weights
W(t) of :func:`weights_at` become the read matrix of a private copy of the layer,
``Crossbar.set_weights(W(t), mode='exact')`` (device read noise off: the model carries its own), read
through the layer's periphery (PWM, integrators, gain/offset mismatch, ADC).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from pycosim.inference.base import InferenceModel

#: G_max (µS) that the largest |W| of a layer maps to, and the reference G_max of the coefficients.
G_MAX_US = 25.0
#: Programming-noise polynomial c₀, c₁, c₂ (µS) in powers of ĝ_T = G_T/G_max.
PROG_COEFF_US = (0.26348, 1.9650, -1.1731)
#: Drift reference time t₀ (s) and read-noise time constant t_r (s).
T0_S = 20.0
T_READ_S = 250e-9
_ZERO_CLIP = 1e-7


def prog_sigma_us(g_target_us, g_max_us: float = G_MAX_US) -> np.ndarray:
    """σ_P (µS) of programming noise at target G_T (µS): (c₀ + c₁·ĝ + c₂·ĝ²)·G_max/25 µS, ĝ = G_T/G_max
    (Rasch et al. 2023, Methods; coefficients fitted at G_max = 25 µS)."""
    g = np.asarray(g_target_us, np.float64) / g_max_us
    c0, c1, c2 = PROG_COEFF_US
    return (c0 + c1 * g + c2 * g * g) * (g_max_us / G_MAX_US)


def drift_nu_mean(g_target_us, g_max_us: float = G_MAX_US) -> np.ndarray:
    """μ_ν = clip(−0.0155·ln ĝ_T + 0.0244, 0.049, 0.1), ĝ_T = max(|G_T|/G_max, 10⁻⁷)."""
    g = np.maximum(np.abs(np.asarray(g_target_us, np.float64)) / g_max_us, _ZERO_CLIP)
    return np.clip(-0.0155 * np.log(g) + 0.0244, 0.049, 0.1)


def drift_nu_std(g_target_us, g_max_us: float = G_MAX_US) -> np.ndarray:
    """σ_ν = clip(−0.0125·ln ĝ_T − 0.0059, 0.008, 0.045), ĝ_T = max(|G_T|/G_max, 10⁻⁷)."""
    g = np.maximum(np.abs(np.asarray(g_target_us, np.float64)) / g_max_us, _ZERO_CLIP)
    return np.clip(-0.0125 * np.log(g) - 0.0059, 0.008, 0.045)


def drift_factor(nu, t_inference_s: float) -> np.ndarray:
    """G_D/G_P = (t/t₀)^(−ν) with t = t_inf + t₀ (1 at t_inf = 0)."""
    return np.power((t_inference_s + T0_S) / T0_S, -np.asarray(nu, np.float64))


def read_noise_q(g_prog_us, g_max_us: float = G_MAX_US) -> np.ndarray:
    """Q_s = min(0.0088/max(|G_P|/G_max, 10⁻³)^0.65, 0.2) (relative 1/f noise amplitude)."""
    g = np.maximum(np.abs(np.asarray(g_prog_us, np.float64)) / g_max_us, 1e-3)
    return np.minimum(0.0088 / g ** 0.65, 0.2)


def read_noise_rel(g_prog_us, t_inference_s: float, g_max_us: float = G_MAX_US) -> np.ndarray:
    """σ_nG(t) = Q_s·√ln((t + t_r)/(2·t_r)), t = t_inf + t₀: relative σ of the read conductance."""
    t = t_inference_s + T0_S
    return read_noise_q(g_prog_us, g_max_us) * np.sqrt(np.log((t + T_READ_S) / (2 * T_READ_S)))


@dataclass
class ProgrammedLayer:
    """One layer programmed with the statistical model (index 0 = G⁺, 1 = G⁻; arrays (2, n_in, n_out)).

    g_prog_us: G_P after programming noise (µS); nu: drift exponents; z_read: the N(0, 1) of the read noise
    (kept, so that every evaluation time of one chip sees the same draw scaled by σ_nG(t): common random
    numbers across times); w_per_us: network units per µS, max|W|/G_max.
    """

    g_prog_us: np.ndarray
    nu: np.ndarray
    z_read: np.ndarray
    w_per_us: float


def to_conductances(W: np.ndarray, g_max_us: float = G_MAX_US) -> tuple[np.ndarray, float]:
    """Target conductances (2, …) µS of weights W (single pair, max|W| → G_max) and network units per µS."""
    W = np.asarray(W, np.float64)
    w_max = max(float(np.abs(W).max()) if W.size else 0.0, _ZERO_CLIP)
    g = W * (g_max_us / w_max)
    return np.stack([np.clip(g, 0, g_max_us), np.clip(-g, 0, g_max_us)]), w_max / g_max_us


def program(W: np.ndarray, rng: np.random.Generator, g_max_us: float = G_MAX_US) -> ProgrammedLayer:
    """Program weights W (network units) into PCM pairs: target mapping, programming noise, drift exponents
    and the read-noise draw (module docstring). One call = one chip; draws come from *rng*."""
    g_t, w_per_us = to_conductances(W, g_max_us)
    g_p = np.maximum(g_t + prog_sigma_us(g_t, g_max_us) * rng.standard_normal(g_t.shape), 0.0)
    nu = np.abs(drift_nu_mean(g_t, g_max_us) + drift_nu_std(g_t, g_max_us) * rng.standard_normal(g_t.shape))
    return ProgrammedLayer(g_p, nu, rng.standard_normal(g_t.shape), w_per_us)


def weights_at(layer: ProgrammedLayer, t_inference_s: float, g_max_us: float = G_MAX_US) -> np.ndarray:
    """Weights (network units, float32) t_inference_s after programming: drift, then the 1/f read noise
    accumulated since programming, W = (G⁺ − G⁻)·max|W|/G_max (module docstring)."""
    g_d = layer.g_prog_us * drift_factor(layer.nu, t_inference_s)
    g = np.maximum(g_d + np.abs(g_d) * read_noise_rel(layer.g_prog_us, t_inference_s, g_max_us) * layer.z_read, 0.0)
    return ((g[0] - g[1]) * layer.w_per_us).astype(np.float32)


class PcmStatisticalModel(InferenceModel):
    """The published statistical PCM model as an inference model (module docstring; no options).

    chip = (a deep copy of the network, one :class:`ProgrammedLayer` per layer); at time t every layer of
    the copy reads W(t) = :func:`weights_at` (set with ``set_weights(…, mode='exact')``), so drift and the
    accumulated 1/f read noise act on every forward read."""

    name = "pcm-statistical"

    def prepare(self, net, rng: np.random.Generator):
        vehicle = copy.deepcopy(net)
        return vehicle, [program(xb.weights(forward=True), rng) for xb in vehicle.layers]

    def at_time(self, chip, t_s: float):
        vehicle, programmed = chip
        for xb, pl in zip(vehicle.layers, programmed):
            xb.set_weights(weights_at(pl, t_s), mode="exact")
        return vehicle
