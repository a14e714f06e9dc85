"""Phase-change-memory compact model and 1T1R cell (netlists/pcm.lib) with the real ngspice.

Physics checked on the four PCM benches (circuits/pcm_*.cir), following the regime of Burr et al.,
IEEE TED 62, 3498 (2015) and Ambrogio et al., Nature 558, 60 (2018):

* RESET (melt-quench): a SET cell (G > 10 uS) is left below 1 uS after one RESET pulse, whose
  peak temperature exceeds the melting temperature (900 K);
* partial SET: over 20 identical pulses from RESET the Monte Carlo mean G rises monotonically from
  < 1 uS to 10-40 uS, with a saturating staircase (mean first step >= 3x the mean last step); each
  SET pulse heats the cell inside the crystallisation window (450 K < T_max < 900 K), not to melt;
* read: every bench reads at the crossbar read voltage (lsp_read_gv's vread, 0.1 V); a 1 ms read there
  changes G by < 0.1 %; G(V) of the crystalline device is near-ohmic
  (< 5 % from 0.05 to 0.5 V) while the amorphous one is super-linear (G grows with V);
* drift of the RESET (amorphous) level: G(1e4 s)/G(1 s) = (1e4)^-nu within 5 % for the nominal device
  (nu = the library default, 0.1) and within 2 % of each Monte Carlo device's own drawn nu;
* drift of programmed levels (0, 1, 3, 10, 25, 50, 75, 100 % of G_max and the fully crystalline 130 %):
  mean nu within 0.03-0.12 at every level, falling with G, device-to-device sigma_nu >= 0.005 at every
  level (Nandakumar et al., ICECS 2019: mean 0.05-0.1, sigma 0.008-0.045);
* cycle-to-cycle noise belongs to each pulse: the same seed gives the same per-pulse growth whatever
  the pulse period or the largest time step; sigma/mean of one step at 0, ~30 and ~50 % of the range within
  1.5x of the published PCM preset's law 0.6*(|dw| + 0.042 + 0.108*|w|)/dw (Nandakumar et al. 2020, aihwkit
  PCMPresetDevice); negative steps are allowed;
* the array model's SET law (deterministic staircase + per-pulse Gaussian) closes on a fresh SPICE Monte Carlo;
* read noise: relative sigma of one read integrated over 250 ns within a factor 3 of
  0.0088*(G/G_max)^-0.65*sqrt(ln((t + t_read)/(2 t_read))) (Nandakumar et al. 2019) at four levels;
* same seed = same device in every PCM bench;
* Monte Carlo: instances differ (spread of the per-pulse step between seeds), the same seed repeats.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from pycosim import calibration
from pycosim.characterize.pcm import (C2C_LEVELS, C2C_PARAMS, DRIFT_LEVELS, DRIFT_MEAS, DRIFT_T_S,
                                      _drift_params, drift_table, fit_drift, read_noise, staircase)
from pycosim.devices import pcm
from pycosim.resources import resource_path
from pycosim.spice import run, run_many

STAIR = "circuits/pcm_set_staircase.cir"
RESET = "circuits/pcm_reset.cir"
READ_IV = "circuits/pcm_read_iv.cir"
DRIFT = "circuits/pcm_drift.cir"
NOISE = "circuits/pcm_read_noise.cir"
DRIFT_SEEDS = list(range(2018, 2042))  # devices programmed to every drift level: the shipped bundle's first 24
LATE = DRIFT_T_S >= 1.0              # the long-term reads, 1 s ... 1e4 s
PUB = DRIFT_T_S >= 20.0              # the published model's power law starts at t0 = 20 s (aihwkit PCMLikeNoiseModel)


def _mu_nu_pub(g):
    """Mean drift exponent of the published PCM model at g = G/G_max (Nandakumar et al., ICECS 2019; aihwkit)."""
    return np.clip(-0.0155 * np.log(g) + 0.0244, 0.049, 0.1)


def _sigma_nu_pub(g):
    """Device-to-device sigma of the drift exponent of the published PCM model at g = G/G_max."""
    return np.clip(-0.0125 * np.log(g) - 0.0059, 0.008, 0.045)
C2C_SEEDS = list(range(1, 25))       # cycle-to-cycle samples (nominal device)
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
    """RESET level (no SET pulse): the nominal device, then seeds FEW (keeping the drawn nu)."""
    keep = ("g_us", "xcell.xpcm.pnu")
    jobs = [dict(netlist=DRIFT, params={"mc": 0, "lev_on": 0}, keep=keep)]
    jobs += [dict(netlist=DRIFT, seed=s, params={"lev_on": 0}, keep=keep) for s in FEW]
    return run_many(jobs, workers=2, cache=False)


@pytest.fixture(scope="module")
def level_runs():
    """Every drift level: the nominal device (seed None) and DRIFT_SEEDS."""
    jobs = [dict(netlist=DRIFT, params={"mc": 0, **_drift_params(j)}, keep=("g_us",)) for j in range(len(DRIFT_LEVELS))]
    jobs += [dict(netlist=DRIFT, seed=s, params=_drift_params(j), keep=("g_us",))
             for s in DRIFT_SEEDS for j in range(len(DRIFT_LEVELS))]
    return run_many(jobs, workers=2, cache=False)


def _bench_vread(path: str) -> float:
    """Default of .param vread in a bench netlist."""
    m = re.search(r"^\.param vread=([-+0-9.eE]+)", resource_path(path).read_text(), re.M)
    assert m, f"no .param vread in {path}"
    return float(m.group(1))


def test_benches_read_at_the_crossbar_read_voltage():
    """Every PCM bench reads G at the crossbar's read voltage (the 3T1C read bench's vread, which the
    array uses as V_read): the PCM I/V is not ohmic, so a G read elsewhere is not the array's G
    (docs/validation.md, "PCM read voltage")."""
    v_array = _bench_vread("circuits/lsp_read_gv.cir")
    got = {p: _bench_vread(p) for p in (STAIR, RESET, READ_IV, DRIFT, NOISE)}
    print(f"\ncrossbar V_read {v_array} V; PCM benches {got}")
    assert v_array == pytest.approx(0.1)
    assert all(v == v_array for v in got.values())


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
    """20 identical partial-SET pulses: mean G rises from < 1 uS to 10-40 uS, saturating.  The mean of 10 seeds
    rises over every block of 10 pulses (single steps and blocks of 5 need not: with the published additive and slope terms of the
    cycle-to-cycle noise a step's sigma exceeds the mean step above ~30 % of the range); the nominal device
    (mc = 0, no noise) rises with every pulse."""
    g = staircase(stair_runs[1:]) * 1e6                # (n_seeds, np+1), uS
    nom = staircase(stair_runs[:1])[0] * 1e6
    mean = g.mean(axis=0)
    steps = np.diff(mean)
    np.set_printoptions(precision=4, linewidth=200)
    print(f"\nMC mean G ({len(SEEDS)} seeds, uS): {mean}")
    print(f"MC mean step (uS): {steps}")
    print(f"first step {steps[0]:.2f} uS, last step {steps[-1]:.3f} uS, ratio {steps[0]/steps[-1]:.1f}; "
          f"final G {g[:, -1].mean():.2f} +- {g[:, -1].std():.2f} uS ({g[:, -1].min():.1f}..{g[:, -1].max():.1f})")
    print(f"nominal G (uS): {nom}")
    assert len(mean) == 21
    assert mean[0] < 1.0
    assert np.all(np.diff(mean[::10]) > 0), "mean G must rise over every block of 10 pulses"
    assert 10.0 <= mean[-1] <= 40.0
    assert steps[:2].mean() >= 3.0 * steps[-5:].mean()
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
    """A 1 ms read at the bench's read voltage (0.1 V, the crossbar's) changes G by < 0.1 % in all five
    states (nominal and MC devices)."""
    d = np.array([[r.meas[f"d{k}"] for k in range(5)] for r in read_runs])
    g = np.array([[r.meas[f"g{k}_a"] for k in range(5)] for r in read_runs])
    print(f"\nG at {float(read_runs[0].meta['all_params']['vread']):g} V, nominal (x = 0, .25, .5, .75, 1): {np.round(g[0], 3)} uS")
    print(f"read disturb dG/G over 1 ms: nominal {np.array2string(d[0], precision=2)}; "
          f"max |dG/G| over all {np.abs(d).max():.2e}")
    assert np.all(np.isfinite(d))
    assert np.all(np.abs(d) < 1e-3)
    assert np.all(np.diff(g[0]) > 0)                    # nominal: G increases with the crystalline fraction


def test_read_gv(read_runs):
    """G(V) on the up-sweep: amorphous (x=0) super-linear (Poole-Frenkel sinh: G grows with V);
    crystalline (x=1) ohmic apart from Joule self-heating through its 0.1 eV activation (pcm.lib
    header): < 10 % above its low-field value up to the read voltage, rising with V.  (The read
    voltage is now 0.1 V, the crossbar's; the bound is checked there and, as before, at 0.2 V, the
    pre-change read point that the 0.025-0.5 V sweep still covers.)"""
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
    vread = float(read_runs[0].meta["all_params"]["vread"])
    assert vread == pytest.approx(0.1)                       # the crossbar read voltage (lsp_read_gv.cir)
    for v_chk in (vread, 0.2):
        read = int(np.argmin(abs(v - v_chk)))
        assert np.all(gc[:, read] / gc[:, 0] - 1.0 < 0.10)  # near-ohmic crystalline I-V up to the read voltage
    assert np.all(np.diff(gc, axis=1) > 0)                  # self-heating only raises G


def test_drift_power_law(drift_runs):
    """RESET level: G(1e4 s)/G(1 s) = (1e4)^-nu within 5 % for the nominal device (nu = lib default)
    and within 2 % of (1e4)^-nu_i for each MC device with its own drawn nu_i.  (Changed from a
    5 % bound on the MC mean: the device-to-device sigma of nu is now the published 0.025, so the
    mean of 4 devices is not a test of the power law; each device's own nu is.)"""
    nu = _lib_default("nu")                              # 0.1, pcm_dev default
    expect = 1e4 ** -nu
    g = np.array([[r.meas[m] for m, late in zip(DRIFT_MEAS, LATE) if late] for r in drift_runs])
    nu_i = np.array([float(np.real(r.v("xcell.xpcm.pnu"))[-1]) for r in drift_runs])
    ratio = g[:, -1] / g[:, 0]
    nu_fit, g0 = fit_drift(DRIFT_T_S[LATE], g * 1e-6)
    print(f"\nnu (lib default) = {nu}, (1e4)^-nu = {expect:.4f}")
    print(f"nominal: G(1 s) = {g[0, 0]:.4f} uS, G(1e4 s) = {g[0, -1]:.4f} uS, ratio {ratio[0]:.4f}, fitted nu {nu_fit[0]:.4f}")
    print(f"MC seeds {FEW}: drawn nu {np.round(nu_i[1:], 4)}; ratios {np.round(ratio[1:], 4)} "
          f"vs (1e4)^-nu_i {np.round(1e4 ** -nu_i[1:], 4)}; fitted nu {np.round(nu_fit[1:], 4)}")
    assert np.all(np.diff(g, axis=1) < 0)                # G falls monotonically
    assert ratio[0] == pytest.approx(expect, rel=0.05)
    np.testing.assert_allclose(ratio[1:], 1e4 ** -nu_i[1:], rtol=0.02)
    assert nu_fit[0] == pytest.approx(nu, rel=0.05)      # a straight line in log-log
    assert np.ptp(nu_fit[1:]) > 0                        # nu varies device to device


def test_drift_of_programmed_levels(level_runs):
    """Levels at 0, 1, 3, 10, 25, 50, 75, 100 % of G_max and the fully crystalline 130 % level (100 µs pulse):
    every level drifts down at every read (10 µs ... 1e4 s after programming), the levels are ordered, and the
    nominal device, for which the pulse widths were chosen, lands within 30 % (relative) of every target fraction
    (G(1 s) over that of the 100 % level, the 5 µs pulse, so the fully crystalline level sits near 1.3). The
    fractions are labels: the widths were chosen for the previous drift law (15 %); with the barrier's exponent
    following the published nu(G) (schema 4) G(1 s) of the nominal 1 % level reads 0.73 % and the 25 % level 29 %.
    The comparisons with the published model use each level's measured G."""
    nominal = level_runs[:len(DRIFT_LEVELS)]
    g_nom = np.array([[r.meas[m] for m in DRIFT_MEAS] for r in nominal]) * 1e-6
    i1 = int(np.flatnonzero(DRIFT_T_S == 1.0)[0])
    seeds, g, g_prog = drift_table(level_runs[len(DRIFT_LEVELS):])
    n, nl, nt = g.shape
    top = int(np.flatnonzero(DRIFT_LEVELS == 1.0)[0])     # the 100 % level
    frac = g[:, :, i1].mean(axis=0) / g[:, top, i1].mean()
    print(f"\nlevels (target fraction of G_max): {DRIFT_LEVELS}")
    print(f"nominal: G(1 s) {np.round(g_nom[:, i1] * 1e6, 3)} uS (fraction {np.round(g_nom[:, i1] / g_nom[top, i1], 3)})")
    print(f"MC ({n} devices): mean G(1 s) {np.round(g[:, :, i1].mean(axis=0) * 1e6, 3)} uS (fraction {np.round(frac, 3)})")
    assert n == len(DRIFT_SEEDS) and nl == len(DRIFT_LEVELS)
    assert np.all(np.diff(np.concatenate([g_prog[..., None], g], axis=2), axis=2) < 0)   # every level drifts down
    assert np.all(np.diff(g[:, :, i1].mean(axis=0)) > 0)     # the levels are ordered
    np.testing.assert_allclose(frac[1:], DRIFT_LEVELS[1:], atol=0.12)
    np.testing.assert_allclose((g_nom[:, i1] / g_nom[top, i1])[1:], DRIFT_LEVELS[1:], rtol=0.3)


def test_drift_exponent_vs_published(level_runs):
    """The drift exponent nu of every level, fitted from 20 s on (the published model's t0) over 30 s ... 1e4 s,
    against the published statistical PCM model (Nandakumar et al., ICECS 2019; aihwkit PCMLikeNoiseModel:
    mu = clip(-0.0155 ln g + 0.0244, 0.049, 0.1), sigma = clip(-0.0125 ln g - 0.0059, 0.008, 0.045)), g = the
    level's median G(1 s) over the shipped bundle's mean G_max: per level the mean within 0.01 of mu and the
    device-to-device sigma within 2x of sigma (the previous model had sigma 0.026-0.028 at every level, 3x the
    published 0.008 above 25 % of G_max, and a mean 0.025 low at the 1 % level).  The statistics use the shipped
    bundle's 100 devices (a 24-device mean has a standard error of 0.012 at the 1 % level, where sigma = 0.045);
    the 24 devices simulated here (seeds 2018-2041) must reproduce the bundle's rows, so those are this circuit's."""
    b = calibration.load()
    seeds, g, g_prog = drift_table(level_runs[len(DRIFT_LEVELS):])
    rows = np.asarray(seeds) - b.provenance["seed"]
    np.testing.assert_allclose(g, b["pcm/drift_g_S"][rows], rtol=1e-3)            # fresh runs = bundle rows
    i1 = int(np.flatnonzero(DRIFT_T_S == 1.0)[0])
    g_max = b.scalars["pcm"]["g_max_mean_S"]

    def stats(gg):
        n, nl, _ = gg.shape
        nu = fit_drift(DRIFT_T_S[PUB], gg[..., PUB].reshape(n * nl, -1))[0].reshape(n, nl)
        gt = np.median(gg[:, :, i1], axis=0) / g_max
        return gt, nu.mean(axis=0), nu.std(axis=0)

    gt, mu, sd = stats(b["pcm/drift_g_S"])
    gt24, mu24, sd24 = stats(g)
    mu_p, sd_p = _mu_nu_pub(gt), _sigma_nu_pub(gt)
    print(f"\nlevel  G/G_max  nu mean (published)  sigma (published)   [{b['pcm/drift_g_S'].shape[0]} bundle devices; "
          f"the {len(seeds)} simulated here: mean, sigma]")
    for j in range(len(DRIFT_LEVELS)):
        print(f"{DRIFT_LEVELS[j]:5.2f}  {gt[j]:7.4f}  {mu[j]:.4f} ({mu_p[j]:.4f})  {sd[j]:.4f} ({sd_p[j]:.4f})   "
              f"[{mu24[j]:.4f}, {sd24[j]:.4f}]")
    assert np.all(np.abs(mu - mu_p) <= 0.01)
    assert np.all((sd >= 0.5 * sd_p) & (sd <= 2 * sd_p))
    assert np.all((sd24 >= 0.5 * _sigma_nu_pub(gt24)) & (sd24 <= 2 * _sigma_nu_pub(gt24)))


def test_array_drift_follows_the_bench_between_stored_reads(level_runs):
    """The array model (pycosim.devices.pcm.drift on the shipped bundle) against fresh SPICE reads of the same
    devices (seeds 2018... = bundle rows 0...) at ages the bundle does not store (30 us, 14.3 ms, 0.2 s), at
    every level: within 3 %.  At 14.3 ms the ratio G(14.3 ms)/G(7 us) of the array model and of SPICE agree
    (the single power law per level the model replaces gave 0.835 against SPICE's 0.86 at full SET)."""
    b = calibration.load()
    p = pcm.population(b)
    runs = level_runs[len(DRIFT_LEVELS):]
    rows = np.array([r.meta["seed"] - b.provenance["seed"] for r in runs])
    lev = np.tile(np.arange(len(DRIFT_LEVELS)), len(DRIFT_SEEDS))       # level_runs: seed-major, level-minor
    gp = np.array([r.meas["g_prog"] for r in runs]) * 1e-6
    np.testing.assert_allclose(gp, b["pcm/drift_g_prog_S"][rows, lev], rtol=1e-3)   # the same devices
    worst = {}
    for name, t in (("gx_30u", 3e-5), ("gx_14m3", 1.43e-2), ("gx_0p2", 0.2)):
        spice = np.array([r.meas[name] for r in runs]) * 1e-6
        model = pcm.drift(gp.astype(np.float32), t, rows, p)
        err = np.abs(model / spice - 1)
        worst[name] = err.max()
        assert np.all(err < 0.03), name
    r14 = {}
    for j in (5, 7, 8):
        m = lev == j
        spice = np.array([r.meas["gx_14m3"] for r in runs])[m] * 1e-6 / gp[m]
        model = pcm.drift(gp[m].astype(np.float32), 1.43e-2, rows[m], p) / gp[m]
        r14[j] = (model.mean(), spice.mean())
    print("\nmax |array/SPICE - 1| off the stored reads: " + ", ".join(f"{k} {v:.2%}" for k, v in worst.items()))
    print("G(14.3 ms)/G(7 us) array vs SPICE: " + ", ".join(
        f"level {DRIFT_LEVELS[j]:g}: {a:.4f} vs {s_:.4f}" for j, (a, s_) in r14.items()))


def test_drift_characterisation_steps_read_like_a_fine_step_run():
    """The characterisation's pcm_drift runs (accelerated clock from 0.2 us after the pulse, kclk*tmx = 0.4, 400 ns
    steps through the 100 us pulse; reads interpolating ln G in ln t_a) against the same devices at the bench's
    defaults with a 5 ns step, 50 ns for the 100 us pulse (clock from 7 us, or 5 us after the pulse, at kclk = 1e6:
    0.005 or 0.05 of an e-fold per step): every read, G_prog
    included, within 1e-3 (measured: 3.7e-4 over 9 levels x 4 devices)."""
    from pycosim.characterize.pcm import DRIFT_KCLK_TMX, DRIFT_SET_WIDTHS_S, DRIFT_TP_AFTER_S

    levels = (0, 2, 5, 8)
    for j in levels:
        p = _drift_params(j)
        assert p["kclk"] * p["tmx"] == pytest.approx(DRIFT_KCLK_TMX)
        end = 1e-6 + 2 * 5e-9 + (DRIFT_SET_WIDTHS_S[j] or -2 * 5e-9 - 1e-6)
        assert p["tp"] == pytest.approx(end + DRIFT_TP_AFTER_S)
    # the reference: the bench's default clock (from tp = 7 us, or 5 us after a pulse that ends later)
    fine = {j: {**{k: v for k, v in _drift_params(j).items() if k not in ("tp", "kclk", "tmx")},
                "tp": max(7e-6, _drift_params(j)["tp"] - DRIFT_TP_AFTER_S + 5e-6), "tmx": 5e-9 if j != 8 else 50e-9}
            for j in levels}
    jobs = [dict(netlist=DRIFT, seed=2018, params=_drift_params(j), keep=("g_us",)) for j in levels]
    jobs += [dict(netlist=DRIFT, seed=2018, params=fine[j], keep=("g_us",)) for j in levels]
    res = run_many(jobs, workers=2, cache=False)
    fast, ref = res[:len(levels)], res[len(levels):]
    names = DRIFT_MEAS + ("g_prog",)
    err = np.array([[f.meas[m] / r.meas[m] - 1 for m in names] for f, r in zip(fast, ref)])
    assert np.all(np.isfinite(err)) and np.abs(err).max() < 1e-3, np.abs(err).max(axis=1)
    # fewer time steps than the reference by far (the point of the settings)
    assert all(len(f.axis) < len(r.axis) / 4 for f, r in zip(fast, ref))


def _x_steps(res, n):
    """Crystalline-fraction growth of each pulse, sampled at j*tper (state variable, read-free)."""
    tper = float(res.meta["all_params"]["tper"])
    x = np.interp(np.arange(n + 1) * tper, np.real(res.axis), np.real(res.v("xcell.xpcm.xc")))
    return np.diff(x)


def test_c2c_noise_belongs_to_each_pulse():
    """Nominal device (md2d=0), 3 pulses from x=0.3: the per-pulse growth of a seed is the same
    whatever the pulse period (1 us or 2.5 us) and largest time step (tper/4 or 20 ns): the
    draw belongs to the pulse, not to simulated time; the c2c statistics agree."""
    seeds = C2C_SEEDS[:12]
    settings = [{}, {"tper": 2.5e-6, "tmx": 20e-9}]
    jobs = [dict(netlist=STAIR, seed=s, params={**C2C_PARAMS, "np": 3, **st}, keep=("g_us", "xcell.xpcm.xc"))
            for st in settings for s in seeds]
    res = run_many(jobs, workers=2, cache=False)
    dx = np.array([_x_steps(r, 3) for r in res]).reshape(len(settings), len(seeds), 3)
    cv = dx.std(axis=1) / dx.mean(axis=1)
    print(f"\nper-pulse growth dx, seeds {seeds[:4]}: tper 1 us {np.round(dx[0, :4, 1], 4)}; "
          f"tper 2.5 us, tmax 20 ns {np.round(dx[1, :4, 1], 4)}")
    print(f"sigma/mean of dx per pulse: {np.round(cv[0], 3)} vs {np.round(cv[1], 3)}; "
          f"max |relative difference| per pulse {np.max(np.abs(dx[1] / dx[0] - 1)):.3f}")
    np.testing.assert_allclose(dx[1], dx[0], rtol=0.05, atol=1e-3)
    np.testing.assert_allclose(cv[1], cv[0], rtol=0.1)


def test_c2c_step_vs_published_preset():
    """Cycle-to-cycle sigma/mean of one SET step of the nominal device (48 seeds) at 0, ~25 and ~50 % of its range
    (the first pulse from RESET; the second pulse from x = 0.12 and x = 0.48, so the drift recovery of the first
    pulse is not in the step) within 1.5x of the published PCM preset's law sigma = 0.6*(|dw| + 0.042 + 0.108*|w|)
    (aihwkit PCMPresetDevice, after Nandakumar et al., Front. Neurosci. 14, 406 (2020)), evaluated at the device's
    OWN mean step dw and level w, in units of its range: G_sat, the nominal device's fully crystalline G read as the
    steps are, 0.5 us after a pulse (the preset's mean step belongs to the preset's device; pycosim's step is set by
    the circuit and its pulse).  Without the additive and slope terms (c2a = c2s = 0, planted) the ~50 % point
    falls below 0.67x."""
    sat = staircase([run(STAIR, params={"mc": 0, "xc0": 1, "np": 1}, cache=False)])[0, 1]
    seeds = list(range(1, 49))
    out = []
    for x0, k in C2C_LEVELS:
        res = run_many([dict(netlist=STAIR, seed=s, params={"md2d": 0, "xc0": x0, "np": k + 1}, keep=("g_us",))
                        for s in seeds], workers=2, cache=False)
        st = staircase(res)
        dg = st[:, k + 1] - st[:, k]
        w, dw = st[:, k].mean() / sat, dg.mean() / sat
        rel, law = dg.std(ddof=1) / dg.mean(), 0.6 * (abs(dw) + 0.042 + 0.108 * w) / dw
        out.append((w, dw, rel, law, np.mean(dg < 0)))
    print(f"\nG_sat {sat * 1e6:.2f} uS; w (G/G_sat)  mean step (range)  sigma/mean  published law  ratio  negative")
    for w, dw, rel, law, neg in out:
        print(f"{w:18.3f}  {dw:17.4f}  {rel:10.3f}  {law:13.3f}  {rel / law:5.2f}  {neg:8.2f}")
    w = np.array([o[0] for o in out])
    assert w[0] < 0.02 and 0.18 < w[1] < 0.32 and 0.42 < w[2] < 0.6
    ratio = np.array([o[2] / o[3] for o in out])
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5))


FRESH_SEEDS = list(range(5000, 5024))  # devices the shipped bundle has not seen


def test_array_set_law_closes_on_fresh_spice():
    """The array model's cycle-to-cycle law, fitted at characterisation (pcm/c2c_law: sigma = c*m_k(G) + a*G_sat,k +
    b*G), on 24 devices it was not fitted to (seeds 5000-5023): each fresh device's own deterministic staircase
    (mc2c = 0, 60 pulses) and saturation give its m_k and G_sat,k, the bundle's (c, a, b) its noise; 20 replays of its
    20 pulses from RESET against its one SPICE staircase with cycle-to-cycle noise.  Matching the devices removes the
    device-to-device sampling (24 fresh devices differ from the bundle's 100: their mean G after 20 pulses is printed),
    so what is left is the c2c law and one SPICE realisation of it on 24 devices: mean G within 2.5 standard errors
    of that realisation (its c2c spread over sqrt(24), 3-6 %) and spread across devices within 30 % at pulses 5, 10,
    15, 20; sigma of the step per bin of G/G_sat (>= 40 SPICE steps) within 20 %; the fraction of devices that reach
    0.95 G_sat within the 20 pulses within 2.5 binomial standard errors (≈ 0.23)."""
    import dataclasses

    jobs = [dict(netlist=STAIR, seed=s, keep=("g_us",)) for s in FRESH_SEEDS]
    jobs += [dict(netlist=STAIR, seed=s, params={"mc2c": 0, "np": 60}, keep=("g_us",)) for s in FRESH_SEEDS]
    jobs += [dict(netlist=STAIR, seed=s, params={"mc2c": 0, "xc0": 1, "np": 1}, keep=("g_us",)) for s in FRESH_SEEDS]
    res = run_many(jobs, workers=2, cache=False)
    n = len(FRESH_SEEDS)
    sp, clean, sat = staircase(res[:n]), staircase(res[n:2 * n]), staircase(res[2 * n:])[:, 1]
    b = calibration.load()
    pop = pcm.population(b, drift=False, read_noise=False)
    fresh = dataclasses.replace(
        pop, clean_g_S=np.minimum(np.maximum.accumulate(clean, axis=1), sat[:, None]).astype(np.float32),
        g_sat_S=sat.astype(np.float32), g_reset_S=sp[:, 0].astype(np.float32))
    reps = 20
    inst = np.tile(np.arange(n), reps)
    rng = np.random.default_rng(5000)
    g, c = sp[inst, 0].astype(np.float32), np.zeros(inst.size, np.int32)
    tr = [g]
    for _ in range(sp.shape[1] - 1):
        g, c = pcm.set_pulses(g, 1, inst, fresh, rng, since=c)
        tr.append(g)
    ar = np.array(tr).T
    cols = [5, 10, 15, 20]
    em = ar.mean(0)[cols] / sp.mean(0)[cols] - 1
    es = ar.std(0)[cols] / sp.std(0)[cols] - 1
    print(f"\nc2c law (c, a, b) = {np.round(pop.c2c_law, 4)}; fresh devices' mean G after 20 pulses "
          f"{sp[:, -1].mean() * 1e6:.2f} uS (bundle's 100: {b['pcm/staircase_g_S'][:, -1].mean() * 1e6:.2f} uS)")
    print(f"mean G at pulses {cols}: SPICE {np.round(sp.mean(0)[cols] * 1e6, 2)} uS, array "
          f"{np.round(ar.mean(0)[cols] * 1e6, 2)} uS (err {np.round(em, 3)}); spread err {np.round(es, 3)}")
    edges = np.array([0.0, 0.15, 0.4, 0.6, 0.8, 1.01])

    def by_bin(st, gs):
        u = (st[:, :-1] / gs[:, None]).ravel()
        dg = np.diff(st, axis=1).ravel()
        k = np.clip(np.digitize(u, edges) - 1, 0, len(edges) - 2)
        cnt = np.bincount(k, minlength=len(edges) - 1)
        return (np.array([dg[k == j].mean() if cnt[j] > 1 else np.nan for j in range(len(edges) - 1)]),
                np.array([dg[k == j].std() if cnt[j] > 1 else np.nan for j in range(len(edges) - 1)]), cnt)

    m_s, s_s, n_s = by_bin(sp, sat)
    m_a, s_a, _ = by_bin(ar, sat[inst])
    ok = n_s >= 40
    print(f"per bin of G/G_sat {edges}: n {n_s}; mean step SPICE {np.round(m_s * 1e6, 2)}, array "
          f"{np.round(m_a * 1e6, 2)} uS; sigma SPICE {np.round(s_s * 1e6, 2)}, array {np.round(s_a * 1e6, 2)} uS; "
          f"sigma/mean SPICE {np.round(s_s / m_s, 2)}, array {np.round(s_a / m_a, 2)}")
    f_s = np.mean((sp[:, 1:] >= 0.95 * sat[:, None]).any(axis=1))
    f_a = np.mean((ar[:, 1:] >= 0.95 * sat[inst][:, None]).any(axis=1))
    print(f"reach 0.95 G_sat within 20 pulses: SPICE {f_s:.2f}, array {f_a:.2f}")
    # the SPICE side is one c2c realisation of 24 devices: its standard errors, from the array's own realisations of
    # the same devices (the c2c spread of each device's G at a pulse) and the binomial error of a 24-device fraction
    sd_c2c = np.sqrt((ar.reshape(reps, n, -1).std(axis=0) ** 2).mean(axis=0))[cols]
    se_m = sd_c2c / np.sqrt(n) / sp.mean(0)[cols]
    se_f = np.sqrt(max(f_a * (1 - f_a), 0.05) / n)
    print(f"standard error of the 24-device SPICE mean (c2c only): {np.round(se_m, 3)}; of the fraction {se_f:.2f}")
    assert np.all(np.abs(em) < 2.5 * se_m) and np.all(np.abs(es) < 0.30)
    assert np.all(np.abs(s_a[ok] / s_s[ok] - 1) < 0.20)
    assert abs(f_a - f_s) < 2.5 * se_f


def test_read_noise_vs_published():
    """Relative sigma of one read (charge integrated over t_int = 250 ns, 10 us record) at four levels within
    1.5x of Nandakumar et al. (2019): 0.0088*(G/G_max)^-0.65*sqrt(ln((t+t_r)/(2 t_r))), t = the record, G_max =
    the shipped bundle's mean G_max (21.0 uS; the previous test normalised by the 100 % level's 16.5 uS, which
    flattered the low levels).  The filament's relative noise follows x^-0.65 (pcm.lib aq); with Hooge's
    x^-0.5 the lowest level was 0.56x of the published value."""
    keep = ("v1#branch", "v2#branch", "v3#branch", "v4#branch")
    res = run_many([dict(netlist=NOISE, seed=s, keep=keep) for s in range(1, 9)] + [dict(netlist=NOISE, seed=1, keep=keep)],
                   workers=2, cache=False)
    np.testing.assert_array_equal(res[-1].vectors["v1#branch"], res[0].vectors["v1#branch"])   # a seed repeats
    res = res[:-1]
    g, rel, t_int = read_noise(res)
    t_rec = float(res[0].meta["all_params"]["tstop"])
    g_max = calibration.load().scalars["pcm"]["g_max_mean_S"]
    pub = 0.0088 * (g / g_max) ** -0.65 * np.sqrt(np.log((t_rec + t_int) / (2 * t_int)))
    print(f"\nG {np.round(g * 1e6, 3)} uS (G/G_max {np.round(g / g_max, 3)}, G_max {g_max * 1e6:.2f} uS), "
          f"t_int {t_int * 1e9:.0f} ns, record {t_rec * 1e6:.0f} us")
    print(f"sigma/G measured {np.round(rel, 4)}; published {np.round(pub, 4)}; ratio {np.round(rel / pub, 2)}")
    assert np.all((rel / pub > 1 / 1.5) & (rel / pub < 1.5))
    assert rel[0] > rel[1] > rel[2] > rel[3]              # relatively noisier at low G


def test_same_seed_same_device(stair_runs, read_runs, drift_runs):
    """Seed k is one device in every PCM bench: the RESET-state G at 1 s of the staircase (before any
    pulse), of the read bench (x = 0 device on the up-sweep at vread = 0.1 V) and of the drift bench (level 0)
    agree to 0.5 % for the same seed; different seeds differ."""
    a = np.array([stair_runs[1 + SEEDS.index(s)].meas["g_0"] for s in FEW[:3]])
    b = np.array([read_runs[1 + k].meas["g0_a"] for k in range(3)])
    c = np.array([drift_runs[1 + k].meas["g_1"] for k in range(3)])
    print(f"\nRESET G at 1 s, seeds {FEW[:3]}: staircase {np.round(a, 5)}, read_iv {np.round(b, 5)}, drift {np.round(c, 5)} uS")
    np.testing.assert_allclose(b, a, rtol=5e-3)
    np.testing.assert_allclose(c, a, rtol=5e-3)
    assert np.ptp(a) / a.mean() > 0.05


def test_monte_carlo_spread_and_reproducibility(stair_runs):
    """Per-pulse steps differ between seeds; the same seed repeats exactly (run twice in one process
    and once in a worker)."""
    g = staircase(stair_runs[1:]) * 1e6
    dg = np.diff(g, axis=1)                             # (n_seeds, 20), uS
    cv = dg.std(axis=0) / dg.mean(axis=0)
    print(f"\nstep spread between seeds: first step {dg[:, 0].mean():.2f} +- {dg[:, 0].std():.2f} uS, "
          f"last {dg[:, -1].mean():.3f} +- {dg[:, -1].std():.3f} uS; CV per pulse {cv.min():.2f}..{cv.max():.2f}")
    assert np.all(dg.std(axis=0) > 0)
    assert np.all(np.abs(cv) > 0.05)
    seed = SEEDS[2]
    a = run(STAIR, seed=seed, cache=False)
    b = run(STAIR, seed=seed, cache=False)
    worker = stair_runs[1 + SEEDS.index(seed)]
    print(f"seed {seed}: G after 20 pulses {a.meas['g_n']:.5f} / {b.meas['g_n']:.5f} uS (two runs in this "
          f"process), {worker.meas['g_n']:.5f} uS (worker)")
    assert a.meas == b.meas
    np.testing.assert_array_equal(a.v("g_us"), b.v("g_us"))
    assert worker.meas == a.meas
