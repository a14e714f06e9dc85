"""The validation's netlist writers (pycosim/validation/netlists), with the real ngspice.

* a 2x2 crossbar written by write_crossbar runs in ngspice; each column pair's integrated output
  difference dV_j = -sum_i W_ij V_read t_i / C_int has the expected sign and magnitude (W_ij from the
  devices read alone);
* Monte Carlo (mc=1): seeded crossbar instances differ, the same seed repeats;
* write_crossbar rejects bad shapes / values with clear messages;
* the writers' levels are the benches' ``.param`` values (circuits/*.cir), not typed twice.
"""

from __future__ import annotations

import numpy as np
import pytest

from pycosim.spice import run_many
from pycosim.validation.netlists import levels, write_crossbar, write_pcm_program

VREAD = 0.1       # V, row read voltage (columns at 0 V) -- the design point of synapse.lib
F = 3.0
VREF_GATE = 0.5   # V, gate voltage of the shared reference FET


# 2x2 crossbar: column 0 holds positive weights, column 1 negative ones (pol mixed)
XCP = np.array([[0.8, 0.1], [0.6, 0.2]])
XCM = np.array([[0.2, 0.7], [0.3, 0.5]])
VC = np.array([[0.65, 0.55], [0.45, 0.60]])
POL = np.array([[1, -1], [1, 1]])
T_READ = np.array([60e-9, 30e-9])   # s, row pulse widths (activations)
CINT = 2e-12


def test_crossbar_2x2_column_differences(synapse_decks):
    text = write_crossbar(XCP, XCM, VC, F=F, pol=POL, t_read_s=T_READ, v_read_V=VREAD, vref_gate_V=VREF_GATE,
                          cint_F=CINT, mc=0)
    states = np.column_stack([XCP.ravel(), XCM.ravel(), VC.ravel()])
    dev, xbar = run_many([dict(netlist=synapse_decks.devices_deck(states)), dict(netlist=text)], workers=2)
    gp, gm, g, gsh = synapse_decks.device_conductances(dev, states.shape[0])
    w = (F * (gp - gm) + POL.ravel() * (g - gsh)).reshape(XCP.shape)   # S, per synapse
    dv_exp = -(T_READ @ w) * VREAD / CINT                                # V, per column
    dv = np.array([xbar.meas[f"dv{j}"] for j in range(XCP.shape[1])])
    rel = dv / dv_exp - 1.0
    print(f"crossbar W = {np.round(w*1e6, 3).tolist()} uS; dV = {np.round(dv*1e3, 3)} mV, "
          f"expected {np.round(dv_exp*1e3, 3)} mV, error {np.round(rel*100, 3)} %, wall {xbar.meta['wall_time_s']:.2f} s")
    assert dv_exp[0] < 0 < dv_exp[1]            # column 0: net positive weights, column 1: net negative
    assert np.all(np.sign(dv) == np.sign(dv_exp))
    assert np.abs(rel).max() < 0.02   # measured ~ -1 %: the integrators' virtual-ground lag
    # every single-ended output moved down (charge in) and stayed inside the rails
    vp = np.array([xbar.meas[f"vp{j}"] for j in range(2)])
    vn = np.array([xbar.meas[f"vn{j}"] for j in range(2)])
    assert np.all((vp < 0) & (vn < 0) & (vp > -1.2) & (vn > -1.2))


@pytest.mark.parametrize("kwargs, match", [
    (dict(xcp=np.zeros(3)), "2-D array"),
    (dict(xcm=np.zeros((3, 2))), "does not broadcast"),
    (dict(xcp=np.full((2, 2), 1.5)), r"xcp must lie in \[0.0, 1.0\]"),
    (dict(vc=np.full((2, 2), np.nan)), "NaN"),
    (dict(pol=0), r"pol must be \+1 or -1"),
    (dict(t_read_s=[1e-8]), r"one duration per row"),
    (dict(t_read_s=[-1e-9, 1e-8]), ">= 0"),
    (dict(v_read_V=0.5), "above 0.3 V"),
    (dict(F=0.0), "F must be"),
])
def test_write_crossbar_validates(kwargs, match):
    args = dict(xcp=np.full((2, 2), 0.5), xcm=np.full((2, 2), 0.5), vc=np.full((2, 2), 0.5), t_read_s=[1e-8, 2e-8])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        write_crossbar(args.pop("xcp"), args.pop("xcm"), args.pop("vc"), **args)


def test_write_crossbar_text_and_file(tmp_path):
    out = tmp_path / "xbar.cir"
    text = write_crossbar(XCP, XCM, VC, pol=-1, t_read_s=[40e-9, 0.0], path=out)
    assert out.read_text() == text
    assert text.count(" synapse F=3 ") == 4 and text.count(" integrator ") == 4
    assert "vrow1 row1 0 0\n" in text            # zero duration: row never pulsed
    assert all(f".meas tran dv{j} " in text for j in range(2))


def test_crossbar_monte_carlo_reproducible():
    """mc=1 (default): device mismatch (PCM, FETs) and integrator offsets make seeded instances differ;
    the same seed repeats exactly; the column signs survive the spread."""
    text = write_crossbar(XCP, XCM, VC, F=F, pol=POL, t_read_s=T_READ, v_read_V=VREAD, cint_F=CINT)
    res = run_many([dict(netlist=text, seed=s) for s in (1, 2, 3, 1)], workers=2, cache=False)
    dv = np.array([[r.meas[f"dv{j}"] for j in range(2)] for r in res])
    print(f"MC crossbar dV (mV) per seed 1,2,3,1: {np.round(dv*1e3, 2).tolist()}")
    np.testing.assert_array_equal(dv[3], dv[0])
    assert np.all(np.ptp(dv[:3], axis=0) > 1e-3)          # > 1 mV spread between instances
    assert np.all(dv[:3, 0] < 0) and np.all(dv[:3, 1] > 0)


def test_levels_are_the_benches_params():
    """Every level the writers use is a ``.param`` of a shipped bench (parsed, SI units)."""
    lsp, pcm = levels.lsp_levels(), levels.pcm_pulses()
    assert (lsp.vdd_V, lsp.vup_on_V, lsp.vdn_on_V, lsp.vup_off_V, lsp.vdn_off_V) == (1.2, 0.81, 0.365, 1.5, -0.3)
    assert (lsp.t_pw_s, lsp.t_rise_s, lsp.v_read_V) == (10e-9, 1e-9, 0.1)
    assert (lsp.reset_on_s, lsp.reset_edge_s, lsp.reset_seg_s) == (100e-9, 10e-9, 300e-9)
    assert (pcm.vset_V, pcm.vg_set_V, pcm.tset_s, pcm.tr_set_s, pcm.vread_V, pcm.tper_s) == (1.6, 1.3, 100e-9, 5e-9, 0.1, 1e-6)
    assert (pcm.vreset_V, pcm.vg_reset_V, pcm.treset_s, pcm.tr_reset_s, pcm.tq_reset_s) == (2.5, 2.5, 50e-9, 2e-9, 2e-9)
    assert levels.bench_params("pcm_set_staircase")["vread"] == pcm.vread_V
    assert "tmx" not in levels.bench_params("pcm_set_staircase")            # an expression: left out
    with pytest.raises(Exception, match="no numeric .param nothere"):
        levels.bench_level("lsp_steps", "nothere")


def test_writers_use_the_bench_levels():
    """The netlist text carries the bench levels: supply and gate-off levels of lsp_steps.cir, the PCM read bias
    of pcm_set_staircase.cir (the default read bias of write_pcm_program, 0.1 V)."""
    lsp, pcm = levels.lsp_levels(), levels.pcm_pulses()
    text = write_crossbar(np.full((1, 1), 0.5), np.full((1, 1), 0.5), np.full((1, 1), 0.5), t_read_s=[1e-8])
    assert f"vsup vdd 0 {lsp.vdd_V:g}\n" in text and f"vupb upb 0 {lsp.vup_off_V:g}\n" in text
    assert f"vdn dn 0 {lsp.vdn_off_V:g}\n" in text and f"pulse(0 {lsp.v_read_V:g} " in text
    from pycosim.validation.netlists import fixed_draw_library

    _, names = fixed_draw_library()
    draws = {n: np.zeros(1) for n in names["pcm_1t1r"]}
    text, _ = write_pcm_program([0.5], 1.0, draws, np.zeros((1, 1), int))
    assert f"vbl0 bl0 0 {pcm.vread_V:g}\n" in text and f"vwl0 wl0 0 {pcm.vg_read_V:g}\n" in text
