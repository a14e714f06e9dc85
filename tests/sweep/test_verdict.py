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
