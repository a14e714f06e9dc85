"""Sweep files: parse, expand into training runs, validate every run before anything starts.

A sweep file is TOML (paths in it are relative to the file)::

    name = "lsp-asymmetry"                 # optional (default: the file's stem)
    base = "ambrogio2018"                  # a preset (pycosim.nn.presets) …
    # config = "../runs/a/config.toml"     # … or a full configuration file
    set = ["transfer.interval=500"]        # fixed dotted overrides of every run (or a [set] table)
    dataset = "mnist"                      # mnist, mnist-backrand[:SEED], idx:DIR or npz:FILE (default mnist)
    # calibration = "mycal"                # bundle of every run (default: the shipped one)
    seeds = [0, 1]                         # repeats: every point runs once per seed (training.seed)
    baseline = true                        # also run the float preset, same budget and seeds (default true)
    sampling = "grid"                      # grid (every combination) or random (samples points)
    # samples = 20                         # random: number of points
    # sampling_seed = 0                    # random: seed of the draw

    [budget]                               # training budget of every run (the default budget)
    epochs = 1
    train_subset = 2000                    # first K training examples (0 = all)
    test_subset = 1000                     # first K test examples (0 = all)

    [budget.full]                          # a named budget (--budget full): merged over [budget]
    epochs = 5                             # may also carry its own `set` list and a [budget.full.vary]
    train_subset = 0                       # table replacing entries of [vary]
    test_subset = 0

    [vary]                                 # the varied settings, by dotted path
    "lsp.up_down_ratio" = [0.6, 0.8, 1.0]  # a list of values (grid and random) …
    "pcm.c2c_scale" = { min = 0, max = 4, num = 5 }   # … or a range: grid needs num (linspace; log =
                                           #   true for geomspace), random draws uniformly (log-uniformly)
    calibration = ["default", "../cal_b"]  # calibration bundles as a varied setting ("default" = shipped)

:func:`load_sweep` returns a :class:`Sweep` whose :attr:`Sweep.tasks` are the training runs (every point ×
seed, then the float baselines), each with its fully resolved configuration. Every run's configuration is
built with :func:`pycosim.nn.train.resolve_config` and :func:`pycosim.nn.config.override`, so an unknown
dotted path, a value of the wrong type or out of range is a one-line :class:`ConfigError` before any
training starts. :attr:`Sweep.hash` is the SHA-256 of the canonical list of runs (configurations,
calibration contents, data set): the output directory stores it, so a different sweep is never mixed in.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pycosim import config as _cfg
from pycosim.errors import ConfigError, PycosimError

TOP_KEYS = ("name", "description", "base", "config", "set", "dataset", "calibration", "seeds", "baseline",
            "sampling", "samples", "sampling_seed", "budget", "vary")
BUDGET_KEYS = ("epochs", "train_subset", "test_subset", "set", "vary")
RANGE_KEYS = ("min", "max", "num", "log")
CALIBRATION = "calibration"   # the vary key of calibration bundles
DEFAULT_BUNDLE = ("default", "shipped", "")


@dataclass(frozen=True)
class Task:
    """One training run of a sweep.

    key: stable identity (SHA-256 prefix of configuration + calibration contents + data set): what the
        results journal records as finished.
    name: its run directory under ``DIR/runs/`` (``p003-s1``: point 3, seed 1; ``float-0-s1``: baseline).
    kind: 'point' or 'baseline'.
    point: index of the point (None for baselines).
    seed: training.seed.
    values: varied path → value of this point ('calibration' → the bundle as written in the sweep file).
    config: the resolved :class:`pycosim.nn.config.TrainConfig` as a nested dict (pycosim.config.to_dict).
    calibration: bundle directory (absolute), or None for the shipped bundle / no bundle (float).
    baseline: key of the float baseline run this point is compared with (None if none).
    dataset: data-set specification (pycosim.datasets.sources.load).
    """

    key: str
    name: str
    kind: str
    point: int | None
    seed: int
    values: dict
    config: dict
    calibration: str | None
    baseline: str | None
    dataset: str


@dataclass
class Sweep:
    """A validated sweep: its settings and every run it consists of (see the module docstring)."""

    name: str
    path: Path | None
    base: str
    varied: tuple[str, ...]
    sampling: str
    budget_name: str
    budget: dict
    seeds: tuple[int, ...]
    points: list[dict]
    tasks: list[Task]
    hash: str
    canonical: dict = field(repr=False, default_factory=dict)

    @property
    def n_points(self) -> int:
        """Number of points (combinations of varied values), each run once per seed."""
        return len(self.points)


def _read_toml(path: Path) -> dict:
    from pycosim.config import tomllib

    from pycosim.limits import read_capped

    try:
        text = read_capped(path, "sweep file")
    except FileNotFoundError:
        raise ConfigError(f"sweep file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)" or "(at end of document)"
        msg = str(exc)
        if msg.endswith("(at end of document)"):
            lines = text.split("\n")
            msg = msg.replace("(at end of document)",
                              f"(at line {len(lines)}, column {len(lines[-1]) + 1}: end of document)")
        raise ConfigError(f"{path}: not valid TOML: {msg}") from None


def _is_range(v) -> bool:
    return isinstance(v, dict) and bool(v) and set(v) <= set(RANGE_KEYS)


def _flatten(table: dict, where: str, prefix: str = "") -> dict:
    """{"lsp": {"up_down_ratio": [..]}} and {"lsp.up_down_ratio": [..]} → {"lsp.up_down_ratio": [..]}."""
    out = {}
    for k, v in table.items():
        p = f"{prefix}{k}"
        if isinstance(v, dict) and not _is_range(v):
            if not v:
                raise ConfigError(f"{where} {p}: empty table")
            out.update(_flatten(v, where, p + "."))
        else:
            if p in out:
                raise ConfigError(f"{where} {p}: given twice")
            out[p] = v
    return out


def _valid_paths() -> list[str]:
    from pycosim.nn.config import TrainConfig

    return [p for p in _cfg.paths(TrainConfig) if p != "preset"]


def check_path(path: str, where: str) -> None:
    """ConfigError naming *path* with the closest valid dotted paths and its section's paths if *path* is
    not a setting of :class:`pycosim.nn.config.TrainConfig`."""
    valid = _valid_paths()
    if path in valid:
        return
    near = difflib.get_close_matches(path, valid, n=3, cutoff=0.6)
    section = path.split(".")[0]
    same = [p for p in valid if p.split(".")[0] == section]
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    listing = (f" {section} has: {', '.join(same)}" if same
               else f" sections: {', '.join(sorted({p.split('.')[0] for p in valid}))}")
    raise ConfigError(f"{where}: unknown setting {path!r}{hint}{listing}")


def _annotation(path: str):
    from pycosim.nn.config import TrainConfig

    cls = TrainConfig
    for k in path.split("."):
        ann = typing.get_type_hints(cls)[k]
        cls = ann
    return cls


def _round(v: float) -> float:
    return float(f"{v:.6g}")


def _range_values(path: str, r: dict, where: str, sampling: str, n: int | None, rng) -> list:
    lo, hi = r.get("min"), r.get("max")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi)):
        raise ConfigError(f"{where} {path}: a range needs numbers min and max, got {r!r}")
    log = r.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where} {path}: log must be true or false, got {log!r}")
    if log and (lo <= 0 or hi <= 0):
        raise ConfigError(f"{where} {path}: a log range needs min, max > 0, got {lo}, {hi}")
    if hi < lo:
        raise ConfigError(f"{where} {path}: max {hi} < min {lo}")
    is_int = _annotation(path) is int
    if sampling == "grid":
        num = r.get("num")
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise ConfigError(f"{where} {path}: a range in a grid sweep needs num = N ≥ 1 (number of values), "
                              f"or give a list of values")
        vals = np.geomspace(lo, hi, num) if log else np.linspace(lo, hi, num)
    else:
        u = rng.random(n)
        vals = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) if log else lo + u * (hi - lo)
    return [int(round(v)) for v in vals] if is_int else [_round(float(v)) for v in vals]


#: Memory a run of a sweep holds in the sweep's process (its resolved configuration, task, journal record
#: and table row; measured ≈ 8 kB for the presets, rounded up).
BYTES_PER_RUN = 20_000


def check_size(n_points: int, where: str, seeds: int = 1) -> None:
    """ConfigError (one line, with the memory estimate) if a sweep of *n_points* points × *seeds* seeds
    cannot be held in this machine's memory (:data:`BYTES_PER_RUN` per run), before it is expanded."""
    from pycosim.limits import check_fits

    runs = n_points * max(seeds, 1)
    check_fits(runs * BYTES_PER_RUN, f"{where}: {n_points:,} point(s) × {seeds} seed(s) = {runs:,} runs",
               f"≈ {BYTES_PER_RUN // 1000} kB per run")


def _expand(vary: dict, where: str, sampling: str, samples: int | None, seed: int, n_seeds: int = 1) -> list[dict]:
    """The points: grid = every combination (in the file's order), random = *samples* independent draws."""
    if not vary:
        return [{}]
    if sampling == "grid":
        n_points = 1
        for path, spec in vary.items():
            n = spec.get("num") if _is_range(spec) else len(spec) if isinstance(spec, list) else 1
            n_points *= n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1
    else:
        n_points = samples
    check_size(n_points, where, n_seeds)
    rng = np.random.default_rng(seed)
    columns = {}
    for path, spec in vary.items():
        if _is_range(spec):
            if path == CALIBRATION:
                raise ConfigError(f"{where} calibration: expected a list of bundle directories")
            columns[path] = _range_values(path, spec, where, sampling, samples, rng)
        elif isinstance(spec, list):
            if not spec:
                raise ConfigError(f"{where} {path}: empty list of values")
            if sampling == "grid":
                columns[path] = list(spec)
            else:
                columns[path] = [spec[i] for i in rng.integers(0, len(spec), samples)]
        elif isinstance(spec, dict):
            raise ConfigError(f"{where} {path}: a range is {{min = …, max = …[, num = N][, log = true]}}, "
                              f"got keys {', '.join(spec)}")
        else:
            raise ConfigError(f"{where} {path}: expected a list of values or a range {{min, max, num}}, got {spec!r}")
    keys = list(columns)
    if sampling == "grid":
        return [dict(zip(keys, combo)) for combo in itertools.product(*(columns[k] for k in keys))]
    return [{k: columns[k][i] for k in keys} for i in range(samples)]


def _fixed_assignments(value, where: str) -> dict:
    """``set`` as a list of "a.b=v" strings or a table → {path: value} (strings converted by the config)."""
    if value is None:
        return {}
    if isinstance(value, list):
        out = {}
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"{where}: expected \"PATH=VALUE\" strings, got {item!r}")
            path, sep, v = item.partition("=")
            if not sep or not path.strip() or not v.strip():
                raise ConfigError(f"{where}: {item!r}: expected PATH=VALUE, e.g. transfer.interval=4000")
            out[path.strip()] = v.strip()
        return out
    if isinstance(value, dict):
        return _flatten(value, where)
    raise ConfigError(f"{where}: expected a list of \"PATH=VALUE\" strings or a table, got {value!r}")


def _int(value, where: str, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{where}={value!r}: expected a whole number ≥ {minimum}")
    return value


def _bundle_dir(value, where: str, root: Path) -> str | None:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a bundle directory (text), got {value!r}")
    if value.strip().lower() in DEFAULT_BUNDLE:
        return None
    p = Path(value).expanduser()
    return str((root / p).resolve() if not p.is_absolute() else p)


def bundle_digest(directory: str | None) -> str:
    """SHA-256 of a calibration bundle's files (calibration.json, tables.npz); 'shipped' for None."""
    from pycosim import calibration

    d = Path(directory) if directory else calibration.default_path()
    h = hashlib.sha256()
    for name in sorted(p.name for p in d.iterdir() if p.is_file() and not p.name.startswith(".")):
        h.update(name.encode())
        h.update((d / name).read_bytes())
    return h.hexdigest()


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _budget(raw: dict, name: str | None, where: str) -> tuple[dict, str]:
    b = raw.get("budget", {})
    if not isinstance(b, dict):
        raise ConfigError(f"{where} [budget]: expected a table")
    named = {k: v for k, v in b.items() if isinstance(v, dict) and k not in ("vary",)}
    default = {k: v for k, v in b.items() if k not in named}
    for k in default:
        if k not in BUDGET_KEYS:
            raise ConfigError(f"{where} [budget]: unknown key {k!r}; valid: {', '.join(BUDGET_KEYS)} "
                              f"and named budgets as [budget.NAME] tables")
    default["set"] = _fixed_assignments(default.get("set"), f"{where} [budget] set")
    if name in (None, "", "default"):
        return default, "default"
    if name not in named:
        raise ConfigError(f"{where}: no budget {name!r}; budgets: default"
                          + "".join(f", {n}" for n in named))
    for k in named[name]:
        if k not in BUDGET_KEYS:
            raise ConfigError(f"{where} [budget.{name}]: unknown key {k!r}; valid: {', '.join(BUDGET_KEYS)}")
    merged = {**default, **{k: v for k, v in named[name].items() if k not in ("set", "vary")}}
    merged["set"] = dict(default["set"])
    merged["set"].update(_fixed_assignments(named[name].get("set"), f"{where} [budget.{name}] set"))
    merged["vary"] = named[name].get("vary", {})
    return merged, name


def load_sweep(spec, budget: str | None = None) -> Sweep:
    """Read and validate a sweep (a TOML file path, or the already parsed dict); *budget* selects a
    ``[budget.NAME]`` table (None: the default ``[budget]``). Every run's configuration and every
    calibration bundle is checked; ConfigError / CalibrationError (one line) on the first problem."""
    if isinstance(spec, dict):
        raw, path, where, root = spec, None, "sweep", Path.cwd()
    else:
        path = Path(spec).expanduser()
        raw = _read_toml(path)
        where, root = str(path), path.parent
    unknown = [k for k in raw if k not in TOP_KEYS]
    if unknown:
        near = difflib.get_close_matches(unknown[0], TOP_KEYS, n=1)
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}{f' (did you mean {near[0]!r}?)' if near else ''}; "
                          f"valid keys: {', '.join(TOP_KEYS)}")
    bud, budget_name = _budget(raw, budget, where)
    if "base" in raw and "config" in raw:
        raise ConfigError(f"{where}: give either base (a preset) or config (a file), not both")
    preset = raw.get("base")
    config_file = raw.get("config")
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"{where}: base={preset!r}: expected a preset name")
    if config_file is not None:
        if not isinstance(config_file, str):
            raise ConfigError(f"{where}: config={config_file!r}: expected a file path")
        config_file = str((root / Path(config_file).expanduser()).resolve())
    sampling = raw.get("sampling", "grid")
    if sampling not in ("grid", "random"):
        raise ConfigError(f"{where}: sampling={sampling!r}: allowed values are 'grid', 'random'")
    samples = raw.get("samples")
    if sampling == "random":
        samples = _int(samples, f"{where}: samples", 1) if samples is not None else None
        if samples is None:
            raise ConfigError(f"{where}: random sampling needs samples = N (number of points)")
    elif samples is not None:
        raise ConfigError(f"{where}: samples is for sampling = 'random' (grid sweeps take every combination)")
    sampling_seed = _int(raw.get("sampling_seed", 0), f"{where}: sampling_seed")
    seeds = raw.get("seeds", [0])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = [seeds]
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"{where}: seeds={seeds!r}: expected a list of whole numbers, e.g. [0, 1]")
    seeds = tuple(_int(s, f"{where}: seeds", 0) for s in seeds)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: seeds={list(seeds)}: a seed is repeated")
    baseline = raw.get("baseline", True)
    if not isinstance(baseline, bool):
        raise ConfigError(f"{where}: baseline={baseline!r}: expected true or false")
    dataset = raw.get("dataset", "mnist")
    if not isinstance(dataset, str):
        raise ConfigError(f"{where}: dataset={dataset!r}: expected mnist, mnist-backrand[:SEED], idx:DIR or npz:FILE")
    from pycosim.datasets import sources

    if ":" in dataset and sources.takes_path(dataset):
        kind, _, loc = dataset.partition(":")
        loc_p = Path(loc).expanduser()
        dataset = f"{kind}:{loc_p if loc_p.is_absolute() else (root / loc_p).resolve()}"
    fixed_bundle = _bundle_dir(raw[CALIBRATION], f"{where}: calibration", root) if CALIBRATION in raw else None

    fixed = _fixed_assignments(raw.get("set"), f"{where}: set")
    fixed.update(bud["set"])
    vary_raw = raw.get("vary", {})
    if not isinstance(vary_raw, dict):
        raise ConfigError(f"{where}: vary: expected a table of dotted paths")
    vary = _flatten(vary_raw, f"{where} [vary]")
    if bud.get("vary"):
        extra = _flatten(bud["vary"], f"{where} [budget.{budget_name}.vary]")
        for p in extra:
            if p not in vary:
                raise ConfigError(f"{where} [budget.{budget_name}.vary]: {p!r} is not varied in [vary]")
        vary.update(extra)
    for p in list(fixed) + [p for p in vary if p != CALIBRATION]:
        check_path(p, f"{where} [{'vary' if p in vary else 'set'}]")
    for p in ("training.epochs", "training.train_subset", "training.test_subset", "training.seed"):
        if p in vary:
            raise ConfigError(f"{where} [vary]: {p} is part of the budget/seeds, not a varied setting")
    if CALIBRATION in vary and CALIBRATION in raw:
        raise ConfigError(f"{where}: calibration is both fixed and varied")

    from pycosim.nn import config as ncfg
    from pycosim.nn.train import resolve_config

    budget_assign = {}
    for k in ("epochs", "train_subset", "test_subset"):
        if k in bud:
            budget_assign[f"training.{k}"] = _int(bud[k], f"{where} [budget] {k}", 1 if k == "epochs" else 0)
    try:
        base_cfg = resolve_config(preset, config_file)
        base_cfg = ncfg.override(base_cfg, {**fixed, **budget_assign})
    except PycosimError as exc:
        raise ConfigError(f"{where}: base configuration: {exc}") from None

    points = _expand(vary, f"{where} [vary]", sampling, samples, sampling_seed, len(seeds))
    if sampling == "random":   # a draw may repeat a point (lists of choices): keep the first
        unique = {json.dumps(p, sort_keys=True, default=str): p for p in reversed(points)}
        points = [p for p in points if unique.get(json.dumps(p, sort_keys=True, default=str)) is p]
    bundles: dict[str | None, str] = {}

    def bundle_of(values) -> str | None:
        b = _bundle_dir(values[CALIBRATION], f"{where} [vary] calibration", root) if CALIBRATION in values \
            else fixed_bundle
        if b not in bundles:
            from pycosim import calibration

            if b is not None:
                calibration.load(b)      # CalibrationError (one line) if missing or broken
            bundles[b] = bundle_digest(b)
        return b

    tasks: list[Task] = []
    baselines: dict[str, Task] = {}
    base_keys: dict[str, int] = {}
    point_tasks = []
    for i, values in enumerate(points):
        dotted = {p: v for p, v in values.items() if p != CALIBRATION}
        desc = ", ".join(f"{p}={v!r}" for p, v in values.items())
        try:
            cfg_point = ncfg.override(base_cfg, dotted)
        except ConfigError as exc:
            raise ConfigError(f"{where} [vary] point {i} ({desc}): {exc}") from None
        bdir = bundle_of(values)
        for seed in seeds:
            cfg = ncfg.override(cfg_point, {"training.seed": seed})
            cdict = _cfg.to_dict(cfg)
            analog = cfg.synapse.scheme.analog
            key = _digest({"config": cdict, "bundle": bundles[bdir] if analog else None,
                           "dataset": dataset})[:16]
            bkey = None
            if baseline:
                net_train = {p: v for p, v in dotted.items() if p.startswith(("network.", "training."))}
                bcfg = ncfg.override(base_cfg, {**net_train, "training.seed": seed})
                bcfg = ncfg.float_baseline_of(bcfg)
                bdict = _cfg.to_dict(bcfg)
                bkey = _digest({"config": bdict, "bundle": None, "dataset": dataset})[:16]
                if bkey not in baselines:
                    group = _digest({k: v for k, v in bdict.items() if k != "training"}
                                    | {"training": {k: v for k, v in bdict["training"].items() if k != "seed"}})
                    j = base_keys.setdefault(group, len(base_keys))
                    baselines[bkey] = Task(bkey, f"float-{j}-s{seed}", "baseline", None, seed,
                                           {p: v for p, v in values.items() if p in net_train}, bdict, None, None,
                                           dataset)
            point_tasks.append(Task(key, f"p{i:03d}-s{seed}", "point", i, seed, dict(values), cdict,
                                    bdir if analog else None, bkey, dataset))
    seen: dict[str, str] = {}
    for t in point_tasks:
        if t.key in seen:
            raise ConfigError(f"{where} [vary]: runs {seen[t.key]} and {t.name} have the same configuration "
                              f"(a value is repeated)")
        seen[t.key] = t.name
    # baselines first: they are quick and every point's gap needs one
    tasks = list(baselines.values()) + point_tasks
    canonical = {"runs": [[t.name, t.key] for t in tasks]}
    name = raw.get("name") or (path.stem if path else "sweep")
    return Sweep(name=str(name), path=path, base=config_file or preset or "ambrogio2018",
                 varied=tuple(vary), sampling=sampling, budget_name=budget_name,
                 budget={k: base_cfg.training.__dict__[k] for k in ("epochs", "train_subset", "test_subset")},
                 seeds=seeds, points=points, tasks=tasks, hash=_digest(canonical), canonical=canonical)
