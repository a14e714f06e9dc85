"""Netlist generator for a small 2PCM+3T1C crossbar with per-column integrators (SPICE-vs-array checks).

The crossbar follows Ambrogio et al., *Nature* 558, 60-67 (2018), Fig. 1-2: every synapse holds
``W = F*(G+ - G-) + pol*(g - g_shared)`` (two PCM devices, one 3T1C cell against a shared reference;
``netlists/synapse.lib``); the rows carry pulse-width-encoded read pulses (amplitude ``V_read``,
duration ``t_i`` proportional to the activation) and each column pair (colp, coln) is integrated on
two capacitors (``netlists/integrator.lib``), so after the read

    Q_p,j - Q_n,j = sum_i W_ij * V_read * t_i                      (C)
    dV_j = V_out,p,j - V_out,n,j = -(Q_p,j - Q_n,j) / C_int       (V)

(the integrators' virtual grounds are at 0 V, so each output falls by its charge / C_int).
W_ij (S) is the read conductance combination at the read voltage used (``V_read``, default 0.1 V; the
3T1C read FET's conductance depends on V_DS, see ``netlists/synapse.lib``).

Use :func:`write_crossbar` to get the netlist text, then :func:`pycosim.spice.run` it; the text's
``.meas`` results are ``vp<j>``, ``vn<j>`` (integrator outputs at read-out, V) and ``dv<j>`` (their
difference, V) for every column j = 0..C-1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LIBRARIES = ("cmos.lib", "pcm.lib", "lsp_3t1c.lib", "integrator.lib", "synapse.lib")


def _as_grid(name: str, a, shape: tuple[int, int] | None, lo: float, hi: float) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if shape is None:
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"{name} must be a 2-D array (rows x columns) with at least one cell, got shape {arr.shape}")
    else:
        try:
            arr = np.broadcast_to(arr, shape)
        except ValueError:
            raise ValueError(f"{name} has shape {arr.shape}, which does not broadcast to the crossbar shape {shape}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{name} must lie in [{lo}, {hi}]; {name}{list(idx)} = {arr[idx]!r}")
    return arr


def _num(x: float) -> str:
    """SPICE number text with 12 significant digits (round-trips the values used here)."""
    return f"{float(x):.12g}"


def write_crossbar(
    xcp,
    xcm,
    vc,
    *,
    F: float = 3.0,
    pol=1,
    t_read_s,
    v_read_V: float = 0.1,
    vref_gate_V: float = 0.5,
    cint_F: float = 2e-12,
    v_rail_V: float = 1.2,
    vdd_V: float = 1.2,
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
        dn = -0.3 V, the cell's hold levels); the read lasts t0 .. t0 + max(t_i), and the
        outputs are read out t_settle_s later.
    Expected (linear devices):  dV_j = V_out,p - V_out,n = -sum_i W_ij * v_read_V * t_read_s[i] / cint_F.

    Args:
        xcp, xcm: (R, C) initial crystalline fractions of the G+ / G- PCM devices, in [0, 1] (-).
        vc: (R, C) initial 3T1C capacitor voltages, in [0, vdd_V] (V).
        F: significance gain of the PCM pair (> 0, -).
        pol: polarity +1/-1 of the 3T1C pair, a scalar or an array broadcastable to (R, C).
        t_read_s: (R,) read-pulse durations (s), each 0 or >= t_step_s.
        v_read_V: read-pulse amplitude (V), 0 < v_read_V <= 0.3 (the read FETs stay in the linear
            region and the PCM is read below any programming threshold).
        vref_gate_V: gate voltage of the shared-reference read FET (V).
        cint_F: integration capacitance (F).   v_rail_V: integrator output rails +-v_rail_V (V).
        vdd_V: 3T1C programming supply (V).     mc: mismatch multiplier of every device AND of the
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
    xcp = _as_grid("xcp", xcp, None, 0.0, 1.0)
    shape = xcp.shape
    xcm = _as_grid("xcm", xcm, shape, 0.0, 1.0)
    vc = _as_grid("vc", vc, shape, 0.0, vdd_V)
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
    scalars = dict(F=F, v_read_V=v_read_V, cint_F=cint_F, v_rail_V=v_rail_V, vdd_V=vdd_V, a0=a0, gbw_Hz=gbw_Hz,
                   t_edge_s=t_edge_s, t_reset_s=t_reset_s, t_settle_s=t_settle_s, t_step_s=t_step_s)
    for name, val in scalars.items():
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {val!r}")
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
        f"vrow{i} row{i} 0 pulse(0 {_num(v_read_V)} {_num(t0)} {_num(e)} {_num(e)} {_num(ti - e)} 1)"
        if ti > 0 else f"vrow{i} row{i} 0 0"
        for i, (ti, e) in enumerate(zip(t, edge))
    ]
    cells = [
        f"xs_{i}_{j} row{i} colp{j} coln{j} upb dn vp vn vdd 0 synapse F={_num(F)} xcp={_num(xcp[i, j])} "
        f"xcm={_num(xcm[i, j])} vc0={_num(vc[i, j])} vref={_num(vref_gate_V)} pol={int(pol_arr[i, j])} mc={{mc}}"
        for i in range(n_rows) for j in range(n_cols)
    ]
    integ = f"rst vref integrator cint={_num(cint_F)} a0={_num(a0)} gbw={_num(gbw_Hz)} vlo={_num(-v_rail_V)} vhi={_num(v_rail_V)} mc={{mc}}"
    cols = [line for j in range(n_cols) for line in (f"xip{j} colp{j} outp{j} {integ}", f"xin{j} coln{j} outn{j} {integ}")]
    meas = [line for j in range(n_cols) for line in (
        f".meas tran vp{j} FIND v(outp{j}) AT={_num(t_end)}",
        f".meas tran vn{j} FIND v(outn{j}) AT={_num(t_end)}",
        f".meas tran dv{j} PARAM='vp{j} - vn{j}'",
    )]
    header = [
        title,
        "* generated by pycosim.spice.crossbar.write_crossbar (Ambrogio et al., Nature 558, 60-67 (2018))",
        f"* {n_rows} rows x {n_cols} columns; W = F*(G+ - G-) + pol*(g - g_shared); V_read = {v_read_V} V",
        f"* expected: dv<j> = -sum_i W_ij * V_read * t_i / C_int, C_int = {cint_F} F; read-out at t = {t_end} s",
        f".param mc={_num(mc)}  ; -, mismatch multiplier of every device (0 = nominal)",
        "* one OpenMP thread for the BSIM4 device loading: on a loaded 2-core machine ngspice's default",
        "* multi-threaded loading was measured ~100x slower for this small circuit (thread contention)",
        ".options num_threads=1",
        *[f".include {inc(lib)}" for lib in LIBRARIES],
        f"vsup vdd 0 {_num(vdd_V)}",
        "* 3T1C hold: source lines at vdd / 0, gates 0.3 V beyond the rails (netlists/lsp_3t1c.lib)",
        f"vvp vp 0 {_num(vdd_V)}",
        "vvn vn 0 0",
        f"vupb upb 0 {_num(vdd_V + 0.3)}",
        "vdn dn 0 -0.3",
        "vvref vref 0 0",
        f"vrst rst 0 pwl(0 {_num(vdd_V)} {_num(t_reset_s)} {_num(vdd_V)} {_num(t_reset_s + 1e-9)} 0)",
    ]
    footer = [f".tran {_num(t_step_s)} {_num(t_end)} 0 {_num(t_step_s)}", *meas, ".end"]
    text = "\n".join(header + rows + cells + cols + footer) + "\n"
    if path is not None:
        Path(path).write_text(text)
    return text
