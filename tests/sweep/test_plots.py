"""Plots and summaries from synthetic results (no training): the equivalence contour, random sampling."""

import numpy as np
import pytest

from pycosim.sweep import load_sweep
from pycosim.sweep.plots import equivalence_edges, plot_sweep
from pycosim.sweep.results import format_summary, summary


def _records(sweep, acc):
    """Finished records for every run: baselines at 0.9, points at acc(values)."""
    out = {}
    for t in sweep.tasks:
        a = 0.9 if t.kind == "baseline" else acc(t.values) + 0.002 * t.seed
        out[t.key] = {"key": t.key, "status": "finished", "test_accuracy": a, "wall_s": 1.0,
                      "test_accuracy_per_epoch": [0.899, 0.9] if t.kind == "baseline" else None,   # converged
                      "energy_per_example_J": 1e-9 if t.kind == "point" else None,
                      "pcm_pulses_per_example": 10.0 if t.kind == "point" else None}
    return out


def test_equivalence_edges_enclose_exactly_the_inside_cells():
    inside = np.array([[True, True, False], [False, True, False]])
    edges = equivalence_edges(inside)
    assert len(edges) == 8                      # an L of three cells has a boundary of 8 unit edges
    assert (0.5, -0.5, 0.5, 0.5) not in edges   # the shared edge of cells (0,0) and (0,1) is inside
    assert equivalence_edges(np.zeros((2, 2), bool)) == []


def test_grid_and_random_plots_and_summary(tmp_path, write_sweep):
    grid = load_sweep(write_sweep('"synapse.F" = [1, 2, 3]\n"transfer.mode" = ["closed", "open"]', seeds="[0, 1]"))
    recs = _records(grid, lambda v: 0.9 - 0.01 * (v["synapse.F"] - 1) - (0.02 if v["transfer.mode"] == "open" else 0))
    files = plot_sweep(grid, recs, tmp_path / "grid")
    assert sorted(f.name for f in files) == ["accuracy_vs_synapse_F.png", "accuracy_vs_transfer_mode.png",
                                             "heatmap_synapse_F__transfer_mode.png"]
    s = summary(grid, recs)
    assert [x["equivalent"] for x in s] == [True, False, False, False, False, False]
    assert s[0]["gap_pp"] == pytest.approx(0.1) and s[0]["n"] == 2   # seeds 0, 1: +0 and +0.2 pp → mean +0.1
    assert "float baseline: 90.00 %" in format_summary(grid, recs)
    path = write_sweep('"synapse.F" = { min = 1, max = 6 }\n"pcm.c2c_scale" = { min = 0, max = 4 }', name="r.toml")
    path.write_text(path.read_text().replace('name = "tiny"', 'name = "tiny"\nsampling = "random"\nsamples = 12'))
    rnd = load_sweep(path)
    files = plot_sweep(rnd, _records(rnd, lambda v: 0.905 - 0.004 * v["synapse.F"] - 0.002 * v["pcm.c2c_scale"]),
                       tmp_path / "random")
    assert any(f.name == "heatmap_synapse_F__pcm_c2c_scale.png" for f in files) and all(f.stat().st_size for f in files)
