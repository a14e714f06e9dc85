"""Hardware-aware training (pycosim.nn.hwa): with every source off it is float training bit for bit; each
source, on alone, changes the forward pass by the amount its bundle-derived table says, and the tables
agree with the array model they are derived from."""

from dataclasses import replace

import numpy as np
import pytest

from pycosim import calibration
from pycosim.array.crossbar import Crossbar
from pycosim.datasets import sources
from pycosim.errors import ConfigError
from pycosim.nn import config as ncfg
from pycosim.nn import hwa, presets, train

N_TRAIN, N_TEST = 400, 200
ALL_OFF = ["hwa.programming=false", "hwa.read_noise=false", "hwa.drift=false", "hwa.periphery=false",
           "hwa.weight_clip=false"]


@pytest.fixture(scope="module")
def tiny():
    d = sources.load("mnist")
    return sources.Dataset(d.x_train[:N_TRAIN], d.y_train[:N_TRAIN], d.x_test[:N_TEST], d.y_test[:N_TEST],
                           d.n_classes, "mnist subset")


@pytest.fixture(scope="module")
def bundle():
    return calibration.load()


def _small(cfg, *extra):
    return ncfg.override(cfg, ["network.hidden=[24]", "training.epochs=2", "hwa.probe_synapses=512", *extra])


def _weights(run):
    tree = train.read_checkpoint(run / train.CHECKPOINT)
    return [l["arrays"]["W"] for l in tree["net"]["layers"]]


def test_all_sources_off_is_float_training_bit_for_bit(tmp_path, tiny):
    f = train.train(_small(presets.get("float")), tmp_path / "float", dataset=tiny, progress=False, plots=False)
    off = _small(presets.get("hwa"), *ALL_OFF)
    assert off.hwa.scheme == "2pcm+3t1c" and not hwa.any_on(off.hwa)
    h = train.train(off, tmp_path / "off", dataset=tiny, progress=False, plots=False)
    assert h["test_accuracy_per_epoch"] == f["test_accuracy_per_epoch"]
    assert h["train_accuracy_per_epoch"] == f["train_accuracy_per_epoch"]
    for a, b in zip(_weights(tmp_path / "float"), _weights(tmp_path / "off")):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    # and with the sources on, the same seed trains a different network
    on = train.train(_small(presets.get("hwa")), tmp_path / "on", dataset=tiny, progress=False, plots=False)
    assert not np.array_equal(_weights(tmp_path / "on")[0], _weights(tmp_path / "float")[0])
    assert on["test_accuracy"] > 0.5 and "hwa" in on


def test_hwa_run_resumes_bit_for_bit(tmp_path, tiny):
    cfg = _small(presets.get("hwa"))
    full = train.train(cfg, tmp_path / "full", dataset=tiny, progress=False, plots=False)
    train.train(ncfg.override(cfg, ["training.epochs=1"]), tmp_path / "part", dataset=tiny, progress=False, plots=False)
    res = train.train(cfg, tmp_path / "part", dataset=tiny, resume=True, progress=False, plots=False)
    assert res["test_accuracy_per_epoch"] == full["test_accuracy_per_epoch"]
    for a, b in zip(_weights(tmp_path / "full"), _weights(tmp_path / "part")):
        assert np.array_equal(a, b)


def test_hwa_needs_a_float_run(bundle):
    cfg = replace(presets.get("ambrogio2018-accel"), hwa=ncfg.HWAConfig(scheme="2pcm+3t1c"))
    with pytest.raises(ConfigError, match="synapse.kind must be 'ideal'"):
        train.build_network(cfg, (16, 8, 10), bundle)
    with pytest.raises(ConfigError, match="hwa.scheme"):
        ncfg.override(presets.get("hwa"), ["hwa.scheme=ideal"])


# ------------------------------------------------------------------ each source alone
N_IN, N_OUT, DRAWS = 120, 40, 4000


def _layer(bundle, only: str, t_eval_s=3600.0, comp="global", **acfg_kw):
    """One HWA layer (N_IN → N_OUT, the first layer's range) with only the source *only* on, its weights
    spread over the range, and the deployment's crossbar configuration."""
    flags = {n: n == only for n in hwa.SOURCES}
    cfg = replace(presets.get("hwa"), hwa=ncfg.HWAConfig(scheme="2pcm+3t1c", t_eval_s=t_eval_s,
                                                         drift_compensation=comp, probe_synapses=1024, **flags))
    acfg = ncfg.array_config(hwa.deployment_config(cfg))
    if acfg_kw:
        acfg = replace(acfg, periphery=replace(acfg.periphery, **acfg_kw))
    rng = np.random.default_rng(5)
    tables = hwa.layer_tables(acfg, bundle, t_eval_s, 1024, rng)
    inner = Crossbar(N_IN, N_OUT, replace(acfg, synapse="ideal"), None, rng=1)
    W = rng.uniform(-0.95, 0.95, (N_IN, N_OUT)).astype(np.float32) * np.float32(tables.w_range)
    inner.set_weights(W)
    layer = hwa.HWALayer(inner, hwa.sources_of(cfg.hwa, tables, N_OUT), tables, np.random.default_rng(9))
    return layer, tables, W, acfg


def _draws(layer, x, n=DRAWS):
    return np.stack([layer.forward(x) for _ in range(n)]).astype(np.float64)


def _x(seed=3):
    r = np.random.default_rng(seed)
    return (r.random(N_IN) * (r.random(N_IN) < 0.5)).astype(np.float32)


def _check_moments(y, mean, var):
    """Sample mean and variance of the draws y (DRAWS, N_OUT) against the expected ones, statistically:
    the mean within 4 standard errors, the variance within 4 standard errors of a Gaussian variance."""
    n = y.shape[0]
    assert np.all(np.abs(y.mean(0) - mean) <= 4 * np.sqrt(var / n) + 1e-6)
    assert np.all(np.abs(y.var(0, ddof=1) / var - 1) <= 4 * np.sqrt(2 / (n - 1)))


def test_programming_alone_adds_the_measured_programming_error(bundle):
    layer, t, W, acfg = _layer(bundle, "programming")
    x = _x()
    k = hwa.grid_index(W, t.w_range)
    mean = x.astype(np.float64) @ (W + t.prog_mean[k].astype(np.float32) * np.sign(W))
    var = (x.astype(np.float64) ** 2) @ (t.prog_sigma[k] ** 2)
    _check_moments(_draws(layer, x), mean, var)
    # the table is what the transfer engine leaves: an independent probe (other devices, other targets)
    from pycosim.deploy import program_fresh

    xb = Crossbar(32, 64, acfg, bundle, rng=77)
    tgt = np.random.default_rng(78).uniform(-0.95, 0.95, (32, 64)).astype(np.float32) * np.float32(t.w_range)
    program_fresh(xb, tgt)
    e = ((xb.weights() - tgt) * np.sign(tgt)).astype(np.float64).ravel()
    a = (np.abs(tgt) / t.w_range).ravel()
    k = hwa.grid_index(tgt, t.w_range).ravel()
    # The programming error is heavy-tailed (kurtosis 12-108: a few devices a closed loop leaves far off), so a
    # standard deviation over the ~256 synapses of a band is no statistic: the band-wise ratio probe/table ranged
    # 0.61-1.97 over probe seeds with one bundle. What is stable (8 probes: 4 seeds x 2 bundles) is the bulk, in
    # units of the table's sigma: 0.65-0.93 of a band within 1 sigma, 0.91-1.00 within 2 sigma (a Gaussian: 0.68,
    # 0.95; a sigma off by 2x gives ~0.38 / ~1.00 or ~0.95 / 0.68), and the pooled ratio below the top quarter
    # (0.98-1.30).
    low = a < 0.75                           # below the top quarter, where devices saturate (heavy tails)
    assert 0.75 < e[low].std(ddof=1) / np.sqrt(np.mean(t.prog_sigma[k[low]] ** 2)) < 1.5
    for lo in np.arange(0, 0.75, 0.125):
        m = (a >= lo) & (a < lo + 0.125)
        sd = np.sqrt(np.mean(t.prog_sigma[k[m]] ** 2))
        z = np.abs(e[m] - t.prog_mean[k[m]]) / t.prog_sigma[k[m]]
        assert 0.55 < np.mean(z < 1) < 0.97 and np.mean(z < 2) > 0.85, lo
        assert abs(e[m].mean() - np.mean(t.prog_mean[k[m]])) < 4 * sd / np.sqrt(m.sum()), lo
    assert t.prog_measured["err_rms"] > 0 and 0.5 < t.prog_measured["frac_within_tol"] <= 1


def test_read_noise_alone_matches_the_array_models_read_noise(bundle):
    layer, t, W, acfg = _layer(bundle, "read_noise", t_eval_s=0.0)
    # small weights in the first half of the columns, large ones in the second: the noise depends on the level
    r = np.random.default_rng(21)
    mag = np.where(np.arange(N_OUT) < N_OUT // 2, r.uniform(0.05, 0.3, (N_IN, N_OUT)), r.uniform(0.6, 0.95, (N_IN, N_OUT)))
    W = (mag * np.where(r.random((N_IN, N_OUT)) < 0.5, -1, 1) * t.w_range).astype(np.float32)
    layer.inner.set_weights(W)
    x = _x()
    k = hwa.grid_index(W, t.w_range)
    var = (x.astype(np.float64) ** 2) @ t.read_var[k]
    y = _draws(layer, x)
    _check_moments(y, x.astype(np.float64) @ W, var)
    # the same weights programmed into the array model (periphery ideal, PCM read noise only) read with the
    # same variance at t = 0: the table is the bundle's read-noise law of the forward window
    quiet = replace(acfg, lsp=replace(acfg.lsp, read_noise=False),
                    periphery=replace(acfg.periphery, input_bits=None, adc_bits=None, integrator_noise=False,
                                      mismatch_scale=0.0, integrator_lag=False))
    xb = Crossbar(N_IN, N_OUT, quiet, bundle, rng=11)
    xb.set_weights(W)
    Wp = xb.weights()
    kp = hwa.grid_index(Wp, t.w_range)
    ya = np.stack([xb.forward(x) for _ in range(DRAWS)]).astype(np.float64)
    ratio = ya.var(0, ddof=1) / ((x.astype(np.float64) ** 2) @ t.read_var[kp])
    # the probe's devices are not these devices: agreement of the typical column within ±15 %, for small
    # and for large weights
    for half in (ratio[:N_OUT // 2], ratio[N_OUT // 2:]):
        assert 0.85 < np.median(half) < 1.15


def test_drift_alone_scales_by_the_bundle_drift_and_spreads_by_its_device_spread(bundle):
    layer, t, W, acfg = _layer(bundle, "drift", comp="none")
    x = _x()
    k = hwa.grid_index(W, t.w_range)
    mean = x.astype(np.float64) @ (W * t.drift_mu[k])
    var = (x.astype(np.float64) ** 2) @ (W.astype(np.float64) ** 2 * t.drift_sd[k] ** 2)
    _check_moments(_draws(layer, x), mean, var)
    # the table is the array model's drift: program, let 1 h pass, compare the weights' mean decay
    quiet = replace(acfg, pcm=replace(acfg.pcm, read_noise=False), lsp=replace(acfg.lsp, read_noise=False, leak=False))
    xb = Crossbar(N_IN, N_OUT, quiet, bundle, rng=12)
    xb.set_weights(W)
    w0 = xb.weights() - xb.lsp_contribution()
    xb.advance(3600.0, hold_lsp=True, settle=True)
    w1 = xb.weights() - xb.lsp_contribution()
    big = np.abs(w0) > 0.2 * t.w_range
    k0 = hwa.grid_index(w0, t.w_range)
    ratio = w1[big] / w0[big]
    assert abs(ratio.mean() / t.drift_mu[k0][big].mean() - 1) < 0.05
    assert 0.6 < ratio.std() / np.sqrt(np.mean(t.drift_sd[k0][big] ** 2)) < 1.6
    # with global compensation only the spread stays: the mean is the undrifted read
    layer, t, W, _ = _layer(bundle, "drift", comp="global")
    k = hwa.grid_index(W, t.w_range)
    al = np.sum(np.abs(W) * t.drift_mu[k]) / np.sum(np.abs(W))
    y = _draws(layer, x)
    _check_moments(y, x.astype(np.float64) @ (W * t.drift_mu[k] / al),
                   (x.astype(np.float64) ** 2) @ (W.astype(np.float64) ** 2 * t.drift_sd[k] ** 2 / al ** 2))


def test_periphery_alone_quantises_by_the_bundles_adc(bundle):
    layer, t, W, acfg = _layer(bundle, "periphery")
    s = bundle.scalars["integrator"]
    pe = acfg.periphery
    # LSB of the ADC in network units from the bundle scalars: rails / levels over the forward gain
    lsb = (s["v_sat_hi_V"] - s["v_sat_lo_V"]) / (2 ** pe.adc_bits - 1) * pe.forward_full_scale / (
        abs(s["gain_V_per_C"]) * s["q_net_fs_C"])
    per = layer.sources[0]
    lo, hi, got = per.adc_range()
    assert got == pytest.approx(lsb, rel=1e-4)
    x = _x()
    y = layer.forward(x)
    xq = np.rint(x * 255) / 255
    exact = xq.astype(np.float64) @ W
    inside = (exact > lo + lsb) & (exact < hi - lsb)
    assert inside.sum() > N_OUT // 2
    assert np.all(np.abs(y[inside] - exact[inside]) <= 0.5 * lsb + 1e-3)
    assert np.array_equal(layer.forward(x), y)                    # deterministic: no noise
    layer.inner.W[:, 0], layer.inner.W[:, 1] = t.w_range, -t.w_range      # column sums ±120 w_r: past the rails
    big = layer.forward(np.ones(N_IN, np.float32))
    assert np.all((big >= lo - 1e-3) & (big <= hi + 1e-3))
    assert big[0] == pytest.approx(hi, abs=lsb) and big[1] == pytest.approx(lo, abs=lsb)


def test_weight_clip_alone_clips_to_the_msp_range(bundle):
    layer, t, W, acfg = _layer(bundle, "weight_clip")
    assert t.w_range == pytest.approx(acfg.weight_max)
    layer.inner.W[0, :] = 3 * t.w_range
    x = np.zeros(N_IN, np.float32)
    x[0] = 1
    assert np.allclose(layer.forward(x), t.w_range)
    layer.update(x, -np.ones(N_OUT, np.float32), 10.0)            # an update past the range is clipped back
    assert np.abs(layer.inner.W).max() <= t.w_range
