"""Run a netlist in ngspice's shared library (through PySpice) and return NumPy arrays.

Binding: PySpice 1.5's ``NgSpiceShared`` (cffi over ``libngspice.so.0``), verified with
Debian's ngspice 39 and NumPy 2; PySpice warns that it does not know version 39, which is
harmless for what we use (load a deck, run, read vectors) and is silenced here.

The shared library holds ONE global simulator per process, so a process runs one netlist at
a time; :func:`pycosim.spice.pool.run_many` fans independent runs out to worker processes.
After each run every plot and circuit is destroyed so memory stays bounded.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import logging
import math
import os
import re
import time
from pathlib import Path

import numpy as np

from pycosim.errors import SpiceError
from pycosim.spice import cache as _cache
from pycosim.spice.netlist import Netlist, load, sha256_text, spice_number
from pycosim.spice.result import Result

DEBIAN_HINT = "install the Debian packages ngspice and libngspice0 (apt-get install -y ngspice libngspice0)"

_NGSPICE = None  # the process's NgSpiceShared instance, created on first use
_ERROR_RE = re.compile(
    r"error|timestep too small|singular matrix|no convergence|simulation\(s\) aborted|"
    r"unknown (?:subckt|model|parameter)|could not find|is not a valid|too few nodes",
    re.IGNORECASE,
)
_MEAS_VALUE_RE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def library_path() -> str:
    """Path of ngspice's shared library (``PYCOSIM_NGSPICE_LIBRARY`` overrides the search).

    Raises SpiceError naming the Debian packages when it cannot be found.
    """
    env = os.environ.get("PYCOSIM_NGSPICE_LIBRARY")
    if env:
        if not Path(env).is_file():
            raise SpiceError(f"PYCOSIM_NGSPICE_LIBRARY={env} does not exist; {DEBIAN_HINT}")
        return env
    name = ctypes.util.find_library("ngspice")
    if name:
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
            if (Path(d) / name).exists():
                return str(Path(d) / name)
        return name
    raise SpiceError(f"ngspice shared library (libngspice.so) not found; {DEBIAN_HINT}")


def library_identity() -> str:
    """Identity of the installed ngspice library (real path, size, mtime) for cache keys.

    Cheap: reads file metadata only, never loads the simulator.
    """
    path = library_path()
    real = Path(path).resolve() if Path(path).exists() else Path(path)
    try:
        st = real.stat()
        return f"{real}:{st.st_size}:{int(st.st_mtime)}"
    except OSError:
        return str(real)


def _simulator():
    """The process-wide PySpice ``NgSpiceShared`` instance (created on first call)."""
    global _NGSPICE
    if _NGSPICE is not None:
        return _NGSPICE
    path = library_path()
    try:
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise SpiceError(f"PySpice is not installed ({exc}); pip install PySpice==1.5") from None
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    # ngspice's BSIM4 uses OpenMP; with several simulator processes on few cores, spinning
    # OpenMP threads slow every run down ~100x. Parallelism comes from processes instead.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    NgSpiceShared.LIBRARY_PATH = path
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _NGSPICE = NgSpiceShared.new_instance()
            _NGSPICE.exec_command("set num_threads=1")
    except OSError as exc:
        raise SpiceError(f"cannot load ngspice shared library {path}: {exc}; {DEBIAN_HINT}") from None
    _calibrate_gaussian_probe()
    return _NGSPICE


# --- Gaussian spare value -------------------------------------------------------------------
# ngspice draws transient Gaussian noise (trrandom type 2) with the polar Box-Muller method,
# which makes two values at a time and keeps the second in a static variable for the next call.
# `.option seed` reseeds the uniform generator but does not clear that spare, so after a run
# that drew an odd number of values, the next run with the same seed starts with the previous
# run's leftover: same seed, shifted noise (seen with ngspice 39). Before every seeded run we
# bring the generator to the "no spare" state with a one-draw probe deck (about 1 ms):
# seeded with 1, a clean generator returns the fresh value A (and keeps a spare, which a second
# probe consumes); a generator holding a spare returns the stale value (and is then clean).
_PROBE = ("pycosim gaussian-spare probe\n.option seed=1\nvz z 0 dc 0 trrandom(2 1 0 1 0)\nrz z 0 1\n"
          ".tran 0.1 0.5\n.end\n")
_RANDOM_RE = re.compile(r"trrandom|trnoise|gauss|unif|\blimit\s*\(", re.IGNORECASE)
_GAUSS_FRESH: float | None = None


def _probe_draw() -> float:
    ng = _simulator()
    ng.clear_output()
    with contextlib.redirect_stdout(io.StringIO()):
        ng.load_circuit(_PROBE)
        ng.run()
    z = np.real(np.asarray(ng.plot(None, ng.last_plot)["z"]._data))
    _cleanup(ng)
    return float(z[-1])


def _calibrate_gaussian_probe() -> None:
    """Record the probe's fresh value A. Called right after the library is loaded into this
    process, the only moment its generator is known to hold no spare (a run without a seed could
    leave one later); the second draw consumes the spare the first one left."""
    global _GAUSS_FRESH
    if _GAUSS_FRESH is None:
        _GAUSS_FRESH = _probe_draw()
        _probe_draw()


def _clear_gaussian_spare() -> None:
    """Leave ngspice's Gaussian generator without a stored spare value (see the note above)."""
    _simulator()
    if _probe_draw() == _GAUSS_FRESH:
        _probe_draw()


def ngspice_version() -> str:
    """Version of the ngspice shared library, e.g. ``"39"`` (loads the library)."""
    return str(_simulator().ngspice_version)


_NOISE = ("cannot recover and awaits to be detached", "please check your input netlist", "note:",
          "using sparse", "warning: can't find the initialization file", "trying gmin", "supplies reduced",
          "further gmin increment")


def _error_lines(stdout: str, stderr: str = "", all_stderr: bool = False) -> list[str]:
    """ngspice's complaint lines: error-looking lines (all of stderr when *all_stderr*).

    Failed ``.meas`` lines are excluded (they are reported as NaN) and so is boiler-plate.
    """
    out = []
    for line in stdout.splitlines() + ["\x00"] + stderr.splitlines():
        s = line.strip()
        low = s.lower()
        if not s or "measure" in low or low.startswith(".meas") or any(n in low for n in _NOISE):
            continue
        if line == "\x00":
            continue
        if (all_stderr and s in stderr) or _ERROR_RE.search(s):
            if s not in out:
                out.append(s)
    if len(out) > 8:  # keep ngspice's first complaint and its final verdict
        out = out[:3] + ["…"] + out[-5:]
    return out


def _reload() -> None:
    """Detach and re-open the shared library after ngspice declared itself unrecoverable.

    ngspice's shared mode stops accepting commands after a fatal netlist error ("cannot
    recover and awaits to be detached"); unloading the library resets its global state.
    """
    global _NGSPICE
    ng = _NGSPICE
    if ng is None:
        return
    from PySpice.Spice.NgSpice.Shared import ffi

    try:
        ffi.dlclose(ng._ngspice_shared)
        ng._ngspice_shared = ffi.dlopen(ng.library_path)
        ng._ngspice_id = 0
        with contextlib.redirect_stdout(io.StringIO()):
            ng._init_ngspice(False)
            ng.exec_command("set num_threads=1")
        ng.clear_output()
    except Exception:  # pragma: no cover - fall back to a fresh instance on next use
        _NGSPICE = None


def _parse_meas(stdout: str, names: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    in_block = False
    for line in stdout.splitlines():
        if "Measurements for" in line:
            in_block = True
            continue
        if in_block and (m := _MEAS_VALUE_RE.match(line)):
            found[m.group(1).lower()] = float(m.group(2))
    return {n: found.get(n, math.nan) for n in names} | {k: v for k, v in found.items() if k not in names}


def _simulate(net: Netlist, text: str) -> tuple[dict[str, dict[str, np.ndarray]], str, str]:
    """Load *text* into ngspice, run it, return (plots, stdout, stderr); plots newest last."""
    ng = _simulator()
    ng.clear_output()
    analysis = ",".join(net.analyses) or "(none)"
    try:
        ng.load_circuit(text)
    except Exception:  # PySpice raises a bare NameError subclass on parse errors
        err = _error_lines(ng.stdout, ng.stderr, all_stderr=True) or ["ngspice rejected the netlist"]
        _reload()
        raise SpiceError(f"{net.source}: ngspice could not parse the netlist ({analysis}): " + " | ".join(err)) from None
    parse_err = _error_lines(ng.stdout, ng.stderr)
    if parse_err:
        _reload()
        raise SpiceError(f"{net.source}: ngspice reported errors in the netlist ({analysis}): " + " | ".join(parse_err))
    try:
        ng.run()
    except Exception as exc:
        err = _error_lines(ng.stdout, ng.stderr, all_stderr=True) or [str(exc)]
        _reload()
        raise SpiceError(f"{net.source}: simulation failed ({analysis}): " + " | ".join(err)) from None
    out, err_text = ng.stdout, ng.stderr
    run_err = _error_lines(out, err_text)
    names = [p for p in ng.plot_names if p != "const"]
    if run_err or not names:
        _reload()
        msg = " | ".join(run_err) or "no analysis produced output (does the netlist have .tran/.dc/.op?)"
        raise SpiceError(f"{net.source}: simulation failed ({analysis}): {msg}")
    plots: dict[str, dict[str, np.ndarray]] = {}
    for name in reversed(names):  # ngspice lists the newest plot first
        plot = ng.plot(None, name)
        vecs = {}
        for key, vec in plot.items():
            arr = np.asarray(vec._data)
            vecs[key.lower()] = arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64, copy=True)
        plots[name] = vecs
    _cleanup(ng)
    return plots, out, err_text


def _cleanup(ng) -> None:
    for cmd in ("destroy all", "remove_circuit"):
        with contextlib.suppress(Exception):
            ng.exec_command(cmd)


def execute(net: Netlist, params: dict | None = None, seed: int | None = None,
            keep: tuple[str, ...] | None = None) -> Result:
    """Run a loaded :class:`Netlist` in this process's simulator, without the cache.

    *keep*: names of the vectors to keep (the analysis axis is always kept); None keeps all.
    """
    text = net.render(params, seed)
    t0 = time.perf_counter()
    if seed is not None and _RANDOM_RE.search(text):
        _clear_gaussian_spare()
    plots, stdout, _ = _simulate(net, text)
    wall = time.perf_counter() - t0
    if keep is not None:
        wanted = {k.lower() for k in keep} | {"time", "frequency"}
        plots = {p: {k: v for k, v in vecs.items() if k in wanted or k.endswith("-sweep")}
                 for p, vecs in plots.items()}
    last = list(plots)[-1]
    analysis = re.sub(r"\d+$", "", last)
    meta = {
        "ngspice_version": ngspice_version(),
        "library": library_path(),
        "netlist_sha256": sha256_text(text),
        "source": net.source,
        "params": {k: v for k, v in (params or {}).items()},
        # every top-level parameter's value in this run (defaults as numbers where they are numbers)
        "all_params": {k: (spice_number(v) if spice_number(v) is not None else v)
                       for k, v in {**net.params, **{k.lower(): v for k, v in (params or {}).items()}}.items()},
        "seed": seed,
        "source_nodes": {k: list(v) for k, v in net.voltage_sources.items()},
        "wall_time_s": wall,
        "cached": False,
    }
    return Result(analysis=analysis, vectors=plots[last], meas=_parse_meas(stdout, net.meas_names),
                  meta=meta, analyses=plots)


def run(netlist: str | Path | Netlist, params: dict | None = None, *, seed: int | None = None,
        cache: bool = True, keep: tuple[str, ...] | None = None) -> Result:
    """Simulate one netlist and return its vectors, ``.meas`` values and provenance.

    Args:
        netlist: a path, a shipped name (``"circuits/pcm_reset.cir"``), SPICE text, or a
            :class:`Netlist` from :func:`pycosim.spice.netlist.load`.
        params: overrides of the netlist's top-level ``.param`` values (SI units).
        seed: Monte Carlo seed, passed to ngspice as ``.option seed=<seed>``; the same seed
            reproduces the same ``agauss``/``trrandom`` draws.
        cache: serve/store the result in the on-disk cache keyed by (expanded-netlist SHA-256,
            parameters, ngspice library identity, seed) — see :mod:`pycosim.spice.cache`.
        keep: vector names to keep in the result (smaller cache entries); None keeps all.

    Raises:
        SpiceError: missing ngspice, unknown parameter, parse error or failed analysis; the
            message carries ngspice's own error lines, the netlist path and the analysis.
    """
    net = netlist if isinstance(netlist, Netlist) else load(netlist)
    key = None
    if cache:
        key = _cache.key(net.render(params, seed), params, library_identity(), seed, keep)
        hit = _cache.get(key)
        if hit is not None:
            return hit
    result = execute(net, params, seed, keep)
    if key is not None:
        _cache.put(key, result)
    return result
