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
import functools
import io
import logging
import math
import os
import re
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from pycosim.errors import SpiceError, SpiceWarning
from pycosim.spice import cache as _cache
from pycosim.spice.netlist import Netlist, load, ngspice_seed, sha256_text, spice_number
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
    name = _find_ngspice()
    if name:
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
            if (Path(d) / name).exists():
                return str(Path(d) / name)
        return name
    raise SpiceError(f"ngspice shared library (libngspice.so) not found; {DEBIAN_HINT}")


_FOUND: list[str] = []  # the library name once found (a failed search is repeated: it may be installed later)


def _find_ngspice() -> str | None:
    """``ctypes.util.find_library("ngspice")``, remembered once found: the search runs ``ldconfig -p``
    in a subprocess (about 10 ms), and the path is recorded in the metadata of every run."""
    if not _FOUND:
        name = ctypes.util.find_library("ngspice")
        if not name:
            return None
        _FOUND.append(name)
    return _FOUND[0]


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


_BG_EXITED = threading.Event()  # set by ngspice when its background simulation thread ends


def _bg_thread_running(exited, ngspice_id, user_data):
    """ngspice's BGThreadRunning callback: called with False when the background thread starts
    and True when it has ended (ngspice 39 passes its "exited" flag). PySpice 1.5's own callback
    returns None, which cffi reports as an ignored TypeError on every ``bg_run``."""
    if exited:
        _BG_EXITED.set()
    return 0


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
    NgSpiceShared._background_thread_running = staticmethod(_bg_thread_running)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ng = NgSpiceShared.new_instance()
            _command(ng, "set num_threads=1")
    except Exception as exc:  # a missing file, or a library that is not ngspice (no ngSpice_Init symbol)
        NgSpiceShared._instances = {}  # PySpice caches instances; do not keep a broken one
        raise SpiceError(f"cannot load ngspice shared library {path}: {type(exc).__name__}: {exc}; "
                         f"is it libngspice? {DEBIAN_HINT}") from None
    ng.send_char = _capture  # ordered (stream, line) capture, see _capture
    _NGSPICE = ng
    _calibrate_gaussian_probe()
    return _NGSPICE


# ngspice's output in the order it was printed: (stream, line), stream "stdout" or "stderr".
# PySpice keeps the two streams apart, which loses which complaint belongs to which .meas.
_OUTPUT: list[tuple[str, str]] = []


def _capture(message: str, ngspice_id) -> int:
    stream, _, content = message.partition(" ")
    _OUTPUT.append((stream, content))
    return 0


def _circ(ng, text: str) -> int:
    """Load SPICE *text* with ngSpice_Circ (no PySpice error heuristics); returns its status."""
    from PySpice.Spice.NgSpice.Shared import FFI, ffi

    lines = [line.encode("utf-8", "replace") for line in text.splitlines() if line] + [b""]
    buf = ffi.new("char[]", b"\0".join(lines) + b"\0")  # one NUL-separated block, kept alive for the call
    ptrs = ffi.new("char *[]", len(lines) + 1)
    off = 0
    for i, line in enumerate(lines):
        ptrs[i] = buf + off
        off += len(line) + 1
    ptrs[len(lines)] = FFI.NULL
    return int(ng._ngspice_shared.ngSpice_Circ(ptrs))


def _command(ng, cmd: str) -> int:
    """One ngspice command through ngSpice_Command (PySpice's ``exec_command`` treats any line
    on stderr, or the word "error" anywhere — a circuit title — as a failure)."""
    global _COMMANDS
    _COMMANDS += 1
    if _COMMANDS >= 1000:  # ngspice keeps every command in its history: free it now and then
        _COMMANDS = 0
        from PySpice.Spice.NgSpice.Shared import FFI

        ng._ngspice_shared.ngSpice_Command(FFI.NULL)
    return int(ng._ngspice_shared.ngSpice_Command(cmd.encode()))


_COMMANDS = 0


def _run_interruptibly(ng) -> None:
    """Run the loaded circuit in ngspice's background thread while this thread waits.

    ngspice's shared library has no SIGINT handler: a foreground ``run`` blocks the calling
    thread until the analysis ends, so Ctrl-C would wait for it. Here the main thread sleeps in
    short steps (interruptible); on KeyboardInterrupt (or any exception) the simulation is
    halted with ``bg_halt``, the circuit and its plots are discarded and the exception goes on.
    """
    lib = ng._ngspice_shared
    _BG_EXITED.clear()
    threads_before = _thread_count()
    if _command(ng, "bg_run"):
        raise SpiceError("ngspice refused to start the simulation (bg_run)")
    try:
        # ngSpice_running() is not yet true right after bg_run returns (the thread sets it), so
        # wait for the callback; the timeout keeps the wait interruptible on every platform.
        while not _BG_EXITED.wait(0.05):
            pass
        while lib.ngSpice_running():  # the flag is cleared just after the callback
            time.sleep(1e-5)
        _wait_thread_exit(threads_before)
    except BaseException:
        _command(ng, "bg_halt")
        deadline = time.monotonic() + 2.0
        while lib.ngSpice_running() and time.monotonic() < deadline:
            time.sleep(0.001)
        _wait_thread_exit(threads_before)
        _cleanup(ng)
        raise


def _thread_count() -> int:
    """Threads of this process (Linux: /proc/self/task); 0 where that is not available."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # pragma: no cover - not Linux
        return 0


def _wait_thread_exit(threads_before: int, timeout_s: float = 1.0) -> None:
    """Wait until ngspice's background thread has really exited, not just reported its end: the
    library may be unloaded later (:func:`_reload`), and unloading it while that thread still runs
    its last instructions crashes the process (seen: a segmentation fault in dlclose)."""
    deadline = time.monotonic() + timeout_s
    while _thread_count() > threads_before and time.monotonic() < deadline:
        time.sleep(1e-4)


# --- Gaussian spare value -------------------------------------------------------------------
# ngspice draws transient Gaussian noise (trrandom type 2) with the polar Box-Muller method,
# which makes two values at a time and keeps the second in a static variable for the next call.
# `.option seed` reseeds the uniform generator but does not clear that spare, so after a run
# that drew an odd number of values, the next run with the same seed starts with the previous
# run's leftover: same seed, shifted noise (seen with ngspice 39). Before every seeded run we
# bring the generator to the "no spare" state with a one-draw probe deck (about 1 ms):
# seeded with ngspice seed 1 (= user seed 0, see pycosim.spice.netlist.ngspice_seed), a clean
# generator returns the fresh value A (and keeps a spare, which a second probe consumes); a
# generator holding a spare returns the stale value (and is then clean).
_PROBE = (f"pycosim gaussian-spare probe\n.option seed={ngspice_seed(0)}\nvz z 0 dc 0 trrandom(2 1 0 1 0)\n"
          "rz z 0 1\n.tran 0.1 0.5\n.end\n")
_RANDOM_RE = re.compile(r"trrandom|trnoise|gauss|unif|\blimit\s*\(", re.IGNORECASE)
_GAUSS_FRESH: float | None = None


def _probe_draw() -> float:
    ng = _simulator()
    _OUTPUT.clear()
    if _circ(ng, _PROBE):  # pragma: no cover - the probe deck is fixed
        _reload()
        raise SpiceError("ngspice could not load the internal Gaussian probe deck")
    _run_interruptibly(ng)
    z = np.real(_read_plot(ng, ng.last_plot, {"z"})["z"])
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
_MEAS_FAILED_RE = re.compile(r"^\.meas\w*\s+\w+\s+([A-Za-z_]\w*)\b.*\bfailed!?\s*$", re.IGNORECASE)
_MEAS_FAILED_VALUE_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*failed\b", re.IGNORECASE)


def _error_lines(output: list[tuple[str, str]], netlist_text: str = "", all_stderr: bool = False) -> list[str]:
    """ngspice's complaint lines in *output*: error-looking lines (all of stderr when *all_stderr*).

    Not complaints: ngspice's echo of the netlist (its title after ``Circuit:``, a line of the
    netlist quoted back — a title or comment containing "error" is not an error), the
    ``.meas`` evaluation block (a failed measure is NaN, see :func:`_failed_meas`) and boiler-plate.
    """
    echo = None  # the netlist's lines, built only when a line looks like a complaint (rarely)
    out: list[str] = []
    in_meas = False
    for stream, line in output:
        s = line.strip()
        low = s.lower()
        if low.startswith("measurements for"):
            in_meas = True
            continue
        if low.startswith("doing analysis") or low.startswith("initial transient solution"):
            in_meas = False
        if (not s or in_meas or low.startswith("circuit:") or low.startswith(".meas")
                or low.startswith("warning") or any(n in low for n in _NOISE)):
            # a "Warning: singular matrix" during gmin/source stepping that ngspice recovers from
            # is not a failure; a real one ends in "simulation(s) aborted" / "Timestep too small"
            continue
        if (all_stderr and stream == "stderr") or _ERROR_RE.search(s):
            if echo is None:
                echo = {line.strip().lower() for line in netlist_text.splitlines() if line.strip()}
            if low not in echo and s not in out:
                out.append(s)
    if len(out) > 8:  # keep ngspice's first complaint and its final verdict
        out = out[:3] + ["…"] + out[-5:]
    return out


def _failed_meas(output: list[tuple[str, str]]) -> list[str]:
    """Names of the ``.meas`` statements ngspice reported as failed (lower case, in order)."""
    names: list[str] = []
    for _, line in output:
        m = _MEAS_FAILED_RE.match(line.strip()) or _MEAS_FAILED_VALUE_RE.match(line)
        if m and m.group(1).lower() not in names:
            names.append(m.group(1).lower())
    return names


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
            _command(ng, "set num_threads=1")
    except Exception:  # pragma: no cover - fall back to a fresh instance on next use
        _NGSPICE = None


def _parse_meas(output: list[tuple[str, str]], names: list[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    in_block = False
    for stream, line in output:
        if "Measurements for" in line:
            in_block = True
            continue
        if in_block and stream == "stdout" and (m := _MEAS_VALUE_RE.match(line)):
            found[m.group(1).lower()] = float(m.group(2))
    return {n: found.get(n, math.nan) for n in names} | {k: v for k, v in found.items() if k not in names}


@functools.lru_cache(maxsize=64)
def _has_elements(text: str) -> bool:
    """True when the deck has at least one circuit element after its title line."""
    for line in text.splitlines()[1:]:
        s = line.strip()
        if s and s[0] not in "*.+;$" and not s.startswith("//"):
            return True
    return False


# --- options that outlive their circuit ------------------------------------------------------
# Most ``.option`` values belong to the circuit and vanish with ``remcirc``. Some are taken over by
# ngspice's front end and stay in force for every later circuit of the process: seen with ngspice 39,
# ``.options interp`` (output resampled onto the .tran step) made the next, unrelated deck return
# interpolated vectors — a 3T1C retention bench then reported −2.6 mV/ms instead of +0.018 mV/ms.
# Options known to be per circuit are listed here; after a deck that sets any other option, the
# shared library is reloaded (a clean simulator, ~10 ms), so no run depends on what ran before it.
_CIRCUIT_OPTIONS = frozenset({
    "gmin", "reltol", "abstol", "vntol", "chgtol", "trtol", "pivtol", "pivrel", "itl1", "itl2", "itl3",
    "itl4", "itl5", "itl6", "gminsteps", "srcsteps", "method", "maxord", "temp", "tnom", "seed", "rshunt",
    "cshunt", "defl", "defw", "defad", "defas", "klu", "sparse", "noopiter", "gshunt", "ramptime", "xmu",
    "maxstep", "bypass", "trytocompact", "badmos3", "keepopinfo", "indverbosity", "acct", "noacct",
    "list", "nomod", "nopage", "node", "opts", "savecurrents",
})
_OPTION_LINE_RE = re.compile(r"^\s*\.options?\b(.*)$", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _persistent_options(text: str) -> tuple[str, ...]:
    """Names set on ``.option(s)`` lines of *text* that are not known per-circuit options."""
    names = []
    for line in text.splitlines():
        m = _OPTION_LINE_RE.match(line)
        if not m:
            continue
        body = re.split(r"[;$]", m.group(1), maxsplit=1)[0]
        for tok in re.sub(r"\s*=\s*", "=", body).split():
            name = tok.split("=", 1)[0].lower()
            if name and name not in _CIRCUIT_OPTIONS:
                names.append(name)
    return tuple(names)


def _wanted(name: str, wanted: set[str] | None) -> bool:
    """Whether vector *name* (lower case) is kept: all when *wanted* is None, else the named ones, the
    analysis axes (``time``, ``frequency``) and DC sweep axes (``…-sweep``)."""
    return wanted is None or name in wanted or name in ("time", "frequency") or name.endswith("-sweep")


def _read_plot(ng, plot_name: str, wanted: set[str] | None) -> dict[str, np.ndarray]:
    """The vectors of one ngspice plot as float64 (complex128) copies, names in lower case, in ngspice's
    order; only those :func:`_wanted` keeps are copied out of the simulator (the same arrays as
    PySpice's ``NgSpiceShared.plot``, without building its objects for the vectors that are dropped)."""
    from PySpice.Spice.NgSpice.Shared import FFI, ffi

    lib = ng._ngspice_shared
    names = lib.ngSpice_AllVecs(plot_name.encode("utf-8"))
    vecs: dict[str, np.ndarray] = {}
    i = 0
    while names[i] != FFI.NULL:
        vector_name = ffi.string(names[i]).decode("utf-8", "replace")
        i += 1
        key = vector_name.lower()
        if not _wanted(key, wanted):
            continue
        info = lib.ngGet_Vec_Info(f"{plot_name}.{vector_name}".encode("utf-8"))
        n = info.v_length
        if info.v_compdata == FFI.NULL:
            arr = np.frombuffer(ffi.buffer(info.v_realdata, n * 8), dtype=np.float64).copy()
        else:
            raw = np.frombuffer(ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
            arr = np.array(raw[0::2], dtype=np.complex128)
            arr.imag = raw[1::2]
        vecs[key] = arr
    return vecs


def _simulate(net: Netlist, text: str, keep: tuple[str, ...] | None = None
              ) -> tuple[dict[str, dict[str, np.ndarray]], list[tuple[str, str]]]:
    """Load *text* into ngspice, run it, return (plots, ordered output); plots newest last, each with
    the vectors :func:`_wanted` keeps of *keep* (None: all)."""
    analysis = ",".join(net.analyses) or "(none)"
    # *text* is ``net.render(...)``: rendering changes only .param lines and adds ``.option seed`` (a
    # per-circuit option), so the elements and options are those of net.text, checked once per netlist
    # (cached), not once per run
    if not _has_elements(net.text):
        raise SpiceError(f"{net.source}: the netlist has no circuit elements (empty or comment-only file?); "
                         f"a SPICE deck is a title line, then elements and an analysis such as .tran")
    if not net.analyses:
        raise SpiceError(f"{net.source}: the netlist has no analysis; add one of .op, .tran, .dc, .ac, .noise")
    ng = _simulator()
    _OUTPUT.clear()
    rc = _circ(ng, text)
    load_out = list(_OUTPUT)
    if rc:
        err = _error_lines(load_out, text, all_stderr=True) or ["ngspice rejected the netlist"]
        _reload()
        raise SpiceError(f"{net.source}: ngspice could not parse the netlist ({analysis}): " + " | ".join(err))
    parse_err = _error_lines(load_out, text)
    if parse_err:
        _reload()
        raise SpiceError(f"{net.source}: ngspice reported errors in the netlist ({analysis}): " + " | ".join(parse_err))
    _OUTPUT.clear()
    _run_interruptibly(ng)
    output = load_out + list(_OUTPUT)
    run_err = _error_lines(_OUTPUT, text)
    names = [p for p in ng.plot_names if p != "const"]
    if run_err or not names:
        _reload()
        msg = " | ".join(run_err) or "no analysis produced output (does the netlist have .tran/.dc/.op?)"
        raise SpiceError(f"{net.source}: simulation failed ({analysis}): {msg}")
    wanted = None if keep is None else {k.lower() for k in keep}
    plots = {name: _read_plot(ng, name, wanted) for name in reversed(names)}  # ngspice lists the newest first
    _cleanup(ng)
    if _persistent_options(net.text):
        _reload()
    return plots, output


def _cleanup(ng) -> None:
    """Discard every plot and the loaded circuit, so no later run can see them.

    ``remcirc`` is ngspice's command (``remove_circuit`` does not exist in ngspice 39: circuits
    used to pile up, and a deck that loaded nothing re-ran the previous one).
    """
    _command(ng, "destroy all")
    _command(ng, "remcirc")


def execute(net: Netlist, params: dict | None = None, seed: int | None = None,
            keep: tuple[str, ...] | None = None) -> Result:
    """Run a loaded :class:`Netlist` in this process's simulator, without the cache.

    *keep*: names of the vectors to keep (the analysis axis is always kept); None keeps all.
    """
    text = net.render(params, seed)
    t0 = time.perf_counter()
    if seed is not None and _RANDOM_RE.search(text):
        _clear_gaussian_spare()
    plots, output = _simulate(net, text, keep)
    wall = time.perf_counter() - t0
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
    meas = _parse_meas(output, net.meas_names)
    # measures ngspice reported as failed, and declared measures it printed no value for
    failed = [n for n in _failed_meas(output) if n in meas] + [
        n for n in net.meas_names if math.isnan(meas.get(n, math.nan))]
    meta["meas_failed"] = list(dict.fromkeys(failed))
    return Result(analysis=analysis, vectors=plots[last], meas=meas, meta=meta, analyses=plots)


def warn_failed_meas(result: Result) -> None:
    """Issue a :class:`pycosim.errors.SpiceWarning` for each ``.meas`` of *result* that failed
    (its value is NaN). Called where results reach the user (:func:`run`, the worker pool), so
    a measure that failed in a worker process is reported in the parent too."""
    for name in result.meta.get("meas_failed") or ():
        warnings.warn(f"{result.meta.get('source')}: .meas {name} could not be evaluated by ngspice "
                      f"(e.g. WHEN never reached, or outside the simulated interval); its value is NaN",
                      SpiceWarning, stacklevel=3)


def run(netlist: str | Path | Netlist, params: dict | None = None, *, seed: int | None = None,
        cache: bool = True, keep: tuple[str, ...] | None = None) -> Result:
    """Simulate one netlist and return its vectors, ``.meas`` values and provenance.

    Args:
        netlist: a path, a shipped name (``"circuits/pcm_reset.cir"``), SPICE text, or a
            :class:`Netlist` from :func:`pycosim.spice.netlist.load`.
        params: overrides of the netlist's top-level ``.param`` values (SI units).
        seed: Monte Carlo seed, 0 <= seed < 2**31 - 1, passed to ngspice as
            ``.option seed=<seed + 1>`` (see :func:`pycosim.spice.netlist.ngspice_seed`); the same
            seed reproduces the same ``agauss``/``trrandom`` draws, distinct seeds give distinct draws.
        cache: serve/store the result in the on-disk cache keyed by (expanded-netlist SHA-256,
            parameters, ngspice library identity, seed) — see :mod:`pycosim.spice.cache`.
        keep: vector names to keep in the result (smaller cache entries); None keeps all.

    Raises:
        SpiceError: missing ngspice, unknown parameter, bad parameter value or seed, empty
            netlist, parse error or failed analysis; the message carries ngspice's own error
            lines, the netlist path and the analysis. A ``.meas`` that ngspice cannot evaluate is
            not an error: its value is NaN and a :class:`pycosim.errors.SpiceWarning` names it.
        KeyboardInterrupt: Ctrl-C stops the simulation within milliseconds (nothing is cached).
    """
    net = netlist if isinstance(netlist, Netlist) else load(netlist)
    key = None
    if cache:
        key = _cache.key(net.render(params, seed), params, library_identity(), seed, keep)
        hit = _cache.get(key)
        if hit is not None:
            warn_failed_meas(hit)
            return hit
    result = execute(net, params, seed, keep)
    if key is not None:
        _cache.put(key, result)
    warn_failed_meas(result)
    return result
