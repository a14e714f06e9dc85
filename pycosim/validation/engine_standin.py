"""STAND-IN for the shared transfer engine of :mod:`pycosim.array.transfer` (``MspProgrammer``,
``LoopOptions``, ``LoopResult``, ``closed_loop``), written against its specification until the engine lands
there; :mod:`pycosim.validation.programmer` imports the real one when it exists. Delete this module then.

Closed loop: pairs whose both devices are above refresh_frac·G_max are RESET first (own period); then
repeat ≤ max_pulses + max_restarts + 1 times: w, σ = read(active); e = target − w; a synapse stops when
|e| ≤ max(tolerance − 2σ, tolerance/4) or its SET budget max_pulses is spent; otherwise device 0 (G⁺) if
e > 0 else 1 (G⁻); if that device is at ≥ saturation_frac·G_max the pair is RESET (a restart, ≤ max_restarts,
else the synapse is dropped), else it gets one SET pulse; all in one step() call per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class MspProgrammer(Protocol):
    """The MSP pairs (G⁺, G⁻) of m synapses, indexed 0 … m−1, as the transfer engine drives them."""

    def read(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def levels(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def step(self, idx: np.ndarray, device: np.ndarray, n: np.ndarray, reset: np.ndarray) -> None: ...


@dataclass(frozen=True)
class LoopOptions:
    """tolerance (network units), max_pulses, max_restarts, refresh_frac (1 = off), saturation_frac,
    drift_horizon_s (0 = off)."""

    tolerance: float
    max_pulses: int
    max_restarts: int
    refresh_frac: float = 1.0
    saturation_frac: float = 1.0
    drift_horizon_s: float = 0.0


@dataclass
class LoopResult:
    """pulses (m,) SET pulses per synapse; resets (m,) pair RESETs per synapse (refresh + restarts);
    iterations, verify_reads (counts)."""

    pulses: np.ndarray
    resets: np.ndarray
    iterations: int = 0
    verify_reads: int = 0


def closed_loop(prog: MspProgrammer, target: np.ndarray, opt: LoopOptions) -> LoopResult:
    """Program-and-verify synapses 0 … m−1 of *prog* to target (m,) network units (module docstring)."""
    target = np.asarray(target, np.float32)
    m = target.shape[0]
    res = LoopResult(np.zeros(m, np.int32), np.zeros(m, np.int32))
    if m == 0:
        return res
    everyone = np.arange(m, dtype=np.int64)
    if opt.refresh_frac < 1:
        G, gmax = prog.levels(everyone)
        fr = np.float32(opt.refresh_frac)
        hi = everyone[(G[0] > fr * gmax[0]) & (G[1] > fr * gmax[1])]
        if hi.size:
            prog.step(hi, np.zeros(hi.size, np.int8), np.zeros(hi.size, np.int32), np.ones(hi.size, bool))
            res.resets[hi] += 1
    act, restarts = everyone, np.zeros(m, np.int32)
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
        k = np.arange(act.size)
        sat = G[dev, k] >= np.float32(opt.saturation_frac) * gmax[dev, k]
        can = sat & (restarts[act] < opt.max_restarts)
        restarts[act[can]] += 1
        res.resets[act[can]] += 1
        pulse = ~sat
        keep = pulse | can
        prog.step(act[keep], dev[keep], pulse[keep].astype(np.int32), can[keep])
        res.pulses[act[pulse]] += 1
        act = act[keep]
    return res
