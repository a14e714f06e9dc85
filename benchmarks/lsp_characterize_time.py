"""Cold time of the 3T1C part of the default characterisation (brief target: <= 50 s for 200 cells on
2 idle cores), and the extraction, in one run of this script (fresh SPICE cache in a temp directory).

Usage: python benchmarks/lsp_characterize_time.py [--mc N] [--seed S]
"""

import argparse
import os
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--mc", type=int, default=200)
parser.add_argument("--seed", type=int, default=2018)
args = parser.parse_args()

with tempfile.TemporaryDirectory(prefix="pycosim-lsp-bench-") as tmp:
    os.environ["PYCOSIM_CACHE_DIR"] = os.path.join(tmp, "cache")
    from pycosim.characterize import lsp
    from pycosim.spice import load, run_many

    t0 = time.perf_counter()
    plan = [(bench, dict(job, netlist=load(f"circuits/{bench}.cir")))
            for bench, jobs in lsp.jobs(args.mc, args.seed).items() for job in jobs]
    results = run_many([j for _, j in plan])
    t_sim = time.perf_counter() - t0
    grouped: dict[str, list] = {}
    for (bench, _), res in zip(plan, results):
        grouped.setdefault(bench, []).append(res)
    s, t = lsp.extract(grouped)
    total = time.perf_counter() - t0
    print(f"3T1C characterisation x{args.mc} Monte Carlo, seed {args.seed}, {os.cpu_count()} cores: "
          f"{len(plan)} simulations {t_sim:.1f} s, with extraction {total:.1f} s")
    for name in ("dv_up_mean_V", "dv_down_mean_V", "up_down_ratio", "leak_target_V", "leak_dvdt_p99_abs_V_per_s",
                 "reset_error_mean_V", "reset_error_std_V", "reset_injection_V", "dv_up_c2c_sigma_V",
                 "dv_down_c2c_sigma_V", "t_example_s", "t_hold_transfer_s"):
        print(f"  {name} = {s[name]:.4g}")
