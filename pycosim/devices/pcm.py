"""Phase-change memory (PCM) at array level: partial-SET pulses, RESET, drift and read noise.

State: ``G`` (any shape, float32, siemens) — the *programmed* conductance, i.e. what a read right
after programming returns (the staircase and verify reads of the benches); ``inst`` (same shape,
int32) — the SPICE Monte Carlo instance each device is (see :mod:`pycosim.devices`).

Device instances: per-device parametric fit of the device's own staircase
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

Sources: jump-table / per-pulse ΔG(G) models of PCM training, Burr et al., IEEE TED 62, 3498
(2015); Ambrogio et al., Nature 558, 60 (2018), Methods. Drift: Ielmini et al., IEEE TED 54, 308
(2007).
"""

from __future__ import annotations

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
        drift_levels: (n_l,) float32 target fractions of G_max, drift_nu (n, n_l) float32, drift_t0_s, drift_t_prog_s,
            drift_ln_r (n, n_l) float32 = ln(G(t0)/G(t_prog)) per device and level, drift_level_x (n, n_l)
            float32 = where device k's level j actually lies, G_prog,kj/G_max,k (non-decreasing in j); or None.
        noise_g_S, noise_rel: (n_r,) read-noise table, noise_t_int_s; or None.
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
    drift_t0_s: float | None = None
    drift_t_prog_s: float | None = None
    drift_ln_r: np.ndarray | None = None
    drift_level_x: np.ndarray | None = None
    noise_g_S: np.ndarray | None = None
    noise_rel: np.ndarray | None = None
    noise_t_int_s: float | None = None
    noise_t_rec_s: float | None = None

    @property
    def n(self) -> int:
        return int(self.coef.shape[0])


def population(bundle, *, drift: bool = True, read_noise: bool = True, d2d_scale: float = 1.0,
               drift_t0_s: float | None = None, drift_t_prog_s: float | None = None, drift_scale: float = 1.0,
               drift_d2d_scale: float = 1.0) -> PCMPopulation:
    """PCM population from *bundle*: per-device staircase fits (d2d), pooled residuals (c2c),
    G_max and RESET floor per device, and — if enabled — per-level drift ν and read noise.

    d2d_scale scales every per-device deviation from the population mean (fit coefficients,
    G_max, RESET floor, ν): 1 = as simulated, 0 = every device the mean device (for studies only).
    Device-requirement studies of drift: drift_d2d_scale scales, in addition, the per-device deviation of
    the drift constants ν and ln r (r = G(t0)/G(t_prog)) from their per-level mean, σ_ν → s·σ_ν (0 = every
    device drifts like the mean device of its level); drift_scale multiplies ν and ln r of every device,
    G(t) = G·(r·(t/t0)^−ν)^s (0.5 = a material drifting half as fast in log G; Nandakumar et al., ICECS 2019,
    give ν ≈ 0.05–0.1 for GST). Both 1 = as simulated.
    Tables consumed: pcm/staircase_g_S, pcm/fit_coef, pcm/fit_dg_residual_S (the per-device fits of
    :func:`pycosim.characterize.pcm.fit_staircases`, made once at characterisation), pcm/g_max_S,
    pcm/g_reset_S; scalar pcm.dg_fit; with drift:
    pcm/drift_levels, pcm/drift_nu, pcm/drift_t_s, pcm/drift_g_prog_S, pcm/drift_g0_S (and the read time
    of drift_g_prog_S, drift_t_prog_s: the scalar pcm.drift_t_prog_s if the bundle has it, else the
    argument, which the crossbar takes from PCMConfig.drift_t_prog_s); with read noise: pcm/read_noise_g_S,
    pcm/read_noise_rel_sigma, scalar pcm.read_noise_t_int_s. A missing one raises CalibrationError.
    """
    for name, v in (("d2d_scale", d2d_scale), ("drift_scale", drift_scale), ("drift_d2d_scale", drift_d2d_scale)):
        if not v >= 0:
            raise ConfigError(f"pcm {name}={v}: must be ≥ 0")
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
        g0 = require_table(bundle, "pcm/drift_g0_S", "PCM drift")
        t0 = float(t[0] if drift_t0_s is None else drift_t0_s)
        tp = bundle.scalars.get("pcm", {}).get("drift_t_prog_s", drift_t_prog_s)
        if tp is None:
            raise CalibrationError("PCM drift: the read time of pcm/drift_g_prog_S is neither the bundle scalar "
                                   "pcm.drift_t_prog_s nor given (drift_t_prog_s)")
        ln_r = np.log(np.clip(g0, 1e-30, None) / np.clip(g_prog, 1e-30, None))
        # each device's own level positions (its programmed G over its G_max): the same pulse width lands
        # devices far apart (the 10 % level at 3–38 % of G_max), and r rises steeply just above RESET
        lev_x = np.maximum.accumulate(shrink(g_prog / np.maximum(g_max, stair.max(axis=1))[:, None]), axis=1)
        def drift_const(a):
            a = shrink(a)
            m = a.mean(axis=0, keepdims=True)
            return drift_scale * (m + drift_d2d_scale * (a - m))

        kw.update(drift_levels=levels.astype(np.float32), drift_nu=drift_const(nu).astype(np.float32),
                  drift_t0_s=t0, drift_t_prog_s=float(tp), drift_ln_r=drift_const(ln_r).astype(np.float32),
                  drift_level_x=lev_x.astype(np.float32))
    if read_noise:
        kw.update(noise_g_S=require_table(bundle, "pcm/read_noise_g_S", "PCM read noise").astype(np.float32),
                  noise_rel=require_table(bundle, "pcm/read_noise_rel_sigma", "PCM read noise").astype(np.float32),
                  noise_t_int_s=float(require_scalar(bundle, "pcm", "read_noise_t_int_s", "PCM read noise")),
                  noise_t_rec_s=float(require_scalar(bundle, "pcm", "read_noise_record_s", "PCM read noise")))
    return PCMPopulation(
        coef=coef.astype(np.float32), g_lo_S=(g_lo / _US).astype(np.float32), g_hi_S=(g_hi / _US).astype(np.float32),
        slope_lo=np.zeros(n, np.float32), slope_hi=np.minimum(slope_at(g_hi), 0).astype(np.float32),
        c2c_by_pulse_S=np.ascontiguousarray(by_pulse, dtype=np.float32), g_max_S=shrink(np.maximum(g_max, stair.max(axis=1))).astype(np.float32),
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
    stuck: optional bool mask of devices that never change. Pulse j of a device:
    ΔG = m_k(G) + c2c_scale·e with e the residual of pulse min(j, J − 1) of a random staircase (module
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
    gmax, gmin = pop.g_max_S[kf], np.minimum(pop.g_reset_S[kf], g)
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


def _per_level(table: np.ndarray, G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """table[k, level] interpolated linearly in the device's level G/G_max,k between device k's own level
    positions (drift_level_x row k: its G just after programming each level of pcm/drift_levels, over its
    G_max), held outside. Works for any number of levels."""
    lev = pop.drift_level_x
    x = np.asarray(G, np.float32) / pop.g_max_S[inst]
    n_l = lev.shape[1]
    j = np.zeros(np.shape(x), np.intp)
    for m in range(1, n_l - 1):                      # j = last level at or below x (0 … n_l − 2)
        j += lev[inst, m] <= x
    lo, hi = lev[inst, j], lev[inst, j + 1]
    f = np.clip((x - lo) / np.maximum(hi - lo, np.float32(1e-12)), 0, 1)
    return table[inst, j] * (1 - f) + table[inst, j + 1] * f


def drift_nu(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Per-device drift exponent at the device's programmed level: ν_k(G/G_max,k), linear in the level
    between device k's programmed levels (pcm/drift_g_prog_S ÷ G_max,k, pcm/drift_nu row k), held outside."""
    if pop.drift_nu is None:
        raise CalibrationError("PCM drift was not loaded (population(..., drift=False))")
    return _per_level(pop.drift_nu, G, inst, pop)


def drift(G: np.ndarray, t_since_prog_s, inst: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """Drifted conductance of devices programmed to G (read at t_p, the staircase/verify time base).

        t ≤ t_p:        G(t) = G
        t_p < t ≤ t0:   G(t) = G·(t/t_p)^(−ν_e),   ν_e = −ln r/ln(t0/t_p)
        t > t0:         G(t) = G·r·(t/t0)^(−ν)
    with r = G(t0)/G(t_p) = pcm/drift_g0_S ÷ pcm/drift_g_prog_S and ν = pcm/drift_nu, both per device
    and interpolated in the level G/G_max,k; t0 = pcm/drift_t_s[0] (1 s), t_p = the read time of
    drift_g_prog_S. The power law of Ielmini et al., IEEE TED 54, 308 (2007) after t0, and a power law
    through the two measured points before it (the bench has no reads between t_p and t0). Float32."""
    return drift_with(G, t_since_prog_s, *drift_params(G, inst, pop), pop)


def drift_params(G: np.ndarray, inst: np.ndarray, pop: PCMPopulation) -> tuple[np.ndarray, np.ndarray]:
    """(ln r, ν) of devices programmed to G (float32, shape of G), interpolated in the level G/G_max,k —
    the per-device constants of :func:`drift` (fixed until the device is programmed again)."""
    if pop.drift_nu is None:
        raise CalibrationError("PCM drift was not loaded (population(..., drift=False))")
    return (_per_level(pop.drift_ln_r, G, inst, pop).astype(np.float32),
            drift_nu(G, inst, pop).astype(np.float32))


def drift_with(G: np.ndarray, t_since_prog_s, ln_r: np.ndarray, nu: np.ndarray, pop: PCMPopulation) -> np.ndarray:
    """:func:`drift` with the per-device constants (ln r, ν) of :func:`drift_params` given. Float32."""
    t = np.asarray(t_since_prog_s, np.float32)
    tp, t0 = np.float32(pop.drift_t_prog_s), np.float32(pop.drift_t0_s)
    ln_r = np.asarray(ln_r, np.float32)
    if np.all(t <= t0):   # the common case in training (t < 1 s): only the early branch
        ln_f = ln_r * (np.log(np.maximum(t, tp) / tp) * np.float32(1 / np.log(t0 / tp)))  # = −ν_e·ln(t/t_p)
    else:
        nu_e = -ln_r / np.float32(np.log(t0 / tp))
        early = -nu_e * np.log(np.maximum(t, tp) / tp)                 # 0 for t ≤ t_p
        late = ln_r - np.asarray(nu, np.float32) * np.log(np.maximum(t, t0) / t0)
        ln_f = np.where(t <= t0, early, late)
    return (np.asarray(G, np.float32) * np.exp(ln_f)).astype(np.float32, copy=False)


def read_sigma(G: np.ndarray, pop: PCMPopulation, t_int_s: float | None = None) -> np.ndarray:
    """σ (S) of one read of conductance G integrated over t_int_s: rel(G)·G, rel interpolated in G on the
    read-noise bench table (pcm/read_noise_g_S, pcm/read_noise_rel_sigma, window t_b = read_noise_t_int_s,
    record t_rec = read_noise_record_s), scaled to the window as 1/f noise, not white noise:

        rel(T) = rel(t_b)·√( ln(t_rec/T) / ln(t_rec/t_b) )

    — the variance of a window mean of a 1/f process grows only logarithmically as the window shrinks
    (the form of the published PCM read-noise model, σ/G ∝ √ln((t + t_read)/(2·t_read)), Nandakumar et
    al., ICECS 2019; the bench noise is 1/f, netlists/pcm.lib). Scaling it as white noise (∝ (t_b/T)^½)
    made a 5 ns read 7× noisier than the circuit. Float32."""
    if pop.noise_rel is None:
        raise CalibrationError("PCM read noise was not loaded (population(..., read_noise=False))")
    rel = np.interp(np.asarray(G, np.float64), pop.noise_g_S, pop.noise_rel)
    if t_int_s is not None:
        t_rec, t_b = pop.noise_t_rec_s, pop.noise_t_int_s
        rel = rel * np.sqrt(np.log(t_rec / min(t_int_s, 0.5 * t_rec)) / np.log(t_rec / t_b))
    return (rel * G).astype(np.float32)


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
