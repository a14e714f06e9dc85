"""The SPICE side of ``pycosim validate``: jobs for the engine and the decoding of their results.

Every netlist comes from :mod:`pycosim.validation.netlists` with the devices of a
:class:`pycosim.validation.netlists.CrossbarInstances` (the array model's bench instances):

* PCM device reads — :func:`pcm_read_job`: each PCM device alone (1T1R, the bundle's read bias), G = I/V_cell;
* crossbar reads — :func:`read_jobs`: forward or transposed PWM reads with line integrators;
* 3T1C cells — :func:`cell_job`: coincident update pulses through the programming gates, hold,
  transmission-gate reset, device reads;
* closed-loop PCM programming — :func:`closed_loop`: the transfer's verify/SET loop, one 1-µs period of
  the ``pcm_set_staircase`` bench per iteration, the devices continued from netlist to netlist.
"""

from __future__ import annotations

import numpy as np

from pycosim.spice import run_many
from pycosim.validation import netlists as xbar
from pycosim.validation.instances import pcm_1t1r_draws




# ---------------------------------------------------------------------------------------------- PCM reads
def pcm_read_job(inst: xbar.CrossbarInstances, pcm_draws: dict, P_inst, flat, *, age0_s, v_read_V=None) -> dict:
    """Job reading the PCM devices at flat indices of (2, R, C) alone, at drift-clock age0_s (s) and read bias
    v_read_V (V; the bundle's pcm.read_v_V gives the definition of its G, ``pcm_set_staircase``; default
    circuits/pcm_set_staircase.cir vread)."""
    flat = np.asarray(flat, np.int64)
    text, _ = xbar.write_pcm_program(inst.xc.reshape(-1)[flat], age0_s, pcm_1t1r_draws(inst, pcm_draws, P_inst, flat),
                                     np.zeros((flat.size, 0), int), v_read_V=v_read_V)
    return {"netlist": text}


def pcm_read_G(res, n: int, t: float = 0.0) -> np.ndarray:
    """G_k = −I(vbl_k)/(V(bl_k) − V(xp_k.d)) (S) of a :func:`pcm_read_job` (or program) result at time t."""
    ax = np.real(res.axis)
    out = np.empty(n)
    for k in range(n):
        i = np.interp(t, ax, np.real(res.i(f"vbl{k}")))
        v = np.interp(t, ax, np.real(res.v(f"bl{k}") - res.v(f"xp{k}.d")))
        out[k] = -i / v
    return out


# ---------------------------------------------------------------------------------------------- crossbar reads
def signed_phases(u: np.ndarray, t_x1_s: float, direction: str) -> np.ndarray:
    """Pulse durations (s) of signed inputs u (N, n_in), |u| ≤ 1, as two phases per read (positive and
    negative contributions; the result is phase A − phase B). forward: (2N, R) row durations (rows with
    u > 0 in phase A, u < 0 in phase B); transposed: (2N, 2, C) column-line durations (phase A: colp for
    u > 0, coln for u < 0; phase B the other line), so every device always sees +V_read."""
    u = np.asarray(u, float)
    pos, neg = np.where(u > 0, u, 0.0) * t_x1_s, np.where(u < 0, -u, 0.0) * t_x1_s
    n = u.shape[0]
    if direction == "forward":
        out = np.zeros((2 * n, u.shape[1]))
        out[0::2], out[1::2] = pos, neg
    else:
        out = np.zeros((2 * n, 2, u.shape[1]))
        out[0::2, 0], out[0::2, 1] = pos, neg
        out[1::2, 0], out[1::2, 1] = neg, pos
    return out


def read_jobs(inst, durations_s, direction: str, chunks: int, **kw) -> list[tuple[dict, dict, slice]]:
    """Jobs of a read sequence split into *chunks* netlists of consecutive phases (same devices; for
    parallel workers). Returns [(job, info, phase slice)]."""
    n = len(durations_s)
    edges = np.linspace(0, n, max(1, min(chunks, n)) + 1).round().astype(int)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            text, info = xbar.write_read_sequence(inst, durations_s[a:b], direction=direction, **kw)
            out.append(({"netlist": text}, info, slice(a, b)))
    return out


def read_deltas(res, info, direction: str) -> tuple[np.ndarray, float]:
    """Integrator output changes of every phase: forward (P, C) ΔV(outp) − ΔV(outn), transposed (P, R)
    ΔV(outr); ΔV = V(t_end) − V(t_on) (V). Also returns the largest |V_out| of any single integrator (V)."""
    ax = np.real(res.axis)
    cols, vmax = [], 0.0
    for o in info["outputs"]:
        nodes = o if isinstance(o, tuple) else (o,)
        dv = []
        for node in nodes:
            v = np.real(res.v(node))
            vmax = max(vmax, float(np.max(np.abs(v))))
            dv.append(np.interp(info["t_end"], ax, v) - np.interp(info["t_on"], ax, v))
        cols.append(dv[0] - dv[1] if len(dv) == 2 else dv[0])
    return np.stack(cols, axis=1), vmax


def decode_reads(deltas: np.ndarray, *, gain_V_per_C: float, v_read_V: float, t_x1_s: float, scale: float) -> np.ndarray:
    """Signed results (network units) of two-phase reads: y = (ΔV_A − ΔV_B)·scale/(gain·V_read·t_x1) with
    the bundle's integrator gain (V/C) — the reconstruction of :mod:`pycosim.array.periphery`."""
    return (deltas[0::2] - deltas[1::2]) * scale / (gain_V_per_C * v_read_V * t_x1_s)


# ---------------------------------------------------------------------------------------------- 3T1C cells
def update_steps(a_rows: np.ndarray, b_cols: np.ndarray, up_cols: np.ndarray, *, A: int, B: int) -> list[dict]:
    """Coincident-pulse schedule of n_ij = a_i·b_j pulses (a_i ≤ A, b_j ≤ B): A·B slots (u, v); row i fires in
    slot (u, v) when u < a_i, column j when v < b_j, so cell (i, j) gets a_i·b_j coincidences. Up columns
    (up_cols) in an 'up' pass, the others in a 'down' pass (passes without a firing column are left out)."""
    u, v = np.divmod(np.arange(A * B), B)
    rows = u[None, :] < np.asarray(a_rows)[:, None]
    fire = v[None, :] < np.asarray(b_cols)[:, None]
    steps = []
    for kind, sel in (("up", np.asarray(up_cols, bool)), ("down", ~np.asarray(up_cols, bool))):
        cols = fire & sel[:, None]
        if cols.any() and rows.any():
            steps.append({"op": "update", "kind": kind, "rows": rows, "cols": cols})
    return steps


def cell_job(inst: xbar.CrossbarInstances, steps: list[dict], **kw) -> tuple[dict, dict]:
    """Job of a :func:`pycosim.validation.netlists.sequences.write_cell_sequence` on the 3T1C cells of *inst*."""
    text, info = xbar.write_cell_sequence(inst.vc, inst.cell, inst.ref, steps, **kw)
    return {"netlist": text}, info


def cell_vc(res, shape, t: float) -> np.ndarray:
    """V_C (V) of every cell at time t."""
    ax = np.real(res.axis)
    return np.array([[np.interp(t, ax, np.real(res.v(f"vc_{i}_{j}"))) for j in range(shape[1])] for i in range(shape[0])])


def cell_g(res, shape, t: float, v_read_V: float) -> tuple[np.ndarray, np.ndarray]:
    """(g (R, C), g_shared (C,)) (S) read at time t: I(sense)/V_read (the read current flows from the cell
    through its 0-V sense source to ground: positive branch current)."""
    ax = np.real(res.axis)
    g = np.array([[np.interp(t, ax, np.real(res.i(f"vsg_{i}_{j}"))) for j in range(shape[1])] for i in range(shape[0])])
    gs = np.array([np.interp(t, ax, np.real(res.i(f"vsr{j}"))) for j in range(shape[1])])
    return g / v_read_V, gs / v_read_V


# ---------------------------------------------------------------------------------------------- closed loop
def closed_loop(inst: xbar.CrossbarInstances, pcm_draws: dict, P_inst, col: int, G0: np.ndarray, target: np.ndarray,
                lsp_S: np.ndarray, moved: np.ndarray, *, scale: float, F: float, tolerance: float, max_pulses: int,
                max_restarts: int, g_max_S: np.ndarray, saturation_frac: float, refresh_frac: float = 1.0,
                G_prog_S: np.ndarray | None = None, v_read_V: float | None = None, workers: int | None = None,
                progress=None) -> dict:
    """The transfer's closed-loop programming of column *col* in SPICE (the algorithm of
    :func:`pycosim.array.transfer` step 4, noise-free verify reads): first a moved pair whose smaller device is
    above refresh_frac·G_max gets both devices RESET (common-mode refresh); then repeat — w_i = scale·[F·(G⁺_i − G⁻_i) +
    c_i] with G read from the circuit, c_i = lsp_S_i the 3T1C part after the reset (S); e = target − w;
    stop where |e| ≤ tolerance or the budget of max_pulses SET pulses is spent; else one SET pulse on
    G⁺ (e > 0) or G⁻ (e < 0); a device at ≥ saturation_frac·G_max resets both devices of its pair
    (≤ max_restarts times). Each iteration is one 1-µs period of circuits/pcm_set_staircase.cir for every
    device of the column (the pulse centred, the read at the end), continued from the previous netlist's
    state (crystalline fraction, drift clock, event counter → cycle-to-cycle draw).

    G0: (2, R) G of the column's devices at the start (S); the devices start from inst.xc, inst.age_s.
    G_prog_S: (2, R) their programmed G (read just after programming), on which the refresh decides as the
    array model does on its state P (default G0).
    v_read_V: the verify reads' bias (V; the bundle's pcm.read_v_V, so that G is the bundle's quantity;
    default circuits/pcm_set_staircase.cir vread).
    Returns {'G': (2, R) final G (S), 'W': (R,) final w, 'pulses': (R,), 'resets': (R,), 'iterations'}.
    """
    R = G0.shape[1]
    C = inst.shape[1]
    flat = np.concatenate([np.arange(R) * C + col, R * C + np.arange(R) * C + col])   # (2R,) G⁺ then G⁻
    xc, age = inst.xc.reshape(-1)[flat].astype(float), inst.age_s.reshape(-1)[flat].astype(float)
    events = np.zeros(2 * R, np.int64)
    G = np.asarray(G0, float).reshape(-1).copy()
    used, restarts = np.zeros(R, int), np.zeros(R, int)
    act = np.flatnonzero(moved)
    gmax = g_max_S.reshape(-1)
    Gp = G if G_prog_S is None else np.asarray(G_prog_S, float).reshape(-1)
    high = act[(Gp[act] > refresh_frac * gmax[act]) & (Gp[act + R] > refresh_frac * gmax[act + R])] if refresh_frac < 1 else act[:0]
    refreshed = np.zeros(R, bool)
    refreshed[high] = True
    it = 0
    for it in range(max_pulses + max_restarts + 2):
        action = np.zeros(2 * R, int)
        if it == 0 and high.size:              # the refresh period: RESET pulses only
            action[np.concatenate([high, high + R])] = xbar.PCM_RESET
            G, xc, age, events = _pcm_period(inst, pcm_draws, P_inst, flat, xc, age, events, G, action, workers, v_read_V)
            if progress is not None:
                progress.update()
            continue
        w = scale * (F * (G[:R] - G[R:]) + lsp_S)
        err = target - w
        go = act[(np.abs(err[act]) > tolerance) & (used[act] < max_pulses)]
        if go.size == 0:
            break
        dev = np.where(err[go] > 0, go, go + R)
        sat = G[dev] >= saturation_frac * g_max_S.reshape(-1)[dev]
        for i, d, s in zip(go, dev, sat):
            if s:
                if restarts[i] < max_restarts:
                    action[[i, i + R]] = xbar.PCM_RESET
                    restarts[i] += 1
                else:
                    act = act[act != i]
            else:
                action[d] = xbar.PCM_SET
                used[i] += 1
        if not np.any(action != xbar.PCM_NONE):
            continue
        G, xc, age, events = _pcm_period(inst, pcm_draws, P_inst, flat, xc, age, events, G, action, workers, v_read_V)
        if progress is not None:
            progress.update()
    w = scale * (F * (G[:R] - G[R:]) + lsp_S)
    return {"G": G.reshape(2, R), "W": w, "pulses": used, "resets": restarts + refreshed, "iterations": it}


def _pcm_period(inst, pcm_draws, P_inst, flat, xc, age, events, G, action, workers, v_read_V=None):
    """One 1-µs period of every device at flat indices (the others of the column only age and are read):
    actions applied, G read at its end (bias v_read_V); returns the continued (G, xc, age, events)."""
    G, xc, age, events = G.copy(), xc.copy(), age.copy(), events.copy()
    chunks = np.array_split(np.arange(flat.size), max(1, min(workers or 1, flat.size)))
    jobs, t1 = [], xbar.pcm_pulses().tper_s
    for ch in chunks:
        draws = pcm_1t1r_draws(inst, pcm_draws, P_inst, flat[ch], events[ch])
        text, _ = xbar.write_pcm_program(xc[ch], age[ch], draws, action[ch][:, None], v_read_V=v_read_V)
        jobs.append({"netlist": text})
    for ch, res in zip(chunks, run_many(jobs, workers=workers)):
        G[ch] = pcm_read_G(res, ch.size, t1)
        ax = np.real(res.axis)
        for n, k in enumerate(ch):
            xc[k] = float(np.interp(t1, ax, np.real(res.v(f"xp{n}.xpcm.xc"))))
            age[k] = float(np.interp(t1, ax, np.real(res.v(f"xp{n}.xpcm.age"))))
            events[k] += int(round(float(np.interp(t1, ax, np.real(res.v(f"xp{n}.xpcm.cs"))))))
    return G, xc, age, events
