"""The per-run shortcuts of the engine return exactly what the general path returns (real ngspice):
vectors copied straight out of ngspice (only the kept ones) against PySpice's plot objects, a kept subset
against a full run, and the ngspice library searched once but an explicit path checked every time."""

import numpy as np
import pytest

from pycosim.errors import SpiceError
from pycosim.spice import engine, load


def test_read_plot_matches_pyspice_and_keep_is_a_subset():
    net = load("circuits/rc_step.cir")
    ng = engine._simulator()
    text = net.render(None, None)
    assert engine._circ(ng, text) == 0
    engine._run_interruptibly(ng)
    name = ng.last_plot
    ours = engine._read_plot(ng, name, None)
    theirs = {k.lower(): np.asarray(v._data) for k, v in ng.plot(None, name).items()}
    engine._cleanup(ng)
    assert list(ours) == list(theirs) and len(ours) > 2
    for k in ours:
        assert ours[k].dtype == np.float64 and np.array_equal(ours[k], theirs[k]), k
    full = engine.execute(net)
    kept = engine.execute(net, keep=(next(k for k in ours if k != "time"),))
    assert set(kept.vectors) == {"time", next(k for k in ours if k != "time")}
    for k, v in kept.vectors.items():
        assert np.array_equal(v, full.vectors[k]), k
    assert kept.meas == full.meas


def test_library_path_found_once_but_an_explicit_path_is_checked(monkeypatch, tmp_path):
    first = engine.library_path()
    assert engine.library_path() == first
    monkeypatch.setenv("PYCOSIM_NGSPICE_LIBRARY", str(tmp_path / "nope.so"))
    for _ in range(2):
        with pytest.raises(SpiceError, match="does not exist"):
            engine.library_path()
