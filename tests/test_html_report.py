"""``pycosim report … --html``: one self-contained page of a run (against float), a sweep and a validation,
opened in headless Chromium: every figure renders (non-zero natural size), no console message, a
screenshot. Without Chromium the browser test is skipped, naming the Debian package to install."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pycosim.cli import main
from pycosim.errors import ConfigError
from pycosim import html_report

BROWSERS = ("chromium-headless-shell", "chromium")


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """A run trained with --baseline, a finished tiny sweep and a validation directory."""
    from pycosim.datasets import sources
    from pycosim.plots import pyplot, save_figure
    from pycosim.sweep import run_sweep

    root = tmp_path_factory.mktemp("html")
    d = sources.load("mnist")
    npz = root / "tiny.npz"
    np.savez(npz, x_train=d.x_train[:150], y_train=d.y_train[:150], x_test=d.x_test[:40], y_test=d.y_test[:40])
    run = root / "run"
    assert main(["train", "--out", str(run), "--preset", "ambrogio2018-accel", "-s", "network.hidden=[8]",
                 "-s", "transfer.interval=50", "--epochs", "2", "--dataset", f"npz:{npz}", "--quiet",
                 "--baseline"]) == 0
    sw = root / "sweep.toml"
    sw.write_text(f'name = "tiny"\nbase = "ambrogio2018"\nset = ["network.hidden=4", "transfer.interval=50"]\n'
                  f'seeds = [0]\nbaseline = true\ndataset = "npz:{npz}"\n[budget]\nepochs = 1\ntrain_subset = 100\n'
                  f'test_subset = 40\n[vary]\n"synapse.F" = [2, 3]\n')
    run_sweep(sw, root / "sw", jobs=1, progress=False)
    val = root / "val"
    val.mkdir()
    (val / "validate.json").write_text(json.dumps({"passed": True, "table": "quantity  n  median  max  tol  result",
                                                   "verdict": "agree: 1 of 1 checked quantities agree"}))
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    save_figure(fig, val / "parity_read_forward.png")
    return run, root / "sw", val


def test_the_page_is_self_contained_and_has_every_section(dirs, tmp_path, capsys):
    run, sw, val = dirs
    out = tmp_path / "r.html"
    assert main(["report", str(run), str(sw), str(val), "--html", str(out)]) == 0
    text = out.read_text()
    assert '<meta name="pycosim-report" content="1">' in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text) and "<link" not in text  # no network
    imgs = re.findall(r'<img [^>]*src="data:image/png;base64,', text)
    run_pngs = [p for p in (run / "plots").glob("*.png")]
    assert {"learning_curve.png", "weight_drift.png", "energy_breakdown.png"} <= {p.name for p in run_pngs}
    assert len(imgs) == len(run_pngs) + len(list((sw / "plots").glob("*.png"))) + 1
    for words in ("Accuracy against float", "float baseline converged", "gap (pp)", "Provenance",
                  "data set SHA-256", "Settings (config.toml)", "Sweep tiny", "undet", "has not converged",
                  "Validation val", "agree: 1 of 1", '"auto" settings, as resolved', "Timing"):
        assert words in text, words
    with pytest.raises(ConfigError, match="not a training run, sweep or validation directory"):
        html_report.render([tmp_path])
    assert main(["report", str(tmp_path), "--html", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()


def test_the_page_renders_in_headless_chromium(dirs, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("headless Chromium not found: install the Debian package chromium-headless-shell (or chromium)")
    run, sw, val = dirs
    page = html_report.write_html([run, sw, val], tmp_path / "r.html")
    n_img = page.read_text().count("<img ")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
    url = page.resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    assert f'data-figures-rendered="{n_img}/{n_img}"' in body, body      # every figure has a natural size
    assert 'data-errors="0"' in body
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console                                         # no console message at all
    shot = tmp_path / "report.png"
    r = subprocess.run([browser, *flags, "--window-size=1280,2200", f"--screenshot={shot}", url],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and shot.stat().st_size > 10_000, r.stderr[-2000:]
    from matplotlib.image import imread

    px = imread(shot)
    assert px.shape[0] == 2200 and px.shape[1] == 1280 and px[..., :3].std() > 0.05   # not a blank page
    keep = os.environ.get("PYCOSIM_REPORT_SCREENSHOT")      # e.g. docs/img/html_report.png
    if keep:
        shutil.copyfile(shot, keep)
