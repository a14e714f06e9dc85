"""PCM (most-significant pair) characterisation: bench runs → jump table, drift, energies.

Benches (``circuits/``): ``pcm_set_staircase`` (N identical partial-SET pulses from RESET,
read after each; also run on the nominal device for the cycle-to-cycle statistics),
``pcm_reset`` (RESET pulse, read), ``pcm_read_iv`` (read current versus read voltage),
``pcm_drift`` (one level per run: a partial-SET pulse whose width sets the level, reads from
1 s to 10⁴ s after programming), ``pcm_read_noise`` (1/f read noise integrated over a read window).

Same seed = same device: every PCM bench draws the device-to-device values of its first
``pcm_dev`` in the same order, so row k of every per-instance table is the device of seed
``seed + k``.

Extracted, per Monte Carlo instance (device-to-device spread and cycle-to-cycle noise of the
compact model in ``netlists/pcm.lib``):

* the staircase G_k, k = 0..N, and from it the **jump table**: for bins of G, the empirical
  distribution (quantiles) of ΔG = G_{k+1} − G_k per SET pulse (the form used by array
  simulators of PCM training, e.g. Ambrogio et al., Nature 558, 60 (2018), Methods, and
  Burr et al., IEEE TED 62, 3498 (2015));
* a compact fit of the mean, ΔG(G) = dg0·exp(−G/G_s) (saturating SET response);
* the RESET floor and its spread; the per-device maximum conductance (last staircase value);
* conductance versus read voltage; the drift exponent ν per device and programmed level from a
  least-squares fit of log G = log G₀ − ν·log(t/t₀) (Ielmini et al., IEEE TED 54, 308 (2007));
* the cycle-to-cycle ΔG of single mid-range SET pulses of the nominal device (c2c alone);
* the relative σ of one read integrated over ``read_noise_t_int_s`` at four levels;
* energy per SET and per RESET pulse, E = Σ_sources ∫ −V·I dt over the pulse.
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy.optimize import curve_fit

from pycosim.calibration import dg_model
from pycosim.characterize.common import energy_J
from pycosim.errors import CalibrationError, ConfigError
from pycosim.resources import resource_path

_US = 1e6  # µS per S (the fit runs in µS so its coefficients are of order one)

BENCHES = ("pcm_set_staircase", "pcm_reset", "pcm_read_iv", "pcm_drift", "pcm_read_noise")
N_BINS = 20
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 21)


def jump_table(stair_S: np.ndarray, n_bins: int = N_BINS, g_top_S: float | None = None) -> dict:
    """Empirical ΔG-per-pulse distribution in bins of G before the pulse.

    stair_S: (n_instances, n_pulses + 1) float64, G after each pulse (column 0: before any).
    Returns ``dg_bins_S`` (n_bins+1,), ``dg_quantiles_S`` (n_bins, n_q), ``dg_quantile_levels``
    (n_q,), ``dg_count`` (n_bins,), ``dg_mean_S`` and ``dg_std_S`` (n_bins,), NaN for empty bins.
    """
    g = stair_S[:, :-1].ravel()
    dg = np.diff(stair_S, axis=1).ravel()
    top = float(g_top_S if g_top_S is not None else stair_S.max())
    edges = np.linspace(0.0, top * (1 + 1e-9), n_bins + 1)
    idx = np.clip(np.digitize(g, edges) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    mean = np.bincount(idx, weights=dg, minlength=n_bins) / np.maximum(count, 1)
    sq = np.bincount(idx, weights=dg**2, minlength=n_bins) / np.maximum(count, 1)
    std = np.sqrt(np.maximum(sq - mean**2, 0))
    mean[count == 0] = np.nan
    std[count == 0] = np.nan
    quant = np.full((n_bins, len(QUANTILE_LEVELS)), np.nan)
    order = np.lexsort((dg, idx))  # sort by bin, then ΔG: quantiles per bin without a Python loop over samples
    starts = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(int)
    for b in np.nonzero(count)[0]:  # loop over bins (≤ N_BINS), not over samples
        vals = dg[order[starts[b]:starts[b] + int(count[b])]]
        quant[b] = np.quantile(vals, QUANTILE_LEVELS)
    return {"dg_bins_S": edges, "dg_quantiles_S": quant, "dg_quantile_levels": QUANTILE_LEVELS.copy(),
            "dg_count": count, "dg_mean_S": mean, "dg_std_S": std}


def fit_dg(stair_S: np.ndarray) -> dict:
    """Least-squares fit of :func:`dg_model` to every (G, ΔG) pair of the staircases.

    stair_S: (n_instances, n_pulses + 1) float64 in S. The fit runs in µS (parameters of order
    one) and is returned in S with its rms residual.
    """
    g = stair_S[:, :-1].ravel() * 1e6
    dg = np.diff(stair_S, axis=1).ravel() * 1e6
    top = float(max(stair_S.max() * 1e6, 1e-3))

    def f(x, dg0, gs):
        return dg_model(x, {"dg0_S": dg0, "gs_S": gs})

    try:
        (dg0, gs), _ = curve_fit(f, g, dg, p0=[max(float(dg.max()), 1e-3), 0.5 * top],
                                 bounds=([0, 1e-3 * top], [np.inf, 1e3 * top]), maxfev=20000)
    except (RuntimeError, ValueError):  # degenerate data: a flat line at the mean step
        dg0, gs = float(np.mean(dg)), 1e3 * top
    resid = dg - f(g, dg0, gs)
    return {"form": "dg0*exp(-G/gs)", "dg0_S": float(dg0) * 1e-6, "gs_S": float(gs) * 1e-6,
            "rms_residual_S": float(np.sqrt(np.mean(resid**2))) * 1e-6}


def fit_staircases(stair_S: np.ndarray, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Per-device fit of the mean step m_k(G) = exp(c0 + c1·G + c2·G²)·1 µS (G in µS) and the pooled
    relative c2c residuals r = ΔG/m_k(G) − 1.

    stair_S: (n, J + 1) float64, G before and after each of J SET pulses (``pcm/staircase_g_S``).
    The fit is least squares on the linear scale (steps may be zero or negative when the cycle-to-cycle
    noise is large): batched Gauss–Newton from the log-scale fit of the steps clipped to the 5th
    percentile of the positive ones. Returns coef (n, 3) and the residuals (n·J,) in S, scaled by
    √(J/(J − 3)) for the three fitted parameters (their mean is zero per device by construction).
    """
    g = stair_S[:, :-1] * _US
    dg = np.diff(stair_S, axis=1) * _US
    pos = dg[dg > 0]
    if pos.size < dg.size / 2:
        raise CalibrationError("pcm/staircase_g_S: most SET steps are not positive; the staircase cannot be fitted")
    floor = np.percentile(pos, 5)
    x = np.stack([np.ones_like(g), g, g * g], axis=-1)           # (n, J, 3)
    y = np.log(np.maximum(dg, floor))
    coef = np.linalg.solve(np.einsum("nji,njk->nik", x, x), np.einsum("nji,nj->ni", x, y)[..., None])[..., 0]
    coef0 = coef.copy()
    for _ in range(iterations):                                   # Gauss–Newton on ΔG = exp(x·c)
        m = np.exp(np.clip(np.einsum("nji,ni->nj", x, coef), -50, 50))
        jac = x * m[..., None]
        jtj = np.einsum("nji,njk->nik", jac, jac) + 1e-9 * np.eye(3)
        # pseudo-inverse: a staircase whose noise swamps its trend (σ several times the step at high G) can make the
        # normal equations singular; that device then keeps its log-scale fit instead of aborting the batch
        step = np.einsum("nik,nk->ni", np.linalg.pinv(jtj), np.einsum("nji,nj->ni", jac, dg - m))
        step = np.where(np.isfinite(step).all(axis=1, keepdims=True), step, 0.0)
        coef = coef + step
        if np.max(np.abs(step)) < 1e-10:
            break
    # a device whose linear-scale fit did worse than its log-scale start (the noise swamps the trend) keeps the start
    sse = lambda c: np.sum((dg - np.exp(np.clip(np.einsum("nji,ni->nj", x, c), -50, 50))) ** 2, axis=1)  # noqa: E731
    worse = ~(sse(coef) <= sse(coef0))
    coef[worse] = coef0[worse]
    m = np.exp(np.clip(np.einsum("nji,ni->nj", x, coef), -50, 50))
    j = y.shape[1]
    res = (dg - m) * np.sqrt(j / max(j - 3, 1)) / _US
    return coef, res


#: Bins of u = G/G_sat,k (G before the step) of the mean of the standardised c2c residuals (``pcm/c2c_bias``): the
#: circuit's noisy steps average ≈ 0.1 σ more than the deterministic step at 10–60 % of G_sat (the kick acts on a
#: G(x) that is convex, and its slope term grows with x while it acts); at and above C2C_BIAS_TOP_U the ceiling's
#: truncation dominates, which the array model's clip reproduces, so the bias is 0 there.
C2C_BIAS_EDGES_U = np.array([0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01])
C2C_BIAS_TOP_U = 0.9


def c2c_residuals(stairs, clean_S: np.ndarray, g_sat_S: np.ndarray):
    """Cycle-to-cycle residuals of SET steps against each device's deterministic mean step.

    stairs: sequence of (stair_S (n, J + 1), first) — staircases with cycle-to-cycle noise of the devices whose
    clean staircases (cycle-to-cycle off) are the rows of clean_S (n, N + 1), saturation g_sat_S (n,); the
    steps from column *first* on are used. Returns (G (m,), ΔG (m,), m_k(G) (m,), G_sat,k (m,)) in S, the
    mean step from :func:`pycosim.devices.pcm.clean_dg_cell` (the array model's own law)."""
    from pycosim.devices.pcm import _clean_mean_dg

    clean = np.ascontiguousarray(np.minimum(np.maximum.accumulate(clean_S, axis=1), g_sat_S[:, None]), np.float32)
    sat = np.ascontiguousarray(g_sat_S, np.float32)
    out = []
    for st, first in stairs:
        n, j = st.shape[0], st.shape[1] - 1
        g = st[:, first:-1].ravel()
        dg = np.diff(st, axis=1)[:, first:].ravel()
        k = np.repeat(np.arange(n), j - first)
        m = _clean_mean_dg(g.astype(np.float32), k.astype(np.int64), clean, sat, np.empty(g.size, np.float32))
        out.append((g, dg, m.astype(np.float64), g_sat_S[k]))
    return tuple(np.concatenate([o[i] for o in out]) for i in range(4))


def fit_c2c_law(g_S, dg_S, m_S, g_sat_S) -> dict:
    """Maximum-likelihood fit of the per-pulse σ of the array model's SET law to the bench's residuals:
    ΔG − m_k(G) ~ N(0, σ²), σ = c·m_k(G) + a·G_sat,k + b·G (c, a, b ≥ 0; the form of the published PCM preset's
    σ = 0.6·(|Δw| + 0.042 + 0.108·|w|) in units of the range, with w = G/G_sat,k). Steps at the ceiling
    (G + ΔG ≥ 0.995·G_sat,k) are censored, as the array model clips there: they enter with the probability of
    reaching it. Returns {"form", "c", "a", "b", "n_steps", "n_censored", "rms_z" (rms of the standardised residuals),
    "bias_edges_u", "bias", "bias_count"}: the mean standardised residual per bin of G/G_sat,k (C2C_BIAS_EDGES_U; 0
    from C2C_BIAS_TOP_U on), the array model's mean offset bias·σ of a step."""
    from scipy.optimize import minimize
    from scipy.stats import norm

    e = (dg_S - m_S) * _US
    mu, gs, g = m_S * _US, g_sat_S * _US, g_S * _US
    top = (g_S + dg_S) >= 0.995 * g_sat_S
    head = (g_sat_S - g_S - m_S) * _US                    # distance to the ceiling from the mean outcome

    def nll(p):
        c, a, b = np.exp(p)
        sd = c * mu + a * gs + b * g
        ll = np.where(top, norm.logsf(head / sd), -np.log(sd) - 0.5 * (e / sd) ** 2)
        return -ll.sum()

    res = minimize(nll, np.log([0.6, 0.02, 0.05]), method="Nelder-Mead",
                   options={"xatol": 1e-6, "fatol": 1e-6, "maxiter": 4000})
    c, a, b = (float(v) for v in np.exp(res.x))
    sd = c * mu + a * gs + b * g
    z = e / sd
    u = g_S / g_sat_S
    k = np.clip(np.digitize(u, C2C_BIAS_EDGES_U) - 1, 0, len(C2C_BIAS_EDGES_U) - 2)
    cnt = np.bincount(k, minlength=len(C2C_BIAS_EDGES_U) - 1)
    bias = np.bincount(k, z, minlength=len(C2C_BIAS_EDGES_U) - 1) / np.maximum(cnt, 1)
    bias[C2C_BIAS_EDGES_U[:-1] >= C2C_BIAS_TOP_U] = 0.0
    return {"form": "sigma = c*m_k(G) + a*G_sat_k + b*G", "c": c, "a": a, "b": b, "n_steps": int(e.size),
            "n_censored": int(top.sum()), "rms_z": float(np.sqrt(np.mean(z[~top] ** 2))),
            "bias_edges_u": [float(v) for v in C2C_BIAS_EDGES_U], "bias": [float(v) for v in bias],
            "bias_count": [int(v) for v in cnt]}


def fit_drift(t_s: np.ndarray, g_S: np.ndarray, t0_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-device drift fit log G = log G₀ − ν·log(t/t₀); g_S (n, n_t) → (ν (n,), G₀ (n,) in S)."""
    x = np.log(np.asarray(t_s) / t0_s)
    y = np.log(np.clip(g_S, 1e-30, None))
    xm = x - x.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ xm / (xm @ xm)
    g0 = np.exp(y.mean(axis=1) - slope * x.mean())
    return -slope, g0


#: Number of Monte Carlo instances of ``pcm_read_iv`` (five programmed states each; the G(V)
#: table is their mean, so a small count suffices).
N_READ_IV = 16
#: Read voltages (V) at which G(V) is tabulated from the ``pcm_read_iv`` up-sweep.
READ_V_V = np.round(np.arange(0.025, 0.5001, 0.025), 6)
#: States (crystalline fractions) of the five devices of ``pcm_read_iv``.
READ_IV_STATES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Read times (s) of ``pcm_drift`` after programming (device age t_a: the drift clock, time since the end
#: of the programming pulse), and the bench's ``.meas`` name of each: 10 µs … 14 ms resolve the drift within a
#: training interval (the onset regime, where the effective exponent rises from ≈ 0.02 to ≈ 0.04), 1 s … 10⁴ s
#: the long-term power law. All are stored (``pcm/drift_t_s``, ``pcm/drift_g_S``); the array model interpolates
#: log G against log(t + t_on) between them (:mod:`pycosim.devices.pcm`).
DRIFT_T_S = np.array([1e-5, 1e-4, 1e-3, 1.4e-2, 1, 3, 10, 30, 100, 300, 1e3, 3e3, 1e4], dtype=np.float64)
DRIFT_MEAS = ("g_10u", "g_100u", "g_1m", "g_14m", "g_1", "g_3", "g_10", "g_30", "g_100", "g_300", "g_1000",
              "g_3000", "g_10000")
assert len(DRIFT_MEAS) == len(DRIFT_T_S)
#: Reads from this time on (s) enter the per-device power-law fit of ν (``pcm/drift_nu``, G₀ at 1 s): the
#: long-term exponent the array model continues with beyond the last stored read.
DRIFT_FIT_T_MIN_S = 1.0
#: Reads from this time on (s) give the exponent compared with the published model, whose power law starts at
#: t0 = 20 s (Nandakumar et al., ICECS 2019; aihwkit ``PCMLikeNoiseModel``, ``t_0 = 20``): 30 s … 10⁴ s.
DRIFT_PUB_T_MIN_S = 20.0
#: Target fractions of G_max of the ``pcm_drift`` levels (0 = RESET, 1 = top of the partial-SET range, the
#: 5 µs pulse; nominal device, G at 1 s relative to that of the 5 µs level).
#: The 1 % and 3 % levels resolve the steep rise of the 7 µs → 1 s drift ratio r = G(1 s)/G(t_p) just
#: above RESET (nominal device, read at 0.1 V: r = 0.31 at RESET, 0.54 at 1 %, 0.60 at 3 %, 0.64 at 10 %);
#: with RESET and 10 % alone, linear interpolation in G/G_max mis-drifted devices below ~1 µS by up to 25 %
#: (docs/validation.md, "PCM drift 7 µs → 1 s").
#: The 1.3 level is the fully crystalline device (x ≈ 1): its G(1 s) equals G_max of ``pcm_reset`` (the
#: x = 1 cell read 1 s after programming; 21.4 µS nominal), 1.30 × the 5 µs level's, and at t_p it reads
#: 1.26·G_max. Without it the array model held the 5 µs level's r (0.74 nominal) for every device above
#: that level, while the circuit's r keeps rising to 0.79 at x = 1 (docs/validation.md, "PCM G 1 s after
#: programming": states x ~ U(0, 1) reach up to ~1.26·G_max at t_p).
DRIFT_LEVELS = np.array([0.0, 0.01, 0.03, 0.1, 0.25, 0.5, 0.75, 1.0, 1.3])
#: Partial-SET pulse width (s) of each level (None = no SET pulse: the RESET level); chosen so the
#: NOMINAL device lands at the target fractions of the 100 % level (G at 1 s): 5 ns → G(t_p) ≈ 0.30 µS,
#: 20 ns → 0.82 µS, 80 ns → 2.7 µS (nominal device). 100 µs crystallises the device fully (nominal
#: x = 0.9998 after the pulse; G 7 µs after it 26.11, 26.92, 27.01, 27.01 µS for 20, 50, 100, 200 µs).
DRIFT_SET_WIDTHS_S = (None, 5e-9, 20e-9, 80e-9, 260e-9, 800e-9, 2e-6, 5e-6, 100e-6)
#: ``circuits/pcm_drift.cir``: the SET pulse starts at 1 µs with 5 ns edges. Every read is taken at a device age
#: t_a (the drift clock, restarted by the pulse): G_prog (``pcm/drift_g_prog_S``) at t_a = DRIFT_T_PROG_S = 7 µs
#: after the pulse, the read time of the array model's programmed G (PCMConfig.drift_t_prog_s) and of the SPICE
#: validation's G(t_p), then the DRIFT_T_S reads; each read interpolates ln G linearly in ln t_a.
DRIFT_PULSE_START_S, DRIFT_TR_S = 1e-6, 5e-9
DRIFT_T_PROG_S = 7e-6
assert len(DRIFT_SET_WIDTHS_S) == len(DRIFT_LEVELS)
#: The characterisation starts the accelerated drift clock (the bench's tp) this long after the end of the SET
#: pulse (after DRIFT_TP_AFTER_S of simulation for the RESET level, which has no pulse): the cell has cooled
#: (thermal time constant 1 ns) and its state is frozen, so G depends on time only through t_a, and every read,
#: G_prog included, is taken on the accelerated clock. (The bench's default, tp = 7 µs, spent ~300 time steps
#: of 20 ns waiting for t_a = 7 µs.)
DRIFT_TP_AFTER_S = 0.2e-6
#: Largest time step (s; the bench's tmx) of the runs: 20 ns, the programming pulse's resolution (unchanged from
#: the bench default, so the programmed states are integrated as before), and DRIFT_LONG_PULSE_TMX_S for a
#: pulse longer than DRIFT_LONG_PULSE_S (the 100 µs pulse of the fully crystalline level: the cell is
#: crystalline after a few µs of it and at thermal steady state; 400 ns moves its reads by at most 7e-5 against
#: a 5 ns-step run).
DRIFT_TMX_S = 20e-9
DRIFT_LONG_PULSE_S = 10e-6
DRIFT_LONG_PULSE_TMX_S = 400e-9
#: Drift-clock acceleration × largest time step (the bench's kclk·tmx): every time step after tp advances device
#: time by at most a factor e^0.4, so 7 µs … 1.2·10⁴ s take ~53 steps. With the reads interpolated in ln t_a,
#: 0.4 reads within 1.2e-4 of 0.04 (the RESET level, which has no programming error); 0.8 was 3.5e-3 off.
DRIFT_KCLK_TMX = 0.4
#: Cycle-to-cycle runs: the nominal device (md2d = 0) from x = C2C_X0, two SET pulses; the second
#: step (G ≈ 10 µS, mid-range) of each seed is one sample of ``c2c_dg_S``.
C2C_X0 = 0.3
C2C_PARAMS = {"md2d": 0, "xc0": C2C_X0, "np": 2}
#: Cycle-to-cycle steps of the nominal device at three levels, compared with the published PCM preset's law
#: (``pcm.c2c_pub_*``): the first pulse from RESET (0 % of the range) and the second pulse from x = 0.12 and
#: x = 0.48 (G before it ≈ 25 % and 50 % of G_sat; the second, so the first pulse's drift recovery is not in the
#: step). (x0, index of the step) per level.
C2C_LEVELS = ((0.0, 0), (0.12, 1), (0.48, 1))
#: Deterministic staircase of every device (its cycle-to-cycle noise off, mc2c = 0), long enough to approach
#: saturation (60 pulses: ≈ 0.8 of G_sat): the mean step m_k(G) of device k (``pcm/stair_clean_g_S``).
N_CLEAN = 60
CLEAN_PARAMS = {"mc2c": 0, "np": N_CLEAN}
#: Saturation of every device at the staircase's time base: one clean pulse on a fully crystalline cell (x = 1),
#: read 0.5 µs later (``pcm/g_sat_S``): the ceiling of the SET response.
SAT_PARAMS = {"mc2c": 0, "xc0": 1, "np": 1}
#: Staircase of every device from the upper part of its range (x0 = 0.6, with cycle-to-cycle noise; steps 2 … 20
#: are kept, ``pcm/stair_top_g_S``): the cycle-to-cycle data near saturation, which 20 pulses from RESET
#: rarely reach.
TOP_X0 = 0.6
TOP_PARAMS = {"xc0": TOP_X0, "np": 20}
#: Ranges of ``netlists/pcm.lib`` parameters a ``--lib-param pcm.NAME=VALUE`` override must respect: (lowest,
#: whether the lowest is allowed). Spreads, multipliers and noise amplitudes are >= 0 (a negative sigma is not a
#: smaller spread: the cycle-to-cycle logic exists only for s2_i = sc2c*mc*mc2c > 0, so sc2c < 0 would silently
#: switch it off); scales that divide or set a time constant are > 0.
LIB_PARAM_RANGES = {
    **{k: (0.0, True) for k in ("sgc", "sga", "snu", "srth", "skg", "sgb", "sc2c", "c2a", "c2s", "qf", "qa", "aq",
                                "mc", "md2d", "mc2c", "tnr", "nu", "thb", "eac", "eab", "eaa", "eag", "gon", "ka",
                                "km")},
    **{k: (0.0, False) for k in ("gc", "gb", "ga", "v0a", "vth", "vsw", "rs", "tref", "ton", "rth", "cth", "wx", "wm",
                                 "wev", "kg", "tg", "tauc", "tm", "tev", "tx", "txh", "w", "l")},
}


def check_lib_params(params: dict, where: str = "library parameter pcm") -> None:
    """ConfigError (one line) for a ``pcm_dev`` parameter value outside :data:`LIB_PARAM_RANGES`: a library
    override (*where* = "library parameter pcm") or a PCM bench's parameter of the same name (``-p BENCH.NAME``)."""
    for name, value in params.items():
        lo, closed = LIB_PARAM_RANGES.get(name, (-math.inf, True))
        if value < lo or (value == lo and not closed):
            raise ConfigError(f"{where}.{name}={value:g}: must be {'>=' if closed else '>'} {lo:g} "
                              f"(netlists/pcm.lib documents its meaning and unit)")


#: Number of read-noise records (seeds) and the bench's windows per record.
N_READ_NOISE = 12
#: Sources that program the 1T1R cell (bit line, word line).
PROGRAMMING_SOURCES = ("vbl", "vwl")
_CELL_KEEP = ("g_us", "bl", "wl", "vbl#branch", "vwl#branch")
_NOISE_KEEP = ("v1#branch", "v2#branch", "v3#branch", "v4#branch")


def _drift_params(level: int) -> dict:
    """``pcm_drift`` parameters of one level: no pulse (RESET), or a SET pulse of the level's width; the drift
    clock accelerated from DRIFT_TP_AFTER_S after the pulse's end (tp) at kclk = DRIFT_KCLK_TMX/tmx, with the
    time step tmx = DRIFT_TMX_S, or DRIFT_LONG_PULSE_TMX_S for a pulse longer than DRIFT_LONG_PULSE_S."""
    w = DRIFT_SET_WIDTHS_S[level]
    tmx = DRIFT_LONG_PULSE_TMX_S if w is not None and w > DRIFT_LONG_PULSE_S else DRIFT_TMX_S
    common = {"tmx": tmx, "kclk": round(DRIFT_KCLK_TMX / tmx, 3)}
    if w is None:
        return {"lev_on": 0, "tp": DRIFT_TP_AFTER_S, **common}
    end = DRIFT_PULSE_START_S + 2 * DRIFT_TR_S + w
    return {"lev_on": 1, "tset": w, "tp": round(end + DRIFT_TP_AFTER_S, 12), **common}


def jobs(mc: int, seed: int) -> dict[str, list[dict]]:
    """Runs needed: *mc* instances (seeds seed..seed+mc−1) of the staircase, RESET and drift
    benches (drift: one run per level and seed), *mc* cycle-to-cycle staircases of the nominal
    device (same seeds, ``C2C_PARAMS``), :data:`N_READ_IV` instances of the read bench and
    :data:`N_READ_NOISE` read-noise records."""
    seeds = list(range(seed, seed + mc))
    c2c = [{"seed": s, "keep": ("g_us",), "params": {"md2d": 0, "xc0": x0, "np": k + 1}}
           for x0, k in ((C2C_X0, 1),) + C2C_LEVELS for s in seeds]
    return {
        "pcm_set_staircase": [{"seed": s, "keep": _CELL_KEEP} for s in seeds] + c2c
        + [{"seed": s, "keep": ("g_us",), "params": dict(p)} for p in (CLEAN_PARAMS, SAT_PARAMS, TOP_PARAMS)
           for s in seeds]
        + [{"keep": ("g_us",), "params": {"mc": 0, **SAT_PARAMS}}],
        "pcm_reset": [{"seed": s, "keep": _CELL_KEEP} for s in seeds],
        "pcm_read_iv": [{"seed": s, "keep": ("r",) + tuple(f"g{k}_us" for k in range(len(READ_IV_STATES)))}
                        for s in seeds[:N_READ_IV]],
        "pcm_drift": [{"seed": s, "keep": ("g_us",), "params": _drift_params(j)}
                      for s in seeds for j in range(len(DRIFT_LEVELS))],
        "pcm_read_noise": [{"seed": s, "keep": _NOISE_KEEP} for s in seeds[:N_READ_NOISE]],
    }


def lib_default(name: str) -> float:
    """Default of a ``pcm_dev`` parameter in ``netlists/pcm.lib`` (SI value; SPICE suffixes f … meg), parsed
    from the ``.subckt pcm_dev`` line and its continuations (e.g. ``lib_default("ton")`` = the drift onset, s)."""
    subckt = "pcm_dev"
    text = resource_path("netlists/pcm.lib").read_text()
    head = text[text.index(f".subckt {subckt}"):]
    head = head[: head.index("\n.param")]
    m = re.search(rf"(?<![\w]){name}=([-+0-9.eE]+)(meg|[fpnumk])?(?![\w.])", head, flags=re.IGNORECASE)
    if m is None:
        raise CalibrationError(f"netlists/pcm.lib: parameter {name} not found on the .subckt {subckt} line")
    scale = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "meg": 1e6}
    return float(m.group(1)) * scale.get((m.group(2) or "").lower(), 1.0)


def _param(res, name: str) -> float:
    return float(res.meta["all_params"][name])


def staircase(results) -> np.ndarray:
    """G (S) before and after each SET pulse, (n_instances, n_pulses + 1), read at t_j = j·tper."""
    n, tper = int(_param(results[0], "np")), _param(results[0], "tper")
    t = np.arange(n + 1) * tper
    return np.stack([np.interp(t, np.real(r.axis), np.real(r.v("g_us"))) for r in results]) * 1e-6


def set_pulse_energy_J(res) -> np.ndarray:
    """Energy (J) delivered by bit and word line during each SET pulse of one staircase run,
    E_n = Σ_sources ∫ −V·I dt over [start − 2·tr, end + 2·tr] of pulse n (the read bias between
    pulses is excluded). Returns (n_pulses,) float64."""
    n, tper, tset, tr = (_param(res, k) for k in ("np", "tper", "tset", "tr"))
    mid = (np.arange(int(n)) + 0.5) * tper
    half = tset / 2 + 3 * tr
    return energy_J(res, PROGRAMMING_SOURCES, mid - half, mid + half)


def reset_energy_J(res) -> float:
    """Energy (J) of the RESET pulse of one ``pcm_reset`` run, E = Σ ∫ −V·I dt over the pulse."""
    t0 = _param(res, "tstart")
    t1 = t0 + sum(_param(res, k) for k in ("tr", "treset", "tq")) + 10e-9
    return energy_J(res, PROGRAMMING_SOURCES, t0, t1)


def read_iv(results) -> np.ndarray:
    """Mean G (S) versus read voltage, (n_states, len(READ_V_V)), from the ``pcm_read_iv`` up-sweeps
    (G = I/V sampled where the ramp crosses each read voltage)."""
    out = []
    for r in results:
        vmax, tsweep = _param(r, "vmax"), _param(r, "tsweep")
        t = READ_V_V / vmax * tsweep
        out.append([np.interp(t, np.real(r.axis), np.real(r.v(f"g{k}_us"))) for k in range(len(READ_IV_STATES))])
    return np.mean(np.asarray(out), axis=0) * 1e-6


def _finite(name: str, a) -> np.ndarray:
    """*a* as float64, or CalibrationError naming the quantity if any entry is not finite."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)):
        bad = "no data" if a.size == 0 else f"{int(np.sum(~np.isfinite(a)))} non-finite of {a.size}"
        raise CalibrationError(f"PCM extraction: {name}: {bad}; check the bench results (ngspice output)")
    return a


def drift_table(results) -> tuple[np.ndarray, np.ndarray]:
    """G(t) of every programmed level, from the ``pcm_drift`` runs (one run per seed and level).

    Returns ``(seeds (n,), g_S (n, n_levels, n_t), g_prog_S (n, n_levels))``: G at the read times
    :data:`DRIFT_T_S` and G right after programming (device age DRIFT_T_PROG_S = 7 µs; the time base of the
    staircase);
    a seed is kept only if all its levels ran (so row k is one device at every level)."""
    by = {}
    widths = [None if w is None else float(w) for w in DRIFT_SET_WIDTHS_S]
    for r in results:
        p = r.meta["all_params"]
        on = float(p["lev_on"]) > 0.5
        w = float(p["tset"]) if on else None
        level = next((j for j, wj in enumerate(widths) if (wj is None and w is None)
                      or (wj is not None and w is not None and abs(wj - w) <= 1e-3 * wj)), None)
        if level is None:
            raise CalibrationError(f"PCM extraction: pcm_drift run with tset={p['tset']} lev_on={p['lev_on']} "
                                   f"matches no level of DRIFT_SET_WIDTHS_S")
        by.setdefault(r.meta["seed"], {})[level] = [r.meas[m] for m in DRIFT_MEAS] + [r.meas["g_prog"]]
    seeds = sorted(s for s, d in by.items() if len(d) == len(DRIFT_LEVELS))
    g = np.array([[by[s][j] for j in range(len(DRIFT_LEVELS))] for s in seeds], dtype=np.float64) * 1e-6
    g = g.reshape(len(seeds), len(DRIFT_LEVELS), len(DRIFT_T_S) + 1)
    return np.asarray(seeds), g[..., :-1], g[..., -1]


def c2c_steps(results) -> np.ndarray:
    """ΔG (S) of the second SET pulse of each cycle-to-cycle staircase of the nominal device (m,)."""
    return np.diff(staircase(results)[:, 1:3], axis=1)[:, 0]


def read_noise(results) -> tuple[np.ndarray, np.ndarray, float]:
    """Read noise from the ``pcm_read_noise`` records: the mean read conductance of each device
    (S, (4,)), the relative σ of one read (charge integrated over ``tint``, pooled over seeds and
    the bench's ``nwin`` windows per record), and tint (s)."""
    p0 = results[0]
    tstop, tint, nwin, vread = (_param(p0, k) for k in ("tstop", "tint", "nwin", "vread"))
    ends = tstop / 2 + np.arange(1, int(nwin) + 1) * tstop / (2 * nwin)
    q = []
    for r in results:
        t = np.real(r.axis)
        row = []
        for name in _NOISE_KEEP:
            i = np.real(r.vectors[name])
            c = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t))])
            row.append(np.interp(ends, t, c) - np.interp(ends - tint, t, c))
        q.append(row)
    q = np.abs(np.asarray(q))                    # (records, devices, windows), C
    mean = q.mean(axis=(0, 2))
    rel = (q / mean[None, :, None] - 1.0).transpose(1, 0, 2).reshape(len(mean), -1).std(axis=1, ddof=1)
    return mean / (tint * vread), rel, tint


def _staircase_kinds(results) -> dict:
    """The ``pcm_set_staircase`` runs of :func:`jobs` by kind, each sorted by seed: "main" (device-to-device with
    cycle-to-cycle noise, from RESET), ("c2c", x0) (nominal device, C2C_LEVELS), "clean" (CLEAN_PARAMS), "sat"
    (SAT_PARAMS), "sat_nominal" (mc = 0 on SAT_PARAMS), "top" (TOP_PARAMS)."""
    out: dict = {}
    for r in results:
        p = r.meta["all_params"]
        mc, md2d, mc2c, x0 = (float(p.get(k, d)) for k, d in (("mc", 1), ("md2d", 1), ("mc2c", 1), ("xc0", 0)))
        if mc == 0:
            kind = "sat_nominal" if x0 == 1 else "nominal"
        elif md2d == 0:
            kind = ("c2c", x0)
        elif mc2c == 0:
            kind = "sat" if x0 == 1 else "clean"
        else:
            kind = "main" if x0 == 0 else "top"
        out.setdefault(kind, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: (r.meta["seed"] is None, r.meta["seed"] or 0))
    return out


def extract(runs: dict[str, list], lib_params: dict | None = None) -> tuple[dict, dict]:
    """Scalars (SI units in names) and tables (``pcm/…``) from the PCM bench results.

    *lib_params*: the library overrides of the runs (:attr:`pycosim.characterize.runner.Options.lib_params`);
    a ``pcm`` default the extraction reads (the drift onset ``ton``) is taken from them.
    Raises CalibrationError naming the quantity if a table would hold non-finite values."""
    kinds = _staircase_kinds(runs["pcm_set_staircase"])
    st_runs = kinds["main"]
    c2c_runs = kinds.get(("c2c", C2C_X0), [])
    if not st_runs or len(c2c_runs) < 2:
        raise CalibrationError(f"PCM extraction: staircase runs: {len(st_runs)} device-to-device, "
                               f"{len(c2c_runs)} cycle-to-cycle (need >= 1 and >= 2)")
    seeds = [r.meta["seed"] for r in st_runs]
    for name in ("clean", "sat", "top"):
        if [r.meta["seed"] for r in kinds.get(name, [])] != seeds:
            raise CalibrationError(f"PCM extraction: the {name} staircase runs (pcm_set_staircase with "
                                   f"{ {'clean': CLEAN_PARAMS, 'sat': SAT_PARAMS, 'top': TOP_PARAMS}[name]}) must "
                                   f"cover the seeds of the device-to-device staircase, one each")
    if len(kinds.get("sat_nominal", [])) != 1:
        raise CalibrationError("PCM extraction: one pcm_set_staircase run of the nominal device (mc = 0) on a "
                               "crystalline cell (xc0 = 1) is needed: the range of the published c2c comparison")
    stair = _finite("staircase_g_S", staircase(st_runs))
    clean = _finite("stair_clean_g_S", staircase(kinds["clean"]))
    g_sat = _finite("g_sat_S", staircase(kinds["sat"])[:, 1])
    top = _finite("stair_top_g_S", staircase(kinds["top"]))
    law = fit_c2c_law(*c2c_residuals([(stair, 0), (top, 1)], clean, g_sat))
    # the per-device quadratic of the mean step (pcm/fit_coef, the form measured bundles use) is fitted to the
    # deterministic staircase: on the noisy one (σ several times the step at high G) it is ill-conditioned; the
    # residuals (pcm/fit_dg_residual_S) are those of the noisy staircase against the array model's mean step
    fit_coef, _ = fit_staircases(clean)
    fit_res = (np.diff(stair, axis=1) - c2c_residuals([(stair, 0)], clean, g_sat)[2].reshape(stair.shape[0], -1))
    sat_nom = float(staircase(kinds["sat_nominal"])[0, 1])
    c2c_pub = []
    for x0, k in C2C_LEVELS:
        st = _finite(f"c2c steps at x0 = {x0}", staircase(kinds.get(("c2c", x0), [])))
        dg = st[:, k + 1] - st[:, k]
        w, dw = st[:, k].mean() / sat_nom, dg.mean() / sat_nom
        c2c_pub.append((w, dw, dg.std(ddof=1) / dg.mean(), 0.6 * (abs(dw) + 0.042 + 0.108 * w) / dw))
    table = jump_table(stair)
    fit = fit_dg(stair)
    steps = np.diff(stair, axis=1)
    e_set = _finite("e_set_J", np.stack([set_pulse_energy_J(r) for r in st_runs]))
    c2c = _finite("c2c_dg_S", c2c_steps(c2c_runs))   # σ/mean ≈ 2 at mid-range: a few seeds may average ≤ 0

    rs = runs["pcm_reset"]
    g_reset = _finite("g_reset_S", [r.meas["g_reset"] for r in rs]) * 1e-6
    g_max = _finite("g_max_S", [r.meas["g_before"] for r in rs]) * 1e-6
    e_reset = _finite("e_reset_J", [reset_energy_J(r) for r in rs])

    iv = runs["pcm_read_iv"]
    read_g = _finite("read_g_S", read_iv(iv))
    disturb = _finite("read_disturb", [[r.meas[f"d{k}"] for k in range(len(READ_IV_STATES))] for r in iv])

    _, drift_g, g_prog = drift_table(runs["pcm_drift"])
    drift_g, g_prog = _finite("drift_g_S", drift_g), _finite("drift_g_prog_S", g_prog)
    n, nl, nt = drift_g.shape
    late = DRIFT_T_S >= DRIFT_FIT_T_MIN_S
    nu_f, g0_f = fit_drift(DRIFT_T_S[late], drift_g[..., late].reshape(n * nl, -1))
    nu = _finite("drift_nu", nu_f.reshape(n, nl))
    g0 = _finite("drift_g0_S", g0_f.reshape(n, nl))
    pub = DRIFT_T_S >= DRIFT_PUB_T_MIN_S
    nu_pub = fit_drift(DRIFT_T_S[pub], drift_g[..., pub].reshape(n * nl, -1))[0].reshape(n, nl)

    rn_g, rn_rel, t_int = read_noise(runs["pcm_read_noise"])
    rn_g, rn_rel = _finite("read_noise_g_S", rn_g), _finite("read_noise_rel_sigma", rn_rel)

    p0 = st_runs[0]
    vreads = {name: sorted({_param(r, "vread") for r in runs[name]})
              for name in ("pcm_set_staircase", "pcm_reset", "pcm_read_iv", "pcm_drift", "pcm_read_noise")}
    if len({v for vs in vreads.values() for v in vs}) != 1:
        raise CalibrationError(f"PCM extraction: the PCM benches read at different voltages (vread, V): {vreads}; "
                               "every G of the bundle must be read at the one crossbar read voltage")
    scalars = {
        "read_v_V": _param(p0, "vread"),
        "set_pulses": int(_param(p0, "np")),
        "set_v_V": _param(p0, "vset"),
        "set_gate_v_V": _param(p0, "vg_set"),
        "set_width_s": _param(p0, "tset"),
        "reset_v_V": _param(rs[0], "vreset"),
        "reset_width_s": _param(rs[0], "treset"),
        "reset_read_delay_s": _param(rs[0], "tread1"),
        "g_initial_mean_S": float(stair[:, 0].mean()),
        "g_reset_mean_S": float(g_reset.mean()),
        "g_reset_std_S": float(g_reset.std()),
        "g_max_mean_S": float(g_max.mean()),
        "g_max_std_S": float(g_max.std()),
        "g_after_set_mean_S": float(stair[:, -1].mean()),
        "g_after_set_std_S": float(stair[:, -1].std()),
        "dg_first_mean_S": float(steps[:, 0].mean()),
        "dg_last_mean_S": float(steps[:, -1].mean()),
        "dg_cycle_cv": float(np.mean(steps.std(axis=0) / np.abs(steps.mean(axis=0)))),
        "dg_fit": fit,
        "c2c_rel_sigma": float(c2c.std(ddof=1) / c2c.mean()),
        "c2c_mean_dg_S": float(c2c.mean()),
        "c2c_negative_fraction": float(np.mean(c2c < 0)),
        "c2c_law": law,
        "g_sat_mean_S": float(g_sat.mean()),
        "g_sat_nominal_S": sat_nom,
        "c2c_pub_w": [float(p[0]) for p in c2c_pub],
        "c2c_pub_mean_dw": [float(p[1]) for p in c2c_pub],
        "c2c_pub_rel_sigma": [float(p[2]) for p in c2c_pub],
        "c2c_pub_law_rel_sigma": [float(p[3]) for p in c2c_pub],
        "nu_mean": float(nu[:, 0].mean()),
        "nu_std": float(nu[:, 0].std()),
        "nu_by_level_mean": [float(v) for v in nu.mean(axis=0)],
        "nu_by_level_std": [float(v) for v in nu.std(axis=0)],
        "nu_from_20s_by_level_mean": [float(v) for v in nu_pub.mean(axis=0)],
        "nu_from_20s_by_level_std": [float(v) for v in nu_pub.std(axis=0)],
        "drift_t_prog_s": DRIFT_T_PROG_S,
        "drift_t_on_s": float(((lib_params or {}).get("pcm") or {}).get("ton", lib_default("ton"))),
        "drift_fit_t_min_s": DRIFT_FIT_T_MIN_S,
        "drift_g0_mean_S": float(g0[:, 0].mean()),
        "read_disturb_max": float(np.max(np.abs(disturb))),
        "read_disturb_hold_s": _param(iv[0], "thold"),
        "read_noise_t_int_s": float(t_int),
        "read_noise_record_s": _param(runs["pcm_read_noise"][0], "tstop"),
        "e_set_J": float(e_set.mean()),
        "e_reset_J": float(e_reset.mean()),
    }
    tables = {
        "staircase_g_S": stair,
        "stair_clean_g_S": clean,
        "stair_top_g_S": top,
        "g_sat_S": g_sat,
        "c2c_law": np.array([law["c"], law["a"], law["b"]], dtype=np.float64),
        "c2c_bias_edges_u": C2C_BIAS_EDGES_U.copy(),
        "c2c_bias": np.asarray(law["bias"], dtype=np.float64),
        "fit_coef": fit_coef,
        "fit_dg_residual_S": fit_res,
        **table,
        "g_reset_S": g_reset,
        "g_max_S": g_max,
        "read_v_V": READ_V_V.astype(np.float64),
        "read_states_x": np.asarray(READ_IV_STATES, dtype=np.float64),
        "read_g_S": read_g,
        "drift_levels": DRIFT_LEVELS.astype(np.float64),
        "drift_t_s": DRIFT_T_S.copy(),
        "drift_g_S": drift_g,
        "drift_nu": nu,
        "drift_g0_S": g0,
        "drift_g_prog_S": g_prog,
        "nu": nu[:, 0].copy(),
        "c2c_dg_S": c2c,
        "read_noise_g_S": rn_g,
        "read_noise_rel_sigma": rn_rel,
        "e_set_J": e_set.mean(axis=1),
        "e_reset_J": e_reset,
    }
    return scalars, tables
