"""Draw the 3T1C design trade-off (docs/img/lsp_tradeoff.png) with ngspice.

Left: storage capacitor cs versus update step ΔV (nominal cell, circuits/lsp_up_down.cir at the
default pulse levels), the number of steps in the V_C window 0.3–1.1 V, the programming energy per
up pulse (sources vsup/vvp/vvn/vup/vdn, pycosim.characterize.common.energy_J) and the kT/C noise that
a reset leaves on the node (sqrt(kT/C_tot), C_tot ≈ cs + 3 fF; not simulated, analytic).
Right: the gate-off level beyond the rails (0 … 0.3 V) versus the 99th percentile of |dV_C/dt| over
Monte Carlo cells and V_C 0.1–1.1 V (circuits/lsp_retention.cir, 1 ms holds), for the first design's
programming-FET length (0.35 µm) and the new one (1 µm); the dashed line is the retention budget
2·ΔV / t_hold (two 5-mV steps over one transfer interval, pycosim.timing.T_HOLD_S). Leak and step both
scale as 1/C_tot, so the budget in units of steps does not depend on cs; the gate-off level and the
channel length set it.

Run from the repository root (about 1 min on 2 cores):

    python docs/make_lsp_tradeoff.py            # writes docs/img/lsp_tradeoff.png, prints the numbers
    python docs/make_lsp_tradeoff.py OUT.png [--mc 20]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pycosim.characterize import lsp  # noqa: E402
from pycosim.characterize.common import energy_J  # noqa: E402
from pycosim.spice import run_many  # noqa: E402
from pycosim.timing import T_HOLD_S  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KT = 1.380649e-23 * 300.15   # J
CS_F = (10e-15, 20e-15, 30e-15, 50e-15, 100e-15)
BOOST_V = (0.0, 0.1, 0.2, 0.3)
LENGTHS = (0.35e-6, 1e-6)
GRID = {"vlo": 0.1, "vstep": 0.2, "nv": 6}   # hold starts 0.1 .. 1.1 V


def _retention_deck(l_m: float) -> str:
    """circuits/lsp_retention.cir with the programming FETs' channel length set to *l_m*."""
    text = (ROOT / "circuits" / "lsp_retention.cir").read_text().replace("../netlists/", "netlists/")
    return text.replace("lsp_3t1c vc0={vlo} cs={cs} mc={mc}",
                        f"lsp_3t1c vc0={{vlo}} cs={{cs}} mc={{mc}} l_up={l_m:g} l_dn={l_m:g}")


def main(out: Path, mc: int) -> None:
    ud = run_many([dict(netlist="circuits/lsp_up_down.cir", params={"mc": 0, "cs": c}) for c in CS_F])
    k, tper = 30, 100e-9
    step = np.array([r.meas["dv_up"] for r in ud])
    energy = np.array([energy_J(r, lsp.PROGRAMMING_SOURCES, 0.0, k * tper) / k for r in ud])
    ktc = np.sqrt(KT / (np.array(CS_F) + 3e-15))
    jobs, keys = [], []
    for l_m in LENGTHS:
        deck = _retention_deck(l_m)
        for b in BOOST_V:
            for s in range(1, mc + 1):
                jobs.append(dict(netlist=deck, seed=s, keep=("vc",),
                                 params={**GRID, "thold": 1e-3, "vup_off": 1.2 + b, "vdn_off": -b}))
                keys.append((l_m, b))
    res = run_many(jobs)
    p99 = {}
    for l_m in LENGTHS:
        for b in BOOST_V:
            sel = [r for r, key in zip(res, keys) if key == (l_m, b)]
            _, rate, _ = lsp.leak_grid(sel)
            p99[(l_m, b)] = float(np.percentile(np.abs(rate), 99))
    budget = 2 * 5e-3 / T_HOLD_S  # V/s

    print("cs (fF) | step up (mV) | steps in 0.3-1.1 V | E per up pulse (fJ) | sqrt(kT/C) (mV)")
    for c, st, e, n in zip(CS_F, step, energy, ktc):
        print(f"{c*1e15:7.0f} | {st*1e3:12.2f} | {0.8/st:18.0f} | {e*1e15:19.3f} | {n*1e3:.3f}")
    print(f"p99 |dV_C/dt| (mV/ms) over {mc} MC cells x V_C 0.1-1.1 V, cs = 30 fF; budget 2 x 5 mV / "
          f"{T_HOLD_S*1e3:.1f} ms = {budget:.3f} mV/ms")
    for l_m in LENGTHS:
        print(f"  L = {l_m*1e6:.2f} um: " + ", ".join(f"off {b:.1f} V beyond rails: {p99[(l_m, b)]:.4g}" for b in BOOST_V))

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.6))
    cs_ff = np.array(CS_F) * 1e15
    ax1.plot(cs_ff, step * 1e3, "o-", color="tab:red", label="update step ΔV_up (mV)")
    ax1.plot(cs_ff, ktc * 1e3, "s--", color="tab:gray", label="reset kT/C noise √(kT/C_tot) (mV)")
    ax1.plot(cs_ff, energy * 1e15, "^-", color="tab:green", label="energy per up pulse (fJ)")
    ax1.set(xscale="log", yscale="log", xlabel="storage capacitor cs (fF)", ylabel="mV  /  fJ",
            title="capacitor: step, energy, kT/C\n(nominal cell)")
    ax1.axvline(30, color="k", lw=0.6, ls=":")
    ax1.text(31, 1.0, "default 30 fF", fontsize=8)
    axr = ax1.twinx()
    axr.plot(cs_ff, 0.8 / step, "d:", color="tab:blue", label="steps in V_C 0.3–1.1 V")
    axr.set_ylabel("update steps in the V_C window", color="tab:blue")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = axr.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
               frameon=False)   # below the axes: it covers no curve
    for l_m, color in zip(LENGTHS, ("tab:orange", "tab:purple")):
        ax2.plot(BOOST_V, [p99[(l_m, b)] for b in BOOST_V]  # V/s = mV/ms
                , "o-", color=color,
                 label=f"L_up = L_dn = {l_m*1e6:.2f} µm")
    ax2.axhline(budget, color="k", ls="--", lw=1,
                label=f"budget: 2 steps (10 mV) / {T_HOLD_S*1e3:.1f} ms")
    ax2.set(yscale="log", xlabel="gate-off level beyond the rails (V)", ylabel="p99 |dV_C/dt| (mV/ms)",
            title=f"leakage: {mc} Monte Carlo cells\n× V_C 0.1–1.1 V (cs = 30 fF)")
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.suptitle("3T1C trade-off (netlists/lsp_3t1c.lib, ngspice):\ncapacitor vs step vs energy; gate-off vs leakage",
                 fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")   # the canvas holds every title and legend
    print(f"wrote {out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(ROOT / "docs" / "img" / "lsp_tradeoff.png"))
    ap.add_argument("--mc", type=int, default=20)
    a = ap.parse_args()
    main(Path(a.out), a.mc)
