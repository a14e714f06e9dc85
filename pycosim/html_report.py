"""``pycosim report PATH… --html OUT.html``: one self-contained HTML page of runs, sweeps and validations.

Each PATH is a training run directory (``metrics.json`` + ``config.toml``), a sweep directory
(``sweep.json``) or a ``pycosim validate`` output directory (``validate.json``). The page has, per run:
accuracy against its float baseline (``train --baseline``), the figures of ``RUNDIR/plots/`` (learning
curve, PCM drift between transfers, transfer correlation, conductance histograms, energy breakdown),
timing, the values the "auto" settings resolved to, the provenance of the calibration bundle and the data
set, and the full settings (``config.toml``); per sweep: the summary table with its verdicts and warnings
and its plots; per validation: the table, the verdict line and every per-quantity parity plot on one
page. Figures are embedded (``data:`` URLs), styles inline, nothing is fetched from a network. The page
records, once loaded, how many of its figures rendered (``<body data-figures-rendered="k/n">``) and how
many script errors occurred (``data-errors``), which a browser test reads.

The file is written atomically (:func:`pycosim.files.atomic_write_bytes`); ``<meta name="pycosim-report"
content="VERSION">`` carries the page's schema version (:data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from pycosim.errors import ConfigError

SCHEMA_VERSION = 1

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
h3{font-size:1.05em;margin-top:1.4em}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:.9em;vertical-align:top}
th{background:#f4f4f4}pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:.8em}
figure{margin:12px 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.warn{background:#fff4e0;border-left:4px solid #f0a000;padding:6px 10px;margin:8px 0}
.ok{color:#1a7f37}.bad{color:#b42318;font-weight:bold}.grid{display:flex;flex-wrap:wrap;gap:10px}
.grid figure{flex:1 1 320px;max-width:48%}
"""

#: The page's own script: counts rendered figures and script errors into <body> attributes.
_SCRIPT = """
(function(){var errors=0;
window.addEventListener('error',function(){errors+=1;document.body.dataset.errors=String(errors);},true);
window.addEventListener('load',function(){var imgs=document.images,ok=0;
for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0&&imgs[i].naturalHeight>0){ok+=1;}}
document.body.dataset.figuresRendered=ok+'/'+imgs.length;document.body.dataset.errors=String(errors);});})();
"""


def _e(x) -> str:
    return html.escape(str(x))


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _table(rows, head=None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def kind_of(p: Path) -> str:
    """'run', 'sweep' or 'validation': what the directory *p* holds (ConfigError, one line, otherwise)."""
    if (p / "metrics.json").is_file() and (p / "config.toml").is_file():
        return "run"
    if (p / "sweep.json").is_file():
        return "sweep"
    if (p / "validate.json").is_file():
        return "validation"
    raise ConfigError(f"report: {p} is not a training run, sweep or validation directory "
                      f"(no metrics.json + config.toml, sweep.json or validate.json)")


_RUN_FIGURES = (("learning_curve.png", "learning curve (against float, if trained with --baseline)"),
                ("weight_drift.png", "PCM-pair weights between transfers (drift)"),
                ("transfer_correlation.png", "last transfer: target against programmed weight"),
                ("conductances.png", "conductance and V_C histograms"),
                ("energy_breakdown.png", "energy per training example and GOP/s/W (pycosim report)"),
                ("accuracy_vs_time.png", "accuracy over time after training (pycosim evaluate)"))


def _run_section(p: Path) -> str:
    m = json.loads((p / "metrics.json").read_text())
    out = [f"<h2>Run {_e(p.name)}: {_e(m.get('preset'))} {_e('-'.join(map(str, m.get('layers', []))))}</h2>"]
    b = m.get("baseline")
    acc = [("test accuracy", _pct(m.get("test_accuracy"))),
           ("epochs", f"{m.get('epochs_done')} of {m.get('epochs')}"),
           ("test accuracy per epoch", ", ".join(_pct(a) for a in m.get("test_accuracy_per_epoch") or []))]
    if b:
        acc += [("float baseline", _pct(b.get("test_accuracy"))),
                ("gap (pp)", "—" if b.get("gap_pp") is None else f"{b['gap_pp']:+.2f}"),
                ("float baseline converged", f"{'yes' if b.get('converged') else 'NO'} ({b.get('convergence')})")]
    else:
        acc.append(("float baseline", "not trained (pycosim train --baseline)"))
    out.append("<h3>Accuracy against float</h3>" + _table(acc))
    if b and not b.get("converged"):
        out.append('<p class="warn">The float baseline has not converged at this budget: the gap is not a '
                   "verdict on the devices.</p>")
    from pycosim.evaluate.report import si

    tr = m.get("transfers") or {}
    sched = m.get("schedule") or {}
    timing = [("hardware time per example", si(m.get("t_example_hardware_s"), "s")),
              ("simulated hardware time", si(m.get("hardware_time_s"), "s")),
              ("transfers", f"{tr.get('count')} (total {si(tr.get('total_duration_s'), 's')}, "
                            f"overruns {tr.get('overruns')})"),
              ("schedule", ", ".join(f"{k} {si(v, 's') if isinstance(v, float) else v}" for k, v in sched.items())),
              ("wall time of training", f"{m.get('train_seconds', 0):.1f} s "
                                        f"({m.get('examples_per_second') or 0:.0f} examples/s)")]
    out.append("<h3>Timing</h3>" + _table(timing))
    figs = [(p / "plots" / f, cap) for f, cap in _RUN_FIGURES if (p / "plots" / f).is_file()]
    if figs:
        out.append("<h3>Figures</h3><div class=grid>" + "".join(_img(f, c) for f, c in figs) + "</div>")
    rs = m.get("resolved_settings") or {}
    if rs:
        out.append('<h3>"auto" settings, as resolved (per layer)</h3>'
                   + _table([(k, json.dumps(v)) for k, v in rs.items()], ("setting", "value per layer")))
    cal = m.get("calibration") or {}
    prov = cal.get("provenance") or {}
    ds = m.get("dataset") or {}
    out.append("<h3>Provenance</h3>" + _table([
        ("calibration bundle", cal.get("path") or "— (float)"),
        ("bundle tables SHA-256", prov.get("tables_sha256") or "—"),
        ("data set", f"{ds.get('name')} ({ds.get('spec') or ''})"),
        ("data set SHA-256", ds.get("sha256") or "—"),
        ("pycosim version", m.get("pycosim_version"))]))
    out.append("<h3>Settings (config.toml)</h3><pre>" + _e((p / "config.toml").read_text()) + "</pre>")
    return "".join(out)


def _sweep_section(p: Path) -> str:
    from pycosim.sweep import load_sweep
    from pycosim.sweep.results import (JOURNAL, convergence_warning, format_summary, no_transfer_warning,
                                       read_journal)

    doc = json.loads((p / "sweep.json").read_text())
    out = [f"<h2>Sweep {_e(doc.get('name', p.name))}</h2>"]
    records = read_journal(p / JOURNAL)
    try:      # the sweep file the directory keeps a copy of, with the budget it ran
        bud = doc.get("budget_name")
        sweep = load_sweep(p / "sweep.toml", budget=None if bud in (None, "default") else bud)
        if sweep.hash != doc.get("hash"):
            sweep = None
    except (ConfigError, OSError):
        sweep = None
    if sweep is not None:
        for w in (convergence_warning(sweep, records), no_transfer_warning(sweep, records)):
            if w:
                out.append(f'<p class="warn">{_e(w)}</p>')
        out.append("<pre>" + _e(format_summary(sweep, records)) + "</pre>")
    elif (p / "results.csv").is_file():
        out.append("<pre>" + _e((p / "results.csv").read_text()) + "</pre>")
    figs = sorted((p / "plots").glob("*.png")) if (p / "plots").is_dir() else []
    if figs:
        out.append("<div class=grid>" + "".join(_img(f, f.stem.replace("_", " ")) for f in figs) + "</div>")
    return "".join(out)


def _validation_section(p: Path) -> str:
    doc = json.loads((p / "validate.json").read_text())
    cls = "ok" if doc.get("passed") else "bad"
    out = [f"<h2>Validation {_e(p.name)}: array model against SPICE</h2>",
           f'<p class="{cls}">{_e(doc.get("verdict") or ("passed" if doc.get("passed") else "DISAGREE"))}</p>',
           "<pre>" + _e(doc.get("table", "")) + "</pre>"]
    figs = sorted(f for f in p.glob("parity_*.png") if f.name != "parity_summary.png")   # the same plots again
    if figs:
        out.append("<h3>Every quantity: model against SPICE</h3><div class=grid>"
                   + "".join(_img(f, f.stem.replace("parity_", "").replace("_", " ")) for f in figs) + "</div>")
    return "".join(out)


def render(paths) -> str:
    """The HTML text of the report of *paths* (run, sweep or validation directories; ConfigError for
    anything else, before anything is written)."""
    from pycosim import __version__

    ps = [Path(x).expanduser() for x in paths]
    if not ps:
        raise ConfigError("report: give at least one directory")
    kinds = [kind_of(p) for p in ps]
    sections = {"run": _run_section, "sweep": _sweep_section, "validation": _validation_section}
    body = "".join(sections[k](p) for k, p in zip(kinds, ps))
    title = "pycosim report: " + ", ".join(p.name for p in ps)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="pycosim-report" content="{SCHEMA_VERSION}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
            f'<body data-figures-rendered="" data-errors="0"><h1>{_e(title)}</h1>'
            f"<p>pycosim {__version__}; one self-contained page (figures embedded, nothing fetched).</p>"
            f"{body}<script>{_SCRIPT}</script></body></html>\n")


def write_html(paths, out_html) -> Path:
    """Write :func:`render` of *paths* to *out_html* atomically; returns its path."""
    from pycosim.files import atomic_write_bytes

    out = Path(out_html).expanduser()
    if out.is_dir():
        raise ConfigError(f"--html {out}: is a directory; give a file name such as report.html")
    if not out.parent.is_dir():
        raise ConfigError(f"--html {out}: directory {out.parent} does not exist")
    text = render(paths)
    return atomic_write_bytes(out, text.encode())
