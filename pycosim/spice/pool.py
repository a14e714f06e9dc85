"""Independent simulations in parallel worker processes, streamed as they complete.

ngspice's shared library is one global simulator per process, and its memory grows over
thousands of runs, so runs go to worker processes (:mod:`pycosim.spice.worker`, fresh
interpreters started with ``subprocess``: no ``fork`` of a process holding ngspice, which can
deadlock, and user scripts need no ``if __name__ == "__main__"`` guard), each replaced after
``recycle_after`` tasks. A worker that dies (e.g. a crash inside ngspice) fails only its job.
Cache hits are served in the parent without starting a worker.

Two forms:

* :func:`iter_many` yields ``(index, Result)`` pairs as runs complete, holding only a few
  results at a time (the jobs may be a generator), so 100,000 Monte Carlo instances run in
  bounded memory when the caller writes each result away (``pycosim spice run --mc N -o``).
* :func:`run_many` collects them into a list in the order of the jobs.

Results are identical to serial runs (each run is deterministic given its netlist,
parameters and seed). Ctrl-C stops everything promptly: worker processes are killed and no
cache entry is written for an unfinished run.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator

from pycosim.errors import ConfigError, SpiceError
from pycosim.spice import cache as _cache
from pycosim.spice.engine import execute, library_identity, warn_failed_meas
from pycosim.spice.netlist import Netlist, check_seed, load
from pycosim.spice.result import Result


def check_workers(workers, what: str = "workers") -> int:
    """*workers* as a positive int; ConfigError naming *what* otherwise (0 is refused, not coerced)."""
    try:
        n = int(workers)
        if isinstance(workers, bool) or n != float(workers):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"{what}={workers!r}: expected a whole number of worker processes >= 1") from None
    if n < 1:
        raise ConfigError(f"{what}={n}: need at least 1 worker process")
    return n


def default_workers() -> int:
    """Worker count: ``$PYCOSIM_JOBS`` (a whole number >= 1) or the number of usable CPU cores."""
    env = os.environ.get("PYCOSIM_JOBS")
    if env is not None and env.strip():
        return check_workers(env.strip(), "PYCOSIM_JOBS")
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


class _Worker:
    """One ``python -m pycosim.spice.worker`` subprocess, restarted after *recycle_after* jobs."""

    def __init__(self, recycle_after: int):
        self.recycle_after = recycle_after
        self.proc = None
        self.done = 0

    def _start(self):
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        # ngspice's BSIM4 is built with OpenMP: N workers × N spinning threads on N cores
        # slows everything down by orders of magnitude, so each worker gets one thread.
        env["OMP_NUM_THREADS"] = "1"
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sys.executable, "-m", "pycosim.spice.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.done = 0

    def call(self, net, params, seed, keep=None) -> Result:
        from pycosim.spice.worker import receive, send

        if self.proc is None or self.proc.poll() is not None or self.done >= self.recycle_after:
            self.close()
            self._start()
        try:
            send(self.proc.stdin, (net, params, seed, keep))
            status, payload = receive(self.proc.stdout)
        except (EOFError, BrokenPipeError, OSError, ValueError):
            proc, self.proc = self.proc, None
            code = proc.wait() if proc is not None else "?"
            raise SpiceError(f"{net.source}: ngspice worker process died (exit status {code})") from None
        self.done += 1
        if status != "ok":
            raise SpiceError(payload)
        return payload

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def kill(self):
        """Stop the worker at once (Ctrl-C, or the caller stopped reading results)."""
        proc = self.proc
        if proc is not None:
            try:
                proc.kill()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):  # pragma: no cover
                pass


class _Jobs:
    """Thread-safe source of (index, netlist, job) from an iterable of job dicts."""

    def __init__(self, jobs: Iterable[dict]):
        self._it = enumerate(iter(jobs))
        self._lock = threading.Lock()
        self._loaded: dict = {}

    def next(self):
        with self._lock:
            try:
                i, job = next(self._it)
            except StopIteration:
                return None
            n = job["netlist"]
            if not isinstance(n, Netlist):
                k = ("s", n) if isinstance(n, str) else ("o", id(n))
                if k not in self._loaded:
                    self._loaded[k] = (load(n), n)  # keep n alive so id() stays unique
                n = self._loaded[k][0]
            return i, n, job


def _total(jobs, total):
    if total is not None:
        return int(total)
    try:
        return len(jobs)
    except TypeError:
        return None


def iter_many(jobs: Iterable[dict], *, workers: int | None = None, cache: bool = True,
              progress: bool | str = False, recycle_after: int = 200, errors: str = "raise",
              total: int | None = None) -> Iterator[tuple[int, Result | SpiceError]]:
    """Run independent simulations and yield ``(index, Result)`` as each one completes.

    Args:
        jobs: an iterable (a generator is fine: it is consumed lazily) of dicts with
            ``netlist`` (path, shipped name, text or Netlist) and optional ``params`` (dict),
            ``seed`` (int) and ``keep`` (vector names to keep).
        workers: processes to use (default :func:`default_workers`); 1 runs in this process
            when there are at most *recycle_after* jobs, else in one recycled worker process.
        cache: serve and store results in the on-disk cache (see :mod:`pycosim.spice.cache`).
        progress: show a progress bar with rate and ETA (a string is used as its label).
        recycle_after: tasks per worker process before it is replaced (bounds memory growth).
        errors: ``"raise"`` stops at the first failing job; ``"return"`` yields the SpiceError
            (message prefixed with the job index, parameters and seed) in place of its result.
        total: number of jobs, for the progress bar's ETA when *jobs* has no ``len``.

    Yields:
        ``(index, Result)`` (or ``(index, SpiceError)`` with ``errors="return"``) in completion
        order; at most a few results are held at any time (memory does not grow with the
        number of jobs). Closing the generator early stops the workers.

    Raises:
        SpiceError: the first failing job's error, prefixed with its index, parameters and seed.
        ConfigError: ``workers`` < 1 or ``$PYCOSIM_JOBS`` not a whole number >= 1.
    """
    if errors not in ("raise", "return"):
        raise ValueError(f"errors={errors!r}: expected 'raise' or 'return'")
    workers = default_workers() if workers is None else check_workers(workers)
    n_total = _total(jobs, total)
    requested = workers
    if n_total is not None:
        workers = max(1, min(workers, n_total))   # never more workers (threads, processes) than jobs
    source = _Jobs(jobs)
    lib = library_identity() if cache else ""

    def prepare(i, net, job):
        """Validate a job and look it up in the cache: (key, hit or None)."""
        params, seed = job.get("params"), job.get("seed")
        text = net.render(params, seed)  # unknown/bad parameters and seeds fail here
        if not cache:
            return None, None
        k = _cache.key(text, params, lib, seed, job.get("keep"))
        return k, _cache.get(k)

    def failure(i, job, exc) -> SpiceError:
        return SpiceError(f"run {i} (params={job.get('params') or {}}, seed={job.get('seed')}): {exc}")

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_total, unit="run", desc=progress if isinstance(progress, str) else "ngspice",
                   leave=False, smoothing=0.05,
                   # redraw often on a terminal, rarely into a log file
                   mininterval=0.2 if sys.stderr.isatty() else 15.0)

    def deliver(i, res, key, fresh):
        if isinstance(res, SpiceError):
            if errors == "raise":
                raise res
        else:
            if fresh and key is not None:
                _cache.put(key, res)
            warn_failed_meas(res)
        if bar is not None:
            bar.update()
        return i, res

    # ngspice leaks about 2 kB per run in the process that runs it (seen with ngspice 39, even
    # after destroy/remcirc), so a long serial stream goes to one recycled worker process and
    # this process's memory stays flat; short ones run here (no process start-up).
    in_process = requested == 1 and n_total is not None and n_total <= recycle_after
    try:
        if in_process:
            while (item := source.next()) is not None:
                i, net, job = item
                try:
                    key, hit = prepare(i, net, job)
                    res, fresh = (hit, False) if hit is not None else (
                        execute(net, job.get("params"), job.get("seed"), job.get("keep")), True)
                except SpiceError as exc:
                    key, res, fresh = None, failure(i, job, exc), False
                yield deliver(i, res, key, fresh)
            return
        yield from _parallel(source, workers, recycle_after, prepare, failure, deliver)
    finally:
        if bar is not None:
            bar.close()


def _parallel(source: _Jobs, workers: int, recycle_after: int, prepare, failure, deliver):
    out: queue.Queue = queue.Queue(maxsize=4 * workers)  # bounded: workers wait for a slow consumer
    stop = threading.Event()
    pool = [_Worker(recycle_after) for _ in range(workers)]
    done_marker = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def serve(worker: _Worker):
        try:
            while not stop.is_set():
                try:
                    item = source.next()
                except SpiceError as exc:  # a netlist that cannot be loaded
                    put((-1, exc, None, False))
                    return
                if item is None:
                    return
                i, net, job = item
                try:
                    key, hit = prepare(i, net, job)
                    if hit is not None:
                        res, fresh = hit, False
                    else:
                        res, fresh = worker.call(net, job.get("params"), job.get("seed"), job.get("keep")), True
                except SpiceError as exc:
                    key, res, fresh = None, failure(i, job, exc), False
                except Exception as exc:  # not ngspice's error (a cache file, the pipe, memory): stop loudly,
                    put((-1, SpiceError(f"job {i} ({net.source}): {type(exc).__name__}: {exc}"), None, False))
                    return                # never drop the job and leave its result empty
                if not put((i, res, key, fresh)):
                    return
        except Exception as exc:  # anything else this thread meets (the job source): stop loudly as well
            put((-1, SpiceError(f"ngspice worker thread: {type(exc).__name__}: {exc}"), None, False))
        finally:
            if stop.is_set():
                worker.kill()
            else:
                worker.close()
                put(done_marker)

    threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in pool]
    for t in threads:
        t.start()
    running = len(threads)
    try:
        while running:
            try:
                item = out.get(timeout=0.1)
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and out.empty():
                    break
                continue
            if item is done_marker:
                running -= 1
                continue
            i, res, key, fresh = item
            if i < 0:
                raise res
            yield deliver(i, res, key, fresh)
    finally:  # normal end, error, Ctrl-C or the caller closed the generator
        if running or any(t.is_alive() for t in threads):
            stop.set()
            for w in pool:
                w.kill()
        for t in threads:
            t.join(2.0)


def run_many(jobs: Iterable[dict], *, workers: int | None = None, cache: bool = True,
             progress: bool | str = False, recycle_after: int = 200,
             errors: str = "raise") -> list[Result | SpiceError]:
    """Run independent simulations, in parallel when ``workers > 1``; a list in job order.

    Same arguments as :func:`iter_many` (which this collects). Holds every result in memory:
    for very many runs, iterate :func:`iter_many` and write each result away instead.

    Returns:
        list of :class:`Result`, one per job, in the order of *jobs*.

    Raises:
        SpiceError: the first failing job's error, prefixed with its index, parameters and seed.
    """
    jobs = list(jobs)
    results: list = [None] * len(jobs)
    for i, res in iter_many(jobs, workers=workers, cache=cache, progress=progress,
                            recycle_after=recycle_after, errors=errors):
        results[i] = res
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise SpiceError(f"{len(missing)} of {len(jobs)} simulations returned no result (jobs {missing[:5]}...); "
                         "the worker pool stopped early")
    return results


def monte_carlo_jobs(netlist, n: int, *, seed: int = 0, params: dict | None = None, keep=None):
    """The job dicts of *n* Monte Carlo instances (seeds ``seed … seed + n - 1``), lazily.

    Raises SpiceError before any run when a seed of the range is invalid (see
    :func:`pycosim.spice.netlist.ngspice_seed`) or *n* < 1.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n={n!r}: need at least 1 Monte Carlo instance")
    check_seed(seed, n, "Monte Carlo seeds")
    net = netlist if isinstance(netlist, Netlist) else load(netlist)
    net.render(params, seed)  # parameter names and values fail here, before any run
    return ({"netlist": net, "params": params, "seed": seed + k, "keep": keep} for k in range(n))


def iter_monte_carlo(netlist, n: int, *, seed: int = 0, params: dict | None = None, keep=None,
                     **kwargs) -> Iterator[tuple[int, Result]]:
    """Stream *n* Monte Carlo instances: yields ``(k, Result)`` (instance k has seed ``seed + k``)
    in completion order, in bounded memory. Keyword arguments as :func:`iter_many`."""
    jobs = monte_carlo_jobs(netlist, n, seed=seed, params=params, keep=keep)
    return iter_many(jobs, total=n, **kwargs)


def run_monte_carlo(netlist, n: int, *, seed: int = 0, params: dict | None = None, **kwargs) -> list[Result]:
    """*n* Monte Carlo instances of one netlist, seeds ``seed, seed+1, …, seed+n-1`` (each a
    distinct ngspice stream, see :func:`pycosim.spice.netlist.ngspice_seed`), in seed order."""
    return run_many(list(monte_carlo_jobs(netlist, n, seed=seed, params=params)), **kwargs)


__all__ = ["iter_many", "run_many", "iter_monte_carlo", "run_monte_carlo", "monte_carlo_jobs",
           "default_workers", "check_workers"]
