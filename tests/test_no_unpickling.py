"""Files a user keeps or receives are never unpickled: a crafted pickle as a run directory's checkpoint
(old ``checkpoint.pkl`` or renamed to ``checkpoint.npz``) stops ``train --resume``, ``evaluate`` and
``report`` with a one-line error (exit 2) and runs nothing; as a SPICE cache entry it is a miss."""

import hashlib
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pycosim.cli import main
from pycosim.datasets import sources
from pycosim.errors import ConfigError
from pycosim.evaluate import rundir
from pycosim.nn import train


class _Marker:
    """Unpickling this creates the marker file (what a crafted pickle could do with any code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def data_file(mnist_npz):
    return mnist_npz(100, 40)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, data_file):
    """A finished tiny analog run directory (config.toml, metrics.json, checkpoint.npz)."""
    run = tmp_path_factory.mktemp("runs") / "run"
    cfg = train.resolve_config("ambrogio2018", None, ["network.hidden=8", "transfer.interval=50"], epochs=1)
    train.train(cfg, run, dataset=sources.load(f"npz:{data_file}"), progress=False, plots=False)
    return run


def _crafted_run(real_run, tmp_path, name):
    """A copy of the run directory whose checkpoint is a crafted pickle under *name*."""
    import shutil

    run = tmp_path / "crafted"
    shutil.copytree(real_run, run)
    (run / train.CHECKPOINT).unlink()
    marker = tmp_path / "marker"
    (run / name).write_bytes(pickle.dumps({"net": _Marker(marker), "epoch": 1}, protocol=pickle.HIGHEST_PROTOCOL))
    return run, marker


@pytest.mark.parametrize("name", ["checkpoint.pkl", "checkpoint.npz"])
def test_crafted_pickle_checkpoint_is_refused_by_resume_evaluate_report(real_run, data_file, tmp_path, capsys,
                                                                         name):
    run, marker = _crafted_run(real_run, tmp_path, name)
    cmds = [["train", "--resume", str(run), "--dataset", f"npz:{data_file}", "--quiet"],
            ["evaluate", str(run), "--times", "0s", "--repeats", "1", "--quiet"],
            ["report", str(run)]]
    for argv in cmds:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("pycosim: error:") and "\n" not in err and "Traceback" not in err, err
        assert str(run / name) in err and "pickled checkpoint" in err and "rerun the training" in err, err
        assert f"format version {train.CHECKPOINT_VERSION}" in err
        assert not marker.exists(), argv
    # the Python functions say the same
    for call in (lambda: train.train(None, run, dataset=sources.load(f"npz:{data_file}"), resume=True,
                                     progress=False),
                 lambda: rundir.load_state(run, "evaluate")):
        with pytest.raises(ConfigError, match="pickled checkpoint"):
            call()
    assert not marker.exists()
    # and a sweep's hardware() (energy from the checkpoint) reports an error instead of running it
    from pycosim.sweep.execute import hardware

    if name == train.CHECKPOINT:
        m = json.loads((run / "metrics.json").read_text())
        hw = hardware(m, run, {})
        assert hw["energy_per_example_J"] is None and "pickled checkpoint" in hw["hardware_error"]
    assert not marker.exists()


def test_crafted_pickle_checkpoint_in_a_real_process(real_run, data_file, tmp_path):
    run, marker = _crafted_run(real_run, tmp_path, train.CHECKPOINT)
    r = subprocess.run([sys.executable, "-m", "pycosim.cli", "train", "--resume", str(run), "--dataset",
                        f"npz:{data_file}", "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-500:]
    assert len(r.stderr.strip().splitlines()) == 1 and "pickled checkpoint" in r.stderr
    assert not marker.exists()


def test_restored_checkpoint_equals_the_trained_network(real_run):
    """load_state rebuilds the network from config + bundle and restores its state: same reads."""
    st = rundir.load_state(real_run, "evaluate")
    again = rundir.load_state(real_run, "evaluate")
    x = np.linspace(0, 1, st.net.sizes[0], dtype=np.float32)
    np.testing.assert_array_equal(st.net.forward(x), again.net.forward(x))
    m = json.loads((real_run / "metrics.json").read_text())
    assert st.examples == m["examples_seen"] and st.epoch == m["epochs_done"]
    assert [h["test_accuracy"] for h in st.history] == m["test_accuracy_per_epoch"]
    assert len(st.transfers) == m["transfers"]["count"] and len(st.net.init_stats) == len(st.net.layers)


_LOOKUP = textwrap.dedent("""
    import os, sys
    os.environ["PYCOSIM_CACHE_DIR"] = sys.argv[1]
    import numpy as np
    from pycosim.spice import run
    r = run("circuits/rc_step.cir", params={"r": 2345.0})
    np.save(sys.argv[2], r.v("out"))
    print(r.meta["cached"])
""")


def test_crafted_pickle_cache_entry_is_a_miss(tmp_path):
    from pycosim.spice import cache as spice_cache

    cache = tmp_path / "cache"
    env = dict(os.environ, PYCOSIM_CACHE_DIR=str(cache))

    def lookup(tag):
        out = subprocess.run([sys.executable, "-c", _LOOKUP, str(cache), str(tmp_path / f"{tag}.npy")],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr[-800:]
        return out.stdout.split()[-1], np.load(tmp_path / f"{tag}.npy")

    cached, ref = lookup("ref")
    assert cached == "False"
    entries = list(cache.glob(f"*{spice_cache.SUFFIX}"))
    assert len(entries) == 1
    entry = entries[0]
    k = entry.name[: -len(spice_cache.SUFFIX)].encode()
    marker = tmp_path / "marker"
    evil = pickle.dumps({"__meta__": _Marker(marker)}, protocol=5)
    variants = {
        "raw pickle": evil,
        # framed exactly like a valid entry (magic, key, checksum): only the payload decides
        "framed pickle": spice_cache._MAGIC + k + hashlib.sha256(k + evil).digest() + evil,
        "old v6 entry": b"pycosim-result-v6\n" + k + hashlib.sha256(k + evil).digest() + evil,
    }
    for what, blob in variants.items():
        entry.write_bytes(blob)
        cached, again = lookup(what.replace(" ", "_"))
        assert not marker.exists(), what
        assert cached == "False", what            # a miss: simulated again, result unchanged
        np.testing.assert_array_equal(again, ref)
        assert entry.read_bytes()[: len(spice_cache._MAGIC)] == spice_cache._MAGIC   # replaced by a real entry
    cached, _ = lookup("hit")
    assert cached == "True"


@pytest.mark.parametrize("preset", ["float", "pcm-only", "cristiano2018-4pcm", "ambrogio2018-olt"])
def test_checkpoint_resume_equals_uninterrupted_for_every_scheme(tmp_path, data_file, preset):
    """Stopped after epoch 1 and resumed from checkpoint.npz = the uninterrupted run, to the last digit."""
    from pycosim.nn import config as ncfg

    data = sources.load(f"npz:{data_file}")
    cfg = train.resolve_config(preset, None, ["network.hidden=8", "transfer.interval=30", "training.lr=0.2"],
                               epochs=2)
    a = train.train(cfg, tmp_path / "a", dataset=data, progress=False, plots=False)
    train.train(ncfg.override(cfg, ["training.epochs=1"]), tmp_path / "b", dataset=data, progress=False, plots=False)
    ncfg.save(cfg, tmp_path / "b" / "config.toml")
    b = train.train(cfg, tmp_path / "b", dataset=data, progress=False, plots=False, resume=True)
    assert b["test_accuracy_per_epoch"] == a["test_accuracy_per_epoch"]
    assert b["counters"] == a["counters"] and b["transfers"] == a["transfers"]


def test_worker_pipe_refuses_pickles(tmp_path):
    """The SPICE worker protocol carries state files, not pickles: a pickled message is a ValueError."""
    import io
    import struct

    from pycosim.spice import worker

    marker = tmp_path / "marker"
    evil = pickle.dumps((_Marker(marker), {}, None, None), protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(ValueError, match="pickle"):
        worker.receive(io.BytesIO(struct.pack(">Q", len(evil)) + evil))
    assert not marker.exists()
    # a real message round-trips
    from pycosim.spice.netlist import Netlist

    buf = io.BytesIO()
    worker.send(buf, (Netlist("t\n.end\n", "<text>", (), {"a": "1"}), {"r": np.float32(2.5)}, 7, ("out",)))
    buf.seek(0)
    net, params, seed, keep = worker.receive(buf)
    assert net.text == "t\n.end\n" and params == {"r": np.float32(2.5)} and type(params["r"]) is np.float32
    assert seed == 7 and keep == ("out",)
