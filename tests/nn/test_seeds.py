"""``train --seeds``: every seed its own run directory, their mean ± sd in seeds.json."""

import json
import statistics

import pytest

from pycosim.cli import main
from pycosim.errors import ConfigError
from pycosim.nn import config as ncfg
from pycosim.nn import presets
from pycosim.nn.seeds import format_seeds, parse_seeds, train_seeds


@pytest.mark.parametrize("text, words", [("0,a", "expected integers"), ("", "no seed"), ("1,1", "repeated"),
                                         ("-1", "outside")])
def test_bad_seed_lists(text, words):
    with pytest.raises(ConfigError, match=words):
        parse_seeds(text)


def test_seed_lists():
    assert parse_seeds("0,1,2") == [0, 1, 2] and parse_seeds(" 5, 3 ") == [5, 3]


@pytest.fixture(scope="module")
def tiny_npz(mnist_npz):
    return mnist_npz(120, 40)


def test_train_seeds_runs_each_seed_and_summarises_them(tmp_path, tiny_npz):
    cfg = ncfg.override(presets.get("ambrogio2018-accel"), ["network.hidden=[8]", "transfer.interval=60",
                                                            "training.epochs=1"])
    doc = train_seeds(cfg, tmp_path / "s", [3, 4], dataset=f"npz:{tiny_npz}", jobs=2)
    saved = json.loads((tmp_path / "s" / "seeds.json").read_text())
    assert saved == doc and doc["schema"] == "pycosim.seeds" and doc["schema_version"] == 1
    accs = []
    for s in (3, 4):
        m = json.loads((tmp_path / "s" / f"seed-{s}" / "metrics.json").read_text())
        assert m["seed"] == s and m["status"] == "finished"
        accs.append(m["test_accuracy"])
    assert [r["test_accuracy"] for r in doc["runs"]] == accs
    assert doc["test_accuracy"]["mean"] == pytest.approx(statistics.mean(accs), abs=1e-12)
    assert doc["test_accuracy"]["sd"] == pytest.approx(statistics.stdev(accs), abs=1e-12)
    assert "gap_pp" not in doc and "mean ± sd over 2 seeds" in format_seeds(doc)
    with pytest.raises(ConfigError, match="finished seed set"):
        train_seeds(cfg, tmp_path / "s", [5], dataset=f"npz:{tiny_npz}", jobs=1)


def test_seeds_cli_errors_are_one_line(tmp_path, tiny_npz, capsys):
    assert main(["train", "--seeds", "0,x", "--out", str(tmp_path / "o"), "--dataset", f"npz:{tiny_npz}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seeds '0,x'" in err
    assert main(["train", "--seeds", "0,1", "--seed", "2", "--out", str(tmp_path / "o")]) == 2
    assert "either --seed or --seeds" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
