"""Plots of a sweep (PNG, written to ``DIR/plots/``).

* ``accuracy_vs_<path>.png`` for every varied setting: test accuracy against the setting — mean over
  seeds with the seed spread (bars: ± one standard deviation, dots: each seed), one line per combination
  of the other varied settings (averaged over them beyond six lines), and the float baseline with its
  software-equivalence band (baseline − 0.5 percentage points).
* ``heatmap_<p1>__<p2>.png`` for pairs of varied settings: mean accuracy over two settings (averaged over
  seeds and any other setting) with the software-equivalence contour: the boundary around the cells whose
  mean gap to the float baseline is at least −0.5 percentage points (marked ★); for randomly sampled
  numeric settings, a scatter of the points with the −0.5 pp contour interpolated between them.
  Only cells whose float baselines converged at the budget can be equivalent
  (:func:`pycosim.sweep.results.verdict`); the others are left unmarked and the title says they are
  undetermined.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from pycosim.plots import pyplot, save_figure
from pycosim.sweep.results import EQUIVALENCE_PP, baseline_accuracy, convergence_warning, equivalent, rows

MAX_LINES = 6


def _key(v) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _label(v) -> str:
    if isinstance(v, str) and ("/" in v):
        return Path(v).name or v
    return f"{v:g}" if isinstance(v, float) else str(v)


def _finished_points(sweep, records):
    return [r for r in rows(sweep, records) if r["kind"] == "point" and r["status"] == "finished"
            and r["test_accuracy"] is not None]


def _axis(values):
    """Sorted distinct values, their positions on the axis, and whether the axis is numeric/log."""
    uniq = {_key(v): v for v in values}
    vals = list(uniq.values())
    numeric = _numeric(vals)
    if numeric:
        vals.sort()
        log = min(vals) > 0 and max(vals) / min(vals) >= 20
        pos = {_key(v): float(v) for v in vals}
    else:
        log = False
        pos = {_key(v): float(i) for i, v in enumerate(vals)}
    return vals, pos, numeric, log


def _baseline_band(ax, sweep, records):
    b, _ = baseline_accuracy(sweep, records)
    if b is None:
        return
    note = " (NOT converged at this budget: verdicts undetermined)" if convergence_warning(sweep, records) else ""
    ax.axhline(100 * b, color="k", lw=1.2, label=f"float baseline {100 * b:.2f} %{note}")
    ax.axhspan(100 * b - EQUIVALENCE_PP, 100 * b, color="0.85", zorder=0,
               label=f"software-equivalent (≥ baseline − {EQUIVALENCE_PP} pp)")


def plot_accuracy_vs(sweep, records, param: str, path) -> Path | None:
    """Accuracy versus one varied setting *param* with seed spread; None if nothing finished."""
    plt = pyplot()

    data = _finished_points(sweep, records)
    if not data:
        return None
    vals, pos, numeric, log = _axis([r[param] for r in data])
    others = [p for p in sweep.varied if p != param]
    groups: dict[str, list] = {}
    for r in data:
        g = _key([r[p] for p in others])
        groups.setdefault(g, []).append(r)
    if len(groups) > MAX_LINES:
        groups = {"__all__": data}
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for gi, (g, rs) in enumerate(groups.items()):
        by_x: dict[str, list] = {}
        for r in rs:
            by_x.setdefault(_key(r[param]), []).append(100 * r["test_accuracy"])
        xs = sorted(by_x, key=lambda k: pos[k])
        x = np.array([pos[k] for k in xs])
        mean = np.array([np.mean(by_x[k]) for k in xs])
        std = np.array([np.std(by_x[k]) for k in xs])
        if g == "__all__":
            label = f"mean over {', '.join(others)}"
        elif others:
            label = ", ".join(f"{p}={_label(v)}" for p, v in zip(others, json.loads(g)))
        else:
            label = f"mean ± std over seeds {', '.join(map(str, sweep.seeds))}"
        line = ax.errorbar(x, mean, yerr=std, marker="o", capsize=3, label=label)
        for k in xs:
            ax.scatter([pos[k]] * len(by_x[k]), by_x[k], s=10, alpha=0.5, color=line[0].get_color())
    _baseline_band(ax, sweep, records)
    if log:
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks([pos[_key(v)] for v in vals], [_label(v) for v in vals])
    ax.set_xlabel(param)
    ax.set_ylabel("test accuracy (%)")
    b = sweep.budget
    ax.set_title(f"{sweep.name}: {b['train_subset'] or 'all'} train ex. × {b['epochs']} epoch(s), "
                 f"{b['test_subset'] or 'all'} test ex.", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def equivalence_edges(inside: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Boundary of the True cells of a (rows, cols) grid as segments (x0, y0, x1, y1) in cell-index
    coordinates (cell (i, j) spans x = j ± 0.5, y = i ± 0.5): the contour that encloses exactly the
    software-equivalent cells, also for categorical axes and single cells."""
    rows, cols = inside.shape
    out = []
    for i in range(rows):
        for j in range(cols):
            if not inside[i, j]:
                continue
            for di, dj, seg in ((-1, 0, (j - .5, i - .5, j + .5, i - .5)), (1, 0, (j - .5, i + .5, j + .5, i + .5)),
                                (0, -1, (j - .5, i - .5, j - .5, i + .5)), (0, 1, (j + .5, i - .5, j + .5, i + .5))):
                ni, nj = i + di, j + dj
                if not (0 <= ni < rows and 0 <= nj < cols) or not inside[ni, nj]:
                    out.append(seg)
    return out


def plot_heatmap(sweep, records, p1: str, p2: str, path) -> Path | None:
    """Mean accuracy over settings *p1* (x) and *p2* (y) with the software-equivalence contour (mean gap
    to the float baseline = −0.5 pp); None if nothing finished."""
    plt = pyplot()

    data = _finished_points(sweep, records)
    if not data:
        return None
    xv, xpos, xnum, xlog = _axis([r[p1] for r in data])
    yv, ypos, ynum, ylog = _axis([r[p2] for r in data])
    if sweep.sampling == "random" and xnum and ynum:
        return _scatter_map(sweep, records, data, p1, p2, path)
    acc = np.full((len(yv), len(xv)), np.nan)
    gap = np.full_like(acc, np.nan)
    xi = {_key(v): i for i, v in enumerate(xv)}
    yi = {_key(v): i for i, v in enumerate(yv)}
    cells: dict[tuple, list] = {}
    for r in data:
        cells.setdefault((yi[_key(r[p2])], xi[_key(r[p1])]), []).append(r)
    conv = np.zeros(acc.shape, bool)
    for (i, j), rs in cells.items():
        acc[i, j] = 100 * np.mean([r["test_accuracy"] for r in rs])
        g = [r["gap_pp"] for r in rs if r["gap_pp"] is not None]
        gap[i, j] = np.mean(g) if g else np.nan
        conv[i, j] = bool(g) and all(r.get("baseline_converged") for r in rs if r["gap_pp"] is not None)
    eq = equivalent(gap) & conv
    undetermined = int(np.sum(np.isfinite(gap) & ~conv))
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    im = ax.imshow(acc, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label="test accuracy (%), mean over seeds")
    for (i, j) in cells:
        star = " ★" if eq[i, j] else ""
        ax.text(j, i, f"{acc[i, j]:.1f}{star}", ha="center", va="center", fontsize=7,
                color="w" if acc[i, j] < np.nanmean(acc) else "k")
    for x0, y0, x1, y1 in equivalence_edges(eq):
        ax.plot([x0, x1], [y0, y1], color="r", lw=2.5, solid_capstyle="round")
    ax.plot([], [], color="r", lw=2.5, label=f"software-equivalence contour: gap to float ≥ −{EQUIVALENCE_PP} pp inside (★)"
            if eq.any() else "no cell software-equivalent against a converged float baseline (no contour)")
    ax.set_xticks(range(len(xv)), [_label(v) for v in xv], rotation=30 if len(xv) > 6 else 0)
    ax.set_yticks(range(len(yv)), [_label(v) for v in yv])
    ax.set_xlabel(p1)
    ax.set_ylabel(p2)
    b, _ = baseline_accuracy(sweep, records)
    ax.set_title(f"{sweep.name}" + (f" (float baseline {100 * b:.2f} %)" if b is not None else "")
                 + _undetermined_note(undetermined), fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return save_figure(fig, path)


def _undetermined_note(n: int) -> str:
    return (f"\n{n} cell(s) undetermined: float baseline not converged at this budget (unmarked)" if n else "")


def _scatter_map(sweep, records, data, p1: str, p2: str, path) -> Path:
    """Randomly sampled numeric settings: each point a dot coloured by its mean accuracy, equivalent points
    starred, the −0.5 pp contour of the mean gap interpolated over a triangulation (≥ 3 points)."""
    plt = pyplot()

    pts: dict[tuple, list] = {}
    for r in data:
        pts.setdefault((r[p1], r[p2]), []).append(r)
    x = np.array([k[0] for k in pts], float)
    y = np.array([k[1] for k in pts], float)
    acc = np.array([100 * np.mean([r["test_accuracy"] for r in rs]) for rs in pts.values()])
    gap = np.array([np.mean([r["gap_pp"] for r in rs if r["gap_pp"] is not None] or [np.nan]) for rs in pts.values()])
    conv = np.array([all(r.get("baseline_converged") for r in rs if r["gap_pp"] is not None)
                     and any(r["gap_pp"] is not None for r in rs) for rs in pts.values()])
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    sc = ax.scatter(x, y, c=acc, cmap="viridis", s=60, edgecolors="k", linewidths=0.5)
    fig.colorbar(sc, ax=ax, label="test accuracy (%), mean over seeds")
    eq = equivalent(gap) & conv
    ax.scatter(x[eq], y[eq], marker="*", s=120, color="r", label=f"software-equivalent (gap ≥ −{EQUIVALENCE_PP} pp)")
    ok = np.isfinite(gap) & conv
    if ok.sum() >= 3 and np.nanmin(gap) < -EQUIVALENCE_PP <= np.nanmax(gap):
        try:
            ax.tricontour(x[ok], y[ok], gap[ok], levels=[-EQUIVALENCE_PP], colors="r", linewidths=2,
                          linestyles="solid")
        except (ValueError, RuntimeError):   # collinear points: no triangulation
            pass
    ax.set_xlabel(p1)
    ax.set_ylabel(p2)
    ax.set_title(f"{sweep.name}: {len(pts)} random points"
                 + _undetermined_note(int(np.sum(np.isfinite(gap) & ~conv))), fontsize=9)
    ax.margins(0.06)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return save_figure(fig, path)


def _file_part(p: str) -> str:
    return p.replace(".", "_").replace("/", "_")


def plot_sweep(sweep, records, plots_dir) -> list[Path]:
    """Every plot of the module docstring for *sweep* (heat maps for each pair of the first three varied
    settings); returns the files written."""
    out = []
    plots_dir = Path(plots_dir)
    for p in sweep.varied:
        f = plot_accuracy_vs(sweep, records, p, plots_dir / f"accuracy_vs_{_file_part(p)}.png")
        if f:
            out.append(f)
    for p1, p2 in itertools.combinations(sweep.varied[:3], 2):
        f = plot_heatmap(sweep, records, p1, p2, plots_dir / f"heatmap_{_file_part(p1)}__{_file_part(p2)}.png")
        if f:
            out.append(f)
    return out
