"""Draw the 2PCM+3T1C synapse characteristic (docs/img/synapse_weight.png) with ngspice.

What it does: builds one DC-read deck of many `synapse` instances (netlists/synapse.lib) for a grid of
PCM states (crystalline fractions xcp, xcm of G⁺, G⁻) and 3T1C capacitor voltages V_C, once with
pol = +1 and once with pol = −1, plus one deck in which every device is read alone. The three decks
run in parallel through `pycosim.spice.run_many`. The weight read from the synapse netlist,
W = (I(colp) − I(coln))/V_read, is plotted against W = F·(G⁺ − G⁻) + pol·(g − g_shared) computed
from the individual device reads (the identity of Ambrogio et al., Nature 558, 60 (2018), Figs. 1–2,
that tests/spice/test_synapse.py checks), and against V_C for a few PCM states. Nominal devices
(mc = 0), row at V_read = 0.1 V, columns at 0 V, F = 3, reference gate 0.5 V.

The decks and the device-read helper are those of tests/spice/test_synapse.py (imported, not
copied), so the figure shows exactly what the test checks.

Run from the repository root (about 7 s on 2 cores, 2 s when the SPICE results are cached):

    python docs/make_synapse_figure.py            # writes docs/img/synapse_weight.png
    python docs/make_synapse_figure.py OUT.png
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pycosim.spice import run_many  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
US = 1e6  # S → µS


def _synapse_test_module():
    """tests/spice/test_synapse.py as a module (its deck builders and read helper)."""
    path = ROOT / "tests" / "spice" / "test_synapse.py"
    spec = importlib.util.spec_from_file_location("_test_synapse", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(out: Path) -> None:
    ts = _synapse_test_module()
    x_levels = (0.0, 0.25, 0.5, 0.75, 1.0)          # crystalline fraction of G⁺ and G⁻ (–)
    vc_levels = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # 3T1C capacitor voltage (V)
    states = np.array([(xp, xm, vc) for xp, xm, vc in itertools.product(x_levels, x_levels, vc_levels)])
    n = len(states)
    dev, pos, neg = run_many([dict(netlist=ts._devices_deck(states)),
                              dict(netlist=ts._synapse_deck(states, +1)),
                              dict(netlist=ts._synapse_deck(states, -1))], workers=2)
    gp, gm, g, gsh = ts._device_conductances(dev, n)   # S, each device read alone at V_read

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 5.2))
    lim = 0.0
    for pol, res, color in ((+1, pos, "tab:red"), (-1, neg, "tab:blue")):
        ip = np.array([res.i(f"vcp{k}")[0] for k in range(n)])   # A into colp
        im = np.array([res.i(f"vcn{k}")[0] for k in range(n)])   # A into coln
        w_spice = (ip - im) / ts.VREAD                            # S, from the synapse netlist
        w_dev = ts.F * (gp - gm) + pol * (g - gsh)                # S, from the devices read alone
        err = np.abs(w_spice - w_dev).max()
        print(f"pol={pol:+d}: {n} synapses, W from {w_spice.min() * US:.2f} to {w_spice.max() * US:.2f} µS, "
              f"max |W_synapse − W_devices| = {err * US:.2e} µS")
        ax1.plot(w_dev * US, w_spice * US, "o", ms=3, color=color, alpha=0.7,
                 label=f"pol = {pol:+d} (max |ΔW| = {err * US:.1e} µS)")
        lim = max(lim, np.abs(w_spice).max() * US, np.abs(w_dev).max() * US)
        # right panel: W(V_C) at three PCM states
        for (xp, xm), ls in zip(((1.0, 0.0), (0.5, 0.5), (0.0, 1.0)), ("-", "--", ":")):
            sel = (states[:, 0] == xp) & (states[:, 1] == xm)
            ax2.plot(states[sel, 2], w_spice[sel] * US, ls, marker="o", ms=3, color=color,
                     label=f"pol = {pol:+d}, xcp = {xp:g}, xcm = {xm:g}")
    lim *= 1.05
    ax1.plot([-lim, lim], [-lim, lim], "k-", lw=0.6, label="W_synapse = W_devices")
    ax1.set(xlabel="F·(G⁺ − G⁻) + pol·(g − g_shared), devices read alone (µS)",
            ylabel="W = ΔI/V_read, synapse netlist (µS)",
            title=f"synapse read, V_read = {ts.VREAD} V, F = {ts.F:g}")
    ax1.legend(fontsize=8)
    ax2.axvline(ts.VREF_GATE, color="grey", ls=":", lw=0.8)
    ax2.set(xlabel="3T1C capacitor voltage V_C (V)", ylabel="W, synapse netlist (µS)",
            title=f"lower-significance term (g_shared at V_ref = {ts.VREF_GATE} V)")
    ax2.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"g_shared = {gsh * US:.3f} µS; G⁺/G⁻ from {gp.min() * US:.3f} to {gp.max() * US:.2f} µS; "
          f"g from {g.min() * US:.2f} to {g.max() * US:.2f} µS; wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "synapse_weight.png")
