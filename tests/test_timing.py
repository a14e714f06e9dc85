"""Hardware timing model (pycosim/timing.py): equations, defaults and argument checks."""

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
