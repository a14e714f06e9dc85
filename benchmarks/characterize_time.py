"""Time of the default characterisation (issue target: ≤ 2 min on 2 cores) and of an
unchanged re-run served from the SPICE cache (target: ≤ 2 s), in one run of this script.

Usage: python benchmarks/characterize_time.py [--mc-lsp N] [--mc-pcm N]
"""

import argparse
import os
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--mc-lsp", type=int, default=200)
parser.add_argument("--mc-pcm", type=int, default=100)
args = parser.parse_args()

with tempfile.TemporaryDirectory(prefix="pycosim-char-bench-") as tmp:
    os.environ["PYCOSIM_CACHE_DIR"] = os.path.join(tmp, "cache")
    from pycosim.characterize.runner import Options, characterize
    from pycosim.spice import cache

    opts = Options(mc_pcm=args.mc_pcm, mc_lsp=args.mc_lsp)
    t = time.perf_counter()
    characterize(os.path.join(tmp, "cal1"), opts, progress=False)
    cold = time.perf_counter() - t
    entries = len(list(cache.cache_dir().glob(f"*{cache.SUFFIX}")))
    size = sum(p.stat().st_size for p in cache.cache_dir().glob(f"*{cache.SUFFIX}")) / 1e6
    t = time.perf_counter()
    characterize(os.path.join(tmp, "cal2"), opts, progress=False)
    warm = time.perf_counter() - t
    print(f"characterisation  PCM x{args.mc_pcm}, 3T1C x{args.mc_lsp} Monte Carlo, {os.cpu_count()} cores")
    print(f"cold run          {cold:7.1f} s   ({entries} simulations, cache {size:.1f} MB)")
    print(f"cached re-run     {warm:7.2f} s   ({cold / warm:.0f}x faster)")
