"""The transfer engine: closed- and open-loop tuning of MSP pairs over a small programming protocol.

One implementation of the algorithm, driven by whoever implements :class:`MspProgrammer`: the array
model (:class:`pycosim.array.schemes.analog.ArrayProgrammer`, used in training, weight programming and
evaluation) and the circuit (the SPICE side of ``pycosim validate``), so validation compares the very
algorithm training runs.

Transfer (Ambrogio et al., Nature 558, 60 (2018): weight transfer from the 3T1C to the PCM pair,
closed-loop tuning, polarity inversion), for the synapses of the chosen columns
(:meth:`pycosim.array.Crossbar.transfer`):

1. c_ij = LSP contribution (network units); the synapse is *moved* if |c_ij| > threshold;
2. W_target = one read of W of each moved synapse (with read noise);
3. every LSP of the columns is reset ('2pcm+3t1c': transmission-gate reset, V_C ← f_k(V_C) from the
   reset table; '4pcm': RESET of the moved LSP pairs); unmoved contributions (|c| ≤ threshold) are
   dropped and reported;
4. the MSP pair of each moved synapse is programmed to W_target by :func:`closed_loop` or :func:`open_loop`;
5. schemes with a polarity bit and invert_polarity: pol_j ← −pol_j for the transferred columns.

Closed loop (:func:`closed_loop`): pairs whose both devices are above refresh_frac·G_max are RESET first
(common-mode refresh); then repeat: verify read w (σ its read noise); e = W_target − w; a synapse stops when
|e| ≤ max(tolerance − 2σ, tolerance/4) (a guard band against accepting on a lucky noisy read; = tolerance
for noise-free reads) or its SET budget max_pulses is spent; otherwise one SET pulse on G⁺ (e > 0) or G⁻
(e < 0); if that device is past saturation_frac·G_max, both devices are RESET and the synapse restarts
(≤ max_restarts, then it is dropped). All synapses in parallel; the loop runs over iterations
(≤ max_pulses + max_restarts + 1).

Verify delay: every iteration is pulse → wait → read, so a verify read sees each device some time after its
last pulse. The engine does not keep time; the programmer does: the array model's reads see every device
programmed in this loop drifted to its age t_v (TransferConfig.verify_delay_s; ≈ 1 ms on the paper's tester,
the row-serial schedule's iteration on the accelerator, :func:`pycosim.timing.verify_delay_s`), the SPICE side
of ``pycosim validate`` its circuit's own read at the end of each 1-µs period. Because PCM drift is a power law
in the time since programming, a loop that verifies at t_v converges on G(t_v): the device is programmed
higher, by G(t_p)/G(t_v), and later loses only G(t)/G(t_v).

Stuck devices (yield defects, devices past their endurance): a programmer that knows its failed devices
(optional method ``stuck(idx)`` → (2, k) bool, or None when there are none) has the loop route around them:
a stuck device is never pulsed — a synapse whose next pulse would go to a stuck device is handled as if that
device were saturated (its pair is RESET, which moves only the healthy partner, and the synapse restarts
from there; the redundant schemes switch in another pair at that RESET, :mod:`pycosim.array.schemes.redundant`),
so the healthy device alone approaches the target where the stuck one allows it, and a target it cannot reach
is dropped after max_restarts instead of spending the SET budget on a dead device; pairs with a stuck device
get no common-mode refresh (it would RESET the partner of a device stuck high).

Open loop (:func:`open_loop`): RESET both devices, then n SET pulses on G⁺ (target ≥ 0) or G⁻, n from the
calibrated mean ΔG(G) (:func:`pycosim.devices.pcm.open_loop_pulses`); no verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol, runtime_checkable

import numpy as np

from pycosim.errors import ConfigError


@runtime_checkable
class MspProgrammer(Protocol):
    """The MSP pairs (G⁺, G⁻) of m synapses, indexed 0 … m−1, as the transfer engine drives them."""

    def read(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One verify read of synapses idx (int64 (k,)): (w (k,) float32 network units, σ (k,) float32 the
        read-noise standard deviation of that read, network units; zeros when noise-free)."""

    def levels(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G (2, k): the programmed conductances of G⁺ and G⁻ as the programmer knows them (S),
        G_max (2, k): each device's maximum conductance (S))."""

    def step(self, idx: np.ndarray, device: np.ndarray, n: np.ndarray, reset: np.ndarray) -> None:
        """One programming period: RESET both devices of synapses idx[reset]; then n[i] (int32 ≥ 0) SET
        pulses on device[i] (0 = G⁺, 1 = G⁻) of synapse idx[i]."""


@dataclass(frozen=True)
class LoopOptions:
    """Closed-loop tuning settings (the run's :class:`pycosim.array.config.TransferConfig` and PCMConfig).

    tolerance: accepted |W − W_target| (network units); max_pulses: SET pulses per synapse at most;
    max_restarts: pair RESETs after saturation per synapse at most; refresh_frac: common-mode refresh
    threshold (fraction of G_max, 1 = off); saturation_frac: a device above saturation_frac·G_max is not
    SET again (the pair restarts); drift_horizon_s: verify against the weight the mean drift law predicts
    this many seconds later (0 = off; needs a programmer with ``drift_ahead``)."""

    tolerance: float
    max_pulses: int
    max_restarts: int
    refresh_frac: float = 1.0
    saturation_frac: float = 1.0
    drift_horizon_s: float = 0.0

    @classmethod
    def of(cls, opt: dict, saturation_frac: float) -> "LoopOptions":
        """From the transfer options of :func:`options` and PCMConfig.saturation_frac."""
        return cls(float(opt["tolerance"]), int(opt["max_pulses"]), int(opt["max_restarts"]),
                   float(opt["refresh_frac"]), float(saturation_frac), float(opt["drift_horizon_s"] or 0.0))


@dataclass
class LoopResult:
    """What one closed- or open-loop call did: pulses (m,) int32 SET pulses per synapse; resets (m,) int32
    pair RESETs per synapse (refresh + restarts); iterations and verify_reads (counts)."""

    pulses: np.ndarray
    resets: np.ndarray
    iterations: int = 0
    verify_reads: int = 0


def closed_loop(prog: MspProgrammer, target: np.ndarray, opt: LoopOptions) -> LoopResult:
    """Program-and-verify every synapse 0 … m−1 of *prog* to target (m,) network units (module docstring).

    Returns :class:`LoopResult`. Equations: module docstring; Ambrogio et al. (2018), Methods."""
    target = np.asarray(target, np.float32)
    m = target.shape[0]
    res = LoopResult(np.zeros(m, np.int32), np.zeros(m, np.int32))
    if m == 0:
        return res
    everyone = np.arange(m, dtype=np.int64)
    stuck_of = getattr(prog, "stuck", None)       # optional: the programmer's table of failed devices
    if opt.refresh_frac < 1:                      # common-mode refresh (TransferConfig.refresh_frac)
        G, gmax = prog.levels(everyone)
        fr = np.float32(opt.refresh_frac)
        high = (G[0] > fr * gmax[0]) & (G[1] > fr * gmax[1])
        st = stuck_of(everyone) if stuck_of is not None else None
        if st is not None:
            high &= ~(st[0] | st[1])
        hi = everyone[high]
        if hi.size:
            prog.step(hi, np.zeros(hi.size, np.int8), np.zeros(hi.size, np.int32), np.ones(hi.size, bool))
            res.resets[hi] += 1
    act = everyone
    restarts = np.zeros(m, np.int32)
    sat_frac = np.float32(opt.saturation_frac)
    tol = np.float32(opt.tolerance)
    for _ in range(opt.max_pulses + opt.max_restarts + 1):
        if act.size == 0:
            break
        w, sig = prog.read(act)
        if opt.drift_horizon_s:
            w = w + prog.drift_ahead(act, opt.drift_horizon_s)
        err = target[act] - w
        res.verify_reads += int(act.size)
        res.iterations += 1
        band = np.maximum(tol - 2 * sig, np.float32(0.25) * tol)
        go = (np.abs(err) > band) & (res.pulses[act] < opt.max_pulses)
        act, err = act[go], err[go]
        if act.size == 0:
            break
        dev = np.where(err > 0, 0, 1).astype(np.int8)
        G, gmax = prog.levels(act)
        cols = np.arange(act.size)
        sat = G[dev, cols] >= sat_frac * gmax[dev, cols]
        st = stuck_of(act) if stuck_of is not None else None
        if st is not None:                        # never pulse a stuck device: restart on the partner
            sat |= st[dev, cols]
        can = sat & (restarts[act] < opt.max_restarts)
        restarts[act[can]] += 1
        res.resets[act[can]] += 1
        pulse = ~sat
        prog.step(act[pulse | can], dev[pulse | can], pulse[pulse | can].astype(np.int32), can[pulse | can])
        res.pulses[act[pulse]] += 1
        act = act[pulse | can]
    return res


def open_loop(prog: MspProgrammer, target: np.ndarray, n_pulses: np.ndarray) -> LoopResult:
    """Open-loop programming (module docstring): RESET both devices of every synapse 0 … m−1 and give
    n_pulses (m,) SET pulses (from :func:`pycosim.devices.pcm.open_loop_pulses`) to G⁺ where target ≥ 0,
    else to G⁻; no verify read."""
    target = np.asarray(target, np.float32)
    m = target.shape[0]
    n = np.asarray(n_pulses, np.int32)
    if m:
        prog.step(np.arange(m, dtype=np.int64), np.where(target >= 0, 0, 1).astype(np.int8), n, np.ones(m, bool))
    return LoopResult(n.copy(), np.ones(m, np.int32))


# ---------------------------------------------------------------------------------------------- options, stats
_OPTIONS = ("mode", "threshold", "tolerance", "max_pulses", "max_restarts", "refresh_frac", "invert_polarity",
            "verify_t_read_s", "drift_horizon_s", "verify_delay_s")


def options(transfer_cfg, overrides: dict) -> dict:
    """The transfer options: the layer's TransferConfig with *overrides* (same names) applied; ConfigError
    (one line) for an unknown name or mode. verify_t_read_s and verify_delay_s may stay None (the layer's
    default window and its own schedule's verify delay)."""
    bad = sorted(set(overrides) - set(_OPTIONS))
    if bad:
        raise ConfigError(f"transfer: unknown option {bad[0]!r}; allowed: {', '.join(_OPTIONS)}")
    opt = {k: overrides.get(k) if overrides.get(k) is not None else getattr(transfer_cfg, k) for k in _OPTIONS}
    if opt["mode"] not in ("closed", "open"):
        raise ConfigError(f"transfer: mode={opt['mode']!r}; allowed values are 'closed', 'open'")
    return opt


@dataclass
class TransferStats:
    """Result of one transfer or programming call (network units for weights).

    t_verify_s: integration window of the verify and target reads;
    t_verify_delay_s: age (s) of a programmed device at its verify read (TransferConfig.verify_delay_s);
    n_synapses: synapses in the transferred columns; n_moved: synapses programmed;
    n_within_tol: moved synapses with |W − W_target| ≤ tolerance after programming (noise-free W as the
        loop's last verify read saw it, i.e. at the verify delay after each device's last pulse);
    err_abs_mean / err_abs_max / err_rms: |W − W_target| over the moved synapses;
    set_pulses, resets, verify_reads, iterations: this call's counts;
    dropped_abs_sum: Σ|c| of unmoved LSP contributions lost by the reset;
    target, final: (n_moved,) float32 arrays (for plots).
    """

    mode: str
    tolerance: float
    t_verify_s: float = 0.0
    t_verify_delay_s: float = 0.0
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

    @property
    def loop_wait_s(self) -> float:
        """Time (s) from the loop's first pulse to its last verify read, t_loop = iterations·t_verify_delay
        (each iteration is pulse → wait t_verify_delay → verify read; 0 without a verify delay or open loop).
        The array model starts the drift of every device the call programmed at the call's start, so letting
        t_loop pass after the call puts "now" at the end of the programming: every device is then at least as
        old as at its last verify read (:func:`pycosim.inference.circuit.consolidate`, :mod:`pycosim.deploy`)."""
        return float(self.iterations) * float(self.t_verify_delay_s)

    def as_dict(self) -> dict:
        """The scalar fields and frac_within_tol (no arrays)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("target", "final")} | {
            "frac_within_tol": self.frac_within_tol}

    def score(self, target: np.ndarray, final: np.ndarray) -> None:
        """Fill n_moved, n_within_tol and the error statistics from target and final (n_moved,) weights."""
        e = np.abs(final - target)
        self.n_moved = int(target.size)
        self.n_within_tol = int(np.count_nonzero(e <= self.tolerance))
        if target.size:
            self.err_abs_mean, self.err_abs_max = float(e.mean()), float(e.max())
            self.err_rms = float(np.sqrt(np.mean(e.astype(np.float64) ** 2)))
        self.target, self.final = target.astype(np.float32), final.astype(np.float32)


def columns(cols, n_out: int) -> np.ndarray:
    """Column indices (int64) from None (all), a bool mask (n_out,) or indices; ConfigError if out of range."""
    if cols is None:
        return np.arange(n_out)
    c = np.atleast_1d(np.asarray(cols))
    if c.dtype == bool:
        if c.shape != (n_out,):
            raise ConfigError(f"transfer: cols mask must have shape ({n_out},), got {c.shape}")
        return np.flatnonzero(c)
    if c.size and (c.min() < 0 or c.max() >= n_out):
        raise ConfigError(f"transfer: cols must be in 0…{n_out - 1}")
    return c.astype(np.int64)
