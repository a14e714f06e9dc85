"""Command-line interface: a thin layer over documented Python functions.

Every error pycosim raises on purpose (:class:`pycosim.errors.PycosimError`) is printed as
one line on stderr with a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import os
import sys
import warnings

from pycosim import __version__
from pycosim.errors import ConfigError, PycosimError, caused_by_interrupt


def _parse_value(text: str):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _parse_params(items: list[str] | None) -> dict:
    from pycosim.spice.netlist import check_value

    params = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"-p {item!r}: expected NAME=VALUE (e.g. -p tpulse=50e-9)")
        value = _parse_value(value.strip())
        try:
            check_value(name.strip(), value)
        except PycosimError as exc:
            raise ConfigError(f"-p {item!r}: {exc}") from None
        params[name.strip().lower()] = value
    return params


def _check_count(flag: str, value, minimum: int = 1) -> None:
    """Refuse (rather than silently coerce) a count below *minimum*."""
    if value is not None and value < minimum:
        what = "Monte Carlo instance" if flag.startswith("--mc") else "worker process"
        raise ConfigError(f"{flag} {value}: need at least {minimum} {what}{'s' if minimum > 1 else ''}")


def _check_environment() -> None:
    """Validate the environment variables a simulation reads, before any simulation runs."""
    from pycosim.spice.cache import max_bytes
    from pycosim.spice.pool import default_workers

    default_workers()
    max_bytes()


class _Stats:
    """Running mean and standard deviation (Welford), ignoring NaN; population std like numpy.nanstd."""

    def __init__(self):
        self.n, self.mean, self.m2, self.nan = 0, 0.0, 0.0, 0

    def add(self, x: float) -> None:
        if x != x:  # NaN
            self.nan += 1
            return
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    @property
    def std(self) -> float:
        return (self.m2 / self.n) ** 0.5 if self.n else float("nan")


def cmd_doctor(args) -> int:
    from pycosim.doctor import doctor, format_check, summary_line

    checks = doctor(args.data)
    for c in checks:
        print(format_check(c))
    summary = summary_line(checks)
    if summary:
        print(summary, file=sys.stderr)
        return 1
    return 0


def _save_error(path, exc: OSError) -> ConfigError:
    return ConfigError(f"-o {path}: cannot write the result ({exc.strerror or exc}); nothing was saved")


def cmd_spice_run(args) -> int:
    from pycosim.spice import load, run
    from pycosim.spice.netlist import check_seed
    from pycosim.spice.result import check_output_file

    _check_count("--mc", args.mc)
    _check_count("--jobs", args.jobs)
    _check_environment()
    params = _parse_params(args.param)
    net = load(args.netlist)
    if args.seed is not None:
        check_seed(args.seed, args.mc or 1, "--seed")
    net.render(params, args.seed)  # parameter names and values, before anything runs
    if args.out:
        check_output_file(args.out, "-o")
    if args.mc:
        return _spice_monte_carlo(args, net, params)
    res = run(net, params, seed=args.seed, cache=not args.no_cache)
    print(res.summary())
    if args.out:
        try:
            res.save(args.out)
        except OSError as exc:
            raise _save_error(args.out, exc) from None
        print(f"saved {args.out}")
    return 0


def _spice_monte_carlo(args, net, params) -> int:
    """``--mc N``: stream the instances into the output file as they complete (bounded memory)."""
    from pycosim.spice.pool import iter_monte_carlo
    from pycosim.spice.result import NpzStream

    seed0 = args.seed or 0
    stats: dict[str, _Stats] = {}
    first = None
    wall = 0.0
    count = 0
    stream = iter_monte_carlo(net, args.mc, seed=seed0, params=params, workers=args.jobs,
                              cache=not args.no_cache, progress="monte carlo")  # validates; runs nothing yet
    writer = NpzStream(args.out, "-o") if args.out else None
    try:
        for k, res in stream:
            if k == 0:
                first = res.summary()
            wall += res.meta.get("wall_time_s", 0.0)
            count += 1
            for name, value in res.meas.items():
                stats.setdefault(name, _Stats()).add(float(value))
            if writer is not None:
                writer.add_result(f"mc{k}/", res)
        if writer is not None:
            writer.commit()
    except OSError as exc:
        if writer is None:
            raise
        writer.abort()
        raise _save_error(args.out, exc) from None
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        stream.close()  # stops the worker processes at once if we leave early
    print(first)
    print(f"monte carlo {count} instances, seeds {seed0}..{seed0 + args.mc - 1}, "
          f"total simulator time {wall:.2f} s")
    for name, st in stats.items():
        failed = f"  ({st.nan} failed)" if st.nan else ""
        print(f"  {name:<24} mean {st.mean if st.n else float('nan'):.6g}  std {st.std:.3g}{failed}")
    if args.out:
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


def _lib_params(items) -> dict:
    """``["LIB.NAME=VALUE", ...]`` → {library: {name: value}} (validated by the characterisation)."""
    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        lib, dot, name = key.strip().partition(".")
        if not sep or not dot or not lib or not name or not value.strip():
            raise ConfigError(f"--lib-param {item!r}: expected LIB.NAME=VALUE, e.g. pcm.nu=0.05")
        out.setdefault(lib, {})[name.strip()] = value.strip()
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
        _check_count(flag, value, 2)
    _check_count("--jobs", args.jobs)
    _check_environment()
    opts = Options(mc_pcm=args.mc_pcm or args.mc or Options.mc_pcm, mc_lsp=args.mc or Options.mc_lsp,
                   seed=args.seed, skip_failed=args.skip_failed, bench_params=_bench_params(args.param),
                   lib_params=_lib_params(args.lib_param))
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


def cmd_train(args) -> int:
    from pycosim.nn.train import CHECKPOINT, check_run_dir, resolve_config, resume_config, train

    resume = args.resume is not None
    out = args.resume if resume else args.out
    if not out:
        raise ConfigError("train: --out RUNDIR is required (or --resume RUNDIR)")
    if resume:
        check_run_dir(out, True)            # the run's config.toml is read next
        cfg = resume_config(out, args.preset, args.config, args.set, epochs=args.epochs,
                            train_subset=args.train_subset, seed=args.seed)
    else:
        cfg = resolve_config(args.preset, args.config, args.set, epochs=args.epochs, train_subset=args.train_subset,
                             seed=args.seed)
    if args.baseline and not cfg.synapse.scheme.analog:
        raise ConfigError("train: --baseline compares with the float preset; this run already is float")
    if args.seeds is not None:
        return _train_seeds(args, cfg, out, resume)
    from pycosim import calibration
    from pycosim.datasets import sources

    data = sources.load(args.dataset)
    bundle = calibration.load(args.calibration) if args.calibration else None
    if cfg.synapse.scheme.analog:
        from pycosim.doctor import warn_if_stale

        warn_if_stale([args.calibration])
    check_run_dir(out, resume)             # checked before any work, so nothing is lost to a late error
    base_dir = Path(out) / "float-baseline"
    base_resume = resume and (base_dir / CHECKPOINT).is_file()
    if args.baseline and not base_resume:
        check_run_dir(base_dir, False)
    m = train(cfg, out, dataset=data, bundle=bundle, resume=resume, progress=not args.quiet)
    print(f"{m['preset']}: test accuracy {m['test_accuracy']:.2%} after {m['epochs_done']} epoch(s) "
          f"({m['examples_per_second'] or 0:.0f} examples/s, {m['transfers']['count']} transfers) -> {out}")
    if args.baseline:
        from pycosim.nn.config import float_baseline_of

        from pycosim.nn.baseline import attach_baseline, format_comparison

        fm = train(float_baseline_of(cfg), base_dir, dataset=data, resume=base_resume, progress=not args.quiet)
        m = attach_baseline(out, fm, base_dir)
        print(format_comparison(m))
        print(f"learning curves of both runs: {Path(out) / 'plots' / 'learning_curve.png'}")
    return 0


def cmd_config(args) -> int:
    from pycosim import config_reference as ref

    if args.docs:
        if args.explain or args.preset or args.config or args.set:
            raise ConfigError("config: --docs writes the whole reference; give it alone")
        problems = ref.problems()
        if problems:
            raise ConfigError(f"config: {len(problems)} setting(s) not documented: {problems[0]}")
        print(f"wrote {ref.write_markdown(args.docs)}")
        return 0
    if args.explain:
        print(ref.explain(args.explain))
        return 0
    sys.stdout.write(ref.resolved_toml(args.preset, args.config, args.set))
    return 0


def _train_seeds(args, cfg, out, resume: bool) -> int:
    from pycosim.nn.seeds import format_seeds, parse_seeds, train_seeds
    from pycosim.nn.train import check_transfers

    if resume:
        raise ConfigError("train: --seeds starts new runs; resume each seed's run with --resume OUT/seed-S")
    if args.seed is not None:
        raise ConfigError("train: give either --seed or --seeds")
    seeds = parse_seeds(args.seeds)
    from pycosim.datasets import sources

    data = sources.load(args.dataset)          # one-line errors here, before any worker starts
    if args.calibration:
        from pycosim import calibration

        calibration.load(args.calibration)
    if cfg.synapse.scheme.analog:
        from pycosim.doctor import warn_if_stale

        warn_if_stale([args.calibration])
    n = cfg.training.train_subset or len(data.y_train)
    check_transfers(cfg, min(n, len(data.y_train)))
    doc = train_seeds(cfg, out, seeds, dataset=args.dataset, calibration=args.calibration, baseline=args.baseline,
                      jobs=args.jobs)
    print(format_seeds(doc))
    print(f"wrote {Path(out) / 'seeds.json'}")
    return 0


def cmd_validate(args) -> int:
    from pycosim.validation import validate

    if not args.out:
        raise ConfigError("validate: --out DIR is required")
    for flag, value in (("--rows", args.rows), ("--cols", args.cols), ("--cases", args.cases)):
        if value < 1:
            raise ConfigError(f"{flag} {value}: must be at least 1")
    if not 0 <= args.seed <= 2**31 - 2:
        raise ConfigError(f"--seed {args.seed}: must be in 0…{2**31 - 2}")
    _check_count("--workers", args.workers)
    _check_environment()
    doc = validate(args.rows, args.cols, args.cases, args.seed, args.calibration, args.out, args.workers,
                   progress=not args.quiet)
    print(doc["table"])
    print(f"array model vs SPICE, {args.rows}x{args.cols}, {args.cases} inputs: {doc['verdict']}; "
          f"{doc['wall_time_s']:.1f} s -> {args.out}")
    return 0


def cmd_sweep(args) -> int:
    from pycosim.sweep import check_out_dir, load_sweep, run_sweep
    from pycosim.sweep.results import format_summary

    if args.jobs is not None:
        _check_count("--jobs", args.jobs)
    sweep = load_sweep(args.sweep, budget=args.budget)      # every run validated before anything starts
    if args.dry_run:
        resuming = check_out_dir(args.out, sweep) if args.out else False
        print(f"sweep {sweep.name}: {sweep.n_points} point(s) x {len(sweep.seeds)} seed(s) = "
              f"{sum(t.kind == 'point' for t in sweep.tasks)} runs + {sum(t.kind == 'baseline' for t in sweep.tasks)} "
              f"float baseline run(s); budget {sweep.budget_name} {sweep.budget}; spec hash {sweep.hash[:12]}"
              f"{'; resumes ' + str(args.out) if resuming else ''}")
        for t in sweep.tasks:
            print(f"  {t.name:<14} {t.key}  " + ", ".join(f"{k}={v}" for k, v in t.values.items()))
        return 0
    if not args.out:
        raise ConfigError("sweep: --out DIR is required (or --dry-run)")
    from pycosim.doctor import analog_bundles, warn_if_stale

    warn_if_stale(analog_bundles(sweep.tasks))
    res = run_sweep(sweep, args.out, jobs=args.jobs, scheduler=args.scheduler, progress=not args.quiet,
                    plots=not args.no_plots)
    print(format_summary(res.sweep, res.records))
    for w in res.warnings:
        warnings.warn(w, stacklevel=1)
    print(f"sweep {res.sweep.name}: {res.ran} run(s) finished now, {res.skipped} already done, {res.failed} failed "
          f"in {res.elapsed_s:.1f} s -> {res.csv}")
    for f in res.plots:
        print(f"plot {f}")
    return 1 if res.failed else 0


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
    r.add_argument("--seed", type=int, default=None,
                   help="Monte Carlo seed, 0..2**31-2 (ngspice gets .option seed=SEED+1)")
    r.add_argument("--mc", type=int, default=None, metavar="N",
                   help="run N >= 1 Monte Carlo instances (seeds S..S+N-1), streamed into -o as they finish")
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
    c.add_argument("--lib-param", action="append", metavar="LIB.NAME=VALUE",
                   help="override a library default (netlists/LIB.lib) for every bench, e.g. pcm.nu=0.05")
    c.add_argument("--list", action="store_true", help="list the benches and exit")
    c.set_defaults(func=cmd_characterize)

    t = sub.add_parser("train", help="train a network on simulated crossbars (circuit-derived models)")
    t.add_argument("--preset", default=None, help="ambrogio2018 (default), ambrogio2018-accel, ambrogio2018-olt, "
                                                  "cristiano2018-4pcm, pcm-only, float, hwa")
    t.add_argument("--config", metavar="FILE.toml", help="a full configuration (e.g. a run's config.toml)")
    t.add_argument("-s", "--set", action="append", metavar="PATH=VALUE",
                   help="override a setting by dotted path, e.g. -s transfer.interval=4000 -s synapse.F=4")
    t.add_argument("--calibration", metavar="CAL_DIR", help="calibration bundle (default: the shipped one)")
    t.add_argument("--dataset", default=None, help="mnist (default), mnist-backrand[:SEED], idx:DIR or npz:FILE")
    t.add_argument("--epochs", type=int, default=None, help="epochs (shortcut for -s training.epochs=N)")
    t.add_argument("--train-subset", type=int, default=None, metavar="K",
                   help="train on the first K examples (shortcut for -s training.train_subset=K)")
    t.add_argument("--seed", type=int, default=None, help="seed of every random draw (-s training.seed=S)")
    t.add_argument("--out", metavar="RUNDIR", help="run directory to create")
    t.add_argument("--resume", metavar="RUNDIR", help="continue an interrupted run from its last checkpoint")
    t.add_argument("--baseline", action="store_true",
                   help="also train the float preset with the same settings and print both accuracies")
    t.add_argument("--seeds", metavar="S,S,…", help="train each seed into OUT/seed-S (in parallel; with "
                   "--baseline each its float baseline) and write their mean ± sd to OUT/seeds.json")
    t.add_argument("--jobs", type=int, default=None, help="--seeds: worker processes (default: CPU cores)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    cf = sub.add_parser("config", help="print the resolved configuration (TOML) or one setting's documentation")
    cf.add_argument("--preset", default=None, help="start from this preset (default ambrogio2018)")
    cf.add_argument("--config", metavar="FILE.toml", help="start from a configuration file instead")
    cf.add_argument("-s", "--set", action="append", metavar="PATH=VALUE",
                    help="override a setting, as for train (lists: -s network.hidden=[500,250])")
    cf.add_argument("--explain", metavar="KEY", help="print the documentation of one setting, e.g. transfer.interval")
    cf.add_argument("--docs", metavar="FILE.md", help="write the reference of every setting (docs/config.md)")
    cf.set_defaults(func=cmd_config)

    sw = sub.add_parser("sweep", help="run a sweep of training runs (settings x seeds) locally or on a Dask cluster")
    sw.add_argument("sweep", metavar="SWEEP.toml", help="sweep file (docs/sweeps.md; examples/sweeps/)")
    sw.add_argument("--out", metavar="DIR", help="sweep directory (created; rerun the same command to resume)")
    sw.add_argument("--jobs", type=int, default=None, help="local worker processes (default: $PYCOSIM_JOBS or CPU cores)")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    sw.add_argument("--budget", metavar="NAME", help="a named [budget.NAME] of the sweep file, e.g. full")
    sw.add_argument("--dry-run", action="store_true", help="validate and list the runs, train nothing")
    sw.add_argument("--no-plots", action="store_true", help="do not write the plots")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    v = sub.add_parser("validate", help="compare the array model with SPICE on the same small crossbar")
    v.add_argument("--rows", type=int, default=8, help="crossbar rows (default 8)")
    v.add_argument("--cols", type=int, default=4, help="crossbar columns (default 4)")
    v.add_argument("--cases", type=int, default=20, help="random input vectors per read direction (default 20)")
    v.add_argument("--seed", type=int, default=0, help="seed of the device assignment, states and inputs (default 0)")
    v.add_argument("--calibration", metavar="CAL_DIR", help="calibration bundle (default: the shipped one)")
    v.add_argument("--workers", type=int, default=None, help="ngspice worker processes (default: CPU cores)")
    v.add_argument("--out", metavar="DIR", help="directory for validate.json, table.txt and the parity plots")
    v.add_argument("--quiet", action="store_true", help="no progress bars")
    v.set_defaults(func=cmd_validate)

    ev = sub.add_parser("evaluate", help="test accuracy of a trained run over time (PCM drift, read noise, 3T1C)")
    ev.add_argument("rundir", metavar="RUNDIR", help="a `pycosim train` run directory (read only)")
    ev.add_argument("--times", default="1s,1h,1d,1y", help="times after training, e.g. 0s,1s,1h,1d,1y (default 1s,1h,1d,1y)")
    ev.add_argument("--repeats", type=int, default=5, help="independent noise draws (default 5)")
    ev.add_argument("--compensation", default="none", choices=("none", "global"), help="global drift compensation")
    ev.add_argument("--noise-model", default="circuit", choices=("circuit", "pcm-statistical", "both"),
                    help="circuit-derived model (default) or the statistical PCM model of Rasch et al. 2023")
    ev.add_argument("--lsp", default="transfer", choices=("transfer", "leak"),
                    help="3T1C: final transfer into the PCM (default) or let it leak during inference")
    ev.add_argument("--seed", type=int, default=0, help="seed of the evaluation's draws (default 0)")
    ev.add_argument("--dataset", default=None, help="the run's data: mnist (default), mnist-backrand[:SEED], idx:DIR or npz:FILE")
    ev.add_argument("--test-subset", type=int, default=None, metavar="K",
                    help="first K test examples (default: the run's training.test_subset; 0 = all)")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_evaluate)

    dp = sub.add_parser("deploy", help="program a trained network (run directory or WEIGHTS.npz) into arrays; "
                        "leaves a run directory for evaluate and report")
    dp.add_argument("source", metavar="RUN|WEIGHTS.npz", help="a `pycosim train` run directory or a WEIGHTS.npz "
                    "(per layer W0, b0, W1, b1, … and activation='sigmoid'; docs/deployment.md)")
    dp.add_argument("--synapse", default="2pcm+3t1c", help="synapse scheme of the arrays: 2pcm+3t1c (default), "
                    "4pcm, 2pcm, ideal")
    dp.add_argument("--mode", default=None, choices=("closed", "open"),
                    help="programming: closed-loop program-and-verify (the configuration's default) or open loop")
    dp.add_argument("-s", "--set", action="append", metavar="PATH=VALUE",
                    help="override a setting of the deployment's configuration, e.g. -s transfer.tolerance=0.03")
    dp.add_argument("--calibration", metavar="CAL_DIR", help="calibration bundle (default: the shipped one)")
    dp.add_argument("--dataset", default=None, help="data of the t = 0 test accuracy (default: the run's, else mnist)")
    dp.add_argument("--test-subset", type=int, default=None, metavar="K", help="first K test examples (0 = all)")
    dp.add_argument("--seed", type=int, default=None, help="seed of the arrays' devices and programming noise "
                    "(default: the run's training seed, 0 for WEIGHTS.npz)")
    dp.add_argument("--out", metavar="DIR", required=True, help="run directory to create")
    dp.set_defaults(func=cmd_deploy)

    rp = sub.add_parser("report", help="energy per example, GOP/s/W and PCM lifetime of runs, side by side")
    rp.add_argument("rundirs", metavar="RUNDIR", nargs="+", help="`pycosim train` run directories (with --html "
                    "also sweep and validation directories)")
    rp.add_argument("--endurance", type=float, default=1e8, help="PCM endurance in RESET cycles (default 1e8)")
    rp.add_argument("--duty-cycle", type=float, default=1.0, help="fraction of the time spent training (default 1)")
    rp.add_argument("--fraction", type=float, default=1e-3, help="device fraction whose wear-out ends life (default 0.001)")
    rp.add_argument("--calibration", metavar="CAL_DIR", help="bundle of the energies (default: the run's, else shipped)")
    rp.add_argument("--out", metavar="DIR", help="also write the comparison report.json and energy_comparison.png here")
    rp.add_argument("--html", metavar="OUT.html", help="write one self-contained HTML page of the runs, sweep "
                    "directories and validation directories given (figures embedded)")
    rp.set_defaults(func=cmd_report)

    cal = sub.add_parser("calibration", help="inspect calibration bundles")
    csub = cal.add_subparsers(dest="calibration_command", metavar="SUBCOMMAND")
    sh = csub.add_parser("show", help="print a readable summary of a bundle (and optionally plot it)")
    sh.add_argument("cal_dir", nargs="?", default=None, help="bundle directory (default: the shipped bundle)")
    sh.add_argument("--plots", metavar="DIR", help="write PNG plots of the bundle here")
    sh.set_defaults(func=cmd_calibration_show)
    _add_measured_parsers(sub, csub)
    return p


def _add_measured_parsers(sub, csub) -> None:
    """``calibrate-data``, ``calibration diff`` and ``calibration export-pulses`` (measured device data)."""
    cd = sub.add_parser("calibrate-data", help="measured pulse responses (CSV) -> calibration bundle")
    cd.add_argument("pulses", metavar="PULSES.csv", help="device,pulse,direction,G_S (docs/devices.md)")
    cd.add_argument("--role", required=True, choices=("msp", "lsp"),
                    help="msp: the PCM pair's device (every scheme with PCM); lsp: a bidirectional "
                         "lower-significance device (synapse.kind=2pcm+meas)")
    cd.add_argument("--out", required=True, metavar="CAL_DIR", help="bundle directory to write")
    cd.add_argument("--base", metavar="CAL_DIR", help="bundle for what the data do not give (default: the shipped one)")
    cd.add_argument("--drift", metavar="DRIFT.csv", help="device,t_s,G_S reads after programming (msp)")
    cd.add_argument("--read-noise", metavar="NOISE.csv", help="device,G_S repeated reads")
    cd.add_argument("--plots", metavar="DIR", help="write the per-device fits against the data here")
    cd.set_defaults(func=cmd_calibrate_data)
    df = csub.add_parser("diff", help="scalars and tables that differ between two bundles, with relative changes")
    df.add_argument("a", metavar="A", help="first bundle directory ('default' = the shipped one)")
    df.add_argument("b", metavar="B", help="second bundle directory")
    df.add_argument("--rtol", type=float, default=1e-9, help="relative change below which values count as equal")
    df.set_defaults(func=cmd_calibration_diff)
    ex = csub.add_parser("export-pulses", help="write a bundle's SPICE PCM pulse responses and drift as CSV")
    ex.add_argument("cal_dir", nargs="?", default=None, help="bundle directory (default: the shipped bundle)")
    ex.add_argument("--out", required=True, metavar="DIR", help="directory for pulses.csv and drift.csv")
    ex.set_defaults(func=cmd_calibration_export)


def cmd_calibrate_data(args) -> int:
    import time

    from pycosim.measured import calibrate_data

    t0 = time.perf_counter()
    b = calibrate_data(args.pulses, args.role, args.out, base=args.base, drift=args.drift,
                       read_noise_csv=args.read_noise, plots=args.plots)
    m = b.provenance["measured"]
    inp = m["inputs"]["pulses"]
    print(f"wrote calibration bundle {b.path} in {time.perf_counter() - t0:.1f} s ({args.role}: {inp['rows']} rows, "
          f"{inp['devices']} devices, {inp['sequences']} sequences; {len(m['from_data'])} items from data, "
          f"the rest from {m['base']['path']})")
    if args.role == "lsp":
        print(f"train with: pycosim train --calibration {b.path} -s synapse.kind=2pcm+meas")
    return 0


def cmd_calibration_diff(args) -> int:
    from pycosim import calibration

    a = calibration.load(None if args.a == "default" else args.a)
    b = calibration.load(None if args.b == "default" else args.b)
    print(calibration.format_diff(calibration.diff(a, b, rtol=args.rtol), a, b))
    return 0


def cmd_calibration_export(args) -> int:
    from pycosim import calibration
    from pycosim.measured import export_pulses

    paths = export_pulses(calibration.load(args.cal_dir), args.out)
    print("wrote " + ", ".join(map(str, paths)))
    return 0


def cmd_evaluate(args) -> int:
    from pycosim.evaluate import evaluate, parse_times

    times = parse_times(args.times)          # one-line errors before anything is loaded
    res = evaluate(args.rundir, args.times, repeats=args.repeats, compensation=args.compensation,
                   noise_model=args.noise_model, lsp_mode=args.lsp, seed=args.seed, dataset=args.dataset,
                   test_subset=args.test_subset, progress=not args.quiet)
    print(f"{res['preset']} {'-'.join(map(str, res['layers']))}: test accuracy on {res['test_examples']} examples "
          f"(mean ± std over {args.repeats} draws; end of training {100 * (res['trained_test_accuracy'] or 0):.2f} %)")
    new = res["entries"][-(2 if args.noise_model == "both" else 1):]
    print(f"  {'model':<34}" + "".join(f"{lab:>14}" for lab, _ in times))
    for e in new:
        name = f"{e['noise_model']}, {e['compensation']}" + (f", LSP {e['lsp_mode']}" if e["lsp_mode"] else "")
        print(f"  {name:<34}" + "".join(f"{100 * m:>8.2f}±{100 * s:<5.2f}" for m, s in
                                         zip(e["accuracy_mean"], e["accuracy_std"])))
    print(f"wrote {Path(args.rundir) / 'evaluate.json'} and plots/accuracy_vs_time.png")
    return 0


def cmd_deploy(args) -> int:
    from pycosim import calibration
    from pycosim.deploy import deploy

    bundle = calibration.load(args.calibration) if args.calibration else None
    m = deploy(args.source, args.synapse, args.out, mode=args.mode, dataset=args.dataset, bundle=bundle,
               seed=args.seed, test_subset=args.test_subset, assignments=args.set)
    d = m["deployment"]
    print(f"{d['source']} -> {args.synapse} ({d['mode']} loop, {d['programming_seconds']:.1f} s): test accuracy "
          f"{d['test_accuracy_t0']:.2%} at t = 0 on {d['test_examples']} examples"
          + (f" (source {d['source_test_accuracy']:.2%})" if d.get("source_test_accuracy") is not None else ""))
    for l, s in enumerate(d["layers"]):
        print(f"  layer {l + 1}: error rms {s['err_rms']:.4f}, {s['frac_within_tol']:.1%} within ±{s['tolerance']:g}, "
              f"{s['set_pulses']:,} SET pulses, {s['resets']:,} RESETs, {s['clipped_targets']} targets clipped "
              f"to ±{s['w_range']:.3g}")
    print(f"wrote {args.out} (pycosim evaluate {args.out}; pycosim report {args.out})")
    return 0


def cmd_report(args) -> int:
    from pycosim.evaluate import format_report, report

    if args.html:
        return _report_html(args)

    reps = report(args.rundirs, endurance_cycles=args.endurance, duty_cycle=args.duty_cycle, fraction=args.fraction,
                  calibration_dir=args.calibration, out_dir=args.out)
    print(format_report(reps))
    where = f"; comparison in {args.out}" if args.out else ""
    print(f"wrote report.json and plots/energy_breakdown.png in each run directory{where}")
    return 0


def _report_html(args) -> int:
    """``report PATH… --html OUT.html``: an analog run gets its energy report first (if it has a checkpoint
    and none yet), then one self-contained page of everything (:func:`pycosim.html_report.write_html`)."""
    from pycosim.evaluate import report
    from pycosim.html_report import kind_of, write_html
    from pycosim.nn import config as ncfg

    dirs = [Path(p).expanduser() for p in args.rundirs]
    kinds = [kind_of(d) for d in dirs]          # one-line errors before anything is written
    for d, k in zip(dirs, kinds):
        if k == "run" and (d / "checkpoint.npz").is_file() and not (d / "plots" / "energy_breakdown.png").is_file() \
                and ncfg.load(d / "config.toml").synapse.scheme.analog:
            report([d], endurance_cycles=args.endurance, duty_cycle=args.duty_cycle, fraction=args.fraction,
                   calibration_dir=args.calibration)
    print(f"wrote {write_html(dirs, args.html)}")
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. a failed ``.meas``) as one line on stderr, like errors."""
    print(f"pycosim: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pycosim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PycosimError as exc:
        print(f"pycosim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except OSError as exc:  # an output that could not be written late (disk full …): still one line
        if isinstance(exc, BrokenPipeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"pycosim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head/less that closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if caused_by_interrupt(exc):   # Ctrl-C inside compiled code (numba) surfaces as e.g. SystemError
            return _interrupted()
        raise


def _interrupted() -> int:
    """One line and exit status 130 for Ctrl-C (the SIGINT disposition is left as it is: main() may run
    inside another program, whose child processes inherit it)."""
    try:   # CPython remembers a KeyboardInterrupt that left code run by PyRun_* (as inside numba) and would end
        import ctypes   # the process by SIGINT at exit, even though it was handled here: forget it

        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except (ValueError, AttributeError, OSError):  # pragma: no cover - other interpreters
        pass
    print("pycosim: interrupted", file=sys.stderr)
    return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
