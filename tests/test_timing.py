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
