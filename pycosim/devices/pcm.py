"""Phase-change memory (PCM) at array level: partial-SET pulses, RESET, drift and read noise.

State: ``G`` (any shape, float32, siemens) — the *programmed* conductance, i.e. what a read right
after programming returns (the staircase and verify reads of the benches); ``inst`` (same shape,
int32) — the SPICE Monte Carlo instance each device is (see :mod:`pycosim.devices`).

SET pulse: each device's deterministic staircase plus a state-dependent per-pulse Gaussian
-------------------------------------------------------------------------------------------
A bundle characterised from the circuit carries, per device k (row k = the SPICE instance of seed
``seed + k``), its staircase with the cycle-to-cycle noise off (``pcm/stair_clean_g_S``, 60 pulses from RESET)
and its saturation G_sat,k (``pcm/g_sat_S``: the fully crystalline cell read as the staircase reads, 0.5 µs
after a pulse). A pulse at G draws

    ΔG = m_k(G) + s_c2c·σ_k(G)·(β(G/G_sat,k) + z),   z ~ N(0, 1),   σ_k(G) = c·m_k(G) + a·G_sat,k + b·G
    G ← clip(G + ΔG, min(G, G_reset,k), G_sat,k)

m_k(G) is the step of the deterministic staircase at G (linear interpolation in G; beyond its last point the step
falls linearly to 0 at G_sat,k, as the growth ∝ 1 − x does). (c, a, b) = ``pcm/c2c_law``, a maximum-likelihood
fit to the residuals ΔG − m_k(G) of the bench's noisy staircases (from RESET and from x = 0.6, steps at the
ceiling censored; :func:`pycosim.characterize.pcm.fit_c2c_law`); β (``pcm/c2c_bias`` on bins of G/G_sat) is the mean
of the standardised residuals per bin: the circuit's noisy steps average ≈ 0.1 σ more than its deterministic step
at 10–60 % of G_sat (its kick acts on a convex G(x)), 0 near the ceiling (the clip reproduces the truncation there).
σ_k has the form of the published PCM preset's
σ = 0.6·(|Δw| + 0.042 + 0.108·|w|) in units of the range (aihwkit ``PCMPresetDevice``, after Nandakumar et al.,
Front. Neurosci. 14, 406 (2020)), whose additive and slope terms ``netlists/pcm.lib`` now has. The law does not
depend on the pulse index, so the pulse counter ``since`` is not used by it. Why not the per-device quadratic of
the noisy staircase and its residuals by pulse index (below): with the additive terms the step's σ exceeds the
mean step above ≈ 30 % of the range, a 20-pulse staircase fixes neither the quadratic nor the residuals there, and
that representation missed the staircase spread by 17.7 %, the jump-table mean by up to 73 % at high G and the
fraction of devices reaching saturation (43 % against > 80 %).

Bundles without those tables (built from measured arrays, :mod:`pycosim.measured`): per-device parametric fit of
the device's own staircase
------------------------------------------------------------------------------
Row k of ``pcm/staircase_g_S`` is one simulated device (its d2d draws: gc, ga, kg, rth, ν) seen
through one realisation of its cycle-to-cycle noise. For each row the mean response is fitted as

    ln(ΔG_k(G)/1 µS) = c0_k + c1_k·G + c2_k·G²        (G in µS, least squares over its 20 steps)

(least squares on the linear scale, so that zero and negative steps — which large cycle-to-cycle
noise produces — are fitted too). The residuals e_kj = ΔG_kj − m_k(G_kj) (scaled by √(J/(J−3)) for
the three fitted parameters) form the cycle-to-cycle distribution *of pulse j after RESET*: every
device counts its SET pulses since its last RESET, and pulse j draws the residual of pulse j of a
random staircase (beyond J: of pulse J − 1). The residuals depend on j: the first pulse from the
amorphous state sometimes fails to switch, and the quadratic leaves systematic residuals of −0.29,
−0.10, … µS at pulses 1, 2 and +0.05–0.1 µS in mid-range on the shipped bundle; pooling by G bin
instead left the mean 4.5 % high at pulse 2, a single pool made the first steps 20 % too wide. A
pulse draws

    ΔG = m_k(G) + s_c2c·e,   m_k(G) = exp(fit_k(G))·1 µS,   e resampled from the residuals of pulse j,
    (the G_max of ``pcm_reset`` — G before its RESET pulse — is below the staircase's own maximum for a
    quarter of the shipped bundle's devices; the ceiling is the larger of the two, as the device demonstrably
    reaches it)
    G ← clip(G + ΔG, floor, G_max,k)      G_max,k = max(pcm/g_max_S[k], max of staircase row k)

Why not the pooled jump table alone: ΔG conditional on G only (``pcm/dg_quantiles_S``) forgets
which device made the step; replaying the staircase with it, even with a per-device quantile rank,
gave a mean 11 % low at pulse 2 and a spread 20–30 % low at every pulse on the shipped bundle. The
per-device fit keeps the device's identity (and with it the correlation with its G_max, RESET floor
and drift exponent, rows of the same seed) and reproduces the staircase (tests/devices). The jump
table is still what open-loop tuning uses as the *calibrated mean* ΔG(G) (``dg_fit``), and the
model's own jump table is checked against it in the tests. Why quadratic: a single exponential
(c2 = 0) leaves a systematic residual of −0.29 at the first pulse (first steps from the amorphous
state are smaller than the trend) and misses the mean by 38 %; a cubic is no better than the
quadratic (residual σ 0.262 vs 0.270). Outside the device's fitted range the log-response is
continued linearly with the edge slope (below: held constant; above: slope min(edge slope, 0)), so
ΔG never grows beyond the measured range.

Drift: the circuit's own curve G(t)/G(t_p) of every device and level, read by the drift bench at 10 µs …
10⁴ s after programming, interpolated in ln(t + t_on) (t_on = the netlist's onset ``ton``) and in the
device's level (:func:`drift_with`); the single power law per level that it replaces overstated the loss within
a 14 ms interval by ≈ 20 % relative, because the circuit's effective exponent rises from ≈ 0.02 at 10 µs to
≈ 0.05 after 1 s (the barrier's share of the filament resistance grows as it drifts).

Sources: jump-table / per-pulse ΔG(G) models of PCM training, Burr et al., IEEE TED 62, 3498
(2015); Ambrogio et al., Nature 558, 60 (2018), Methods. Drift: Ielmini et al., IEEE TED 54, 308
(2007); onset: Kersting et al., arXiv:2106.06270 (2021).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit

from pycosim.devices import require_scalar, require_table
from pycosim.errors import CalibrationError, ConfigError

_US = 1e6  # µS per S (the fit runs in µS so its coefficients are of order one)


@dataclass(frozen=True)
class PCMPopulation:
    """Per-instance PCM parameters from a bundle (row k = SPICE instance k). Units in names.

    Attributes:
        coef: (n, 3) float32, ln(ΔG/µS) = c0 + c1·G_µS + c2·G_µS² on [g_lo_S, g_hi_S].
        g_lo_S, g_hi_S: (n,) float32, fitted range (first and last G before a pulse).
        slope_lo, slope_hi: (n,) float32, d ln ΔG / dG_µS used outside the range (lo: 0, hi ≤ 0).
        c2c_by_pulse_S: (J, n) float32, cycle-to-cycle residual ΔG − m_k(G) (S) of the j-th pulse after RESET
            of staircase k (scaled by √(J/(J−3))).
        g_max_S, g_reset_S, g_initial_S: (n,) float32.
        dg_fit: the bundle's calibrated mean ΔG(G) = dg0·exp(−G/gs) (open-loop tuning).
        drift_levels: (n_l,) float32 target fractions of G_max; drift_t_s (n_t,) float64 = t_p (drift_t_prog_s)
            followed by the bundle's read times (pcm/drift_t_s); drift_ln_g (n, n_l, n_t) float32 =
            ln(G(t_i)/G(t_p)) per device and level (column 0 = 0), the circuit's own drift curve; drift_nu
            (n, n_l) float32 = the long-term exponent (fit from pcm.drift_fit_t_min_s on), used beyond the last
            read; drift_t_on_s = the onset t_on of the interpolation coordinate ln(t + t_on); drift_level_x
            (n, n_l) float32 = where device k's level j actually lies, G_prog,kj/G_max,k (non-decreasing in j);
            or None.
        noise_g_S, noise_rel: (n_r,) read-noise table, noise_t_int_s; or None.
        clean_g_S: (n, N + 1) float32 S, device k's deterministic staircase (its cycle-to-cycle noise off,
            ``pcm/stair_clean_g_S``, non-decreasing): the mean step m_k(G) of :func:`clean_mean_dg`; g_sat_S (n,)
            float32 S, its saturation (x = 1) at the staircase's time base, the ceiling of the SET response;
            c2c_law (3,) float32 = (c, a, b) of the per-pulse σ_k(G) = c·m_k(G) + a·G_sat,k + b·G
            (``pcm/c2c_law``; the fit's report is the scalar ``pcm.c2c_law``); c2c_bias (n_b,) float32 on bins
            c2c_bias_edges_u (n_b + 1,) of G/G_sat,k: the mean offset of a step in units of its σ
            (``pcm/c2c_bias``: the bench's mean standardised residual per bin; 0 near the ceiling). All None for a bundle without them (data from measured arrays): then the
            per-device quadratic fit and the residuals by pulse index are used (module docstring).
    """

    coef: np.ndarray
    g_lo_S: np.ndarray
    g_hi_S: np.ndarray
    slope_lo: np.ndarray
    slope_hi: np.ndarray
    c2c_by_pulse_S: np.ndarray
    g_max_S: np.ndarray
    g_reset_S: np.ndarray
    g_initial_S: np.ndarray
    dg_fit: dict
    drift_levels: np.ndarray | None = None
    drift_nu: np.ndarray | None = None
    drift_t_prog_s: float | None = None
    drift_t_s: np.ndarray | None = None
    drift_ln_g: np.ndarray | None = None
    drift_t_on_s: float | None = None
    drift_level_x: np.ndarray | None = None
    noise_g_S: np.ndarray | None = None
    noise_rel: np.ndarray | None = None
    noise_t_int_s: float | None = None
    noise_t_rec_s: float | None = None
    clean_g_S: np.ndarray | None = None
    g_sat_S: np.ndarray | None = None
    c2c_law: np.ndarray | None = None
    c2c_bias_edges_u: np.ndarray | None = None
    c2c_bias: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.coef.shape[0])

    @property
    def g_ceiling_S(self) -> np.ndarray:
        """(n,) float32 S: the highest G a SET pulse leaves: G_sat,k with a deterministic staircase (the SET law's
        clip), else G_max,k."""
        return self.g_sat_S if self.g_sat_S is not None else self.g_max_S


def population(bundle, *, drift: bool = True, read_noise: bool = True, d2d_scale: float = 1.0,
               drift_t_prog_s: float | None = None, drift_t_on_s: float | None = None, drift_scale: float = 1.0,
               drift_d2d_scale: float = 1.0) -> PCMPopulation:
    """PCM population from *bundle*: per-device staircase fits (d2d), pooled residuals (c2c),
    G_max and RESET floor per device, and — if enabled — per-level drift ν and read noise.

    d2d_scale scales every per-device deviation from the population mean (fit coefficients,
    G_max, RESET floor, ν): 1 = as simulated, 0 = every device the mean device (for studies only).
    Device-requirement studies of drift: drift_d2d_scale scales, in addition, the per-device deviation of
    the drift curve ln(G(t)/G(t_p)) and of ν from their per-level mean (0 = every device drifts like the mean
    device of its level); drift_scale multiplies the log-drift of every device, G(t) = G·(G_c(t)/G_c(t_p))^s
    (0.5 = a material drifting half as fast in log G; Nandakumar et al., ICECS 2019, give ν ≈ 0.05–0.1 for
    GST). Both 1 = as simulated. drift_t_on_s: the onset t_on (s) of the interpolation coordinate
    ln(t + t_on); None = the bundle's (scalar pcm.drift_t_on_s, the netlist's ``ton``). The bundle's reads were
    made with the netlist's onset: another value re-shapes the curve between stored reads only.
    Tables consumed: pcm/staircase_g_S, pcm/fit_coef, pcm/fit_dg_residual_S (the per-device fits of
    :func:`pycosim.characterize.pcm.fit_staircases`, made once at characterisation), pcm/g_max_S,
    pcm/g_reset_S; scalar pcm.dg_fit; with drift:
    pcm/drift_levels, pcm/drift_nu, pcm/drift_t_s, pcm/drift_g_S, pcm/drift_g_prog_S (and the read time
    of drift_g_prog_S, drift_t_prog_s: the scalar pcm.drift_t_prog_s if the bundle has it, else the
    argument, which the crossbar takes from PCMConfig.drift_t_prog_s); with read noise: pcm/read_noise_g_S,
    pcm/read_noise_rel_sigma, scalar pcm.read_noise_t_int_s. A missing one raises CalibrationError.
    """
    for name, v in (("d2d_scale", d2d_scale), ("drift_scale", drift_scale), ("drift_d2d_scale", drift_d2d_scale)):
        if not v >= 0:
            raise ConfigError(f"pcm {name}={v}: must be ≥ 0")
    if drift_t_on_s is not None and not drift_t_on_s > 0:
        raise ConfigError(f"pcm drift_t_on_s={drift_t_on_s}: must be > 0")
    stair = require_table(bundle, "pcm/staircase_g_S", "PCM SET pulses")
    n = stair.shape[0]
    g_max = require_table(bundle, "pcm/g_max_S", "PCM G_max")
    g_reset = require_table(bundle, "pcm/g_reset_S", "PCM RESET")
    if g_max.shape[0] != n or g_reset.shape[0] != n:
        raise CalibrationError(f"pcm/g_max_S, pcm/g_reset_S and pcm/staircase_g_S disagree on the instance count "
                               f"({g_max.shape[0]}, {g_reset.shape[0]}, {n})")
    coef = require_table(bundle, "pcm/fit_coef", "PCM SET pulses")
    res = require_table(bundle, "pcm/fit_dg_residual_S", "PCM cycle-to-cycle noise")
    if coef.shape != (n, 3) or res.shape != (n, stair.shape[1] - 1):
        raise CalibrationError(f"pcm/fit_coef {coef.shape} and pcm/fit_dg_residual_S {res.shape} do not fit "
                               f"pcm/staircase_g_S {stair.shape} (expected ({n}, 3) and ({n}, {stair.shape[1] - 1}))")
    by_pulse = res.T                               # (J, n): residual of pulse j since RESET, instance k
    # G_max,k: the larger of pcm_reset's G_max and the staircase's maximum over its J pulses, which the device
    # demonstrably reaches; with a deterministic staircase in the bundle, that staircase's (its cycle-to-cycle noise,
    # several times the step at high G, would inflate the maximum of the noisy one: G_max is the range the weights map
    # to, the ceiling of the SET law is G_sat)
    top = stair.max(axis=1)
    if "pcm/stair_clean_g_S" in bundle.tables:
        top = require_table(bundle, "pcm/stair_clean_g_S", "PCM SET pulses")[:, :stair.shape[1]].max(axis=1)
        if top.shape != (n,):
            raise CalibrationError(f"pcm/stair_clean_g_S has {top.shape[0]} rows, pcm/staircase_g_S {n}")
    top = np.maximum(g_max, top)

    def shrink(a, axis=0):
        m = a.mean(axis=axis, keepdims=True)
        return m + d2d_scale * (a - m)

    coef = shrink(coef)
    g_lo = stair[:, 0] * _US
    g_hi = stair[:, -2] * _US
    slope_at = lambda g: coef[:, 1] + 2 * coef[:, 2] * g  # noqa: E731
    kw = {}
    if drift:
        levels = require_table(bundle, "pcm/drift_levels", "PCM drift")
        nu = require_table(bundle, "pcm/drift_nu", "PCM drift")
        t = require_table(bundle, "pcm/drift_t_s", "PCM drift")
        if nu.ndim != 2 or nu.shape != (n, levels.shape[0]):
            raise CalibrationError(f"pcm/drift_nu has shape {nu.shape}, expected ({n}, {levels.shape[0]})")
        g_prog = require_table(bundle, "pcm/drift_g_prog_S", "PCM drift")
        g_t = require_table(bundle, "pcm/drift_g_S", "PCM drift")
        if g_t.shape != (n, levels.shape[0], t.shape[0]):
            raise CalibrationError(f"pcm/drift_g_S has shape {g_t.shape}, expected ({n}, {levels.shape[0]}, {t.shape[0]})")
        sc = bundle.scalars.get("pcm", {})
        tp = sc.get("drift_t_prog_s", drift_t_prog_s)
        if tp is None:
            raise CalibrationError("PCM drift: the read time of pcm/drift_g_prog_S is neither the bundle scalar "
                                   "pcm.drift_t_prog_s nor given (drift_t_prog_s)")
        t_on = drift_t_on_s if drift_t_on_s is not None else sc.get("drift_t_on_s")
        if t_on is None:
            raise CalibrationError("PCM drift: the onset t_on is neither the bundle scalar pcm.drift_t_on_s nor given "
                                   "(drift_t_on_s); regenerate the bundle with pycosim characterize")
        if not np.all(t > tp):
            raise CalibrationError(f"pcm/drift_t_s must lie after the programmed read t_p = {tp} s")
        ln_g = np.log(np.clip(g_t, 1e-30, None) / np.clip(g_prog, 1e-30, None)[..., None])
        ln_g = np.concatenate([np.zeros(ln_g.shape[:2] + (1,)), ln_g], axis=2)    # t_p: ln 1 = 0
        # each device's own level positions (its programmed G over its G_max): the same pulse width lands
        # devices far apart (the 10 % level at 3–38 % of G_max), and the drift rises steeply just above RESET
        lev_x = np.maximum.accumulate(shrink(g_prog / top[:, None]), axis=1)
        def drift_const(a):
            a = shrink(a)
            m = a.mean(axis=0, keepdims=True)
            return drift_scale * (m + drift_d2d_scale * (a - m))

        kw.update(drift_levels=levels.astype(np.float32), drift_nu=drift_const(nu).astype(np.float32),
                  drift_t_prog_s=float(tp), drift_t_s=np.concatenate([[float(tp)], t.astype(np.float64)]),
                  drift_ln_g=np.ascontiguousarray(drift_const(ln_g), dtype=np.float32), drift_t_on_s=float(t_on),
                  drift_level_x=lev_x.astype(np.float32))
    if read_noise:
        kw.update(noise_g_S=require_table(bundle, "pcm/read_noise_g_S", "PCM read noise").astype(np.float32),
                  noise_rel=require_table(bundle, "pcm/read_noise_rel_sigma", "PCM read noise").astype(np.float32),
                  noise_t_int_s=float(require_scalar(bundle, "pcm", "read_noise_t_int_s", "PCM read noise")),
                  noise_t_rec_s=float(require_scalar(bundle, "pcm", "read_noise_record_s", "PCM read noise")))
    if "pcm/stair_clean_g_S" in bundle.tables:
        clean = np.maximum.accumulate(require_table(bundle, "pcm/stair_clean_g_S", "PCM SET pulses"), axis=1)
        g_sat = require_table(bundle, "pcm/g_sat_S", "PCM SET pulses")
        abc = require_table(bundle, "pcm/c2c_law", "PCM cycle-to-cycle noise").astype(np.float64)
        b_edges = require_table(bundle, "pcm/c2c_bias_edges_u", "PCM cycle-to-cycle noise").astype(np.float64)
        bias = require_table(bundle, "pcm/c2c_bias", "PCM cycle-to-cycle noise").astype(np.float64)
        if (b_edges.ndim != 1 or bias.shape != (b_edges.size - 1,) or not np.all(np.diff(b_edges) > 0)
                or not np.all(np.isfinite(bias))):
            raise CalibrationError(f"pcm/c2c_bias_edges_u {b_edges.shape} and pcm/c2c_bias {bias.shape}: increasing "
                                   f"edges and one finite value per bin")
        if clean.shape[0] != n or g_sat.shape != (n,):
            raise CalibrationError(f"pcm/stair_clean_g_S {clean.shape} and pcm/g_sat_S {g_sat.shape} do not fit "
                                   f"pcm/staircase_g_S {stair.shape} (expected {n} rows)")
        if abc.shape != (3,) or not (np.all(np.isfinite(abc)) and np.all(abc >= 0)):
            raise CalibrationError(f"pcm/c2c_law {abc}: (c, a, b), three finite values ≥ 0")
        g_sat = np.maximum(shrink(g_sat), 0)
        clean = np.minimum(np.maximum.accumulate(np.maximum(shrink(clean), 0), axis=1), g_sat[:, None])
        kw.update(clean_g_S=np.ascontiguousarray(clean, dtype=np.float32), g_sat_S=g_sat.astype(np.float32),
                  c2c_law=abc.astype(np.float32), c2c_bias_edges_u=b_edges.astype(np.float32),
                  c2c_bias=bias.astype(np.float32))
    return PCMPopulation(
        coef=coef.astype(np.float32), g_lo_S=(g_lo / _US).astype(np.float32), g_hi_S=(g_hi / _US).astype(np.float32),
        slope_lo=np.zeros(n, np.float32), slope_hi=np.minimum(slope_at(g_hi), 0).astype(np.float32),
        c2c_by_pulse_S=np.ascontiguousarray(by_pulse, dtype=np.float32), g_max_S=shrink(top).astype(np.float32),
        g_reset_S=np.maximum(shrink(g_reset), 0).astype(np.float32), g_initial_S=stair[:, 0].astype(np.float32),
        dg_fit=dict(require_scalar(bundle, "pcm", "dg_fit", "PCM open-loop tuning")), **kw)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def log_dg_cell(g_us, lo_us, hi_us, c0, c1, c2, slope_hi):
    """ln(ΔG/µS) of the fitted mean SET response at G (µS) of one device: c0 + c1·G̃ + c2·G̃² with
    G̃ = clip(G, lo, hi), plus (G − hi)·slope_hi above the fitted range (module docstring). Float32."""
    gc = min(max(g_us, lo_us), hi_us)
    y = c0 + gc * (c1 + gc * c2)
    if g_us > hi_us:
        y += (g_us - hi_us) * slope_hi
    return y


@njit(cache=True)
def _mean_log_dg(g, k, lo, hi, coef, slope_hi, out):
    us = np.float32(_US)
    for t in range(g.shape[0]):
        i = k[t]
        out[t] = log_dg_cell(g[t] * us, lo[i] * us, hi[i] * us, coef[i, 0], coef[i, 1], coef[i, 2], slope_hi[i])
    return out


def mean_log_dg(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """ln(ΔG/µS) of device *inst*'s fitted response at G (S): the quadratic inside its fitted range
    [g_lo, g_hi], continued linearly outside (:func:`log_dg_cell`; module docstring). Float32, shape of G."""
    g = np.asarray(G, np.float32)
    shape = np.broadcast_shapes(g.shape, np.shape(inst))
    gf = np.ascontiguousarray(np.broadcast_to(g, shape)).reshape(-1)
    kf = np.ascontiguousarray(np.broadcast_to(inst, shape), dtype=np.int64).reshape(-1)
    return _mean_log_dg(gf, kf, pop.g_lo_S, pop.g_hi_S, pop.coef, pop.slope_hi,
                        np.empty(gf.shape, np.float32)).reshape(shape)


@njit(cache=True, fastmath=True, error_model="numpy")
def _set_pulses_kernel(g, n, k, cnt, gmax, gmin, coef, g_lo, g_hi, slope_hi, c2c_tab, u_col, c2c_scale):
    """n_i partial-SET pulses on each device i, in place (the loop of :func:`set_pulses`): pulse j of device
    i: ΔG = exp(:func:`log_dg_cell`(G))·1 µS + c2c_scale·e, e = c2c_tab[min(cnt, J − 1), u_col[next]] (the
    residual of that pulse of a random staircase, :func:`c2c_draw`), then G ← clip(G + ΔG, gmin_i, gmax_i),
    cnt += 1. g: float32 S; n, cnt: int32; k: instance rows; coef (n_inst, 3) float32; u_col: one random
    staircase column per pulse (Σ n entries, consumed in device order). Returns the columns used."""
    us = np.float32(_US)
    ius = np.float32(1.0 / _US)
    J = c2c_tab.shape[0]
    pos = 0
    for i in range(g.shape[0]):
        gi = g[i]
        ki = k[i]
        lo = g_lo[ki] * us
        hi = g_hi[ki] * us
        c = cnt[i]
        for _ in range(n[i]):
            y = log_dg_cell(gi * us, lo, hi, coef[ki, 0], coef[ki, 1], coef[ki, 2], slope_hi[ki])
            j = c if c < J - 1 else J - 1
            dg = np.exp(y) * ius + c2c_scale * c2c_tab[j, u_col[pos]]
            pos += 1
            gi = min(max(gi + dg, gmin[i]), gmax[i])
            c += 1
        g[i] = gi
        cnt[i] = c
    return pos


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def clean_dg_cell(g, row, g_sat):
    """Mean SET step (S) at G (S) of a device whose deterministic staircase is *row* (G_0 … G_N, non-decreasing,
    float32 S) and whose saturation is g_sat: the step of the staircase interpolated linearly in G (the step
    d_j = G_{j+1} − G_j taken at G_j); below G_0 the first step; above G_{N−1} the last step falls linearly to
    0 at g_sat (the growth ∝ 1 − x of the crystalline fraction ends at x = 1). ≥ 0."""
    n = row.shape[0] - 1
    if g <= row[0]:
        return row[1] - row[0]
    if g >= row[n - 1]:
        d = row[n] - row[n - 1]
        span = g_sat - row[n - 1]
        if span <= 0:
            return np.float32(0.0)
        return max(d * (g_sat - g) / span, np.float32(0.0))
    lo, hi = 0, n - 1                           # row[lo] < g <= row[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if row[mid] < g:
            lo = mid
        else:
            hi = mid
    d0 = row[lo + 1] - row[lo]
    d1 = row[hi + 1] - row[hi]
    w = (g - row[lo]) / max(row[hi] - row[lo], np.float32(1e-30))
    return d0 + w * (d1 - d0)


@njit(cache=True)
def _clean_mean_dg(g, k, clean, g_sat, out):
    for t in range(g.shape[0]):
        out[t] = clean_dg_cell(g[t], clean[k[t]], g_sat[k[t]])
    return out


def clean_mean_dg(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Mean SET step m_k(G) (S, float32, shape of G broadcast with inst) of device *inst* at G (S), from its
    deterministic staircase (:func:`clean_dg_cell`; needs pop.clean_g_S)."""
    if pop.clean_g_S is None:
        raise CalibrationError("PCM: the bundle has no deterministic staircase (pcm/stair_clean_g_S)")
    g = np.asarray(G, np.float32)
    shape = np.broadcast_shapes(g.shape, np.shape(inst))
    gf = np.ascontiguousarray(np.broadcast_to(g, shape)).reshape(-1)
    kf = np.ascontiguousarray(np.broadcast_to(inst, shape), dtype=np.int64).reshape(-1)
    return _clean_mean_dg(gf, kf, pop.clean_g_S, pop.g_sat_S, np.empty(gf.shape, np.float32)).reshape(shape)


def c2c_sigma(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """σ (S, float32) of one SET step of device *inst* at G: c·m_k(G) + a·G_sat,k + b·G (pop.c2c_law = (c, a, b),
    fitted at characterisation to the bench's steps; the form of the published PCM preset's
    σ = 0.6·(|Δw| + 0.042 + 0.108·|w|) in units of the range)."""
    c, a, b = (np.float32(v) for v in pop.c2c_law)
    g = np.asarray(G, np.float32)
    return (c * clean_mean_dg(g, inst, pop) + a * pop.g_sat_S[inst] + b * g).astype(np.float32)


@njit(cache=True, fastmath=True, error_model="numpy")
def _set_pulses_law_kernel(g, n, k, cnt, gmax, gmin, clean, g_sat, law, edges, bias, z, c2c_scale):
    """n_i partial-SET pulses on each device i, in place (:func:`set_pulses` with a deterministic staircase):
    m = :func:`clean_dg_cell`, σ = c·m + a·G_sat + b·G, β = bias of the bin of G/G_sat (edges; held outside),
    G ← clip(G + m + c2c_scale·σ·(β + z), gmin_i, gmax_i), z = the next entry of *z* (Σ n standard normals,
    consumed in device order); cnt += n_i."""
    c, a, b = law[0], law[1], law[2]
    nb = bias.shape[0]
    pos = 0
    for i in range(g.shape[0]):
        gi = g[i]
        ki = k[i]
        row = clean[ki]
        gs = g_sat[ki]
        for _ in range(n[i]):
            m = clean_dg_cell(gi, row, gs)
            sd = c * m + a * gs + b * gi
            u = gi / gs
            j = 0
            while j < nb - 1 and u >= edges[j + 1]:
                j += 1
            gi = min(max(gi + m + c2c_scale * sd * (bias[j] + z[pos]), gmin[i]), gmax[i])
            pos += 1
        g[i] = gi
        cnt[i] += n[i]
    return pos


def c2c_draw(since: np.ndarray, pop: PCMPopulation, rng: np.random.Generator) -> np.ndarray:
    """One cycle-to-cycle residual (S) per device: the residual of pulse j = min(since, J − 1) of a random
    staircase (``since`` = pulses since the device's last RESET). Float32."""
    j = np.minimum(since, pop.c2c_by_pulse_S.shape[0] - 1)
    return pop.c2c_by_pulse_S[j, rng.integers(0, pop.c2c_by_pulse_S.shape[1], size=j.shape)]


def set_pulses(G: np.ndarray, n, inst: np.ndarray, pop: PCMPopulation, rng: np.random.Generator, *,
               since, c2c_scale: float = 1.0, stuck: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Apply n partial-SET pulses to each device; returns (new G float32 S, new pulse counter int32).

    G: (...) float32 S; n: int array of G's shape or int (≥ 0); inst: (...) int instance rows; since:
    int array of G's shape (or int), SET pulses since each device's last RESET (0 after RESET);
    stuck: optional bool mask of devices that never change. With a deterministic staircase in the bundle
    (pop.c2c_law): ΔG = m_k(G) + c2c_scale·σ_k(G)·z, G ← clip(G + ΔG, min(G, G_reset,k), max(G, G_sat,k)), one
    standard normal per pulse drawn up front (:func:`_set_pulses_law_kernel`; module docstring). Otherwise, pulse
    j of a device: ΔG = m_k(G) + c2c_scale·e with e the residual of pulse min(j, J − 1) of a random staircase (module
    docstring; ΔG < 0 where the data had negative steps), then G ← clip(G + ΔG, min(G, G_reset,k),
    G_max,k). Pulses are sequential per device (the response depends on G): one numba pass over the
    devices (:func:`_set_pulses_kernel`), with one random staircase column per pulse drawn up front.
    """
    G = np.array(G, dtype=np.float32, copy=True)
    n = np.broadcast_to(np.asarray(n), G.shape)
    cnt = np.array(np.broadcast_to(np.asarray(since), G.shape), dtype=np.int32)
    if n.size and n.min() < 0:
        raise ConfigError(f"set_pulses: pulse counts must be ≥ 0 (got min {n.min()})")
    active = n > 0
    if stuck is not None:
        active &= ~stuck
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return G, cnt
    gf, cf = G.reshape(-1), cnt.reshape(-1)
    nf = np.ascontiguousarray(n.reshape(-1)[idx], dtype=np.int32)
    kf = np.ascontiguousarray(inst.reshape(-1)[idx], dtype=np.int64)
    g, c = gf[idx].copy(), cf[idx].copy()
    gmin = np.minimum(pop.g_reset_S[kf], g)
    if pop.c2c_law is not None:
        z = rng.standard_normal(int(nf.sum()), dtype=np.float32)
        _set_pulses_law_kernel(g, nf, kf, c, np.maximum(pop.g_sat_S[kf], g), gmin, pop.clean_g_S, pop.g_sat_S,
                               pop.c2c_law, pop.c2c_bias_edges_u, pop.c2c_bias, z, np.float32(c2c_scale))
        gf[idx] = g
        cf[idx] = c
        return G, cnt
    gmax = pop.g_max_S[kf]
    u_col = rng.integers(0, pop.c2c_by_pulse_S.shape[1], size=int(nf.sum()))
    _set_pulses_kernel(g, nf, kf, c, gmax, gmin, pop.coef, pop.g_lo_S, pop.g_hi_S, pop.slope_hi,
                           pop.c2c_by_pulse_S, u_col, np.float32(c2c_scale))
    gf[idx] = g
    cf[idx] = c
    return G, cnt


def reset(G: np.ndarray, mask: np.ndarray, inst: np.ndarray, pop: PCMPopulation,
          stuck: np.ndarray | None = None) -> np.ndarray:
    """RESET the devices in *mask* to their own RESET floor: G ← G_reset,k (pcm/g_reset_S row k,
    G 1 µs after the melt-quench pulse of ``pcm_reset``). Stuck devices keep G. Returns float32."""
    m = np.asarray(mask, bool)
    if stuck is not None:
        m = m & ~stuck
    return np.where(m, pop.g_reset_S[inst], G).astype(np.float32)


def drift_params(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Level coordinate L = j + f (float32, shape of G) of devices programmed to G: the device's level
    G/G_max,k lies the fraction f of the way from device k's own level j to its level j + 1 (drift_level_x row
    k: its G just after programming each level of pcm/drift_levels, over its G_max), held outside. The
    per-device constant of :func:`drift_with` (fixed until the device is programmed again)."""
    if pop.drift_ln_g is None:
        raise CalibrationError("PCM drift was not loaded (population(..., drift=False))")
    lev = pop.drift_level_x
    x = np.asarray(G, np.float32) / pop.g_max_S[inst]
    n_l = lev.shape[1]
    j = np.zeros(np.shape(x), np.intp)
    for m in range(1, n_l - 1):                      # j = last level at or below x (0 … n_l − 2); n_l ≈ 9
        j += lev[inst, m] <= x
    lo, hi = lev[inst, j], lev[inst, j + 1]
    f = np.clip((x - lo) / np.maximum(hi - lo, np.float32(1e-12)), 0, 1)
    return (j + f).astype(np.float32)


def _split_level(level, n_l: int) -> tuple[np.ndarray, np.ndarray]:
    """(j, f) of a level coordinate L = j + f, j in 0 … n_l − 2, f in [0, 1]."""
    L = np.asarray(level, np.float32)
    j = np.clip(np.floor(L).astype(np.intp), 0, n_l - 2)
    return j, np.clip(L - j, 0, 1).astype(np.float32)


def drift_nu(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Per-device long-term drift exponent at the device's programmed level: ν_k(G/G_max,k), linear in the
    level between device k's programmed levels (pcm/drift_g_prog_S ÷ G_max,k, pcm/drift_nu row k), held outside."""
    j, f = _split_level(drift_params(G, inst, pop), pop.drift_nu.shape[1])
    return (pop.drift_nu[inst, j] * (1 - f) + pop.drift_nu[inst, j + 1] * f).astype(np.float32)


def drift(G: np.ndarray, t_since_prog_s, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Drifted conductance of devices programmed to G (read at t_p, the staircase/verify time base):
    :func:`drift_with` at the level coordinate of :func:`drift_params`. Float32."""
    return drift_with(G, t_since_prog_s, drift_params(G, inst, pop), inst, pop)


def drift_with(G: np.ndarray, t_since_prog_s, level: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Drifted conductance: the circuit's own drift curve of device *inst* at level coordinate *level*.

        t ≤ t_p:               G(t) = G
        t_p < t ≤ t_last:      ln(G(t)/G) = ln g_k(L, u),  u = ln(t + t_on)
        t > t_last:            ln(G(t)/G) = ln g_k(L, u_last) − ν_k(L)·(u − u_last)

    ln g_k(L, u) is bilinear: linear in u = ln(t + t_on) between the stored reads t_i of pcm/drift_t_s (G read
    by ``circuits/pcm_drift.cir`` at device ages 10 µs, 100 µs, 1 ms, 14 ms, 1 s … 10⁴ s, with
    ln g = 0 at t_p) and linear in the level coordinate L between device k's own levels (pop.drift_ln_g). It
    reproduces the bench at every stored time and level, and follows the onset law of the netlist,
    G ∝ (t + t_on)^−ν (Ielmini et al., IEEE TED 54, 308 (2007), with the onset of Kersting et al. 2021), where
    the effective exponent is constant; between reads it is a power law in (t + t_on). ν_k(L) = pcm/drift_nu,
    the fit over the last decades, continues the curve beyond the last read. Broadcasts G, t, level, inst.
    Float32."""
    if pop.drift_ln_g is None:
        raise CalibrationError("PCM drift was not loaded (population(..., drift=False))")
    G, t, L, k = np.broadcast_arrays(np.asarray(G, np.float32), np.asarray(t_since_prog_s, np.float64),
                                     np.asarray(level, np.float32), np.asarray(inst))
    n_l, n_t = pop.drift_ln_g.shape[1], pop.drift_ln_g.shape[2]
    t_on = pop.drift_t_on_s
    U = np.log(pop.drift_t_s + t_on).astype(np.float32)
    u = np.log(np.maximum(t, pop.drift_t_prog_s) + t_on).astype(np.float32)
    i = np.clip(np.searchsorted(U, u, side="right") - 1, 0, n_t - 2)
    w = np.clip((u - U[i]) / (U[i + 1] - U[i]), 0, 1).astype(np.float32)
    j, f = _split_level(L, n_l)
    flat = (k.astype(np.int64) * n_l + j) * n_t + i
    T = pop.drift_ln_g.reshape(-1)
    ln_f = ((1 - f) * ((1 - w) * T[flat] + w * T[flat + 1])
            + f * ((1 - w) * T[flat + n_t] + w * T[flat + n_t + 1]))
    beyond = u - U[-1]
    if np.any(beyond > 0):
        nu = pop.drift_nu[k, j] * (1 - f) + pop.drift_nu[k, j + 1] * f
        ln_f = ln_f - nu * np.maximum(beyond, 0)
    return (G * np.exp(ln_f)).astype(np.float32, copy=False)


def uniform_drift(pop: PCMPopulation, nu: float) -> PCMPopulation:
    """*pop* with every device and level drifting alike, G(t) = G·((t + t_on)/(t_p + t_on))^−ν (the onset law
    with one exponent; tests and studies). ν = 0: no drift."""
    u = np.log(pop.drift_t_s + pop.drift_t_on_s) - np.log(pop.drift_t_prog_s + pop.drift_t_on_s)
    return dataclasses.replace(pop, drift_ln_g=np.ascontiguousarray(np.broadcast_to(
        (-nu * u).astype(np.float32), pop.drift_ln_g.shape)), drift_nu=np.full_like(pop.drift_nu, nu))


def read_sigma(G: np.ndarray, pop: PCMPopulation, t_int_s: float | None = None, age_s=None) -> np.ndarray:
    """σ (S) of one read of conductance G integrated over t_int_s: rel(G)·G, rel interpolated in G on the
    read-noise bench table (pcm/read_noise_g_S, pcm/read_noise_rel_sigma, window t_b = read_noise_t_int_s,
    record t_rec = read_noise_record_s), scaled to the window as 1/f noise, not white noise:

        rel(T) = rel(t_b)·√( ln(t_rec/T) / ln(t_rec/t_b) )

    — the variance of a window mean of a 1/f process grows only logarithmically as the window shrinks
    (the form of the published PCM read-noise model, σ/G ∝ √ln((t + t_read)/(2·t_read)), Nandakumar et
    al., ICECS 2019; the bench noise is 1/f, netlists/pcm.lib). Scaling it as white noise (∝ (t_b/T)^½)
    made a 5 ns read 7× noisier than the circuit.

    age_s (s, broadcast with G; None = the bench's record): the time since the device's last programming
    (its verify read). The bench's 1/f spectrum covers only its record (10 µs: nothing below ≈ 170 Hz), but the
    spread of a read around the programmed value accumulates over all frequencies down to 1/age. EXTRAPOLATED
    from the bench's characterised 1/f amplitude by the 1/f law (the published model's time dependence):

        rel(age) = rel·√( ln((a + t_b)/(2·t_b)) / ln((t_rec + t_b)/(2·t_b)) ),   a = max(age, t_rec)

    (× 1.84 in σ at 14 ms after a 10 µs record; no change for reads within the bench's record). Float32."""
    if pop.noise_rel is None:
        raise CalibrationError("PCM read noise was not loaded (population(..., read_noise=False))")
    rel = np.interp(np.asarray(G, np.float64), pop.noise_g_S, pop.noise_rel)
    if t_int_s is not None:
        t_rec, t_b = pop.noise_t_rec_s, pop.noise_t_int_s
        rel = rel * np.sqrt(np.log(t_rec / min(t_int_s, 0.5 * t_rec)) / np.log(t_rec / t_b))
    if age_s is not None:
        rel = rel * age_growth(age_s, pop)
    return (rel * G).astype(np.float32)


def age_growth(age_s, pop: PCMPopulation) -> np.ndarray:
    """Growth factor of the read-noise σ with the time since programming (:func:`read_sigma`; ≥ 1, float32):
    √( ln((max(age, t_rec) + t_b)/(2·t_b)) / ln((t_rec + t_b)/(2·t_b)) ), t_b = the bench's read window
    (t_read = 250 ns of the published law), t_rec = its record. Extrapolated 1/f: the bench resolves t_rec."""
    t_rec, t_b = pop.noise_t_rec_s, pop.noise_t_int_s
    a = np.maximum(np.asarray(age_s, np.float64), t_rec)
    return np.sqrt(np.log((a + t_b) / (2 * t_b)) / np.log((t_rec + t_b) / (2 * t_b))).astype(np.float32)


def read(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation, rng: np.random.Generator | None = None, *,
         t_since_prog_s=None, t_int_s: float | None = None) -> np.ndarray:
    """One read: drift (if t_since_prog_s is given) then Gaussian read noise (if rng is given),
    G_read = G(t) + σ(G(t))·z, z ~ N(0, 1) (see :func:`drift`, :func:`read_sigma`). Float32 S."""
    g = drift(G, t_since_prog_s, inst, pop) if t_since_prog_s is not None else np.asarray(G, np.float32)
    if rng is not None:
        g = g + read_sigma(g, pop, t_int_s) * rng.standard_normal(g.shape, dtype=np.float32)
    return g


def open_loop_pulses(g_from_S, g_to_S, fit: dict, max_pulses: int) -> np.ndarray:
    """Pulse count that takes the *calibrated mean* device from G_from to G_to (no verify).

    Integrating dG/dn = dg0·exp(−G/gs) (the bundle's ``pcm.dg_fit``, a fit to the jump table data)
    gives G(n) = gs·ln(exp(G_from/gs) + n·dg0/gs), so n = gs/dg0·(exp(G_to/gs) − exp(G_from/gs)),
    rounded to the nearest integer, clipped to [0, max_pulses]. Int32."""
    gs, dg0 = fit["gs_S"], fit["dg0_S"]
    a = np.exp(np.minimum(np.asarray(g_to_S, np.float64) / gs, 700.0))
    b = np.exp(np.asarray(g_from_S, np.float64) / gs)
    return np.clip(np.rint(gs / dg0 * (a - b)), 0, max_pulses).astype(np.int32)


# ---------------------------------------------------------------------------------------------- endurance
def endurance_cycles(shape, rng: np.random.Generator, *, median_cycles: float = 1e8, sigma_ln: float = 0.25,
                     scale: float = 1.0) -> np.ndarray:
    """Cycles to failure L_d of PCM devices, drawn once per device (float32, *shape*):

        L_d = scale·exp(ln median_cycles + sigma_ln·z_d),   z_d ~ N(0, 1)

    A lognormal whose median 10⁸ and spread σ = 0.25 are assumptions (pycosim.assumptions
    PCM_ENDURANCE_MEDIAN_CYCLES, PCM_ENDURANCE_SIGMA_LN: PCM endurance of 10⁶–10⁹ cycles, Burr et al., IEEE JETCAS
    6, 146 (2016); cell-lifetime mean 10⁸ and CoV 0.25 of Schechter et al., ISCA 2010). *scale* < 1 compresses
    the distribution so that a short run reaches wear-out (pcm.endurance_scale)."""
    if not (median_cycles > 0 and sigma_ln >= 0 and scale > 0):
        raise ConfigError(f"endurance_cycles: median {median_cycles} and scale {scale} must be > 0, sigma {sigma_ln} ≥ 0")
    z = rng.standard_normal(shape, dtype=np.float32)
    return (np.float32(scale * median_cycles) * np.exp(np.float32(sigma_ln) * z)).astype(np.float32)


def failure_modes(shape, rng: np.random.Generator, stuck_high_frac: float = 0.5) -> np.ndarray:
    """The failure state of each device once worn (bool, *shape*): True = stuck-SET (stuck at its G_max:
    elemental segregation), False = stuck-RESET (stuck at its RESET floor: void formation, an open cell)
    — the two endurance failure modes of PCM (Kim et al., MRS Bull. 44, 710 (2019)); P(True) = stuck_high_frac,
    an assumption (pycosim.assumptions PCM_STUCK_SET_FRACTION)."""
    if not 0 <= stuck_high_frac <= 1:
        raise ConfigError(f"failure_modes: stuck_high_frac={stuck_high_frac} must be in [0, 1]")
    return rng.random(shape, dtype=np.float32) < np.float32(stuck_high_frac)


def stress(resets, sets, set_weight: float) -> np.ndarray:
    """Endurance stress in RESET cycles (float32): R + w·S for R RESETs and S partial-SET pulses of a device;
    w = set_weight (pcm.endurance_set_weight; default the bundle's e_set/e_reset, stress ∝ dissipated energy,
    an assumption and an upper bound)."""
    return (np.asarray(resets, np.float32) + np.float32(set_weight) * np.asarray(sets, np.float32)).astype(np.float32)


def wear_out(G: np.ndarray, stress_cycles: np.ndarray, life_cycles: np.ndarray, worn: np.ndarray,
             stuck_high: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> tuple[np.ndarray, np.ndarray]:
    """Devices that pass their endurance now: newly = (stress > L) & ~worn; their conductance becomes the
    failure state, G_max,k (stuck_high) or G_reset,k (stuck-RESET), for good (the caller marks them stuck).
    All arrays of one shape (any). Returns (G float32, newly bool)."""
    newly = (np.asarray(stress_cycles) > life_cycles) & ~np.asarray(worn, bool)
    G = np.where(newly, np.where(stuck_high, pop.g_max_S[inst], pop.g_reset_S[inst]), G).astype(np.float32)
    return G, newly
