"""The SPICE side of ``pycosim validate``: jobs for the engine and the decoding of their results.

Every netlist comes from :mod:`pycosim.validation.netlists` with the devices of a
:class:`pycosim.validation.netlists.CrossbarInstances` (the array model's bench instances):

* PCM device reads — :func:`pcm_read_job`: each PCM device alone (1T1R, the bundle's read bias), G = I/V_cell;
* crossbar reads — :func:`read_jobs`: forward or transposed PWM reads with line integrators;
* 3T1C cells — :func:`cell_job`: coincident update pulses through the programming gates, hold,
  transmission-gate reset, device reads;
* closed-loop PCM programming — :class:`pycosim.validation.programmer.SpiceProgrammer`, driven by the
  transfer engine the array model uses.
"""

from __future__ import annotations

import numpy as np

from pycosim.validation import netlists as xbar
from pycosim.validation.instances import pcm_1t1r_draws
from pycosim.validation.programmer import pcm_read_G

__all__ = ["pcm_read_job", "pcm_read_G", "signed_phases", "read_jobs", "read_deltas", "decode_reads",
           "update_steps", "cell_job", "cell_vc", "cell_g"]




# ---------------------------------------------------------------------------------------------- PCM reads
def pcm_read_job(inst: xbar.CrossbarInstances, pcm_draws: dict, P_inst, flat, *, age0_s, v_read_V=None) -> dict:
    """Job reading the PCM devices at flat indices of (2, R, C) alone, at drift-clock age0_s (s) and read bias
    v_read_V (V; the bundle's pcm.read_v_V gives the definition of its G, ``pcm_set_staircase``; default
    circuits/pcm_set_staircase.cir vread)."""
    flat = np.asarray(flat, np.int64)
    text, _ = xbar.write_pcm_program(inst.xc.reshape(-1)[flat], age0_s, pcm_1t1r_draws(inst, pcm_draws, P_inst, flat),
                                     np.zeros((flat.size, 0), int), v_read_V=v_read_V)
    return {"netlist": text}


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
