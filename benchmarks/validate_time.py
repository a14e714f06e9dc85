"""Wall time of ``pycosim validate`` (cold SPICE cache) for given crossbar sizes, and its table.

    python benchmarks/validate_time.py                      # 4x2/5 inputs and the default 8x4/20
    python benchmarks/validate_time.py 32x16 --out /tmp/v32 # a larger crossbar (long: see docs/validation.md)

Each size runs in a fresh, private SPICE cache (so every simulation runs), through the command line, with
the default worker count; the script prints and writes benchmarks/results/validate_<R>x<C>.txt (the
command, machine load, wall time and the printed table).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(rows: int, cols: int, cases: int, workers: int | None, keep: str | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="pycosim-validate-bench-") as tmp:
        out = Path(keep) if keep else Path(tmp) / "out"
        cmd = [sys.executable, "-m", "pycosim.cli", "validate", "--rows", str(rows), "--cols", str(cols),
               "--cases", str(cases), "--out", str(out), "--quiet"]
        if workers:
            cmd += ["--workers", str(workers)]
        env = dict(os.environ, PYCOSIM_CACHE_DIR=str(Path(tmp) / "cache"))
        load = os.getloadavg()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    shown = " ".join(["pycosim", *cmd[3:]]).replace(str(out), keep or "OUT")
    head = (f"# {shown}  (cold SPICE cache, {os.cpu_count()} CPU cores, load average before "
            f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, {time.strftime('%Y-%m-%d')})\n"
            f"wall time {wall:.1f} s, exit status {proc.returncode}\n\n")
    return head + proc.stdout + (("\n" + proc.stderr) if proc.returncode else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sizes", nargs="*", default=["4x2", "8x4"], help="RxC sizes (default 4x2 8x4)")
    p.add_argument("--cases", type=int, default=None, help="inputs per direction (default: 5 for 4x2, else 20)")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default=None, help="keep the output of the (last) size here instead of a temporary directory")
    args = p.parse_args()
    for n, size in enumerate(args.sizes):
        rows, cols = (int(v) for v in size.lower().split("x"))
        cases = args.cases or (5 if rows * cols <= 8 else 20)
        text = run(rows, cols, cases, args.workers, args.out if n == len(args.sizes) - 1 else None)
        print(text)
        path = ROOT / "benchmarks" / "results" / f"validate_{rows}x{cols}.txt"
        path.write_text(text)


if __name__ == "__main__":
    main()
