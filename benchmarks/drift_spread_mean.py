"""Does switching off the PCM's device-to-device spread keep the population's mean drift?

    python benchmarks/drift_spread_mean.py [--bundle DIR] [--times 1,300]

For devices programmed to x·G_max,k (every device k of the bundle, x = 1 % … 80 %), the drift factor
r = G(t)/G(t_p) of pycosim.devices.pcm.drift, mean ± std over the devices, for the population as simulated and
for the two ablation knobs: pcm.drift_d2d_scale = 0 (each device keeps its own level positions and takes its
level's mean drift curve) and pcm.d2d_scale = 0 (every device the mean device). The knobs average ln G(t)/G(t_p)
per programmed LEVEL (one pulse width), whose devices sit at different G/G_max; so neither keeps the mean
drift at a given G/G_max. Writes benchmarks/results/drift_spread_mean.txt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

X = (0.01, 0.03, 0.1, 0.25, 0.5, 0.8)


def main() -> None:
    from pycosim import calibration
    from pycosim.devices import pcm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=None, help="calibration bundle (default: the shipped one)")
    ap.add_argument("--times", default="1,300", help="device ages t (s), comma-separated")
    ap.add_argument("--results", default="benchmarks/results/drift_spread_mean.txt")
    args = ap.parse_args()
    b = calibration.load(args.bundle)  # None: the shipped bundle
    times = [float(t) for t in args.times.split(",")]
    pops = {"as simulated": pcm.population(b), "pcm.drift_d2d_scale=0": pcm.population(b, drift_d2d_scale=0),
            "pcm.d2d_scale=0": pcm.population(b, d2d_scale=0)}
    k = np.arange(pops["as simulated"].n)
    means = {}
    lines = [f"# python benchmarks/drift_spread_mean.py --times {args.times}  (bundle: {args.bundle or 'shipped'}, "
             f"{k.size} PCM devices)",
             "# r = G(t)/G(t_p), mean ± std over the devices programmed to x·G_max,k; last column per t: mean r "
             "against 'as simulated' (%)"]
    for t in times:
        lines.append(f"t = {t:g} s")
        lines.append(f"{'x = G/G_max':>24}" + "".join(f"{x:>22.2f}" for x in X))
        for name, p in pops.items():
            row = f"{name:>24}"
            for x in X:
                G = (x * p.g_max_S[k]).astype(np.float32)
                r = pcm.drift(G, t, k, p) / G
                means[name, t, x] = float(r.mean())
                ref = means["as simulated", t, x]
                row += f"{r.mean():>8.3f} ± {r.std():.3f} {100 * (r.mean() / ref - 1):>+5.1f}"
            lines.append(row)
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.results).write_text(text)


if __name__ == "__main__":
    main()
