"""A sweep's results: the append-only journal, ``results.csv`` and per-point summaries.

``DIR/results.jsonl`` is the journal: one JSON line per finished or failed run, appended and synced to disk
as the run ends, never rewritten — what a killed sweep leaves is every result it had. The last line of a
run's key wins (a failed run retried later). ``DIR/results.csv`` is rewritten atomically from the journal
after every run: one row per point and seed (and per float baseline run) with the columns

    name, kind, point, seed        run directory DIR/runs/NAME; 'point' or 'baseline'; point index; seed
    <varied paths>                 the point's values (calibration: the bundle as written in the sweep)
    status, error                  finished / failed, and the one-line error of a failed run
    test_accuracy                  fraction of the test subset classified correctly after the last epoch
    baseline_accuracy, gap_pp      the float baseline's accuracy (same budget, seed, network and training
                                   settings) and test_accuracy − baseline_accuracy in percentage points
    baseline_converged             whether that baseline has converged at the budget (pycosim.nn.baseline:
                                   ≥ 2 epochs and its last epoch gained < 0.25 pp of test accuracy)
    wall_s                         wall time of the run in its worker (s)
    examples_per_s                 training examples per second
    energy_per_example_J           energy per training example (J): pycosim.evaluate.energy — counters of the
                                   forward, backward, update and transfer phases × the bundle's per-operation
                                   energies / training examples (empty for float runs)
    pcm_pulses_per_example         PCM SET + RESET pulses of updates and transfers / training examples
    transfers                      transfers done

Verdict of a point (:func:`verdict`): "equivalent" when its mean gap to the float baseline is at least
−0.5 pp *and* every baseline it is compared with has converged at the sweep's budget; "not equivalent" when
the gap is below −0.5 pp against converged baselines; "undetermined" otherwise — an undertrained baseline
says more about the budget than about the devices (:func:`convergence_warning` names the budget).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path

import numpy as np

from pycosim.files import atomic_write_bytes
from pycosim.nn.baseline import CONVERGED_GAIN_PP, convergence

JOURNAL = "results.jsonl"
CSV = "results.csv"
EQUIVALENCE_PP = 0.5   # software equivalence: within this many percentage points of the float baseline
EQUIVALENT, NOT_EQUIVALENT, UNDETERMINED = "equivalent", "not equivalent", "undetermined"


def equivalent(gap_pp):
    """The software-equivalence verdict of a mean gap to the float baseline (percentage points; a number or
    an array): gap_pp ≥ −EQUIVALENCE_PP — at most 0.5 pp below the baseline, any amount above it. The gap is
    rounded to 10⁻⁹ pp first, so that a gap of exactly 0.5 pp between two accuracies (0.895 against 0.9:
    100·(0.895 − 0.9) = −0.5000000000000004 in floating point) counts as equivalent."""
    return np.round(gap_pp, 9) >= -EQUIVALENCE_PP


def verdict(gap_pp, baseline_converged) -> str | None:
    """The verdict of a mean gap *gap_pp* (percentage points; None: no gap) against baselines that have
    (*baseline_converged* True) or have not converged at the budget: :data:`EQUIVALENT` /
    :data:`NOT_EQUIVALENT` by :func:`equivalent` when they have, :data:`UNDETERMINED` when not; None
    without a gap."""
    if gap_pp is None:
        return None
    if not baseline_converged:
        return UNDETERMINED
    return EQUIVALENT if bool(equivalent(gap_pp)) else NOT_EQUIVALENT


def read_journal(path) -> dict:
    """key → latest record of the journal at *path* ({} if absent; a torn last line is ignored)."""
    out = {}
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue     # the line a killed process was writing
        if isinstance(rec, dict) and "key" in rec:
            out[rec["key"]] = rec
    return out


def append_journal(path, record: dict) -> None:
    """Append *record* as one line and sync it to disk (a torn last line of a killed writer is closed)."""
    path = Path(path)
    line = json.dumps(record, default=_plain) + "\n"
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                line = "\n" + line
        fh.write(line.encode())
        fh.flush()
        os.fsync(fh.fileno())


def _plain(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (tuple, set)):
        return list(o)
    return str(o)


def make_record(task, outcome: dict) -> dict:
    """The journal record of *task* (pycosim.sweep.spec.Task) from its executor *outcome*
    (pycosim.sweep.execute)."""
    m = outcome.get("metrics") or {}
    hw = outcome.get("hardware") or {}
    return {
        "key": task.key, "name": task.name, "kind": task.kind, "point": task.point, "seed": task.seed,
        "values": task.values, "baseline": task.baseline, "status": outcome["status"],
        "test_accuracy": m.get("test_accuracy"),
        "test_accuracy_per_epoch": m.get("test_accuracy_per_epoch"),
        "wall_s": outcome.get("wall_s"),
        "examples_per_s": m.get("examples_per_second"),
        "energy_per_example_J": hw.get("energy_per_example_J"),
        "pcm_pulses_per_example": hw.get("pcm_pulses_per_example"),
        "hardware_error": hw.get("hardware_error"),
        "transfers": (m.get("transfers") or {}).get("count"),
        "error": outcome.get("error"), "host": outcome.get("host"), "reused": outcome.get("reused", False),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return json.dumps(list(v))
    return str(v)


def rows(sweep, records: dict) -> list[dict]:
    """results.csv rows (in the sweep's run order; runs without a record are left out)."""
    out = []
    for t in sweep.tasks:
        r = records.get(t.key)
        if r is None:
            continue
        b = records.get(t.baseline) if t.baseline else None
        finished = bool(b and b.get("status") == "finished")
        base = b.get("test_accuracy") if finished else None
        acc = r.get("test_accuracy")
        row = {"name": t.name, "kind": t.kind, "point": t.point, "seed": t.seed}
        for p in sweep.varied:
            row[p] = t.values.get(p)
        row.update(status=r["status"], test_accuracy=acc, baseline_accuracy=base,
                   gap_pp=100 * (acc - base) if acc is not None and base is not None else None,
                   baseline_converged=convergence(b.get("test_accuracy_per_epoch"))["converged"] if finished
                   else None)
        for k in ("wall_s", "examples_per_s", "energy_per_example_J", "pcm_pulses_per_example", "transfers",
                  "error"):
            row[k] = r.get(k)
        out.append(row)
    return out


def write_csv(path, sweep, records: dict) -> Path:
    """Write results.csv atomically (columns in the module docstring)."""
    data = rows(sweep, records)
    cols = ["name", "kind", "point", "seed", *sweep.varied, "status", "test_accuracy", "baseline_accuracy",
            "gap_pp", "baseline_converged", "wall_s", "examples_per_s", "energy_per_example_J", "pcm_pulses_per_example", "transfers",
            "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in data:
        w.writerow([_fmt(r.get(c)) for c in cols])
    return atomic_write_bytes(path, buf.getvalue().encode())


def summary(sweep, records: dict) -> list[dict]:
    """Per point: {'point', 'values', 'n' (finished seeds), 'failed', 'mean', 'std' (accuracy over seeds,
    population), 'gap_pp' (mean over seeds of accuracy − baseline, percentage points, None without
    baselines), 'baseline_converged' (every baseline of its gaps converged at the budget), 'verdict'
    (:func:`verdict`), 'equivalent' (True / False for a verdict against converged baselines, None when
    undetermined or without a gap), 'energy_per_example_J', 'pcm_pulses_per_example' (means)}."""
    by_point: dict[int, list] = {}
    for r in rows(sweep, records):
        if r["kind"] == "point":
            by_point.setdefault(r["point"], []).append(r)
    out = []
    for i, values in enumerate(sweep.points):
        rs = by_point.get(i, [])
        ok = [r for r in rs if r["status"] == "finished" and r["test_accuracy"] is not None]
        accs = np.array([r["test_accuracy"] for r in ok], float)
        gaps = [r["gap_pp"] for r in ok if r["gap_pp"] is not None]

        def mean(k):
            v = [r[k] for r in ok if r.get(k) is not None]
            return float(np.mean(v)) if v else None

        gap = float(np.mean(gaps)) if gaps else None
        conv = bool(gaps) and all(r["baseline_converged"] for r in ok if r["gap_pp"] is not None)
        v = verdict(gap, conv)
        out.append({"point": i, "values": values, "n": len(ok), "failed": len(rs) - len(ok),
                    "mean": float(accs.mean()) if ok else None, "std": float(accs.std()) if ok else None,
                    "gap_pp": gap, "baseline_converged": conv if gaps else None, "verdict": v,
                    "equivalent": None if v in (None, UNDETERMINED) else v == EQUIVALENT,
                    "energy_per_example_J": mean("energy_per_example_J"),
                    "pcm_pulses_per_example": mean("pcm_pulses_per_example")})
    return out


def baseline_accuracy(sweep, records: dict) -> tuple[float | None, float | None]:
    """Mean and population standard deviation of the finished float baseline runs' accuracies."""
    accs = [records[t.key]["test_accuracy"] for t in sweep.tasks
            if t.kind == "baseline" and t.key in records and records[t.key]["status"] == "finished"]
    return (float(np.mean(accs)), float(np.std(accs))) if accs else (None, None)


def format_summary(sweep, records: dict) -> str:
    """A plain-text table of :func:`summary` (one line per point) and the float baseline."""
    lines = []
    b, bs = baseline_accuracy(sweep, records)
    if b is not None:
        lines.append(f"float baseline: {100 * b:.2f} % ± {100 * bs:.2f}")
    head = "  ".join(f"{p:>18}" for p in sweep.varied)
    lines.append(f"{'point':>5}  {head}  {'accuracy %':>10}  {'± (seeds)':>9}  {'gap pp':>7}  {'equiv':>5}  "
                 f"{'nJ/example':>10}  {'PCM pulses/ex':>13}")
    for s in summary(sweep, records):
        vals = "  ".join(f"{_fmt(s['values'].get(p))[-18:]:>18}" for p in sweep.varied)
        acc = f"{100 * s['mean']:10.2f}  {100 * s['std']:9.2f}" if s["mean"] is not None else f"{'—':>10}  {'':>9}"
        mark = {EQUIVALENT: "yes", NOT_EQUIVALENT: "no", UNDETERMINED: "undet"}.get(s["verdict"], "")
        gap = f"{s['gap_pp']:+7.2f}  {mark:>5}" if s["gap_pp"] is not None else f"{'':>7}  {'':>5}"
        e = f"{1e9 * s['energy_per_example_J']:10.3f}" if s["energy_per_example_J"] is not None else f"{'':>10}"
        pp = f"{s['pcm_pulses_per_example']:13.1f}" if s["pcm_pulses_per_example"] is not None else f"{'':>13}"
        fail = f"  ({s['failed']} failed)" if s["failed"] else ""
        lines.append(f"{s['point']:>5}  {vals}  {acc}  {gap}  {e}  {pp}{fail}")
    return "\n".join(lines)


def _budget_text(sweep) -> str:
    b = sweep.budget
    return (f"budget '{sweep.budget_name}' ({b['train_subset'] or 'all'} training examples × {b['epochs']} "
            f"epoch(s))")


def convergence_warning(sweep, records: dict) -> str | None:
    """One line if any finished float baseline of the sweep has not converged at its budget (the verdicts
    that depend on it are "undetermined"), naming the budget and the baselines' last-epoch gains; None if
    every baseline converged (or there is none)."""
    bad = []
    for t in sweep.tasks:
        r = records.get(t.key)
        if t.kind != "baseline" or not r or r.get("status") != "finished":
            continue
        c = convergence(r.get("test_accuracy_per_epoch"))
        if not c["converged"]:
            bad.append((t.name, c))
    if not bad:
        return None
    gains = [c["last_epoch_gain_pp"] for _, c in bad if c["last_epoch_gain_pp"] is not None]
    why = (f"its last epoch still gained up to {max(gains):+.2f} pp (converged: < {CONVERGED_GAIN_PP} pp)" if gains
           else "one epoch cannot show convergence")
    return (f"sweep {sweep.name}: the float baseline has not converged at {_budget_text(sweep)} in {len(bad)} of its "
            f"run(s) ({why}): equivalence verdicts are 'undetermined'; give it more epochs ([budget] epochs, or a "
            f"[budget.NAME] chosen with --budget)")


def no_transfer_warning(sweep, records: dict) -> str | None:
    """One line if finished runs of schemes with transfers did none (their training examples were fewer
    than transfer.interval), naming the budget; None otherwise."""
    from pycosim.array import schemes

    zero = []
    for t in sweep.tasks:
        r = records.get(t.key)
        if t.kind != "point" or not r or r.get("status") != "finished" or r.get("transfers") not in (0, None):
            continue
        kind = ((t.config or {}).get("synapse") or {}).get("kind", "2pcm+3t1c")
        if schemes.info(kind).has_lsp and r.get("transfers") == 0:
            zero.append(t)
    if not zero:
        return None
    ivals = sorted({((t.config or {}).get("transfer") or {}).get("interval", 8000) for t in zero})
    return (f"sweep {sweep.name}: {len(zero)} run(s) did 0 transfers at {_budget_text(sweep)}: fewer training "
            f"examples than transfer.interval ({', '.join(map(str, ivals))}); their LSP was never moved into the PCM")
