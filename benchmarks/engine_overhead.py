"""Per-run overhead of the SPICE engine on a small transient (RC step, ~200 points).

Measures, in one process and one run of this script (ratios are what matter on a shared machine):
  * serial:   ms per run of pycosim.spice.run(..., cache=False) in this process
  * parallel: ms per run of run_many(..., workers=2, cache=False), pool start-up included
  * cache:    ms per run served from the on-disk cache
  * raw:      ms per run of ngspice's shared library driven directly (load + run, no arrays)
Usage: python benchmarks/engine_overhead.py [N]
"""

import os
import sys
import tempfile
import time

_TMP = tempfile.TemporaryDirectory(prefix="pycosim-bench-")
os.environ.setdefault("PYCOSIM_CACHE_DIR", _TMP.name)

from pycosim.spice import engine, load, run, run_many  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
DECK = "rc\n.param r=1k\nV1 in 0 PWL(0 0 1n 1)\nR1 in out {r}\nC1 out 0 1n\n.tran 10n 2u\n.end\n"
net = load(DECK)
jobs = [{"netlist": net, "params": {"r": 1000.0 + k}} for k in range(N)]

run(net, cache=False)  # load the library once
t = time.perf_counter()
ng = engine._simulator()
for k in range(N):
    engine._circ(ng, net.render({"r": 1000.0 + k}))
    engine._command(ng, "run")
    engine._command(ng, "destroy all")
    engine._command(ng, "remcirc")  # (PySpice's remove_circuit is not an ngspice 39 command)
raw = (time.perf_counter() - t) / N

t = time.perf_counter()
for j in jobs:
    run(j["netlist"], j["params"], cache=False)
serial = (time.perf_counter() - t) / N

t = time.perf_counter()
run_many(jobs, workers=2, cache=False)
parallel = (time.perf_counter() - t) / N

run_many(jobs, workers=1, cache=True)  # fill the cache
t = time.perf_counter()
run_many(jobs, workers=2, cache=True)
cached = (time.perf_counter() - t) / N

print(f"runs                 {N}")
print(f"raw ngspice          {raw * 1e3:7.2f} ms/run")
print(f"engine serial        {serial * 1e3:7.2f} ms/run   ({serial / raw:.2f}x raw)")
print(f"engine parallel (2)  {parallel * 1e3:7.2f} ms/run   ({serial / parallel:.2f}x faster than serial, pool start included)")
print(f"cache hit            {cached * 1e3:7.2f} ms/run   ({serial / cached:.1f}x faster than serial)")

# a realistic bench: the 3T1C up/down transient (BSIM4, ~4000 time points)
M = max(4, N // 5)
real = [{"netlist": load("circuits/lsp_up_down.cir"), "seed": k} for k in range(M)]
t = time.perf_counter()
run_many(real, workers=1, cache=False)
rs = (time.perf_counter() - t) / M
t = time.perf_counter()
run_many(real, workers=2, cache=False)
rp = (time.perf_counter() - t) / M
print(f"3T1C up/down bench   serial {rs * 1e3:7.1f} ms/run, parallel (2) {rp * 1e3:7.1f} ms/run "
      f"({rs / rp:.2f}x), {M} runs")
