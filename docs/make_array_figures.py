"""Figures of docs/array.md: closure of the array model against the bundle, and one transfer.

    .venv/bin/python docs/make_array_figures.py [--calibration CAL_DIR]

Writes docs/img/array_closure.png and docs/img/array_transfer.png from the shipped bundle (or CAL_DIR).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent

from pycosim import calibration  # noqa: E402
from pycosim.array import ArrayConfig, Crossbar  # noqa: E402
from pycosim.devices import assign_instances, lsp, pcm  # noqa: E402


def closure(b, out: Path) -> None:
    rng = np.random.default_rng(2018)
    pp = pcm.population(b, drift=False, read_noise=False)
    st = b["pcm/staircase_g_S"] * 1e6
    sims = []
    for _ in range(20):
        inst = assign_instances((100,), pp.n, rng)
        g, c = pp.g_initial_S[inst], np.zeros(inst.size, np.int32)
        tr = [g]
        for _ in range(st.shape[1] - 1):
            g, c = pcm.set_pulses(g, 1, inst, pp, rng, since=c)
            tr.append(g)
        sims.append(np.array(tr).T * 1e6)
    sim = np.concatenate(sims)
    c2c = "dv_up_c2c_sigma_V" in b.scalars["lsp"]
    lp = lsp.population(b, c2c=c2c, reset=False, read_noise=False)
    ref = b["lsp/updown_g_S"] * 1e6
    k = (ref.shape[1] - 1) // 2
    inst = assign_instances((ref.shape[0],), lp.n, rng)
    v = b["lsp/updown_vc_V"][inst, 0].astype(np.float32)
    gs = [lsp.g_of_vc(v, inst, lp)]
    one = np.ones(inst.size, int)
    for j in range(2 * k):
        v = lsp.apply_pulses(v, one if j < k else 0, 0 if j < k else one, inst, lp, rng)
        gs.append(lsp.g_of_vc(v, inst, lp))
    g3 = np.array(gs).T * 1e6
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    n = np.arange(st.shape[1])
    ax[0].fill_between(n, st.mean(0) - st.std(0), st.mean(0) + st.std(0), color="C0", alpha=0.25, label="SPICE ±1σ (100)")
    ax[0].plot(n, st.mean(0), "C0", label="SPICE mean")
    ax[0].errorbar(n, sim.mean(0), sim.std(0), fmt="o", ms=3, color="C3", capsize=2, label="array model ±1σ (2,000)")
    ax[0].set(xlabel="SET pulse", ylabel="G (µS)", title="PCM partial-SET staircase")
    ax[0].legend(fontsize=8)
    n = np.arange(ref.shape[1])
    ax[1].fill_between(n, ref.mean(0) - ref.std(0), ref.mean(0) + ref.std(0), color="C0", alpha=0.25, label="SPICE ±1σ")
    ax[1].plot(n, ref.mean(0), "C0", label="SPICE mean")
    ax[1].errorbar(n, g3.mean(0), g3.std(0), fmt="o", ms=3, color="C3", capsize=2, label=f"array model ±1σ ({inst.size})")
    ax[1].set(xlabel=f"pulse ({k} up, then {k} down)", ylabel="g (µS)", title="3T1C up/down sequence")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def transfer_figure(b, out: Path) -> None:
    res = {}
    for mode in ("closed", "open"):
        xb = Crossbar(200, 50, ArrayConfig(), bundle=b, rng=5)
        rng = np.random.default_rng(11)
        xb.program((rng.standard_normal(xb.shape) * 0.15).astype(np.float32), mode="closed")
        for i in range(30):
            r = np.random.default_rng(100 + i)
            x = r.random(xb.n_in).astype(np.float32)
            x[x < 0.5] = 0
            xb.update(x, (r.standard_normal(xb.n_out) * 0.2).astype(np.float32), 0.3)
        res[mode] = xb.transfer(mode=mode)
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.2))
    for a, mode in zip(ax, ("closed", "open")):
        st = res[mode]
        a.plot(st.target, st.final, ".", ms=2, alpha=0.5)
        lim = [min(st.target.min(), st.final.min()), max(st.target.max(), st.final.max())]
        a.plot(lim, lim, "k-", lw=0.8)
        a.set(xlabel="target weight (read before the transfer)", ylabel="programmed weight",
              title=f"{mode}-loop: {st.frac_within_tol:.1%} within ±{st.tolerance}, rms err {st.err_rms:.3f}")
        a.text(0.03, 0.92, f"{st.n_moved} synapses moved\nSET {st.set_pulses}, RESET {st.resets}, verify {st.verify_reads}",
               transform=a.transAxes, fontsize=8, va="top")
    fig.suptitle("One transfer of a 200×50 2PCM+3T1C array after 30 updates", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calibration", default=None)
    ap.add_argument("--out", default=str(HERE / "img"))
    a = ap.parse_args(argv)
    b = calibration.load(a.calibration)   # default: the shipped bundle
    out = Path(a.out)
    os.makedirs(out, exist_ok=True)
    closure(b, out / "array_closure.png")
    transfer_figure(b, out / "array_transfer.png")
    print(f"wrote {out / 'array_closure.png'} and {out / 'array_transfer.png'}")


if __name__ == "__main__":
    main()
