"""The netlist path of "bring your own device": library parameters for every bench at once
(``pycosim characterize --lib-param LIB.NAME=VALUE``), warnings for benches left at mixed conditions
(``-p BENCH.NAME``), and stale bundles reported as STALE by ``doctor`` and once by ``train``.
Real ngspice throughout."""

import json
import shutil
import warnings

import numpy as np
import pytest

from pycosim import calibration as cal
from pycosim.characterize.runner import Options, characterize, mixed_conditions
from pycosim.cli import main
from pycosim.errors import ConfigError, SpiceError
from pycosim.spice import engine
from pycosim.spice.netlist import (check_library_params, library_param_shadowed, library_parameters, load,
                                   with_library_params)

# a device of netlists/pcm.lib at its nominal values (mc = 0): node pnu is its plug's drift exponent, max(nu, 0)
DEVICE_DECK = """pcm_dev defaults
.include netlists/cmos.lib
.include netlists/pcm.lib
vt t 0 0
x1 t 0 pcm_dev mc=0
.op
.end
"""


def _pnu(net) -> float:
    res = engine.run(net, cache=False, keep=("x1.pnu",))
    return float(np.real(res.v("x1.pnu"))[0])


def test_library_parameter_reaches_ngspice_and_leaves_the_file_alone():
    net = load(DEVICE_DECK)
    assert _pnu(net) == pytest.approx(0.1)                       # pcm.lib: nu=0.1
    before = (net.files[-1]).read_text() if net.files else None
    changed = with_library_params(net, {"pcm": {"nu": "50m"}})   # SPICE suffix accepted
    assert _pnu(changed) == pytest.approx(0.05)
    assert net.files == changed.files and (net.files[-1].read_text() if net.files else None) == before
    # a library the deck does not include is ignored; the bench's own parameters are untouched
    assert with_library_params(net, {"integrator": {"tk": 310}}).text == net.text


def test_library_parameters_and_bad_overrides():
    pcm = library_parameters("pcm")
    assert pcm["nu"] == "0.1" and pcm["ton"] == "1u"
    assert "cmos_avt_n" in library_parameters("cmos")
    assert check_library_params({"pcm": {"NU": "0.05"}}) == {"pcm": {"nu": 0.05}}
    with pytest.raises(SpiceError, match="unknown library 'pcmx'.*pcm"):
        check_library_params({"pcmx": {"nu": 1}})
    with pytest.raises(SpiceError, match="unknown parameter 'nuu'.*nu"):
        check_library_params({"pcm": {"nuu": 1}})
    for bad in ("abc", "nan", "{nu*2}", True):
        with pytest.raises(SpiceError, match="not a number"):
            check_library_params({"pcm": {"nu": bad}})


def test_shadowed_library_parameter_is_detected():
    drift = load("circuits/pcm_drift.cir")
    assert not library_param_shadowed(drift, "pcm", "nu")        # pcm_1t1r does not pass nu: the default rules
    assert library_param_shadowed(drift, "pcm", "mc")            # every instance passes mc={mc}
    notes = mixed_conditions(Options(lib_params={"pcm": {"mc": 0}, "synapse": {"mc": 0}}))
    assert any("pcm.mc" in n and "pcm_drift" in n for n in notes)
    assert any("synapse" in n and "changes nothing" in n for n in notes)


def test_bench_param_warns_about_benches_that_keep_their_own_value():
    notes = mixed_conditions(Options(bench_params={"pcm_set_staircase": {"vg_set": "1.4"}}))
    assert len(notes) == 1 and "pcm_drift keeps vg_set=1.3" in notes[0]
    # the same value everywhere: nothing to say; a parameter each run sets itself (drift's tset): nothing
    assert mixed_conditions(Options(bench_params={"pcm_set_staircase": {"vg_set": "1.4"},
                                                  "pcm_drift": {"vg_set": 1.4}})) == []
    assert not any("pcm_drift" in n for n in mixed_conditions(
        Options(bench_params={"pcm_set_staircase": {"tset": "200n"}})))


def test_cli_warning_then_one_line_error_and_nothing_written(tmp_path, capsys):
    out = tmp_path / "cal"
    # the warning comes first; an unknown bench parameter then stops everything before any simulation
    code = main(["characterize", "--out", str(out), "-p", "pcm_set_staircase.vg_set=1.4",
                 "-p", "pcm_reset.nosuch=1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert err[0].startswith("pycosim: warning: -p pcm_set_staircase.vg_set=1.4: pcm_drift keeps vg_set=1.3")
    assert err[-1].startswith("pycosim: error:") and "nosuch" in err[-1]
    for args, needle in ((["--lib-param", "pcm.nu"], "expected LIB.NAME=VALUE"),
                         (["--lib-param", "nolib.nu=1"], "unknown library"),
                         (["--lib-param", "pcm.nosuch=1"], "unknown parameter"),
                         (["--lib-param", "pcm.nu=abc"], "not a number"),
                         # a negative spread would silently switch the cycle-to-cycle logic off (s2_i > 0 only)
                         (["--lib-param", "pcm.sc2c=-0.6"], "pcm.sc2c=-0.6: must be >= 0"),
                         (["--lib-param", "pcm.tauc=0"], "pcm.tauc=0: must be > 0"),
                         (["-p", "pcm_drift.mc2c=-1"], "-p pcm_drift.mc2c=-1: must be >= 0")):
        assert main(["characterize", "--out", str(out), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and not out.exists()
    with pytest.raises(ConfigError, match="unknown parameter"):
        Options(lib_params={"pcm": {"nosuch": 1}})


def test_characterize_with_a_library_parameter_records_it(tmp_path, shipped):
    """pcm.nu = 0.05 for every bench: the RESET-level drift exponents of the first devices fall by about
    0.05 against the shipped bundle (same seeds), and the override is in the provenance."""
    b = characterize(tmp_path / "cal", Options(mc_pcm=2, mc_lsp=2, lib_params={"pcm": {"nu": 0.05}}),
                     workers=2, progress=False)
    assert b.provenance["lib_params"] == {"pcm": {"nu": 0.05}}
    assert cal.load(tmp_path / "cal").provenance["lib_params"] == {"pcm": {"nu": 0.05}}
    nu = b["pcm/nu"]
    assert np.all(nu < shipped["pcm/nu"][:2] - 0.03), (nu, shipped["pcm/nu"][:2])
    assert cal.stale_files(b) == []                              # an override is not staleness
    assert "library overrides (characterize --lib-param): pcm.nu=0.05" in cal.summary(b)


# ------------------------------------------------------------------ stale bundles
def _stale_copy(tmp_path, rel="netlists/pcm.lib"):
    """A copy of the shipped bundle whose provenance records another SHA-256 for *rel*."""
    d = tmp_path / "stale-cal"
    shutil.copytree(cal.default_path(), d)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    assert rel in doc["provenance"]["files"]
    doc["provenance"]["files"][rel] = "0" * 64
    (d / cal.JSON_NAME).write_text(json.dumps(doc, indent=2))
    return d


def test_doctor_says_stale_and_why(tmp_path, monkeypatch, capsys):
    from pycosim import doctor as doc

    d = _stale_copy(tmp_path)
    monkeypatch.setattr(cal, "default_path", lambda: d)
    check = [c for c in doc.doctor() if c.name == "calibration"][0]
    assert check.stale and not check.ok and check.state == "STALE"
    assert "netlists/pcm.lib changed" in check.detail and "re-run pycosim characterize" in check.detail
    main(["doctor"])
    out, err = capsys.readouterr()
    line = [x for x in out.splitlines() if "calibration" in x][0]
    assert line.startswith("[STALE] calibration") and "MISSING" not in line
    assert "stale: calibration" in err
    monkeypatch.undo()
    assert [c for c in doc.doctor() if c.name == "calibration"][0].ok


def test_warn_if_stale_is_one_line_once(tmp_path):
    from pycosim.doctor import StaleCalibrationWarning, warn_if_stale

    d = _stale_copy(tmp_path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert warn_if_stale([None]) is None                     # the shipped bundle matches its files
        msg = warn_if_stale([d, str(d), d])
    assert len(w) == 1 and issubclass(w[0].category, StaleCalibrationWarning)
    assert "\n" not in msg and "netlists/pcm.lib" in msg and str(d) in msg


def test_train_warns_once_on_a_stale_bundle(tmp_path, mnist_npz, capsys):
    d = _stale_copy(tmp_path)
    code = main(["train", "--preset", "ambrogio2018", "--dataset", f"npz:{mnist_npz(100, 50)}", "--calibration",
                 str(d), "--epochs", "1", "-s", "network.hidden=4", "-s", "transfer.interval=50", "--quiet",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 0
    stale = [x for x in err.splitlines() if "stale" in x]
    assert len(stale) == 1 and stale[0].startswith("pycosim: warning: calibration bundle") and "pcm.lib" in stale[0]


def test_sweep_warns_once_about_its_stale_bundles(tmp_path, write_sweep, mnist_npz, capsys):
    from pycosim.doctor import analog_bundles
    from pycosim.sweep import load_sweep

    d = _stale_copy(tmp_path)
    spec = write_sweep(f'calibration = ["{d}", "default"]', baseline="false")
    text = spec.read_text().replace('base = "ambrogio2018"', f'base = "ambrogio2018"\ndataset = "npz:{mnist_npz(100, 50)}"')
    spec.write_text(text)
    assert analog_bundles(load_sweep(spec).tasks) == [str(d), None]
    code = main(["sweep", str(spec), "--out", str(tmp_path / "sw"), "--quiet", "--no-plots", "--jobs", "1"])
    err = capsys.readouterr().err
    stale = [x for x in err.splitlines() if "stale" in x]
    assert code == 0 and len(stale) == 1 and str(d) in stale[0] and stale[0].count(" is stale") == 1
