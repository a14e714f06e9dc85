"""The reference of every setting (docs/config.md, ``pycosim config``), "auto" settings in config.toml with
their resolved values in metrics.json, lists in ``-s``, the warning of a run without transfers."""

import dataclasses
import json
import tomllib
import typing
import warnings
from pathlib import Path

import pytest

from pycosim import config as cfgmod
from pycosim import config_reference as ref
from pycosim.cli import main
from pycosim.errors import ConfigError
from pycosim.nn import config as ncfg
from pycosim.nn import presets

ROOT = Path(__file__).resolve().parents[1]


def _none_paths(cls, prefix=""):
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        p = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(hints[f.name]):
            out += _none_paths(hints[f.name], p)
        elif type(None) in typing.get_args(hints[f.name]):
            out.append(p)
    return out


def test_every_setting_has_a_documentation_entry_and_a_unit():
    assert ref.problems() == []
    es = ref.entries()
    assert [e.path for e in es] == cfgmod.paths(ncfg.TrainConfig)
    units = {e.path: e.unit for e in es}
    assert units["transfer.interval"] == "examples" and units["periphery.read_v_V"] == "V"
    assert units["pcm.drift_t_on_s"] == "s" and units["synapse.F"] == "dimensionless"
    assert units["training.leak"].startswith("—") and units["network.hidden"] == "neurons"


def test_problems_names_a_field_without_entry_and_one_without_unit():
    @dataclasses.dataclass(frozen=True)
    class Toy:
        """A toy section.

        width: how wide it is, in no stated unit.
        t_hold_s: hold time.
        """

        width: float = 1.0
        t_hold_s: float = 2.0
        depth: int = 3

    probs = ref.problems(Toy)
    assert len(probs) == 2
    assert probs[0].startswith("width: no unit") and probs[1].startswith("depth: no 'name: text' entry")


def test_docs_config_md_is_the_fresh_generation():
    """Fails when a field, docstring, default or preset changed without ``pycosim config --docs
    docs/config.md``."""
    text = (ROOT / "docs" / "config.md").read_text()
    assert text == ref.render_markdown()
    for path in cfgmod.paths(ncfg.TrainConfig):
        assert f"`{path}`" in text


def test_field_docs_joins_continuation_lines_and_shared_entries():
    d = ref.field_docs(ncfg.PeripheryConfig)
    assert d["forward_full_scale"] == d["backward_full_scale"]
    assert "Outputs beyond the linear range clip at the rails." in d["forward_full_scale"]
    assert d["input_bits"].startswith("resolution of the pulse-width encoding")


def test_config_toml_records_every_setting_and_auto_reads_back_as_none(tmp_path):
    cfg = ncfg.override(presets.get("ambrogio2018"), ["periphery.adc_bits=auto", "periphery.read_v_V=0.2"])
    ncfg.save(cfg, tmp_path / "c.toml")
    data = tomllib.loads((tmp_path / "c.toml").read_text())
    flat = train_flat(data)
    assert set(flat) == set(cfgmod.paths(ncfg.TrainConfig))           # every key written
    nones = _none_paths(ncfg.TrainConfig)
    assert len(nones) >= 7
    for p in nones:
        v = cfg
        for k in p.split("."):
            v = getattr(v, k)
        assert flat[p] == ("auto" if v is None else v)
    assert flat["periphery.adc_bits"] == "auto" and flat["periphery.read_v_V"] == 0.2
    back = ncfg.load(tmp_path / "c.toml")
    assert back == cfg and back.periphery.adc_bits is None             # was 8 before: None was dropped


def train_flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        p = f"{prefix}.{k}" if prefix else k
        out.update(train_flat(v, p) if isinstance(v, dict) else {p: v})
    return out


@pytest.mark.parametrize("text, hidden", [("[64]", (64,)), ("[500,250]", (500, 250)), ("[500, 250]", (500, 250)),
                                          ("500,250", (500, 250)), ("64", (64,))])
def test_lists_in_overrides(text, hidden):
    assert ncfg.override(ncfg.TrainConfig(), [f"network.hidden={text}"]).network.hidden == hidden


@pytest.mark.parametrize("text, words", [("[64", "unbalanced"), ("[a]", "expected an integer"),
                                         ("[0]", "must be ≥ 1")])
def test_bad_lists_are_one_line_errors(text, words):
    with pytest.raises(ConfigError, match=words):
        ncfg.override(ncfg.TrainConfig(), [f"network.hidden={text}"])


def test_cli_config_prints_the_resolved_tree_and_explains_a_key(capsys):
    assert main(["config", "--preset", "pcm-only", "-s", "network.hidden=[64]"]) == 0
    out = capsys.readouterr().out
    cfg = cfgmod.from_dict(ncfg.TrainConfig, tomllib.loads(out))
    assert cfg == ncfg.override(presets.get("pcm-only"), ["network.hidden=[64]"])
    assert 'read_v_V = "auto"' in out
    assert main(["config", "--explain", "interval"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("transfer.interval\n") and "unit:     examples" in out and "default:  8000" in out
    assert main(["config", "--explain", "synapse.kind"]) == 0
    assert "cristiano2018-4pcm" in capsys.readouterr().out          # the presets that change it
    assert main(["config", "--explain", "leak"]) == 2                 # training.leak or lsp.leak
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ambiguous" in err and "lsp.leak" in err


def test_cli_config_docs_writes_the_reference(tmp_path, capsys):
    assert main(["config", "--docs", str(tmp_path / "c.md")]) == 0
    assert (tmp_path / "c.md").read_text() == ref.render_markdown()


def test_a_run_records_the_resolved_auto_values_and_warns_once_without_transfers(tmp_path):
    from pycosim.datasets import sources
    from pycosim.nn import train

    d = sources.load("mnist")
    tiny = sources.Dataset(d.x_train[:60], d.y_train[:60], d.x_test[:30], d.y_test[:30], d.n_classes, "tiny")
    cfg = ncfg.override(presets.get("ambrogio2018-accel"), ["network.hidden=[16]", "training.epochs=1"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = train.train(cfg, tmp_path / "r", dataset=tiny, progress=False, plots=False)
    no_tr = [w for w in caught if issubclass(w.category, train.NoTransfers)]
    assert len(no_tr) == 1 and "fewer than transfer.interval=8000" in str(no_tr[0].message)
    assert m["transfers"]["count"] == 0
    rs = m["resolved_settings"]
    toml = train_flat(tomllib.loads((tmp_path / "r" / "config.toml").read_text()))
    autos = {p for p, v in toml.items() if v == "auto"}
    assert set(rs) == autos                      # every "auto" of config.toml resolved, nothing else
    assert all(len(v) == 2 for v in rs.values())            # one value per layer (784-16-10)
    assert rs["periphery.read_v_V"] == [0.1, 0.1]
    assert 0 < rs["periphery.t_read_s"][0]["forward"] < rs["periphery.t_read_s"][0]["backward"]
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["resolved_settings"] == rs
    # enough examples for a transfer: no warning
    cfg2 = ncfg.override(cfg, ["transfer.interval=50"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m2 = train.train(cfg2, tmp_path / "r2", dataset=tiny, progress=False, plots=False)
    assert m2["transfers"]["count"] == 1 and not [w for w in caught if issubclass(w.category, train.NoTransfers)]
