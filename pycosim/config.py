"""Configuration mechanics: frozen dataclasses ↔ dicts ↔ TOML, and dotted-path overrides.

Every configurable part of pycosim (array, training, sweeps) is a frozen dataclass whose
fields carry their unit in the name or the docstring. This module is the one place that

* builds such a dataclass from a nested dict (:func:`from_dict`), checking every key and the
  type of every value against the field's annotation;
* turns it back into a dict / TOML text (:func:`to_dict`, :func:`dumps_toml`, :func:`save_toml`);
* applies overrides by dotted path, ``"transfer.interval=4000"`` (:func:`override`), which the
  CLI's ``-s`` option and the sweep runner share. A list setting takes ``[500,250]`` (or ``500,250``;
  ``[64]`` for one element, ``[]`` for none); a setting whose default is None ("auto": derived from the
  calibration bundle or the rest of the configuration) takes the text ``"auto"`` for that default.

The TOML text (:func:`dumps_toml`) records every field: a None value is written as the string
:data:`AUTO` and read back as None, so a run's ``config.toml`` lists every setting it used (the values
the "auto" settings resolved to are in the run's ``metrics.json``, ``resolved_settings``).

Errors are :class:`pycosim.errors.ConfigError` with one line that names the path, the value and
the allowed names or type. Every ``float`` field must be a finite number (infinity and NaN are refused
here, for all fields at once). Validation of *ranges* belongs to each dataclass's ``__post_init__``
(it raises ConfigError too), so a config object that exists is a valid one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import types
import typing
from pathlib import Path

from pycosim.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


#: The TOML / ``-s`` spelling of a None ("auto") setting: resolved by the code that uses it.
AUTO = "auto"


def check(cond: bool, msg: str) -> None:
    """Raise :class:`ConfigError` with the one-line *msg* unless *cond* holds (the range checks of the
    config dataclasses' ``__post_init__``)."""
    if not cond:
        raise ConfigError(msg)


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _is_dataclass_type(t) -> bool:
    return isinstance(t, type) and dataclasses.is_dataclass(t)


def _coerce(value, annotation, path: str):
    """Check/convert *value* to the field type *annotation* (int → float allowed, str → number from
    the command line, lists → tuples); ConfigError naming *path* otherwise."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.strip().lower() == AUTO)):
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{path}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{path}={value!r}: allowed values are {', '.join(map(repr, args))}")
        return value
    if _is_dataclass_type(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a table of {annotation.__name__} fields, got {value!r}")
        return from_dict(annotation, value, prefix=path)
    if origin in (tuple, list):
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("[") != text.endswith("]"):
                raise ConfigError(f"{path}={value!r}: expected a list such as [500,250] (unbalanced brackets)")
            if text.startswith("["):
                text = text[1:-1]
            value = [v for v in text.replace(",", " ").split() if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        item = args[0] if args else typing.Any
        return tuple(_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{path}={value!r}: expected true or false")
    if annotation is int:
        if isinstance(value, bool):
            raise ConfigError(f"{path}={value!r}: expected an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                try:
                    f = float(value)
                except ValueError:
                    f = None
                if f is not None and f.is_integer():
                    return int(f)
        raise ConfigError(f"{path}={value!r}: expected an integer")
    if annotation is float:
        if isinstance(value, bool):
            raise ConfigError(f"{path}={value!r}: expected a number")
        number = None
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise ConfigError(f"{path}={value!r}: expected a number")
        if not math.isfinite(number):   # every float setting, TOML files and -s alike: inf/nan never mean anything
            raise ConfigError(f"{path}={value!r}: must be a finite number (not infinity or NaN)")
        return number
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path}={value!r}: expected a string")
    return value


def from_dict(cls, data: dict, prefix: str = ""):
    """Build dataclass *cls* from a nested dict; unknown keys and wrong types raise ConfigError.

    Missing keys keep the field defaults; nested dataclass fields take nested dicts.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or cls.__name__}: expected a table, got {data!r}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(f"unknown setting {where}{unknown[0]}; valid names: {', '.join(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(obj, auto: bool = False) -> dict:
    """Nested plain dict of a config dataclass (tuples become lists). None values are dropped, or with
    *auto* written as :data:`AUTO` (what :func:`from_dict` reads back as None): the complete record of
    :func:`dumps_toml`. The dropping form is the one checkpoints and sweep keys are computed from."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = to_dict(v, auto)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        elif v is not None:
            out[f.name] = v
        elif auto:
            out[f.name] = AUTO
    return out


def paths(cls, prefix: str = "") -> list[str]:
    """Every settable dotted path of dataclass *cls* (e.g. ``transfer.interval``)."""
    hints = _hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        p = f"{prefix}.{f.name}" if prefix else f.name
        if _is_dataclass_type(hints[f.name]):
            out += paths(hints[f.name], p)
        else:
            out.append(p)
    return out


def override(obj, assignments) -> object:
    """Apply ``["a.b=value", ...]`` (or a dict ``{"a.b": value}``) to config *obj*; returns a new object.

    Values given as text are converted to the field's type; an unknown path raises ConfigError
    listing the valid paths of that level.
    """
    items = assignments.items() if isinstance(assignments, dict) else [_split(a) for a in assignments or []]
    data = to_dict(obj)
    hints_root = type(obj)
    for path, value in items:
        keys = path.split(".")
        cls, node = hints_root, data
        for depth, k in enumerate(keys):
            names = [f.name for f in dataclasses.fields(cls)]
            if k not in names:
                where = ".".join(keys[:depth]) or "top level"
                raise ConfigError(f"unknown setting {path!r} ({where} has: {', '.join(names)}); "
                                  f"all paths: {', '.join(paths(hints_root))}")
            ann = _hints(cls)[k]
            if depth == len(keys) - 1:
                if _is_dataclass_type(ann):
                    raise ConfigError(f"{path!r} is a section; set one of its fields, e.g. {path}.{paths(ann)[0]}")
                node[k] = _coerce(value, ann, path)
            else:
                if not _is_dataclass_type(ann):
                    raise ConfigError(f"{'.'.join(keys[:depth + 1])!r} is a value, not a section")
                node = node.setdefault(k, {})
                cls = ann
    return from_dict(hints_root, data)


def _split(assignment: str) -> tuple[str, str]:
    path, sep, value = str(assignment).partition("=")
    if not sep or not path.strip() or not value.strip():
        raise ConfigError(f"-s {assignment!r}: expected PATH=VALUE, e.g. transfer.interval=4000")
    return path.strip(), value.strip()


def dumps_toml(obj) -> str:
    """TOML text of a config dataclass (sections for nested dataclasses; every field, None as ``"auto"``)."""
    import tomli_w

    return tomli_w.dumps(to_dict(obj, auto=True))


def save_toml(obj, path: str | os.PathLike) -> Path:
    """Write *obj* as TOML atomically (temporary file in the same directory, then rename)."""
    from pycosim.files import atomic_write_bytes

    return atomic_write_bytes(path, dumps_toml(obj).encode())


def load_toml(cls, path: str | os.PathLike):
    """Read a TOML file into dataclass *cls*; ConfigError for a missing/unparsable file or bad keys."""
    from pycosim.limits import read_capped

    path = Path(path).expanduser()
    try:
        data = tomllib.loads(read_capped(path, "config file"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
