"""Library surgery: the shipped cells with their Monte Carlo draws as parameters (issue 11).

ngspice draws a fresh ``agauss`` value at every *reference* to a Monte Carlo ``.param`` (in element
order), so a crossbar netlist cannot reuse the draws of a bench run with another seed. Instead
:func:`fixed_draw_library` derives ``<cell>_fx`` copies of the shipped cells (``lsp_3t1c``, ``lsp_ref``,
``pcm_dev``, ``pcm_1t1r`` and the FET wrappers they use) from ``netlists/*.lib`` in which every Monte
Carlo ``.param`` is a subcircuit parameter: the caller passes the values a bench instance drew
(:mod:`pycosim.validation.netlists.probes`). ``pcm_dev_ro_fx`` is the read-only PCM of the crossbar reads.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pycosim.validation.netlists.common import FX_LIBS

FX_CELLS = ("lsp_3t1c", "lsp_ref", "pcm_dev", "pcm_1t1r")
_PCM_STATE_SOURCES = ("bx", "bzk", "bkl", "bxs", "bdn", "bmf", "bcs", "bcm", "bag", "bpnu", "bdr", "bnb", "bdrb", "vpgc", "vpga", "vpzn",
                      "vpkg", "vpgb")
# node of a held value → its constant in the read-only PCM (x and the drift clock frozen, read noise off)
_PCM_FROZEN_NODES = {"v(pgc)": "gc_i", "v(pga)": "ga_i", "v(pgb)": "gb_i", "v(pzn)": "(md*zn_i)",
                     "v(pkg)": "kg_i", "v(xc)": "xc0", "v(age)": "age0", "v(nf)": "0", "v(na)": "0"}
# derived nodes, frozen in this order from their B-source expressions: the plug's exponent nu_a and drift factor
# D(age0), the barrier's exponent nu_b(x0) and its drift factor D_b(age0)
_PCM_DERIVED = ("bpnu", "bdr", "bnb", "bdrb")
_PCM_SWITCH_TERM = " + pcm_isw(vv)"


def _read_only_pcm(text: str) -> str:
    """``pcm_dev_ro_fx``: the read-only form of ``pcm_dev_fx`` used by crossbar reads.

    The sources of the device's state (crystal growth ``bx``, event counter ``bcs``/``bcm``, the cycle-to-cycle
    kick's draw ``bzk``, ceiling ``bkl``, event-start hold ``bxs``, event growth ``bdn`` and melt flag ``bmf``,
    drift clock ``bag``) are removed, so x and the drift clock keep their
    initial values, and every node that then only holds a constant is replaced by that constant (the drawn
    values, x0, the drift factors D(age0) of ``bdr`` and D_b(age0) of ``bdrb`` with the exponents ν_a of ``bpnu``
    and ν_b(x0) of ``bnb``; the read-noise nodes by 0: no read noise). The threshold-switching
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
                           "not found); update pycosim.validation.netlists.library._read_only_pcm")
    frozen = dict(_PCM_FROZEN_NODES)
    for src in _PCM_DERIVED:                  # v(dr), v(nb), v(drb): each from the constants frozen before it
        expr = re.search(r"v=\{(.*)\}\s*$", drop[src]).group(1)
        for node, const in frozen.items():
            expr = expr.replace(node, const)
        frozen[f"v({src[1:]})"] = "(" + expr + ")"
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
    for lib in FX_LIBS:
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
    ``_fx`` cell given the values a bench instance drew (:func:`pycosim.validation.netlists.probes.probe_values`) is that instance — the
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
    text = "* fixed-draw copies of the shipped cells (pycosim.validation.netlists.library.fixed_draw_library)\n" + "\n\n".join(out.values())
    return text + "\n", {c: names[c] for c in FX_CELLS + ("pcm_dev_ro",)}


