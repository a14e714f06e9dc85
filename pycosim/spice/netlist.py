"""Netlist handling: locate, expand ``.include`` lines, substitute ``.param`` values, hash.

A netlist given to :func:`pycosim.spice.run` is either a path (a user's file, or a shipped
file named relative to the package, e.g. ``circuits/pcm_reset.cir``) or SPICE text.
The engine expands every ``.include`` itself (relative to the including file), so the text
handed to ngspice is self-contained and its SHA-256 identifies the whole circuit, libraries
included.

Parameters a user may override are the top-level ``.param NAME=VALUE`` lines of the main
file (outside ``.subckt`` … ``.ends``); overriding an unknown name is an error that lists
the valid ones.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from pycosim.errors import SpiceError
from pycosim.resources import spice_root

# .include "my lib.lib" | 'my lib.lib' | plain.lib  (quoted paths may contain spaces, as in ngspice)
_INCLUDE_RE = re.compile(r"""^\s*\.inc(?:lude)?\s+(?:"([^"]+)"|'([^']+)'|([^"'\s]+))\s*$""", re.IGNORECASE)
_PARAM_LINE_RE = re.compile(r"^\s*\.param\s+(.*)$", re.IGNORECASE)
_ASSIGN_RE = re.compile(r"([A-Za-z_][\w]*)\s*=\s*")
_MEAS_RE = re.compile(r"^\s*\.meas(?:ure)?\s+\w+\s+([A-Za-z_][\w]*)", re.IGNORECASE)
_ANALYSIS_RE = re.compile(r"^\s*\.(tran|dc|op|ac|noise|tf|sens|pz|disto)\b", re.IGNORECASE)


#: Valid user seeds are 0 <= seed < SEED_LIMIT.
SEED_LIMIT = 2**31 - 1


def ngspice_seed(seed: int) -> int:
    """The ngspice seed (``.option seed=N``) used for user seed *seed*: ``seed + 1``.

    ngspice 39 accepts seeds 1 … 2**31 - 1 only: it rejects ``seed=0`` (keeping its previous
    random stream) and treats seeds <= 0 or >= 2**31 like seed 1, so Monte Carlo instances
    0 and 1 would be the same device. User seeds 0 … 2**31 - 2 therefore map one-to-one onto
    valid ngspice seeds by adding 1; anything else is refused (SpiceError naming the range).
    This is the only place the mapping is defined (used by :meth:`Netlist.render`, hence by
    :func:`pycosim.spice.run`, :func:`pycosim.spice.run_monte_carlo` and the characterisation).
    """
    check_seed(seed)
    return int(seed) + 1


def check_seed(seed, n: int = 1, what: str = "seed") -> None:
    """SpiceError unless *seed* … *seed* + *n* - 1 are all valid user seeds (0 … 2**31 - 2)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise SpiceError(f"{what} {seed!r}: must be an integer in 0..{SEED_LIMIT - 1}")
    if not 0 <= int(seed) or int(seed) + int(n) - 1 >= SEED_LIMIT:
        span = f" to {int(seed) + int(n) - 1}" if n > 1 else ""
        raise SpiceError(f"{what} {seed}{span}: seeds must lie in 0..{SEED_LIMIT - 1} "
                         f"(ngspice accepts seeds 1..2**31-1; pycosim passes seed + 1)")


_EXPR_BAD_RE = re.compile(r"[\s;$'\"]|(?<![<>=!])=(?!=)")


def check_value(name: str, value, where: str = "") -> None:
    """SpiceError unless *value* can be written into ``.param name=value`` unchanged.

    Accepted: finite int/float (and NumPy scalars), SPICE numbers with a scale suffix
    (``"2k"``, ``"1.5e-9"``), and single-token expressions (``"{a*2}"``, ``"agauss(1k,100,1)"``)
    with balanced brackets. Refused: NaN/inf, empty text, whitespace, a second ``=``
    (``-p r=1=2`` would otherwise run with r = 1), comment characters, unbalanced brackets.
    """
    pre = f"{where}: " if where else ""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(float(value)):
            raise SpiceError(f"{pre}parameter {name}={value!r}: not a finite number")
        return
    if not isinstance(value, str):
        raise SpiceError(f"{pre}parameter {name}={value!r}: expected a number or SPICE text, got {type(value).__name__}")
    text = value.strip()
    ok = bool(text)
    if ok and (text[0].isdigit() or text[0] in "+-."):
        ok = spice_number(text) is not None and math.isfinite(spice_number(text))
    elif ok:
        depth = {"(": 0, "{": 0}
        for ch in text:
            if ch in "({":
                depth[ch] += 1
            elif ch in ")}":
                depth["(" if ch == ")" else "{"] -= 1
                if min(depth.values()) < 0:
                    break
        ok = not any(depth.values()) and not _EXPR_BAD_RE.search(text)
    if not ok:
        raise SpiceError(f"{pre}parameter {name}={value!r}: not a valid value; give a number with an optional "
                         f"SPICE scale suffix (2k, 1.5e-9, 30f) or one expression such as {{a*2}}")


@dataclass(frozen=True)
class Netlist:
    """A netlist ready for ngspice.

    Attributes:
        text: self-contained SPICE text (includes expanded), before parameter substitution.
        source: the path it was read from, or ``"<text>"``.
        files: every file read (main file and included libraries), in order of first use.
        params: top-level ``.param`` defaults of the main file, name → value text.
    """

    text: str
    source: str
    files: tuple[Path, ...] = ()
    params: dict = field(default_factory=dict)

    @cached_property
    def _lines(self) -> tuple[str, ...]:
        return tuple(self.text.splitlines())

    @cached_property
    def _param_lines(self) -> tuple:
        """(index, assignments) of the top-level ``.param`` lines, found once per netlist."""
        return tuple(_top_level_param_lines(list(self._lines)))

    @cached_property
    def analyses(self) -> list[str]:
        """Analyses requested by dot-commands (``tran``, ``dc``, ``op`` …), in order."""
        return [m.group(1).lower() for line in self.text.splitlines() if (m := _ANALYSIS_RE.match(line))]

    @cached_property
    def meas_names(self) -> list[str]:
        """Names of the ``.meas`` results the netlist declares (lower case)."""
        return [m.group(1).lower() for line in self.text.splitlines() if (m := _MEAS_RE.match(line))]

    @cached_property
    def voltage_sources(self) -> dict[str, tuple[str, str]]:
        """Top-level independent voltage sources: lower-case name → (+ node, − node).

        Lets post-processing compute the power a source delivers, −(V₊ − V₋)·I.
        """
        out = {}
        depth = 0
        for line in self.text.splitlines():
            low = line.strip().lower()
            if low.startswith(".subckt"):
                depth += 1
            elif low.startswith(".ends"):
                depth = max(depth - 1, 0)
            elif depth == 0 and low[:1] == "v":
                parts = low.split()
                if len(parts) >= 3:
                    out[parts[0]] = (parts[1], parts[2])
        return out

    def render(self, params: dict | None = None, seed: int | None = None) -> str:
        """Final text: ``.param`` values overridden by *params* and ``.option seed=`` added
        (ngspice seed = *seed* + 1, see :func:`ngspice_seed`).

        Raises SpiceError for a parameter name that is not a top-level ``.param`` of the file,
        a value that is not a number or a single expression (:func:`check_value`), or a seed
        outside 0 … 2**31 - 2.
        """
        params = {str(k).lower(): v for k, v in (params or {}).items()}  # SPICE names ignore case
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            valid = ", ".join(sorted(self.params)) or "(none: the netlist has no top-level .param lines)"
            raise SpiceError(f"{self.source}: unknown parameter {', '.join(unknown)}; valid names: {valid}")
        for name, value in params.items():
            check_value(name, value, self.source)
        lines = self._lines
        if params:
            lines = _substitute(lines, {k.lower(): v for k, v in params.items()}, self._param_lines)
        else:
            lines = list(lines)
        if seed is not None:
            # the first line of a SPICE deck is its title; the option goes right after it
            lines.insert(1, f".option seed={ngspice_seed(seed)}")
        return "\n".join(lines) + "\n"


_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15, "a": 1e-18}
_NUMBER_RE = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(meg|mil|[tgkmunpfa])?[a-z]*$", re.IGNORECASE)


def spice_number(text) -> float | None:
    """Value of a SPICE number with scale suffix (``"30f"`` → 3e-14, ``"1meg"`` → 1e6);
    None for an expression (``"{a*2}"``). Numbers pass through as float."""
    if isinstance(text, (int, float)):
        return float(text)
    m = _NUMBER_RE.match(str(text).strip())
    if not m:
        return None
    return float(m.group(1)) * _SUFFIX.get((m.group(2) or "").lower(), 1.0)


def format_value(value) -> str:
    """SPICE text for a parameter value: floats with full precision, strings as given."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    try:  # numpy scalars
        return repr(float(value))
    except (TypeError, ValueError):
        return str(value)


def _split_assignments(body: str) -> list[tuple[str, str]]:
    """``"a=1 b={a*2}"`` → ``[("a", "1"), ("b", "{a*2}")]`` (comments after ``;`` or ``$`` dropped)."""
    body = re.split(r"\s[;$]|^[;$]", body, maxsplit=1)[0]
    matches = list(_ASSIGN_RE.finditer(body))
    out = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(body)
        out.append((m.group(1).lower(), body[m.end():end].strip().rstrip(",")))
    return out


def _top_level_param_lines(lines: list[str]):
    """Yield (index, assignments) of ``.param`` lines outside ``.subckt`` blocks."""
    depth = 0
    for i, line in enumerate(lines):
        low = line.strip().lower()
        if low.startswith(".subckt"):
            depth += 1
        elif low.startswith(".ends"):
            depth = max(depth - 1, 0)
        elif depth == 0 and (m := _PARAM_LINE_RE.match(line)):
            yield i, _split_assignments(m.group(1))


def _substitute(lines, params: dict, param_lines=None) -> list[str]:
    lines = list(lines)
    for i, assigns in (param_lines if param_lines is not None else _top_level_param_lines(lines)):
        if any(name in params for name, _ in assigns):
            comment = ""
            m = re.search(r"\s[;$].*$", lines[i])
            if m:
                comment = " " + m.group(0).strip()
            new = " ".join(f"{n}={format_value(params[n]) if n in params else v}" for n, v in assigns)
            lines[i] = f".param {new}{comment}"
    return lines


def _expand(path_or_text: str, base: Path, files: list[Path], stack: tuple[Path, ...], origin: str) -> list[str]:
    out = []
    for lineno, line in enumerate(path_or_text.splitlines(), 1):
        m = _INCLUDE_RE.match(line)
        if not m:
            out.append(line)
            continue
        name = m.group(1) or m.group(2) or m.group(3)
        inc = (base / Path(name).expanduser()).resolve()
        if not inc.is_file():
            alt = (spice_root() / name).resolve()
            if alt.is_file():
                inc = alt
            else:
                raise SpiceError(f"{origin}:{lineno}: included file not found: {name} (resolved to {inc})")
        if inc in stack:
            raise SpiceError(f"{origin}:{lineno}: recursive .include of {inc}")
        if inc not in files:
            files.append(inc)
        out.append(f"* ---- begin include {name} ----")
        try:
            inc_text = inc.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise SpiceError(f"{origin}:{lineno}: cannot read included file {inc}: {exc}") from None
        out.extend(_expand(inc_text, inc.parent, files, stack + (inc,), str(inc)))
        out.append(f"* ---- end include {name} ----")
    return out


def locate(netlist: str | Path) -> Path | None:
    """Path of a netlist given by name: an existing path, else a shipped file (``circuits/x.cir``).

    Returns None when *netlist* is SPICE text (it contains a newline).
    """
    if isinstance(netlist, str) and "\n" in netlist:
        return None
    p = Path(netlist).expanduser()
    if p.is_file():
        return p.resolve()
    for cand in (spice_root() / p, spice_root() / "circuits" / p, spice_root() / "circuits" / f"{p}.cir"):
        if cand.is_file():
            return cand.resolve()
    from pycosim.resources import list_benches

    raise SpiceError(
        f"netlist not found: {netlist} (not a file, nor a shipped circuit in {spice_root() / 'circuits'}; "
        f"shipped benches: {', '.join(list_benches())})"
    )


def load(netlist: str | Path) -> Netlist:
    """Read a netlist (path, shipped name or text), expand includes and find its parameters."""
    path = locate(netlist)
    if path is None:
        text, base, origin, files = str(netlist), Path.cwd(), "<text>", []
    else:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise SpiceError(f"cannot read netlist {path}: {exc}") from None
        base, origin, files = path.parent, str(path), [path]
    expanded = _expand(text, base, files, (path,) if path else (), origin)
    params: dict[str, str] = {}
    for _, assigns in _top_level_param_lines(text.splitlines()):
        params.update(assigns)
    return Netlist(text="\n".join(expanded), source=origin, files=tuple(files), params=params)


def sha256_text(text: str) -> str:
    """SHA-256 hex digest of a netlist text (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- library parameters ---------------------------------------------------------------------------
# A library parameter is a default a library file declares for every bench that includes it: a top-level
# ``.param NAME=VALUE`` of the library, or a ``NAME=VALUE`` default on one of its ``.subckt … params:``
# lines (continuation lines included), e.g. ``nu`` of ``.subckt pcm_dev`` in netlists/pcm.lib.
_BEGIN_RE = re.compile(r"^\* ---- begin include (.+) ----$")
_END_RE = re.compile(r"^\* ---- end include (.+) ----$")


def library_names() -> list[str]:
    """Names of the shipped libraries (file stems of ``netlists/*.lib``: ``cmos``, ``pcm``, …)."""
    return sorted(p.stem for p in (spice_root() / "netlists").glob("*.lib"))


def _param_tokens(text: str):
    """``(name, value)`` pairs of the ``NAME=VALUE`` tokens of *text* (a ``.subckt`` line's params)."""
    for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)\s*=\s*(\{[^}]*\}|[^\s{}]+)", text):
        yield m.group(1).lower(), m.group(2)


def _library_lines(lines):
    """Yield ``(index, kind, text)`` for the overridable lines of a library's text: kind ``"param"`` for a
    top-level ``.param`` line, ``"subckt"`` for the parameter part of a ``.subckt`` line and its ``+``
    continuation lines (text = the part after ``params:``, or the continuation after ``+``)."""
    depth = 0
    in_head = False
    for i, line in enumerate(lines):
        low = line.strip().lower()
        if in_head and low.startswith("+"):
            yield i, "subckt", line.strip()[1:]
            continue
        in_head = False
        if low.startswith(".subckt"):
            depth += 1
            in_head = True
            body = re.split(r"\bparams:", line, maxsplit=1, flags=re.IGNORECASE)
            if len(body) == 2:
                yield i, "subckt", body[1]
        elif low.startswith(".ends"):
            depth = max(depth - 1, 0)
        elif depth == 0 and _PARAM_LINE_RE.match(line):
            yield i, "param", _PARAM_LINE_RE.match(line).group(1)


def library_parameters(library: str) -> dict[str, str]:
    """The parameters of shipped library *library* (``"pcm"`` = ``netlists/pcm.lib``) a user may override for
    every bench at once: name (lower case) → default text, from its top-level ``.param`` lines and the
    defaults of its ``.subckt … params:`` lines (the first default where several subcircuits declare one).
    SpiceError naming the valid libraries for an unknown one."""
    path = spice_root() / "netlists" / f"{library}.lib"
    if not path.is_file():
        raise SpiceError(f"unknown library {library!r}; the libraries are: {', '.join(library_names())}")
    lines = path.read_text().splitlines()
    out: dict[str, str] = {}
    for _, kind, text in _library_lines(lines):
        pairs = _split_assignments(text) if kind == "param" else list(_param_tokens(text))
        for name, value in pairs:
            out.setdefault(name, value)
    return out


def check_library_params(overrides: dict) -> dict[str, dict[str, float]]:
    """Validate ``{library: {name: value}}`` overrides of library parameters: a shipped library, a parameter it
    declares (:func:`library_parameters`), a finite number (SPICE suffixes allowed: ``30f``). Returns them with
    lower-case names and float values; SpiceError naming the library, the parameter and the valid names."""
    out: dict[str, dict[str, float]] = {}
    for lib, params in (overrides or {}).items():
        known = library_parameters(str(lib))
        for name, value in (params or {}).items():
            key = str(name).lower()
            if key not in known:
                raise SpiceError(f"library {lib}: unknown parameter {name!r}; its parameters are: "
                                 + ", ".join(sorted(known)))
            number = None if isinstance(value, bool) else spice_number(value)
            if number is None or not math.isfinite(number):
                raise SpiceError(f"library parameter {lib}.{name}={value!r}: not a number (give e.g. 0.05, 1.5e-9 "
                                 f"or 30f)")
            out.setdefault(str(lib), {})[key] = float(number)
    return out


def with_library_params(net: Netlist, overrides: dict) -> Netlist:
    """A copy of *net* in which the included libraries' defaults are replaced by *overrides*
    (``{library: {name: value}}``, library = file stem of the included file, checked with
    :func:`check_library_params`): their top-level ``.param`` values and ``.subckt`` defaults, in the
    expanded text handed to ngspice. The files on disk are not touched; a library the netlist does not
    include is ignored. The bench's own top-level parameters (:attr:`Netlist.params`) are unchanged."""
    overrides = check_library_params(overrides)
    if not overrides:
        return net
    lines = list(net._lines)
    stack: list[str] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for i, line in enumerate(lines):
        if (m := _BEGIN_RE.match(line)):
            stack.append((Path(m.group(1)).stem, i))
        elif (m := _END_RE.match(line)) and stack:
            lib, start = stack.pop()
            spans.setdefault(lib, []).append((start + 1, i))
    for lib, params in overrides.items():
        for start, end in spans.get(lib, []):
            block = lines[start:end]
            for j, kind, text in list(_library_lines(block)):
                if kind == "param":
                    if any(name in params for name, _ in _split_assignments(text)):
                        block[j] = _substitute([block[j]], params, [(0, _split_assignments(text))])[0]
                    continue
                new = re.sub(r"(?<![\w.])([A-Za-z_]\w*)(\s*=\s*)(\{[^}]*\}|[^\s{}]+)",
                             lambda m: (f"{m.group(1)}={format_value(params[m.group(1).lower()])}"
                                        if m.group(1).lower() in params else m.group(0)), text)
                if new != text:
                    block[j] = block[j].replace(text, new, 1)
            lines[start:end] = block
    return Netlist(text="\n".join(lines), source=net.source, files=net.files, params=dict(net.params))


def library_param_shadowed(net: Netlist, library: str, name: str) -> bool:
    """True when *net* includes *library* and every subcircuit instance (``X`` line) of a subcircuit of that
    library declaring *name* passes *name* explicitly, so that the library's default of *name* cannot
    reach the simulation (e.g. ``pcm.mc``: the benches pass ``mc={mc}``; their own ``.param`` decides)."""
    name = name.lower()
    declaring: set[str] = set()
    inside = False
    for line in net._lines:
        if (m := _BEGIN_RE.match(line)):
            inside = Path(m.group(1)).stem == library
            continue
        if _END_RE.match(line):
            inside = False
            continue
        low = line.strip().lower()
        if inside and low.startswith(".subckt"):
            head = re.split(r"\bparams:", low, maxsplit=1)
            if len(head) == 2 and any(n == name for n, _ in _param_tokens(head[1])):
                declaring.add(low.split()[1])
    if not declaring:
        return False   # a top-level .param of the library, or a library the netlist does not include
    uses = passes = 0
    for line in net._lines:
        low = line.strip().lower()
        if not low.startswith("x"):
            continue
        tokens = low.split()
        plain = [t for t in tokens[1:] if "=" not in t]
        if plain and plain[-1] in declaring:
            uses += 1
            passes += any(n == name for n, _ in _param_tokens(low))
    return uses > 0 and uses == passes
