"""Output of ``pycosim validate``: ``validate.json``, ``table.txt``, one parity plot per quantity and all of
them on one page (``parity_summary.png``).

The directory is assembled in a temporary sibling and renamed into place once complete, so an error or
Ctrl-C never leaves a half-written result (an existing validate output is replaced only then).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError
from pycosim.files import chmod_like_new

JSON_NAME = "validate.json"
TABLE_NAME = "table.txt"
SUMMARY_NAME = "parity_summary.png"     # every parity plot on one page


def check_out_dir(out_dir: str | os.PathLike) -> Path:
    """Check before any simulation that *out_dir* can receive the output: not a file, not a non-empty
    directory other than a previous validate output, its parent exists and is writable (ConfigError)."""
    d = Path(out_dir).expanduser()
    parent = d.resolve().parent
    problems = (
        (d.exists() and not d.is_dir(), "is a file, not a directory"),
        (d.is_dir() and any(d.iterdir()) and not (d / JSON_NAME).is_file(),
         "exists and is not a validate output directory; refusing to replace it"),
        (not parent.is_dir(), f"directory {parent} does not exist"),
        (parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK), f"cannot write in {parent}"),
    )
    for bad, why in problems:
        if bad:
            raise ConfigError(f"--out {d}: {why}")
    return d


def parity_plot(q, path: Path) -> None:
    """SPICE (x) versus array model (y) of one quantity, with the identity line and the tolerance band."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    _parity_axes(ax, q)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def summary_plot(quantities, path: Path) -> None:
    """Every quantity's parity plot (:func:`parity_plot`) on one page, four per row
    (``parity_summary.png``); an informational quantity's title says "info"."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    qs = list(quantities)
    cols = min(4, max(1, len(qs)))
    rows = -(-len(qs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.9 * rows), squeeze=False)
    for ax, q in zip(axes.ravel(), qs):
        _parity_axes(ax, q)
    for ax in axes.ravel()[len(qs):]:
        ax.axis("off")
    fig.suptitle("array model against SPICE: every quantity", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def _parity_axes(ax, q) -> None:
    s, m = q.spice * q.scale, q.model * q.scale
    lo, hi = float(min(s.min(), m.min())), float(max(s.max(), m.max()))
    pad = 0.05 * (hi - lo or abs(hi) or 1.0)
    line = np.array([lo - pad, hi + pad])
    ax.plot(line, line, color="k", lw=0.8, label="model = SPICE")
    if q.tol < 10:
        ax.fill_between(line, line - q.tol * np.abs(line), line + q.tol * np.abs(line), color="0.85",
                        label=f"±{q.tol:.0%}")
    bad = q.errors > q.tol
    ax.scatter(s[~bad], m[~bad], s=12, color="tab:blue", label="within tolerance" if q.tol < 10 else "elements")
    if bad.any() and q.tol < 10:
        ax.scatter(s[bad], m[bad], s=16, color="tab:red", label="beyond tolerance")
    unit = f" ({q.unit})" if q.unit else ""
    info = " (info, not checked)" if q.tol >= 10 else ""
    ax.set(xlabel=f"SPICE{unit}", ylabel=f"array model{unit}", xlim=line, ylim=line,
           title=f"{q.name}{info}\nmedian {np.median(q.errors):.2%}, max {q.errors.max():.2%}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper left")


def write(out_dir: str | os.PathLike, doc: dict, table_text: str, quantities) -> Path:
    """Write validate.json, table.txt and parity_<key>.png into *out_dir*, atomically (module docstring)."""
    d = check_out_dir(out_dir)
    parent = d.resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.", suffix=".tmp", dir=parent))
    try:
        chmod_like_new(tmp, directory=True)
        for q in quantities:
            parity_plot(q, tmp / f"parity_{q.key}.png")
        if quantities:
            summary_plot(quantities, tmp / SUMMARY_NAME)
        (tmp / TABLE_NAME).write_text(table_text + "\n")
        (tmp / JSON_NAME).write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")
        for f in tmp.iterdir():
            chmod_like_new(f)
        old = None
        if d.exists():
            old = d.with_name(f".{d.name}.old-{os.getpid()}")
            os.replace(d, old)
        os.replace(tmp, d)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return d
