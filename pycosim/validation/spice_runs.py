"""The SPICE runs of one validation: every netlist planned at once, run in parallel, decoded into
:class:`SpiceResults` (the closed-loop transfer runs later, iteration by iteration:
:mod:`pycosim.validation.experiments.transfer`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.validation import spice_side
from pycosim.validation.setup import UPDATE_A, UPDATE_B, Setup

PCM_READ_CHUNK = 256               # PCM devices per read netlist


@dataclass(frozen=True)
class SpiceResults:
    """What the circuit gave (SI units; reads in network units).

    G_1s_S: (2, R, C) PCM G at drift-clock age 1 s, read at the bundle's bias v_pcm_V;
    G_tp_S: (2, R, C) the same at age t_p (just after programming: the model's programmed state);
    G_1s_vread_S: (2, R, C) at age 1 s read at the crossbar's V_read (only if non-ohmic, else None);
    y_forward: (N, C) forward reads; y_transposed: (N, R) transposed reads (integrator outputs decoded with the
    bundle's gain); y_forward_ideal: (N, C) forward reads with an ideal op-amp (only the first n_eff inputs are
    simulated, the other rows are 0); y_forward_wire: the same with line resistance (None if r_wire_ohm = 0);
    vout_max_V: largest |V_out| of a single integrator in the reads (V);
    upd_vc0_V, upd_vc1_V: (R, C) V_C before and after the update (drain at V_read); upd_vc0_idle_V: before, rows
    idle at 0 V; upd_g0_S, upd_g1_S: (R, C) g before and after; g_shared_S: (C,) the column references' g;
    hold_vc0_V, hold_vc1_V: (R, C) V_C before and after the hold; idle_reset_vc_V: (R, C) after a reset with the
    rows idle (read at V_read); reset_vc_V, reset_g_S: (R, C) after the reset with the rows at V_read.
    """

    G_1s_S: np.ndarray
    G_tp_S: np.ndarray
    G_1s_vread_S: np.ndarray | None
    y_forward: np.ndarray
    y_transposed: np.ndarray
    y_forward_ideal: np.ndarray
    y_forward_wire: np.ndarray | None
    vout_max_V: float
    upd_vc0_V: np.ndarray
    upd_vc0_idle_V: np.ndarray
    upd_vc1_V: np.ndarray
    upd_g0_S: np.ndarray
    upd_g1_S: np.ndarray
    g_shared_S: np.ndarray
    hold_vc0_V: np.ndarray
    hold_vc1_V: np.ndarray
    idle_reset_vc_V: np.ndarray
    reset_vc_V: np.ndarray
    reset_g_S: np.ndarray


def update_schedule(s: Setup) -> list[dict]:
    """The coincident-pulse steps of the update experiment (up columns: σ_j·pol_j > 0)."""
    st = s.state
    return spice_side.update_steps(st.a, st.b, st.sigma * st.pol > 0, A=UPDATE_A, B=UPDATE_B)


def _plan(s: Setup):
    st, R, C, inst = s.state, s.rows, s.cols, s.inst
    jobs, keys = [], []

    def add(key, job, info=None):
        jobs.append(job)
        keys.append((key, info))

    n_dev = 2 * R * C
    reads = [("G1", 1.0, s.v_pcm_V), ("Gtp", s.t_prog_s, s.v_pcm_V)]
    if s.non_ohmic:                                  # the bundle's G is not the read value: measure G at V_read
        reads.append(("G1_lo", 1.0, s.read_kw["v_read_V"]))
    for tag, age, vr in reads:
        for a in range(0, n_dev, PCM_READ_CHUNK):
            flat = np.arange(a, min(a + PCM_READ_CHUNK, n_dev))
            add((tag, a), spice_side.pcm_read_job(inst, s.pcm_draws, s.pcm_instance, flat, age0_s=age, v_read_V=vr), flat)
    ph_f = spice_side.signed_phases(st.x, s.t_x1_forward_s, "forward")
    ph_b = spice_side.signed_phases(st.d, s.t_x1_transposed_s, "transposed")
    live_f = np.flatnonzero(ph_f.reshape(len(ph_f), -1).any(1))
    live_b = np.flatnonzero(ph_b.reshape(len(ph_b), -1).any(1))
    for tag, ph, live, direction in (("fwd", ph_f, live_f, "forward"), ("bwd", ph_b, live_b, "transposed")):
        for job, info, sl in spice_side.read_jobs(inst, ph[live], direction, s.workers, **s.read_kw):
            add((tag, sl.start), job, (info, live[sl]))
    live_e = live_f[live_f < 2 * s.n_eff]
    variants = [("fwd_ideal", dict(s.read_kw, a0=1e9, gbw_Hz=1e13))]
    if s.r_wire_ohm > 0:
        variants.append(("fwd_wire", dict(s.read_kw, r_wire_ohm=s.r_wire_ohm)))
    for tag, kw in variants:
        for job, info, sl in spice_side.read_jobs(inst, ph_f[live_e], "forward", 1, **kw):
            add((tag, 0), job, (info, live_e[sl]))
    vr, cell_kw = s.read_kw["v_read_V"], dict(v_read_V=s.read_kw["v_read_V"], rows_t0_V=s.read_kw["v_read_V"],
                                              vref_gate_V=s.read_kw["vref_gate_V"])
    job, info = spice_side.cell_job(inst, [{"op": "read"}, *update_schedule(s), {"op": "read"}], **cell_kw)
    add(("cellU", 0), job, info)
    steps_h = [{"op": "read"}, {"op": "hold", "t_s": s.hold_s}, {"op": "reset", "v_line_V": s.v_line_V}, {"op": "read"}]
    job, info = spice_side.cell_job(inst, steps_h, **cell_kw)
    add(("cellH", 0), job, info)
    steps_r = [{"op": "read"}, {"op": "reset", "v_line_V": s.v_line_V, "rows_V": vr}, {"op": "read"}]
    job, info = spice_side.cell_job(inst, steps_r, **cell_kw)
    add(("cellR", 0), job, info)
    order = np.argsort([-len(j["netlist"]) for j in jobs], kind="stable")      # big netlists first
    return [jobs[k] for k in order], [keys[k] for k in order], ph_f, ph_b


def run(s: Setup) -> SpiceResults:
    """Plan, run (ngspice, s.workers processes) and decode every netlist of the validation except the transfer."""
    from pycosim.spice import iter_many

    jobs, keys, ph_f, ph_b = _plan(s)
    sp: dict = {}
    for i, res in iter_many(jobs, workers=s.workers, progress="ngspice" if s.progress else False, total=len(jobs)):
        (tag, part), info = keys[i]
        sp.setdefault(tag, []).append((part, res, info))
    R, C, rk = s.rows, s.cols, s.read_kw
    got: dict = {}
    for tag in ("G1", "G1_lo", "Gtp"):
        if tag in sp:
            G = np.empty(2 * R * C)
            for _, res, flat in sp[tag]:
                G[flat] = spice_side.pcm_read_G(res, flat.size)
            got[tag] = G.reshape(2, R, C)
    vmax = 0.0
    for tag, t_x1, n_out, phases in (("fwd", s.t_x1_forward_s, C, ph_f), ("bwd", s.t_x1_transposed_s, R, ph_b),
                                     ("fwd_ideal", s.t_x1_forward_s, C, ph_f), ("fwd_wire", s.t_x1_forward_s, C, ph_f)):
        if tag not in sp:
            continue
        deltas = np.zeros((len(phases), n_out))
        for _, res, (info, idx) in sp[tag]:
            dv, vm = spice_side.read_deltas(res, info, "forward" if tag != "bwd" else "transposed")
            deltas[idx] = dv
            vmax = max(vmax, vm) if tag in ("fwd", "bwd") else vmax
        got[tag] = spice_side.decode_reads(deltas, gain_V_per_C=s.gain_V_per_C, v_read_V=rk["v_read_V"], t_x1_s=t_x1,
                                           scale=s.xb.scale)
    shape, vr = (R, C), rk["v_read_V"]
    (_, res_u, info), = sp["cellU"]
    su = info["steps"]
    g0, gs = spice_side.cell_g(res_u, shape, su[0]["t_read"], vr)
    (_, res_h, info), = sp["cellH"]
    sh = info["steps"]
    (_, res_r, info), = sp["cellR"]                                       # reset with the rows at V_read (the bench)
    t_r = info["steps"][2]["t_read"]
    return SpiceResults(
        G_1s_S=got["G1"], G_tp_S=got["Gtp"], G_1s_vread_S=got.get("G1_lo"),
        y_forward=got["fwd"], y_transposed=got["bwd"], y_forward_ideal=got["fwd_ideal"], y_forward_wire=got.get("fwd_wire"),
        vout_max_V=vmax,
        # V_C at the reads (drain at V_read: the benches' convention); idle (rows at 0 V) after the first read
        upd_vc0_V=spice_side.cell_vc(res_u, shape, su[0]["t_read"]), upd_vc0_idle_V=spice_side.cell_vc(res_u, shape, su[0]["t_end"]),
        upd_vc1_V=spice_side.cell_vc(res_u, shape, su[-1]["t_read"]), upd_g0_S=g0, g_shared_S=gs,
        upd_g1_S=spice_side.cell_g(res_u, shape, su[-1]["t_read"], vr)[0],
        hold_vc0_V=spice_side.cell_vc(res_h, shape, sh[1]["t_start"]), hold_vc1_V=spice_side.cell_vc(res_h, shape, sh[1]["t_end"]),
        idle_reset_vc_V=spice_side.cell_vc(res_h, shape, sh[3]["t_read"]),     # after a reset with the rows idle (effect)
        reset_vc_V=spice_side.cell_vc(res_r, shape, t_r), reset_g_S=spice_side.cell_g(res_r, shape, t_r, vr)[0])
