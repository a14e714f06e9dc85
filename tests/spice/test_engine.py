"""The SPICE engine against analytic circuits, with the real ngspice."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pycosim.errors import SpiceError
from pycosim.spice import load, run, run_many
from pycosim.spice import cache as spice_cache


def test_rc_transient_matches_exponential():
    res = run("circuits/rc_step.cir", params={"r": 2e3, "c": 0.5e-6}, cache=False)
    t, v = res.axis, res.v("out")
    assert res.analysis == "tran" and t.dtype == np.float64 and t.shape == v.shape
    tau = 2e3 * 0.5e-6
    mask = t > 5e-3 * tau  # skip the 1 ns source ramp
    expected = 1.0 - np.exp(-(t[mask] - 0.5e-9) / tau)
    rel = np.abs(v[mask] - expected) / expected
    assert rel.max() < 5e-3, rel.max()
    assert res.meas["t_half"] == pytest.approx(tau * np.log(2), rel=5e-3)
    assert res.meta["ngspice_version"] and len(res.meta["netlist_sha256"]) == 64
    assert res.meta["params"] == {"r": 2e3, "c": 0.5e-6}


def test_op_divider_and_branch_current():
    res = run("divider\nV1 in 0 3\nR1 in mid 1k\nR2 mid 0 2k\n.op\n.end\n", cache=False)
    assert res.analysis == "op"
    assert res.v("mid")[0] == pytest.approx(2.0, rel=1e-9)
    assert res.i("v1")[0] == pytest.approx(-1e-3, rel=1e-9)


def test_parameter_substitution_changes_result_and_hash():
    a = run("circuits/rc_step.cir", params={"vstep": 1.0}, cache=False)
    b = run("circuits/rc_step.cir", params={"vstep": 2.5}, cache=False)
    assert b.meas["v_end"] == pytest.approx(2.5 * a.meas["v_end"], rel=1e-6)
    assert a.meta["netlist_sha256"] != b.meta["netlist_sha256"]


def test_unknown_parameter_lists_valid_names():
    with pytest.raises(SpiceError, match=r"unknown parameter bogus; valid names: c, r, tstop, vstep"):
        run("circuits/rc_step.cir", params={"bogus": 1})


def test_parallel_equals_serial():
    jobs = [{"netlist": "circuits/rc_step.cir", "params": {"r": r}} for r in (500.0, 1e3, 2e3, 4e3)]
    serial = run_many(jobs, workers=1, cache=False)
    parallel = run_many(jobs, workers=2, cache=False)
    for s, p in zip(serial, parallel):
        assert s.vectors.keys() == p.vectors.keys()
        for k in s.vectors:
            np.testing.assert_array_equal(s.vectors[k], p.vectors[k])
        assert s.meas == p.meas


def test_cache_hit_returns_equal_arrays_without_starting_ngspice(tmp_path):
    env_cache = str(tmp_path / "cache")
    first = run_script = textwrap.dedent(f"""
        import os, sys
        os.environ["PYCOSIM_CACHE_DIR"] = {env_cache!r}
        import numpy as np
        from pycosim.spice import run, engine
        r = run("circuits/rc_step.cir", params={{"r": 3e3}})
        np.save(sys.argv[1], r.v("out"))
        print("started" if engine._NGSPICE is not None else "not-started", r.meta["cached"])
    """)
    out1 = subprocess.run([sys.executable, "-c", run_script, str(tmp_path / "a.npy")],
                          capture_output=True, text=True, check=True).stdout.split()
    out2 = subprocess.run([sys.executable, "-c", first, str(tmp_path / "b.npy")],
                          capture_output=True, text=True, check=True).stdout.split()
    assert out1 == ["started", "False"]
    assert out2 == ["not-started", "True"]
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_corrupt_cache_entry_is_discarded():
    params = {"r": 1234.0}
    good = run("circuits/rc_step.cir", params=params)
    entries = sorted(spice_cache.cache_dir().glob(f"*{spice_cache.SUFFIX}"), key=lambda p: p.stat().st_mtime)
    victim = entries[-1]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    again = run("circuits/rc_step.cir", params=params)
    assert again.meta["cached"] is False
    np.testing.assert_array_equal(good.v("out"), again.v("out"))


def test_syntax_error_carries_ngspice_complaint():
    bad = "bad deck\nV1 in 0 1\nR1 in 0 {undefined_thing*2}\n.op\n.end\n"
    with pytest.raises(SpiceError) as err:
        run(bad, cache=False)
    msg = str(err.value)
    assert "<text>" in msg and "op" in msg and "undefined_thing" in msg.lower()


def test_missing_netlist_and_include_are_clear(tmp_path):
    with pytest.raises(SpiceError, match="netlist not found"):
        load(tmp_path / "nope.cir")
    f = tmp_path / "inc.cir"
    f.write_text("t\n.include missing.lib\n.op\n.end\n")
    with pytest.raises(SpiceError, match="included file not found: missing.lib"):
        load(f)


def test_seed_reproducible_and_distinct():
    deck = "mc\n.param rr=agauss(1k,100,1)\nV1 a 0 1\nR1 a 0 {rr}\n.op\n.end\n"
    a1, a2, b = (run(deck, seed=s, cache=False).i("v1")[0] for s in (7, 7, 8))
    assert a1 == a2 and a1 != b


def test_non_convergence_raises_with_analysis_and_path(tmp_path):
    # two ideal sources forcing different voltages on one node: ngspice aborts the .op
    deck = tmp_path / "loop.cir"
    deck.write_text("source loop\nV1 a 0 1\nV2 a 0 2\nR1 a 0 1k\n.op\n.end\n")
    with pytest.raises(SpiceError) as err:
        run(deck, cache=False)
    msg = str(err.value)
    assert str(deck) in msg and "(op)" in msg and "aborted" in msg
    # the simulator recovers for the next run in the same process
    assert run("ok\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n", cache=False).i("v1")[0] == pytest.approx(-1e-3)


def test_recovered_gmin_stepping_is_not_a_failure():
    """ngspice prints notes and "Warning: singular matrix" while gmin/source stepping and then
    completes the analysis; that run is valid (it used to be rejected as a failure)."""
    deck = ("runaway\nI1 0 a PULSE(0 1 0 1n 1n 1u 2u)\nC1 a 0 1p\n"
            "B1 a 0 I=1e-3*(v(a)>1 ? 0 : 1)*(v(a)<0.5?1:-1)*exp(v(a)*40)\n.tran 1p 100n\n.end\n")
    res = run(deck, cache=False, keep=("a",))
    assert res.analysis == "tran" and res.axis[-1] == pytest.approx(100e-9)


def test_run_many_can_return_errors_in_place():
    bad = "bad\nV1 in 0 1\nR1 in 0 {nope*2}\n.op\n.end\n"
    good = "good\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n"
    out = run_many([{"netlist": good}, {"netlist": bad, "seed": 4}, {"netlist": good}], workers=2,
                   cache=False, errors="return")
    assert isinstance(out[1], SpiceError) and "run 1" in str(out[1]) and "seed=4" in str(out[1])
    assert out[0].i("v1")[0] == pytest.approx(-1e-3) and out[2].i("v1")[0] == pytest.approx(-1e-3)
    with pytest.raises(SpiceError, match="run 1"):
        run_many([{"netlist": good}, {"netlist": bad}], workers=1, cache=False)


def test_keep_limits_vectors_and_is_part_of_cache_key():
    full = run("circuits/rc_step.cir")
    small = run("circuits/rc_step.cir", keep=("out",))
    assert set(small.vectors) == {"time", "out"} and small.meta["cached"] is False
    np.testing.assert_array_equal(small.v("out"), full.v("out"))
    assert small.meas == full.meas


def test_same_seed_repeats_after_odd_gaussian_draws():
    """ngspice keeps a spare Box-Muller value between runs; the engine clears it so a seeded
    transient-noise run repeats exactly, whatever ran before it in the same process."""
    deck = ("noise\nvz z 0 dc 0 trrandom(2 1u 0 1 0)\nrz z 0 1\n.tran 0.5u {tstop}\n"
            ".param tstop=3.5u\n.end\n")
    run(deck, params={"tstop": "2.5u"}, cache=False)             # unseeded, odd number of draws
    first = run(deck, seed=7, cache=False).v("z")
    run(deck, params={"tstop": "2.5u"}, seed=8, cache=False)     # an odd number of draws in between
    again = run(deck, seed=7, cache=False).v("z")
    np.testing.assert_array_equal(first, again)
    assert np.ptp(np.real(first)) > 0.5                        # it is noise, not a constant
