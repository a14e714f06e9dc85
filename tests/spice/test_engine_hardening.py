"""Regression tests of issue 8 (engine side), with the real ngspice: a run returns data of its
own netlist or fails; Monte Carlo seeds are distinct; bad values never reach a netlist; the
cache serves only its own entries and stays under its size limit; error detection ignores the
netlist's own words; a failed .meas is NaN with a warning; quoted includes; streaming."""

import math
import os
import shutil
import warnings

import numpy as np
import pytest

from pycosim.errors import ConfigError, SpiceError, SpiceWarning
from pycosim.spice import cache as spice_cache
from pycosim.spice import iter_many, load, run, run_many, run_monte_carlo
from pycosim.spice.netlist import SEED_LIMIT, ngspice_seed

MC_DECK = "mc\n.param rr=agauss(1k,100,1)\nV1 a 0 1\nR1 a 0 {rr}\n.op\n.end\n"
OK_DECK = "ok\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n"


def _entries():
    d = spice_cache.cache_dir()
    return sorted(d.glob(f"*{spice_cache.SUFFIX}")) if d.is_dir() else []


# item 1 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "* only a comment\n", "title only\n", "title\n* comment\n.end\n"])
def test_empty_or_comment_only_netlist_fails_and_is_not_cached(tmp_path, text):
    run("circuits/rc_step.cir", params={"r": 777.0})  # a previous circuit in this process
    before = _entries()
    f = tmp_path / "e.cir"
    f.write_text(text)
    with pytest.raises(SpiceError, match="no circuit elements"):
        run(f)
    assert _entries() == before


def test_deck_that_loads_nothing_never_reruns_the_previous_circuit():
    """An unknown subcircuit makes ngspice load nothing; the previous circuit must not run."""
    run(OK_DECK, cache=False)
    with pytest.raises(SpiceError, match="unknown subckt"):
        run("x\nX1 a 0 nosub\nV1 a 0 1\n.op\n.end\n", cache=False)
    assert run(OK_DECK, cache=False).i("v1")[0] == pytest.approx(-1e-3)


# item 2 --------------------------------------------------------------------------------------
def test_monte_carlo_instances_are_distinct_draws_seed_zero_included():
    n = 8
    res = run_monte_carlo(MC_DECK, n, seed=0, workers=1, cache=False)
    currents = [r.i("v1")[0] for r in res]
    assert len(set(currents)) == n, currents
    # and the same seeds reproduce them, in a worker process too
    again = run_monte_carlo(MC_DECK, n, seed=0, workers=2, cache=False)
    assert [r.i("v1")[0] for r in again] == currents


def test_seed_mapping_is_documented_and_range_checked():
    assert ngspice_seed(0) == 1 and ngspice_seed(SEED_LIMIT - 1) == 2**31 - 1
    assert ".option seed=1\n" in load(MC_DECK).render(seed=0)
    for bad in (-1, SEED_LIMIT, 2**40):
        with pytest.raises(SpiceError, match=r"0\.\.2147483646"):
            run(MC_DECK, seed=bad, cache=False)
    with pytest.raises(SpiceError, match="0..2147483646"):
        run_monte_carlo(MC_DECK, 3, seed=SEED_LIMIT - 2)
    top = run(MC_DECK, seed=SEED_LIMIT - 1, cache=False).i("v1")[0]
    assert top != run(MC_DECK, seed=0, cache=False).i("v1")[0]


# item 3 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["1=2", "1 2", "", "{r*2", "1k2", float("nan"), float("inf"), "2k; x"])
def test_malformed_override_is_refused_before_simulating(value):
    with pytest.raises(SpiceError, match="parameter r="):
        run("circuits/rc_step.cir", params={"r": value}, cache=False)


def test_valid_overrides_still_work():
    a = run("circuits/rc_step.cir", params={"r": "2k"}, cache=False).meas["t_half"]
    b = run("circuits/rc_step.cir", params={"r": "{1k*2}"}, cache=False).meas["t_half"]
    assert a == pytest.approx(b) == pytest.approx(2e-3 * math.log(2), rel=5e-3)


# item 4 --------------------------------------------------------------------------------------
def test_foreign_cache_entry_is_not_served():
    a = run("circuits/rc_step.cir", params={"r": 1111.0})
    (entry_a,) = [p for p in _entries() if p.stat().st_mtime >= max(q.stat().st_mtime for q in _entries())]
    b_params = {"r": 2222.0}
    net = load("circuits/rc_step.cir")
    from pycosim.spice.engine import library_identity

    key_b = spice_cache.key(net.render(b_params), b_params, library_identity(), None, None)
    shutil.copy(entry_a, spice_cache.cache_dir() / f"{key_b}{spice_cache.SUFFIX}")  # valid file, wrong key
    b = run("circuits/rc_step.cir", params=b_params)
    assert b.meta["cached"] is False
    assert b.meas["t_half"] == pytest.approx(2 * a.meas["t_half"], rel=1e-3)
    assert run("circuits/rc_step.cir", params=b_params).meta["cached"] is True  # replaced by its own


# item 5 --------------------------------------------------------------------------------------
def test_title_and_comments_with_error_words_are_not_errors():
    deck = ("Error: singular matrix, timestep too small, simulation(s) aborted\n"
            "* comment: error, could not find, is not a valid, unknown model\n"
            "V1 a 0 1 ; error here\nR1 a 0 1k\n.op\n.end\n")
    assert run(deck, cache=False).i("v1")[0] == pytest.approx(-1e-3)


# item 6 --------------------------------------------------------------------------------------
MEAS_DECK = ("meas\nV1 a 0 PWL(0 0 1u 1)\nR1 a 0 1k\n.tran 10n 2u\n"
             ".meas tran never WHEN v(a)=5 CROSS=1\n"
             ".meas tran late FIND v(a) AT=5u\n"
             ".meas tran half WHEN v(a)=0.5 CROSS=1\n.end\n")


def test_failed_meas_is_nan_with_a_warning_naming_it():
    with pytest.warns(SpiceWarning) as rec:
        res = run(MEAS_DECK, cache=False)
    text = " ".join(str(w.message) for w in rec)
    assert ".meas never" in text and ".meas late" in text and "half" not in text
    assert math.isnan(res.meas["never"]) and math.isnan(res.meas["late"])
    assert res.meas["half"] == pytest.approx(0.5e-6, rel=1e-3)
    assert res.meta["meas_failed"] == ["never", "late"]


def test_failed_meas_warns_in_the_parent_for_worker_runs():
    with pytest.warns(SpiceWarning, match=r"\.meas never"):
        out = run_many([{"netlist": MEAS_DECK, "params": None}, {"netlist": OK_DECK}], workers=2, cache=False)
    assert math.isnan(out[0].meas["never"])


# item 7 --------------------------------------------------------------------------------------
def test_quoted_include_with_space(tmp_path):
    d = tmp_path / "my dir"
    d.mkdir()
    (d / "my lib.lib").write_text(".param rload=2k\n")
    for quote in ('"', "'"):
        f = d / "top.cir"
        f.write_text(f"top\n.include {quote}my lib.lib{quote}\nV1 a 0 1\nR1 a 0 {{rload}}\n.op\n.end\n")
        res = run(f, cache=False)
        assert res.i("v1")[0] == pytest.approx(-0.5e-3)
    assert load(f).files[-1].name == "my lib.lib"


# item 10 (API side) ----------------------------------------------------------------------------
def test_zero_workers_and_instances_are_refused(monkeypatch):
    with pytest.raises(ConfigError, match="workers=0"):
        run_many([{"netlist": OK_DECK}], workers=0)
    with pytest.raises(ConfigError, match="at least 1"):
        run_monte_carlo(MC_DECK, 0)
    monkeypatch.setenv("PYCOSIM_JOBS", "0")
    with pytest.raises(ConfigError, match="PYCOSIM_JOBS=0"):
        run_many([{"netlist": OK_DECK}])


# item 12 -------------------------------------------------------------------------------------
def test_iter_many_streams_from_a_generator_in_bounded_batches():
    produced = []

    def jobs():
        for k in range(30):
            produced.append(k)
            yield {"netlist": MC_DECK, "seed": k}

    seen = {}
    for i, res in iter_many(jobs(), workers=2, cache=False, total=30):
        seen[i] = res.i("v1")[0]
        # the generator is consumed lazily: never far ahead of what was delivered
        assert len(produced) <= len(seen) + 4 * 2 + 2 + 2
    assert sorted(seen) == list(range(30)) and len(set(seen.values())) == 30


def test_cache_size_limit_evicts_least_recently_used(monkeypatch, tmp_path):
    monkeypatch.setenv("PYCOSIM_CACHE_DIR", str(tmp_path / "c"))
    one = run("circuits/rc_step.cir", params={"r": 1000.0})
    size = _entries()[0].stat().st_size
    monkeypatch.setenv("PYCOSIM_CACHE_MAX", str(int(size * 5.5)))
    spice_cache._state.update(estimate=None)
    for k in range(12):
        run("circuits/rc_step.cir", params={"r": 1001.0 + k})
        assert run("circuits/rc_step.cir", params={"r": 1000.0}).meta["cached"] is True  # kept: recently used
    total = sum(p.stat().st_size for p in _entries())
    assert total <= size * 5.5 and len(_entries()) >= 3
    assert np.array_equal(one.v("out"), run("circuits/rc_step.cir", params={"r": 1000.0}).v("out"))
    monkeypatch.setenv("PYCOSIM_CACHE_MAX", "0")
    spice_cache.clear()
    run("circuits/rc_step.cir", params={"r": 999.0})
    assert _entries() == []
    with pytest.raises(ConfigError, match="PYCOSIM_CACHE_MAX"):
        monkeypatch.setenv("PYCOSIM_CACHE_MAX", "lots")
        spice_cache.max_bytes()
    assert spice_cache.parse_size("2G") == 2 * 1024**3 and spice_cache.parse_size("500M") == 500 * 1024**2


def test_no_warnings_for_a_clean_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run("circuits/rc_step.cir", cache=False)
    assert os.environ.get("PYCOSIM_CACHE_DIR")


# siblings --------------------------------------------------------------------------------------
def test_parameter_names_ignore_case_like_spice():
    a = run("circuits/rc_step.cir", params={"R": 2000.0}, cache=False).meas["t_half"]
    assert a == pytest.approx(2e-3 * math.log(2), rel=5e-3)


def test_corrupt_result_file_is_a_spice_error(tmp_path):
    from pycosim.spice import Result

    f = tmp_path / "bad.npz"
    f.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(SpiceError, match="cannot read result file"):
        Result.load(f)


def test_circuits_do_not_pile_up_in_the_simulator():
    """PySpice's remove_circuit is not an ngspice 39 command: circuits used to accumulate."""
    from pycosim.spice import engine

    for _ in range(3):
        run(OK_DECK, cache=False)
    ng = engine._simulator()
    engine._OUTPUT.clear()
    engine._command(ng, "remcirc")
    assert any("no circuit loaded" in line for _, line in engine._OUTPUT)


def test_front_end_options_do_not_leak_into_later_runs():
    """``.options interp`` is kept by ngspice's front end after its circuit is removed; the next,
    unrelated deck then returned vectors resampled onto its .tran step (a 3T1C retention bench
    reported −2.6 instead of +0.018 mV/ms). The engine reloads the simulator after such a deck."""
    from pycosim.spice import run as _run

    deck = ("rc after interp\nv1 a 0 pwl(0 0 1n 1)\nr1 a b 1k\nc1 b 0 1p\n"
            ".tran 0.5n 5n\n.meas tran vb FIND v(b) AT=0.3n\n.end\n")
    fresh = _run(deck, cache=False)
    _run("sets interp\nv1 a 0 1\nr1 a 0 1k\n.options interp\n.tran 1n 10n\n.end\n", cache=False)
    again = _run(deck, cache=False)
    assert len(again.axis) == len(fresh.axis)
    np.testing.assert_array_equal(again.v("b"), fresh.v("b"))
    assert again.meas == fresh.meas


def test_a_worker_failure_that_is_not_ngspices_stops_loudly(monkeypatch):
    """A parallel worker that fails with anything but a SpiceError (a broken pipe decoded as garbage, a cache
    file, memory) must raise, naming the job -- never end the pool early and leave that job's result None."""
    from pycosim.spice import pool

    real = pool._Worker.call
    calls = []

    def flaky(self, net, params, seed, keep=None):
        calls.append(seed)
        if len(calls) == 3:
            raise RuntimeError("worker reply could not be decoded")
        return real(self, net, params, seed, keep)

    monkeypatch.setattr(pool._Worker, "call", flaky)
    jobs = [{"netlist": OK_DECK, "seed": s} for s in range(6)]
    with pytest.raises(SpiceError, match="RuntimeError: worker reply could not be decoded"):
        run_many(jobs, workers=2, cache=False)
