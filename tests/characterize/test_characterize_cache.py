"""An unchanged characterisation re-run takes the bundle of its first run from the cache directory
(same tables, new date), without simulating; any change of the runs or options misses. Real ngspice."""

import numpy as np
import pytest

from pycosim import calibration as cal
from pycosim.characterize import runner
from pycosim.characterize.runner import Options, characterize


class Simulated(Exception):
    pass


def test_unchanged_rerun_is_served_from_the_bundle_cache(tmp_path, monkeypatch):
    opts = Options(mc_pcm=2, mc_lsp=2)
    first = characterize(tmp_path / "a", opts, workers=2, progress=False)

    def no_simulation(*args, **kwargs):
        raise Simulated

    monkeypatch.setattr(runner, "run_many", no_simulation)
    second = characterize(tmp_path / "b", opts, workers=2, progress=False)
    a, b = cal.load(tmp_path / "a"), cal.load(tmp_path / "b")
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        assert np.array_equal(a[name], b[name], equal_nan=True), name
    assert a.scalars == b.scalars and second.provenance["files"] == first.provenance["files"]
    assert b.provenance["tables_sha256"] == a.provenance["tables_sha256"]
    # a different run (a bench parameter, a library parameter, other seeds) is not the cached bundle
    for other in (Options(mc_pcm=2, mc_lsp=2, bench_params={"pcm_reset": {"vread": 0.1}}),
                  Options(mc_pcm=2, mc_lsp=2, lib_params={"pcm": {"nu": 0.1}}),
                  Options(mc_pcm=2, mc_lsp=2, seed=7)):
        with pytest.raises(Simulated):
            characterize(tmp_path / "c", other, workers=2, progress=False)
    # without the cache every run is simulated
    with pytest.raises(Simulated):
        characterize(tmp_path / "d", opts, workers=2, cache=False, progress=False)
