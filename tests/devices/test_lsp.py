"""3T1C device model: closure against lsp_up_down, leakage against the retention table, reset, errors."""

import numpy as np
import pytest

from pycosim.devices import assign_instances, lsp
from pycosim.errors import CalibrationError, ConfigError


@pytest.fixture(scope="module")
def pop(shipped):
    c2c = "dv_up_c2c_sigma_V" in shipped.scalars["lsp"]
    return lsp.population(shipped, c2c=c2c, reset=False, read_noise=False)


def test_updown_closure(shipped, pop):
    """200 cells (each SPICE instance once) replay 30 up then 30 down single pulses: mean g within 2 %
    and spread within 15 % of lsp/updown_g_S at every step."""
    rng = np.random.default_rng(2018)
    inst = assign_instances((200,), pop.n, rng)
    ref = shipped["lsp/updown_g_S"][:, :]
    k = (ref.shape[1] - 1) // 2
    v = shipped["lsp/updown_vc_V"][inst, 0].astype(np.float32)
    gs = [lsp.g_of_vc(v, inst, pop)]
    one = np.ones(200, int)
    for j in range(2 * k):
        v = lsp.apply_pulses(v, one if j < k else 0, 0 if j < k else one, inst, pop, rng)
        gs.append(lsp.g_of_vc(v, inst, pop))
    g = np.array(gs).T
    em = np.abs(g.mean(0) / ref.mean(0) - 1)
    es = np.abs(g.std(0)[1:] / ref.std(0)[1:] - 1)
    print(f"\n3T1C up/down closure (200 cells, c2c σ up/down {pop.dv_up_c2c_V * 1e3:.2f}/{pop.dv_down_c2c_V * 1e3:.2f} mV): "
          f"max |mean err| {em.max():.3%}, max |spread err| {es.max():.2%}")
    assert em.max() < 0.02
    assert es.max() < 0.15


@pytest.mark.parametrize("n", [4, 9, -9, 1])
def test_c2c_spread_grows_as_sqrt_n(shipped, n):
    """n pulses at once carry n independent cycle-to-cycle steps: the spread around the noise-free closed
    form is σ_c2c·c2c_scale·√n (σ of the up or down step), not σ·n and not 0. 20,000 cells at 0.6 V, so the
    sample σ is known to 0.5 %; tolerance 4 % (σ·n instead of σ·√n is off by 100 % at n = 4, 200 % at n = 9)."""
    pop = lsp.population(shipped, c2c=True, reset=False, read_noise=False)
    sig = pop.dv_up_c2c_V if n > 0 else pop.dv_down_c2c_V
    assert sig > 1e-5                                   # the shipped bundle: ≈ 0.16 mV per step
    m = 20000
    inst = np.arange(m) % pop.n
    v = np.full(m, 0.6, np.float32)
    nn = np.full(m, n)
    det = lsp.step_signed(v, nn, inst, pop, None).astype(np.float64)
    assert np.all(det > pop.v_min_V + 0.05) and np.all(det < pop.v_max_V - 0.05)     # far from the clip
    for scale in (1.0, 2.0):
        noisy = lsp.step_signed(v, nn, inst, pop, np.random.default_rng(5), c2c_scale=scale)
        r = (noisy - det) / (sig * scale * np.sqrt(abs(n)))
        print(f"n = {n:+d}, c2c_scale {scale}: spread / (σ·√n) = {r.std():.4f}, mean {r.mean():+.4f}")
        assert abs(r.std() - 1) < 0.04 and abs(r.mean()) < 0.03
    assert np.array_equal(lsp.step_signed(v, nn, inst, pop, np.random.default_rng(5), c2c_scale=0.0), det.astype(np.float32))


def test_leak_rate_matches_table(shipped, pop):
    """dV_C/dt of the model at the table's V_C points equals the bundle's per-cell rates, and a closed-form
    trajectory matches a fine RK4 integration of the same table."""
    inst = np.arange(pop.n)
    lv, table = shipped["lsp/leak_vc_V"], shipped["lsp/leak_dvdt_V_per_s"]
    for j, v0 in enumerate(lv):
        np.testing.assert_allclose(lsp.leak_rate(np.full(pop.n, v0), inst, pop), table[:, j], atol=1e-6)
    # short holds: (V(dt) − V)/dt → the table rate (dt: a 1 mV move at the largest rate)
    dt = 1e-3 / np.abs(table).max()
    for j, v0 in enumerate(lv):
        dv = (lsp.leak(np.full(pop.n, v0), dt, inst, pop).astype(np.float64) - np.float32(v0)) / dt
        np.testing.assert_allclose(dv, table[:, j], atol=0.05 * np.abs(table).max())
    T, n = 3e-3, 3000
    ref = np.full(pop.n, 0.5)
    h = T / n
    for _ in range(n):
        k1 = lsp.leak_rate(ref, inst, pop)
        k2 = lsp.leak_rate(ref + h / 2 * k1, inst, pop)
        k3 = lsp.leak_rate(ref + h / 2 * k2, inst, pop)
        k4 = lsp.leak_rate(ref + h * k3, inst, pop)
        ref = ref + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    cf = lsp.leak(np.full(pop.n, 0.5), T, inst, pop)
    err = np.abs(np.clip(ref, pop.v_min_V, pop.v_max_V) - cf).max()
    print(f"\nleakage 3 ms from 0.5 V: closed form vs RK4 max |ΔV| = {err:.2e} V")
    assert err < 1e-5


def test_leak_moves_toward_asymptote(pop):
    """Cells whose rate crosses zero inside the table relax toward that V∞ from both sides."""
    inst = np.arange(pop.n)
    lv = pop.leak_vc_V
    rate_lo, rate_hi = lsp.leak_rate(np.full(pop.n, lv[0]), inst, pop), lsp.leak_rate(np.full(pop.n, lv[-1]), inst, pop)
    stable = (rate_lo > 0) & (rate_hi < 0)
    assert stable.any()
    k = inst[stable]
    for v0 in (lv[0], lv[-1]):
        v = np.full(k.size, v0, np.float32)
        d0 = None
        for _ in range(5):
            v_new = lsp.leak(v, 2e-3, k, pop)
            r = lsp.leak_rate(v_new, k, pop)
            assert np.all(np.sign(v_new - v) == np.sign(lsp.leak_rate(v, k, pop))) or np.allclose(v_new, v, atol=1e-6)
            v = v_new
        assert np.all(np.abs(r) <= np.abs(lsp.leak_rate(np.full(k.size, v0), k, pop)) + 1e-6)


def test_pulses_direction_and_errors(pop):
    inst = np.arange(pop.n)
    v = np.full(pop.n, pop.vc_init_V, np.float32)
    up = lsp.apply_pulses(v, 3, 0, inst, pop)
    dn = lsp.apply_pulses(v, 0, 3, inst, pop)
    assert np.all(up > v) and np.all(dn < v)
    assert np.array_equal(lsp.apply_pulses(v, 0, 0, inst, pop), v)
    # n pulses at once (closed form) ≈ n single pulses
    seq = v
    for _ in range(5):
        seq = lsp.apply_pulses(seq, 1, 0, inst, pop)
    np.testing.assert_allclose(lsp.apply_pulses(v, 5, 0, inst, pop), seq, atol=2e-4)
    with pytest.raises(ConfigError, match="n_up must be ≥ 0"):
        lsp.apply_pulses(v, -1, 0, inst, pop)
    with pytest.raises(ConfigError, match="dt_s"):
        lsp.leak(v, -1.0, inst, pop)


def test_tg_reset_and_read_noise(bundle2):
    p = lsp.population(bundle2)
    inst = np.arange(p.n)
    for v0 in (0.3, 0.9):
        vf = lsp.tg_reset(np.full(p.n, v0, np.float32), inst, p)
        expect = np.array([np.interp(v0, p.reset_vstart_V, p.reset_vfinal_V[k]) for k in inst])
        np.testing.assert_allclose(vf, expect, atol=1e-6)
    g = lsp.read(np.full(p.n, 0.7, np.float32), inst, p, np.random.default_rng(0))
    assert np.all(np.isfinite(g))


def test_missing_new_tables(shipped):
    def without(*names, scalars=()):
        sc = {k: dict(v) if isinstance(v, dict) else v for k, v in shipped.scalars.items()}
        for sec, key in scalars:
            sc[sec].pop(key, None)
        return type(shipped)(scalars=sc, tables={k: v for k, v in shipped.tables.items() if k not in names},
                             provenance={}, path=None)
    with pytest.raises(CalibrationError, match="lsp/reset_vstart_V.*transmission-gate reset.*pycosim characterize"):
        lsp.population(without("lsp/reset_vstart_V"), c2c=False, reset=True, read_noise=False)
    with pytest.raises(CalibrationError, match="lsp.dv_up_c2c_sigma_V"):
        lsp.population(without(scalars=[("lsp", "dv_up_c2c_sigma_V")]), c2c=True, reset=False, read_noise=False)
    with pytest.raises(CalibrationError, match="lsp/read_noise_rel_sigma"):
        lsp.population(without("lsp/read_noise_rel_sigma"), c2c=False, reset=False, read_noise=True)
