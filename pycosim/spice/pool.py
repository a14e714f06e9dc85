"""Independent simulations in parallel worker processes.

ngspice's shared library is one global simulator per process, and its memory grows over
thousands of runs, so runs go to a pool of *forked* processes (cheap to start, and scripts
need no ``if __name__ == "__main__"`` guard) that are replaced by a fresh pool after every
``recycle_after`` tasks per worker. Cache hits are served in the parent without starting a worker;
results are returned in the order of the jobs and are identical to serial runs (each run
is deterministic given its netlist, parameters and seed).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor

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


def _job(net: Netlist, params: dict | None, seed: int | None) -> Result:
    return execute(net, params, seed)


def run_many(jobs: list[dict], *, workers: int | None = None, cache: bool = True,
             progress: bool | str = False, recycle_after: int = 200,
             errors: str = "raise") -> list[Result | SpiceError]:
    """Run independent simulations, in parallel when ``workers > 1``.

    Args:
        jobs: each a dict with ``netlist`` (path, shipped name, text or Netlist) and optional
            ``params`` (dict) and ``seed`` (int).
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
            keys[i] = _cache.key(net.render(params, seed), params, lib, seed)
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
                   desc=progress if isinstance(progress, str) else "ngspice", leave=False)

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
                    done(i, execute(nets[i], jobs[i].get("params"), jobs[i].get("seed")))
                except SpiceError as exc:
                    if (err := fail(i, exc)) is not None:
                        raise err from None
        else:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            batch = max(1, recycle_after) * workers
            for start in range(0, len(todo), batch):
                chunk = todo[start:start + batch]
                with ProcessPoolExecutor(max_workers=min(workers, len(chunk)), mp_context=ctx) as ex:
                    futs = {i: ex.submit(_job, nets[i], jobs[i].get("params"), jobs[i].get("seed")) for i in chunk}
                    try:
                        for i, fut in futs.items():
                            try:
                                done(i, fut.result())
                            except SpiceError as exc:
                                if (err := fail(i, exc)) is not None:
                                    raise err from None
                    except BaseException:
                        for f in futs.values():
                            f.cancel()
                        raise
    finally:
        if bar is not None:
            bar.close()
    return results  # type: ignore[return-value]


def run_monte_carlo(netlist, n: int, *, seed: int = 0, params: dict | None = None, **kwargs) -> list[Result]:
    """*n* Monte Carlo instances of one netlist, seeds ``seed, seed+1, …, seed+n-1``."""
    net = netlist if isinstance(netlist, Netlist) else load(netlist)
    return run_many([{"netlist": net, "params": params, "seed": seed + k} for k in range(n)], **kwargs)
