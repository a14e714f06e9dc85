"""Experiment: does the PCM drift's device-to-device spread help training, or only the knob's shift of the mean?

    python benchmarks/drift_spread_equal_x.py check            # the population's drift with and without the change
    python benchmarks/drift_spread_equal_x.py RUNDIR SEED      # ambrogio2018, 5 epochs, full MNIST, this population

Every device gets the population's arithmetic-mean drift factor r = G(t)/G(t_p) at its own G/G_max (mean over the
devices, each interpolated linearly between its own levels, at equal x; then read back at the device's own level
positions): no spread, the mean kept (within 2 % at 300 s, `check`). pcm.drift_d2d_scale = 0 instead averages
ln r per programmed level, which also lowers the mean (benchmarks/drift_spread_mean.py). The change is made by
wrapping pycosim.devices.pcm.population in this process (a study, not a configuration of the package).
Results: benchmarks/results/drift_spread_equal_x.txt (written by hand from the two commands' output).
"""
import dataclasses, sys
import numpy as np
from pycosim.devices import pcm

_orig = pcm.population

def mean_at_equal_x(pop):
    lx = pop.drift_level_x.astype(np.float64)          # (n, L) each device's level positions
    lg = pop.drift_ln_g.astype(np.float64)              # (n, L, T)
    n, L, T = lg.shape
    grid = np.unique(np.concatenate([lx.ravel(), np.linspace(0, lx.max(), 200)]))
    r = np.empty((n, grid.size, T))
    for k in range(n):                                  # once per population (set-up, not a hot path)
        for t in range(T):
            r[k, :, t] = np.exp(np.interp(grid, lx[k], lg[k, :, t]))
    M = np.log(r.mean(axis=0))                          # (G, T): log of the arithmetic mean r at equal x
    new = np.empty_like(lg)
    for k in range(n):
        for t in range(T):
            new[k, :, t] = np.interp(lx[k], grid, M[:, t])
    return dataclasses.replace(pop, drift_ln_g=np.ascontiguousarray(new, dtype=np.float32))

def patched(bundle, **kw):
    pop = _orig(bundle, **kw)
    return mean_at_equal_x(pop) if pop.drift_ln_g is not None else pop

pcm.population = patched
if __name__ == "__main__":
    if sys.argv[1] == "check":
        from pycosim import calibration
        b = calibration.load(None); p0 = _orig(b); p1 = patched(b); k = np.arange(p0.n)
        for x in (0.01, 0.03, 0.1, 0.25, 0.5, 0.8):
            G = (x * p0.g_max_S[k]).astype(np.float32)
            a = pcm.drift(G, 300.0, k, p0) / G; c = pcm.drift(G, 300.0, k, p1) / G
            print(f"x={x}: as simulated {a.mean():.3f}±{a.std():.3f}  mean-at-equal-x {c.mean():.3f}±{c.std():.3f}")
    else:
        from pycosim.nn.train import resolve_config, train
        seed = int(sys.argv[2])
        cfg = resolve_config("ambrogio2018", None, [], epochs=5, seed=seed)
        m = train(cfg, sys.argv[1], progress=False, plots=False)
        print(m["test_accuracy"], m["test_accuracy_per_epoch"])
