"""Time of the default characterisation, cold (empty SPICE cache) and re-run from the cache (same process),
optionally against another checkout measured in the same run (baseline first, then this checkout, each in a
fresh interpreter with its own empty cache), so that a busy machine affects both alike.

Reported per phase: wall time, CPU time of the process and its worker processes (less sensitive to other
load on the machine than wall time), the number of simulations and the cache size; the load average when
the phase started. With --identity, the two bundles of the cold runs are compared table by table.

Usage:
    python benchmarks/characterize_time.py [--mc-lsp N] [--mc-pcm N] [--baseline-src DIR] [--identity]
    python benchmarks/characterize_time.py --profile      # CPU time per run of every bench (in this process)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, time
out, mc_pcm, mc_lsp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from pycosim.characterize.runner import Options, characterize
from pycosim.spice import cache

def cpu():
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime

res = {}
for kind in ("cold", "cached"):
    load, c, t = os.getloadavg()[0], cpu(), time.perf_counter()
    characterize(f"{out}-{kind}", Options(mc_pcm=mc_pcm, mc_lsp=mc_lsp), progress=False)
    res[kind] = {"wall_s": time.perf_counter() - t, "cpu_s": cpu() - c, "load": load}
    if kind == "cold":
        entries = list(cache.cache_dir().glob(f"*{cache.SUFFIX}"))
        res[kind].update(entries=len(entries), cache_MB=sum(p.stat().st_size for p in entries) / 1e6)
print(json.dumps(res))
"""


def measure(src: Path, cache_dir: Path, out: Path, mc_pcm: int, mc_lsp: int) -> dict:
    """A cold characterisation and an unchanged re-run (served from the SPICE cache) in one fresh interpreter
    running the code of *src*, SPICE cache *cache_dir*; bundles written to ``OUT-cold`` and ``OUT-cached``."""
    env = dict(os.environ, PYCOSIM_CACHE_DIR=str(cache_dir), PYTHONPATH=str(src))
    res = subprocess.run([sys.executable, "-c", CHILD, str(out), str(mc_pcm), str(mc_lsp)], env=env, cwd=src,
                         capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"characterisation with {src} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def identity(a: Path, b: Path) -> list[str]:
    """Tables and scalars that differ between bundles *a* and *b* (max relative difference of each table)."""
    import numpy as np

    from pycosim import calibration as cal

    x, y = cal.load(a), cal.load(b)
    out = []
    for k in sorted(set(x.tables) | set(y.tables)):
        u, v = x.tables.get(k), y.tables.get(k)
        if u is None or v is None or u.shape != v.shape:
            out.append(f"{k}: missing or other shape")
        elif not np.array_equal(u, v, equal_nan=True):
            rel = np.nanmax(np.abs(u - v) / np.maximum(np.abs(v), 1e-300))
            out.append(f"{k}: max relative difference {rel:.2e}")
    for dev in sorted(set(x.scalars) | set(y.scalars)):
        if json.dumps(x.scalars.get(dev), sort_keys=True) != json.dumps(y.scalars.get(dev), sort_keys=True):
            out.append(f"scalars of {dev} differ")
    return out


def profile() -> None:
    """CPU time per run of every bench, in this process, no cache: the jobs of a bench are grouped by their
    parameters (a staircase of 20 pulses, a clean 60-pulse one, a 2-pulse c2c run ... cost very different
    amounts), and 2 runs of each group (different seeds) are timed and scaled by the group's size."""
    from collections import defaultdict

    from pycosim.characterize import runner
    from pycosim.spice import engine, load

    mc = {"pcm": runner.DEFAULT_MC["pcm"], "lsp": runner.DEFAULT_MC["lsp"], "integrator": 1}
    total = 0.0
    for dev, mod in runner.DEVICES.items():
        for bench, jobs in mod.jobs(mc[dev], runner.DEFAULT_SEED).items():
            net = load(f"circuits/{bench}.cir")
            groups = defaultdict(list)
            for j in jobs:
                groups[json.dumps(j.get("params") or {}, sort_keys=True, default=str)].append(j)
            for key, grp in groups.items():
                pick = grp[:: max(1, len(grp) // 2)][:2]
                c0 = time.process_time()
                for j in pick:
                    engine.execute(net, j.get("params"), j.get("seed"), j.get("keep"))
                ms = (time.process_time() - c0) / len(pick) * 1e3
                total += ms * len(grp) / 1e3
                label = key if len(groups) > 1 else ""
                print(f"{bench:<20} {len(grp):5d} runs {ms:8.1f} ms CPU per run ~{ms * len(grp) / 1e3:6.1f} s  {label[:60]}")
    print(f"{'total':<20} ~{total:.1f} s CPU")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mc-lsp", type=int, default=200)
    p.add_argument("--mc-pcm", type=int, default=100)
    p.add_argument("--baseline-src", type=Path, help="another checkout (e.g. a git worktree of main) to time too")
    p.add_argument("--identity", action="store_true", help="compare the cold runs' bundles table by table")
    p.add_argument("--profile", action="store_true", help="CPU time per run of every bench, then exit")
    args = p.parse_args()
    if args.profile:
        profile()
        return
    srcs = [("baseline", args.baseline_src.resolve())] if args.baseline_src else []
    srcs.append(("this", HERE))
    with tempfile.TemporaryDirectory(prefix="pycosim-char-bench-") as tmp:
        tmp = Path(tmp)
        res = {}
        for name, src in srcs:
            r = measure(src, tmp / f"cache-{name}", tmp / f"cal-{name}", args.mc_pcm, args.mc_lsp)
            res[name, "cold"], res[name, "cached"] = r["cold"], r["cached"]
        print(f"characterisation  PCM x{args.mc_pcm}, 3T1C x{args.mc_lsp} Monte Carlo, {os.cpu_count()} cores")
        for name, src in srcs:
            c, w = res[name, "cold"], res[name, "cached"]
            label = f"{name} ({src})" if len(srcs) > 1 else ""
            if label:
                print(label)
            print(f"  cold run      {c['wall_s']:7.1f} s wall  {c['cpu_s']:7.1f} s CPU   ({c['entries']} simulations, "
                  f"cache {c['cache_MB']:.1f} MB; load average {c['load']:.1f} at start)")
            print(f"  cached re-run {w['wall_s']:7.2f} s wall  {w['cpu_s']:7.2f} s CPU   (load average {w['load']:.1f})")
        if len(srcs) > 1:
            b, t = res["baseline", "cold"], res["this", "cold"]
            print(f"cold: {b['wall_s'] / t['wall_s']:.2f}x faster wall, {b['cpu_s'] / t['cpu_s']:.2f}x less CPU")
            if args.identity:
                diff = identity(tmp / "cal-baseline-cold", tmp / "cal-this-cold")
                print("bundles identical" if not diff else "bundles differ:\n  " + "\n  ".join(diff))


if __name__ == "__main__":
    main()
