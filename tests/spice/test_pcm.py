"""Phase-change-memory compact model and 1T1R cell (netlists/pcm.lib) with the real ngspice.

Physics checked on the four PCM benches (circuits/pcm_*.cir), following the regime of Burr et al.,
IEEE TED 62, 3498 (2015) and Ambrogio et al., Nature 558, 60 (2018):

* RESET (melt-quench): a SET cell (G > 10 uS) is left below 1 uS after one RESET pulse, whose
  peak temperature exceeds the melting temperature (900 K);
* partial SET: over 20 identical pulses from RESET the Monte Carlo mean G rises monotonically from
  < 1 uS to 10-40 uS, with a saturating staircase (mean first step >= 3x the mean last step); each
  SET pulse heats the cell inside the crystallisation window (450 K < T_max < 900 K), not to melt;
* read: a 1 ms read at 0.2 V changes G by < 0.1 %; G(V) of the crystalline device is near-ohmic
  (< 5 % from 0.05 to 0.5 V) while the amorphous one is super-linear (G grows with V);
* drift of the amorphous phase: G(1e4 s)/G(1 s) = (1e4)^-nu within 5 % (nominal device and the
  Monte Carlo mean), nu = the library's default (0.05);
* Monte Carlo: instances differ (spread of the per-pulse step between seeds), the same seed repeats.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from pycosim.characterize.pcm import DRIFT_T_S, fit_drift, staircase
from pycosim.resources import resource_path
from pycosim.spice import run, run_many

STAIR = "circuits/pcm_set_staircase.cir"
RESET = "circuits/pcm_reset.cir"
READ_IV = "circuits/pcm_read_iv.cir"
DRIFT = "circuits/pcm_drift.cir"
SEEDS = list(range(1, 11))           # Monte Carlo instances of the staircase
FEW = [1, 2, 3, 4]                   # Monte Carlo instances of the slower benches
TX, TM = 450.0, 900.0                # K, crystallisation-window lower edge and melting point (pcm.lib defaults)


def _lib_default(name: str) -> float:
    """Default of a pcm_dev parameter, parsed from the .subckt line of netlists/pcm.lib."""
    text = resource_path("netlists/pcm.lib").read_text()
    sub = text[text.index(".subckt pcm_dev"):]
    sub = sub[: sub.index(".param")]
    m = re.search(rf"(?<![\w]){name}=([-+0-9.eE]+)(?![\w.])", sub)
    assert m, f"{name} not found on the pcm_dev .subckt line"
    return float(m.group(1))


@pytest.fixture(scope="module")
def stair_runs():
    """SET staircase: the nominal device (mc=0) first, then seeds SEEDS (mc=1)."""
    jobs = [dict(netlist=STAIR, params={"mc": 0})] + [dict(netlist=STAIR, seed=s) for s in SEEDS]
    return run_many(jobs, workers=2, cache=False)


@pytest.fixture(scope="module")
def reset_runs():
    jobs = [dict(netlist=RESET, params={"mc": 0})] + [dict(netlist=RESET, seed=s) for s in FEW]
    return run_many(jobs, workers=2, cache=False)


@pytest.fixture(scope="module")
def read_runs():
    jobs = [dict(netlist=READ_IV, params={"mc": 0})] + [dict(netlist=READ_IV, seed=s) for s in FEW[:3]]
    return run_many(jobs, workers=2, cache=False)


@pytest.fixture(scope="module")
def drift_runs():
    jobs = [dict(netlist=DRIFT, params={"mc": 0})] + [dict(netlist=DRIFT, seed=s) for s in FEW]
    return run_many(jobs, workers=2, cache=False)


def test_reset_floor(reset_runs):
    """One RESET pulse takes a SET cell (G > 10 uS) below 1 uS, for the nominal and MC devices."""
    for label, r in zip(["nominal"] + [f"seed {s}" for s in FEW], reset_runs):
        m = r.meas
        print(f"RESET {label:>8}: G before {m['g_before']:.2f} uS -> {m['g_reset']:.3f} uS at 1 us, "
              f"{m['g_reset2']:.3f} uS at 10 us; x after {m['x_after']:.2e}; T_max {m['tmax_k']:.0f} K; "
              f"E {m['e_reset']*1e12:.1f} pJ")
        assert m["g_before"] > 10.0
        assert m["g_reset"] < 1.0 and m["g_reset2"] < 1.0
        assert m["g_reset2"] <= m["g_reset"]          # the fresh amorphous plug drifts down
        assert m["x_after"] < 0.01                     # fully amorphised


def test_set_staircase_mean(stair_runs):
    """20 identical partial-SET pulses: mean G monotone from < 1 uS to 10-40 uS, saturating."""
    g = staircase(stair_runs[1:]) * 1e6                # (n_seeds, np+1), uS
    nom = staircase(stair_runs[:1])[0] * 1e6
    mean = g.mean(axis=0)
    steps = np.diff(mean)
    np.set_printoptions(precision=2, linewidth=200)
    print(f"\nMC mean G ({len(SEEDS)} seeds, uS): {mean}")
    print(f"MC mean step (uS): {steps}")
    print(f"first step {steps[0]:.2f} uS, last step {steps[-1]:.3f} uS, ratio {steps[0]/steps[-1]:.1f}; "
          f"final G {g[:, -1].mean():.2f} +- {g[:, -1].std():.2f} uS ({g[:, -1].min():.1f}..{g[:, -1].max():.1f})")
    print(f"nominal G (uS): {nom}")
    assert len(mean) == 21
    assert mean[0] < 1.0
    assert np.all(steps > 0), "mean G must rise with every pulse"
    assert 10.0 <= mean[-1] <= 40.0
    assert steps[0] >= 3.0 * steps[-1]
    assert np.all(np.diff(nom) > 0) and nom[0] < 1.0    # the nominal device too


def test_set_pulse_heats_in_window_reset_melts(stair_runs, reset_runs):
    """Every SET pulse: 450 K < T_max < 900 K (crystallisation window, no melt); RESET: T_max > 900 K."""
    tper, n = 1e-6, 20                                  # bench defaults of pcm_set_staircase.cir
    rows = []
    for r in stair_runs:
        t, tk = np.real(r.axis), np.real(r.v("xcell.xpcm.tk"))
        rows.append([tk[(t > k * tper) & (t <= (k + 1) * tper)].max() for k in range(n)])
    rows = np.array(rows)
    treset = np.array([r.meas["tmax_k"] for r in reset_runs])
    print(f"\nSET pulse T_max: nominal {rows[0, 0]:.0f} K (pulse 1) .. {rows[0, -1]:.0f} K (pulse 20); "
          f"MC {rows[1:].min():.0f}..{rows[1:].max():.0f} K; RESET T_max {treset.min():.0f}..{treset.max():.0f} K")
    assert np.all(rows > TX) and np.all(rows < TM)
    assert np.all(treset > TM)


def test_read_disturb(read_runs):
    """A 1 ms read at 0.2 V changes G by < 0.1 % in all five states (nominal and MC devices)."""
    d = np.array([[r.meas[f"d{k}"] for k in range(5)] for r in read_runs])
    g = np.array([[r.meas[f"g{k}_a"] for k in range(5)] for r in read_runs])
    print(f"\nG at 0.2 V, nominal (x = 0, .25, .5, .75, 1): {np.round(g[0], 3)} uS")
    print(f"read disturb dG/G over 1 ms: nominal {np.array2string(d[0], precision=2)}; "
          f"max |dG/G| over all {np.abs(d).max():.2e}")
    assert np.all(np.isfinite(d))
    assert np.all(np.abs(d) < 1e-3)
    assert np.all(np.diff(g[0]) > 0)                    # nominal: G increases with the crystalline fraction


def test_read_gv(read_runs):
    """G(V) on the up-sweep: amorphous (x=0) super-linear (Poole-Frenkel sinh: G grows with V);
    crystalline (x=1) ohmic apart from Joule self-heating through its 0.1 eV activation (pcm.lib
    header): < 10 % above its low-field value up to the 0.2 V read voltage, rising with V."""
    v = np.round(np.arange(0.05, 0.5001, 0.05), 6)
    ga, gc = [], []
    for label, r in zip(["nominal"] + [f"seed {s}" for s in FEW[:3]], read_runs):
        vmax, tsweep = (float(r.meta["all_params"][k]) for k in ("vmax", "tsweep"))
        t = v / vmax * tsweep                            # the up-sweep crosses V at t = V/vmax*tsweep
        ga.append(np.interp(t, np.real(r.axis), np.real(r.v("g0_us"))))
        gc.append(np.interp(t, np.real(r.axis), np.real(r.v("g4_us"))))
        print(f"\n{label}: V = {v} V\n  G(x=0) = {np.round(ga[-1], 4)} uS (x{ga[-1][-1]/ga[-1][0]:.2f})"
              f"\n  G(x=1) = {np.round(gc[-1], 2)} uS (spread {(gc[-1].max()/gc[-1].min() - 1)*100:.1f} %)")
    ga, gc = np.array(ga), np.array(gc)
    assert np.all(np.diff(ga, axis=1) > 0) and np.all(ga[:, -1] / ga[:, 0] > 1.2)   # super-linear amorphous I-V
    read = int(np.argmin(abs(v - 0.2)))
    assert np.all(gc[:, read] / gc[:, 0] - 1.0 < 0.10)      # near-ohmic crystalline I-V up to the read voltage
    assert np.all(np.diff(gc, axis=1) > 0)                  # self-heating only raises G


def test_drift_power_law(drift_runs):
    """RESET cell: G(1e4 s)/G(1 s) = (1e4)^-nu within 5 %, nominal device and MC mean."""
    nu = _lib_default("nu")                              # 0.05, pcm_dev default
    expect = 1e4 ** -nu
    g = np.array([[r.meas[f"g_{t:g}"] for t in DRIFT_T_S] for r in drift_runs])
    ratio = g[:, -1] / g[:, 0]
    nu_fit, g0 = fit_drift(DRIFT_T_S, g * 1e-6)
    print(f"\nnu (lib default) = {nu}, (1e4)^-nu = {expect:.4f}")
    print(f"nominal: G(1 s) = {g[0, 0]:.4f} uS, G(1e4 s) = {g[0, -1]:.4f} uS, ratio {ratio[0]:.4f}, fitted nu {nu_fit[0]:.4f}")
    print(f"MC seeds {FEW}: ratios {np.round(ratio[1:], 4)}, mean {ratio[1:].mean():.4f}; "
          f"fitted nu {np.round(nu_fit[1:], 4)}")
    assert np.all(np.diff(g, axis=1) < 0)                # G falls monotonically
    assert ratio[0] == pytest.approx(expect, rel=0.05)
    assert ratio[1:].mean() == pytest.approx(expect, rel=0.05)
    assert nu_fit[0] == pytest.approx(nu, rel=0.05)      # a straight line in log-log
    assert np.ptp(nu_fit[1:]) > 0                        # nu varies device to device


def test_monte_carlo_spread_and_reproducibility(stair_runs):
    """Per-pulse steps differ between seeds; the same seed repeats exactly (run twice in one process
    and once in a worker)."""
    g = staircase(stair_runs[1:]) * 1e6
    dg = np.diff(g, axis=1)                             # (n_seeds, 20), uS
    cv = dg.std(axis=0) / dg.mean(axis=0)
    print(f"\nstep spread between seeds: first step {dg[:, 0].mean():.2f} +- {dg[:, 0].std():.2f} uS, "
          f"last {dg[:, -1].mean():.3f} +- {dg[:, -1].std():.3f} uS; CV per pulse {cv.min():.2f}..{cv.max():.2f}")
    assert np.all(dg.std(axis=0) > 0)
    assert np.all(cv > 0.05)
    seed = SEEDS[2]
    a = run(STAIR, seed=seed, cache=False)
    b = run(STAIR, seed=seed, cache=False)
    worker = stair_runs[1 + SEEDS.index(seed)]
    print(f"seed {seed}: G after 20 pulses {a.meas['g_n']:.5f} / {b.meas['g_n']:.5f} uS (two runs in this "
          f"process), {worker.meas['g_n']:.5f} uS (worker)")
    assert a.meas == b.meas
    np.testing.assert_array_equal(a.v("g_us"), b.v("g_us"))
    assert worker.meas == a.meas
