"""Streaming Monte Carlo at scale: parent memory and throughput of ``pycosim spice run --mc N -o``.

Runs the real command line (``python -m pycosim.cli spice run circuits/rc_step.cir --mc N
-o OUT.npz --no-cache --jobs J``) as a subprocess for J = 1 and J = 2, samples the parent
process's resident memory (VmRSS from /proc) every second together with the number of finished
instances (from the progress bar on stderr), and reports runs/s. Then checks the output file
opens with numpy.load and holds N instances, and deletes it (it is several GB at N = 100,000).

Finally, the cache size limit: the same bench with the cache on and PYCOSIM_CACHE_MAX=50M,
reporting the cache directory's size afterwards.

Usage: python benchmarks/mc_stream.py [N] [N_CACHE] [JOBS] [RESULT_NAME]
       (defaults 100000, 5000, "1,2", mc_stream.txt; N_CACHE = 0 skips the cache part)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
N_CACHE = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
JOBS = [int(j) for j in sys.argv[3].split(",")] if len(sys.argv) > 3 else [1, 2]
RESULT_NAME = sys.argv[4] if len(sys.argv) > 4 else "mc_stream.txt"
ROOT = Path(__file__).resolve().parents[1]
BENCH = str(ROOT / "circuits" / "rc_step.cir")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_cli(jobs: int, n: int, out: Path, env: dict, cache: bool = False):
    err_path = out.with_suffix(".stderr")
    cmd = [sys.executable, "-m", "pycosim.cli", "spice", "run", BENCH, "--mc", str(n), "-o", str(out),
           "--jobs", str(jobs)] + ([] if cache else ["--no-cache"])
    with open(err_path, "w") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        samples = []  # (t_s, rss_MB, done)
        while p.poll() is None:
            time.sleep(1.0)
            done = 0
            try:
                tail = err_path.read_text()[-400:]
                m = re.findall(r"\|\s*(\d+)/(\d+)", tail)
                done = int(m[-1][0]) if m else 0
            except OSError:
                pass
            samples.append((time.perf_counter() - t0, rss_mb(p.pid), done))
        wall = time.perf_counter() - t0
        stdout = p.stdout.read()
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{err_path.read_text()[-2000:]}")
    return wall, samples, stdout


def report(jobs: int, n: int, wall: float, samples, out: Path) -> list[str]:
    lines = [f"--jobs {jobs}: {n} instances in {wall:.1f} s = {n / wall:.1f} runs/s "
             f"(output {out.stat().st_size / 1e9:.2f} GB)"]
    after = [s for s in samples if s[2] >= 1000]
    if after:
        r0 = after[0][1]
        peak = max(s[1] for s in after)
        lines.append(f"  parent RSS at the first sample past 1000 instances: {r0:.1f} MB; "
                     f"max afterwards {peak:.1f} MB (growth {peak - r0:+.1f} MB)")
    lines.append("  t (s)   done     RSS (MB)")
    step = max(1, len(samples) // 12)
    for t, r, d in samples[::step] + samples[-1:]:
        lines.append(f"  {t:6.0f}  {d:7d}  {r:8.1f}")
    with np.load(out) as z:
        names = z.files
        k_last = n - 1
        ok = f"mc{k_last}/__meta__" in names and z[f"mc{k_last}/vec/tran1/out"].size > 0
    lines.append(f"  numpy.load: {len(names)} entries, last instance readable: {ok}")
    return lines


def main():
    tmp = Path(tempfile.mkdtemp(prefix="pycosim-mcstream-"))
    env = dict(os.environ, PYCOSIM_CACHE_DIR=str(tmp / "cache"))
    lines = [f"# python benchmarks/mc_stream.py {' '.join(sys.argv[1:])}  ({time.strftime('%Y-%m-%d %H:%M')}, "
             f"{os.cpu_count()} cores shared with other jobs; load average at start "
             f"{os.getloadavg()[0]:.2f})",
             f"bench circuits/rc_step.cir (tran, ~2000 points, 4 vectors per instance), --no-cache"]
    try:
        for jobs in JOBS:
            out = tmp / f"mc{jobs}.npz"
            wall, samples, _ = run_cli(jobs, N, out, env)
            lines += report(jobs, N, wall, samples, out)
            print("\n".join(lines), flush=True)
            out.unlink()
        if not N_CACHE:
            return _write(lines)
        env_c = dict(env, PYCOSIM_CACHE_MAX="50M")
        out = tmp / "cached.npz"
        wall, samples, _ = run_cli(2, N_CACHE, out, env_c, cache=True)
        size = sum(p.stat().st_size for p in (tmp / "cache").glob("*.res"))
        count = len(list((tmp / "cache").glob("*.res")))
        lines.append(f"cache limit: {N_CACHE} instances with the cache on and PYCOSIM_CACHE_MAX=50M "
                     f"({wall:.1f} s): cache holds {count} entries, {size / 2**20:.1f} MiB (limit 50 MiB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _write(lines)


def _write(lines):
    text = "\n".join(lines)
    print(text)
    res = ROOT / "benchmarks" / "results" / RESULT_NAME
    res.write_text(text + "\n")


if __name__ == "__main__":
    main()
