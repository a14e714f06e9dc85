"""Cold time of the 3T1C part of the default characterisation (brief target: <= 50 s for 200 cells on
2 idle cores), and the extraction, in one run of this script (fresh SPICE cache in a temp directory).

Usage: python benchmarks/lsp_characterize_time.py [--mc N] [--seed S] [--cpu K]

--cpu K additionally runs K instances of every bench serially in this process (no cache) and
reports the CPU seconds per run and their total scaled to --mc instances: a load-independent
estimate (wall on 2 idle cores ~ CPU/2 + pool overhead) when the machine is shared.
"""

import argparse
import os
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--mc", type=int, default=200)
parser.add_argument("--seed", type=int, default=2018)
parser.add_argument("--cpu", type=int, default=0)
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

    if args.cpu:
        import resource

        from pycosim.spice import run

        def cpu_s():
            r = resource.getrusage(resource.RUSAGE_SELF)
            return r.ru_utime + r.ru_stime

        total = 0.0
        full = lsp.jobs(args.mc, args.seed)
        for bench, jobs in lsp.jobs(args.cpu, args.seed).items():
            net = load(f"circuits/{bench}.cir")
            c = cpu_s()
            for j in jobs:
                run(net, params=j.get("params"), seed=j.get("seed"), keep=j.get("keep"), cache=False)
            per = (cpu_s() - c) / len(jobs)
            total += per * len(full[bench])
            print(f"  cpu {bench:15s} {per * 1e3:6.0f} ms/run x {len(full[bench]):4d} runs = {per * len(full[bench]):5.1f} s")
        print(f"  cpu total {total:.1f} s for x{args.mc}: ~{total / 2:.0f} s of wall on 2 idle cores (plus pool overhead)")
