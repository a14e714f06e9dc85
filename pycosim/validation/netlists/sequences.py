"""Sequence writers: 3T1C cells and PCM 1T1R cells of given instances through timed operations.

* :func:`write_cell_sequence`: the 3T1C cells of a crossbar (and one reference FET per column) through
  reads, coincident update pulses through the programming gates, holds and transmission-gate resets —
  the pulses and levels of circuits/lsp_steps.cir and circuits/lsp_reset.cir;
* :func:`write_pcm_program`: PCM 1T1R cells through periods of SET/RESET pulses and reads — the pulses
  of circuits/pcm_set_staircase.cir and circuits/pcm_reset.cir.

Every level and pulse width is read from those benches (:mod:`pycosim.validation.netlists.levels`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pycosim.validation.netlists.common import INCLUDES, Wave, instance_line, num
from pycosim.validation.netlists.levels import lsp_levels, pcm_pulses
from pycosim.validation.netlists.library import fixed_draw_library

PCM_NONE, PCM_SET, PCM_RESET = 0, 1, 2      # actions of one programming period (write_pcm_program)



def write_cell_sequence(
    vc,
    cell: dict,
    ref: dict,
    steps: list[dict],
    *,
    v_read_V: float | None = None,
    vref_gate_V: float = 0.5,
    t_read_s: float = 30e-9,
    t_slot_s: float = 20e-9,
    t_pw_s: float | None = None,
    t_rise_s: float | None = None,
    t_max_step_s: float = 5e-9,
    rows_t0_V: float = 0.0,
) -> tuple[str, dict]:
    """The 3T1C cells of an R×C crossbar (and one reference FET per column) through a sequence of steps.

    Lines (Ambrogio et al., Nature 558, 60-67 (2018), Fig. 2 and Extended Data Fig. 9): row i drives the
    read-FET drains (``rd<i>``) and both programming gates of its cells (``upb<i>``, ``dn<i>``); column j
    drives the source lines of its cells' pull-up PMOS (``vp<j>``) and pull-down NMOS (``vn<j>``). Every
    read-FET source sits on its own 0-V sense source (``vsg_<i>_<j>``), so a read gives each cell's g.
    Hold: rows 0 V, gates at their off-levels (upb = vup_off = 1.5 V, dn = vdn_off = −0.3 V), vp = vdd, vn = 0
    (:func:`pycosim.validation.netlists.levels.lsp_levels`, those of circuits/lsp_steps.cir). v_read_V defaults
    to circuits/lsp_read_gv.cir ``vread``, t_pw_s and t_rise_s to lsp_steps.cir ``tpw`` and ``tr``. Steps (dicts,
    key 'op'):

    * ``{'op': 'read'}``: rows (and the reference drains) at v_read_V for t_read_s; g_ij = I(vsg_i_j)/V_read
      is read at the end (source at 0 V, V_DS = V_read: the bias of lsp/g_of_vc_S).
    * ``{'op': 'update', 'kind': 'up'|'down', 'rows': (R, S) bool, 'cols': (C, S) bool}``: S slots of
      t_slot_s. In slot s every row with rows[i, s] pulses its up gate to vup_on (kind 'up') or its down
      gate to vdn_on ('down') — t_rise_s edges, t_pw_s flat top, the pulse of circuits/lsp_steps.cir —
      and every column with cols[j, s] holds its source line at the programming level (vp = vdd,
      resp. vn = 0); the other columns hold it at the gate's on-level (vp = vup_on, resp. vn = vdn_on),
      so a half-selected cell sees V_GS = 0. A cell therefore gets one pulse per coincidence.
    * ``{'op': 'hold', 't_s': T}``: nothing is driven for T seconds (leakage).
    * ``{'op': 'reset', 'v_line_V': V, 'rows_V': v}``: transmission-gate reset of every cell to the line
      level V, the sequence of circuits/lsp_reset.cir (lines at V from 5 ns, gates on from 20 ns for trst =
      100 ns with tedge = 10-ns edges, lines back at tseg/2 = 150 ns, tseg = 300 ns in all); the rows idle at
      0 V, or at v (e.g. V_read, the bias of the reset bench's read-FET drain) until tseg − 10 ns if 'rows_V'
      is given.

    rows_t0_V: level of the read lines at t = 0, where vc0 is held: v_read_V states V_C in the convention of
    the bundle's benches (read-FET drain at V_read; the storage node couples to the drain, so V_C is
    ~3 mV lower while the row idles at 0 V). A first 'read' step keeps the rows there until its end.

    Returns (text, info): info['steps'][k] = {'op', 't_start', 't_end', and for reads 't_read'} (s).
    Saved vectors: ``vc_<i>_<j>`` (V_C), ``i(vsg_<i>_<j>)``, ``i(vsr_<j>)`` (reference of column j).
    """
    vc = np.asarray(vc, dtype=float)
    if vc.ndim != 2:
        raise ValueError(f"vc must be (rows, columns), got shape {vc.shape}")
    n_rows, n_cols = vc.shape
    fx_text, names = fixed_draw_library()
    for what, draws, shape in (("cell", cell, vc.shape), ("ref", ref, (n_cols,))):
        need = names["lsp_3t1c" if what == "cell" else "lsp_ref"]
        bad = [n for n in need if n not in draws or np.shape(draws[n]) != shape]
        if bad:
            raise ValueError(f"{what} draws: {bad[0]} missing or not of shape {shape}")
    lv = lsp_levels()
    v_read_V = lv.v_read_V if v_read_V is None else v_read_V
    t_pw_s = lv.t_pw_s if t_pw_s is None else t_pw_s
    t_rise_s = lv.t_rise_s if t_rise_s is None else t_rise_s
    L = dataclasses.asdict(lv)
    # reset timing of circuits/lsp_reset.cir: lines move at 5 ns (its 'win' source), gates on at 20 ns (its 'rst'
    # source) for trst with edges tedge, lines back at tseg/2, the segment ends at tseg
    r_on, r_edge, r_seg = lv.reset_on_s, lv.reset_edge_s, lv.reset_seg_s
    rd = [Wave(rows_t0_V) for _ in range(n_rows)]
    rref = Wave(rows_t0_V)
    upb = [Wave(L["vup_off_V"]) for _ in range(n_rows)]
    dn = [Wave(L["vdn_off_V"]) for _ in range(n_rows)]
    vp = [Wave(L["vdd_V"]) for _ in range(n_cols)]
    vn = [Wave(0.0) for _ in range(n_cols)]
    t = 2e-9
    if rows_t0_V and (not steps or steps[0].get("op") != "read"):
        for w in rd + [rref]:
            w.set(1e-9, 0.0, 1e-9)
    info_steps = []
    breaks = []
    for k, st in enumerate(steps):
        op = st.get("op")
        rec = {"op": op, "t_start": t}
        if op == "read":
            for w in rd + [rref]:
                w.set(t, v_read_V, 1e-9)
            rec["t_read"] = t + t_read_s
            for w in rd + [rref]:
                w.set(t + t_read_s + 1e-9, 0.0, 1e-9)
            t += t_read_s + 5e-9
        elif op == "update":
            kind, rows, cols = st.get("kind"), np.asarray(st.get("rows"), bool), np.asarray(st.get("cols"), bool)
            if kind not in ("up", "down") or rows.ndim != 2 or rows.shape[0] != n_rows or cols.shape != (n_cols, rows.shape[1]):
                raise ValueError(f"step {k} (update): need kind 'up'|'down', rows (R, S) and cols (C, S) boolean arrays")
            gate, g_on = (upb, L["vup_on_V"]) if kind == "up" else (dn, L["vdn_on_V"])
            g_off = gate[0].level
            line, l_prog = (vp, L["vdd_V"]) if kind == "up" else (vn, 0.0)
            l_hold = line[0].level if n_cols else l_prog
            l_unsel = g_on
            for s in range(rows.shape[1]):
                ts = t + s * t_slot_s
                for j in range(n_cols):
                    line[j].set(ts, l_prog if cols[j, s] else l_unsel, 1e-9)
                for i in range(n_rows):
                    if rows[i, s]:
                        gate[i].set(ts + 4e-9, g_on, t_rise_s)
                        gate[i].set(ts + 4e-9 + t_rise_s + t_pw_s, g_off, t_rise_s)
                for j in range(n_cols):
                    line[j].set(ts + 6e-9 + 2 * t_rise_s + t_pw_s, l_hold, 1e-9)
            t += rows.shape[1] * t_slot_s + 20e-9
        elif op == "hold":
            t_hold = float(st.get("t_s", -1))
            if not (np.isfinite(t_hold) and t_hold > 0):
                raise ValueError(f"step {k} (hold): t_s must be > 0 s")
            t += t_hold
            breaks.append(t_hold)
        elif op == "reset":
            v_line = float(st.get("v_line_V", 0.5))
            v_rows = float(st.get("rows_V", 0.0))
            if v_rows:
                for w in rd + [rref]:
                    w.set(t, v_rows, 1e-9)
            for w in vp + vn:
                w.set(t + 5e-9, v_line, 5e-9)
            for w in upb:
                w.set(t + 20e-9, L["vdn_off_V"], r_edge)
                w.set(t + 20e-9 + r_edge + r_on, L["vup_off_V"], r_edge)
            for w in dn:
                w.set(t + 20e-9, L["vup_off_V"], r_edge)
                w.set(t + 20e-9 + r_edge + r_on, L["vdn_off_V"], r_edge)
            for w in vp:
                w.set(t + r_seg / 2, L["vdd_V"], 5e-9)
            for w in vn:
                w.set(t + r_seg / 2, 0.0, 5e-9)
            if v_rows:
                for w in rd + [rref]:
                    w.set(t + r_seg - 10e-9, 0.0, 1e-9)
            t += r_seg
        else:
            raise ValueError(f"step {k}: unknown op {op!r}; expected read, update, hold or reset")
        rec["t_end"] = t
        info_steps.append(rec)
    lines = [f"pycosim 3T1C cells of a {n_rows}x{n_cols} crossbar (pycosim.validation.netlists.sequences.write_cell_sequence)",
             ".option gmin=1e-18", *INCLUDES, fx_text, f"vsup vdd 0 {num(L['vdd_V'])}", rref.line("vrref", "rref")]
    lines += [rd[i].line(f"vrd{i}", f"rd{i}") for i in range(n_rows)]
    lines += [upb[i].line(f"vupb{i}", f"upb{i}") for i in range(n_rows)] + [dn[i].line(f"vdn{i}", f"dn{i}") for i in range(n_rows)]
    lines += [vp[j].line(f"vvp{j}", f"vp{j}") for j in range(n_cols)] + [vn[j].line(f"vvn{j}", f"vn{j}") for j in range(n_cols)]
    for i in range(n_rows):
        for j in range(n_cols):
            params = {"vc0": vc[i, j], **{n: cell[n][i, j] for n in names["lsp_3t1c"]}}
            lines.append(instance_line(f"xg_{i}_{j}", (f"rd{i}", f"ns_{i}_{j}", f"vc_{i}_{j}", f"upb{i}", f"dn{i}", f"vp{j}",
                                                   f"vn{j}", "vdd", "0"), "lsp_3t1c_fx", params))
            lines.append(f"vsg_{i}_{j} ns_{i}_{j} 0 0")
    for j in range(n_cols):
        lines.append(instance_line(f"xr{j}", ("rref", f"nr{j}"), "lsp_ref_fx",
                               {"vref": vref_gate_V, **{n: ref[n][j] for n in names["lsp_ref"]}}))
        lines.append(f"vsr{j} nr{j} 0 0")
    saves = [f"v(vc_{i}_{j})" for i in range(n_rows) for j in range(n_cols)]
    saves += [f"i(vsg_{i}_{j})" for i in range(n_rows) for j in range(n_cols)] + [f"i(vsr{j})" for j in range(n_cols)]
    t_stop = t + 1e-9
    tmax = max([t_max_step_s] + [b / 50 for b in breaks])
    lines += [".save " + " ".join(saves), f".tran {num(min(tmax, t_max_step_s) / 5)} {num(t_stop)} 0 {num(tmax)}", ".end"]
    return "\n".join(lines) + "\n", {"steps": info_steps}


def write_pcm_program(xc0, age0_s, draws: dict, actions, *, v_read_V: float | None = None) -> tuple[str, dict]:
    """N independent PCM 1T1R cells (``pcm_1t1r_fx``, each with its own bit and word line) through S
    periods of tper (circuits/pcm_set_staircase.cir, 1 µs), with a read of every cell at the start of each period and at the end.

    Period s of cell k carries actions[k, s]: PCM_NONE (read bias only), PCM_SET (the partial-SET pulse
    of circuits/pcm_set_staircase.cir: bit line to vset for tset, word line to vg_set, centred in the
    period) or PCM_RESET (the melt-quench pulse of circuits/pcm_reset.cir, centred; levels and widths
    :func:`pycosim.validation.netlists.levels.pcm_pulses`). Between pulses the bit line is at the read
    voltage (v_read_V, default the staircase bench's vread, 0.1 V) with the word line at vg_read, so
    G_k(t_s) = I_cell/(V(bl) − V(d)) at t_s = s·tper (s = 0 … S) is the bench's read
    (G after s periods, the access-FET drop excluded). Solver settings of the staircase bench
    (reltol 3e-3, maximum step tper/4).

    xc0, age0_s: (N,) initial crystalline fraction (-) and drift clock (s); draws: ``pcm_1t1r_fx``
    parameter name → (N,) (the zc draws of each device rotated by the caller to its event count).
    Returns (text, info): info['t_read'] (S + 1,) (s). Saved: ``i(vbl<k>)``, ``v(bl<k>)``,
    ``v(xp<k>.d)`` and the state nodes ``v(xp<k>.xpcm.xc)``, ``…age``, ``…cs`` (event counter).
    """
    P = dataclasses.asdict(pcm_pulses())
    xc0 = np.asarray(xc0, float)
    n = xc0.shape[0]
    age0 = np.broadcast_to(np.asarray(age0_s, float), (n,))
    act = np.asarray(actions, int).reshape(n, -1)
    fx_text, names = fixed_draw_library()
    bad = [d for d in names["pcm_1t1r"] if d not in draws or np.shape(draws[d]) != (n,)]
    if bad:
        raise ValueError(f"pcm draws: {bad[0]} missing or not of shape ({n},)")
    vr = P["vread_V"] if v_read_V is None else float(v_read_V)
    tper, n_per = P["tper_s"], act.shape[1]
    lines = [f"pycosim PCM program ({n} cells, {n_per} periods; pycosim.validation.netlists.sequences.write_pcm_program)",
             ".options reltol=3e-3", *INCLUDES, fx_text]
    saves = []
    for k in range(n):
        bl, wl = Wave(vr), Wave(P["vg_read_V"])
        for s in range(n_per):
            if act[k, s] == PCM_SET:
                t_a = (s + 0.5) * tper - P["tset_s"] / 2 - P["tr_set_s"]
                bl.set(t_a, P["vset_V"], P["tr_set_s"])
                bl.set(t_a + P["tr_set_s"] + P["tset_s"], vr, P["tr_set_s"])
                wl.set(t_a, P["vg_set_V"], 1e-9)
                wl.set(t_a + 1e-9 + P["tset_s"] + 2 * P["tr_set_s"] - 1e-9, P["vg_read_V"], 1e-9)
            elif act[k, s] == PCM_RESET:
                t_a = (s + 0.5) * tper - P["treset_s"] / 2 - P["tr_reset_s"]
                wl.set(t_a - 5e-9, P["vg_reset_V"], 1e-9)
                bl.set(t_a, P["vreset_V"], P["tr_reset_s"])
                bl.set(t_a + P["tr_reset_s"] + P["treset_s"], vr, P["tq_reset_s"])
                wl.set(t_a + P["tr_reset_s"] + P["treset_s"] + P["tq_reset_s"] + 5e-9, P["vg_read_V"], 1e-9)
            elif act[k, s] != PCM_NONE:
                raise ValueError(f"actions[{k}, {s}] = {act[k, s]}: expected PCM_NONE, PCM_SET or PCM_RESET")
        params = {"xc0": xc0[k], "age0": age0[k], **{d: draws[d][k] for d in names["pcm_1t1r"]}}
        lines += [bl.line(f"vbl{k}", f"bl{k}"), wl.line(f"vwl{k}", f"wl{k}"),
                  instance_line(f"xp{k}", (f"bl{k}", f"wl{k}", "0"), "pcm_1t1r_fx", params)]
        saves += [f"i(vbl{k})", f"v(bl{k})", f"v(xp{k}.d)", f"v(xp{k}.xpcm.xc)", f"v(xp{k}.xpcm.age)", f"v(xp{k}.xpcm.cs)"]
    t_stop = (n_per + 0.25) * tper
    lines += [".save " + " ".join(saves), f".tran 50n {num(t_stop)} 0 {num(tper / 4)}", ".end"]
    return "\n".join(lines) + "\n", {"t_read": np.arange(n_per + 1) * tper}
