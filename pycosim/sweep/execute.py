"""Running a sweep's training runs: local worker processes, or a Dask distributed cluster.

Both executors call ``on_done(task, outcome)`` in the calling process as each run finishes, in
completion order, so the caller persists every result at once. An *outcome* is a dict::

    status    'finished' or 'failed'
    metrics   the run's metrics dict (pycosim.nn.train.train), None if it failed
    wall_s    wall time of the run in its worker (s): data and bundle loading, training, evaluation, plots
    error     one-line error of a failed run (None otherwise)
    host      the worker's host name
    reused    True if the run directory already held the finished run (nothing trained)
    hardware  energy and PCM pulses per training example (:func:`hardware`; {} for float runs)

A run that raises is a failed outcome, never an exception of the sweep; a worker process that dies
(out of memory, killed) fails the runs it held after one retry.

Local (:func:`run_local`): a pool of ``jobs`` spawned processes; each run writes its run directory
``DIR/runs/NAME`` itself (resuming from its checkpoint if a killed sweep left one).
Dask (:func:`run_dask`): each run trains in a temporary directory on its worker, which returns the run
directory's files (all but ``checkpoint.npz``); this process writes them to ``DIR/runs/NAME``, so the
workers need no shared file system — only pycosim installed and the data set (``mnist`` is shipped).
Calibration bundles other than the shipped one are sent to the workers from here.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import tempfile
import time
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from pycosim.errors import ConfigError

_DATASETS: dict = {}    # per worker process: data-set specification → Dataset
_BUNDLES: dict = {}     # per worker process: bundle directory → Bundle
SKIP_FILES = ("checkpoint.npz", "checkpoint.pkl")   # not shipped back from Dask workers (large; only for resuming there)


def _dataset(spec: str):
    if spec not in _DATASETS:
        from pycosim.datasets import sources

        _DATASETS[spec] = sources.load(spec)
    return _DATASETS[spec]


def _bundle(path: str | None):
    if path not in _BUNDLES:      # None: the shipped bundle
        from pycosim import calibration

        _BUNDLES[path] = calibration.load(path)
    return _BUNDLES[path]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failed(error: str, wall_s: float = 0.0) -> dict:
    """A failed outcome carrying the one-line *error*."""
    return {"status": "failed", "metrics": None, "wall_s": wall_s, "error": error, "host": socket.gethostname(),
            "reused": False}


def _finished_metrics(run_dir: Path) -> dict | None:
    import json

    try:
        m = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return m if m.get("status") == "finished" else None


def hardware(metrics: dict, run_dir: Path, scalars: dict) -> dict:
    """Energy per training example (J) and PCM pulses per training example of a finished run, from
    :mod:`pycosim.evaluate.energy`: its counters times the bundle's per-operation energies over the training
    phases (forward, backward, update, transfer — not the initial weight programming, not the test-set
    evaluations), with the initial-programming counts from the run's checkpoint. {'energy_per_example_J',
    'pcm_pulses_per_example'} (None values and 'hardware_error' if it cannot be computed)."""
    from types import SimpleNamespace

    from pycosim.array.transfer import TransferStats
    from pycosim.nn.train import CHECKPOINT, read_checkpoint

    try:
        from pycosim.evaluate import energy as ev

        tree = read_checkpoint(run_dir / CHECKPOINT)   # a statefile; a pickle is refused unread
        net = SimpleNamespace(init_stats=[TransferStats(**s) for s in tree["net"]["init_stats"]])
        rep = ev.energy(metrics, scalars, ev.init_counts(net))
        n = max(int(metrics["examples_seen"]), 1)
        pulses = sum(ops.get("pcm_set", 0) + ops.get("pcm_reset", 0) for ph, ops in rep["counts"].items()
                     if ph in ev.PHASES)
        return {"energy_per_example_J": rep["per_example_J"]["total"], "pcm_pulses_per_example": pulses / n}
    except Exception as exc:
        return {"energy_per_example_J": None, "pcm_pulses_per_example": None, "hardware_error": _one_line(exc)}


def run_task(task, run_dir, bundle=None) -> dict:
    """Train *task* (a :class:`pycosim.sweep.spec.Task`) into *run_dir* and return its outcome (see the
    module docstring); never raises for a failing run. A *run_dir* that already holds the finished run is
    reused; one with a checkpoint (a killed sweep) is resumed; any other leftover is replaced.
    *bundle*: the calibration bundle (None: loaded from ``task.calibration``, or the shipped one). Runs on
    hardware also get their energy and PCM pulses (:func:`hardware`, needs the run's checkpoint)."""
    from pycosim import config as _cfg
    from pycosim.nn.config import TrainConfig
    from pycosim.nn.train import CHECKPOINT, NoTransfers, train

    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    try:
        cfg = _cfg.from_dict(TrainConfig, task.config)
        analog = cfg.synapse.scheme.analog
        if bundle is None and analog:
            bundle = _bundle(task.calibration)
        m = _finished_metrics(run_dir)
        reused = m is not None
        if not reused:
            resume = (run_dir / CHECKPOINT).is_file()
            if run_dir.exists() and not resume:
                shutil.rmtree(run_dir)
            with warnings.catch_warnings():     # the sweep reports runs without transfers once, for all of them
                warnings.simplefilter("ignore", NoTransfers)
                m = train(cfg, run_dir, dataset=_dataset(task.dataset), bundle=bundle, resume=resume, progress=False)
        wall = float(m.get("train_seconds") or 0.0) if reused else time.perf_counter() - t0
        return {"status": "finished", "metrics": m, "wall_s": wall, "error": None, "host": socket.gethostname(),
                "reused": reused, "hardware": hardware(m, run_dir, bundle.scalars) if analog else {}}
    except Exception as exc:   # a failing run is a result, not the end of the sweep
        return failed(_one_line(exc), time.perf_counter() - t0)


def run_task_remote(task, bundle=None) -> tuple[dict, dict]:
    """:func:`run_task` in a temporary directory (on a Dask worker): (outcome, {relative path: bytes} of the
    run directory's files except :data:`SKIP_FILES`)."""
    with tempfile.TemporaryDirectory(prefix="pycosim-sweep-") as tmp:
        run_dir = Path(tmp) / task.name
        outcome = run_task(task, run_dir, bundle)
        files = {}
        if run_dir.is_dir():
            for p in sorted(run_dir.rglob("*")):
                if p.is_file() and p.name not in SKIP_FILES:
                    files[str(p.relative_to(run_dir))] = p.read_bytes()
    return outcome, files


def store_files(run_dir: Path, files: dict) -> None:
    """Write a run directory received from a worker: into a hidden sibling, then renamed into place."""
    tmp = run_dir.with_name(f".{run_dir.name}.incoming")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, data in files.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    tmp.mkdir(parents=True, exist_ok=True)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    os.replace(tmp, run_dir)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: its processes are ended (ProcessPoolExecutor has no public way before 3.14)."""
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


def _die_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Initializer of a local worker process: exit when the sweep's process *parent_pid* dies (kill -9 gives
    it no chance to end its workers). On Linux the kernel sends SIGKILL at once (``PR_SET_PDEATHSIG``);
    everywhere a daemon thread also checks every *poll_s* seconds that the parent is still this process's
    parent, and ends the process if not."""
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover
            pass
    if os.getppid() != parent_pid:                      # died before the above took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="pycosim-parent-watch", daemon=True).start()


def run_local(tasks, runs_dir, jobs: int, on_done) -> None:
    """Run *tasks* on *jobs* spawned worker processes (never more than tasks), writing ``runs_dir/NAME``;
    ``on_done(task, outcome)`` as each finishes. Ctrl-C (KeyboardInterrupt) ends the workers at once and
    propagates; if this process dies otherwise (kill -9), the workers end themselves (:func:`_die_with_parent`)."""
    queue = deque(tasks)
    attempts: dict[str, int] = {}
    ctx = multiprocessing.get_context("spawn")   # no fork of a process holding threads (tqdm, numba)
    while queue:
        pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(queue))), mp_context=ctx,
                                   initializer=_die_with_parent, initargs=(os.getpid(),))
        inflight: dict = {}
        try:
            while queue or inflight:
                while queue and len(inflight) < jobs:
                    t = queue.popleft()
                    inflight[pool.submit(run_task, t, Path(runs_dir) / t.name)] = t
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                broken = False
                for f in done:
                    t = inflight.pop(f)
                    try:
                        outcome = f.result()
                    except BrokenProcessPool:
                        broken = True
                        inflight[f] = t
                        continue
                    on_done(t, outcome)
                if broken:   # a worker died: its runs (we cannot tell which one) are retried once
                    for t in inflight.values():
                        attempts[t.key] = attempts.get(t.key, 0) + 1
                        if attempts[t.key] >= 2:
                            on_done(t, failed("worker process died (killed or out of memory) twice"))
                        else:
                            queue.appendleft(t)
                    inflight.clear()
                    break
        finally:
            _terminate(pool)


def _identify(address: str, timeout_s: float) -> dict:
    """The identity reply of the Dask scheduler at *address*, the whole exchange (connection, handshake, one
    request) bounded by *timeout_s* seconds: a port that answers but is not a Dask scheduler (an HTTP
    server) cannot hold it longer. Raises what the connection raises, or asyncio.TimeoutError."""
    import asyncio

    from distributed.comm import connect as comm_connect

    async def ask():
        comm = await comm_connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded():
        return await asyncio.wait_for(ask(), timeout_s)

    return asyncio.run(bounded())


def connect(address: str, timeout_s: float = 5.0):
    """A ``distributed.Client`` of the Dask scheduler at *address* (e.g. ``tcp://10.0.0.5:8786``);
    ConfigError (one line) within about *timeout_s* seconds if it cannot be reached, if what answers there
    is not a Dask scheduler, or if dask is not installed. The scheduler is asked who it is first (bounded
    by *timeout_s*), so no Client is made (and left half-open) for an address that is not one."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs dask.distributed: pip install 'pycosim[sweep]'") from None
    import asyncio
    import logging

    fail = f"--scheduler {address}: cannot reach the Dask scheduler within {timeout_s:g} s"
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)      # its own log lines would repeat our one-line error
    try:
        try:
            ident = _identify(address, timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            raise ConfigError(f"{fail} (no answer from a Dask scheduler)") from None
        except Exception as exc:
            raise ConfigError(f"{fail} ({_one_line(exc)})") from None
        if not isinstance(ident, dict) or ident.get("type") != "Scheduler":
            what = ident.get("type") if isinstance(ident, dict) else type(ident).__name__
            raise ConfigError(f"--scheduler {address}: answers, but is not a Dask scheduler ({what})")
        try:
            return Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except Exception as exc:
            raise ConfigError(f"{fail} ({_one_line(exc)})") from None
    finally:
        quiet.setLevel(level)


def run_dask(tasks, runs_dir, client, on_done, bundles: dict | None = None) -> None:
    """Run *tasks* on the workers of the Dask *client* (see the module docstring); *bundles*: bundle
    directory → loaded Bundle, sent once to every worker. ``on_done(task, outcome)`` as each finishes;
    on KeyboardInterrupt the runs not yet finished are cancelled."""
    from distributed import as_completed

    shared = {}
    for t in tasks:
        if t.calibration and t.calibration not in shared:
            shared[t.calibration] = client.scatter((bundles or {}).get(t.calibration) or _bundle(t.calibration),
                                                   broadcast=True)
    futures = {client.submit(run_task_remote, t, shared.get(t.calibration), pure=False): t for t in tasks}
    try:
        for fut in as_completed(list(futures), loop=client.loop):
            t = futures.pop(fut)
            try:
                outcome, files = fut.result()
            except Exception as exc:   # the worker died repeatedly (KilledWorker), lost connection …
                on_done(t, failed(_one_line(exc)))
                continue
            if files:
                store_files(Path(runs_dir) / t.name, files)
            on_done(t, outcome)
    finally:
        if futures:
            client.cancel(list(futures))
