"""An analog run against its float baseline: the gap, whether the baseline has converged, one figure.

``pycosim train --baseline`` trains the run's software baseline (:func:`pycosim.nn.config.float_baseline_of`:
the same network, data, training schedule and seed with ideal float32 weights) into ``RUNDIR/float-baseline``
and then calls :func:`attach_baseline`, which adds to the run's ``metrics.json`` a ``baseline`` block

    preset, run_dir                  'float' and the baseline's run directory
    test_accuracy                    the baseline's test accuracy after its last epoch (fraction)
    test_accuracy_per_epoch          its test accuracy after each epoch
    gap_pp                           run − baseline test accuracy, percentage points
    converged, last_epoch_gain_pp    :func:`convergence` of the baseline at this budget
    rule                             the convergence rule in words

and writes ``RUNDIR/plots/learning_curve.png`` with both runs on the same axes
(:func:`pycosim.nn.plots.plot_learning_curves`).

Convergence (also the condition of a sweep's "equivalent" verdict, :mod:`pycosim.sweep.results`): a float
baseline has converged at a budget when it trained at least two epochs and its last epoch raised its test
accuracy by less than :data:`CONVERGED_GAIN_PP` (0.25 pp, half the software-equivalence margin of 0.5 pp).
With the default learning-rate decay (η halves every epoch) the gains of later epochs shrink about as fast,
so what the baseline could still gain is then below the margin; a baseline still gaining more than that is
undertrained, and a gap to it says more about the budget than about the devices.
"""

from __future__ import annotations

import json
from pathlib import Path

from pycosim.files import atomic_write_bytes

#: A baseline whose last epoch gained less test accuracy than this (percentage points) has converged.
CONVERGED_GAIN_PP = 0.25
RULE = (f"converged: at least 2 epochs and the last epoch raised the test accuracy by < {CONVERGED_GAIN_PP} pp "
        f"(half the 0.5 pp equivalence margin)")


def convergence(test_accuracy_per_epoch) -> dict:
    """``{'converged': bool, 'last_epoch_gain_pp': float or None, 'reason': str}`` of a float baseline with
    these test accuracies (fractions, one per epoch): converged when there are at least two and the last
    gain is below :data:`CONVERGED_GAIN_PP` (module docstring). One epoch (or none) is not converged: nothing
    shows that more training would not help."""
    accs = [float(a) for a in (test_accuracy_per_epoch or []) if a is not None]
    if len(accs) < 2:
        return {"converged": False, "last_epoch_gain_pp": None,
                "reason": f"{len(accs)} epoch(s): convergence needs at least 2 to be tested"}
    gain = round(100 * (accs[-1] - accs[-2]), 9)
    ok = gain < CONVERGED_GAIN_PP
    return {"converged": bool(ok), "last_epoch_gain_pp": gain,
            "reason": f"last epoch {'gained only' if ok else 'still gained'} {gain:+.2f} pp "
                      f"({'<' if ok else '≥'} {CONVERGED_GAIN_PP} pp)"}


def baseline_block(metrics: dict, float_metrics: dict, run_dir=None) -> dict:
    """The ``baseline`` block of an analog run's metrics (module docstring) from the two runs' metrics."""
    acc, base = metrics.get("test_accuracy"), float_metrics.get("test_accuracy")
    conv = convergence(float_metrics.get("test_accuracy_per_epoch"))
    return {"preset": float_metrics.get("preset"), "run_dir": None if run_dir is None else str(run_dir),
            "test_accuracy": base, "test_accuracy_per_epoch": float_metrics.get("test_accuracy_per_epoch"),
            "gap_pp": None if acc is None or base is None else round(100 * (acc - base), 9),
            "converged": conv["converged"], "last_epoch_gain_pp": conv["last_epoch_gain_pp"],
            "convergence": conv["reason"], "rule": RULE}


def attach_baseline(run_dir, float_metrics: dict, float_dir=None, plots: bool = True) -> dict:
    """Add the ``baseline`` block (:func:`baseline_block`) to ``run_dir/metrics.json`` (rewritten atomically)
    and, with *plots*, write ``run_dir/plots/learning_curve.png`` with the run and its baseline on one figure.
    Returns the updated metrics."""
    from pycosim.nn.plots import plot_learning_curves

    path = Path(run_dir) / "metrics.json"
    metrics = json.loads(path.read_text())
    block = baseline_block(metrics, float_metrics, float_dir)
    metrics["baseline"] = block
    atomic_write_bytes(path, (json.dumps(metrics, indent=2) + "\n").encode())
    if plots:
        gap = block["gap_pp"]
        title = (f"{metrics.get('preset')} against float, {'-'.join(map(str, metrics.get('layers', [])))}: "
                 f"gap {gap:+.2f} pp" + ("" if block["converged"] else "\n(float baseline not converged at this budget)")
                 if gap is not None else None)
        plot_learning_curves(Path(run_dir) / "plots" / "learning_curve.png", [metrics, float_metrics], title=title)
    return metrics


def format_comparison(metrics: dict) -> str:
    """One line: the float accuracy, the gap and whether the baseline has converged (from a run's metrics
    with a ``baseline`` block)."""
    b = metrics["baseline"]
    conv = "converged" if b["converged"] else "NOT converged at this budget, the gap is not a verdict"
    return (f"float: test accuracy {b['test_accuracy']:.2%} (software baseline: same network, data, schedule and "
            f"seed, ideal weights); difference {b['gap_pp']:+.2f} percentage points; baseline {conv} "
            f"({b['convergence']})")
