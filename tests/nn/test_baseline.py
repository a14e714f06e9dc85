"""An analog run against its float baseline on one page: the running accuracy in the history, the
``baseline`` block of metrics.json (gap, convergence), one learning-curve figure with both runs."""

import json

import numpy as np
import pytest

from pycosim.cli import main
from pycosim.nn import baseline
from pycosim.nn import plots as nplots
from pycosim.nn import train


@pytest.mark.parametrize("accs, converged", [([0.9, 0.902], True), ([0.9, 0.903], False), ([0.9, 0.9025], False),
                                             ([0.9, 0.95, 0.949], True), ([0.9], False), ([], False),
                                             ([0.5, 0.9, 0.9024], True)])
def test_convergence_rule_at_its_threshold(accs, converged):
    """0.2 pp gained in the last epoch: converged; 0.25 (the threshold) or 0.3 pp: not; one epoch: not."""
    assert baseline.CONVERGED_GAIN_PP == 0.25
    c = baseline.convergence(accs)
    assert c["converged"] is converged
    if len(accs) >= 2:
        assert c["last_epoch_gain_pp"] == pytest.approx(100 * (accs[-1] - accs[-2]), abs=1e-9)
    else:
        assert c["last_epoch_gain_pp"] is None and "at least 2" in c["reason"]


def test_running_every():
    assert [train.running_every(n) for n in (60, 1000, 20000, 60000)] == [50, 50, 1000, 1000]
    assert train.running_every(4000) == 200


@pytest.fixture(scope="module")
def tiny_npz(mnist_npz):
    return mnist_npz(230, 60)


def test_train_baseline_writes_the_block_and_one_figure_with_both_runs(tmp_path, tiny_npz, capsys, monkeypatch):
    calls = []
    real = nplots.plot_learning_curves

    def spy(path, runs, title=None):
        calls.append((str(path), [m["preset"] for m in runs], title))
        return real(path, runs, title)

    monkeypatch.setattr(nplots, "plot_learning_curves", spy)
    run = tmp_path / "run"
    code = main(["train", "--out", str(run), "--preset", "ambrogio2018-accel", "-s", "network.hidden=[12]",
                 "-s", "transfer.interval=100", "--epochs", "2", "--dataset", f"npz:{tiny_npz}", "--quiet",
                 "--baseline"])
    out = capsys.readouterr().out
    assert code == 0
    m = json.loads((run / "metrics.json").read_text())
    fm = json.loads((run / "float-baseline" / "metrics.json").read_text())
    b = m["baseline"]
    assert b["test_accuracy"] == fm["test_accuracy"] and b["preset"] == "float"
    assert b["gap_pp"] == pytest.approx(100 * (m["test_accuracy"] - fm["test_accuracy"]), abs=1e-9)
    assert b["test_accuracy_per_epoch"] == fm["test_accuracy_per_epoch"]
    assert b["converged"] == baseline.convergence(fm["test_accuracy_per_epoch"])["converged"]
    assert f"difference {b['gap_pp']:+.2f} percentage points" in out
    # the running accuracy: windows of 50 examples, 5 per epoch of 230 (the last one 30), in the history
    ra = np.array(m["running_accuracy"])
    assert ra[:, 0].tolist() == [50, 100, 150, 200, 230, 280, 330, 380, 430, 460]
    assert ((0 <= ra[:, 1]) & (ra[:, 1] <= 1)).all()
    # the per-epoch training accuracy is the example-weighted mean of the epoch's windows
    w = np.diff([0, 50, 100, 150, 200, 230])
    assert np.dot(ra[:5, 1], w) / 230 == pytest.approx(m["train_accuracy_per_epoch"][0], abs=1e-12)
    assert m["examples_per_epoch"] == 230 and len(fm["running_accuracy"]) == 10
    # the PCM pair's drift between transfers: a sample per window and one just before each of the 4 transfers
    msp = np.array(m["msp_change_rms"])
    assert msp.shape == (10 + 4, 3) and (msp[:, 1:] >= 0).all()
    assert sorted(set(msp[:, 0].astype(int)) - set(ra[:, 0].astype(int))) == [300, 400]   # 100, 200: window ends too
    assert msp[msp[:, 0] > 100, 1:].max() > 0          # the devices programmed at a transfer drift afterwards
    assert (run / "plots" / "weight_drift.png").stat().st_size > 0
    assert "msp_change_rms" not in fm or fm["msp_change_rms"] == []        # float: no PCM
    # the last figure written into the run is the one with both runs
    last = [c for c in calls if c[0] == str(run / "plots" / "learning_curve.png")][-1]
    assert last[1] == ["ambrogio2018-accel", "float"] and "gap" in last[2]
    assert (run / "plots" / "learning_curve.png").stat().st_size > 0


def test_learning_curve_figure_shows_every_run(tmp_path):
    """Two runs → two running lines and two test series, labelled, y range from the data."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    a = {"preset": "ambrogio2018", "layers": [784, 10], "running_accuracy": [[100, 0.5], [200, 0.7]],
         "test_accuracy_per_epoch": [0.72], "examples_per_epoch": 200, "examples_seen": 200}
    f = dict(a, preset="float", running_accuracy=[[100, 0.6], [200, 0.8]], test_accuracy_per_epoch=[0.81])
    captured = {}
    real_close = plt.close

    def keep(fig=None):
        captured["fig"] = fig
        real_close(fig)

    import pycosim.plots as P

    orig = P.pyplot
    P.pyplot = lambda: type("M", (), {"subplots": staticmethod(plt.subplots), "close": staticmethod(keep)})
    try:
        nplots.plot_learning_curves(tmp_path / "lc.png", [a, f])
    finally:
        P.pyplot = orig
    ax = captured["fig"].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ambrogio2018: training, running", "ambrogio2018: test after each epoch (72.00 %)",
                      "float baseline: training, running", "float baseline: test after each epoch (81.00 %)"]
    lo, hi = ax.get_ylim()
    assert 40 < lo < 50 and 81 < hi < 90          # from the data, not 0-100 nor a flat ±4 % around one dot
    assert (tmp_path / "lc.png").is_file()
