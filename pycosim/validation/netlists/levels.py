"""The circuit levels of the validation netlists, read from the benches' ``.param`` lines.

A level (supply, read bias, gate levels, pulse amplitudes and widths) is defined once, by the shipped
bench that characterised the device (``circuits/*.cir``, the source of the calibration bundle); the
writers of :mod:`pycosim.validation.netlists` read it from there and type none of their own, so a bench
and the netlists that reproduce its conditions cannot disagree. :func:`bench_params` parses the
top-level ``.param NAME=VALUE`` lines of a bench (with :func:`pycosim.spice.netlist.load`); an
expression value (``{tper/4}``) is left out. Each field below names its bench and parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pycosim.errors import SpiceError


@lru_cache(maxsize=None)
def bench_params(bench: str) -> dict[str, float]:
    """Numeric top-level ``.param`` values of ``circuits/<bench>.cir``: name (lower case) → value (SI units,
    scale suffixes applied, rounded to 15 significant digits so that ``100n`` is 1e-07 exactly)."""
    from pycosim.resources import resource_path
    from pycosim.spice.netlist import load, spice_number

    out = {}
    for name, text in load(resource_path(f"circuits/{bench}.cir")).params.items():
        v = spice_number(text)
        if v is not None:
            out[name] = float(f"{v:.15g}")
    return out


def bench_level(bench: str, name: str) -> float:
    """Value of ``.param <name>`` of ``circuits/<bench>.cir``; SpiceError if the bench has no such numeric
    parameter (a bench was edited: the writers need the level)."""
    params = bench_params(bench)
    if name not in params:
        raise SpiceError(f"circuits/{bench}.cir: no numeric .param {name} (the validation netlists read this level "
                         "from it; see pycosim.validation.netlists.levels)")
    return params[name]


@dataclass(frozen=True)
class LspLevels:
    """Levels of the 3T1C cells (netlists/lsp_3t1c.lib) in the validation netlists. Source of each field:

    vdd_V: programming supply, idle level of the pull-up source line (V) — circuits/lsp_steps.cir ``vdd``;
    vup_on_V: PMOS (pull-up) gate level during an up pulse (V) — lsp_steps.cir ``vup_on``;
    vdn_on_V: NMOS (pull-down) gate level during a down pulse (V) — lsp_steps.cir ``vdn_on``;
    vup_off_V: PMOS gate-off level, also the NMOS gate-on level of the reset (V) — lsp_steps.cir ``vup_off``;
    vdn_off_V: NMOS gate-off level, also the PMOS gate-on level of the reset (V) — lsp_steps.cir ``vdn_off``;
    t_pw_s: programming pulse flat top (s) — lsp_steps.cir ``tpw``;
    t_rise_s: programming pulse edges (s) — lsp_steps.cir ``tr``;
    v_read_V: read-FET drain bias of g(V_C), the crossbar read voltage (V) — circuits/lsp_read_gv.cir ``vread``;
    reset_on_s: transmission-gate on-time (flat top) of the reset (s) — circuits/lsp_reset.cir ``trst``;
    reset_edge_s: transmission-gate gate edges (s) — lsp_reset.cir ``tedge``;
    reset_seg_s: one reset segment; the lines return at half of it (s) — lsp_reset.cir ``tseg``.
    """

    vdd_V: float
    vup_on_V: float
    vdn_on_V: float
    vup_off_V: float
    vdn_off_V: float
    t_pw_s: float
    t_rise_s: float
    v_read_V: float
    reset_on_s: float
    reset_edge_s: float
    reset_seg_s: float


@dataclass(frozen=True)
class PcmPulses:
    """Partial-SET and RESET pulses of the PCM 1T1R cell (netlists/pcm.lib ``pcm_1t1r``). Source of each field:

    vset_V: bit-line SET amplitude (V) — circuits/pcm_set_staircase.cir ``vset``;
    vg_set_V: word-line level during SET (V) — pcm_set_staircase.cir ``vg_set``;
    tset_s: SET flat top (s) — pcm_set_staircase.cir ``tset``;
    tr_set_s: SET rise and fall (s) — pcm_set_staircase.cir ``tr``;
    vread_V: bit-line read voltage, the bias of the bundle's G (V) — pcm_set_staircase.cir ``vread``;
    vg_read_V: word-line level during reads (V) — pcm_set_staircase.cir ``vg_read``;
    tper_s: programming period, one pulse per period, read at its end (s) — pcm_set_staircase.cir ``tper``;
    vreset_V: bit-line RESET amplitude (V) — circuits/pcm_reset.cir ``vreset``;
    vg_reset_V: word-line level during RESET (V) — pcm_reset.cir ``vg_reset``;
    treset_s: RESET flat top (s) — pcm_reset.cir ``treset``;
    tr_reset_s: RESET rise (s) — pcm_reset.cir ``tr``;
    tq_reset_s: RESET trailing edge, the quench (s) — pcm_reset.cir ``tq``.
    """

    vset_V: float
    vg_set_V: float
    tset_s: float
    tr_set_s: float
    vread_V: float
    vg_read_V: float
    tper_s: float
    vreset_V: float
    vg_reset_V: float
    treset_s: float
    tr_reset_s: float
    tq_reset_s: float


@lru_cache(maxsize=1)
def lsp_levels() -> LspLevels:
    """The 3T1C levels, read from the benches (:class:`LspLevels`)."""
    s, r = (lambda n: bench_level("lsp_steps", n)), (lambda n: bench_level("lsp_reset", n))
    return LspLevels(vdd_V=s("vdd"), vup_on_V=s("vup_on"), vdn_on_V=s("vdn_on"), vup_off_V=s("vup_off"),
                     vdn_off_V=s("vdn_off"), t_pw_s=s("tpw"), t_rise_s=s("tr"),
                     v_read_V=bench_level("lsp_read_gv", "vread"),
                     reset_on_s=r("trst"), reset_edge_s=r("tedge"), reset_seg_s=r("tseg"))


@lru_cache(maxsize=1)
def pcm_pulses() -> PcmPulses:
    """The PCM pulses, read from the benches (:class:`PcmPulses`)."""
    s, r = (lambda n: bench_level("pcm_set_staircase", n)), (lambda n: bench_level("pcm_reset", n))
    return PcmPulses(vset_V=s("vset"), vg_set_V=s("vg_set"), tset_s=s("tset"), tr_set_s=s("tr"), vread_V=s("vread"),
                     vg_read_V=s("vg_read"), tper_s=s("tper"), vreset_V=r("vreset"), vg_reset_V=r("vg_reset"),
                     treset_s=r("treset"), tr_reset_s=r("tr"), tq_reset_s=r("tq"))


def integrator_logic_V() -> float:
    """Logic level of the integrators' reset control (V) — circuits/integrator_pwm.cir ``vdd``."""
    return bench_level("integrator_pwm", "vdd")
