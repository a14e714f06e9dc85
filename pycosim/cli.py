"""Command-line interface: a thin layer over documented Python functions.

Every error pycosim raises on purpose (:class:`pycosim.errors.PycosimError`) is printed as
one line on stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pycosim import __version__
from pycosim.errors import ConfigError, PycosimError


def _parse_value(text: str):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _parse_params(items: list[str] | None) -> dict:
    params = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"-p {item!r}: expected NAME=VALUE (e.g. -p tpulse=50e-9)")
        params[name.strip().lower()] = _parse_value(value.strip())
    return params


def cmd_doctor(args) -> int:
    from pycosim.doctor import doctor

    checks = doctor(args.data)
    for c in checks:
        print(f"[{'ok' if c.ok else 'MISSING'}] {c.name:<16} {c.detail}")
    bad = [c.name for c in checks if not c.ok]
    if bad:
        print(f"pycosim doctor: missing or broken: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def cmd_spice_run(args) -> int:
    from pycosim.spice import load, run, run_monte_carlo

    params = _parse_params(args.param)
    net = load(args.netlist)
    if args.out:
        out = Path(args.out)
        if out.exists() and out.is_dir():
            raise ConfigError(f"-o {out}: is a directory; give a file name such as result.npz")
        if not out.parent.exists():
            raise ConfigError(f"-o {out}: directory {out.parent} does not exist")
    if args.mc:
        results = run_monte_carlo(net, args.mc, seed=args.seed or 0, params=params, workers=args.jobs,
                                  cache=not args.no_cache, progress="monte carlo")
        print(results[0].summary())
        wall = sum(r.meta["wall_time_s"] for r in results)
        print(f"monte carlo {len(results)} instances, seeds {args.seed or 0}..{(args.seed or 0) + args.mc - 1}, "
              f"total simulator time {wall:.2f} s")
        for name in results[0].meas:
            import numpy as np

            vals = np.array([r.meas.get(name, np.nan) for r in results])
            print(f"  {name:<24} mean {np.nanmean(vals):.6g}  std {np.nanstd(vals):.3g}")
        if args.out:
            from pycosim.spice.result import atomic_savez

            arrays = {}
            for k, r in enumerate(results):
                arrays.update({f"mc{k}/{key}": v for key, v in r.to_arrays().items()})
            atomic_savez(Path(args.out), arrays)
            print(f"saved {args.out}")
        return 0
    res = run(net, params, seed=args.seed, cache=not args.no_cache)
    print(res.summary())
    if args.out:
        res.save(args.out)
        print(f"saved {args.out}")
    return 0


def _bench_params(items) -> dict:
    """``["BENCH.NAME=VALUE", ...]`` → {bench: {name: value}} (values stay SPICE text)."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        bench, dot, name = key.strip().partition(".")
        if not sep or not dot or not bench or not name or not value.strip():
            raise ConfigError(f"--param {item!r}: expected BENCH.NAME=VALUE, e.g. pcm_set_staircase.vg_set=1.4")
        out.setdefault(bench, {})[name.strip()] = value.strip()
    return out


def cmd_characterize(args) -> int:
    import time

    from pycosim.characterize.runner import Options, bench_names, characterize

    if args.list:
        print("\n".join(bench_names()))
        return 0
    if not args.out:
        raise ConfigError("characterize: --out CAL_DIR is required")
    for flag, value in (("--mc", args.mc), ("--mc-pcm", args.mc_pcm)):
        if value is not None and value < 2:
            raise ConfigError(f"{flag} {value}: need at least 2 Monte Carlo instances")
    opts = Options(mc_pcm=args.mc_pcm or args.mc or Options.mc_pcm, mc_lsp=args.mc or Options.mc_lsp,
                   seed=args.seed, skip_failed=args.skip_failed, bench_params=_bench_params(args.param))
    t0 = time.perf_counter()
    bundle = characterize(args.out, opts, workers=args.jobs, cache=not args.no_cache, progress=True,
                          plots_dir=args.plots)
    failed = bundle.provenance.get("failed") or []
    print(f"wrote calibration bundle {bundle.path} in {time.perf_counter() - t0:.1f} s "
          f"(PCM x{opts.mc_pcm}, 3T1C x{opts.mc_lsp} Monte Carlo, seed {opts.seed}"
          f"{f', {len(failed)} failed instances recorded' if failed else ''})")
    if args.plots:
        print(f"plots in {args.plots}")
    return 0


def cmd_calibration_show(args) -> int:
    from pycosim import calibration

    bundle = calibration.load(args.cal_dir)
    print(calibration.summary(bundle))
    if args.plots:
        from pycosim.plots import plot_bundle

        paths = plot_bundle(bundle, args.plots)
        print(f"wrote {len(paths)} plots to {args.plots}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pycosim", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"pycosim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("doctor", help="check ngspice, PySpice, shipped SPICE files and MNIST")
    d.add_argument("--data", help="MNIST directory to check instead of the shipped copy (or $PYCOSIM_DATA)")
    d.set_defaults(func=cmd_doctor)

    s = sub.add_parser("spice", help="run SPICE netlists")
    ssub = s.add_subparsers(dest="spice_command", metavar="SUBCOMMAND")
    r = ssub.add_parser("run", help="run one netlist (or N Monte Carlo instances) and save its arrays")
    r.add_argument("netlist", help="a netlist path or a shipped bench, e.g. circuits/pcm_reset.cir")
    r.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="override a .param (SI units)")
    r.add_argument("-o", "--out", metavar="OUT.npz", help="save vectors, .meas and metadata to this file")
    r.add_argument("--seed", type=int, default=None, help="Monte Carlo seed (.option seed)")
    r.add_argument("--mc", type=int, default=0, metavar="N", help="run N Monte Carlo instances (seeds S..S+N-1)")
    r.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU cores)")
    r.add_argument("--no-cache", action="store_true", help="always run ngspice, bypassing the result cache")
    r.set_defaults(func=cmd_spice_run)

    c = sub.add_parser("characterize", help="run the benches (Monte Carlo) and write a calibration bundle")
    c.add_argument("--out", metavar="CAL_DIR", help="bundle directory to write (replaced atomically)")
    c.add_argument("--mc", type=int, default=None, metavar="N",
                   help="Monte Carlo instances of the 3T1C benches (default 200) and, unless --mc-pcm, the PCM benches")
    c.add_argument("--mc-pcm", type=int, default=None, metavar="N", help="Monte Carlo instances of the PCM benches (default 100)")
    c.add_argument("--seed", type=int, default=2018, help="first Monte Carlo seed (default 2018, the shipped bundle's)")
    c.add_argument("--plots", metavar="DIR", help="also write PNG plots of the characteristics here")
    c.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU cores)")
    c.add_argument("--skip-failed", action="store_true", help="record non-converging instances instead of aborting")
    c.add_argument("--no-cache", action="store_true", help="re-run every simulation")
    c.add_argument("-p", "--param", action="append", metavar="BENCH.NAME=VALUE",
                   help="override a bench .param for every instance, e.g. pcm_set_staircase.vg_set=1.4")
    c.add_argument("--list", action="store_true", help="list the benches and exit")
    c.set_defaults(func=cmd_characterize)

    cal = sub.add_parser("calibration", help="inspect calibration bundles")
    csub = cal.add_subparsers(dest="calibration_command", metavar="SUBCOMMAND")
    sh = csub.add_parser("show", help="print a readable summary of a bundle (and optionally plot it)")
    sh.add_argument("cal_dir", nargs="?", default=None, help="bundle directory (default: the shipped bundle)")
    sh.add_argument("--plots", metavar="DIR", help="write PNG plots of the bundle here")
    sh.set_defaults(func=cmd_calibration_show)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pycosim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PycosimError as exc:
        print(f"pycosim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pycosim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head/less that closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
