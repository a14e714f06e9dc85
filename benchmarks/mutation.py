"""Mutation testing of the physics and training core (mutmut 3): does each test fail when the defect it
guards is put in?

    python benchmarks/mutation.py                      # every module below, one after another
    python benchmarks/mutation.py transfer energy      # only these (names of MODULES)
    python benchmarks/mutation.py --list               # the modules and their tests
    python benchmarks/mutation.py schemes --only-from FILE   # only the mutants named in FILE (one a line):
                                                             # re-check a long module's survivors

For each module, the committed tree (``git ls-files``, plus uncommitted edits of tracked files) is copied
to a scratch directory (``$PYCOSIM_MUTATION_DIR``, default ``/tmp/pycosim-mutation/<module>``), the
``[tool.mutmut]`` section of pyproject.toml is completed with the module (``only_mutate``) and the tests
that cover it (``pytest_add_cli_args_test_selection``), and ``mutmut run --max-children 1`` runs there
(one worker: the suite drives ngspice and numba; a second worker only slows the machine down). The
per-module counts are appended to ``benchmarks/results/mutation-run.txt`` with the surviving mutants'
names and diffs; ``benchmarks/results/mutation.txt`` is the curated table (each survivor killed by a named
test or explained as equivalent), edited by hand from that output. Not part of CI: a module takes minutes
to an hour.

mutmut 3 does not mutate decorated functions (it cannot wrap them in its trampolines), so every
``@njit`` kernel of ``pycosim/array/kernels.py`` is left alone: the kernels are guarded by the
kernel-versus-NumPy-reference tests (tests/array/test_kernels.py) and, for the c2c term, by the
statistical test test_lsp_update_kernel_c2c_spread_grows_as_sqrt_n in the same file — mutate them by hand (docs/testing.md).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

#: the short selection of tests/array for the crossbar and the schemes (pytest arguments; -k leaves out
#: test_zero_delta_changes_nothing (its first case compiles the kernels: ~30 s), test_leak_toward_asymptote_and_cache
#: (~11 s) and test_forward_backward_close_to_weights (~8 s))
ARRAY_TESTS = ("tests/array/test_analog_mutants.py", "tests/array/test_crossbar_api.py", "tests/array/test_schemes_devices.py", "tests/array/test_schemes_3t1c.py",
               "tests/array/test_crossbar.py",
               "tests/array/test_schemes.py", "tests/array/test_drift_compensation.py",
               "-k", "not test_zero_delta_changes_nothing and not test_leak_toward_asymptote_and_cache "
                     "and not test_forward_backward_close_to_weights")

#: name → (files to mutate, tests that cover them). Short, targeted test selections: mutmut runs each
#: mutant against the tests that reached the mutated function in its first (statistics) pass.
MODULES = {
    "devices-lsp": (["pycosim/devices/lsp.py"], ["tests/devices/test_lsp_population.py", "tests/devices/test_lsp.py"],
                    None),
    "devices-pcm": (["pycosim/devices/pcm.py"], ["tests/devices/test_pcm_mutants.py", "tests/devices/test_pcm_population.py",
                                                 "tests/array/test_endurance.py",
                                                      "tests/devices/test_pcm.py"],
                    None),
    "devices-integrator": (["pycosim/devices/integrator.py", "pycosim/devices/__init__.py"],
                           ["tests/devices/test_integrator_helpers.py", "tests/devices/test_integrator.py"], None),
    "transfer": (["pycosim/array/transfer.py"], ["tests/array/test_transfer_engine.py", "tests/array/test_crossbar.py",
                                                 "tests/validation/test_engine.py"], None),
    # crossbar and schemes: all of tests/array per mutant is too slow (its 3 slowest tests take ~50 s alone);
    # the selection below runs in ~9 s (3 s of CPU) on the shared 2-core machine
    "crossbar": (["pycosim/array/crossbar.py"], [*ARRAY_TESTS], None),
    "schemes": (["pycosim/array/schemes/*.py"], [*ARRAY_TESTS], None),
    # analog.py alone (the base of every analog scheme: build, update counts, transfer, reset, set, refresh)
    "schemes-analog": (["pycosim/array/schemes/analog.py"], [*ARRAY_TESTS], None),
    "inference": (["pycosim/inference/*.py"], ["tests/evaluate/test_inference_formulas.py",
                                               "tests/evaluate/test_inference.py"], None),
    "energy": (["pycosim/evaluate/energy.py"], ["tests/evaluate/test_energy.py"],
               # the core: counts by phase, prices, operations (read_pulse/read_conduction_bound_J: report extras)
               ["*x_per_op_energies__*", "*x_init_counts__*", "*x_event_counts__*", "*x_operations__*", "*x_energy__*"]),
    "timing": (["pycosim/timing.py"], ["tests/test_timing.py", "tests/evaluate/test_energy.py"], None),
    "sweep-verdict": (["pycosim/sweep/results.py"], ["tests/sweep/test_verdict.py", "tests/sweep/test_plots.py"],
                      # the verdict and its inputs (the journal and CSV writer: tests/sweep/test_run.py, not here)
                      ["*x_equivalent__*", "*x_rows__*", "*x_summary__*", "*x_baseline_accuracy__*"]),
    "calibration": (["pycosim/calibration.py"], ["tests/test_calibration_io.py"],
                    # the loader and its validation (not the characterisation helpers)
                    ["*x_load__*", "*Bundleǁvalidate__*", "*x__check_scalar_type__*", "*x_save__*"]),
}
#: mutmut 3 does not mutate decorated functions: every function of kernels.py is @njit, so it has no
#: mutants (see the module docstring); it is listed by --list but not run.
UNMUTATED = {"kernels": (["pycosim/array/kernels.py"], ["tests/array/test_kernels.py"])}

RESULTS = ROOT / "benchmarks" / "results" / "mutation-run.txt"


def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{x}"' for x in items) + "]"


def prepare(name: str, scratch: Path, tests: list[str] | None = None) -> None:
    """Copy the tracked tree to *scratch* and write the module's [tool.mutmut] section (*tests*: instead of the
    module's test selection)."""
    files, own, _ = MODULES[name]
    tests = tests or own
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            dst = scratch / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    for rel in tests:          # test files not committed yet (new tests being written)
        src = ROOT / rel
        if src.is_file() and not (scratch / rel).exists():
            shutil.copy2(src, scratch / rel)
    pp = (scratch / "pyproject.toml").read_text()
    head, sep, tail = pp.partition("[tool.mutmut]")
    if not sep:
        raise SystemExit("pyproject.toml has no [tool.mutmut] section")
    section = (f"[tool.mutmut]\nonly_mutate = {_toml_list(files)}\n"
               f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n")
    (scratch / "pyproject.toml").write_text(head + section + tail)


_SHOW = """import json, sys
import mutmut.__main__ as mm
for n in json.load(sys.stdin):
    print("\\x00" + n, flush=True)
    try:
        mm.show.callback(n)
    except Exception as e:  # a mutant mutmut cannot show: keep its name
        print(e)
"""


def _diffs(names: list[str], scratch: Path, env: dict) -> dict[str, str]:
    """The diff of each mutant (what ``mutmut show`` prints), all in one process (one start-up, not one each)."""
    if not names:
        return {}
    import json

    out = subprocess.run([PY, "-c", _SHOW], cwd=scratch, env=env, input=json.dumps(names), capture_output=True,
                         text=True).stdout
    diffs = {}
    for chunk in out.split("\x00")[1:]:
        head, _, body = chunk.partition("\n")
        diffs[head.strip()] = body
    return diffs


def run(name: str, scratch: Path, only: list[str] | None = None) -> dict:
    import fnmatch

    pats = only or MODULES[name][2] or []
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)         # mutmut puts the mutated copy first on sys.path itself
    env.setdefault("NUMBA_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    mutmut = [PY, "-c", "import sys; from mutmut.__main__ import cli; sys.argv[0] = 'mutmut'; cli()"]
    t0 = time.time()
    p = subprocess.run([*mutmut, "run", "--max-children", "1", *pats], cwd=scratch, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    res = subprocess.run([*mutmut, "results", "--all", "true"], cwd=scratch, env=env, capture_output=True, text=True)
    status = {}
    for line in res.stdout.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m and (not pats or any(fnmatch.fnmatch(m.group(1), q) for q in pats)):
            status[m.group(1)] = m.group(2).strip()
    counts: dict[str, int] = {}
    for s in status.values():
        counts[s] = counts.get(s, 0) + 1
    survivors = [k for k, s in status.items() if s in ("survived", "no tests")]
    diffs = _diffs(survivors, scratch, env)
    return {"status": status, "counts": counts, "survivors": survivors, "diffs": diffs, "wall_s": wall,
            "rc": p.returncode, "log": (p.stdout + p.stderr)[-3000:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--scratch", default=os.environ.get("PYCOSIM_MUTATION_DIR", "/tmp/pycosim-mutation"))
    ap.add_argument("--only-from", metavar="FILE",
                    help="run only the mutants named in FILE (one name or glob a line), e.g. a module's survivors")
    ap.add_argument("--tests", nargs="+", metavar="TEST",
                    help="pytest arguments replacing the module's test selection, e.g. only the new tests when "
                         "re-checking the survivors of a full run (a mutant that survived every old test is "
                         "killed iff a new one kills it)")
    a = ap.parse_args(argv)
    if a.list:
        for k, (files, tests, pats) in MODULES.items():
            print(f"{k:20} {' '.join(files)}{' (' + ' '.join(pats) + ')' if pats else ''}  ←  {' '.join(tests)}")
        for k, (files, tests) in UNMUTATED.items():
            print(f"{k:20} {' '.join(files)}  (no mutants: @njit)  ←  {' '.join(tests)}")
        return 0
    only = None
    if a.only_from:
        only = [ln.strip() for ln in Path(a.only_from).read_text().splitlines() if ln.strip()]
    names = a.modules or list(MODULES)
    bad = [n for n in names if n not in MODULES]
    if bad:
        raise SystemExit(f"unknown module(s) {bad}; known: {', '.join(MODULES)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        scratch = Path(a.scratch) / name
        prepare(name, scratch, a.tests)
        r = run(name, scratch, only)
        c = r["counts"]
        killed = c.get("killed", 0) + c.get("timeout", 0)
        survived = c.get("survived", 0)
        total = sum(c.values())
        score = 100 * killed / max(killed + survived, 1)
        tag = f"{name} (only {len(only)} named)" if only else name
        if a.tests:
            tag += f" [tests: {' '.join(a.tests)}]"
        line = (f"{tag:20} mutants {total:4d}  killed {killed:4d}  survived {survived:4d}  "
                f"other {total - killed - survived:3d} {dict(c)}  score {score:5.1f} %  ({r['wall_s']:.0f} s)")
        print(line, flush=True)
        with open(RESULTS, "a") as fh:
            fh.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')} {line}\n")
            if r["rc"]:
                fh.write(f"mutmut exit code {r['rc']}:\n{r['log']}\n")
            for k in r["survivors"]:
                fh.write(f"--- {k}: {r['status'][k]}\n{r['diffs'][k]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
