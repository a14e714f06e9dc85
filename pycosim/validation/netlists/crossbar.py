"""Crossbar read netlists: a 2PCM+3T1C crossbar with PWM-driven lines and line integrators.

The crossbar follows Ambrogio et al., *Nature* 558, 60-67 (2018), Fig. 1-2: every synapse holds
``W = F*(G+ - G-) + pol*(g - g_shared)`` (two PCM devices, one 3T1C cell against a shared reference;
``netlists/synapse.lib``); the rows carry pulse-width-encoded read pulses (amplitude ``V_read``,
duration ``t_i`` proportional to the activation) and each column pair (colp, coln) is integrated on
two capacitors (``netlists/integrator.lib``), so after the read

    Q_p,j - Q_n,j = sum_i W_ij * V_read * t_i                      (C)
    dV_j = V_out,p,j - V_out,n,j = -(Q_p,j - Q_n,j) / C_int       (V)

(the integrators' virtual grounds are at 0 V, so each output falls by its charge / C_int).
W_ij (S) is the read conductance combination at the read voltage used (``V_read``, default the bench
read voltage, circuits/lsp_read_gv.cir ``vread`` = 0.1 V; the 3T1C read FET's conductance depends on
V_DS, see ``netlists/synapse.lib``).

* :func:`write_crossbar`: one read of nominal or Monte Carlo cells of ``netlists/synapse.lib``; its
  ``.meas`` results are ``vp<j>``, ``vn<j>`` (integrator outputs at read-out, V) and ``dv<j>`` (their
  difference, V) for every column j = 0..C-1;
* :func:`write_read_sequence`: forward or transposed reads of a crossbar of given device instances
  (:class:`pycosim.validation.netlists.instance_set.CrossbarInstances`), the ``_fx`` cells of
  :mod:`pycosim.validation.netlists.library`.

The 3T1C hold levels (supply, gate-off levels) are those of circuits/lsp_steps.cir and the integrators'
reset logic level that of circuits/integrator_pwm.cir (:mod:`pycosim.validation.netlists.levels`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pycosim.validation.netlists.common import INCLUDES, Wave, as_grid, check_positive, instance_line, num, pwm_pulse
from pycosim.validation.netlists.instance_set import CrossbarInstances
from pycosim.validation.netlists.levels import integrator_logic_V, lsp_levels
from pycosim.validation.netlists.library import fixed_draw_library

LIBRARIES = ("cmos.lib", "pcm.lib", "lsp_3t1c.lib", "integrator.lib", "synapse.lib")


def write_crossbar(
    xcp,
    xcm,
    vc,
    *,
    F: float = 3.0,
    pol=1,
    t_read_s,
    v_read_V: float | None = None,
    vref_gate_V: float = 0.5,
    cint_F: float = 2e-12,
    v_rail_V: float = 1.2,
    vdd_V: float | None = None,
    mc: float = 1.0,
    a0: float = 1e5,
    gbw_Hz: float = 1e9,
    t_edge_s: float = 1e-9,
    t_reset_s: float = 10e-9,
    t_settle_s: float = 20e-9,
    t_step_s: float = 0.5e-9,
    include_dir: str | Path | None = None,
    title: str = "pycosim crossbar read (2PCM+3T1C synapses, PWM rows, column-pair integrators)",
    path: str | Path | None = None,
) -> str:
    """Netlist text of an R x C crossbar read with pulse-width-encoded rows and column-pair integrators.

    Circuit (Ambrogio et al., Nature 558, 60-67 (2018)):
      * synapse (i, j) = ``netlists/synapse.lib`` instance ``xs_i_j`` between row ``row<i>`` and the
        columns ``colp<j>``/``coln<j>``: W_ij = F*(G+_ij - G-_ij) + pol_ij*(g_ij - g_shared) (S);
      * row driver i: 0 V, pulsed to ``v_read_V`` at t0 = t_reset_s + 10 ns for ``t_read_s[i]``
        (trapezoid with edges min(t_edge_s, t_i) and a flat top t_i - edge, so its area is exactly
        V_read*t_i; t_i = 0 leaves the row at 0 V);
      * column integrators ``xip<j>``/``xin<j>`` (``netlists/integrator.lib``), virtual ground 0 V,
        rails -v_rail_V/+v_rail_V, reset closed until t_reset_s;
      * 3T1C programming FETs held off (source lines vp = vdd, vn = 0; gates upb = vdd + 0.3 V,
        dn = -0.3 V: the hold levels vup_off, vdn_off of circuits/lsp_steps.cir); the read lasts
        t0 .. t0 + max(t_i), and the
        outputs are read out t_settle_s later.
    Expected (linear devices):  dV_j = V_out,p - V_out,n = -sum_i W_ij * v_read_V * t_read_s[i] / cint_F.

    Args:
        xcp, xcm: (R, C) initial crystalline fractions of the G+ / G- PCM devices, in [0, 1] (-).
        vc: (R, C) initial 3T1C capacitor voltages, in [0, vdd_V] (V).
        F: significance gain of the PCM pair (> 0, -).
        pol: polarity +1/-1 of the 3T1C pair, a scalar or an array broadcastable to (R, C).
        t_read_s: (R,) read-pulse durations (s), each 0 or >= t_step_s.
        v_read_V: read-pulse amplitude (V), 0 < v_read_V <= 0.3 (the read FETs stay in the linear
            region and the PCM is read below any programming threshold); default circuits/lsp_read_gv.cir
            ``vread``.
        vref_gate_V: gate voltage of the shared-reference read FET (V).
        cint_F: integration capacitance (F).   v_rail_V: integrator output rails +-v_rail_V (V).
        vdd_V: 3T1C programming supply (V; default circuits/lsp_steps.cir ``vdd``).     mc: mismatch multiplier of every device AND of the
            integrators' offset / C_int spread (0 = nominal); it is a top-level ``.param mc`` of the
            netlist, overridable at run time (``run(text, params={"mc": 0})``).
        a0, gbw_Hz: op-amp DC gain (V/V) and gain-bandwidth product (Hz).
        t_edge_s, t_reset_s, t_settle_s, t_step_s: pulse edge, reset, settling and print step times (s).
        include_dir: directory written into the ``.include`` lines; ``None`` writes ``netlists/<lib>``,
            which :func:`pycosim.spice.run` resolves to the shipped libraries (for a bare
            ``ngspice -b`` run give an absolute directory, e.g. ``resource_path("netlists")``).
        title: first (title) line of the netlist.
        path: if given, the text is also written to this file.

    Returns:
        The netlist text (str). ``.meas`` names: ``vp<j>``, ``vn<j>``, ``dv<j>`` (V).

    Raises:
        ValueError: shapes that do not match, values out of range, non-finite numbers.
    """
    L = lsp_levels()
    v_read_V = L.v_read_V if v_read_V is None else v_read_V
    vdd_V = L.vdd_V if vdd_V is None else vdd_V
    xcp = as_grid("xcp", xcp, None, 0.0, 1.0)
    shape = xcp.shape
    xcm = as_grid("xcm", xcm, shape, 0.0, 1.0)
    vc = as_grid("vc", vc, shape, 0.0, vdd_V)
    try:
        pol_arr = np.broadcast_to(np.asarray(pol), shape)
    except ValueError:
        raise ValueError(f"pol has shape {np.shape(pol)}, which does not broadcast to the crossbar shape {shape}") from None
    if not np.all(np.isin(pol_arr, (1, -1))):
        raise ValueError(f"pol must be +1 or -1 (scalar or per synapse), got values {np.unique(pol_arr).tolist()}")
    n_rows, n_cols = shape
    t = np.asarray(t_read_s, dtype=float)
    if t.shape != (n_rows,):
        raise ValueError(f"t_read_s must have one duration per row, shape ({n_rows},), got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"t_read_s must be finite and >= 0 s, got {t.tolist()}")
    if np.any((t > 0) & (t < t_step_s)):
        raise ValueError(f"non-zero read durations must be >= t_step_s = {t_step_s} s, got {t.tolist()}")
    check_positive(F=F, v_read_V=v_read_V, cint_F=cint_F, v_rail_V=v_rail_V, vdd_V=vdd_V, a0=a0, gbw_Hz=gbw_Hz,
                    t_edge_s=t_edge_s, t_reset_s=t_reset_s, t_settle_s=t_settle_s, t_step_s=t_step_s)
    if v_read_V > 0.3:
        raise ValueError(f"v_read_V = {v_read_V} V is above 0.3 V: the read FETs would leave the linear region "
                         "and the PCM read could disturb the device")
    if not (np.isfinite(mc) and mc >= 0):
        raise ValueError(f"mc must be >= 0, got {mc!r}")
    if not np.isfinite(vref_gate_V) or not (0 <= vref_gate_V <= vdd_V):
        raise ValueError(f"vref_gate_V must lie in [0, vdd_V = {vdd_V}] V, got {vref_gate_V!r}")

    t0 = t_reset_s + 10e-9
    t_end = t0 + float(t.max()) + t_settle_s
    inc = (lambda lib: f"netlists/{lib}") if include_dir is None else (lambda lib: str(Path(include_dir) / lib))
    edge = np.minimum(t, t_edge_s)
    rows = [
        f"vrow{i} row{i} 0 pulse(0 {num(v_read_V)} {num(t0)} {num(e)} {num(e)} {num(ti - e)} 1)"
        if ti > 0 else f"vrow{i} row{i} 0 0"
        for i, (ti, e) in enumerate(zip(t, edge))
    ]
    cells = [
        f"xs_{i}_{j} row{i} colp{j} coln{j} upb dn vp vn vdd 0 synapse F={num(F)} xcp={num(xcp[i, j])} "
        f"xcm={num(xcm[i, j])} vc0={num(vc[i, j])} vref={num(vref_gate_V)} pol={int(pol_arr[i, j])} mc={{mc}}"
        for i in range(n_rows) for j in range(n_cols)
    ]
    integ = f"rst vref integrator cint={num(cint_F)} a0={num(a0)} gbw={num(gbw_Hz)} vlo={num(-v_rail_V)} vhi={num(v_rail_V)} mc={{mc}}"
    cols = [line for j in range(n_cols) for line in (f"xip{j} colp{j} outp{j} {integ}", f"xin{j} coln{j} outn{j} {integ}")]
    meas = [line for j in range(n_cols) for line in (
        f".meas tran vp{j} FIND v(outp{j}) AT={num(t_end)}",
        f".meas tran vn{j} FIND v(outn{j}) AT={num(t_end)}",
        f".meas tran dv{j} PARAM='vp{j} - vn{j}'",
    )]
    header = [
        title,
        "* generated by pycosim.validation.netlists.crossbar.write_crossbar (Ambrogio et al., Nature 558, 60-67 (2018))",
        f"* {n_rows} rows x {n_cols} columns; W = F*(G+ - G-) + pol*(g - g_shared); V_read = {v_read_V} V",
        f"* expected: dv<j> = -sum_i W_ij * V_read * t_i / C_int, C_int = {cint_F} F; read-out at t = {t_end} s",
        f".param mc={num(mc)}  ; -, mismatch multiplier of every device (0 = nominal)",
        "* one OpenMP thread for the BSIM4 device loading: on a loaded 2-core machine ngspice's default",
        "* multi-threaded loading was measured ~100x slower for this small circuit (thread contention)",
        ".options num_threads=1",
        *[f".include {inc(lib)}" for lib in LIBRARIES],
        f"vsup vdd 0 {num(vdd_V)}",
        "* 3T1C hold: source lines at vdd / 0, gates beyond the rails (circuits/lsp_steps.cir vup_off, vdn_off)",
        f"vvp vp 0 {num(vdd_V)}",
        "vvn vn 0 0",
        f"vupb upb 0 {num(vdd_V + (L.vup_off_V - L.vdd_V))}",
        f"vdn dn 0 {num(L.vdn_off_V)}",
        "vvref vref 0 0",
        f"vrst rst 0 pwl(0 {num(vdd_V)} {num(t_reset_s)} {num(vdd_V)} {num(t_reset_s + 1e-9)} 0)",
    ]
    footer = [f".tran {num(t_step_s)} {num(t_end)} 0 {num(t_step_s)}", *meas, ".end"]
    text = "\n".join(header + rows + cells + cols + footer) + "\n"
    if path is not None:
        Path(path).write_text(text)
    return text


def write_read_sequence(
    inst: CrossbarInstances,
    durations_s,
    *,
    direction: str = "forward",
    F: float = 3.0,
    v_read_V: float | None = None,
    vref_gate_V: float = 0.5,
    cint_F: float = 1e-12,
    a0: float = 1e5,
    gbw_Hz: float = 1e9,
    v_rail_V: float = 4.0,
    r_wire_ohm: float = 0.0,
    t_edge_s: float = 1e-9,
    t_reset_s: float = 10e-9,
    t_settle_s: float = 5e-9,
    t_step_s: float = 0.5e-9,
    drive_t0_V: float = 0.0,
    method: str = "gear",
    read_circuit: str = "colread",
) -> tuple[str, dict]:
    """A sequence of pulse-width-modulated reads of a crossbar of given instances, with the column read.

    Synapse (i, j) (Ambrogio et al., Nature 558, 60-67 (2018); netlists/synapse.lib with the devices
    of *inst*): G⁺ between row i and colp j, G⁻ between row i and coln j, the 3T1C read FET between
    row i and colp j (pol = +1) or coln j (pol = −1), the column's reference FET (gate at vref_gate_V)
    between row i and the other column line. Every device's row-side terminal is the drain during a
    read and its source sits at a virtual ground at 0 V, the bias of the bundle's g(V_C) table.
    The gain F of the PCM pair is an ideal current mirror on the *integrating* side: a 0-V sense source
    at the PCM's integrating end and a CCCS adding (F − 1)·I_PCM there.

      forward:     rows driven (R lines); read_circuit 'colread' (default): one column read per pair
                   (``colread`` of netlists/integrator.lib: conveyors on colp j and coln j, mirror copies
                   subtracted before one integrator), ΔV(outc j) = −V_read·Σ_i t_i·W_ij / C_int;
                   'integrator': the former single-ended integrator per line (colp j, coln j),
                   ΔV(outp j) − ΔV(outn j) = −V_read·Σ_i t_i·W_ij / C_int
      transposed:  column lines driven (durations (P, 2, C): [:, 0] colp, [:, 1] coln), one read per row
                   (colread: the row line on the plus input, the minus input at 0 V; or one integrator);
                   ΔV(outr i) = −V_read·Σ_j (t_p,j·W⁺_ij + t_n,j·W⁻_ij)/C_int

    Each phase p: integrators reset (switch closed) for t_reset_s, the driven lines pulse from 0 to
    v_read_V for durations_s[p] (trapezoids of area V_read·t), outputs read at info['t_end'][p]; a
    signed read is two phases (positive and negative contributions), subtracted by the caller. Lines
    have r_wire_ohm per cell pitch (0 = ideal wires; drivers and integrators at row end j = 0 and
    column end i = R − 1). Read circuits: netlists/integrator.lib, nominal (mc = 0), rails ±v_rail_V,
    virtual ground 0 V (the column read's mirrors draw from the 3T1C supply node vdd).
    drive_t0_V: level of the driven lines at t = 0 (back to 0 V by t = 2 ns): the 3T1C storage node couples
    to the read FET's terminals, so vc0 (held at t = 0) is the V_C at that bias — drive_t0_V = v_read_V
    gives the convention of the bundle's benches (read-FET drain held at V_read). method: ngspice
    integration method ('gear': the trapezoidal rule stopped with "timestep too small" at PWL corners).

    Returns (text, info): info['t_on'], info['t_end'] (P,) times (s) of pulse start and read-out, and
    info['outputs'] the saved output nodes: forward ['outc0', …] (colread) or [('outp0', 'outn0'), …]
    (integrator), transposed ['outr0', …].
    """
    if direction not in ("forward", "transposed"):
        raise ValueError(f"direction={direction!r}: expected 'forward' or 'transposed'")
    if read_circuit not in ("colread", "integrator"):
        raise ValueError(f"read_circuit={read_circuit!r}: expected 'colread' or 'integrator'")
    v_read_V = lsp_levels().v_read_V if v_read_V is None else v_read_V
    n_rows, n_cols = inst.shape
    d = np.asarray(durations_s, dtype=float)
    want = (n_rows,) if direction == "forward" else (2, n_cols)
    if d.ndim != 1 + len(want) or d.shape[1:] != want:
        raise ValueError(f"durations_s must have shape (phases,) + {want} for a {direction} read, got {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("durations_s must be finite and >= 0 s")
    check_positive(F=F, v_read_V=v_read_V, cint_F=cint_F, a0=a0, gbw_Hz=gbw_Hz, v_rail_V=v_rail_V, t_edge_s=t_edge_s,
                    t_reset_s=t_reset_s, t_settle_s=t_settle_s, t_step_s=t_step_s)
    if not (np.isfinite(r_wire_ohm) and r_wire_ohm >= 0):
        raise ValueError(f"r_wire_ohm must be >= 0, got {r_wire_ohm!r}")
    fx_text, names = fixed_draw_library()
    wired = r_wire_ohm > 0
    row = (lambda i, j: f"row{i}_{j}") if wired else (lambda i, j: f"row{i}")
    col = (lambda s, j, i: f"col{s}{j}_{i}") if wired else (lambda s, j, i: f"col{s}{j}")
    row_end = (lambda i: f"rowe{i}") if wired else (lambda i: f"row{i}")
    col_end = (lambda s, j: f"col{s}e{j}") if wired else (lambda s, j: f"col{s}{j}")

    n_ph = d.shape[0]
    t_max = float(d.max()) if d.size else 0.0
    period = t_reset_s + 2e-9 + t_max + t_edge_s + t_settle_s + 1e-9
    t0 = np.arange(n_ph) * period
    t_on = t0 + t_reset_s + 2e-9
    t_end = t0 + period - 1e-9
    L = lsp_levels()
    vdd = integrator_logic_V()          # reset control's logic level (circuits/integrator_pwm.cir vdd)
    rst = Wave(vdd)
    for p in range(n_ph):
        rst.set(t0[p] + t_reset_s, 0.0, 0.5e-9)
        if p + 1 < n_ph:
            rst.set(t0[p + 1] - 0.5e-9, vdd, 0.5e-9)
    if method not in ("gear", "trap"):
        raise ValueError(f"method={method!r}: expected 'gear' or 'trap'")
    lines = [f"pycosim crossbar {direction} reads ({n_rows}x{n_cols}, {n_ph} phases; pycosim.validation.netlists.crossbar.write_read_sequence)",
             f".option gmin=1e-18 method={method}", *INCLUDES, ".include netlists/integrator.lib", fx_text,
             f"vsup vdd 0 {num(L.vdd_V)}", f"vvp vp 0 {num(L.vdd_V)}", "vvn vn 0 0",
             f"vupb upb 0 {num(L.vup_off_V)}", f"vdn dn 0 {num(L.vdn_off_V)}", rst.line("vrst", "rst")]
    integ = (f"rst 0 integrator cint={num(cint_F)} a0={num(a0)} gbw={num(gbw_Hz)} vlo={num(-v_rail_V)} "
             f"vhi={num(v_rail_V)} mc=0")
    cread = (f"rst 0 vdd colread cint={num(cint_F)} a0={num(a0)} gbw={num(gbw_Hz)} vlo={num(-v_rail_V)} "
             f"vhi={num(v_rail_V)} mc=0")
    col_read = read_circuit == "colread"
    def driver():
        w = Wave(drive_t0_V)
        w.set(1e-9, 0.0, 1e-9)
        return w

    if direction == "forward":
        for i in range(n_rows):
            w = driver()
            for p in range(n_ph):
                pwm_pulse(w, t_on[p], d[p, i], v_read_V, 0.0, t_edge_s)
            lines.append(w.line(f"vrow{i}", row_end(i)))
        for j in range(n_cols):
            if col_read:
                lines.append(f"xcr{j} {col_end('p', j)} {col_end('n', j)} outc{j} {cread}")
            else:
                lines += [f"xip{j} {col_end('p', j)} outp{j} {integ}", f"xin{j} {col_end('n', j)} outn{j} {integ}"]
        outputs = [f"outc{j}" for j in range(n_cols)] if col_read else [(f"outp{j}", f"outn{j}") for j in range(n_cols)]
    else:
        for j in range(n_cols):
            for s, side in enumerate("pn"):
                w = driver()
                for p in range(n_ph):
                    pwm_pulse(w, t_on[p], d[p, s, j], v_read_V, 0.0, t_edge_s)
                lines.append(w.line(f"vcol{side}{j}", col_end(side, j)))
        for i in range(n_rows):
            lines.append(f"xcr{i} {row_end(i)} 0 outr{i} {cread}" if col_read else f"xir{i} {row_end(i)} outr{i} {integ}")
        outputs = [f"outr{i}" for i in range(n_rows)]
    if wired:
        r = num(r_wire_ohm)
        for i in range(n_rows):
            lines += [f"rrow{i}_{j} {row_end(i) if j == 0 else row(i, j - 1)} {row(i, j)} {r}" for j in range(n_cols)]
        for j in range(n_cols):
            for s in "pn":
                lines += [f"rcol{s}{j}_{i} {col(s, j, i)} {col_end(s, j) if i == n_rows - 1 else col(s, j, i + 1)} {r}"
                          for i in range(n_rows)]
    fwd = direction == "forward"
    for i in range(n_rows):
        for j in range(n_cols):
            rn, cp, cn = row(i, j), col("p", j, i), col("n", j, i)
            for k, (tag, cl) in enumerate((("p", cp), ("n", cn))):
                pcm = {"xc0": inst.xc[k, i, j], "age0": inst.age_s[k, i, j]}
                pcm.update({n: inst.pcm[n][k, i, j] for n in names["pcm_dev"]})
                s_node = f"n{tag}_{i}_{j}"
                lines.append(instance_line(f"xg{tag}_{i}_{j}", (rn, s_node) if fwd else (s_node, cl), "pcm_dev_ro_fx", pcm))
                integ_node = cl if fwd else rn
                lines += [f"vs{tag}_{i}_{j} {s_node} {integ_node} 0", f"f{tag}_{i}_{j} 0 {integ_node} vs{tag}_{i}_{j} {num(F - 1)}"]
            c_cell, c_ref = (cp, cn) if inst.pol[j] > 0 else (cn, cp)
            cell = {"vc0": inst.vc[i, j], **{n: inst.cell[n][i, j] for n in names["lsp_3t1c"]}}
            lines.append(instance_line(f"xg_{i}_{j}", (rn, c_cell, f"vc_{i}_{j}", "upb", "dn", "vp", "vn", "vdd", "0"), "lsp_3t1c_fx", cell))
            ref = {"vref": vref_gate_V, **{n: inst.ref[n][j] for n in names["lsp_ref"]}}
            lines.append(instance_line(f"xr_{i}_{j}", (rn, c_ref), "lsp_ref_fx", ref))
    saves = [f"v({n})" for o in outputs for n in (o if isinstance(o, tuple) else (o,))]
    t_stop = float(t_end[-1] + 1e-9) if n_ph else 1e-9
    lines += [".save " + " ".join(saves), f".tran {num(t_step_s / 5)} {num(t_stop)} 0 {num(t_step_s)}", ".end"]
    return "\n".join(lines) + "\n", {"t_on": t_on, "t_end": t_end, "outputs": outputs}

