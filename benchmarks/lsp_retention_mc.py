"""Retention of the default 3T1C cell over one transfer interval, N Monte Carlo cells (default 1000).

Each cell (seed k) is reset through its transmission gate to every V_C of the leakage grid
0 .. 1.2 V (13 points, circuits/lsp_retention.cir) and held for t_hold = pycosim.timing.T_HOLD_S
(8,000 examples of 784-250-125-10); |ΔV_C| over the hold is compared with the same cell's smallest
update step (circuits/lsp_steps.cir: one up and one down pulse from each grid point 0.1 .. 1.1 V).
Criterion (issue 7, item 5): 99 % of cells move by less than two update steps.

Usage: python benchmarks/lsp_retention_mc.py [--n 1000] [--seed 1]  (about 4-8 min on 2 shared cores)
"""

import argparse
import os
import time

import numpy as np

from pycosim.characterize import lsp
from pycosim.spice import run_many
from pycosim.timing import T_HOLD_S

parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int, default=1000)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()

seeds = range(args.seed, args.seed + args.n)
t0 = time.perf_counter()
ret = run_many([dict(netlist="circuits/lsp_retention.cir", seed=s, params={**lsp.LEAK_GRID, "thold": T_HOLD_S},
                     keep=("vc",)) for s in seeds], cache=False)
steps = run_many([dict(netlist="circuits/lsp_steps.cir", seed=s, keep=("vc",)) for s in seeds], cache=False)
wall = time.perf_counter() - t0
grid, rate, v0 = lsp.leak_grid(ret)
_, up, dn, _ = lsp.step_grid(steps)
moved = np.abs(rate) * T_HOLD_S                               # V, (n, 13)
own_step = np.minimum(up.min(axis=1), -dn.max(axis=1))        # V, (n,)
worst = moved.max(axis=1)                                     # V, worst start V_C of each cell
in_steps = worst / own_step
mid = (grid >= 0.1) & (grid <= 1.1)
print(f"3T1C retention Monte Carlo: {args.n} cells (seeds {args.seed}..{args.seed + args.n - 1}), "
      f"hold {T_HOLD_S*1e3:.2f} ms = 8000 examples (pycosim.timing), {os.cpu_count()} cores, {wall:.0f} s")
print("per cell, worst start V_C of the grid 0 .. 1.2 V:")
for p in (50, 90, 99, 99.9, 100):
    print(f"  p{p:<5} |dV_C| = {np.percentile(worst, p)*1e3:7.3f} mV   = {np.percentile(in_steps, p):6.3f} own update steps")
print(f"  fraction of cells moving < 2 own steps: {np.mean(in_steps < 2)*100:.2f} %  (criterion: >= 99 %)")
print(f"update step (smallest of up/down over 0.1 .. 1.1 V): median {np.median(own_step)*1e3:.2f} mV, "
      f"p1 {np.percentile(own_step, 1)*1e3:.2f} mV")
# rate is in V/s, numerically equal to mV/ms
print(f"leak rate over the hold (0.1 .. 1.1 V starts): median {np.median(rate[:, mid]):.4f} mV/ms, "
      f"p99 |rate| {np.percentile(np.abs(rate[:, mid]), 99):.4f} mV/ms; at 0 V / 1.2 V starts: median "
      f"{np.median(rate[:, 0]):.4f} / {np.median(rate[:, -1]):.4f} mV/ms")
up_mean, dn_mean = up[:, 5].mean(), dn[:, 5].mean()
print(f"step at 0.6 V: up {up_mean*1e3:.2f} +- {up[:, 5].std()*1e3:.2f} mV, down {dn_mean*1e3:.2f} +- "
      f"{dn[:, 5].std()*1e3:.2f} mV")
