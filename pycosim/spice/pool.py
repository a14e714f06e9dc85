"""Independent simulations in parallel worker processes.

ngspice's shared library is one global simulator per process, and its memory grows over
thousands of runs, so runs go to worker processes (:mod:`pycosim.spice.worker`, fresh
interpreters started with ``subprocess``: no ``fork`` of a process holding ngspice, which can
deadlock, and user scripts need no ``if __name__ == "__main__"`` guard), each replaced after
``recycle_after`` tasks. A worker that dies (e.g. a crash inside ngspice) fails only its job. Cache hits are served in the parent without starting a worker;
results are returned in the order of the jobs and are identical to serial runs (each run
is deterministic given its netlist, parameters and seed).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading

from pycosim.errors import SpiceError
from pycosim.spice import cache as _cache
from pycosim.spice.engine import execute, library_identity
from pycosim.spice.netlist import Netlist, load
from pycosim.spice.result import Result


def default_workers() -> int:
    """Worker count: ``$PYCOSIM_JOBS`` or the number of usable CPU cores."""
    env = os.environ.get("PYCOSIM_JOBS")
    if env:
        return max(1, int(env))
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
        except (EOFError, BrokenPipeError, OSError):
            code = self.proc.wait()
            self.proc = None
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
            self.proc = None


def run_many(jobs: list[dict], *, workers: int | None = None, cache: bool = True,
             progress: bool | str = False, recycle_after: int = 200,
             errors: str = "raise") -> list[Result | SpiceError]:
    """Run independent simulations, in parallel when ``workers > 1``.

    Args:
        jobs: each a dict with ``netlist`` (path, shipped name, text or Netlist) and optional
            ``params`` (dict), ``seed`` (int) and ``keep`` (vector names to keep).
        workers: processes to use (default :func:`default_workers`); 1 runs in this process.
        cache: serve and store results in the on-disk cache.
        progress: show a progress bar (a string is used as its label).
        recycle_after: tasks per worker process before it is replaced (bounds memory growth).
        errors: ``"raise"`` stops at the first failing job; ``"return"`` puts the SpiceError
            (message prefixed with the job index, parameters and seed) in that job's slot.

    Returns:
        list of :class:`Result`, one per job, in the order of *jobs*.

    Raises:
        SpiceError: the first failing job's error, prefixed with its index, parameters and seed.
    """
    workers = default_workers() if workers is None else max(1, int(workers))
    loaded: dict[int, Netlist] = {}
    nets = []
    for job in jobs:
        n = job["netlist"]
        if not isinstance(n, Netlist):
            k = id(n) if not isinstance(n, str) else hash(n)
            if k not in loaded:
                loaded[k] = load(n)
            n = loaded[k]
        nets.append(n)
    results: list[Result | None] = [None] * len(jobs)
    keys: list[str | None] = [None] * len(jobs)
    todo = []
    lib = library_identity() if cache else ""
    for i, (net, job) in enumerate(zip(nets, jobs)):
        params, seed = job.get("params"), job.get("seed")
        if cache:
            keys[i] = _cache.key(net.render(params, seed), params, lib, seed, job.get("keep"))
            hit = _cache.get(keys[i])
            if hit is not None:
                results[i] = hit
                continue
        else:
            net.render(params, seed)  # validate parameter names before starting workers
        todo.append(i)

    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="run",
                   desc=progress if isinstance(progress, str) else "ngspice", leave=False,
                   # redraw often on a terminal, rarely into a log file
                   mininterval=0.2 if sys.stderr.isatty() else 15.0)

    def done(i: int, res: Result) -> None:
        results[i] = res
        if keys[i] is not None:
            _cache.put(keys[i], res)
        if bar is not None:
            bar.update()

    if errors not in ("raise", "return"):
        raise ValueError(f"errors={errors!r}: expected 'raise' or 'return'")

    def fail(i: int, exc: Exception):
        job = jobs[i]
        err = SpiceError(f"run {i} (params={job.get('params') or {}}, seed={job.get('seed')}): {exc}")
        if errors == "return":
            results[i] = err
            if bar is not None:
                bar.update()
            return None
        return err

    try:
        if workers == 1 or len(todo) <= 1:
            for i in todo:
                try:
                    done(i, execute(nets[i], jobs[i].get("params"), jobs[i].get("seed"), jobs[i].get("keep")))
                except SpiceError as exc:
                    if (err := fail(i, exc)) is not None:
                        raise err from None
        else:
            pending: queue.Queue = queue.Queue()
            for i in todo:
                pending.put(i)
            lock = threading.Lock()
            stop = threading.Event()
            first_error: list = []

            def serve(worker: _Worker):
                try:
                    while not stop.is_set():
                        try:
                            i = pending.get_nowait()
                        except queue.Empty:
                            return
                        try:
                            res = worker.call(nets[i], jobs[i].get("params"), jobs[i].get("seed"), jobs[i].get("keep"))
                        except SpiceError as exc:
                            with lock:
                                err = fail(i, exc)
                                if err is not None:
                                    first_error.append((i, err))
                                    stop.set()
                            continue
                        with lock:
                            done(i, res)
                finally:
                    worker.close()

            threads = [threading.Thread(target=serve, args=(_Worker(recycle_after),), daemon=True)
                       for _ in range(min(workers, len(todo)))]
            for t in threads:
                t.start()
            try:
                for t in threads:
                    while t.is_alive():
                        t.join(0.2)
            except BaseException:
                stop.set()
                raise
            if first_error:
                raise min(first_error, key=lambda e: e[0])[1] from None
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def run_monte_carlo(netlist, n: int, *, seed: int = 0, params: dict | None = None, **kwargs) -> list[Result]:
    """*n* Monte Carlo instances of one netlist, seeds ``seed, seed+1, …, seed+n-1``."""
    net = netlist if isinstance(netlist, Netlist) else load(netlist)
    return run_many([{"netlist": net, "params": params, "seed": seed + k} for k in range(n)], **kwargs)
