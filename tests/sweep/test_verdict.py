"""The software-equivalence verdict at its threshold: a point is equivalent when its mean gap to the float
baseline is at least −0.5 pp (any gap above the baseline too). Gaps right around the threshold — −0.3,
exactly −0.5, −0.6 and +0.6 pp — so that a threshold of 0 pp, a strict inequality or a verdict on
|gap| ≤ 0.5 fails here (synthetic results, no training)."""

import numpy as np
import pytest

from pycosim.sweep import load_sweep
from pycosim.sweep.results import EQUIVALENCE_PP, equivalent, format_summary, summary

BASE = 0.9
#: synapse.F → accuracy of that point (gap to the 0.9 baseline in pp: −0.3, −0.5, −0.6, +0.6, −2.0)
ACC = {1: 0.897, 2: 0.895, 3: 0.894, 4: 0.906, 5: 0.88}
VERDICT = {1: True, 2: True, 3: False, 4: True, 5: False}


@pytest.mark.parametrize("gap, verdict", [(-0.3, True), (-0.5, True), (-0.6, False), (0.6, True), (0.0, True),
                                          (-0.5000000000000004, True), (-0.5001, False), (5.0, True)])
def test_verdict_at_the_threshold(gap, verdict):
    assert EQUIVALENCE_PP == 0.5
    assert bool(equivalent(gap)) is verdict
    assert bool(equivalent(np.array([gap]))[0]) is verdict       # the plots' vectorised use


def test_summary_verdicts_around_the_threshold(write_sweep):
    sweep = load_sweep(write_sweep('"synapse.F" = [1, 2, 3, 4, 5]', seeds="[0, 1]"))
    recs = {t.key: {"key": t.key, "status": "finished", "wall_s": 1.0,
                    "test_accuracy": BASE if t.kind == "baseline" else ACC[t.values["synapse.F"]]}
            for t in sweep.tasks}
    s = summary(sweep, recs)
    gaps = {x["values"]["synapse.F"]: x["gap_pp"] for x in s}
    assert gaps == pytest.approx({1: -0.3, 2: -0.5, 3: -0.6, 4: 0.6, 5: -2.0}, abs=1e-9)
    assert {x["values"]["synapse.F"]: x["equivalent"] for x in s} == VERDICT
    assert all(x["n"] == 2 for x in s)
    table = format_summary(sweep, recs).splitlines()
    assert table[0] == "float baseline: 90.00 % ± 0.00"
    marks = [line.split()[5] for line in table[2:]]     # point, F, accuracy, ±, gap, equiv
    assert marks == ["yes", "yes", "no", "yes", "no"]


def test_rows_and_summary_carry_every_field(write_sweep):
    """results.csv rows and per-point summaries from hand-made records: a failed seed, a run without a
    record (skipped, not the end of the table), a point with nothing finished, two baselines."""
    from pycosim.sweep.results import baseline_accuracy, rows

    sweep = load_sweep(write_sweep('"synapse.F" = [1, 2, 3]', seeds="[0, 1]"))
    acc = {(1, 0): 0.897, (2, 0): 0.95}
    recs = {}
    for t in sweep.tasks:
        if t.kind == "baseline":
            recs[t.key] = {"key": t.key, "status": "finished", "test_accuracy": 0.9 + 0.02 * t.seed, "wall_s": 1.0}
            continue
        f = t.values["synapse.F"]
        if (f, t.seed) == (2, 1):
            continue                                                # not run yet: no record
        if (f, t.seed) in acc:
            recs[t.key] = {"key": t.key, "status": "finished", "test_accuracy": acc[f, t.seed], "wall_s": 2.0 * f,
                           "examples_per_s": 50.0 * f, "energy_per_example_J": f * 1e-9,
                           "pcm_pulses_per_example": 10.0 * f, "transfers": f, "error": None}
        else:
            recs[t.key] = {"key": t.key, "status": "failed", "test_accuracy": None, "error": f"boom {f}"}
    rs = rows(sweep, recs)
    pts = [r for r in rs if r["kind"] == "point"]
    assert [(r["synapse.F"], r["seed"]) for r in pts] == [(1, 0), (1, 1), (2, 0), (3, 0), (3, 1)]
    r10 = pts[0]
    assert r10 == {"name": r10["name"], "kind": "point", "point": 0, "seed": 0, "synapse.F": 1, "status": "finished",
                   "test_accuracy": 0.897, "baseline_accuracy": 0.9, "gap_pp": pytest.approx(-0.3, abs=1e-9),
                   "wall_s": 2.0, "examples_per_s": 50.0, "energy_per_example_J": 1e-9, "pcm_pulses_per_example": 10.0,
                   "transfers": 1, "error": None}
    assert r10["name"] and pts[1]["status"] == "failed" and pts[1]["error"] == "boom 1" and pts[1]["gap_pp"] is None
    assert pts[1]["baseline_accuracy"] == pytest.approx(0.92, abs=0)
    assert pts[2]["gap_pp"] == pytest.approx(5.0, abs=1e-9) and pts[2]["baseline_accuracy"] == 0.9
    base = [r for r in rs if r["kind"] == "baseline"]
    assert len(base) == 2 and all(r["baseline_accuracy"] is None and r["gap_pp"] is None for r in base)
    s = summary(sweep, recs)
    assert s[0] == {"point": 0, "values": {"synapse.F": 1}, "n": 1, "failed": 1, "mean": 0.897, "std": 0.0,
                    "gap_pp": pytest.approx(-0.3, abs=1e-9), "equivalent": True, "energy_per_example_J": 1e-9,
                    "pcm_pulses_per_example": 10.0}
    assert s[1]["n"] == 1 and s[1]["failed"] == 0 and s[1]["equivalent"] is True
    assert s[1]["energy_per_example_J"] == 2e-9 and s[1]["pcm_pulses_per_example"] == 20.0
    assert s[2] == {"point": 2, "values": {"synapse.F": 3}, "n": 0, "failed": 2, "mean": None, "std": None,
                    "gap_pp": None, "equivalent": None, "energy_per_example_J": None, "pcm_pulses_per_example": None}
    two = {t.key: {"key": t.key, "status": "finished", "test_accuracy": 0.9 if t.seed == 0 else 0.894}
           for t in sweep.tasks}                                    # every run at its seed's accuracy
    s2 = summary(sweep, two)
    assert s2[0]["mean"] == pytest.approx(0.897, abs=1e-12) and s2[0]["std"] == pytest.approx(0.003, abs=1e-12)
    assert baseline_accuracy(sweep, recs) == (pytest.approx(0.91, abs=1e-12), pytest.approx(0.01, abs=1e-12))
    no_base = {k: v for k, v in recs.items() if k not in {t.key for t in sweep.tasks if t.kind == "baseline"}}
    assert baseline_accuracy(sweep, no_base) == (None, None)
    assert all(x["gap_pp"] is None and x["equivalent"] is None for x in summary(sweep, no_base))


def test_summary_of_a_point_without_records_and_of_an_unfinished_run_with_an_accuracy(write_sweep):
    """A point with no record at all is summarised as empty (n 0, failed 0), not an error; a run that
    recorded an accuracy but did not finish (status 'failed') counts as failed, not in the mean."""
    sweep = load_sweep(write_sweep('"synapse.F" = [1, 2, 3]', seeds="[0]"))
    recs = {}
    for t in sweep.tasks:
        f = None if t.kind == "baseline" else t.values["synapse.F"]
        if f == 3:
            continue                                                # point 2: no record at all
        acc = BASE if f is None else {1: 0.897, 2: 0.5}[f]
        recs[t.key] = {"key": t.key, "status": "failed" if f == 2 else "finished", "test_accuracy": acc}
    s = summary(sweep, recs)
    assert s[0]["n"] == 1 and s[0]["mean"] == 0.897
    assert s[1] == {"point": 1, "values": {"synapse.F": 2}, "n": 0, "failed": 1, "mean": None, "std": None,
                    "gap_pp": None, "equivalent": None, "energy_per_example_J": None, "pcm_pulses_per_example": None}
    assert s[2] == {"point": 2, "values": {"synapse.F": 3}, "n": 0, "failed": 0, "mean": None, "std": None,
                    "gap_pp": None, "equivalent": None, "energy_per_example_J": None, "pcm_pulses_per_example": None}
