"""The '2pcm+3t1c' scheme's own physics, each checked against the calibration bundle's tables by hand
(np.interp on the raw tables, not the layer's caches): the power-up state, one update pulse per cell up and
down at V_C across the table, the asymmetry override, 'trains' coincidences, the read-noise variance of the
cells, the default leakage batch and the batched leakage. Small quiet layers; part of the short tests/array
selection of the mutation script."""

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar
from pycosim.devices import lsp

F32 = np.float32
QUIET = {"pcm": {"read_noise": False, "drift": False, "c2c_scale": 0.0},
         "lsp": {"read_noise": False, "c2c_scale": 0.0}, "periphery": {"integrator_noise": False}}


def layer(shipped, shape=(3, 2), lsp_cfg=None, **cfg):
    c = {"synapse": "2pcm+3t1c", **QUIET, **cfg}
    c["lsp"] = {**QUIET["lsp"], **(lsp_cfg or {})}
    return Crossbar(*shape, ArrayConfig.from_dict(c), bundle=shipped, rng=5)


def table(shipped, name):
    return np.asarray(shipped.tables[name], np.float64)


def step_by_hand(shipped, V, inst, up, down_scale=1.0):
    """One pulse from V (per cell, instance inst): V + ΔV_k(V), ΔV from lsp/dv_up_V or lsp/dv_down_V on
    lsp/step_vc_V (midpoint rule for n = 1: the table at V itself)."""
    grid = table(shipped, "lsp/step_vc_V")
    tab = table(shipped, "lsp/dv_up_V" if up else "lsp/dv_down_V")
    s = 1.0 if up else down_scale
    return np.array([v + s * np.interp(v, grid, tab[k]) for v, k in zip(V.ravel().astype(np.float64), inst.ravel())])


def g_by_hand(shipped, V, inst):
    grid, g = table(shipped, "lsp/vc_grid_V"), table(shipped, "lsp/g_of_vc_S")
    return np.array([np.interp(v, grid, g[k]) for v, k in zip(np.ravel(V).astype(np.float64), np.ravel(inst))])


def test_power_up_state_and_pulse_size_by_hand(shipped):
    """At power-up every cell has had the transmission-gate reset from vc_init (0.8 V), float32; g = g_k(V_C);
    the column references read g at their gate; pol = +1 (float32); Δw_pulse = scale·mean_k[g_k(V₁) − g_k(V₀)]
    with V₁ = V₀ + ΔV_up,k(V₀); the simulated up/down ratio mean ΔV_up / mean |ΔV_down| at V₀."""
    xb = layer(shipped)
    d = xb.devices()
    assert d["V_C_V"].dtype == F32 and d["g_S"].dtype == F32 and d["pol"].dtype == F32
    assert d["g_shared_S"].dtype == F32 and xb.pol.dtype == F32
    assert d["pol"].tolist() == [1.0, 1.0]
    inst, rinst = d["lsp_instance"], d["ref_instance"]
    vs, vf = table(shipped, "lsp/reset_vstart_V"), table(shipped, "lsp/reset_vfinal_V")
    want_v = np.array([np.interp(0.8, vs, vf[k]) for k in inst.ravel()]).reshape(3, 2)
    np.testing.assert_allclose(d["V_C_V"], want_v, atol=2e-6)
    assert np.all(np.abs(d["V_C_V"] - 0.8) > 1e-3)                  # the reset's offset, not vc_init itself
    np.testing.assert_allclose(d["g_S"], g_by_hand(shipped, d["V_C_V"], inst).reshape(3, 2), rtol=1e-5)
    np.testing.assert_allclose(d["g_shared_S"], g_by_hand(shipped, np.full(2, d["v_ref_gate_V"]), rinst),
                               rtol=1e-5)
    n = xb.lsp_pop.n
    k = np.arange(n)
    v0 = np.full(n, 0.8)
    v1 = step_by_hand(shipped, v0, k, True)
    want_dw = xb.scale * np.mean(g_by_hand(shipped, v1, k) - g_by_hand(shipped, v0, k))
    assert xb.dw_pulse == pytest.approx(want_dw, rel=1e-4)
    down = step_by_hand(shipped, v0, k, False) - v0
    assert xb.up_down_ratio_simulated == pytest.approx(np.mean(v1 - v0) / -np.mean(down), rel=1e-5)


def test_without_device_spread_a_cell_reads_as_its_reference(shipped):
    """lsp.d2d_scale = 0: every cell is the mean instance, so the post-reset V_C of every cell is the
    references' gate voltage and pol·(g − g_shared) = 0 (within float32) at power-up."""
    xb = layer(shipped, lsp_cfg={"d2d_scale": 0.0})
    d = xb.devices()
    assert np.ptp(d["V_C_V"]) == 0 and np.ptp(d["g_S"]) == 0
    np.testing.assert_allclose(d["V_C_V"], d["v_ref_gate_V"], atol=1e-6)
    np.testing.assert_allclose(xb.lsp_contribution(), 0, atol=2e-4 * xb.dw_pulse)
    # with the spread (d2d_scale = 1) the cells differ
    assert np.ptp(layer(shipped).devices()["g_S"]) > 0


@pytest.mark.parametrize("rounding", ["deterministic", "stochastic"])
def test_one_pulse_per_cell_follows_the_step_table_up_and_down(shipped, rounding):
    """lr = Δw_pulse, x = (1, 1, 1), δ = (−1, 1): n = (+1, −1) on every row, so column 0 gets one up pulse
    and column 1 one down pulse (pol = +1), at V_C placed over the table (0.15 … 1.05 V); V_C by the raw step
    tables, g by the raw g table, W by the weight law; the pulse counters accumulate (3 + 3, then again);
    with pol = (−1, +1) column 0 is pulsed down instead."""
    xb = layer(shipped, update={"rounding": rounding})
    V = np.array([[0.15, 0.45], [0.62, 0.83], [1.05, 0.33]], F32)
    xb.set_devices(V=V, pol=[1, 1])
    inst = xb.devices()["lsp_instance"]
    w_pcm = xb.weights() - xb.lsp_contribution()
    x, dl = np.ones(3, F32), np.array([-1.0, 1.0], F32)
    xb.update(x, dl, xb.dw_pulse)
    want = np.empty((3, 2))
    want[:, 0] = step_by_hand(shipped, V[:, 0], inst[:, 0], True)
    want[:, 1] = step_by_hand(shipped, V[:, 1], inst[:, 1], False)
    got = xb.devices()
    assert got["V_C_V"].dtype == F32
    np.testing.assert_allclose(got["V_C_V"], want, atol=3e-6)
    assert np.all(np.abs(got["V_C_V"] - V) > 1e-3)
    g = g_by_hand(shipped, want, inst).reshape(3, 2)
    np.testing.assert_allclose(got["g_S"], g, rtol=2e-4)
    gs = got["g_shared_S"].astype(np.float64)
    np.testing.assert_allclose(xb.weights(), w_pcm + xb.scale * (g - gs), rtol=1e-4, atol=1e-5)
    assert (xb.counters.lsp_up_pulses, xb.counters.lsp_down_pulses) == (3, 3)
    xb.update(x, dl, xb.dw_pulse)
    assert (xb.counters.lsp_up_pulses, xb.counters.lsp_down_pulses) == (6, 6)
    # the polarity bit decides the direction: column 0 (pol −1) now down
    xb.set_devices(V=V, pol=[-1, 1])
    xb.update(x, dl, xb.dw_pulse)
    np.testing.assert_allclose(xb.devices()["V_C_V"][:, 0], step_by_hand(shipped, V[:, 0], inst[:, 0], False),
                               atol=3e-6)
    assert (xb.counters.lsp_up_pulses, xb.counters.lsp_down_pulses) == (6, 12)
    # nothing to do: no counts, nothing moves
    before = xb.devices()["V_C_V"]
    xb.update(np.zeros(3, F32), dl, xb.dw_pulse)
    np.testing.assert_array_equal(xb.devices()["V_C_V"], before)


def test_up_down_ratio_override_scales_the_down_steps(shipped):
    """lsp.up_down_ratio = r: the down steps of every cell are scaled by ratio_sim / r (ratio_sim the
    simulated population ratio), the up steps are as simulated."""
    r = 0.5
    xb = layer(shipped, lsp_cfg={"up_down_ratio": r}, update={"rounding": "deterministic"})
    n = xb.lsp_pop.n
    k = np.arange(n)
    v0 = np.full(n, 0.8)
    ratio = np.mean(step_by_hand(shipped, v0, k, True) - v0) / -np.mean(step_by_hand(shipped, v0, k, False) - v0)
    V = np.array([[0.4, 0.5], [0.6, 0.7], [0.8, 0.9]], F32)
    xb.set_devices(V=V)
    inst = xb.devices()["lsp_instance"]
    xb.update(np.ones(3, F32), np.array([-1.0, 1.0], F32), xb.dw_pulse)
    got = xb.devices()["V_C_V"]
    np.testing.assert_allclose(got[:, 0], step_by_hand(shipped, V[:, 0], inst[:, 0], True), atol=3e-6)
    np.testing.assert_allclose(got[:, 1], step_by_hand(shipped, V[:, 1], inst[:, 1], False, ratio / r), atol=3e-6)


def test_trains_pulse_the_cells_by_coincidences(shipped):
    """'trains' on a 20×10 layer without device spread, |x| = |δ| = 1, lr = 2·Δw_pulse (n = −2 → down with
    pol = +1; 8 slots, each line fires with probability 1/2): the pulses per cell scatter between 0 and 8
    around 2 (rounding would give exactly 2 everywhere); lr = Δw_pulse still pulses (mean 1 per cell); with
    c2c noise the pulsed cells spread continuously."""
    xb = layer(shipped, shape=(20, 10), lsp_cfg={"d2d_scale": 0.0, "leak": False}, update={"rounding": "trains"})
    v0 = xb.devices()["V_C_V"].copy()
    xb.update(np.ones(20, F32), np.ones(10, F32), 2 * xb.dw_pulse)
    c = xb.counters
    # a slot pulses R·C cells, R ~ B(20, ½), C ~ B(10, ½): mean 50, σ 19.7 per slot; 8 slots: 400 ± 56 (±3σ)
    assert c.lsp_up_pulses == 0 and 230 < c.lsp_down_pulses < 570
    dv = xb.devices()["V_C_V"] - v0
    assert np.all(dv <= 0) and len(np.unique(dv)) > 3                         # different counts per cell
    xb2 = layer(shipped, shape=(20, 10), lsp_cfg={"d2d_scale": 0.0, "leak": False}, update={"rounding": "trains"})
    xb2.update(np.ones(20, F32), -np.ones(10, F32), xb2.dw_pulse)
    assert xb2.counters.lsp_down_pulses == 0 and 80 < xb2.counters.lsp_up_pulses < 320    # 200 ± 39 (4 slots, ±3σ)
    assert len(np.unique(xb2.devices()["V_C_V"])) <= 9                       # 0…8 pulses, no c2c: 9 levels at most
    # with c2c noise every pulsed cell lands somewhere else (the trains kernel draws it too)
    xb3 = layer(shipped, shape=(20, 10), lsp_cfg={"d2d_scale": 0.0, "leak": False, "c2c_scale": 1.0},
                update={"rounding": "trains"})
    xb3.update(np.ones(20, F32), -np.ones(10, F32), 2 * xb3.dw_pulse)
    assert len(np.unique(xb3.devices()["V_C_V"])) > 150


def test_cells_read_noise_variance_by_hand(shipped):
    """lsp.read_noise (PCM read noise off): S = scale²·t_bench·(rel(V_C)·g_k(V_C))² per cell, rel from
    lsp/read_noise_rel_sigma on lsp/read_noise_vc_V, t_bench = lsp.read_noise_t_int_s (the layer tabulates it on
    the g grid and interpolates linearly: 0.5 % where g bends, at low V_C) — at placement and
    after an update (the updated cells' S follows their new V_C); without read noise the LSP adds nothing."""
    xb = layer(shipped, lsp_cfg={"read_noise": True}, update={"rounding": "deterministic"})
    t = shipped.scalars["lsp"]["read_noise_t_int_s"]
    nv, nr = table(shipped, "lsp/read_noise_vc_V"), table(shipped, "lsp/read_noise_rel_sigma")

    def s_by_hand(V):
        inst = xb.devices()["lsp_instance"]
        rel = np.interp(V.ravel().astype(np.float64), nv, nr)
        return (xb.scale ** 2 * t * (rel * g_by_hand(shipped, V, inst)) ** 2).reshape(V.shape)

    V = np.array([[0.2, 0.4], [0.6, 0.8], [1.0, 1.1]], F32)
    xb.set_devices(V=V)
    assert xb.S.dtype == F32
    np.testing.assert_allclose(xb.S, s_by_hand(V), rtol=5e-3)
    xb.update(np.array([1.0, 0.0, 1.0], F32), np.array([-1.0, 1.0], F32), xb.dw_pulse)
    V2 = xb.devices()["V_C_V"]
    assert np.all(V2[0] != V[0]) and np.all(V2[1] == V[1])
    np.testing.assert_allclose(xb.S, s_by_hand(V2), rtol=5e-3)
    np.testing.assert_allclose(xb._lsp_var(np.array([1, 4])), s_by_hand(V2).ravel()[[1, 4]], rtol=5e-3)
    quiet = layer(shipped)
    assert quiet._lsp_var(None) == 0 and quiet._lsp_var(np.array([0])) == 0


def test_default_leak_batch_by_hand(shipped):
    """lsp.leak_batch_s = None: max(1 % of the mean up step at vc_init / the 99th percentile of |dV_C/dt|
    over the leakage table, 16 float32 ulps of v_max / the median |dV_C/dt|) — from the raw tables."""
    xb = layer(shipped)
    rates = np.abs(table(shipped, "lsp/leak_dvdt_V_per_s"))
    n = rates.shape[0]
    v0 = np.full(n, 0.8)
    step = np.mean(step_by_hand(shipped, v0, np.arange(n), True) - v0)
    ulp16 = 16 * 2.0 ** -23                                                   # v_max = 1.2 V in [1, 2)
    want = max(0.01 * step / np.percentile(rates, 99), ulp16 / np.median(rates))
    assert xb.leak_batch_s == pytest.approx(want, rel=1e-4)
    assert 0.5e-3 < xb.leak_batch_s < 1e-3                                  # "~1 ms" (LSPConfig)
    # "auto" settings resolved for metrics.json: these two values; given ones are not listed
    assert xb._lsp_resolved() == {"lsp.leak_batch_s": xb.leak_batch_s, "lsp.up_down_ratio": xb.up_down_ratio_simulated}
    assert layer(shipped, lsp_cfg={"leak_batch_s": 1e-3, "up_down_ratio": 1.0})._lsp_resolved() == {}


def test_leak_is_applied_in_batches_by_the_closed_form(shipped):
    """lsp.leak_batch_s = 1 ms: 0.4 ms leaves V_C alone, 1 ms in all applies lsp.leak(V, 1 ms); a further
    1 ms applies it again (nothing left pending after a batch); leak = False never moves V_C."""
    xb = layer(shipped, lsp_cfg={"leak_batch_s": 1e-3})
    V = np.array([[0.2, 0.4], [0.6, 0.8], [1.0, 1.1]], F32)
    xb.set_devices(V=V)
    inst = xb.devices()["lsp_instance"]
    xb.advance(0.4e-3)
    np.testing.assert_array_equal(xb.devices()["V_C_V"], V)
    xb.advance(0.6e-3)
    v1 = lsp.leak(V, 1e-3, inst, xb.lsp_pop)
    assert np.all(np.abs(v1 - V) > 1e-6)
    np.testing.assert_allclose(xb.devices()["V_C_V"], v1, atol=1e-6)
    xb.advance(1e-3)
    np.testing.assert_allclose(xb.devices()["V_C_V"], lsp.leak(v1, 1e-3, inst, xb.lsp_pop), atol=1e-6)
    off = layer(shipped, lsp_cfg={"leak": False})
    v = off.devices()["V_C_V"].copy()
    off.advance(1.0, settle=True)
    np.testing.assert_array_equal(off.devices()["V_C_V"], v)


def test_transfer_resets_the_cells_flips_the_polarity_and_counts(shipped):
    """A transfer of column 1: its cells get the transmission-gate reset V_C ← f_k(V_C) (lsp/reset_vfinal_V
    on lsp/reset_vstart_V), g follows, pol_1 flips from −1 to +1 (an explicit flip, not a set to −1), column 0
    is left alone; lsp_resets counts the reset cells over transfers (3, then 3 + 6)."""
    xb = layer(shipped, lsp_cfg={"leak": False}, transfer={"threshold": 0.0})
    V = np.array([[0.3, 0.5], [0.7, 0.9], [1.0, 0.2]], F32)
    xb.set_devices(V=V, pol=[1, -1])
    inst = xb.devices()["lsp_instance"]
    xb.transfer(cols=[1])
    d = xb.devices()
    vs, vf = table(shipped, "lsp/reset_vstart_V"), table(shipped, "lsp/reset_vfinal_V")
    want = np.array([np.interp(v, vs, vf[k]) for v, k in zip(V[:, 1].astype(np.float64), inst[:, 1])])
    np.testing.assert_allclose(d["V_C_V"][:, 1], want, atol=2e-6)
    np.testing.assert_array_equal(d["V_C_V"][:, 0], V[:, 0])
    np.testing.assert_allclose(d["g_S"][:, 1], g_by_hand(shipped, want, inst[:, 1]), rtol=1e-5)
    assert d["pol"].tolist() == [1.0, 1.0]
    assert xb.counters.lsp_resets == 3
    xb.transfer()
    assert xb.devices()["pol"].tolist() == [-1.0, -1.0] and xb.counters.lsp_resets == 9
    # without invert_polarity the bits stay
    xb.transfer(invert_polarity=False)
    assert xb.devices()["pol"].tolist() == [-1.0, -1.0]


def test_invert_polarity_of_some_columns_rewrites_their_weights(shipped):
    """invert_polarity(cols=[1]): only pol_1 flips, and W of column 1 becomes
    scale·[F·(G⁺ − G⁻) − (g − g_shared)] (the cached W refreshed at those synapses); a scalar column works."""
    xb = layer(shipped, shape=(3, 3), lsp_cfg={"leak": False})
    V = np.array([[0.3, 0.5, 0.9], [0.7, 0.9, 0.4], [1.0, 0.2, 0.6]], F32)
    xb.set_devices(V=V, pol=[1, 1, 1])
    w_pcm = xb.weights() - xb.lsp_contribution()
    d = xb.devices()
    lspw = xb.scale * (d["g_S"].astype(np.float64) - d["g_shared_S"])
    assert np.all(np.abs(lspw) > 1e-3)
    xb.invert_polarity(cols=[1])
    assert xb.devices()["pol"].tolist() == [1.0, -1.0, 1.0]
    np.testing.assert_allclose(xb.weights(), w_pcm + lspw * np.array([1.0, -1.0, 1.0]), rtol=1e-4, atol=1e-5)
    xb.invert_polarity(2)
    np.testing.assert_allclose(xb.weights(), w_pcm + lspw * np.array([1.0, -1.0, -1.0]), rtol=1e-4, atol=1e-5)
    xb.invert_polarity()
    assert xb.devices()["pol"].tolist() == [-1.0, 1.0, 1.0]


def test_leak_segments_are_found_again_after_a_crossing_an_update_and_a_reset(shipped):
    """The leakage cache (the segment of each cell) must follow V_C: cells placed just below a segment
    boundary of lsp/leak_vc_V cross it within the first 1 ms batch; then an update pulse, then a reset of
    column 0, each moves cells to other segments; after each, one more batch gives lsp.leak of the cells'
    current V_C (the device law's closed form), and the read-noise variance S follows V_C too."""
    xb = layer(shipped, lsp_cfg={"leak_batch_s": 1e-3, "read_noise": True}, update={"rounding": "deterministic"},
               transfer={"threshold": 0.0})
    V = np.array([[0.299998, 0.499998], [0.699998, 0.899998], [0.59, 0.999998]], F32)
    xb.set_devices(V=V)
    inst, pop = xb.devices()["lsp_instance"], xb.lsp_pop
    S0 = xb.S.copy()

    w_pcm = xb.weights() - xb.lsp_contribution()
    gs = xb.devices()["g_shared_S"].astype(np.float64)

    def batch_matches(v_before):
        xb.advance(1e-3)
        want = lsp.leak(v_before, 1e-3, inst, pop)
        np.testing.assert_allclose(xb.devices()["V_C_V"], want, atol=1e-6)
        # W follows V_C by the weight law (pol = +1 in column 1; column 0 flips at its transfer)
        pol = xb.devices()["pol"].astype(np.float64)
        g = g_by_hand(shipped, want, inst).reshape(3, 2)
        np.testing.assert_allclose(xb.weights(), w_pcm + xb.scale * pol * (g - gs), rtol=1e-4, atol=2e-5)
        return want

    v1 = batch_matches(V)
    crossed = np.floor(v1 / 0.1 + 1e-9) != np.floor(V / 0.1 + 1e-9)
    assert crossed.sum() >= 4                                                 # the batch moved them across
    assert np.all(xb.S != S0)                                                 # S follows the leak
    v2 = batch_matches(v1)
    xb.update(np.ones(3, F32), np.array([-1.0, 1.0], F32), xb.dw_pulse)       # one pulse up / down each
    v3 = xb.devices()["V_C_V"].copy()
    assert np.all(np.abs(v3 - v2) > 1e-3)
    v4 = batch_matches(v3)
    xb.transfer(cols=[0])
    w_pcm = xb.weights() - xb.lsp_contribution()                            # column 0's MSP pair reprogrammed
    v5 = xb.devices()["V_C_V"].copy()
    assert np.all(np.abs(v5[:, 0] - v4[:, 0]) > 0.05)
    batch_matches(v5)
    batch_matches(xb.devices()["V_C_V"].copy())


def test_4pcm_transfer_resets_the_lsp_pair_of_the_moved_synapses(shipped):
    """'4pcm' transfer of column 1 (threshold 0: every synapse of it moved): devices 2 and 3 (g⁺, g⁻) of
    column 1 go to their instance's RESET floor, column 0's LSP pair and the MSP devices' order are kept;
    transfer_resets counts the 2 × 3 LSP resets."""
    xb = Crossbar(3, 2, ArrayConfig.from_dict({"synapse": "4pcm", **QUIET}), bundle=shipped, rng=5)
    P = np.stack([np.full((3, 2), 4e-6), np.full((3, 2), 1e-6), np.full((3, 2), 3e-6), np.full((3, 2), 0.5e-6)])
    xb.set_devices(P=P)
    c0 = xb.counters.transfer_resets
    st = xb.transfer(cols=[1], threshold=0.0)
    d = xb.devices()
    assert st.n_moved == 3 and xb.counters.transfer_resets - c0 == 6
    floor = xb.pcm_pop.g_reset_S[d["pcm_instance"]]
    np.testing.assert_array_equal(d["G_S"][2:, :, 1], floor[2:, :, 1].astype(F32))
    np.testing.assert_array_equal(d["G_S"][2:, :, 0], P[2:, :, 0].astype(F32))
    np.testing.assert_allclose(xb.lsp_contribution()[:, 1], xb.scale * (floor[2, :, 1] - floor[3, :, 1]), rtol=1e-5,
                               atol=1e-7)


def test_leak_within_a_segment_is_the_float32_affine_step(shipped):
    """A cell that stays in its leakage segment j moves by V' = e·V + a in float32 arithmetic, e = E_kj and
    a = A_kj of lsp.leak_tables(dt) rounded to float32 (bit for bit: the product rounded, then the sum);
    a second batch of the same dt uses the same factors."""
    xb = layer(shipped, shape=(20, 10), lsp_cfg={"leak_batch_s": 1e-3})
    rng = np.random.default_rng(3)
    j = rng.integers(1, 11, size=(20, 10))
    V = (0.1 * j + rng.uniform(0.02, 0.08, size=(20, 10))).astype(F32)     # inside segment j, far from its ends
    xb.set_devices(V=V)
    inst, pop = xb.devices()["lsp_instance"], xb.lsp_pop
    E, A = lsp.leak_tables(1e-3, pop)
    e, a = np.asarray(E)[inst, j].astype(F32), np.asarray(A)[inst, j].astype(F32)
    want = V
    for _ in range(2):
        want = (want * e).astype(F32) + a
        assert want.dtype == F32
        xb.advance(1e-3)
        np.testing.assert_array_equal(xb.devices()["V_C_V"], want)


def test_transfer_statistics_threshold_and_counters_of_a_4pcm_layer(shipped):
    """'4pcm', LSP contribution c = scale·(g⁺ − g⁻) placed by hand: with threshold 0.02 the synapses with
    |c| > 0.02 are moved (2 of column 0), the others' |c| summed as dropped (scale·2.5 µS); their LSP pair
    RESET once each (1 per device, none elsewhere), one target read per moved synapse (besides the
    closed loop's verify reads), accumulated over the next transfer (column 1 at threshold 0.005: 2 more); the stats carry mode, tolerance and the verify window."""
    xb = Crossbar(3, 2, ArrayConfig.from_dict({"synapse": "4pcm", **QUIET}), bundle=shipped, rng=5)
    gp = np.array([[3e-6, 1e-6], [2e-6, 2e-6], [5e-6, 0.5e-6]])
    P = np.stack([np.full((3, 2), 4e-6), np.full((3, 2), 1e-6), gp, np.full((3, 2), 1e-6)])
    xb.set_devices(P=P)
    s = xb.scale
    assert s * 1e-6 < 0.02 < s * 2e-6                                         # |c| = s·(2, 0; 1, 1; 4, 0.5) µS
    st = xb.transfer(cols=[0], threshold=0.02, tolerance=0.03, mode="closed", verify_t_read_s=2e-7)
    assert (st.mode, st.tolerance, st.t_verify_s, st.n_synapses, st.n_moved) == ("closed", 0.03, 2e-7, 3, 2)
    assert st.dropped_abs_sum == pytest.approx(s * 1e-6, rel=1e-5)          # (1, 0) only
    assert st.verify_reads > 0 and xb.counters.transfer_verify_reads == 2 + st.verify_reads   # target reads + loop
    reads = xb.counters.transfer_verify_reads
    rc = xb.counters.pcm_resets_per_device
    assert rc[2:, [0, 2], 0].tolist() == [[1, 1], [1, 1]] and rc[2:, 1, 0].tolist() == [0, 0]
    assert rc[2:, :, 1].sum() == 0
    st = xb.transfer(cols=[1], threshold=0.005)
    assert (st.n_synapses, st.n_moved) == (3, 2)
    assert st.dropped_abs_sum == 0.0                                          # (0, 1): c = 0 exactly
    assert xb.counters.transfer_verify_reads == reads + 2 + st.verify_reads
    assert rc.dtype == np.uint32 and xb.counters.pcm_resets_per_device[2:, 1:, 1].tolist() == [[1, 1], [1, 1]]
    assert xb.counters.transfers == 2


def with_c2c(shipped, up, down):
    """The shipped bundle with the 3T1C pulse-to-pulse σ of ΔV_C set to (up, down) V."""
    import dataclasses

    sc = {**shipped.scalars, "lsp": {**shipped.scalars["lsp"], "dv_up_c2c_sigma_V": up, "dv_down_c2c_sigma_V": down}}
    return dataclasses.replace(shipped, scalars=sc)


@pytest.mark.parametrize("c2c_scale", [1.0, 0.5])
def test_c2c_spread_of_one_pulse_is_the_sigma_of_its_direction(shipped, c2c_scale):
    """Without device spread (lsp.d2d_scale = 0) every cell takes the same deterministic step, so the spread of
    one pulse over 20×10 cells is the c2c σ of its direction × c2c_scale (σ_up = 1 mV, σ_down = 0.3 mV set in
    the bundle; sampling error of the std over 100 cells ~7 %); either σ alone (the other 0) still gives noise
    in its own direction and none in the other; c2c_scale = 0 gives none."""
    su, sd = 1e-3, 0.3e-3

    def spread(bundle, scale):
        c = {"synapse": "2pcm+3t1c", **QUIET, "update": {"rounding": "deterministic"}}
        c["lsp"] = {**QUIET["lsp"], "d2d_scale": 0.0, "leak": False, "c2c_scale": scale}
        xb = Crossbar(20, 10, ArrayConfig.from_dict(c), bundle=bundle, rng=7)
        v0 = xb.devices()["V_C_V"].copy()
        d = np.where(np.arange(10) < 5, -1.0, 1.0).astype(F32)              # columns 0–4 up, 5–9 down
        xb.update(np.ones(20, F32), d, xb.dw_pulse)
        dv = (xb.devices()["V_C_V"] - v0).astype(np.float64)
        assert np.all(dv[:, :5] > 0) and np.all(dv[:, 5:] < 0)
        return dv[:, :5].std(), dv[:, 5:].std()

    up, dn = spread(with_c2c(shipped, su, sd), c2c_scale)
    assert up == pytest.approx(su * c2c_scale, rel=0.25) and dn == pytest.approx(sd * c2c_scale, rel=0.25)
    up, dn = spread(with_c2c(shipped, su, 0.0), c2c_scale)
    assert up == pytest.approx(su * c2c_scale, rel=0.25) and dn < 1e-6
    up, dn = spread(with_c2c(shipped, 0.0, sd), c2c_scale)
    assert up < 1e-6 and dn == pytest.approx(sd * c2c_scale, rel=0.25)
    up, dn = spread(with_c2c(shipped, su, sd), 0.0)
    assert up < 1e-6 and dn < 1e-6


def test_forward_matrix_with_line_lag_follows_updates_and_leakage(shipped):
    """With the integrator lag (periphery.integrator_lag, no compensation) the forward matrix is
    Wf = scale·(κ⁺_j·W⁺ − κ⁻_j·W⁻), the 3T1C cell on W⁺ where pol_j > 0 and on W⁻ otherwise; the update and
    leakage kernels keep it current cell by cell (κ fixed between refreshes): after an update of columns of
    both polarities, and after a leakage batch, Wf equals its value recomputed from the devices here."""
    import copy

    per = {**QUIET["periphery"], "adc_bits": None, "mismatch_scale": 0.0, "lag_compensation": False}
    weak = copy.deepcopy(shipped)             # a weak line hold (the shipped conveyors hold to ~1e-5): κ ≈ 0.6–0.8
    weak.scalars["integrator"]["conveyor_g_in_S"] = 5e-3
    xb = layer(weak, shape=(60, 6), lsp_cfg={"leak_batch_s": 20e-3}, periphery=per,
               update={"rounding": "deterministic"})
    rng = np.random.default_rng(4)
    W = (rng.standard_normal(xb.shape) * 0.2).astype(F32)
    W[:, :3] += 0.5                                                           # G⁺ lines heavier in columns 0–2,
    W[:, 3:] -= 0.5                                                           # G⁻ lines in columns 3–5
    xb.set_weights(W)
    xb.set_devices(pol=[1, -1, 1, -1, 1, -1])
    xb._refresh_all()
    kp, kn = xb.kappa_p.astype(np.float64), xb.kappa_n.astype(np.float64)
    assert np.all(np.abs(kp - kn) > 0.02)                                     # the two lines lag differently

    def wf_by_hand():
        d = xb.devices()
        F = xb.cfg.F
        wp, wn = F * d["G_S"][0].astype(np.float64), F * d["G_S"][1].astype(np.float64)
        g, gs, pos = d["g_S"].astype(np.float64), d["g_shared_S"].astype(np.float64), d["pol"] > 0
        wp, wn = wp + np.where(pos, g, gs), wn + np.where(pos, gs, g)
        return xb.scale * (kp * wp - kn * wn)

    wf0 = xb.Wf.copy()
    x = rng.uniform(0.2, 1.0, 60).astype(F32)
    xb.update(x, np.array([-1, 1, -1, 1, 1, -1], F32), 2 * xb.dw_pulse)
    assert np.abs(xb.Wf - wf0).max() > 0.5 * xb.dw_pulse
    np.testing.assert_allclose(xb.Wf, wf_by_hand(), atol=1e-5, rtol=1e-5)
    wf1 = xb.Wf.copy()
    xb.advance(20e-3)                                                         # ~1 mV of V_C: ΔW ~ 10⁻³
    assert np.abs(xb.Wf - wf1).max() > 2e-4
    np.testing.assert_allclose(xb.Wf, wf_by_hand(), atol=1e-5, rtol=1e-5)


def with_leak_table(shipped, table_fn):
    """The shipped bundle with lsp/leak_dvdt_V_per_s replaced by table_fn(shape)."""
    import dataclasses

    t = dict(shipped.tables)
    t["lsp/leak_dvdt_V_per_s"] = table_fn(shipped.tables["lsp/leak_dvdt_V_per_s"].shape)
    return dataclasses.replace(shipped, tables=t)


def test_default_leak_batch_of_hand_made_leakage_tables(shipped):
    """The default batch's two bounds and its edge cases on leakage tables made here (rates on the 13 points
    of lsp/leak_vc_V, every instance alike): 7 of 13 points at 1 µV/s and 6 at 50 mV/s — the median 1 µV/s
    makes 16 float32 ulps of v_max (16·2⁻²³ V) / 1 µV/s = 1.907 s the larger bound; 7 points at 0 — the median
    is 0, so only 1 % of a step / 50 mV/s counts; no leakage at all — 0 (applied at once)."""
    n = shipped.tables["lsp/leak_dvdt_V_per_s"].shape[0]
    v0 = np.full(n, 0.8)
    step = np.mean(step_by_hand(shipped, v0, np.arange(n), True) - v0)

    def batch(lo):
        def tab(shape):
            t = np.full(shape, 0.05)
            t[:, :7] = lo
            return t
        c = {"synapse": "2pcm+3t1c", **QUIET}
        return Crossbar(2, 2, ArrayConfig.from_dict(c), bundle=with_leak_table(shipped, tab), rng=5).leak_batch_s

    assert batch(1e-6) == pytest.approx(16 * 2.0 ** -23 / 1e-6, rel=1e-6)
    assert batch(0.0) == pytest.approx(0.01 * step / 0.05, rel=1e-4)
    none = Crossbar(2, 2, ArrayConfig.from_dict({"synapse": "2pcm+3t1c", **QUIET}),
                    bundle=with_leak_table(shipped, np.zeros), rng=5)
    assert none.leak_batch_s == 0.0


def test_a_single_cell_update_and_the_clip_at_the_ends_of_the_g_table(shipped):
    """An update that pulses exactly one cell moves it (and only it); 8 up pulses from 1.19 V stop at v_max and
    8 down pulses from 0.01 V at v_min (the g table's range, 0 … 1.2 V), the float32 ends exactly."""
    xb = layer(shipped, lsp_cfg={"leak": False}, update={"rounding": "deterministic"})
    V = np.array([[0.5, 0.6], [1.19, 0.01], [0.7, 0.8]], F32)
    xb.set_devices(V=V)
    inst = xb.devices()["lsp_instance"]
    xb.update(np.array([1.0, 0.0, 0.0], F32), np.array([-1.0, 0.0], F32), xb.dw_pulse)     # cell (0, 0) only
    got = xb.devices()["V_C_V"]
    assert got[0, 0] == pytest.approx(step_by_hand(shipped, V[:1, 0], inst[:1, 0], True)[0], abs=3e-6)
    assert got[0, 0] > V[0, 0] and np.array_equal(got.ravel()[1:], V.ravel()[1:])
    assert (xb.counters.lsp_up_pulses, xb.counters.lsp_down_pulses) == (1, 0)
    xb.update(np.array([0.0, 1.0, 0.0], F32), np.array([-8.0, 8.0], F32), xb.dw_pulse)     # row 1: +8, −8
    got = xb.devices()["V_C_V"]
    assert got[1, 0] == F32(xb.lsp_pop.v_max_V) and got[1, 1] == F32(xb.lsp_pop.v_min_V) == 0


def test_set_pulses_per_device_accumulate_and_skip_stuck_devices(shipped):
    """'2pcm', lr = Δw_pulse, x = (1, 0, 0), δ = (−2, 1): n = (+2, −1) on row 0, so G⁺ of synapse (0, 0) gets 2
    SET pulses and G⁻ of (0, 1) one; pcm_sets_per_device counts them (uint32) and accumulates over updates;
    with every device stuck (stuck_reset_frac = 1) nothing is counted."""
    def two(stuck):
        pcm = {**QUIET["pcm"], "stuck_reset_frac": stuck}
        return Crossbar(3, 2, ArrayConfig.from_dict({"synapse": "2pcm", **QUIET, "pcm": pcm,
                                                     "update": {"rounding": "deterministic"}}), bundle=shipped, rng=5)

    xb = two(0.0)
    x, d = np.array([1.0, 0.0, 0.0], F32), np.array([-2.0, 1.0], F32)
    xb.update(x, d, xb.dw_pulse)
    c = xb.counters.pcm_sets_per_device
    assert c.dtype == np.uint32 and c.sum() == 3 and (c[0, 0, 0], c[1, 0, 1]) == (2, 1)
    xb.update(x, d, xb.dw_pulse)
    c = xb.counters.pcm_sets_per_device
    assert c.sum() == 6 and (c[0, 0, 0], c[1, 0, 1]) == (4, 2)
    st = two(1.0)
    st.update(x, d, st.dw_pulse)
    assert st.counters.pcm_sets_per_device.sum() == 0
