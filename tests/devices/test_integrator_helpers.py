"""The column read's integrator and ADC laws, and the shared device helpers of pycosim.devices, by hand.

Every expected value below is written out from the law in the module's docstring (κ_L = 1/(1 + G_L/g_in),
σ(t) = σ₀·√(t/t₀), V = clip(V_off + gain·Q + σ·z), code = round((V − V_min)/LSB), balanced instance counts
⌊N/n⌋ or ⌈N/n⌉, linear interpolation with the end values held) with independent NumPy arithmetic; the
random draws are replayed from a generator seeded like the one passed. A hand-made integrator section
with a distinct value per scalar makes a scalar read into the wrong field visible.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from pycosim.calibration import MODEL_SCALARS, Bundle
from pycosim.devices import assign_instances, grid_args, integrator, interp_rows, require_scalar, require_table
from pycosim.errors import CalibrationError, ConfigError

#: one distinct value per scalar (bundle key → value); the field each must land in is FIELD[key]
INT = {"gain_V_per_C": -2.5e12, "gain_std_V_per_C": 3.0e10, "offset_V": 0.61, "offset_std_V": 4.0e-3,
       "v_sat_lo_V": 0.05, "v_sat_hi_V": 1.15, "q_linear_max_C": 2.0e-13, "e_read_J": 7.0e-13, "cint_F": 4.0e-13,
       "t_settle_s": 3.0e-8, "conveyor_g_in_S": 1.1e-3, "mirror_eps_plus_std": 0.011, "mirror_eps_minus_std": 0.013,
       "conveyor_vos_std_V": 1.7e-3, "noise_t_open_s": 2.56e-7, "q_net_fs_C": 1.5e-13, "noise_out_rms_V": 2.1e-3}
FIELD = {"gain_V_per_C": "gain_V_per_C", "gain_std_V_per_C": "gain_std_V_per_C", "offset_V": "offset_V",
         "offset_std_V": "offset_std_V", "v_sat_lo_V": "v_lo_V", "v_sat_hi_V": "v_hi_V",
         "q_linear_max_C": "q_linear_max_C", "e_read_J": "e_read_J", "cint_F": "cint_F", "t_settle_s": "t_settle_s",
         "conveyor_g_in_S": "g_in_S", "mirror_eps_plus_std": "eps_plus_std", "mirror_eps_minus_std": "eps_minus_std",
         "conveyor_vos_std_V": "vos_line_std_V", "noise_t_open_s": "noise_t_open_s", "q_net_fs_C": "q_net_fs_C",
         "noise_out_rms_V": "noise_out_V"}


def bundle(drop=(), path=None, **over):
    sc = {k: v for k, v in INT.items() if k not in drop} | over
    return Bundle(scalars={"integrator": sc}, tables={}, provenance={}, path=path)


def missing(where, key, feature):
    return (f"{where}: scalar integrator.{key} (needed for {feature}) is missing; "
            f"regenerate the bundle with pycosim characterize (or disable {feature})")


# ------------------------------------------------------------------------------------------ params


def test_params_reads_every_scalar_into_its_own_field():
    """Guards a scalar read into the wrong field, a field left unset, noise off by default."""
    assert set(FIELD) == set(MODEL_SCALARS["integrator"])        # every scalar the bundle check requires
    p = integrator.params(bundle())                              # noise=True is the default
    for key, field in FIELD.items():
        got = getattr(p, field)
        assert type(got) is float and got == INT[key], (key, field, got)
    # integers in a hand-edited JSON are still floats in the parameters
    assert type(integrator.params(bundle(cint_F=1)).cint_F) is float
    assert integrator.params(bundle(), noise=False).noise_out_V is None
    assert integrator.params(bundle(drop=("noise_out_rms_V",)), noise=False).noise_out_V is None


@pytest.mark.parametrize("key", sorted(k for k in INT if k != "noise_out_rms_V"))
def test_params_names_the_missing_scalar_and_its_feature(key):
    """Guards the one-line refusal: the scalar's name, the feature 'integrator' and where it came from."""
    with pytest.raises(CalibrationError) as e:
        integrator.params(bundle(drop=(key,)), noise=False)
    assert str(e.value) == missing("calibration bundle", key, "integrator")


def test_params_noise_scalar_is_named_as_the_noise_feature(tmp_path):
    """Guards the noise scalar's feature name ('integrator noise', the switch a user can turn off) and the
    bundle's directory in the message when it was loaded from one."""
    with pytest.raises(CalibrationError) as e:
        integrator.params(bundle(drop=("noise_out_rms_V",)))
    assert str(e.value) == missing("calibration bundle", "noise_out_rms_V", "integrator noise")
    with pytest.raises(CalibrationError) as e:
        integrator.params(bundle(drop=("cint_F",), path=tmp_path / "cal"), noise=False)
    assert str(e.value) == missing(str(tmp_path / "cal"), "cint_F", "integrator")


def test_require_scalar_and_table_of_objects_without_a_path_or_a_section():
    """Guards _where on objects without a `path` attribute, a missing or null section, and require_table:
    float64 copy of the table, exact message."""
    obj = types.SimpleNamespace(scalars={"integrator": None}, tables={"t": np.array([1, 2, 3], np.int32)})
    with pytest.raises(CalibrationError) as e:
        require_scalar(obj, "integrator", "cint_F", "the read")
    assert str(e.value) == missing("calibration bundle", "cint_F", "the read")
    with pytest.raises(CalibrationError) as e:
        require_scalar(types.SimpleNamespace(scalars={}), "pcm", "x_S", "drift")
    assert str(e.value).startswith("calibration bundle: scalar pcm.x_S (needed for drift) is missing")
    assert require_scalar(types.SimpleNamespace(scalars={"pcm": {"x_S": 3}}), "pcm", "x_S", "drift") == 3
    t = require_table(obj, "t", "f")
    assert t.dtype == np.float64 and t.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(CalibrationError) as e:
        require_table(obj, "pcm/none", "PCM drift")
    assert str(e.value) == ("calibration bundle: table 'pcm/none' (needed for PCM drift) is missing; "
                            "regenerate the bundle with pycosim characterize (or disable PCM drift)")
    with pytest.raises(CalibrationError) as e:
        require_table(Bundle(scalars={}, tables={}, path=Path("/x/cal")), "a", "b")
    assert str(e.value).startswith("/x/cal: table 'a' (needed for b)")


# ------------------------------------------------------------------------------------------ mismatch draws


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.0])
def test_draw_columns_is_mean_plus_scaled_sigma_times_normals(scale):
    """Guards the per-column Gaussian gain_j = ḡ + s·σ_g·z₁, V_off,j = V̄ + s·σ_o·z₂ (sign, σ·s not s/σ, one
    normal per column, gain drawn first)."""
    p = integrator.params(bundle())
    g, o = integrator.draw_columns(5, p, np.random.default_rng(3), mismatch_scale=scale)
    r = np.random.default_rng(3)
    z1, z2 = r.standard_normal(5), r.standard_normal(5)
    np.testing.assert_allclose(g, INT["gain_V_per_C"] + scale * INT["gain_std_V_per_C"] * z1, rtol=1e-15)
    np.testing.assert_allclose(o, INT["offset_V"] + scale * INT["offset_std_V"] * z2, rtol=1e-15, atol=0)
    assert g.shape == o.shape == (5,) and g.dtype == o.dtype == np.float64
    # the default scale is 1: the bundle's σ (statistically: 20000 columns, σ known to 1 %)
    g, o = integrator.draw_columns(20000, p, np.random.default_rng(0))
    assert np.std(g) == pytest.approx(INT["gain_std_V_per_C"], rel=0.03)
    assert np.std(o) == pytest.approx(INT["offset_std_V"], rel=0.03)


def test_draw_lines_are_the_mirror_and_conveyor_sigmas_times_one_4_by_n_normal_draw():
    """Guards (ε⁺, ε⁻, V_os⁺, V_os⁻) = s·(σ_ε⁺·z₀, σ_ε⁻·z₁, σ_os·z₂, σ_os·z₃): σs not swapped, the scale applied
    to each."""
    p = integrator.params(bundle())
    for s in (1.0, 0.25):
        out = integrator.draw_lines(6, p, np.random.default_rng(11), mismatch_scale=s)
        z = np.random.default_rng(11).standard_normal((4, 6))
        want = (s * 0.011 * z[0], s * 0.013 * z[1], s * 1.7e-3 * z[2], s * 1.7e-3 * z[3])
        assert len(out) == 4
        for a, b in zip(out, want):
            np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)
    # exactly one 4×n draw: a seeded run's later random numbers do not depend on how this one was drawn
    r, ref = np.random.default_rng(11), np.random.default_rng(11)
    integrator.draw_lines(6, p, r)
    ref.standard_normal((4, 6))
    assert r.standard_normal() == ref.standard_normal()
    a = integrator.draw_lines(6, p, np.random.default_rng(11))
    np.testing.assert_allclose(a[0], 0.011 * np.random.default_rng(11).standard_normal((4, 6))[0], rtol=1e-15)


# ------------------------------------------------------------------------------------------ line gain, noise


def test_lag_gain_is_one_over_one_plus_g_line_over_g_in():
    """Guards κ_L = 1/(1 + G_L/g_in): G_L = g_in halves the line's current, 3·g_in quarters it; no lag (κ = 1
    exactly) when g_in ≤ 0 or unknown; float64, the shape of G_L."""
    g = integrator.lag_gain([[0.0, 1e-4], [3e-4, 1e-3]], 1e-4)
    assert g.dtype == np.float64 and g.shape == (2, 2)
    np.testing.assert_allclose(g, [[1.0, 0.5], [0.25, 1 / 11]], rtol=1e-15)
    np.testing.assert_allclose(integrator.lag_gain(np.float32(0.25), 0.125), 1 / 3, rtol=1e-15)
    for g_in in (0.0, -1e-3, float("nan")):
        k = integrator.lag_gain(np.array([1e-4, 5e-3], np.float32), g_in)
        assert k.dtype == np.float64 and k.tolist() == [1.0, 1.0]


def test_noise_at_scales_as_the_square_root_of_the_open_time():
    """Guards σ(t) = σ₀·√(t/t₀) (white current noise integrated on C_int), the unscaled σ₀ without t₀ or t,
    and 0 when the noise was not loaded."""
    p = integrator.params(bundle())
    assert integrator.noise_at(p, 4 * 2.56e-7) == pytest.approx(2 * 2.1e-3, rel=1e-14)
    assert integrator.noise_at(p, 2.56e-7 / 9) == pytest.approx(2.1e-3 / 3, rel=1e-14)
    assert integrator.noise_at(p, 0.0) == 2.1e-3 and integrator.noise_at(p, -1.0) == 2.1e-3
    q = integrator.params(bundle(noise_t_open_s=0.0))
    assert integrator.noise_at(q, 1e-6) == 2.1e-3
    assert type(integrator.noise_at(q, 1e-6)) is float and type(integrator.noise_at(p, 1e-6)) is float
    off = integrator.params(bundle(), noise=False)
    assert integrator.noise_at(off, 1e-6) == 0.0 and type(integrator.noise_at(off, 1e-6)) is float


# ------------------------------------------------------------------------------------------ integrate, ADC


def test_integrate_adds_the_output_noise_only_with_a_generator_and_clamps_at_the_rails():
    """Guards V = clip(V_off + gain·Q + σ_out·z, V_lo, V_hi): noise only with rng and a loaded σ (added, not
    divided), float64 charge, the rails."""
    p = integrator.params(bundle())
    q = [0, 1e-14, -4e-14, 1e-13]                                # integers and floats: float64 charge
    gain, off = np.full(4, -2.5e12), np.full(4, 0.61)
    quiet = 0.61 - 2.5e12 * np.array([0.0, 1e-14, -4e-14, 1e-13])     # 0.61, 0.585, 0.71, 0.36 V
    np.testing.assert_allclose(integrator.integrate(q, gain, off, p), quiet, rtol=1e-15)
    z = np.random.default_rng(5).standard_normal(4)
    v = integrator.integrate(q, gain, off, p, np.random.default_rng(5))
    np.testing.assert_allclose(v, quiet + 2.1e-3 * z, rtol=1e-15)
    assert v.dtype == np.float64
    p0 = integrator.params(bundle(), noise=False)
    r = np.random.default_rng(5)
    np.testing.assert_allclose(integrator.integrate(q, gain, off, p0, r), quiet, rtol=1e-15)
    assert r.standard_normal() == np.random.default_rng(5).standard_normal()   # no number drawn
    rails = integrator.integrate(np.array([-1e-12, 1e-12]), gain[:2], off[:2], p)
    assert rails.tolist() == [1.15, 0.05]
    assert integrator.integrate(np.array([1], np.int64), gain[:1], off[:1], p0)[0] == 0.05   # Q = 1 C, not 1 ↦ int


def test_adc_codes_by_hand():
    """Guards code = round((V − V_min)/LSB) with LSB = (V_max − V_min)/(2^bits − 1), clipped to the codes, the
    1-bit converter, bits=None as the clamp only, and the refusal of fewer than 1 bit."""
    v = np.array([0.0, 0.2, 0.3, 0.4, 0.5, 0.7, 0.74, 0.9, 1.0, 1.3])
    # 2 bits on [0.2, 1.0]: LSB = 0.8/3; (V − 0.2)/LSB = −0.75, 0, 0.375, 0.75, 1.125, 1.875, 2.025, 2.625, 3, 4.125
    codes = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3, 3])
    np.testing.assert_allclose(integrator.adc(v, 2, 0.2, 1.0), 0.2 + codes * (0.8 / 3), rtol=1e-15)
    np.testing.assert_allclose(integrator.adc(v, 1, 0.2, 1.0), [0.2, 0.2, 0.2, 0.2, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0],
                               rtol=1e-15)
    np.testing.assert_array_equal(integrator.adc(v, None, 0.2, 1.0), np.clip(v, 0.2, 1.0))
    for bits in (0, -1):
        with pytest.raises(ConfigError) as e:
            integrator.adc(v, bits, 0.2, 1.0)
        assert str(e.value) == f"adc bits={bits}: must be ≥ 1 or None"


# ------------------------------------------------------------------------------------------ device helpers


def test_assign_instances_is_balanced_random_and_int32():
    """Guards the balanced assignment (every instance ⌊N/n⌋ or ⌈N/n⌉ times), the shape and dtype, and the final
    shuffle: without it the devices would repeat the instances in blocks of n (the first n all different)."""
    for shape, n in (((3, 5), 4), ((7,), 7), ((2, 3), 10), ((4, 4), 3)):
        a = assign_instances(shape, n, np.random.default_rng(1))
        assert a.shape == shape and a.dtype == np.int32
        counts = np.bincount(a.ravel(), minlength=n)
        size = int(np.prod(shape))
        assert counts.sum() == size and len(counts) == n
        assert counts.min() >= size // n and counts.max() <= -(-size // n)
    assert sorted(assign_instances((7,), 7, np.random.default_rng(2)).tolist()) == list(range(7))
    firsts = [assign_instances((12,), 4, np.random.default_rng(s))[:4] for s in range(20)]
    assert any(len(set(f.tolist())) < 4 for f in firsts)      # a block structure would keep them distinct
    draws = {tuple(assign_instances((12,), 4, np.random.default_rng(s)).tolist()) for s in range(20)}
    assert len(draws) > 10                                     # random positions, not one fixed pattern


def test_grid_args_by_hand():
    """Guards (n_g, x₀, 1/h, top) of a uniform grid: h = x₁ − x₀ (a grid not starting at 0), top = (n − 1)·(1 − 10⁻⁶)
    in float32 (the last interval reachable, the index never past it)."""
    n, x0, inv, top = grid_args(np.array([0.5, 0.75, 1.0, 1.25, 1.5]))
    assert n == 5 and type(n) is int
    assert type(x0) is np.float32 and x0 == np.float32(0.5)
    assert type(inv) is np.float32 and inv == np.float32(4.0)
    assert type(top) is np.float32 and top == np.float32(4) * np.float32(1 - 1e-6)
    assert np.float32(3.0) < top < np.float32(4.0)


def test_interp_rows_is_each_rows_linear_interpolation_with_held_ends():
    """Guards the per-element law against np.interp of the chosen row (x shape kept, rows broadcast, x₀ ≠ 0,
    end values held, float64 inputs converted, float32 out)."""
    grid = np.linspace(0.2, 1.0, 5)                            # h = 0.2
    table = np.array([[0.0, 1.0, 4.0, 9.0, 16.0], [5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 1.0, 0.0, 0.0, 2.0]])
    x = np.array([[0.0, 0.2, 0.3, 0.55], [0.6, 0.99, 1.0, 1.7]])
    rows = np.array([[0, 1, 2, 0], [1, 2, 0, 1]])
    out = interp_rows(x, grid, table, rows)
    assert out.shape == (2, 4) and out.dtype == np.float32
    want = np.array([[np.interp(x[i, j], grid, table[rows[i, j]]) for j in range(4)] for i in range(2)])
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=5e-6)
    assert out[0, 0] == 0.0                                    # held below the grid
    assert out[1, 3] == pytest.approx(1.0, abs=4 * 4e-6)       # held above (top = 4·(1 − 10⁻⁶): 4·10⁻⁶ of a step)
    one = interp_rows(np.array([0.3, 0.5, 0.9]), grid, table, 1)   # one row for every element
    np.testing.assert_allclose(one, [4.5, 3.5, 1.5], rtol=2e-6)
    np.testing.assert_allclose(interp_rows(0.7, grid, table, np.array(0)), 6.5, rtol=2e-6)


def test_interp_rows_takes_any_float_type_of_values_and_table():
    """Guards the float32 conversion of x and of the table before the compiled loop (the contract is "x: any
    float"; the compiled law has no half-precision version, and a float64 table would be read as float64)."""
    grid = np.linspace(0.0, 1.0, 3)
    table = np.array([[0.0, 2.0, 6.0]])
    for xt in (np.float16, np.float32, np.float64):
        for tt in (np.float16, np.float32, np.float64):
            out = interp_rows(np.array([0.25, 0.75], xt), grid, table.astype(tt), np.zeros(2, np.int64))
            assert out.dtype == np.float32
            np.testing.assert_allclose(out, [1.0, 4.0], rtol=1e-6)
