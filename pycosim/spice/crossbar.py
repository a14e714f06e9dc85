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

Crossbars of given device instances (``pycosim validate``, issue 11). ngspice draws a fresh ``agauss``
value at every *reference* to a Monte Carlo ``.param`` (in element order), so a crossbar netlist cannot
reuse the draws of a bench run with another seed. Instead:

* :func:`fixed_draw_library` derives ``<cell>_fx`` copies of the shipped cells (``lsp_3t1c``,
  ``lsp_ref``, ``pcm_dev``, ``pcm_1t1r`` and the FET wrappers they use) in which every Monte Carlo
  ``.param`` is a subcircuit parameter: the caller passes the drawn values;
* :func:`probe_netlist` / :func:`probe_values` read those values from the *real* cell run with a
  bench's seed (the cell is the first instance, as in every bench): FET ``delvto``/``mulu0`` instance
  parameters, the PCM's drawn-value nodes and its thermal resistance. The PCM cycle-to-cycle draws
  (``zc0`` … ``zc23``, one per programming event) live in a B-source expression that cannot be read
  back; the caller draws them;
* :func:`write_read_sequence` (forward or transposed reads of the full crossbar with line
  integrators), :func:`write_cell_sequence` (3T1C cells: coincident update pulses through the
  programming gates, holds, transmission-gate resets, device reads) and :func:`write_pcm_program`
  (1T1R PCM cells: SET/RESET pulse trains with reads, the ``pcm_set_staircase`` conditions) write
  netlists of such instances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
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


def _check_positive(**values) -> None:
    """ValueError naming the first value that is not a finite number > 0."""
    for name, val in values.items():
        if not (np.isfinite(val) and val > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {val!r}")


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
    _check_positive(F=F, v_read_V=v_read_V, cint_F=cint_F, v_rail_V=v_rail_V, vdd_V=vdd_V, a0=a0, gbw_Hz=gbw_Hz,
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


# ----------------------------------------------------------------------------------------------------
# Fixed device draws: the shipped cells with their Monte Carlo values passed in (issue 11)

FX_CELLS = ("lsp_3t1c", "lsp_ref", "pcm_dev", "pcm_1t1r")
_FX_LIBS = ("cmos.lib", "pcm.lib", "lsp_3t1c.lib")
_PCM_STATE_SOURCES = ("bx", "bxi", "bcs", "bcm", "bag", "bdr", "vpgc", "vpga", "vpnu", "vpkg", "vpgb")
# node of a held value → its constant in the read-only PCM (x and the drift clock frozen, read noise off)
_PCM_FROZEN_NODES = {"v(pgc)": "gc_i", "v(pga)": "ga_i", "v(pgb)": "gb_i", "v(pnu)": "nu_i", "v(pkg)": "kg_i",
                     "v(xc)": "xc0", "v(age)": "age0", "v(nf)": "0", "v(na)": "0"}
_PCM_SWITCH_TERM = " + gon*vsw*(pcm_sp((vv-vth)/vsw)-pcm_sp((-vv-vth)/vsw))"


def _read_only_pcm(text: str) -> str:
    """``pcm_dev_ro_fx``: the read-only form of ``pcm_dev_fx`` used by crossbar reads.

    The sources of the device's state (crystal growth ``bx``, event counter ``bcs``/``bcm``, cycle-to-cycle
    factor ``bxi``, drift clock ``bag``) are removed, so x and the drift clock keep their initial values,
    and every node that then only holds a constant is replaced by that constant (the drawn values, x0, the
    drift factor D(age0) of ``bdr``; the read-noise nodes by 0: no read noise). The threshold-switching
    term of the read current is dropped: at |V| ≤ 0.3 V it is below gon·vsw·e^{−(vth − 0.3 V)/vsw} ≈ 2·10⁻¹⁵ A
    (netlists/pcm.lib parameters), < 10⁻⁸ of any read current. The read current, its temperature dependence
    and the self-heating node stay. Exact while the device stays below the growth window (tx = 450 K; a
    read at ≤ 0.3 V heats it by ~1 K) and over times ≪ its age; ~2.5× faster to simulate than the full model,
    the same read charges to 10⁻¹⁰ V. Raises RuntimeError if pcm.lib no longer has what is replaced."""
    lines = text.splitlines()
    drop = {ln.split()[0].lower(): ln for ln in lines[1:-1] if ln.split() and ln.split()[0].lower() in _PCM_STATE_SOURCES}
    missing = sorted(set(_PCM_STATE_SOURCES) - set(drop))
    if missing or _PCM_SWITCH_TERM not in text:
        raise RuntimeError(f"netlists/pcm.lib: pcm_dev changed ({', '.join(missing) or 'the threshold-switching term'} "
                           "not found); update pycosim.spice.crossbar._read_only_pcm")
    m = re.search(r"v=\{(.*)\}\s*$", drop["bdr"])
    frozen = dict(_PCM_FROZEN_NODES)
    frozen["v(dr)"] = "(" + m.group(1) + ")"
    for node, const in list(frozen.items()):
        for inner, c in _PCM_FROZEN_NODES.items():
            frozen[node] = frozen[node].replace(inner, c)
    body = []
    for ln in lines[1:-1]:
        if ln.split() and ln.split()[0].lower() in _PCM_STATE_SOURCES:
            continue
        ln = ln.replace(_PCM_SWITCH_TERM, "")
        for node, const in frozen.items():
            ln = ln.replace(node, const)
        body.append(ln)
    head = lines[0].replace("pcm_dev_fx", "pcm_dev_ro_fx", 1)
    return "\n".join([head, *body, ".ends pcm_dev_ro_fx"])
_MC_PARAM_RE = re.compile(r"^\.param\s+(\w+)\s*=\s*\{(.*)\}\s*(?:[;$].*)?$", re.IGNORECASE)


def _library_subckts() -> dict[str, list[str]]:
    """Subcircuit blocks of the shipped libraries: name → lines (continuations joined, comments dropped)."""
    from pycosim.resources import resource_path

    blocks: dict[str, list[str]] = {}
    for lib in _FX_LIBS:
        lines: list[str] = []
        for raw in resource_path(f"netlists/{lib}").read_text().splitlines():
            s = raw.strip()
            if s.startswith("+") and lines:
                lines[-1] += " " + s[1:].strip()
            else:
                lines.append(s)
        cur = None
        for line in lines:
            low = line.lower()
            if low.startswith(".subckt"):
                cur = line.split()[1].lower()
                blocks[cur] = [line]
            elif cur is not None and low and not low.startswith("*"):
                blocks[cur].append(line)
                if low.startswith(".ends"):
                    cur = None
    return blocks


@lru_cache(maxsize=1)
def fixed_draw_library() -> tuple[str, dict[str, tuple[str, ...]]]:
    """``<cell>_fx`` subcircuits of :data:`FX_CELLS` whose Monte Carlo draws are parameters.

    Every ``.param NAME={… agauss(…) …}`` line of a shipped cell (``netlists/cmos.lib``, ``pcm.lib``,
    ``lsp_3t1c.lib``) becomes the subcircuit parameter NAME; a cell that instantiates drawing cells
    (``lsp_3t1c`` → three FET wrappers, ``pcm_1t1r`` → ``pcm_dev`` + access FET) takes their values as
    ``<instance>_<NAME>`` (e.g. ``xrd_dvt_i``, ``xpcm_gc_i``). Everything else is the shipped text, so a
    ``_fx`` cell given the values a bench instance drew (:func:`probe_values`) is that instance — the
    same equations, the same mismatch. The text needs the shipped libraries included before it (models,
    global ``.param``/``.func``). Returns (text, {cell: ordered parameter names}).
    """
    blocks = _library_subckts()
    names: dict[str, tuple[str, ...]] = {}
    out: dict[str, str] = {}

    def build(name: str) -> None:
        if name in names:
            return
        own, kids, body = [], [], []
        for line in blocks[name][1:-1]:
            m = _MC_PARAM_RE.match(line)
            if m and "agauss" in m.group(2).lower():
                own.append(m.group(1).lower())
                continue
            toks = line.split()
            if toks and toks[0].lower().startswith("x"):
                k = next((n for n, tok in enumerate(toks) if "=" in tok), len(toks)) - 1
                child = toks[k].lower()
                if child in blocks:
                    build(child)
                    if names[child]:
                        inst = toks[0].lower()
                        toks[k] = f"{child}_fx"
                        toks += [f"{d}={{{inst}_{d}}}" for d in names[child]]
                        kids += [f"{inst}_{d}" for d in names[child]]
                        line = " ".join(toks)
            body.append(line)
        names[name] = tuple(own + kids)
        head = blocks[name][0].split()
        if "params:" not in (h.lower() for h in head):
            head.append("params:")
        head = [head[0], f"{name}_fx"] + head[2:] + [f"{d}=0" for d in names[name]]
        out[name] = "\n".join([" ".join(head), *body, f".ends {name}_fx"])

    for cell in FX_CELLS:
        build(cell)
    out["pcm_dev_ro"] = _read_only_pcm(out["pcm_dev"])
    names["pcm_dev_ro"] = names["pcm_dev"]
    text = "* fixed-draw copies of the shipped cells (pycosim.spice.crossbar.fixed_draw_library)\n" + "\n\n".join(out.values())
    return text + "\n", {c: names[c] for c in FX_CELLS + ("pcm_dev_ro",)}


_INCLUDES = tuple(f".include netlists/{lib}" for lib in _FX_LIBS)

# what a probe reads, per drawn parameter: (kind of vector, vector name, inverse of the library's use)
# FET wrappers (netlists/cmos.lib, default corner cmos_dvth_* = 0, cmos_mu_* = 1):
#   nfet: delvto = dvt_i, pfet: delvto = dvt_i, mulu0 = max(0.2, 1 + dmu_i)
_PROBE_FETS = {"lsp": ("xrd", "xup", "xdn"), "pcm": ("xacc",)}
_PROBE_PCM_NODES = {"gc_i": "pgc", "ga_i": "pga", "nu_i": "pnu", "kg_i": "pkg", "gb_i": "pgb"}


def probe_netlist(kind: str) -> str:
    """Netlist that reads the Monte Carlo values a bench instance draws (run it with the bench's seed).

    kind 'lsp': ``lsp_3t1c`` as the first (drawing) instance, as in every ``circuits/lsp_*.cir`` bench;
    the read FET's, pull-up's and pull-down's ``delvto`` (V) and ``mulu0`` (-) are saved.
    kind 'pcm': ``pcm_1t1r`` first, as in every ``circuits/pcm_*.cir`` bench; the PCM's drawn values
    (nodes ``pgc`` … ``pgb``: G_c, G_a (S), ν, k_g (1/s), G_b (S)), its thermal resistance ``rth`` (K/W)
    and the access FET's ``delvto``/``mulu0`` are saved. An ``.op`` only: nothing is simulated in time.
    """
    if kind == "lsp":
        circuit = ["vsup vdd 0 1.2", "vvp vp 0 1.2", "vvn vn 0 0", "vup upb 0 1.5", "vdn dn 0 -0.3",
                   "vrd d 0 0.1", "xcell d 0 vc upb dn vp vn vdd 0 lsp_3t1c"]
        saves = []
    elif kind == "pcm":
        circuit = ["vbl bl 0 0.2", "vwl wl 0 2.5", "xcell bl wl 0 pcm_1t1r"]
        saves = [f"v(xcell.xpcm.{node})" for node in _PROBE_PCM_NODES.values()] + ["@r.xcell.xpcm.rth[resistance]"]
    else:
        raise ValueError(f"probe kind {kind!r}: expected 'lsp' or 'pcm'")
    saves += [f"@m.xcell.{fet}.m1[{p}]" for fet in _PROBE_FETS[kind] for p in ("delvto", "mulu0")]
    return "\n".join([f"pycosim draw probe ({kind})", *_INCLUDES, *circuit, ".save " + " ".join(saves), ".op", ".end"]) + "\n"


def probe_values(kind: str, result) -> dict[str, float]:
    """The drawn values of a :func:`probe_netlist` run, named as the ``_fx`` cell's parameters
    (:func:`fixed_draw_library`): 'lsp' → ``lsp_3t1c_fx`` (xrd/xup/xdn ``_dvt_i`` V, ``_dmu_i`` -), 'pcm' →
    ``pcm_1t1r_fx`` without the cycle-to-cycle draws ``xpcm_zc*`` (they sit in a B-source expression and
    cannot be read back). Raises ValueError for a mobility draw the wrapper floored (not invertible)."""
    vec = {k.lower(): float(np.real(v).ravel()[0]) for k, v in result.vectors.items()}
    out: dict[str, float] = {}
    prefix = "xpcm_" if kind == "pcm" else ""
    if kind == "pcm":
        for name, node in _PROBE_PCM_NODES.items():
            out[prefix + name] = vec[f"xcell.xpcm.{node}"]
        out[prefix + "rth_i"] = vec["@r.xcell.xpcm.rth[resistance]"]
    for fet in _PROBE_FETS[kind]:
        mu = vec[f"@m.xcell.{fet}.m1[mulu0]"]
        if mu <= 0.2 + 1e-12:
            raise ValueError(f"probe {kind}: {fet} mobility factor is at the wrapper's floor 0.2 (draw not invertible)")
        out[f"{fet}_dvt_i"] = vec[f"@m.xcell.{fet}.m1[delvto]"]
        out[f"{fet}_dmu_i"] = mu - 1.0
    return out


# ----------------------------------------------------------------------------------------------------
# Netlists of given device instances

PCM_C2C_DRAWS = 24   # cycle-to-cycle draws per PCM device (netlists/pcm.lib: zc0 … zc23, event n uses zc(n mod 24))


@dataclass(frozen=True)
class CrossbarInstances:
    """An R×C crossbar of 2PCM+3T1C synapses: device states and every device's Monte Carlo values.

    Attributes (SI units):
        xc: (2, R, C) crystalline fraction of the G⁺ (index 0) and G⁻ (1) PCM devices (-).
        age_s: (2, R, C) drift clock of each PCM device at t = 0 (s).
        pcm: ``pcm_dev_fx`` parameter name → (2, R, C) values (G_c, G_a, ν, r_th, k_g, G_b, zc0 … zc23).
        vc: (R, C) 3T1C capacitor voltages (V).
        cell: ``lsp_3t1c_fx`` parameter name → (R, C) values (read FET, pull-up, pull-down draws).
        ref: ``lsp_ref_fx`` parameter name → (C,) values: the reference FET of column j (every row's
            reference of that column is this device).
        pol: (C,) polarity ±1 of the 3T1C pair of each column.
    """

    xc: np.ndarray
    age_s: np.ndarray
    pcm: dict
    vc: np.ndarray
    cell: dict
    ref: dict
    pol: np.ndarray

    def __post_init__(self):
        r, c = np.shape(self.vc)
        _, names = fixed_draw_library()
        checks = [("xc", self.xc, (2, r, c)), ("age_s", self.age_s, (2, r, c)), ("pol", self.pol, (c,))]
        checks += [(f"pcm[{n}]", self.pcm.get(n), (2, r, c)) for n in names["pcm_dev"]]
        checks += [(f"cell[{n}]", self.cell.get(n), (r, c)) for n in names["lsp_3t1c"]]
        checks += [(f"ref[{n}]", self.ref.get(n), (c,)) for n in names["lsp_ref"]]
        for what, a, shape in checks:
            if a is None or np.shape(a) != shape:
                raise ValueError(f"CrossbarInstances.{what}: expected shape {shape}, got "
                                 f"{'nothing' if a is None else np.shape(a)}")
        if not np.all(np.isin(self.pol, (1, -1))):
            raise ValueError("CrossbarInstances.pol must be ±1")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(np.shape(self.vc))


def _instance(name: str, nodes, subckt: str, params: dict) -> str:
    """An X line with its parameters on continuation lines (8 per line)."""
    items = [f"{k}={_num(v)}" for k, v in params.items()]
    return "\n".join([f"{name} {' '.join(nodes)} {subckt}"] + ["+ " + " ".join(items[n:n + 8]) for n in range(0, len(items), 8)])


class _Wave:
    """A piecewise-linear source waveform built from level changes: ``set(t, v, edge)`` ramps from the
    current level at t to v at t + edge. Times must not go back."""

    def __init__(self, v0: float):
        self.pts = [(0.0, float(v0))]

    @property
    def level(self) -> float:
        return self.pts[-1][1]

    def set(self, t: float, v: float, edge: float) -> None:
        if float(v) == self.level:
            return
        if t < self.pts[-1][0] - 1e-15:
            raise ValueError(f"waveform time goes back: {t} < {self.pts[-1][0]}")
        if t > self.pts[-1][0] + 1e-15:
            self.pts.append((t, self.level))
        self.pts.append((t + edge, float(v)))

    def line(self, name: str, node: str) -> str:
        if len(self.pts) == 1:
            return f"{name} {node} 0 {_num(self.level)}"
        body = " ".join(f"{_num(t)} {_num(v)}" for t, v in self.pts)
        return f"{name} {node} 0 pwl({body})"


def _pulse(w: _Wave, t_on: float, t: float, v: float, v0: float, t_edge: float) -> None:
    """PWM read pulse of area (v − v0)·t: edges e = min(t_edge, t), flat top t − e."""
    if t <= 0:
        return
    e = min(t_edge, t)
    w.set(t_on, v, e)
    w.set(t_on + t, v0, e)


def write_read_sequence(
    inst: CrossbarInstances,
    durations_s,
    *,
    direction: str = "forward",
    F: float = 3.0,
    v_read_V: float = 0.1,
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
) -> tuple[str, dict]:
    """A sequence of pulse-width-modulated reads of a crossbar of given instances, with line integrators.

    Synapse (i, j) (Ambrogio et al., Nature 558, 60-67 (2018); netlists/synapse.lib with the devices
    of *inst*): G⁺ between row i and colp j, G⁻ between row i and coln j, the 3T1C read FET between
    row i and colp j (pol = +1) or coln j (pol = −1), the column's reference FET (gate at vref_gate_V)
    between row i and the other column line. Every device's row-side terminal is the drain during a
    read and its source sits at a virtual ground at 0 V, the bias of the bundle's g(V_C) table.
    The gain F of the PCM pair is an ideal current mirror on the *integrating* side: a 0-V sense source
    at the PCM's integrating end and a CCCS adding (F − 1)·I_PCM there.

      forward:     rows driven (R lines), one integrator per column line (colp j, coln j);
                   y_j ∝ ΔV(outn j) − ΔV(outp j) = V_read·Σ_i t_i·W_ij / C_int
      transposed:  column lines driven (durations (P, 2, C): [:, 0] colp, [:, 1] coln), one integrator
                   per row; ΔV(outr i) = −V_read·Σ_j (t_p,j·W⁺_ij + t_n,j·W⁻_ij)/C_int

    Each phase p: integrators reset (switch closed) for t_reset_s, the driven lines pulse from 0 to
    v_read_V for durations_s[p] (trapezoids of area V_read·t), outputs read at info['t_end'][p]; a
    signed read is two phases (positive and negative contributions), subtracted by the caller. Lines
    have r_wire_ohm per cell pitch (0 = ideal wires; drivers and integrators at row end j = 0 and
    column end i = R − 1). Integrators: netlists/integrator.lib, nominal (mc = 0), rails ±v_rail_V.
    drive_t0_V: level of the driven lines at t = 0 (back to 0 V by t = 2 ns): the 3T1C storage node couples
    to the read FET's terminals, so vc0 (held at t = 0) is the V_C at that bias — drive_t0_V = v_read_V
    gives the convention of the bundle's benches (read-FET drain held at V_read). method: ngspice
    integration method ('gear': the trapezoidal rule stopped with "timestep too small" at PWL corners).

    Returns (text, info): info['t_on'], info['t_end'] (P,) times (s) of pulse start and read-out, and
    info['outputs'] the saved output nodes: forward [('outp0', 'outn0'), …], transposed ['outr0', …].
    """
    if direction not in ("forward", "transposed"):
        raise ValueError(f"direction={direction!r}: expected 'forward' or 'transposed'")
    n_rows, n_cols = inst.shape
    d = np.asarray(durations_s, dtype=float)
    want = (n_rows,) if direction == "forward" else (2, n_cols)
    if d.ndim != 1 + len(want) or d.shape[1:] != want:
        raise ValueError(f"durations_s must have shape (phases,) + {want} for a {direction} read, got {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("durations_s must be finite and >= 0 s")
    _check_positive(F=F, v_read_V=v_read_V, cint_F=cint_F, a0=a0, gbw_Hz=gbw_Hz, v_rail_V=v_rail_V, t_edge_s=t_edge_s,
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
    rst = _Wave(vdd := 1.2)
    for p in range(n_ph):
        rst.set(t0[p] + t_reset_s, 0.0, 0.5e-9)
        if p + 1 < n_ph:
            rst.set(t0[p + 1] - 0.5e-9, vdd, 0.5e-9)
    if method not in ("gear", "trap"):
        raise ValueError(f"method={method!r}: expected 'gear' or 'trap'")
    lines = [f"pycosim crossbar {direction} reads ({n_rows}x{n_cols}, {n_ph} phases; pycosim.spice.crossbar.write_read_sequence)",
             f".option gmin=1e-18 method={method}", *_INCLUDES, ".include netlists/integrator.lib", fx_text,
             "vsup vdd 0 1.2", "vvp vp 0 1.2", "vvn vn 0 0", "vupb upb 0 1.5", "vdn dn 0 -0.3", rst.line("vrst", "rst")]
    integ = (f"rst 0 integrator cint={_num(cint_F)} a0={_num(a0)} gbw={_num(gbw_Hz)} vlo={_num(-v_rail_V)} "
             f"vhi={_num(v_rail_V)} mc=0")
    def driver():
        w = _Wave(drive_t0_V)
        w.set(1e-9, 0.0, 1e-9)
        return w

    if direction == "forward":
        for i in range(n_rows):
            w = driver()
            for p in range(n_ph):
                _pulse(w, t_on[p], d[p, i], v_read_V, 0.0, t_edge_s)
            lines.append(w.line(f"vrow{i}", row_end(i)))
        for j in range(n_cols):
            lines += [f"xip{j} {col_end('p', j)} outp{j} {integ}", f"xin{j} {col_end('n', j)} outn{j} {integ}"]
        outputs = [(f"outp{j}", f"outn{j}") for j in range(n_cols)]
    else:
        for j in range(n_cols):
            for s, side in enumerate("pn"):
                w = driver()
                for p in range(n_ph):
                    _pulse(w, t_on[p], d[p, s, j], v_read_V, 0.0, t_edge_s)
                lines.append(w.line(f"vcol{side}{j}", col_end(side, j)))
        for i in range(n_rows):
            lines.append(f"xir{i} {row_end(i)} outr{i} {integ}")
        outputs = [f"outr{i}" for i in range(n_rows)]
    if wired:
        r = _num(r_wire_ohm)
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
                lines.append(_instance(f"xg{tag}_{i}_{j}", (rn, s_node) if fwd else (s_node, cl), "pcm_dev_ro_fx", pcm))
                integ_node = cl if fwd else rn
                lines += [f"vs{tag}_{i}_{j} {s_node} {integ_node} 0", f"f{tag}_{i}_{j} 0 {integ_node} vs{tag}_{i}_{j} {_num(F - 1)}"]
            c_cell, c_ref = (cp, cn) if inst.pol[j] > 0 else (cn, cp)
            cell = {"vc0": inst.vc[i, j], **{n: inst.cell[n][i, j] for n in names["lsp_3t1c"]}}
            lines.append(_instance(f"xg_{i}_{j}", (rn, c_cell, f"vc_{i}_{j}", "upb", "dn", "vp", "vn", "vdd", "0"), "lsp_3t1c_fx", cell))
            ref = {"vref": vref_gate_V, **{n: inst.ref[n][j] for n in names["lsp_ref"]}}
            lines.append(_instance(f"xr_{i}_{j}", (rn, c_ref), "lsp_ref_fx", ref))
    saves = [f"v({n})" for o in outputs for n in (o if isinstance(o, tuple) else (o,))]
    t_stop = float(t_end[-1] + 1e-9) if n_ph else 1e-9
    lines += [".save " + " ".join(saves), f".tran {_num(t_step_s / 5)} {_num(t_stop)} 0 {_num(t_step_s)}", ".end"]
    return "\n".join(lines) + "\n", {"t_on": t_on, "t_end": t_end, "outputs": outputs}


# 3T1C programming levels (circuits/lsp_steps.cir, netlists/lsp_3t1c.lib)
LSP_LEVELS = dict(vdd_V=1.2, vup_on_V=0.81, vdn_on_V=0.365, vup_off_V=1.5, vdn_off_V=-0.3)


def write_cell_sequence(
    vc,
    cell: dict,
    ref: dict,
    steps: list[dict],
    *,
    v_read_V: float = 0.1,
    vref_gate_V: float = 0.5,
    t_read_s: float = 30e-9,
    t_slot_s: float = 20e-9,
    t_pw_s: float = 10e-9,
    t_rise_s: float = 1e-9,
    t_max_step_s: float = 5e-9,
    rows_t0_V: float = 0.0,
) -> tuple[str, dict]:
    """The 3T1C cells of an R×C crossbar (and one reference FET per column) through a sequence of steps.

    Lines (Ambrogio et al., Nature 558, 60-67 (2018), Fig. 2 and Extended Data Fig. 9): row i drives the
    read-FET drains (``rd<i>``) and both programming gates of its cells (``upb<i>``, ``dn<i>``); column j
    drives the source lines of its cells' pull-up PMOS (``vp<j>``) and pull-down NMOS (``vn<j>``). Every
    read-FET source sits on its own 0-V sense source (``vsg_<i>_<j>``), so a read gives each cell's g.
    Hold: rows 0 V, gates at their off-levels (upb = vdd + 0.3 V, dn = −0.3 V), vp = vdd, vn = 0 (levels
    :data:`LSP_LEVELS`, those of circuits/lsp_steps.cir). Steps (dicts, key 'op'):

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
      level V, the sequence of circuits/lsp_reset.cir (lines at V from 5 ns, gates on from 20 ns for 100 ns
      with 10-ns edges, lines back at 150 ns, 300 ns in all); the rows idle at 0 V, or at v (e.g. V_read,
      the bias of the reset bench's read-FET drain) until 290 ns if 'rows_V' is given.

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
    L = LSP_LEVELS
    rd = [_Wave(rows_t0_V) for _ in range(n_rows)]
    rref = _Wave(rows_t0_V)
    upb = [_Wave(L["vup_off_V"]) for _ in range(n_rows)]
    dn = [_Wave(L["vdn_off_V"]) for _ in range(n_rows)]
    vp = [_Wave(L["vdd_V"]) for _ in range(n_cols)]
    vn = [_Wave(0.0) for _ in range(n_cols)]
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
                w.set(t + 20e-9, L["vdn_off_V"], 10e-9)
                w.set(t + 130e-9, L["vup_off_V"], 10e-9)
            for w in dn:
                w.set(t + 20e-9, L["vup_off_V"], 10e-9)
                w.set(t + 130e-9, L["vdn_off_V"], 10e-9)
            for w in vp:
                w.set(t + 150e-9, L["vdd_V"], 5e-9)
            for w in vn:
                w.set(t + 150e-9, 0.0, 5e-9)
            if v_rows:
                for w in rd + [rref]:
                    w.set(t + 290e-9, 0.0, 1e-9)
            t += 300e-9
        else:
            raise ValueError(f"step {k}: unknown op {op!r}; expected read, update, hold or reset")
        rec["t_end"] = t
        info_steps.append(rec)
    lines = [f"pycosim 3T1C cells of a {n_rows}x{n_cols} crossbar (pycosim.spice.crossbar.write_cell_sequence)",
             ".option gmin=1e-18", *_INCLUDES, fx_text, f"vsup vdd 0 {_num(L['vdd_V'])}", rref.line("vrref", "rref")]
    lines += [rd[i].line(f"vrd{i}", f"rd{i}") for i in range(n_rows)]
    lines += [upb[i].line(f"vupb{i}", f"upb{i}") for i in range(n_rows)] + [dn[i].line(f"vdn{i}", f"dn{i}") for i in range(n_rows)]
    lines += [vp[j].line(f"vvp{j}", f"vp{j}") for j in range(n_cols)] + [vn[j].line(f"vvn{j}", f"vn{j}") for j in range(n_cols)]
    for i in range(n_rows):
        for j in range(n_cols):
            params = {"vc0": vc[i, j], **{n: cell[n][i, j] for n in names["lsp_3t1c"]}}
            lines.append(_instance(f"xg_{i}_{j}", (f"rd{i}", f"ns_{i}_{j}", f"vc_{i}_{j}", f"upb{i}", f"dn{i}", f"vp{j}",
                                                   f"vn{j}", "vdd", "0"), "lsp_3t1c_fx", params))
            lines.append(f"vsg_{i}_{j} ns_{i}_{j} 0 0")
    for j in range(n_cols):
        lines.append(_instance(f"xr{j}", ("rref", f"nr{j}"), "lsp_ref_fx",
                               {"vref": vref_gate_V, **{n: ref[n][j] for n in names["lsp_ref"]}}))
        lines.append(f"vsr{j} nr{j} 0 0")
    saves = [f"v(vc_{i}_{j})" for i in range(n_rows) for j in range(n_cols)]
    saves += [f"i(vsg_{i}_{j})" for i in range(n_rows) for j in range(n_cols)] + [f"i(vsr{j})" for j in range(n_cols)]
    t_stop = t + 1e-9
    tmax = max([t_max_step_s] + [b / 50 for b in breaks])
    lines += [".save " + " ".join(saves), f".tran {_num(min(tmax, t_max_step_s) / 5)} {_num(t_stop)} 0 {_num(tmax)}", ".end"]
    return "\n".join(lines) + "\n", {"steps": info_steps}


# partial-SET and RESET pulses of circuits/pcm_set_staircase.cir and circuits/pcm_reset.cir (read at their vread, the
# array read voltage lsp.read_v_V)
PCM_PULSES = dict(vset_V=1.6, vg_set_V=1.3, tset_s=100e-9, tr_set_s=5e-9, vreset_V=2.5, vg_reset_V=2.5, treset_s=50e-9,
                  tr_reset_s=2e-9, tq_reset_s=2e-9, vread_V=0.1, vg_read_V=2.5, tper_s=1e-6)
PCM_NONE, PCM_SET, PCM_RESET = 0, 1, 2


def write_pcm_program(xc0, age0_s, draws: dict, actions, *, v_read_V: float | None = None) -> tuple[str, dict]:
    """N independent PCM 1T1R cells (``pcm_1t1r_fx``, each with its own bit and word line) through S
    periods of PCM_PULSES['tper_s'], with a read of every cell at the start of each period and at the end.

    Period s of cell k carries actions[k, s]: PCM_NONE (read bias only), PCM_SET (the partial-SET pulse
    of circuits/pcm_set_staircase.cir: bit line to vset for tset, word line to vg_set, centred in the
    period) or PCM_RESET (the melt-quench pulse of circuits/pcm_reset.cir, centred). Between pulses the
    bit line is at the read voltage (v_read_V, default the bench's 0.2 V) with the word line at
    vg_read, so G_k(t_s) = I_cell/(V(bl) − V(d)) at t_s = s·tper (s = 0 … S) is the bench's read
    (G after s periods, the access-FET drop excluded). Solver settings of the staircase bench
    (reltol 3e-3, maximum step tper/4).

    xc0, age0_s: (N,) initial crystalline fraction (-) and drift clock (s); draws: ``pcm_1t1r_fx``
    parameter name → (N,) (the zc draws of each device rotated by the caller to its event count).
    Returns (text, info): info['t_read'] (S + 1,) (s). Saved: ``i(vbl<k>)``, ``v(bl<k>)``,
    ``v(xp<k>.d)`` and the state nodes ``v(xp<k>.xpcm.xc)``, ``…age``, ``…cs`` (event counter).
    """
    P = PCM_PULSES
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
    lines = [f"pycosim PCM program ({n} cells, {n_per} periods; pycosim.spice.crossbar.write_pcm_program)",
             ".options reltol=3e-3", *_INCLUDES, fx_text]
    saves = []
    for k in range(n):
        bl, wl = _Wave(vr), _Wave(P["vg_read_V"])
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
                  _instance(f"xp{k}", (f"bl{k}", f"wl{k}", "0"), "pcm_1t1r_fx", params)]
        saves += [f"i(vbl{k})", f"v(bl{k})", f"v(xp{k}.d)", f"v(xp{k}.xpcm.xc)", f"v(xp{k}.xpcm.age)", f"v(xp{k}.xpcm.cs)"]
    t_stop = (n_per + 0.25) * tper
    lines += [".save " + " ".join(saves), f".tran 50n {_num(t_stop)} 0 {_num(tper / 4)}", ".end"]
    return "\n".join(lines) + "\n", {"t_read": np.arange(n_per + 1) * tper}
