"""The SPICE side of the transfer engine's programming protocol: :class:`SpiceProgrammer`.

``pycosim validate`` programs a column's PCM pairs with the *same* closed loop as training
(:func:`pycosim.array.transfer.closed_loop`, built from the same TransferConfig); only the programmer
differs. Here every programming period is one period (tper = 1 µs) of circuits/pcm_set_staircase.cir for
every PCM device of the column — the SET pulse of that bench or the RESET pulse of circuits/pcm_reset.cir
centred in it, the read at its end (:func:`pycosim.validation.netlists.write_pcm_program`) — continued
from the previous netlist's state (crystalline fraction, drift clock, programming-event counter → the
device's next cycle-to-cycle draw).
"""

from __future__ import annotations

import numpy as np

from pycosim.spice import run_many
from pycosim.validation import netlists as xbar
from pycosim.validation.instances import pcm_1t1r_draws

from pycosim.array.transfer import LoopOptions, LoopResult, closed_loop      # the shared engine

__all__ = ["SpiceProgrammer", "LoopOptions", "LoopResult", "closed_loop", "loop_options", "pcm_read_G"]


def loop_options(cfg) -> LoopOptions:
    """The engine's options from an :class:`pycosim.array.ArrayConfig` — its TransferConfig (tolerance,
    max_pulses, max_restarts, refresh_frac, drift_horizon_s) and PCMConfig.saturation_frac — exactly as the
    array model builds them for training."""
    from pycosim.array.transfer import options
    return LoopOptions.of(options(cfg.transfer, {}), cfg.pcm.saturation_frac)


def pcm_read_G(res, n: int, t: float = 0.0) -> np.ndarray:
    """G_k = −I(vbl_k)/(V(bl_k) − V(xp_k.d)) (S) of a PCM read or program netlist's result at time t."""
    ax = np.real(res.axis)
    out = np.empty(n)
    for k in range(n):
        i = np.interp(t, ax, np.real(res.i(f"vbl{k}")))
        v = np.interp(t, ax, np.real(res.v(f"bl{k}") - res.v(f"xp{k}.d")))
        out[k] = -i / v
    return out


class SpiceProgrammer:
    """The MSP pairs of column *col* of a SPICE crossbar, synapses 0 … m−1 = rows[0 … m−1] (the moved rows).

    Implements :class:`pycosim.array.transfer.MspProgrammer`:

    * ``read(idx)``: w = scale·[F·(G⁺ − G⁻) + c] (network units, float32) with G the circuit's read at the end of
      the last period (at the bundle's read bias) and c the 3T1C part after the reset (S); σ = 0 (the
      netlists have no noise sources);
    * ``levels(idx)``: the G as programmed — at first G_prog (read just after programming, what the refresh
      decides on, as the array model decides on its programmed state), then the G read after each period —
      and each device's G_max (S);
    * ``step(idx, device, n, reset)``: RESET both devices of idx[reset], then n[i] SET pulses on device[i]
      of idx[i]: one 1-µs period per pulse of every device of the column (devices without an action age
      and are read), split over *workers* netlists.

    Args: inst (the crossbar's :class:`CrossbarInstances`), pcm_draws (bench draws by PCM instance), P_inst
    (2, R, C) PCM instance indices, col, rows (m,) the synapses' rows, G0 (2, R) G of the column at the start
    (S), G_prog (2, R) as programmed (S), g_max (2, R) (S), lsp_S (R,) the 3T1C part c (S), scale (network
    units per S), F (-), v_read_V the verify reads' bias (V; the bundle's pcm.read_v_V), workers, progress
    (a tqdm bar updated once per period, or None).
    """

    def __init__(self, inst, pcm_draws: dict, P_inst, col: int, rows, *, G0, G_prog, g_max, lsp_S, scale: float,
                 F: float, v_read_V: float | None = None, workers: int | None = None, progress=None):
        R, C = inst.shape
        self.inst, self.pcm_draws, self.P_inst, self.rows = inst, pcm_draws, P_inst, np.asarray(rows, np.int64)
        self.R, self.scale, self.F, self.v_read_V, self.workers, self.progress = R, float(scale), float(F), v_read_V, workers, progress
        self.flat = np.concatenate([np.arange(R) * C + col, R * C + np.arange(R) * C + col])   # (2R,) G⁺ then G⁻
        self.xc = inst.xc.reshape(-1)[self.flat].astype(float)
        self.age = inst.age_s.reshape(-1)[self.flat].astype(float)
        self.events = np.zeros(2 * R, np.int64)
        self.G = np.asarray(G0, float).reshape(-1).copy()              # read at the end of the last period
        self.G_known = np.asarray(G_prog, float).reshape(-1).copy()    # as the programmer knows them
        self.g_max = np.asarray(g_max, float).reshape(-1)
        self.lsp_S = np.asarray(lsp_S, float)
        self.periods = 0

    # ---------------------------------------------------------------- the protocol
    def read(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.rows[np.asarray(idx, np.int64)]
        w = self.scale * (self.F * (self.G[r] - self.G[self.R + r]) + self.lsp_S[r])
        return w.astype(np.float32), np.zeros(r.size, np.float32)

    def levels(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.rows[np.asarray(idx, np.int64)]
        dev = np.stack([r, self.R + r])
        return self.G_known[dev], self.g_max[dev]

    def step(self, idx: np.ndarray, device: np.ndarray, n: np.ndarray, reset: np.ndarray) -> None:
        idx, device = np.asarray(idx, np.int64), np.asarray(device, np.int64)
        n, reset = np.asarray(n, np.int64), np.asarray(reset, bool)
        r = self.rows[idx]
        first = reset.astype(np.int64)                  # SET pulses follow the RESET period
        S = int(max((first + n).max(initial=0), 0))
        if S == 0:
            return
        action = np.full((2 * self.R, S), xbar.PCM_NONE, np.int64)
        action[r[reset], 0] = xbar.PCM_RESET
        action[self.R + r[reset], 0] = xbar.PCM_RESET
        for k in np.flatnonzero(n > 0):
            action[device[k] * self.R + r[k], first[k]:first[k] + n[k]] = xbar.PCM_SET
        self._periods(action)
        self.G_known = self.G.copy()

    # ---------------------------------------------------------------- results
    def weights(self) -> np.ndarray:
        """w (R,) of every row of the column now (network units, float64)."""
        return self.scale * (self.F * (self.G[:self.R] - self.G[self.R:]) + self.lsp_S)

    def conductances(self) -> np.ndarray:
        """G (2, R) of the column's devices read at the end of the last period (S)."""
        return self.G.reshape(2, self.R).copy()

    # ---------------------------------------------------------------- SPICE
    def _periods(self, action: np.ndarray) -> None:
        """S = action.shape[1] periods of every device of the column (actions applied, G read at the end of
        the last at bias v_read_V); the state is continued."""
        S = action.shape[1]
        chunks = np.array_split(np.arange(self.flat.size), max(1, min(self.workers or 1, self.flat.size)))
        jobs, t1 = [], S * xbar.pcm_pulses().tper_s
        for ch in chunks:
            draws = pcm_1t1r_draws(self.inst, self.pcm_draws, self.P_inst, self.flat[ch], self.events[ch])
            text, _ = xbar.write_pcm_program(self.xc[ch], self.age[ch], draws, action[ch], v_read_V=self.v_read_V)
            jobs.append({"netlist": text})
        for ch, res in zip(chunks, run_many(jobs, workers=self.workers)):
            self.G[ch] = pcm_read_G(res, ch.size, t1)
            ax = np.real(res.axis)
            for k, d in enumerate(ch):
                self.xc[d] = float(np.interp(t1, ax, np.real(res.v(f"xp{k}.xpcm.xc"))))
                self.age[d] = float(np.interp(t1, ax, np.real(res.v(f"xp{k}.xpcm.age"))))
                self.events[d] += int(round(float(np.interp(t1, ax, np.real(res.v(f"xp{k}.xpcm.cs"))))))
        self.periods += S
        if self.progress is not None:
            self.progress.update()
