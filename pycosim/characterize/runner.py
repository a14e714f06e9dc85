"""Run the characterisation benches (Monte Carlo included) and assemble a calibration bundle.

Flow: each device module (:mod:`.pcm`, :mod:`.lsp`, :mod:`.integrator`) declares the bench
runs it needs (:func:`jobs`) and turns their results into scalars and tables
(:func:`extract`). All runs of all devices go to one worker pool, so the two cores stay busy;
the SPICE cache makes an unchanged re-run fast. The bundle is written atomically.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from pycosim import calibration as cal
from pycosim.errors import CalibrationError, ConfigError, SpiceError
from pycosim.characterize import integrator, lsp, pcm
from pycosim.resources import spice_root
from pycosim.spice import load, ngspice_version, run_many
from pycosim.spice.netlist import check_library_params, check_seed, sha256_file, spice_number, with_library_params

DEVICES = {"pcm": pcm, "lsp": lsp, "integrator": integrator}
DEFAULT_MC = {"pcm": 100, "lsp": 200, "integrator": 1}
DEFAULT_SEED = 2018


@dataclass(frozen=True)
class Options:
    """Characterisation settings.

    Attributes:
        mc_pcm: Monte Carlo instances of each PCM bench (device-to-device + cycle-to-cycle).
        mc_lsp: Monte Carlo instances of each 3T1C bench (FET mismatch).
        seed: first seed; instance k of a bench uses seed + k (0 <= seed + k < 2**31 - 1; each
            a distinct ngspice stream, see :func:`pycosim.spice.netlist.ngspice_seed`).
        skip_failed: record a failing instance in the bundle instead of aborting.
        bench_params: bench name → {.param name: value (SI units)} overriding the bench's
            defaults for every instance (e.g. ``{"pcm_set_staircase": {"vg_set": 1.4}}`` to
            characterise a stronger SET pulse); recorded in the bundle's provenance. Another bench
            with a top-level parameter of the same name that keeps a different value is reported
            (:class:`MixedConditionsWarning`).
        lib_params: library name → {parameter: value (SI units)} overriding a library default for
            every bench that includes the library (e.g. ``{"pcm": {"nu": 0.05}}``: the drift exponent
            of ``netlists/pcm.lib``'s ``pcm_dev``), see
            :func:`pycosim.spice.netlist.with_library_params`; the files on disk are not changed;
            recorded in the bundle's provenance (``lib_params``).
    """

    mc_pcm: int = DEFAULT_MC["pcm"]
    mc_lsp: int = DEFAULT_MC["lsp"]
    seed: int = DEFAULT_SEED
    skip_failed: bool = False
    bench_params: dict = field(default_factory=dict)
    lib_params: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("mc_pcm", "mc_lsp"):
            if int(getattr(self, name)) < 2:
                raise ConfigError(f"{name}={getattr(self, name)}: need at least 2 Monte Carlo instances")
        check_seed(self.seed, max(int(self.mc_pcm), int(self.mc_lsp), 1), "seed")
        unknown = sorted(set(self.bench_params) - set(bench_names()))
        if unknown:
            raise ConfigError(f"unknown bench {unknown[0]!r}; the characterisation benches are: "
                              + ", ".join(bench_names()))
        try:
            checked = check_library_params(self.lib_params)
        except SpiceError as exc:
            raise ConfigError(str(exc)) from None
        if "pcm" in checked:
            pcm.check_lib_params(checked["pcm"])
        for bench, params in self.bench_params.items():   # a PCM bench passes mc, md2d, mc2c, tnr ... to pcm_dev
            if bench in pcm.BENCHES:
                numbers = {str(k).lower(): spice_number(v) for k, v in (params or {}).items()
                           if not isinstance(v, bool)}
                pcm.check_lib_params({k: v for k, v in numbers.items() if v is not None}, f"-p {bench}")
        object.__setattr__(self, "lib_params", checked)


class MixedConditionsWarning(UserWarning):
    """A characterisation override leaves the benches under different conditions: ``-p BENCH.NAME`` where
    another bench keeps its own value of NAME, or a library parameter that no bench's simulation sees."""


def _bench_defaults(bench: str) -> dict:
    """Top-level ``.param`` defaults of a characterisation bench (lower-case names → SPICE text)."""
    return load(f"circuits/{bench}.cir").params


def mixed_conditions(options: Options) -> list[str]:
    """The overrides in *options* that leave the benches under different conditions, one sentence each:

    * ``bench_params``: for each overridden ``BENCH.NAME``, every other characterisation bench with a top-level
      ``.param`` of the same name (the same quantity, e.g. ``vg_set``, the word-line level of a SET pulse, in
      ``pcm_set_staircase`` and ``pcm_drift``) whose value — its own override, else its default — differs and
      that its runs do not set themselves (``pcm_drift`` sets ``tset`` per level);
    * ``lib_params``: a library parameter that no bench including the library can see, because every instance
      passes it explicitly (e.g. ``pcm.mc``; set the benches' own ``.param`` with ``-p`` instead), or whose
      library no bench includes.
    Parameter names are matched by name only (a bench's docstring says what each one means)."""
    from pycosim.spice.netlist import library_param_shadowed

    notes = []
    if not options.bench_params and not options.lib_params:
        return notes
    per_job = {b: {k.lower() for j in jobs for k in (j.get("params") or {})}
               for mod, mc in ((m, 2) for m in DEVICES.values()) for b, jobs in mod.jobs(mc, DEFAULT_SEED).items()}
    for bench, params in sorted(options.bench_params.items()):
        for name, value in params.items():
            name = name.lower()
            v = spice_number(value)
            others = []
            for other in bench_names():
                if other == bench or name in per_job.get(other, ()):
                    continue
                defaults = _bench_defaults(other)
                if name not in defaults:
                    continue
                own = {k.lower(): x for k, x in (options.bench_params.get(other) or {}).items()}
                kept = own.get(name, defaults[name])
                k = spice_number(kept)
                if v is None or k is None or abs(k - v) > 1e-12 * max(abs(k), abs(v)):
                    others.append(f"{other} keeps {name}={kept}")
            if others:
                notes.append(f"-p {bench}.{name}={value}: " + "; ".join(others)
                             + f" (pass -p BENCH.{name}={value} for each bench that should run at the same value)")
    for lib, params in sorted(options.lib_params.items()):
        nets = {b: load(f"circuits/{b}.cir") for b in bench_names()}
        users = [b for b, n in nets.items() if any(f.stem == lib and f.suffix == ".lib" for f in n.files)]
        if not users:
            notes.append(f"--lib-param {lib}.…: no characterisation bench includes netlists/{lib}.lib; "
                         f"the override changes nothing")
            continue
        for name in params:
            blind = [b for b in users if library_param_shadowed(nets[b], lib, name)]
            if len(blind) == len(users):
                notes.append(f"--lib-param {lib}.{name}: every bench passes {name} to the subcircuit explicitly, so "
                             f"the library default is not used; set the benches' own .param with -p BENCH.{name}=…")
            elif blind:
                notes.append(f"--lib-param {lib}.{name}: not seen by {', '.join(blind)} (their instances pass "
                             f"{name} explicitly)")
    return notes


#: Typical CPU time of one run of each bench (ms, ngspice 39, this package's defaults; measured with
#: ``benchmarks/characterize_time.py --profile``). Only the ORDER of the runs depends on it: the longest go
#: first, so that the two worker processes finish together instead of one idling while the other ends a
#: long run (longest-processing-time-first scheduling). Results do not depend on the order.
RUN_COST_MS = {"pcm_set_staircase": 135, "pcm_reset": 34, "pcm_read_iv": 100, "pcm_drift": 60,
               "pcm_read_noise": 410, "lsp_up_down": 48, "lsp_read_gv": 12, "lsp_steps": 44, "lsp_retention": 35,
               "lsp_reset": 31, "lsp_c2c": 1960, "lsp_read_noise": 720, "integrator_transfer": 15,
               "integrator_noise": 650, "integrator_diff": 32}
#: Worker processes are replaced after this many runs (ngspice leaks ~2 kB per run; a replacement costs a
#: Python start and an ngspice load, ~0.3 s): 2,000 runs hold ~4 MB of leaked memory per worker.
RECYCLE_AFTER = 2000


def run_cost_ms(bench: str, job: dict) -> float:
    """Expected CPU time (ms) of one bench run, for scheduling only (:data:`RUN_COST_MS`; a run that asks
    for a cycle-to-cycle staircase of ``np`` pulses is scaled accordingly)."""
    base = RUN_COST_MS.get(bench, 50.0)
    p = job.get("params") or {}
    if "np" in p:
        base *= max(0.1, float(p["np"]) / 20)
    return base


def _distinct(dicts: list[dict]) -> list[dict]:
    """The distinct dictionaries of *dicts*, in order of first appearance."""
    seen, out = set(), []
    for d in dicts:
        key = tuple(sorted((k, repr(v)) for k, v in d.items()))
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def bench_names() -> list[str]:
    """Every bench the characterisation runs."""
    return sorted({b for mod in DEVICES.values() for b in mod.BENCHES})


#: Bundles of earlier characterisations kept in the SPICE cache directory (``bundles/<key>``), newest first.
BUNDLE_CACHE_KEEP = 8


def _source_digest() -> str:
    """SHA-256 over pycosim's Python sources (what extracts the tables from the runs), NumPy's and SciPy's
    versions and the Python version: part of the key of a cached bundle (:func:`plan_key`)."""
    import hashlib
    import platform

    import numpy
    import scipy

    h = hashlib.sha256(f"{platform.python_version()} numpy {numpy.__version__} scipy {scipy.__version__}".encode())
    root = Path(__file__).resolve().parent.parent
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def plan_key(plan: list, options: Options, library: str) -> str:
    """Key of the bundle a characterisation *plan* produces: SHA-256 over every bench's expanded netlist text
    (library overrides included), every run's parameters, seed and kept vectors in plan order, the options
    that shape the bundle (skip_failed, lib_params), the ngspice library identity and :func:`_source_digest`.
    Equal keys = the same simulations and the same extraction code, hence the same bundle."""
    import hashlib
    import json

    h = hashlib.sha256()
    texts: dict[int, str] = {}
    for dev, bench, job in plan:
        net = job["netlist"]
        if id(net) not in texts:
            texts[id(net)] = hashlib.sha256(net.text.encode()).hexdigest()
        h.update(json.dumps([dev, bench, texts[id(net)], {k: repr(v) for k, v in sorted((job.get("params") or {}).items())},
                             job.get("seed"), list(job.get("keep") or [])]).encode())
    h.update(json.dumps({"skip_failed": bool(options.skip_failed), "lib_params": options.lib_params,
                         "library": library, "sources": _source_digest()}, sort_keys=True).encode())
    return h.hexdigest()


def _bundle_cache_dir() -> Path:
    from pycosim.spice import cache as _cache

    return _cache.cache_dir() / "bundles"


def _cached_bundle(key: str) -> cal.Bundle | None:
    """The bundle stored under *key* by an earlier characterisation, or None (absent or unreadable)."""
    d = _bundle_cache_dir() / key
    if not (d / cal.JSON_NAME).is_file():
        return None
    try:
        bundle = cal.load(d)
        import os

        os.utime(d)
        return bundle
    except Exception:  # noqa: BLE001 - a damaged entry is a miss (and is replaced)
        import shutil

        shutil.rmtree(d, ignore_errors=True)
        return None


def _store_bundle(key: str, bundle: cal.Bundle) -> None:
    """Keep a copy of *bundle* under *key* (atomically; failures ignored: the cache is optional), and only the
    :data:`BUNDLE_CACHE_KEEP` most recently used entries."""
    import shutil

    from pycosim.spice import cache as _cache

    if _cache.max_bytes() <= 0:
        return
    root = _bundle_cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        cal.save(cal.Bundle(scalars=bundle.scalars, tables=bundle.tables, provenance=dict(bundle.provenance)),
                 root / key)
        entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[BUNDLE_CACHE_KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
    except (OSError, CalibrationError):
        pass


def characterize(out_dir: str | Path, options: Options = Options(), *, workers: int | None = None,
                 cache: bool = True, progress: bool = True, plots_dir: str | Path | None = None) -> cal.Bundle:
    """Run all benches, extract the device tables and write a calibration bundle to *out_dir*.

    Returns the saved :class:`pycosim.calibration.Bundle`. Raises SpiceError naming the bench,
    instance and seed of a failing run (unless ``options.skip_failed``), CalibrationError
    if *out_dir* cannot be written. Nothing is written unless everything succeeded.

    With *cache*, every run is served from the SPICE cache when it was simulated before
    (:mod:`pycosim.spice.cache`), and an unchanged re-run — the same runs of the same netlists, options,
    ngspice and pycosim sources (:func:`plan_key`) — takes the bundle its first run made (kept in the
    cache directory under ``bundles/``), with a new ``created_utc``.
    """
    out_dir = cal.check_destination(out_dir, "--out")  # before any simulation: no result lost to a late check
    import warnings

    for note in mixed_conditions(options):
        warnings.warn(note, MixedConditionsWarning, stacklevel=2)
    if plots_dir is not None:
        from pycosim.plots import check_writable

        check_writable(plots_dir)
    mc = {"pcm": int(options.mc_pcm), "lsp": int(options.mc_lsp), "integrator": 1}
    plan = []  # (device, bench, job)
    for dev, mod in DEVICES.items():
        for bench, jobs in mod.jobs(mc[dev], options.seed).items():
            net = with_library_params(load(f"circuits/{bench}.cir"), options.lib_params)
            extra = options.bench_params.get(bench) or {}
            if extra:
                net.render(extra)  # unknown .param names fail here, with the valid names
            for job in jobs:
                plan.append((dev, bench, dict(job, netlist=net, params={**(job.get("params") or {}), **extra})))
    key = None
    if cache:
        from pycosim.spice.engine import library_identity

        key = plan_key(plan, options, library_identity())
        hit = _cached_bundle(key)
        if hit is not None:
            prov = dict(hit.provenance)
            prov.pop("tables_sha256", None)
            prov["created_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            bundle = cal.Bundle(scalars=hit.scalars, tables=hit.tables, provenance=prov)
            cal.save(bundle, out_dir)
            if plots_dir is not None:
                from pycosim.plots import plot_bundle

                plot_bundle(bundle, plots_dir)
            return bundle
    order = sorted(range(len(plan)), key=lambda k: -run_cost_ms(plan[k][1], plan[k][2]))  # longest first
    done = run_many([plan[k][2] for k in order], workers=workers, cache=cache, recycle_after=RECYCLE_AFTER,
                    progress="characterize" if progress else False, errors="return")
    results = [None] * len(plan)
    for k, res in zip(order, done):
        results[k] = res
    failed = []
    grouped: dict[str, dict[str, list]] = {d: {} for d in DEVICES}
    for (dev, bench, job), res in zip(plan, results):
        if isinstance(res, SpiceError):
            if not options.skip_failed:
                raise SpiceError(f"bench {bench}, instance seed {job.get('seed')}: {res} "
                                 f"(use --skip-failed to record it and go on)")
            failed.append({"bench": bench, "seed": job.get("seed"), "params": job.get("params") or {},
                           "error": str(res)[:500]})
            continue
        grouped[dev].setdefault(bench, []).append(res)
    scalars, tables = {}, {}
    for dev, mod in DEVICES.items():
        empty = [b for b in mod.BENCHES if not grouped[dev].get(b)]
        if empty:
            raise SpiceError(f"bench {empty[0]}: every instance failed ({len(failed)} failures recorded); "
                             f"first error: {failed[0]['error'] if failed else '?'}")
        s, t = mod.extract(grouped[dev], lib_params=options.lib_params)
        scalars[dev] = s
        tables.update({f"{dev}/{k}": v for k, v in t.items()})
    files = {}
    for f in {f for _, _, job in plan for f in job["netlist"].files}:
        rel = f.relative_to(spice_root()).as_posix() if f.is_relative_to(spice_root()) else str(f)
        files[rel] = sha256_file(f)
    provenance = {
        "ngspice_version": ngspice_version(),
        "files": dict(sorted(files.items())),
        "mc": {"pcm": mc["pcm"], "lsp": mc["lsp"]},
        "seed": options.seed,
        # library defaults overridden for every bench (--lib-param), on top of the files hashed above
        "lib_params": {lib: dict(sorted(p.items())) for lib, p in sorted(options.lib_params.items())},
        # per bench: number of runs and every distinct parameter set its instances used
        "benches": {b: {"runs": sum(1 for _, bb, _ in plan if bb == b),
                        "param_sets": _distinct([j.get("params") or {} for _, bb, j in plan if bb == b])}
                    for b in bench_names()},
        "failed": failed,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    bundle = cal.Bundle(scalars=scalars, tables=tables, provenance=provenance)
    cal.save(bundle, out_dir)
    if key is not None:
        _store_bundle(key, bundle)
    if plots_dir is not None:
        from pycosim.plots import plot_bundle

        plot_bundle(bundle, plots_dir)
    return bundle
