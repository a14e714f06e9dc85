"""The reference of every setting, generated from the code: ``docs/config.md`` and ``pycosim config``.

Every setting of a training run is a field of the :class:`pycosim.nn.config.TrainConfig` tree, and its
documentation is the ``name: text`` entry of the field in its dataclass's docstring (continuation lines
indented; ``a, b: text`` documents two fields at once). This module reads those entries and adds what the
code itself knows:

* the type (from the annotation; ``or "auto"`` for a field whose default is None),
* the unit (:func:`unit_of`): the unit suffix of the name (``_s`` seconds, ``_V``, ``_S``, …), a
  parenthesised unit in the entry (``(s)``, ``(network units)``, ``(examples)``, ``(dimensionless)``, …),
  or the kind of field (a switch, a choice of names, a multiplier or a fraction, which are dimensionless),
* the default, the allowed values (``Literal`` choices) and range (the one-line messages of the dataclass's
  range checks, ``must be …``), and which presets (:mod:`pycosim.nn.presets`) change the default.

:func:`problems` lists every field without a documentation entry or a unit (a test keeps it empty);
:func:`render_markdown` is the text of ``docs/config.md`` (a test compares the file with a fresh
generation: after adding a field, run ``pycosim config --docs docs/config.md``); :func:`explain` is one
key's documentation; :func:`resolved_toml` the resolved configuration as TOML.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from dataclasses import dataclass
from pathlib import Path

from pycosim import config as _cfg
from pycosim.errors import ConfigError

#: Unit suffixes of field names (the convention of the code base: the unit is the end of the name).
NAME_UNITS = {"_s": "s", "_V": "V", "_S": "S", "_C": "C", "_A": "A", "_J": "J", "_W": "W", "_Hz": "Hz",
              "_frac": "dimensionless (fraction)", "_bits": "bits", "_pulses": "pulses", "_resets": "RESET cycles",
              "_restarts": "restarts", "_devices": "devices"}
#: Units written in parentheses in a docstring entry, e.g. ``(s)``, ``(network units; …)``.
TEXT_UNITS = ("s", "V", "S", "C", "A", "J", "W", "Hz", "network units", "dimensionless", "examples", "epochs",
              "pulses", "bits", "devices", "neurons")
_TEXT_UNIT_RE = re.compile(r"\((" + "|".join(re.escape(u) for u in TEXT_UNITS) + r")(?=[)\s;,])")
#: An entry that begins with one of these words describes a pure number.
_DIMENSIONLESS_START = re.compile(r"^(multiplier|fraction|fractions|significance factor)\b", re.I)
_ENTRY_RE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*):\s+(.*)$")


@dataclass(frozen=True)
class Entry:
    """One setting of the tree: its dotted *path* (``section.key``), *section* ('' at the top level),
    *key*, *type* (text), *unit* (None if it could not be determined), *default* (TOML-like text),
    *allowed* (choices or range, text; '' if unconstrained), *doc* (the docstring entry, one paragraph;
    '' if missing) and *presets* (names of the presets whose value differs from the default, with it)."""

    path: str
    section: str
    key: str
    type: str
    unit: str | None
    default: str
    allowed: str
    doc: str
    presets: tuple[str, ...]


def field_docs(cls) -> dict[str, str]:
    """``{field: text}`` of the ``name: text`` entries of *cls*'s docstring (continuation lines joined with
    single spaces; an entry ``a, b: text`` gives both names the text)."""
    out: dict[str, str] = {}
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    names = {f.name for f in dataclasses.fields(cls)}
    current: list[str] | None = None
    indent = 0
    for line in lines:
        m = _ENTRY_RE.match(line)
        if m:
            keys = [k.strip() for k in m.group(2).split(",")]
            if all(k in names for k in keys):
                current, indent = keys, len(m.group(1))
                for k in keys:
                    out[k] = m.group(3).strip()
                continue
        if current is not None and line.strip() and len(line) - len(line.lstrip()) > indent:
            for k in current:
                out[k] += " " + line.strip()
        else:
            current = None
    return out


def _type_text(ann) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is typing.Literal:
        return "choice"
    if origin in (tuple, list):
        return f"list of {_type_text(args[0]) if args else 'values'}"
    if origin is not None and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return f'{" or ".join(_type_text(a) for a in inner)} or "auto"'
    return getattr(ann, "__name__", str(ann))


def unit_of(name: str, ann, text: str) -> str | None:
    """The unit of field *name* with annotation *ann* and documentation *text*, or None if none is stated:
    '—' for switches (bool), choices (Literal) and names (str), else the name's unit suffix
    (:data:`NAME_UNITS`), else a parenthesised unit in the text (:data:`TEXT_UNITS`), else 'dimensionless'
    for an entry that begins with 'multiplier' / 'fraction' / 'significance factor'."""
    base = [a for a in typing.get_args(ann) if a is not type(None)] or [ann]
    if all(a is bool for a in base):
        return "— (switch)"
    if typing.get_origin(ann) is typing.Literal or all(a is str for a in base):
        return "— (name)"
    for suffix, unit in NAME_UNITS.items():
        if name.endswith(suffix):
            return unit
    m = _TEXT_UNIT_RE.search(text)
    if m:
        return m.group(1)
    if _DIMENSIONLESS_START.match(text):
        return "dimensionless"
    return None


def _value_text(v) -> str:
    if v is None:
        return f'"{_cfg.AUTO}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(_value_text(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _ranges(cls) -> dict[str, str]:
    """``{field: 'must be …'}`` read from the one-line messages of *cls*.__post_init__'s range checks."""
    try:
        src = inspect.getsource(cls.__post_init__)
    except (AttributeError, OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    for m in re.finditer(r"for k in \(([^)]*)\):\s*\n\s*_check\([^\n]*?\{k\}=\{[^}]*\}: (must be[^\"]*)\"", src):
        for k in re.findall(r"\"(\w+)\"", m.group(1)):
            out.setdefault(k, m.group(2).strip())
    for m in re.finditer(r"\w+\.(\w+)=\{[^}]*\}: (must be[^\"]*)\"", src):
        out.setdefault(m.group(1), m.group(2).strip())
    return out


def _walk(cls, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    docs, ranges = field_docs(cls), _ranges(cls)
    for f in dataclasses.fields(cls):
        ann = hints[f.name]
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(ann) and isinstance(ann, type):
            yield from _walk(ann, path)
        else:
            yield path, prefix, f.name, ann, docs.get(f.name, ""), ranges.get(f.name, "")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        p = f"{prefix}.{k}" if prefix else k
        out.update(_flat(v, p) if isinstance(v, dict) else {p: v})
    return out


def entries(cls=None) -> list[Entry]:
    """Every setting of the dataclass tree *cls* (default :class:`pycosim.nn.config.TrainConfig`), in the
    order of the tree. For TrainConfig, *presets* lists the presets that change a default."""
    from pycosim.nn import config as ncfg
    from pycosim.nn import presets

    cls = cls or ncfg.TrainConfig
    default = _flat(_cfg.to_dict(cls(), auto=True))
    preset_values = {}
    if cls is ncfg.TrainConfig:
        preset_values = {n: _flat(_cfg.to_dict(presets.get(n), auto=True)) for n in presets.NAMES}
    out = []
    for path, section, key, ann, doc, rng in _walk(cls):
        allowed = rng
        if typing.get_origin(ann) is typing.Literal:
            allowed = ", ".join(_value_text(a) for a in typing.get_args(ann))
        elif ann is bool:
            allowed = "true, false"
        if type(None) in typing.get_args(ann):
            allowed = allowed.replace(" or None", "").replace("None", "")
            allowed = f'{allowed}, or "{_cfg.AUTO}"' if allowed else f'"{_cfg.AUTO}" or a value'
        changed = () if path == "preset" else tuple(
            f"{n} ({_value_text(v[path]) if v[path] != _cfg.AUTO else chr(34) + _cfg.AUTO + chr(34)})"
            for n, v in preset_values.items() if v.get(path) != default.get(path))
        dv = default.get(path)
        out.append(Entry(path=path, section=section, key=key, type=_type_text(ann),
                         unit=unit_of(key, ann, doc) if doc else None,
                         default=f'"{dv}"' if isinstance(dv, str) else _value_text(dv if not isinstance(dv, list)
                                                                                   else tuple(dv)),
                         allowed=allowed, doc=re.sub(r"\bNone =", f'"{_cfg.AUTO}" (None) =', doc),
                         presets=changed))
    return out


def problems(cls=None) -> list[str]:
    """One line per setting of *cls* (default TrainConfig) that has no docstring entry or no unit."""
    out = []
    for e in entries(cls):
        if not e.doc:
            out.append(f"{e.path}: no 'name: text' entry in the docstring of its dataclass")
        elif e.unit is None:
            out.append(f"{e.path}: no unit (name suffix such as _s, '(unit)' in the entry, or '(dimensionless)')")
    return out


def _find(key: str) -> Entry:
    es = entries()
    by_path = {e.path: e for e in es}
    if key in by_path:
        return by_path[key]
    tail = [e for e in es if e.key == key or e.path.endswith("." + key)]
    if len(tail) == 1:
        return tail[0]
    if tail:
        raise ConfigError(f"--explain {key!r}: ambiguous; one of {', '.join(e.path for e in tail)}")
    import difflib

    close = difflib.get_close_matches(key, list(by_path) + [e.key for e in es], n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ConfigError(f"--explain {key!r}: no such setting; {hint}settings: {', '.join(by_path)}")


def explain(key: str) -> str:
    """The documentation of one setting (a dotted path, or a key that names one field, e.g. ``read_v_V``):
    several lines of text. ConfigError (one line) for an unknown or ambiguous key."""
    e = _find(key)
    lines = [f"{e.path}", f"  type:     {e.type}", f"  unit:     {e.unit}", f"  default:  {e.default}"]
    if e.allowed:
        lines.append(f"  allowed:  {e.allowed}")
    lines.append(f"  presets:  {', '.join(e.presets) if e.presets else 'none changes it'}")
    lines.append("")
    import textwrap

    lines += textwrap.wrap(e.doc, 100, initial_indent="  ", subsequent_indent="  ")
    return "\n".join(lines)


def resolved_toml(preset: str | None = None, config_file=None, assignments=None) -> str:
    """The configuration a run with these options would use (:func:`pycosim.nn.train.resolve_config`) as the
    TOML text its ``config.toml`` gets (None settings as ``"auto"``)."""
    from pycosim.nn.train import resolve_config

    return _cfg.dumps_toml(resolve_config(preset, config_file, assignments))


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


HEADER = """# Configuration reference

<!-- Generated from the dataclass docstrings by `pycosim config --docs docs/config.md`; do not edit by hand
(tests/test_config_reference.py fails when this file and the code differ). -->

Every setting of a training run, section by section: the key as `-s SECTION.KEY=VALUE` (command line),
`[SECTION] KEY = VALUE` (a `--config` TOML file, a run's `config.toml`) or `"SECTION.KEY"` (a sweep's
`[vary]`, docs/sweeps.md) addresses it. `pycosim config [--preset P]` prints the resolved tree,
`pycosim config --explain KEY` one entry.

Values: numbers in the unit of the *unit* column; lists as `[500,250]` (`-s network.hidden=[64]` for one
element; quote it in a shell that expands brackets); `"auto"` for a setting whose default is derived
(from the calibration bundle or the rest of the configuration; what the documentation says it resolves
to) — a run writes `"auto"` into its `config.toml` and the value it resolved to into `metrics.json`
(`resolved_settings`, per layer). *Presets* lists the presets whose value differs from the default.
"""


def render_markdown() -> str:
    """The text of ``docs/config.md``: :data:`HEADER`, then one table per section (key, type, unit,
    default, allowed, presets) followed by each key's description."""
    from pycosim.nn import config as ncfg

    es = entries()
    sections: dict[str, list[Entry]] = {}
    for e in es:
        sections.setdefault(e.section, []).append(e)
    hints = typing.get_type_hints(ncfg.TrainConfig)
    parts = [HEADER]
    for sec, items in sections.items():
        title = sec or "top level"
        cls = hints.get(sec) if sec else ncfg.TrainConfig
        summary = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ") if cls else ""
        parts.append(f"## `{title}`\n\n{summary}\n")
        parts.append("| key | type | unit | default | allowed | presets that change it |")
        parts.append("|---|---|---|---|---|---|")
        for e in items:
            parts.append(f"| `{e.path}` | {_md(e.type)} | {_md(e.unit or '**missing**')} | `{_md(e.default)}` | "
                         f"{_md(e.allowed) or '—'} | {_md(', '.join(e.presets)) or '—'} |")
        parts.append("")
        for e in items:
            parts.append(f"- **`{e.path}`** — {_md(e.doc) or '**undocumented**'}")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def write_markdown(path) -> Path:
    """Write :func:`render_markdown` to *path* atomically; returns the path."""
    from pycosim.files import atomic_write_bytes

    return atomic_write_bytes(path, render_markdown().encode())
