"""Monte Carlo probes: read back the values a bench instance drew (issue 11).

:func:`probe_netlist` / :func:`probe_values` read the draws of the *real* cell run with a bench's seed
(the cell is the first instance, as in every bench): FET ``delvto``/``mulu0`` instance parameters, the
PCM's drawn-value nodes and its thermal resistance, named as the parameters of the ``_fx`` cells of
:func:`pycosim.validation.netlists.library.fixed_draw_library`. The PCM cycle-to-cycle draws (``zc0`` …
``zc23``, one per programming event) live in a B-source expression that cannot be read back; the caller
draws them. The probes' bias levels are the benches' (:mod:`pycosim.validation.netlists.levels`); an
``.op`` reads parameters only, so the bias does not change what is read.
"""

from __future__ import annotations

import numpy as np

from pycosim.validation.netlists.common import INCLUDES, num
from pycosim.validation.netlists.levels import lsp_levels, pcm_pulses

# what a probe reads, per drawn parameter: (kind of vector, vector name, inverse of the library's use)
# FET wrappers (netlists/cmos.lib, default corner cmos_dvth_* = 0, cmos_mu_* = 1):
#   nfet: delvto = dvt_i, pfet: delvto = dvt_i, mulu0 = max(0.2, 1 + dmu_i)
_PROBE_FETS = {"lsp": ("xrd", "xup", "xdn"), "pcm": ("xacc",)}
# zn_i: the device's unit normal of the drift exponents (node pzn = md*zn_i, md = 1 in a Monte Carlo probe)
_PROBE_PCM_NODES = {"gc_i": "pgc", "ga_i": "pga", "zn_i": "pzn", "kg_i": "pkg", "gb_i": "pgb"}


def probe_netlist(kind: str) -> str:
    """Netlist that reads the Monte Carlo values a bench instance draws (run it with the bench's seed).

    kind 'lsp': ``lsp_3t1c`` as the first (drawing) instance, as in every ``circuits/lsp_*.cir`` bench;
    the read FET's, pull-up's and pull-down's ``delvto`` (V) and ``mulu0`` (-) are saved.
    kind 'pcm': ``pcm_1t1r`` first, as in every ``circuits/pcm_*.cir`` bench; the PCM's drawn values
    (nodes ``pgc`` … ``pgb``: G_c, G_a (S), z of the drift exponents, k_g (1/s), G_b (S)), its thermal resistance ``rth`` (K/W)
    and the access FET's ``delvto``/``mulu0`` are saved. An ``.op`` only: nothing is simulated in time.
    """
    if kind == "lsp":
        L = lsp_levels()      # hold levels of circuits/lsp_steps.cir, drain at lsp_read_gv's vread
        circuit = [f"vsup vdd 0 {num(L.vdd_V)}", f"vvp vp 0 {num(L.vdd_V)}", "vvn vn 0 0", f"vup upb 0 {num(L.vup_off_V)}",
                   f"vdn dn 0 {num(L.vdn_off_V)}", f"vrd d 0 {num(L.v_read_V)}", "xcell d 0 vc upb dn vp vn vdd 0 lsp_3t1c"]
        saves = []
    elif kind == "pcm":
        P = pcm_pulses()      # read bias of circuits/pcm_set_staircase.cir
        circuit = [f"vbl bl 0 {num(P.vread_V)}", f"vwl wl 0 {num(P.vg_read_V)}", "xcell bl wl 0 pcm_1t1r"]
        saves = [f"v(xcell.xpcm.{node})" for node in _PROBE_PCM_NODES.values()] + ["@r.xcell.xpcm.rth[resistance]"]
    else:
        raise ValueError(f"probe kind {kind!r}: expected 'lsp' or 'pcm'")
    saves += [f"@m.xcell.{fet}.m1[{p}]" for fet in _PROBE_FETS[kind] for p in ("delvto", "mulu0")]
    return "\n".join([f"pycosim draw probe ({kind})", *INCLUDES, *circuit, ".save " + " ".join(saves), ".op", ".end"]) + "\n"


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

