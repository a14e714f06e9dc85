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
#: a float baseline that has converged at the budget: its last epoch gained 0.1 pp (< 0.25 pp)
CONVERGED = [BASE - 0.001, BASE]


@pytest.mark.parametrize("gap, verdict", [(-0.3, True), (-0.5, True), (-0.6, False), (0.6, True), (0.0, True),
                                          (-0.5000000000000004, True), (-0.5001, False), (5.0, True)])
def test_verdict_at_the_threshold(gap, verdict):
    assert EQUIVALENCE_PP == 0.5
    assert bool(equivalent(gap)) is verdict
    assert bool(equivalent(np.array([gap]))[0]) is verdict       # the plots' vectorised use


def test_summary_verdicts_around_the_threshold(write_sweep):
    sweep = load_sweep(write_sweep('"synapse.F" = [1, 2, 3, 4, 5]', seeds="[0, 1]"))
    recs = {t.key: {"key": t.key, "status": "finished", "wall_s": 1.0,
                    "test_accuracy": BASE if t.kind == "baseline" else ACC[t.values["synapse.F"]],
                    "test_accuracy_per_epoch": CONVERGED if t.kind == "baseline" else None}
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
            recs[t.key] = {"key": t.key, "status": "finished", "test_accuracy": 0.9 + 0.02 * t.seed, "wall_s": 1.0,
                           "test_accuracy_per_epoch": [0.899 + 0.02 * t.seed, 0.9 + 0.02 * t.seed]}
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
                   "baseline_converged": True, "wall_s": 2.0, "examples_per_s": 50.0, "energy_per_example_J": 1e-9, "pcm_pulses_per_example": 10.0,
                   "transfers": 1, "error": None}
    assert r10["name"] and pts[1]["status"] == "failed" and pts[1]["error"] == "boom 1" and pts[1]["gap_pp"] is None
    assert pts[1]["baseline_accuracy"] == pytest.approx(0.92, abs=0)
    assert pts[2]["gap_pp"] == pytest.approx(5.0, abs=1e-9) and pts[2]["baseline_accuracy"] == 0.9
    base = [r for r in rs if r["kind"] == "baseline"]
    assert len(base) == 2 and all(r["baseline_accuracy"] is None and r["gap_pp"] is None for r in base)
    assert all(r["baseline_converged"] is None for r in base)
    s = summary(sweep, recs)
    assert s[0] == {"point": 0, "values": {"synapse.F": 1}, "n": 1, "failed": 1, "mean": 0.897, "std": 0.0,
                    "gap_pp": pytest.approx(-0.3, abs=1e-9), "baseline_converged": True, "verdict": "equivalent",
                    "equivalent": True, "energy_per_example_J": 1e-9,
                    "pcm_pulses_per_example": 10.0}
    assert s[1]["n"] == 1 and s[1]["failed"] == 0 and s[1]["equivalent"] is True
    assert s[1]["energy_per_example_J"] == 2e-9 and s[1]["pcm_pulses_per_example"] == 20.0
    assert s[2] == {"point": 2, "values": {"synapse.F": 3}, "n": 0, "failed": 2, "mean": None, "std": None,
                    "gap_pp": None, "baseline_converged": None, "verdict": None, "equivalent": None,
                    "energy_per_example_J": None, "pcm_pulses_per_example": None}
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
        recs[t.key] = {"key": t.key, "status": "failed" if f == 2 else "finished", "test_accuracy": acc,
                       "test_accuracy_per_epoch": CONVERGED if f is None else None}
    s = summary(sweep, recs)
    assert s[0]["n"] == 1 and s[0]["mean"] == 0.897
    assert s[1] == {"point": 1, "values": {"synapse.F": 2}, "n": 0, "failed": 1, "mean": None, "std": None,
                    "gap_pp": None, "baseline_converged": None, "verdict": None, "equivalent": None,
                    "energy_per_example_J": None, "pcm_pulses_per_example": None}
    assert s[2] == {"point": 2, "values": {"synapse.F": 3}, "n": 0, "failed": 0, "mean": None, "std": None,
                    "gap_pp": None, "baseline_converged": None, "verdict": None, "equivalent": None,
                    "energy_per_example_J": None, "pcm_pulses_per_example": None}


# ------------------------------------------------------------------ honest verdicts: the baseline must have converged
@pytest.mark.parametrize("per_epoch, why", [([0.88, BASE], "still gained up to +2.00 pp"),
                                            ([BASE], "one epoch cannot show convergence")])
def test_an_unconverged_baseline_makes_every_verdict_undetermined_with_one_warning(write_sweep, per_epoch, why):
    """The same accuracies as above (gaps −0.3 … +0.6 pp) against a baseline still learning (or of one
    epoch): no point is called equivalent or not; the warning names the budget."""
    from pycosim.sweep.results import convergence_warning

    sweep = load_sweep(write_sweep('"synapse.F" = [1, 2, 3, 4, 5]', seeds="[0, 1]"))
    recs = {t.key: {"key": t.key, "status": "finished", "wall_s": 1.0,
                    "test_accuracy": BASE if t.kind == "baseline" else ACC[t.values["synapse.F"]],
                    "test_accuracy_per_epoch": per_epoch if t.kind == "baseline" else None}
            for t in sweep.tasks}
    s = summary(sweep, recs)
    assert [x["verdict"] for x in s] == ["undetermined"] * 5
    assert all(x["equivalent"] is None and x["baseline_converged"] is False for x in s)
    assert [line.split()[5] for line in format_summary(sweep, recs).splitlines()[2:]] == ["undet"] * 5
    w = convergence_warning(sweep, recs)
    assert "\n" not in w and "budget 'default' (100 training examples × 1 epoch(s))" in w and why in w
    assert "undetermined" in w
    # one converged baseline of two is not enough: the point's mean gap uses both
    first = next(t for t in sweep.tasks if t.kind == "baseline")
    recs[first.key]["test_accuracy_per_epoch"] = CONVERGED
    assert [x["verdict"] for x in summary(sweep, recs)] == ["undetermined"] * 5
    for t in sweep.tasks:
        if t.kind == "baseline":
            recs[t.key]["test_accuracy_per_epoch"] = CONVERGED
    assert convergence_warning(sweep, recs) is None
    assert {x["values"]["synapse.F"]: x["equivalent"] for x in summary(sweep, recs)} == VERDICT


def test_verdict_states():
    from pycosim.sweep.results import verdict

    assert verdict(-0.5, True) == "equivalent" and verdict(-0.6, True) == "not equivalent"
    assert verdict(3.0, False) == "undetermined" and verdict(-3.0, False) == "undetermined"
    assert verdict(None, True) is None


def test_heatmap_marks_only_cells_against_a_converged_baseline(tmp_path, write_sweep, monkeypatch):
    """The contour is drawn around the equivalent cells only: none when the baseline has not converged."""
    from pycosim.sweep import plots

    seen = []
    real = plots.equivalence_edges
    monkeypatch.setattr(plots, "equivalence_edges", lambda inside: seen.append(inside.copy()) or real(inside))
    sweep = load_sweep(write_sweep('"synapse.F" = [1, 4]\n"transfer.mode" = ["closed", "open"]'))
    acc = {(1, "closed"): 0.897, (4, "closed"): 0.906, (1, "open"): 0.894, (4, "open"): 0.88}

    def recs(per_epoch):
        return {t.key: {"key": t.key, "status": "finished", "wall_s": 1.0,
                        "test_accuracy": BASE if t.kind == "baseline" else
                        acc[t.values["synapse.F"], t.values["transfer.mode"]],
                        "test_accuracy_per_epoch": per_epoch if t.kind == "baseline" else None} for t in sweep.tasks}

    plots.plot_heatmap(sweep, recs(CONVERGED), "synapse.F", "transfer.mode", tmp_path / "a.png")
    assert seen[-1].tolist() == [[True, True], [False, False]]      # rows: closed, open; columns: F = 1, 4
    plots.plot_heatmap(sweep, recs([0.85, BASE]), "synapse.F", "transfer.mode", tmp_path / "b.png")
    assert not seen[-1].any()
    assert (tmp_path / "b.png").stat().st_size > 0


def test_no_transfer_warning_names_the_runs_and_the_budget(write_sweep):
    from pycosim.sweep.results import no_transfer_warning

    sweep = load_sweep(write_sweep('"synapse.F" = [1, 2]'))
    recs = {t.key: {"key": t.key, "status": "finished", "test_accuracy": 0.9, "transfers": 0 if t.point == 0 else 2}
            for t in sweep.tasks}
    w = no_transfer_warning(sweep, recs)
    assert w.startswith("sweep tiny: 1 run(s) did 0 transfers at budget 'default'") and "(50)" in w
    for r in recs.values():
        r["transfers"] = 2
    assert no_transfer_warning(sweep, recs) is None
