"""The clocks of training (pycosim.nn.schedule): the accelerator's, and the paper's tester demonstration in
which the PCM runs on the experiment's wall clock while the 3T1C cells keep the accelerator's."""

import json
import warnings

import pytest

from pycosim import assumptions as A
from pycosim.datasets import sources
from pycosim.errors import ConfigError
from pycosim.nn import config as ncfg
from pycosim.nn import presets, schedule, train
from pycosim.nn.network import Network

N_TRAIN, N_TEST, INTERVAL = 200, 50, 100


def test_schedules_split_the_time_between_the_clocks():
    acc = schedule.Accelerator()
    assert acc.example(7e-7) == (7e-7, 0.0) and acc.transfer(0.04) == (0.04, 0.0) and acc.reports_overruns()
    t = schedule.Tester(example_s=0.01, transfer_s=300.0)
    both, pcm = t.example(7e-7)
    assert both == 7e-7 and pcm == pytest.approx(0.01 - 7e-7, rel=1e-15, abs=0)
    assert t.transfer(0.04) == (0.04, pytest.approx(299.96, rel=1e-15, abs=0)) and not t.reports_overruns()
    assert t.example(0.02) == (0.02, 0.0)            # a tester never runs faster than the accelerator
    assert isinstance(schedule.of(ncfg.ScheduleConfig(kind="tester")), schedule.Tester)


def test_presets_name_their_timing():
    assert presets.get("ambrogio2018").schedule.kind == "tester"
    assert presets.get("ambrogio2018-accel").schedule.kind == "accelerator"
    for name in ("ambrogio2018-olt", "cristiano2018-4pcm", "pcm-only"):
        assert presets.get(name).schedule.kind == "accelerator"
    s = presets.get("ambrogio2018").schedule
    assert (s.example_s, s.transfer_s) == (A.TESTER_EXAMPLE_S.value, A.TESTER_TRANSFER_S.value) == (10e-3, 300.0)
    a, b = presets.get("ambrogio2018"), presets.get("ambrogio2018-accel")
    assert ncfg.override(a, ["schedule.kind=accelerator", "preset=x"]) == ncfg.override(b, ["preset=x"])


@pytest.mark.parametrize("assignment", ["schedule.kind=wallclock", "schedule.example_s=0", "schedule.transfer_s=-1",
                                        "schedule.example_s=nan"])
def test_bad_schedule_settings(assignment):
    with pytest.raises(ConfigError, match="schedule"):
        ncfg.override(presets.get("ambrogio2018"), [assignment])


def test_tester_run_ages_the_pcm_on_the_wall_clock_and_holds_the_3t1c(tmp_path, monkeypatch):
    """A tiny 'ambrogio2018' run: every layer's clock is N·example_s + transfers·transfer_s; the part beyond
    the accelerator's time reaches the arrays with the 3T1C held (event order of Network.advance calls);
    no transfer overrun is reported (the tester pauses for as long as a transfer takes)."""
    d = sources.load("mnist")
    ds = sources.Dataset(d.x_train[:N_TRAIN], d.y_train[:N_TRAIN], d.x_test[:N_TEST], d.y_test[:N_TEST],
                         d.n_classes, "mnist subset")
    calls = []
    real = Network.advance

    def spy(self, dt_s, *, hold_lsp=False):
        calls.append((dt_s, hold_lsp))
        return real(self, dt_s, hold_lsp=hold_lsp)

    monkeypatch.setattr(Network, "advance", spy)
    cfg = ncfg.override(presets.get("ambrogio2018"), ["network.hidden=8", f"transfer.interval={INTERVAL}",
                                                      "training.epochs=1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", train.TransferOverrun)
        m = train.train(cfg, tmp_path / "run", dataset=ds, progress=False, plots=False)
    n_tr = N_TRAIN // INTERVAL
    want = N_TRAIN * 10e-3 + n_tr * 300.0
    for c in m["counters"]:
        assert c["sim_time_s"] == pytest.approx(want, rel=1e-9)
    t_acc = m["hardware_timing"]["t_example_s"]
    held = [dt for dt, h in calls if h]
    free = [dt for dt, h in calls if not h]
    assert len(held) == N_TRAIN + n_tr and len(free) == N_TRAIN + n_tr
    assert sum(free) == pytest.approx(N_TRAIN * t_acc + m["transfers"]["total_duration_s"], rel=1e-9)
    assert held[0] == pytest.approx(10e-3 - t_acc, rel=1e-12)
    sch = json.loads((tmp_path / "run" / "metrics.json").read_text())["schedule"]
    assert sch["kind"] == "tester" and sch["example_s"] == 10e-3 and sch["transfer_s"] == 300.0
    assert m["transfers"]["overruns"] == 0
