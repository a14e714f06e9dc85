"""Figures of docs/circuits/pcm.md from real ngspice runs of the PCM benches.

    python docs/make_pcm_figures.py [--mc 40] [--seed 2018] [--out docs/img] [--bundle]

Runs the PCM characterisation jobs (:func:`pycosim.characterize.pcm.jobs`, *mc* devices) and
extracts them (:func:`pycosim.characterize.pcm.extract`), or with --bundle reads the shipped bundle (100
devices, real ngspice at characterisation), then draws, against the published
numbers (Nandakumar et al., ICECS 2019, as fitted in IBM's aihwkit PCM model):

* ``pcm_drift_nu.png``   drift exponent ν of every programmed level versus G/G_max (per device, mean
  ± σ) with the published mean band μ_ν(g) = clip(−0.0155·ln g + 0.0244, 0.049, 0.1) ± σ_ν(g);
* ``pcm_c2c_hist.png``   σ/mean of one SET step at three levels against the published preset's law, and ΔG of
  single mid-range SET pulses of the nominal device (cycle-to-cycle
  only), in units of the mean step, with a Gaussian of the same σ/mean (the preset's law, aihwkit
  PCMPresetDevice, σ = 0.6·(|Δw| + 0.042 + 0.108·|w|), Nandakumar et al. 2020, is the left panel);
* ``pcm_read_noise.png`` relative σ of one read integrated over t_int versus G/G_max (the bundle's G_max),
  with the published 0.0088·g^−0.65·√ln((t + t_read)/(2 t_read)) and its factor-1.5 band.

Prints the numbers of the "pycosim versus published" table of docs/circuits/pcm.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def published_nu(g):
    """aihwkit / Nandakumar et al. 2019: mean and σ of ν versus g = G/G_max."""
    lg = np.log(np.clip(g, 1e-6, None))
    return np.clip(-0.0155 * lg + 0.0244, 0.049, 0.1), np.clip(-0.0125 * lg - 0.0059, 0.008, 0.045)


def published_read_noise(g, t_s, t_read_s=250e-9):
    """σ/G of one read (Nandakumar et al. 2019), g = G/G_max, t = observation time (s)."""
    return np.minimum(0.0088 / np.asarray(g) ** 0.65, 0.2) * np.sqrt(np.log((t_s + t_read_s) / (2 * t_read_s)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mc", type=int, default=40, help="devices (Monte Carlo instances)")
    ap.add_argument("--seed", type=int, default=2018)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "img"))
    ap.add_argument("--bundle", action="store_true",
                    help="draw from the shipped calibration bundle (100 devices, no simulation) instead of --mc runs")
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pycosim.characterize import pcm
    from pycosim.spice import load, run_many

    if args.bundle:
        from pycosim import calibration
        b = calibration.load()
        s = b.scalars["pcm"]
        t = {k.split("/", 1)[1]: v for k, v in b.tables.items() if k.startswith("pcm/")}
    else:
        plan = [(b, j) for b, js in pcm.jobs(args.mc, args.seed).items() for j in js]
        res = run_many([dict(j, netlist=load(f"circuits/{b}.cir")) for b, j in plan], workers=2, progress=False)
        runs: dict[str, list] = {}
        for (b, _), r in zip(plan, res):
            runs.setdefault(b, []).append(r)
        s, t = pcm.extract(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # --- drift exponent versus level: nu fitted over 30 s ... 1e4 s (the published model's t >= t0 = 20 s),
    # G/G_max = G(1 s) over the mean G_max of pcm_reset (the bundle's g_max_mean_S)
    ts, gt = t["drift_t_s"], t["drift_g_S"]
    pub_t = ts >= pcm.DRIFT_PUB_T_MIN_S
    n_d, n_l, _ = gt.shape
    nu = pcm.fit_drift(ts[pub_t], gt[..., pub_t].reshape(n_d * n_l, -1))[0].reshape(n_d, n_l)
    g0 = gt[:, :, int(np.flatnonzero(ts == 1.0)[0])]
    gmax = s["g_max_mean_S"]
    gl = g0 / gmax
    fig, ax = plt.subplots(figsize=(5.8, 4.2), constrained_layout=True)
    gg = np.logspace(-3, 0.15, 200)
    mu, sd = published_nu(gg)
    ax.fill_between(gg, mu - sd, mu + sd, color="tab:orange", alpha=0.25, label="published mean ± σ (Nandakumar 2019)")
    ax.plot(gg, mu, color="tab:orange", lw=1.5)
    ax.scatter(gl.ravel(), nu.ravel(), s=6, color="tab:blue", alpha=0.35, label=f"pycosim, {len(nu)} devices × {n_l} levels")
    ax.errorbar(gl.mean(0), nu.mean(0), yerr=nu.std(0), fmt="o", color="k", capsize=3, label="pycosim mean ± σ per level")
    ax.axhspan(0.03, 0.12, color="0.9", zorder=-1, label="target band 0.03–0.12")
    ax.set(xscale="log", xlabel="G(1 s) / G_max", ylabel="drift exponent ν (30 s … 10⁴ s)",
           title="PCM drift of programmed levels", ylim=(0, 0.2))
    ax.legend(fontsize=7, loc="upper right")
    fig.savefig(out / "pcm_drift_nu.png", dpi=130)
    plt.close(fig)

    # --- cycle-to-cycle: sigma/mean of one step at three levels against the published preset's law, and the
    # histogram of the mid-range step
    w, dw = np.asarray(s["c2c_pub_w"]), np.asarray(s["c2c_pub_mean_dw"])
    rel, law = np.asarray(s["c2c_pub_rel_sigma"]), np.asarray(s["c2c_pub_law_rel_sigma"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.6, 3.8), constrained_layout=True)
    a1.plot(w, rel, "o-", color="tab:blue", label="pycosim (nominal device, 100 pulses per level)")
    a1.plot(w, law, "s--", color="tab:orange", label="preset law 0.6·(Δw + 0.042 + 0.108·w)/Δw\nat pycosim's mean step Δw")
    a1.plot(w, 0.6 * np.ones_like(w), ":", color="0.5", label="multiplicative term alone (before)")
    a1.set(xlabel="w = G/G_sat before the step", ylabel="σ/mean of one SET step",
           title="Cycle-to-cycle noise vs the published PCM preset")
    a1.legend(fontsize=7)
    dg = t["c2c_dg_S"]
    x = dg / dg.mean()
    a2.hist(x, bins=25, density=True, color="tab:blue", alpha=0.6,
            label=f"pycosim, {len(x)} pulses: σ/mean = {s['c2c_rel_sigma']:.2f}")
    sd = float(x.std(ddof=1))
    u = np.linspace(x.min(), x.max(), 300)
    a2.plot(u, np.exp(-0.5 * ((u - 1) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), color="tab:orange",
            label=f"Gaussian of the same σ/mean ({sd:.2f})")
    a2.axvline(0, color="0.5", lw=0.8)
    a2.set(xlabel="ΔG / mean ΔG (second pulse from x = 0.3, nominal device)", ylabel="density",
           title=f"Mid-range step (mean {dg.mean() * 1e6:.2f} µS, {np.mean(dg < 0) * 100:.0f} % negative)")
    a2.legend(fontsize=7)
    fig.savefig(out / "pcm_c2c_hist.png", dpi=130)
    plt.close(fig)

    # --- read noise versus G
    g, rel = t["read_noise_g_S"], t["read_noise_rel_sigma"]
    t_int, t_rec = s["read_noise_t_int_s"], s["read_noise_record_s"]
    gr = g / gmax                                     # the bundle's G_max, not the 100 % level's G
    gg = np.logspace(-1.5, 0.05, 100)
    pub = published_read_noise(gg, t_rec, t_int)
    fig, ax = plt.subplots(figsize=(5.2, 3.8), constrained_layout=True)
    ax.fill_between(gg, pub / 1.5, pub * 1.5, color="tab:orange", alpha=0.2, label="published ×/÷ 1.5")
    ax.plot(gg, pub, color="tab:orange", label="published (Nandakumar 2019)")
    ax.plot(gr, rel, "o", color="tab:blue", label=f"pycosim, t_int = {t_int * 1e9:.0f} ns, record {t_rec * 1e6:.0f} µs")
    ax.set(xscale="log", yscale="log", xlabel="G / G_max", ylabel="σ/G of one read",
           title="PCM 1/f read noise")
    ax.legend(fontsize=7)
    fig.savefig(out / "pcm_read_noise.png", dpi=130)
    plt.close(fig)

    mu_p, sd_p = published_nu(gl.mean(0))
    print(f"devices {len(nu)}; G_max (mean of pcm_reset's x = 1 cell at 1 s) {gmax * 1e6:.2f} µS")
    for j, lev in enumerate(pcm.DRIFT_LEVELS):
        print(f"level {lev:4.2f}: G/G_max {gl[:, j].mean():.3f}  nu {nu[:, j].mean():.4f} ± {nu[:, j].std():.4f}"
              f"   published {mu_p[j]:.4f} ± {sd_p[j]:.4f}")
    print(f"c2c: mean step {dg.mean() * 1e6:.3f} µS, σ/mean {s['c2c_rel_sigma']:.3f}, negative {np.mean(dg < 0) * 100:.0f} %")
    pub_pts = published_read_noise(gr, t_rec, t_int)
    for k in range(len(g)):
        print(f"read noise: G {g[k] * 1e6:.2f} µS (G/G_max {gr[k]:.3f}): σ/G {rel[k]:.4f}, published {pub_pts[k]:.4f}, "
              f"ratio {rel[k] / pub_pts[k]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
