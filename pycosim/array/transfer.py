"""Transfer of the LSP contribution into the MSP pair, and programming of target weights.

Transfer (Ambrogio et al., Nature 558, 60 (2018): weight transfer from the 3T1C to the PCM pair,
closed-loop tuning, polarity inversion), for the synapses of the chosen columns:

1. c_ij = LSP contribution (network units); the synapse is *moved* if |c_ij| > threshold;
2. W_target = one read of W of each moved synapse (with read noise);
3. every LSP of the columns is reset ('2pcm+3t1c': transmission-gate reset, V_C ← f_k(V_C) from the
   reset table; '4pcm': RESET of the moved LSP pairs); unmoved contributions (|c| ≤ threshold) are
   dropped and reported;
4. the MSP pair of each moved synapse is programmed to W_target:
   * closed loop — pairs whose smaller device is above refresh_frac·G_max are RESET first (common-mode
     refresh); then repeat: verify read w = W + σ·z; e = W_target − w; stop if
     |e| ≤ max(tolerance − 2σ, tolerance/4) (a guard band against accepting on a lucky noisy read);
     otherwise one SET pulse on G⁺ (e > 0) or G⁻ (e < 0); if that device is past
     saturation_frac·G_max, RESET both devices and restart (≤ max_restarts); at most max_pulses SET
     pulses. All synapses in parallel with masks; the loop runs over iterations;
   * open loop — RESET both devices, then n = gs/dg0·(exp(G_to/gs) − exp(G_from/gs)) SET pulses on
     G⁺ (target > 0) or G⁻ from the calibrated mean ΔG(G) (``pcm.dg_fit``), G_from = the mean RESET
     floor, G_to = G_from + |W_target|/(scale·F); no verify;
5. '2pcm+3t1c' with invert_polarity: pol_j ← −pol_j for the transferred columns.

Every SET, RESET, verify read and iteration is counted in the crossbar's counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pycosim.devices import lsp, pcm
from pycosim.errors import ConfigError


@dataclass
class TransferStats:
    """Result of one transfer or programming call (network units for weights).

    t_verify_s: integration window of the verify and target reads;
    n_synapses: synapses in the transferred columns; n_moved: synapses programmed;
    n_within_tol: moved synapses with |W − W_target| ≤ tolerance after programming (noise-free W);
    err_abs_mean / err_abs_max / err_rms: |W − W_target| over the moved synapses;
    set_pulses, resets, verify_reads, iterations: this call's counts;
    dropped_abs_sum: Σ|c| of unmoved LSP contributions lost by the reset;
    target, final: (n_moved,) float32 arrays (for plots).
    """

    mode: str
    tolerance: float
    t_verify_s: float = 0.0
    n_synapses: int = 0
    n_moved: int = 0
    n_within_tol: int = 0
    err_abs_mean: float = 0.0
    err_abs_max: float = 0.0
    err_rms: float = 0.0
    set_pulses: int = 0
    resets: int = 0
    verify_reads: int = 0
    iterations: int = 0
    dropped_abs_sum: float = 0.0
    target: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)
    final: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)

    @property
    def frac_within_tol(self) -> float:
        return self.n_within_tol / self.n_moved if self.n_moved else 1.0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("target", "final")} | {
            "frac_within_tol": self.frac_within_tol}


def _options(xb, overrides: dict) -> dict:
    t = xb.cfg.transfer
    allowed = ("mode", "threshold", "tolerance", "max_pulses", "max_restarts", "refresh_frac", "invert_polarity",
               "verify_t_read_s", "drift_horizon_s")
    bad = sorted(set(overrides) - set(allowed))
    if bad:
        raise ConfigError(f"transfer: unknown option {bad[0]!r}; allowed: {', '.join(allowed)}")
    opt = {k: overrides.get(k) if overrides.get(k) is not None else getattr(t, k) for k in allowed}
    if opt["mode"] not in ("closed", "open"):
        raise ConfigError(f"transfer: mode={opt['mode']!r}; allowed values are 'closed', 'open'")
    if opt["verify_t_read_s"] is None and xb.synapse != "ideal":
        opt["verify_t_read_s"] = default_verify_window(xb, opt["tolerance"])
    return opt


def default_verify_window(xb, tolerance: float) -> float:
    """Verify window t (s) with σ_verify = tolerance/4 for a synapse whose two MSP devices sit at the mean
    G_max: σ²(t) = 2·(scale·F·σ_PCM(G_max))²·t_bench/t, never below the bench window t_bench
    (the forward read window when the PCM read noise is off)."""
    if not xb.cfg.pcm.read_noise:
        return xb.fwd.t_x1_s
    # PCM read noise is 1/f (Crossbar.noise_factor): a window longer than the bench's averages nothing
    # more away, so the verify read uses the bench window itself.
    return xb.pcm_pop.noise_t_int_s


def _verify_read(xb, flat: np.ndarray, t_read_s: float, with_sigma: bool = False):
    """One noisy read of the weights at flat indices: W + σ·z, σ = (S/t_read)^½ (S = Σ σ²·t_bench per
    synapse). With with_sigma, also returns σ."""
    w = xb._w_of(flat)
    sig = np.zeros(flat.shape, np.float32)
    if xb.S is not None:
        sig = np.sqrt(xb._s_of(flat) * np.float32(xb.noise_factor(t_read_s)))
        w = w + sig * xb.rng.standard_normal(flat.shape, dtype=np.float32)
    return (w, sig) if with_sigma else w


def _mean_drift_pop(xb):
    """The crossbar's PCM population with every device's drift constants replaced by their population mean
    per level (what a periphery can know from the calibration; cached)."""
    mp = getattr(xb, "_pcm_mean_drift", None)
    if mp is None:
        import dataclasses
        p = xb.pcm_pop
        mean = lambda a: np.broadcast_to(a.mean(axis=0, keepdims=True), a.shape)  # noqa: E731
        mp = dataclasses.replace(p, drift_nu=mean(p.drift_nu), drift_ln_r=mean(p.drift_ln_r),
                                 drift_level_x=mean(p.drift_level_x))
        xb._pcm_mean_drift = mp
    return mp


def _drift_prediction(xb, flat: np.ndarray, horizon_s: float) -> np.ndarray:
    """Δw (network units, float32) of the MSP pairs at flat synapse indices over the next horizon_s seconds by
    the mean drift law (TransferConfig.drift_horizon_s): scale·F·Σ± G_now·(r̄(a + h)/r̄(a) − 1), a = age of
    each device since its programming (≥ t_p), r̄ = pcm.drift_with of the mean-drift population."""
    if xb.P_tprog is None or flat.size == 0:
        return np.zeros(flat.shape, np.float32)
    N = xb.W.size
    mp = _mean_drift_pop(xb)
    dev = np.concatenate([flat, N + flat])
    G = xb.P.reshape(-1)[dev]
    age = np.maximum(xb.t_s - xb.P_tprog.reshape(-1)[dev], mp.drift_t_prog_s)
    ln_r, nu = pcm.drift_params(G, xb.P_inst.reshape(-1)[dev], mp)
    now = pcm.drift_with(np.ones_like(G), age, ln_r, nu, mp)
    later = pcm.drift_with(np.ones_like(G), age + horizon_s, ln_r, nu, mp)
    dG = xb.Pe.reshape(-1)[dev] * (later / now - np.float32(1))
    k = flat.size
    return (np.float32(xb.scale * xb.cfg.F) * (dG[:k] - dG[k:])).astype(np.float32)


def _counts(xb):
    c = xb.counters
    return c.transfer_set_pulses, c.transfer_resets, c.transfer_verify_reads, c.transfer_iterations


def _closed_loop(xb, flat: np.ndarray, target: np.ndarray, opt: dict) -> None:
    N = xb.W.size
    Pf, If = xb.P.reshape(-1), xb.P_inst.reshape(-1)
    gmax, sat_frac = xb.pcm_pop.g_max_S, np.float32(xb.cfg.pcm.saturation_frac)
    if opt["refresh_frac"] < 1 and flat.size:     # common-mode refresh (TransferConfig.refresh_frac)
        fr = np.float32(opt["refresh_frac"])
        hi = (Pf[flat] > fr * gmax[If[flat]]) & (Pf[N + flat] > fr * gmax[If[N + flat]])
        if hi.any():
            fh = flat[hi]
            xb._reset(np.concatenate([fh, N + fh]), "transfer_resets")
    act = np.arange(flat.size)
    used = np.zeros(flat.size, np.int32)
    restarts = np.zeros(flat.size, np.int32)
    for _ in range(opt["max_pulses"] + opt["max_restarts"] + 1):
        if act.size == 0:
            break
        f = flat[act]
        w, sig = _verify_read(xb, f, opt["verify_t_read_s"], with_sigma=True)
        if opt["drift_horizon_s"]:
            w = w + _drift_prediction(xb, f, opt["drift_horizon_s"])
        err = target[act] - w
        xb.counters.transfer_verify_reads += int(act.size)
        xb.counters.transfer_iterations += 1
        band = np.maximum(np.float32(opt["tolerance"]) - 2 * sig, np.float32(0.25 * opt["tolerance"]))
        go = (np.abs(err) > band) & (used[act] < opt["max_pulses"])
        act, err, f = act[go], err[go], f[go]
        if act.size == 0:
            break
        d = np.where(err > 0, 0, 1)
        dev = d.astype(np.int64) * N + f
        sat = Pf[dev] >= sat_frac * gmax[If[dev]]
        if sat.any():
            can = sat & (restarts[act] < opt["max_restarts"])
            if can.any():
                fs = f[can]
                xb._reset(np.concatenate([fs, N + fs]), "transfer_resets")
                restarts[act[can]] += 1
            keep = ~sat | can
            pulse = ~sat
            act_p, d_p, f_p = act[pulse], d[pulse], f[pulse]
            act = act[keep]
        else:
            act_p, d_p, f_p = act, d, f
        if act_p.size:
            xb._set(d_p, f_p, np.ones(act_p.size, np.int32), counter="transfer_set_pulses")
            used[act_p] += 1


def _open_loop(xb, flat: np.ndarray, target: np.ndarray, opt: dict) -> None:
    N = xb.W.size
    xb._reset(np.concatenate([flat, N + flat]), "transfer_resets")
    g_from = float(xb.bundle.scalars["pcm"]["g_reset_mean_S"])
    dG = np.abs(target) / np.float32(xb.scale * xb.cfg.F)
    n = pcm.open_loop_pulses(g_from, g_from + dG, xb.pcm_pop.dg_fit, opt["max_pulses"])
    d = np.where(target >= 0, 0, 1)
    xb._set(d, flat, n, counter="transfer_set_pulses")


def _program_msp(xb, flat, target, opt, stats: TransferStats) -> None:
    before = _counts(xb)
    if flat.size:
        (_closed_loop if opt["mode"] == "closed" else _open_loop)(xb, flat, target, opt)
        xb._refresh(flat)
    after = _counts(xb)
    stats.set_pulses, stats.resets, stats.verify_reads, stats.iterations = (int(a - b) for a, b in zip(after, before))
    final = xb.W.reshape(-1)[flat]
    e = np.abs(final - target)
    stats.n_moved = int(flat.size)
    stats.n_within_tol = int(np.count_nonzero(e <= opt["tolerance"]))
    if flat.size:
        stats.err_abs_mean, stats.err_abs_max = float(e.mean()), float(e.max())
        stats.err_rms = float(np.sqrt(np.mean(e.astype(np.float64) ** 2)))
    stats.target, stats.final = target.astype(np.float32), final.astype(np.float32)


def _columns(xb, cols) -> np.ndarray:
    if cols is None:
        return np.arange(xb.n_out)
    c = np.atleast_1d(np.asarray(cols))
    if c.dtype == bool:
        if c.shape != (xb.n_out,):
            raise ConfigError(f"transfer: cols mask must have shape ({xb.n_out},), got {c.shape}")
        return np.flatnonzero(c)
    if c.size and (c.min() < 0 or c.max() >= xb.n_out):
        raise ConfigError(f"transfer: cols must be in 0…{xb.n_out - 1}")
    return c.astype(np.int64)


def transfer(xb, cols=None, **overrides) -> TransferStats:
    """Transfer the LSP contribution of columns *cols* (default all) into the MSP pair (module docstring).

    Options (default: the crossbar's TransferConfig): mode 'closed'|'open', threshold, tolerance,
    max_pulses, max_restarts, invert_polarity. Returns :class:`TransferStats`. 'ideal' and '2pcm' have no
    LSP: nothing moves."""
    opt = _options(xb, overrides)
    stats = TransferStats(mode=opt["mode"], tolerance=opt["tolerance"], t_verify_s=opt["verify_t_read_s"] or 0.0)
    if xb.synapse in ("ideal", "2pcm"):
        return stats
    xb.flush_leak()
    cols = _columns(xb, cols)
    flat = (np.arange(xb.n_in)[:, None] * xb.n_out + cols[None, :]).ravel()
    stats.n_synapses = int(flat.size)
    c = xb.lsp_contribution().reshape(-1)[flat]
    moved = np.abs(c) > opt["threshold"]
    fm = flat[moved]
    target = _verify_read(xb, fm, opt["verify_t_read_s"])
    xb.counters.transfer_verify_reads += int(fm.size)
    stats.dropped_abs_sum = float(np.abs(c[~moved]).sum())
    N = xb.W.size
    if xb.synapse == "2pcm+3t1c":
        Vf, gf, If = xb.V.reshape(-1), xb.g.reshape(-1), xb.V_inst.reshape(-1)
        Vf[flat] = lsp.tg_reset(Vf[flat], If[flat], xb.lsp_pop)
        gf[flat] = lsp.g_of_vc(Vf[flat], If[flat], xb.lsp_pop)
        xb.counters.lsp_resets += int(flat.size)
        if xb._leak_cache is not None:
            xb._leak_cache["seg"].reshape(-1)[flat] = -1
        if opt["invert_polarity"]:
            xb.pol[cols] *= -1
    else:  # 4pcm: RESET the moved LSP pairs
        xb._reset(np.concatenate([2 * N + fm, 3 * N + fm]), "transfer_resets")
    xb._refresh(flat)
    _program_msp(xb, fm, target, opt, stats)
    xb._refresh_lines()
    xb.counters.transfers += 1
    return stats


def program(xb, W_target, mode: str | None = None, **overrides) -> TransferStats:
    """Program every synapse's MSP pair so that W ≈ W_target ((n_in, n_out), network units), closed- or
    open-loop as in :func:`transfer` step 4; the LSP stays as it is (closed loop compensates it, open
    loop ignores it). 'ideal': W ← W_target exactly."""
    Wt = np.asarray(W_target, np.float32)
    if Wt.shape != xb.shape:
        raise ConfigError(f"program: W_target must have shape {xb.shape}, got {Wt.shape}")
    if not np.isfinite(Wt).all():
        raise ConfigError("program: W_target contains NaN or infinity")
    if mode is not None:
        overrides["mode"] = mode
    opt = _options(xb, overrides)
    stats = TransferStats(mode=opt["mode"], tolerance=opt["tolerance"], t_verify_s=opt["verify_t_read_s"] or 0.0)
    if xb.synapse == "ideal":
        xb.W[...] = Wt
        stats.n_synapses = stats.n_moved = stats.n_within_tol = Wt.size
        return stats
    flat = np.arange(Wt.size)
    stats.n_synapses = int(flat.size)
    _program_msp(xb, flat, Wt.reshape(-1), opt, stats)
    xb._refresh_lines()
    return stats
