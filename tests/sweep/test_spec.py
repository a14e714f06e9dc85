"""Sweep files → validated runs: expansion, budgets, hashing, and one-line errors before anything runs."""

import pytest

from pycosim.errors import CalibrationError, ConfigError
from pycosim.sweep import load_sweep


def test_grid_seeds_baselines_and_stable_hash(write_sweep):
    s = load_sweep(write_sweep('"lsp.up_down_ratio" = [0.8, 1.2]\n"transfer.mode" = ["closed", "open"]', seeds="[0, 1]"))
    assert s.n_points == 4 and s.varied == ("lsp.up_down_ratio", "transfer.mode")
    assert [t.name for t in s.tasks[:2]] == ["float-0-s0", "float-0-s1"]          # baselines first
    points = [t for t in s.tasks if t.kind == "point"]
    assert len(points) == 8 and len({t.key for t in s.tasks}) == 10
    assert points[0].config["lsp"]["up_down_ratio"] == 0.8 and points[0].config["network"]["hidden"] == [4]
    assert points[0].config["training"]["train_subset"] == 100 and points[-1].config["transfer"]["mode"] == "open"
    assert all(t.baseline == s.tasks[t.seed].key for t in points)                  # same seed's baseline
    assert s.tasks[0].config["synapse"]["kind"] == "ideal"
    assert load_sweep(s.path).hash == s.hash


def test_ranges_random_sampling_and_nested_tables(write_sweep):
    s = load_sweep(write_sweep("[vary.pcm]\nc2c_scale = { min = 0.5, max = 8, num = 5, log = true }\n"
                               '[vary.transfer]\ninterval = { min = 40, max = 60, num = 3 }'))
    assert sorted({p["pcm.c2c_scale"] for p in s.points}) == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert sorted({p["transfer.interval"] for p in s.points}) == [40, 50, 60]        # int field stays int
    path = write_sweep('"synapse.F" = { min = 1, max = 6 }\n"transfer.mode" = ["closed", "open"]', name="r.toml")
    text = path.read_text().replace('name = "tiny"', 'name = "tiny"\nsampling = "random"\nsamples = 7')
    path.write_text(text)
    a, b = load_sweep(path), load_sweep(path)
    assert a.n_points == 7 and a.points == b.points
    assert all(1 <= p["synapse.F"] <= 6 and p["transfer.mode"] in ("closed", "open") for p in a.points)


def test_named_budget_replaces_values(write_sweep):
    path = write_sweep('"transfer.interval" = [25, 50]')
    path.write_text(path.read_text() + '\n[budget.full]\nepochs = 3\ntrain_subset = 0\n'
                    'set = ["synapse.F=4"]\n[budget.full.vary]\n"transfer.interval" = [8000]\n')
    d, f = load_sweep(path), load_sweep(path, budget="full")
    assert d.budget == {"epochs": 1, "train_subset": 100, "test_subset": 50} and d.n_points == 2
    assert f.budget == {"epochs": 3, "train_subset": 0, "test_subset": 50} and f.points == [{"transfer.interval": 8000}]
    assert f.tasks[-1].config["synapse"]["F"] == 4.0 and f.hash != d.hash
    with pytest.raises(ConfigError, match="no budget 'huge'; budgets: default, full"):
        load_sweep(path, budget="huge")


@pytest.mark.parametrize("vary, message", [
    ('"lsp.up_down_ration" = [1.0]', r"unknown setting 'lsp.up_down_ration'; did you mean lsp.up_down_ratio\? "
                                     r"lsp has: lsp.d2d_scale, lsp.c2c_scale"),
    ('"synaps.F" = [1.0]', r"unknown setting 'synaps.F'; did you mean synapse.F.*sections: hwa, lsp, network"),
    ('"synapse.F" = [2, "three"]', r"point 1 \(synapse.F='three'\): synapse.F='three': expected a number"),
    ('"transfer.interval" = [100, 2.5]', r"transfer.interval=2.5: expected an integer"),
    ('"transfer.mode" = ["closed", "opne"]', r"transfer.mode='opne': allowed values are 'closed', 'open'"),
    ('"synapse.F" = [-1]', r"synapse.F=-1.0: must be > 0"),
    ('"synapse.F" = 3', r"synapse.F: expected a list of values or a range"),
    ('"synapse.F" = { min = 1, max = 4 }', r"a range in a grid sweep needs num"),
    ('"synapse.F" = [2, 2]', r"same configuration"),
    ('"training.seed" = [1, 2]', r"part of the budget/seeds"),
])
def test_bad_vary_is_one_line_config_error(write_sweep, vary, message):
    with pytest.raises(ConfigError, match=message) as exc:
        load_sweep(write_sweep(vary))
    assert "\n" not in str(exc.value)


def test_bad_files_and_keys(tmp_path, write_sweep):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[vary]\n"synapse.F" = [1, 2\n')
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML: .*line 4, column 1"):
        load_sweep(bad)
    with pytest.raises(ConfigError, match="sweep file not found"):
        load_sweep(tmp_path / "none.toml")
    p = write_sweep('"synapse.F" = [1]')
    p.write_text(p.read_text().replace('name = "tiny"', 'name = "tiny"\nsampels = 3'))
    with pytest.raises(ConfigError, match="unknown key 'sampels' \\(did you mean 'samples'\\?\\)"):
        load_sweep(p)
    with pytest.raises(CalibrationError):
        load_sweep(write_sweep(f'calibration = ["default", "{tmp_path / "nocal"}"]', name="c.toml"))


@pytest.mark.parametrize("name", ["lsp_asymmetry", "significance_F", "transfer_interval", "pcm_dynamic_range",
                                  "c2c_variability", "closed_vs_open_loop", "pcm_drift"])
def test_shipped_example_sweeps_load(name):
    """Every example of examples/sweeps/ parses, names valid settings and expands to runs with baselines."""
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "examples" / "sweeps" / f"{name}.toml"
    s = load_sweep(path)
    assert s.n_points >= 2 and len(s.tasks) > s.n_points
    assert any(t.kind == "point" for t in s.tasks) and s.tasks[0].config["synapse"]["kind"] == "ideal"
