"""Hardware timing model (pycosim/timing.py): equations, defaults and argument checks."""

from types import SimpleNamespace

import pytest

from pycosim import timing


def test_default_numbers_784_250_125_10():
    b = timing.example_breakdown_s()
    # t_read = 10 ns reset + 256 ns window + 50 ns ADC + 10 ns digital = 326 ns
    assert timing.layer_read_s(250) == pytest.approx(326e-9, rel=1e-9, abs=0)
    assert b["forward"] == pytest.approx(3 * 326e-9, rel=1e-9, abs=0)      # three weight layers
    assert b["backward"] == pytest.approx(2 * 326e-9, rel=1e-9, abs=0)     # no error back through layer 1
    assert b["update"] == pytest.approx(8 * 20e-9, rel=1e-9, abs=0)
    assert timing.example_time_s() == pytest.approx(1.79e-6, rel=1e-9, abs=0)
    assert timing.transfer_hold_s() == pytest.approx(8000 * 1.79e-6, rel=1e-9, abs=0)
    assert timing.T_INT_S == pytest.approx(256e-9, rel=1e-9, abs=0) == timing.read_window_s(8, 1e-9)


def test_scaling_with_assumptions():
    base = timing.example_time_s()
    assert timing.example_time_s(pwm_bits=4) < base
    assert timing.example_time_s(columns_per_adc=8) > base
    assert timing.example_time_s(layers=(784, 10)) == pytest.approx(326e-9 + 160e-9, rel=1e-9, abs=0)
    assert timing.transfer_hold_s(interval=4000) == pytest.approx(timing.transfer_hold_s() / 2, rel=1e-9, abs=0)


@pytest.mark.parametrize("call, match", [
    (lambda: timing.example_time_s(layers=(784,)), "at least two"),
    (lambda: timing.transfer_hold_s(interval=0), "interval"),
    (lambda: timing.read_window_s(0), "pwm_bits"),
    (lambda: timing.example_time_s(n_pulse_max=0), "n_pulse_max"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_derived_windows_replace_the_pwm_window():
    # one weight layer with a 6 ns forward window: t_read = 10 + 6 + 50 + 10 ns
    b = timing.example_breakdown_s((784, 10), t_int_fwd_s=[6e-9], t_int_bwd_s=[40e-9])
    assert b["forward"] == pytest.approx(76e-9) and b["backward"] == 0.0
    assert timing.integrator_window_s(611e-15, 2.0e4, 0.1, 16.0) == pytest.approx(611e-15 * 2e4 / 1.6)
    assert timing.line_fill_time_s(611e-15, 25e-3, 0.1) == pytest.approx(0.2444e-9, rel=1e-3)
    assert timing.update_period_s(10e-9) == pytest.approx(20e-9)
    with pytest.raises(ValueError, match="one window per weight layer"):
        timing.example_breakdown_s((784, 10), t_int_fwd_s=[1e-9, 2e-9])


def test_transfer_time_equation_by_hand():
    """Closed loop: n_rows·t_vread (target) + n_rows·T_LSP_RESET + iterations·max(n_rows·(t_vread + t_set),
    t_p + t_vread) + min(resets, it + 1)·n_rows·t_reset; t_vread = t_rst + t_verify + t_adc."""
    c = {"iterations": 10, "resets": 5, "set_pulses": 100, "n_moved": 50}
    t = timing.transfer_time_s(c, 785, t_verify_s=250e-9, t_set_slot_s=120e-9, t_reset_slot_s=70e-9)
    t_vread = 10e-9 + 250e-9 + 50e-9
    assert t["target_read"] == pytest.approx(785 * t_vread)
    assert t["lsp_reset"] == pytest.approx(785 * 150e-9)
    assert t["program"] == pytest.approx(10 * 785 * (t_vread + 120e-9))
    assert t["resets"] == pytest.approx(5 * 785 * 70e-9)
    assert t["total"] == pytest.approx(sum(v for k, v in t.items() if k != "total"))
    # a small array waits for the verify delay t_p = 7 µs after its pulses
    small = timing.transfer_time_s(c, 3, t_verify_s=250e-9, t_set_slot_s=120e-9, t_reset_slot_s=70e-9)
    assert small["program"] == pytest.approx(10 * (7e-6 + t_vread))
    # open loop: no verify iterations; the mean pulse count in SET slots
    o = timing.transfer_time_s(c, 785, t_verify_s=250e-9, t_set_slot_s=120e-9, t_reset_slot_s=70e-9, closed=False)
    assert o["program"] == pytest.approx(785 * 2 * 120e-9) and o["resets"] == pytest.approx(785 * 70e-9)
    # the slowest layer sets the network's transfer (layers in parallel)
    hw = {"layers": [{"n_rows": 785, "t_verify_s": 250e-9}, {"n_rows": 17, "t_verify_s": 250e-9}],
          "t_set_slot_s": 120e-9, "t_reset_slot_s": 70e-9, "t_int_reset_s": 10e-9, "t_adc_s": 50e-9,
          "columns_per_adc": 1}
    n = timing.network_transfer_time_s(hw, [c, c])
    assert n["total"] == pytest.approx(t["total"]) == max(n["per_layer_s"])


# ---------------------------------------------------------------- every argument and branch, by hand
# (the assumed constants used below: t_rst = 10 ns, t_adc = 1/20 MHz = 50 ns, one column per ADC,
# t_digital = 10 ns, UPDATE_DUTY = 0.5, pulse edges 5 ns, slot gap 10 ns, T_LSP_RESET = 150 ns,
# T_VERIFY_AFTER_PULSE = 7 µs; pycosim.assumptions)

def exact(x):
    return pytest.approx(x, rel=1e-12, abs=0)


def test_windows_and_slots_by_hand():
    assert timing.read_window_s(1, 3e-9) == exact(6e-9) and timing.read_window_s(4, 2e-9) == exact(32e-9)
    assert type(timing.read_window_s(8, 1e-9)) is float
    assert timing.read_window_s() == exact(256e-9)                 # defaults: 8 bits of 1 ns
    # t_x1 = q·scale/(V_read·y_fs) = 0.5 pC·4e4/(0.2 V·8) = 2e-8/1.6 = 12.5 ns
    assert timing.integrator_window_s(0.5e-12, 4e4, 0.2, 8.0) == exact(1.25e-8)
    assert timing.integrator_window_s(1e-12, 0.5, 0.1, 0.25) == exact(2e-11)     # any positive numbers (< 1 too)
    assert timing.line_fill_time_s(611e-15, 25e-3, 0.1) == exact(2.444e-10)
    assert timing.update_period_s(8e-9) == exact(16e-9)
    assert timing.set_slot_s(100e-9) == exact(120e-9) and timing.set_slot_s(0.0) == exact(20e-9)


@pytest.mark.parametrize("args, msg", [
    ((0, 1e-9), "pwm_bits must be >= 1 and t_lsb_s > 0, got 0, 1e-09"),
    ((8, 0.0), "pwm_bits must be >= 1 and t_lsb_s > 0, got 8, 0.0"),
    ((8, float("nan")), "pwm_bits must be >= 1 and t_lsb_s > 0, got 8, nan")])
def test_read_window_refusals_are_exact(args, msg):
    with pytest.raises(ValueError) as e:
        timing.read_window_s(*args)
    assert str(e.value) == msg


@pytest.mark.parametrize("args", [(0.0, 1.0, 1.0, 1.0), (1.0, 0.0, 1.0, 1.0), (1.0, 1.0, -1.0, 1.0),
                                  (1.0, 1.0, 0.0, 1.0), (1.0, 1.0, 1.0, 0.0), (-1.0, 1.0, 1.0, 1.0)])
def test_integrator_window_refuses_non_positive_numbers(args):
    with pytest.raises(ValueError) as e:
        timing.integrator_window_s(*args)
    assert str(e.value) == "q_linear_max_C, scale, read_v_V and full_scale must be > 0"


def test_layer_read_with_every_argument_by_hand():
    # t_rst 1 + t_int 2 + t_adc 3·min(4 columns per ADC, n_out) + t_digital 5 (ns)
    kw = dict(t_rst_s=1e-9, t_adc_s=3e-9, columns_per_adc=4, t_digital_s=5e-9)
    assert timing.layer_read_s(10, t_int_s=2e-9, **kw) == exact(20e-9)
    assert timing.layer_read_s(2, t_int_s=2e-9, **kw) == exact(14e-9)          # only 2 columns to convert
    assert timing.layer_read_s(10, pwm_bits=4, t_lsb_s=2e-9, **kw) == exact(50e-9)   # PWM window 16·2 ns
    assert timing.layer_read_s(1, t_int_s=2e-9, **kw) == exact(11e-9)
    # the defaults are the named assumptions: 10 + 256 + 50·1 + 10 ns
    assert timing.layer_read_s(3) == exact(326e-9) and type(timing.layer_read_s(3)) is float
    assert timing.layer_read_s(3, t_rst_s=0.0, t_adc_s=0.0, t_digital_s=0.0) == exact(256e-9)   # 0 is a value, not unset
    for bad, msg in (({"n_out": 0}, "n_out and columns_per_adc must be >= 1, got 0, 1"),
                     ({"n_out": 3, "columns_per_adc": 0}, "n_out and columns_per_adc must be >= 1, got 3, 0"),
                     ({"n_out": 3, "t_int_s": 0.0}, "t_int_s must be > 0, got 0.0"),
                     ({"n_out": 3, "t_int_s": float("nan")}, "t_int_s must be > 0, got nan")):
        with pytest.raises(ValueError) as e:
            timing.layer_read_s(**bad)
        assert str(e.value) == msg


def test_example_breakdown_with_distinct_windows_by_hand():
    """Layers 5-3-2 with 8 columns per ADC: forward reads convert n_out = 3 then 2 columns, the backward
    read of layer 2 converts its n_in = 3 rows; each read uses its own layer's window (ns below)."""
    kw = dict(t_rst_s=1e-9, t_adc_s=2e-9, columns_per_adc=8, t_digital_s=4e-9)
    b = timing.example_breakdown_s((5, 3, 2), t_int_fwd_s=[10e-9, 20e-9], t_int_bwd_s=[40e-9, 80e-9],
                                   n_pulse_max=3, t_pulse_period_s=7e-9, **kw)
    fwd = (1 + 10 + 2 * 3 + 4) + (1 + 20 + 2 * 2 + 4)           # 21 + 29 = 50 ns
    bwd = 1 + 80 + 2 * 3 + 4                                    # layer 2 only: 91 ns (layer 1's 40 ns unused)
    assert b == {"forward": exact(fwd * 1e-9), "backward": exact(bwd * 1e-9), "update": exact(21e-9),
                 "example": exact((fwd + bwd + 21) * 1e-9)}
    assert timing.example_time_s((5, 3, 2), t_int_fwd_s=[10e-9, 20e-9], t_int_bwd_s=[40e-9, 80e-9], n_pulse_max=3,
                                 t_pulse_period_s=7e-9, **kw) == exact((fwd + bwd + 21) * 1e-9)
    # one window None: that layer falls back to the PWM window (2^pwm_bits·t_lsb)
    m = timing.example_breakdown_s((5, 3, 2), t_int_fwd_s=[None, 20e-9], pwm_bits=2, t_lsb_s=3e-9, **kw)
    assert m["forward"] == exact((1 + 12 + 6 + 4 + 29) * 1e-9) and m["backward"] == exact((1 + 12 + 6 + 4) * 1e-9)
    # defaults: 8 update slots of 20 ns
    assert timing.example_breakdown_s((5, 3, 2), **kw)["update"] == exact(160e-9)
    assert timing.example_breakdown_s((5, 3, 2), n_pulse_max=1, **kw)["update"] == exact(20e-9)
    # layer sizes are taken as integers; the hold time adds the transfer's own duration
    assert timing.example_breakdown_s((5.0, 3.0, 2.0), **kw) == timing.example_breakdown_s((5, 3, 2), **kw)
    t_ex = timing.example_time_s((5, 3, 2), **kw)
    assert timing.transfer_hold_s(3, (5, 3, 2), t_transfer_s=1e-6, **kw) == exact(3 * t_ex + 1e-6)
    assert timing.transfer_hold_s(1, (5, 3, 2), **kw) == exact(t_ex)


@pytest.mark.parametrize("call, msg", [
    (lambda: timing.example_breakdown_s((784,)), "layers must list at least two positive sizes (input ... output), "
                                                 "got (784,)"),
    (lambda: timing.example_breakdown_s([3, 0, 2]), "layers must list at least two positive sizes (input ... output), "
                                                    "got [3, 0, 2]"),
    (lambda: timing.example_breakdown_s((3, 2), n_pulse_max=0), "n_pulse_max must be >= 1 and t_pulse_period_s > 0, "
                                                                "got 0, 2e-08"),
    (lambda: timing.example_breakdown_s((3, 2), t_pulse_period_s=0.0), "n_pulse_max must be >= 1 and "
                                                                       "t_pulse_period_s > 0, got 8, 0.0"),
    (lambda: timing.example_breakdown_s((3, 2, 1), t_int_fwd_s=[1e-9]), "t_int_fwd_s and t_int_bwd_s need one "
                                                                        "window per weight layer (2)"),
    (lambda: timing.example_breakdown_s((3, 2, 1), t_int_bwd_s=[1e-9] * 3), "t_int_fwd_s and t_int_bwd_s need one "
                                                                            "window per weight layer (2)"),
    (lambda: timing.transfer_hold_s(0), "interval must be >= 1 example, got 0"),
    (lambda: timing.transfer_time_s({}, 0, t_verify_s=1e-9, t_set_slot_s=1e-9, t_reset_slot_s=1e-9),
     "n_rows must be >= 1, got 0"),
])
def test_timing_refusals_are_exact(call, msg):
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value) == msg


def test_transfer_time_with_every_argument_by_hand():
    """4 rows, t_vread = t_rst 1 + t_verify 10 + t_adc 2·3 columns per ADC = 17 ns; SET slot 5 ns, RESET slot 8 ns,
    3T1C row reset 6 ns, verify wait 100 ns."""
    kw = dict(t_verify_s=10e-9, t_set_slot_s=5e-9, t_reset_slot_s=8e-9, t_lsp_reset_s=6e-9, t_rst_s=1e-9,
              t_adc_s=2e-9, columns_per_adc=3, t_after_pulse_s=100e-9)
    c = {"iterations": 3, "resets": 2, "set_pulses": 10, "n_moved": 4}
    t = timing.transfer_time_s(c, 4, **kw)
    # iteration: max(4·(17 + 5) = 88, 100 + 17 = 117) = 117 ns; resets: min(2, 4)·4·8 = 64 ns
    assert t == {"target_read": exact(68e-9), "lsp_reset": exact(24e-9), "program": exact(351e-9),
                 "resets": exact(64e-9), "total": exact((68 + 24 + 351 + 64) * 1e-9)}
    # more rows than the wait: 6 rows → max(132, 117) = 132 ns per iteration
    assert timing.transfer_time_s(c, 6, **kw)["program"] == exact(3 * 132e-9)
    # restarts beyond one RESET phase per iteration are capped at iterations + 1 (here 4)
    assert timing.transfer_time_s({**c, "resets": 9}, 4, **kw)["resets"] == exact(4 * 4 * 8e-9)
    assert timing.transfer_time_s({**c, "resets": 4}, 4, **kw)["resets"] == exact(4 * 4 * 8e-9)
    assert timing.transfer_time_s({**c, "resets": 0}, 4, **kw)["resets"] == 0.0
    # nothing moved: the target read and the reset only
    none = timing.transfer_time_s({}, 4, **kw)
    assert none == {"target_read": exact(68e-9), "lsp_reset": exact(24e-9), "program": 0, "resets": 0,
                    "total": exact(92e-9)}
    # open loop: ⌈10/4⌉ = 3 SET slots per row, one RESET phase if any reset, no verify iterations
    o = timing.transfer_time_s(c, 4, closed=False, **kw)
    assert o["program"] == exact(4 * 3 * 5e-9) and o["resets"] == exact(4 * 8e-9)
    assert o["total"] == exact((68 + 24 + 60 + 32) * 1e-9)
    assert timing.transfer_time_s({**c, "set_pulses": 8}, 4, closed=False, **kw)["program"] == exact(4 * 2 * 5e-9)
    o0 = timing.transfer_time_s({"set_pulses": 0, "n_moved": 0}, 4, closed=False, **kw)
    assert o0["program"] == 0 and o0["resets"] == 0
    # the counts may be a TransferStats-like object (attributes), None counted as 0
    obj = SimpleNamespace(iterations=3, resets=2, set_pulses=10, n_moved=4)
    assert timing.transfer_time_s(obj, 4, **kw) == t
    assert timing.transfer_time_s(SimpleNamespace(iterations=None), 4, **kw) == none
    assert timing._count({"resets": None}, "resets") == 0 and timing._count(obj, "missing") == 0
    # one row is an array too: max(17 + 5, 117) ns per iteration
    one = timing.transfer_time_s(c, 1, **kw)
    assert one["target_read"] == exact(17e-9) and one["program"] == exact(3 * 117e-9)
    # defaults: t_rst 10 ns, t_adc 50 ns, 1 column per ADC, 3T1C reset 150 ns, wait 7 µs
    d = timing.transfer_time_s(c, 2, t_verify_s=10e-9, t_set_slot_s=5e-9, t_reset_slot_s=8e-9)
    assert d["target_read"] == exact(2 * 70e-9) and d["lsp_reset"] == exact(2 * 150e-9)
    assert d["program"] == exact(3 * (7e-6 + 70e-9))


def test_verify_delay_by_hand():
    """Age at the verify read in the row-serial schedule: max((n − 1)·(t_vread + t_set_slot), t_wait) + t_rst +
    t_verify/2, t_vread = t_rst + t_verify + t_adc·cpa (numbers in ns by hand)."""
    kw = dict(t_verify_s=20e-9, t_set_slot_s=30e-9, t_rst_s=4e-9, t_adc_s=6e-9, columns_per_adc=1,
              t_after_pulse_s=100e-9)
    # t_vread = 30 ns; 3 rows: max(2·60, 100) + 4 + 10 = 134 ns; 1 row: the wait, 100 + 14 = 114 ns
    assert timing.verify_delay_s(3, **kw) == exact(134e-9)
    assert timing.verify_delay_s(1, **kw) == exact(114e-9)
    assert timing.verify_delay_s(2, **kw) == exact(114e-9)           # 60 < 100: the wait still rules
    # defaults: t_rst 10 ns, t_adc 50 ns, wait 7 µs; 785 rows of the 250 ns window and the 120 ns slot
    d = timing.verify_delay_s(785, t_verify_s=250e-9, t_set_slot_s=120e-9)
    assert d == exact(784 * (310e-9 + 120e-9) + 10e-9 + 125e-9)
    assert timing.verify_delay_s(1, t_verify_s=250e-9, t_set_slot_s=120e-9) == exact(7e-6 + 135e-9)
    with pytest.raises(ValueError, match="n_rows"):
        timing.verify_delay_s(0, t_verify_s=1e-9, t_set_slot_s=0.0)


def _fake_net():
    """Two analog layers (5→3, 4→2 rows/outputs) and the bundle's pulse widths; windows in ns by hand."""
    sc = {"lsp": {"pulse_width_s": 8e-9}, "pcm": {"set_width_s": 100e-9, "reset_width_s": 40e-9}}

    def layer(n_in, n_out, pulse, verify_cfg, settle, delay):
        return SimpleNamespace(n_in=n_in, n_out=n_out, scheme=SimpleNamespace(analog=True),
                               integ=SimpleNamespace(t_settle_s=settle), verify_delay=lambda: delay,
                               read_pulse=lambda: pulse, default_verify_window=lambda: 300e-9,
                               cfg=SimpleNamespace(transfer=SimpleNamespace(verify_t_read_s=verify_cfg)),
                               bundle=SimpleNamespace(scalars=sc))
    return SimpleNamespace(layers=[layer(5, 3, (0.2, 25e-9, 55e-9), None, 5e-9, 7.3e-6),
                                   layer(4, 2, (0.1, 40e-9, 70e-9), 500e-9, 0.0, 1e-3)],
                           sizes=(4, 3, 2))


def test_hardware_timing_of_a_network_by_hand():
    hw = timing.hardware(_fake_net(), n_pulse_max=4, interval=10)
    assert hw["layers"] == [
        {"n_rows": 5, "n_out": 3, "read_v_V": 0.2, "t_int_forward_s": exact(30e-9), "t_int_backward_s": exact(60e-9),
         "t_settle_s": 5e-9, "t_verify_s": 300e-9,               # pulse + the column read's settling; default verify
         "t_verify_delay_s": 7.3e-6},                           # the layer's verify delay, as it reports it
        {"n_rows": 4, "n_out": 2, "read_v_V": 0.1, "t_int_forward_s": 40e-9, "t_int_backward_s": 70e-9,
         "t_settle_s": 0.0, "t_verify_s": 500e-9, "t_verify_delay_s": 1e-3}]   # the configured verify window
    assert hw["t_update_slot_s"] == exact(16e-9) and hw["n_pulse_max"] == 4
    assert hw["t_set_slot_s"] == exact(120e-9) and hw["t_reset_slot_s"] == exact(60e-9)
    assert (hw["t_int_reset_s"], hw["t_adc_s"], hw["t_digital_s"], hw["columns_per_adc"]) == (10e-9, 50e-9, 10e-9, 1)
    # forward (10 + 30 + 50 + 10) + (10 + 40 + 50 + 10) = 210 ns; backward layer 2: 10 + 70 + 50 + 10 = 140 ns;
    # update 4 × 16 ns = 64 ns
    want = {"forward": exact(210e-9), "backward": exact(140e-9), "update": exact(64e-9), "example": exact(414e-9)}
    assert hw["example_breakdown_s"] == want and hw["t_example_s"] == exact(414e-9)
    assert hw["interval"] == 10 and hw["t_interval_s"] == exact(4140e-9)
    assert "interval" not in timing.hardware(_fake_net()) and timing.hardware(_fake_net())["n_pulse_max"] == 8
    # a non-analog ('ideal') network: PWM windows, the 10 ns default pulse, no programming slots
    ideal = SimpleNamespace(layers=[SimpleNamespace(n_in=5, n_out=3, scheme=SimpleNamespace(analog=False))],
                            sizes=(4, 3))
    h = timing.hardware(ideal)
    assert h["layers"] == [{"n_rows": 5, "n_out": 3}] and h["t_update_slot_s"] == exact(20e-9)
    # a scheme that does not say whether it is analog is not
    ideal.layers[0].scheme = SimpleNamespace()
    assert timing.hardware(ideal)["layers"] == [{"n_rows": 5, "n_out": 3}]
    assert h["t_set_slot_s"] is None and h["t_reset_slot_s"] is None
    assert h["t_example_s"] == exact(326e-9 + 160e-9)
    # a bundle without lsp.pulse_width_s: 10 ns
    net = _fake_net()
    for xb in net.layers:
        xb.bundle = SimpleNamespace(scalars={"pcm": {"set_width_s": 100e-9, "reset_width_s": 40e-9}})
    assert timing.hardware(net)["t_update_slot_s"] == exact(20e-9)


def test_layer_and_network_transfer_time_from_the_hardware_numbers():
    hw = {"layers": [{"n_rows": 4, "t_verify_s": 10e-9}, {"n_rows": 2, "t_verify_s": 30e-9}],
          "t_set_slot_s": 5e-9, "t_reset_slot_s": 8e-9, "t_int_reset_s": 1e-9, "t_adc_s": 2e-9, "columns_per_adc": 3}
    c = {"iterations": 3, "resets": 2, "set_pulses": 10, "n_moved": 4}
    # layer 0: t_vread = 1 + 10 + 6 = 17 ns; target 68, 3T1C reset 4·150 = 600, program 3·max(88, 7017) ns,
    # resets 2·4·8 = 64 ns
    l0 = timing.layer_transfer_time_s(hw, 0, c)
    assert l0["target_read"] == exact(68e-9) and l0["lsp_reset"] == exact(600e-9)
    assert l0["program"] == exact(3 * 7017e-9) and l0["resets"] == exact(64e-9)
    # '4pcm' (no 3T1C cells): the LSP pair is RESET, one RESET slot per row
    assert timing.layer_transfer_time_s(hw, 0, c, lsp_cells=False)["lsp_reset"] == exact(32e-9)
    assert timing.layer_transfer_time_s(hw, 0, c, closed=False)["program"] == exact(4 * 3 * 5e-9)
    # layer 1: t_vread 37 ns; 2 rows
    l1 = timing.layer_transfer_time_s(hw, 1, c)
    assert l1["target_read"] == exact(74e-9) and l1["program"] == exact(3 * 7037e-9)
    n = timing.network_transfer_time_s(hw, [c, {}])
    assert n["per_layer_s"] == [exact(l0["total"]), exact(74e-9 + 300e-9)] and n["total"] == exact(l0["total"])
    n2 = timing.network_transfer_time_s(hw, [{}, c], closed=False, lsp_cells=False)
    assert n2["total"] == exact(74e-9 + 16e-9 + 2 * 3 * 5e-9 + 16e-9)
    assert timing.network_transfer_time_s(hw, []) == {"per_layer_s": [], "total": 0.0}
