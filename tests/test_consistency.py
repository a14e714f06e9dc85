"""One accelerator that closes: the timing, the energy report and the integrator numbers of the shipped
bundle agree with each other (docs/evaluation.md, "Timing and energy from one set of numbers").

* the timing's read window is the window the integrator numbers give and the column-read bench's window
  (within 5 %);
* the full-scale NET charge of a pair plus the worst static common-mode error of the layer's lines (mirror
  mismatch times the line charge) and conveyor offset fits the integrator's linear range in that window
  (the single-ended integrator, which collected a whole line, did not: 2.5 mA fills 611 fC in 0.25 ns);
* the energy report prices with the same windows and constants the timing uses;
* a transfer's duration is in metrics.json of a tiny training run and the hardware clock advanced by it.
"""

import json
import types

import numpy as np
import pytest

from pycosim import assumptions as A
from pycosim import timing
from pycosim.array import Crossbar
from pycosim.array.config import ArrayConfig
from pycosim.datasets import sources
from pycosim.evaluate import energy
from pycosim.evaluate.report import run_report
from pycosim.nn import train

N_TRAIN, N_TEST = 200, 40


@pytest.fixture(scope="module")
def layer(shipped):
    """A full-height first layer (785 rows with the bias row, 250 columns) of the default array config."""
    xb = Crossbar(785, 250, ArrayConfig(), shipped, rng=np.random.default_rng(0))
    return xb


@pytest.fixture(scope="module")
def run(tmp_path_factory, shipped):
    d = sources.load("mnist")
    ds = sources.Dataset(d.x_train[:N_TRAIN], d.y_train[:N_TRAIN], d.x_test[:N_TEST], d.y_test[:N_TEST],
                         d.n_classes, "mnist subset")
    cfg = train.resolve_config("ambrogio2018-accel", None, ["network.hidden=16", "transfer.interval=100"], epochs=1,
                               train_subset=N_TRAIN)
    out = tmp_path_factory.mktemp("cons") / "run"
    with pytest.warns(train.TransferOverrun):        # a 785-row transfer does not fit 100 examples: reported
        train.train(cfg, out, dataset=ds, bundle=shipped, progress=False, plots=False)
    return out


def test_read_window_is_what_the_integrator_numbers_give(layer, shipped):
    hw = timing.hardware(types.SimpleNamespace(layers=[layer], sizes=(784, 250)))
    integ = shipped.scalars["integrator"]
    pe = layer.cfg.periphery
    settle = integ["t_settle_s"]
    want_f = timing.integrator_window_s(integ["q_net_fs_C"], layer.scale, layer.read_pulse()[0],
                                        pe.forward_full_scale) + settle
    want_b = timing.integrator_window_s(integ["q_net_fs_C"], layer.scale, layer.read_pulse()[0],
                                        pe.backward_full_scale) + settle
    got = hw["layers"][0]
    assert got["t_int_forward_s"] == pytest.approx(want_f, rel=0.05)
    assert got["t_int_backward_s"] == pytest.approx(want_b, rel=0.05)
    # the forward window is the column-read bench's (circuits/integrator_diff.cir: 256 ns PWM + settling)
    assert got["t_int_forward_s"] == pytest.approx(integ["t_window_s"], rel=0.05)
    assert 0 < settle < 0.05 * integ["t_pwm_s"]
    # and the example time is built from those windows and the 3T1C bench's pulse width
    t_read = A.T_INT_RESET_S.value + want_f + A.t_adc_s() + A.T_DIGITAL_S.value
    assert hw["example_breakdown_s"]["forward"] == pytest.approx(t_read, rel=0.05)
    assert hw["t_update_slot_s"] == pytest.approx(shipped.scalars["lsp"]["pulse_width_s"] / A.UPDATE_DUTY.value)


def test_full_scale_line_current_fits_the_integrator_range(layer, shipped):
    """Every column pair of a full-height layer, all 785 rows driven for the full window t_x1: the configured
    full-scale net charge Q_fs = y_fs/scale·V_read·t_x1, plus the pair's static common-mode error
    |ε⁺_j·G⁺_L,j − ε⁻_j·G⁻_L,j|·V_read·t_x1 (the layer's own mirror draws and line sums) and its conveyor
    offset charge |V_os⁺_j·G⁺_L,j − V_os⁻_j·G⁻_L,j|·t_open, fits the integrator's linear range."""
    integ = shipped.scalars["integrator"]
    v_read, t_fwd, _ = layer.read_pulse()
    ch = layer.fwd
    wp, wn = (w.reshape(layer.shape).astype(np.float64) for w in layer._lines_of(None))
    gp, gn = wp.sum(0), wn.sum(0)                       # line sums (S): F·G + the 3T1C g or g_shared
    q_fs = layer.cfg.periphery.forward_full_scale / layer.scale * v_read * t_fwd
    q_cm = np.abs(ch.eps_p * gp - ch.eps_n * gn) * v_read * t_fwd
    q_off = np.abs(ch.vos_p * gp - ch.vos_n * gn) * ch.t_open_s
    worst = q_fs + q_cm + q_off
    q_line = float(np.min(np.minimum(gp, gn))) * v_read * t_fwd     # what a single-ended integrator collected
    print(f"G_line {gp.mean() * 1e3:.2f} mS; Q_fs {q_fs * 1e12:.2f} pC, worst CM {q_cm.max() * 1e12:.2f} pC, "
          f"worst offset {q_off.max() * 1e12:.2f} pC, sum {worst.max() * 1e12:.2f} pC in {t_fwd * 1e9:.1f} ns; "
          f"range {integ['q_linear_max_C'] * 1e12:.2f} pC (a single line: {q_line * 1e12:.0f} pC)")
    assert q_line > 10 * integ["q_linear_max_C"]        # the lines themselves would not fit: the pair is subtracted
    assert q_cm.max() > 0.05 * q_fs                      # the common-mode error is not negligible ...
    assert np.all(worst <= integ["q_linear_max_C"])      # ... and the range holds it with the net full scale
    assert t_fwd == pytest.approx(integ["t_pwm_s"], rel=0.05)   # in the 8-bit PWM window


def test_energy_report_and_timing_use_the_same_numbers(run, shipped):
    m = json.loads((run / "metrics.json").read_text())
    rep = run_report(run)
    en = rep["energy"]
    hw = m["hardware_timing"]
    assert en["hardware_timing"] == hw
    state = train.restore_checkpoint(train.read_checkpoint(run / train.CHECKPOINT),
                                     train.ncfg.load(run / train.CONFIG), shipped)
    again = timing.hardware(state.net, n_pulse_max=hw["n_pulse_max"], interval=hw["interval"])
    assert again["t_example_s"] == pytest.approx(hw["t_example_s"], rel=1e-12)
    assert en["time_s"]["breakdown"]["example"] == pytest.approx(hw["t_example_s"], rel=1e-12)
    # the integrator's bias energy uses the same window the timing uses; the ADC energy and time the same FoM/f_s
    l0 = hw["layers"][0]
    integ = shipped.scalars["integrator"]
    p = A.opamp_power_W(integ["v_sat_hi_V"])
    amps = energy.AMPLIFIERS_PER_LINE_READ["forward"]       # two conveyors + one integrator per pair of lines
    assert en["per_op_J"]["integrator_bias"] == pytest.approx(amps * p * (hw["t_int_reset_s"] + l0["t_int_forward_s"]))
    # the column read's energy: the bench's mirror supply over the same window plus C_int·swing·V_DD, per line
    e_line = (integ["e_read_mirrors_J"] * l0["t_int_forward_s"] / integ["t_window_s"] + integ["e_read_cint_J"]) / 2
    assert en["per_op_J"]["integration"] == pytest.approx(e_line, rel=1e-12)
    assert en["per_op_J"]["integration"] == pytest.approx(integ["e_read_J"] / 2, rel=0.05)   # window within 5 % of the bench's (issue criterion)
    assert hw["t_adc_s"] == A.t_adc_s() and en["per_op_J"]["adc_conversion"] == A.adc_energy_J(8)
    assert en["assumptions"] == A.all_assumptions()
    assert all(v is not None for v in en["per_op_J"].values()) and not en["missing"]


def test_transfer_duration_is_in_metrics_and_advances_the_clock(run):
    m = json.loads((run / "metrics.json").read_text())
    tr, hw = m["transfers"], m["hardware_timing"]
    assert tr["count"] == 2 and len(tr["duration_s"]) == 2 and all(t > 0 for t in tr["duration_s"])
    assert tr["total_duration_s"] == pytest.approx(sum(tr["duration_s"]))
    for t in tr["per_transfer"]:
        want = timing.network_transfer_time_s(hw, t["layers"])
        assert t["duration_s"] == pytest.approx(want["total"], rel=1e-12)
        assert t["exceeds_interval"] == (t["duration_s"] > hw["t_interval_s"])
    assert tr["overruns"] == sum(t["exceeds_interval"] for t in tr["per_transfer"])
    # the hardware clock: one example time per example plus every transfer's duration
    want_clock = m["examples_seen"] * hw["t_example_s"] + tr["total_duration_s"]
    for c in m["counters"]:
        assert c["sim_time_s"] == pytest.approx(want_clock, rel=1e-9)
