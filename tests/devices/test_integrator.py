"""Integrator and ADC."""

import numpy as np
import pytest

from pycosim.devices import integrator
from pycosim.errors import CalibrationError, ConfigError


def test_transfer_rails_and_adc(shipped):
    p = integrator.params(shipped, noise=False)
    qm = 2 * p.q_linear_max_C                                 # twice the linear range: both rails
    q = np.array([-qm, 0.0, 1e-13, qm])
    v = integrator.integrate(q, np.full(4, p.gain_V_per_C), np.full(4, p.offset_V), p)
    assert v[0] == p.v_hi_V and v[-1] == p.v_lo_V            # negative gain: −Q → upper rail
    assert v[1] == pytest.approx(p.offset_V)
    assert v[2] == pytest.approx(p.offset_V + p.gain_V_per_C * 1e-13)
    codes = integrator.adc(np.linspace(-0.1, 1.3, 50), 4, 0.0, 1.2)
    assert len(np.unique(codes)) == 16 and codes.min() == 0.0 and codes.max() == pytest.approx(1.2)
    with pytest.raises(ConfigError, match="bits"):
        integrator.adc(v, 0, 0.0, 1.2)


def test_columns_spread(shipped):
    p = integrator.params(shipped, noise=False)
    g, o = integrator.draw_columns(20000, p, np.random.default_rng(0))
    assert np.std(o) == pytest.approx(p.offset_std_V, rel=0.05)
    assert np.mean(g) == pytest.approx(p.gain_V_per_C, rel=1e-3)


def test_noise_scalar_required(shipped):
    sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
    sc["integrator"].pop("noise_out_rms_V", None)
    b = type(shipped)(scalars=sc, tables=shipped.tables, provenance={}, path=None)
    with pytest.raises(CalibrationError, match="integrator.noise_out_rms_V"):
        integrator.params(b, noise=True)
    assert integrator.params(b, noise=False).noise_out_V is None
