"""Measured device data → calibration bundle: bad data gives one-line errors and writes nothing, warnings name
their consequence, the msp and lsp roles give bundles the array trains on, the SPICE round trip is exact where it
must be, calibration diff reports what changed."""

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from pycosim import calibration
from pycosim.characterize.pcm import fit_staircases
from pycosim.cli import main
from pycosim.errors import CalibrationError
from pycosim.measured import DataWarning, calibrate_data, export_pulses

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data"
HEADER = "device,pulse,direction,G_S\n"


def _stairs(n_dev=12, n_pulses=12, seed=0) -> str:
    """A small valid msp CSV: per device a saturating SET staircase and one RESET."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_dev):
        g, gmax = 0.1e-6, 20e-6 * (1 + 0.1 * rng.standard_normal())
        rows.append(f"d{d},0,set,{g:.6e}")
        for j in range(1, n_pulses + 1):
            g = min(g + 3e-6 * np.exp(-g / 6e-6) * (1 + 0.3 * rng.standard_normal()), gmax)
            rows.append(f"d{d},{j},set,{max(g, 0):.6e}")
        rows += [f"d{d},0,reset,{g:.6e}", f"d{d},1,reset,{0.1e-6 * (1 + 0.1 * rng.random()):.6e}"]
    return HEADER + "\n".join(rows) + "\n"


def lsp_csv(n_dev=10, n_pulses=30, cycles=2, seed=1) -> str:
    """A bidirectional soft-bounds device (ECRAM-like, SYNTHETIC for the tests): G in [G_lo, G_hi] per device,
    ΔG_up = a·(G_hi − G)/(G_hi − G_lo)·(1 + 0.2ξ), ΔG_down = −b·(G − G_lo)/(G_hi − G_lo)·(1 + 0.2ξ), a ≈ 0.6 µS,
    b ≈ 0.45 µS; each cycle n_pulses up from G_lo then n_pulses down."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_dev):
        lo, hi = 1e-6 * (1 + 0.1 * rng.random()), 10e-6 * (1 + 0.1 * rng.standard_normal())
        a, b = 0.6e-6 * (1 + 0.1 * rng.standard_normal()), 0.45e-6 * (1 + 0.1 * rng.standard_normal())
        g = lo
        for _ in range(cycles):
            for direction in ("up", "down"):
                rows.append(f"e{d},0,{direction},{g:.6e}")
                for j in range(1, n_pulses + 1):
                    x = (g - lo) / (hi - lo)
                    step = a * (1 - x) if direction == "up" else -b * x
                    g = float(np.clip(g + step * (1 + 0.2 * rng.standard_normal()), lo, hi))
                    rows.append(f"e{d},{j},{direction},{g:.6e}")
    return HEADER + "\n".join(rows) + "\n"


def _write(tmp_path, text, name="pulses.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ------------------------------------------------------------------ bad data: one error per class, nothing written
BAD = {
    "missing column": ("device,pulse,G_S\nd0,0,1e-6\nd0,1,2e-6\n", "line 1: missing column(s) direction"),
    "unknown direction": (HEADER + "d0,0,up,1e-6\nd0,1,sideways,2e-6\n", "line 3: unknown direction 'sideways'"),
    "non-numeric": (HEADER + "d0,0,up,1e-6\nd0,1,up,two\n", "line 3: G_S 'two' is not a number"),
    "negative G": (HEADER + "d0,0,up,1e-6\nd0,1,up,-2e-6\n", "line 3: G_S '-2e-6' is not a conductance"),
    "NaN G": (HEADER + "d0,0,up,1e-6\nd0,1,up,nan\n", "line 3: G_S 'nan' is not a conductance"),
    "gap": (HEADER + "d0,0,up,1e-6\nd0,1,up,2e-6\nd0,3,up,3e-6\n", "line 4: the sequence of device 'd0' (up) skips "
            "from pulse 1 to 3"),
    "repeated pulse": (HEADER + "d0,0,up,1e-6\nd0,1,up,2e-6\nd0,1,up,3e-6\n", "line 4: the sequence of device 'd0' "
                       "(up) repeats pulse 1"),
    "not starting at 0": (HEADER + "d0,0,up,1e-6\nd0,1,up,2e-6\nd1,2,up,3e-6\nd1,3,up,4e-6\n",
                          "line 4: a sequence of device 'd1' (up) starts at pulse 2"),
    "single read per device": (HEADER + "d0,0,up,1e-6\nd0,1,up,2e-6\nd1,0,up,3e-6\n",
                               "line 4: device 'd1' has a single read"),
    "single-read sequence": (HEADER + "d0,0,up,1e-6\nd0,1,up,2e-6\nd0,0,down,2e-6\n",
                             "line 4: a sequence of device 'd0' (down) has a single read"),
    "empty file": ("", "empty file"),
    "header only": (HEADER, "no data rows after the header"),
    "fractional pulse": (HEADER + "d0,0,up,1e-6\nd0,1.5,up,2e-6\n", "line 3: pulse '1.5' is not a pulse number"),
    "short row": (HEADER + "d0,0,up,1e-6\nd0,1,up\n", "line 3: 3 field(s), the header has 4"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_pulse_data_is_one_line_naming_file_and_line_and_writes_nothing(tmp_path, case):
    text, words = BAD[case]
    p = _write(tmp_path, text)
    out = tmp_path / "cal"
    with pytest.raises(CalibrationError) as e:
        calibrate_data(p, "msp", out, plots=tmp_path / "plots")
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and words in msg, msg
    assert not out.exists() and sorted(x.name for x in tmp_path.iterdir()) == ["pulses.csv"]


def test_cli_bad_data_one_line_exit_2(tmp_path, capsys):
    p = _write(tmp_path, BAD["gap"][0])
    assert main(["calibrate-data", str(p), "--role", "msp", "--out", str(tmp_path / "cal")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("pycosim: error:") and "line 4" in err
    assert not (tmp_path / "cal").exists()


@pytest.mark.parametrize("text, words", [
    ("device,t_s,G_S\na,20,1e-6\na,200,0.9e-6\nb,20,2e-6\n", "line 4: device 'b' has a single drift read"),
    ("device,t_s,G_S\na,20,1e-6\na,200,0.9e-6\nb,20,2e-6\nb,300,1.9e-6\n", "every device must be read at the same times"),
    ("device,t_s,G_S\na,0,1e-6\na,200,0.9e-6\n", "line 2: t_s '0' is not a time after programming"),
    ("device,t_s,G_S\na,20,1e-6\na,20,0.9e-6\n", "is read twice at t_s = 20 s"),
])
def test_bad_drift_data(tmp_path, text, words):
    p = _write(tmp_path, _stairs())
    d = _write(tmp_path, text, "drift.csv")
    with pytest.raises(CalibrationError, match="drift.csv") as e:
        calibrate_data(p, "msp", tmp_path / "cal", drift=d)
    assert words in str(e.value) and not (tmp_path / "cal").exists()


def test_bad_noise_data(tmp_path):
    p = _write(tmp_path, _stairs())
    n = _write(tmp_path, "device,G_S\na,1e-6\na,1.1e-6\nb,2e-6\n", "noise.csv")
    with pytest.raises(CalibrationError, match=r"noise.csv: line 4: device 'b' has a single read"):
        calibrate_data(p, "msp", tmp_path / "cal", read_noise_csv=n)


def test_too_few_devices_and_pulses_warn_with_the_consequence(tmp_path):
    p = _write(tmp_path, _stairs(n_dev=3, n_pulses=6))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        b = calibrate_data(p, "msp", tmp_path / "cal")
    msgs = [str(x.message) for x in w if issubclass(x.category, DataWarning)]
    assert any("3 device(s): the device-to-device spread" in m for m in msgs), msgs
    assert any("6 pulses per up sequence: the per-device fits of ΔG(G) rest on 6 steps" in m for m in msgs), msgs
    assert b["pcm/staircase_g_S"].shape == (3, 7)
    with pytest.raises(CalibrationError, match="needs ≥ 4"):
        calibrate_data(_write(tmp_path, _stairs(n_pulses=3), "p3.csv"), "msp", tmp_path / "cal3")


# ------------------------------------------------------------------ msp: round trip, provenance, diff
def test_spice_round_trip_reproduces_the_pulse_tables_exactly(tmp_path, shipped):
    files = export_pulses(shipped, tmp_path / "exp")
    b = calibrate_data(files[0], "msp", tmp_path / "rt", drift=files[1])
    for name in ("pcm/staircase_g_S", "pcm/g_reset_S", "pcm/dg_quantiles_S", "pcm/dg_mean_S"):
        np.testing.assert_array_equal(b[name], shipped[name], err_msg=name)
    # the per-device quadratic: fitted here to the exported (noisy) staircases; the simulated bundle's own is fitted
    # to its deterministic staircases (pcm/stair_clean_g_S), which a measured bundle has not
    coef, res = fit_staircases(shipped["pcm/staircase_g_S"])
    np.testing.assert_array_equal(b["pcm/fit_coef"], coef)
    np.testing.assert_array_equal(b["pcm/fit_dg_residual_S"], res)
    assert "pcm/stair_clean_g_S" not in b.tables and "c2c_law" not in b.scalars["pcm"]
    # the model's ceiling max(G_max, staircase max) is the same
    np.testing.assert_array_equal(b["pcm/g_max_S"], np.maximum(shipped["pcm/g_max_S"],
                                                                shipped["pcm/staircase_g_S"].max(axis=1)))
    assert b.scalars["pcm"]["dg_fit"] == shipped.scalars["pcm"]["dg_fit"]
    # drift: same curves regrouped by programmed level; the RESET level's exponent is the same population
    assert abs(b.scalars["pcm"]["nu_mean"] - shipped.scalars["pcm"]["nu_mean"]) < 0.01
    back = calibration.load(tmp_path / "rt")
    m = back.provenance["measured"]
    assert m["role"] == "msp" and m["inputs"]["pulses"]["rows"] == 2300 and m["inputs"]["pulses"]["devices"] == 100
    assert len(m["inputs"]["pulses"]["sha256"]) == 64 and "pcm/staircase_g_S" in m["from_data"]
    assert "pcm/read_g_S" in m["from_base"] and "pcm/staircase_g_S" not in m["from_base"]
    text = calibration.summary(back)
    assert "Measured data (role msp" in text and "from base" in text
    d = calibration.diff(shipped, back)
    names = {e["name"] for e in d}
    assert "pcm/staircase_g_S" not in names and "pcm/g_max_S" in names
    assert calibration.diff(back, back) == []


def test_diff_reports_relative_changes(shipped):
    other = calibration.Bundle(scalars={**shipped.scalars, "pcm": {**shipped.scalars["pcm"], "nu_mean": 0.2}},
                               tables={**shipped.tables, "pcm/g_max_S": shipped["pcm/g_max_S"] * 1.1},
                               provenance={}, path=Path("other"))
    d = {e["name"]: e for e in calibration.diff(shipped, other)}
    assert set(d) == {"pcm.nu_mean", "pcm/g_max_S"}
    assert d["pcm.nu_mean"]["rel"] == pytest.approx(0.2 / shipped.scalars["pcm"]["nu_mean"] - 1)
    assert d["pcm/g_max_S"]["rel"] == pytest.approx(0.1) and d["pcm/g_max_S"]["max_rel"] > 0
    assert "+10.00%" in calibration.format_diff(list(d.values()), shipped, other)


def test_hundred_devices_twenty_pulses_under_ten_seconds(tmp_path):
    p = EXAMPLE / "pcm_nandakumar2020_pulses.csv"
    t0 = time.perf_counter()
    b = calibrate_data(p, "msp", tmp_path / "cal")
    dt = time.perf_counter() - t0
    assert b["pcm/staircase_g_S"].shape == (100, 21)
    assert dt < 10, f"{dt:.1f} s"


def test_example_dataset_trains(tmp_path):
    """The shipped example (synthesised from the Nandakumar 2020 PCM preset) gives a bundle the 2pcm+3t1c network
    learns on (small subset: 600 examples, 1 epoch)."""
    from pycosim.datasets import sources
    from pycosim.nn import config as ncfg
    from pycosim.nn import presets, train

    b = calibrate_data(EXAMPLE / "pcm_nandakumar2020_pulses.csv", "msp", tmp_path / "cal",
                       drift=EXAMPLE / "pcm_nandakumar2020_drift.csv",
                       read_noise_csv=EXAMPLE / "pcm_nandakumar2020_noise.csv")
    d = sources.load("mnist")
    tiny = sources.Dataset(d.x_train[:600], d.y_train[:600], d.x_test[:300], d.y_test[:300], d.n_classes, "subset")
    cfg = ncfg.override(presets.get("ambrogio2018"), ["network.hidden=32", "training.epochs=1", "training.lr=0.2",
                                                       "transfer.interval=200"])
    m = train.train(cfg, tmp_path / "run", dataset=tiny, bundle=b, progress=False, plots=False)
    assert m["test_accuracy"] > 0.5 and m["transfers"]["count"] == 3


# ------------------------------------------------------------------ lsp role
@pytest.fixture(scope="module")
def lsp_bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("lsp")
    p = _write(d, lsp_csv())
    return calibrate_data(p, "lsp", d / "cal")


def test_lsp_role_tables_follow_the_data(lsp_bundle):
    b = lsp_bundle
    grid, up, dn = b["lsp_data/g_grid_S"], b["lsp_data/dg_up_S"], b["lsp_data/dg_down_S"]
    assert up.shape == dn.shape == (20, grid.size)           # 10 devices x 2 cycles
    assert np.all(up >= 0) and np.all(dn <= 0)
    # soft bounds: the mean up step falls and the mean down step grows in magnitude with G (data: a·(1 − x), b·x)
    mid = (grid > 3e-6) & (grid < 8e-6)
    assert np.all(np.diff(up.mean(axis=0)[mid]) < 0) and np.all(np.diff(dn.mean(axis=0)[mid]) < 0)
    sc = b.scalars["lsp_data"]
    x = 0.5        # at the reset level (mid-range) the data's mean steps are ≈ a/2 = 0.3 µS and −b/2 = −0.225 µS
    assert sc["dg_up_mean_S"] == pytest.approx(0.6e-6 * x, rel=0.2)
    assert sc["dg_down_mean_S"] == pytest.approx(-0.45e-6 * x, rel=0.2)
    assert b.provenance["measured"]["scheme"] == "2pcm+meas"


def test_lsp_device_in_the_array_steps_as_measured(lsp_bundle):
    """2pcm+meas: one up pulse on every LSP device at its reset level moves g by the data's mean up step; one down
    pulse by the mean down step (c2c off)."""
    from pycosim.array import ArrayConfig, Crossbar
    from pycosim.array import config as acfg
    from pycosim.config import from_dict

    cfg = from_dict(ArrayConfig, {"synapse": "2pcm+meas", "lsp": {"c2c_scale": 0.0, "read_noise": False}})
    xb = Crossbar(16, 8, cfg, bundle=lsp_bundle, rng=0)
    g0 = xb.devices()["g_S"].copy()
    k = xb.devices()["lsp_instance"]
    np.testing.assert_allclose(g0, lsp_bundle["lsp_data/g_reset_S"][k], rtol=1e-6)
    pop = xb.lsp_pop
    from pycosim.devices import lsp as lsp_dev

    n = np.ones(g0.shape, int)
    g_up = lsp_dev.step_signed(g0, n, k, pop, None)
    g_dn = lsp_dev.step_signed(g0, -n, k, pop, None)
    grid = lsp_bundle["lsp_data/g_grid_S"]
    want_up = np.array([np.interp(g, grid, lsp_bundle["lsp_data/dg_up_S"][i]) for g, i in zip(g0.ravel(), k.ravel())])
    want_dn = np.array([np.interp(g, grid, lsp_bundle["lsp_data/dg_down_S"][i]) for g, i in zip(g0.ravel(), k.ravel())])
    np.testing.assert_allclose((g_up - g0).ravel(), want_up, rtol=1e-3, atol=1e-12)
    np.testing.assert_allclose((g_dn - g0).ravel(), want_dn, rtol=1e-3, atol=1e-12)
    assert abs(np.mean(g_up - g0) - 0.3e-6) < 0.08e-6 and abs(np.mean(g_dn - g0) + 0.225e-6) < 0.06e-6
    assert "2pcm+meas" in acfg.SYNAPSES


def test_lsp_role_trains(tmp_path, lsp_bundle):
    from pycosim.datasets import sources
    from pycosim.nn import config as ncfg
    from pycosim.nn import presets, train

    d = sources.load("mnist")
    tiny = sources.Dataset(d.x_train[:600], d.y_train[:600], d.x_test[:300], d.y_test[:300], d.n_classes, "subset")
    cfg = ncfg.override(presets.get("ambrogio2018-accel"), ["synapse.kind=2pcm+meas", "network.hidden=32",
                                                       "training.epochs=1", "training.lr=0.2", "transfer.interval=200"])
    m = train.train(cfg, tmp_path / "run", dataset=tiny, bundle=lsp_bundle, progress=False, plots=False)
    # learns (chance 0.1; measured 0.30); below the 3T1C's 0.55 on the same budget: this soft-bounds device spans
    # 0.15 weight units (9 µS) against the 3T1C's 0.72, so its LSP saturates within ~15 pulses of the reset level.
    # On the accelerator's timing: on the tester's (minutes of PCM drift per transfer interval) this tiny run
    # measured 0.17 once the closed loop verifies 1 ms after each pulse, so drift, not the LSP role, would decide it
    print("accuracy", m["test_accuracy"])
    assert m["test_accuracy"] > 0.2 and m["transfers"]["count"] == 3


def test_lsp_needs_both_directions(tmp_path):
    p = _write(tmp_path, HEADER + "".join(f"e0,{j},up,{1e-6 * (1 + j)}\n" for j in range(6)))
    with pytest.raises(CalibrationError, match="no down sequence"):
        calibrate_data(p, "lsp", tmp_path / "cal")
    with pytest.raises(CalibrationError, match="unknown direction 'set'"):
        calibrate_data(_write(tmp_path, _stairs(), "s.csv"), "lsp", tmp_path / "cal")


def test_2pcm_meas_state_round_trip_continues_bit_for_bit(lsp_bundle):
    """The registry checks of tests/array/test_schemes.py on the scheme's own bundle."""
    from pycosim.array import ArrayConfig, Crossbar, schemes

    xb = Crossbar(6, 3, ArrayConfig(synapse="2pcm+meas"), lsp_bundle, rng=0)
    assert type(xb) is schemes.scheme_class("2pcm+meas") and xb.scheme.has_lsp and not xb.scheme.has_3t1c

    def drive(x, rng, n=25):
        out = []
        for _ in range(n):
            a = rng.random(x.n_in).astype(np.float32)
            d = (rng.random(x.n_out) - 0.5).astype(np.float32)
            out += [x.forward(a), x.backward(d)]
            x.update(a, d, 0.1)
            x.advance(2e-4)
        x.transfer()
        out.append(x.weights())
        return np.concatenate([o.ravel() for o in out])

    cfg = ArrayConfig(synapse="2pcm+meas")
    a = Crossbar(12, 5, cfg, lsp_bundle, rng=4)
    drive(a, np.random.default_rng(2))
    b = Crossbar(12, 5, cfg, lsp_bundle, rng=4)
    b.set_state(a.state())
    np.testing.assert_array_equal(drive(a, np.random.default_rng(3)), drive(b, np.random.default_rng(3)))


def test_cli_export_calibrate_show_diff(tmp_path, capsys):
    """The commands are thin layers: export-pulses → calibrate-data (with plots of the fits) → show → diff; a
    warning is one line on stderr."""
    assert main(["calibration", "export-pulses", "--out", str(tmp_path / "exp")]) == 0
    out = tmp_path / "cal"
    assert main(["calibrate-data", str(tmp_path / "exp" / "pulses.csv"), "--role", "msp", "--out", str(out),
                 "--plots", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "measured_fits.png").is_file()
    assert main(["calibration", "show", str(out)]) == 0
    assert main(["calibration", "diff", "default", str(out)]) == 0
    text = capsys.readouterr().out
    assert "wrote calibration bundle" in text and "Measured data (role msp" in text
    # no drift data: the base's drift, rescaled to each row's ceiling (here the same ceiling: unchanged)
    # and the per-device quadratic: the shipped one is fitted to the deterministic staircases, which a measured bundle has not
    assert "tables that differ: 4" in text and "pcm/g_max_S" in text and "pcm/c2c_dg_S" in text
    assert "pcm/fit_coef" in text and "pcm/fit_dg_residual_S" in text
    assert "pcm/drift_g_S" not in text.split("\nA = ")[1]
    few = _write(tmp_path, _stairs(n_dev=2), "few.csv")
    assert main(["calibrate-data", str(few), "--role", "msp", "--out", str(tmp_path / "few")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(e.startswith("pycosim: warning:") for e in err) and "2 device(s)" in err[0]
