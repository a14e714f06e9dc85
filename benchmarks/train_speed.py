"""Training speed: an epoch of each preset against a plain NumPy float32 SGD loop, in one run.

The reference is the simplest correct batch-1 SGD of the same network (784-250-125-10, sigmoid,
softmax, biases) written directly in NumPy float32; pycosim's loop is timed on the same examples.
Ratios are what the issue's target is about (ambrogio2018 ≤ 2× the plain loop); this machine has
2 shared cores, so the script interleaves the measurements and reports medians of several chunks.

    python benchmarks/train_speed.py [--examples N] [--chunks K] [--presets a,b]
    python benchmarks/train_speed.py --epoch [--chunks K]      # one full epoch, in K interleaved chunks

With --epoch every loop trains on the same permutation of all 60,000 examples (one epoch, transfers every
8,000 included), chunk by chunk in turn, and the epoch times (sums) and their ratio are reported.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from pycosim.datasets import sources
from pycosim.nn import config as ncfg
from pycosim.nn import presets
from pycosim.nn.network import Network
from pycosim import timing


def plain_numpy_loop(x, y, sizes, lr, rng):
    """Return a function that runs plain float32 SGD over the given example indices."""
    W = [(rng.uniform(-1, 1, (a + 1, b)) * np.sqrt(3.0 / a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    lr = np.float32(lr)

    def run(idx):
        for i in idx:
            a0 = np.append(x[i], np.float32(1))
            h1 = 1 / (1 + np.exp(-(a0 @ W[0])))
            a1 = np.append(h1, np.float32(1))
            h2 = 1 / (1 + np.exp(-(a1 @ W[1])))
            a2 = np.append(h2, np.float32(1))
            z = a2 @ W[2]
            e = np.exp(z - z.max())
            d3 = e / e.sum()
            d3[y[i]] -= 1
            d2 = (W[2] @ d3)[:-1] * h2 * (1 - h2)
            d1 = (W[1] @ d2)[:-1] * h1 * (1 - h1)
            W[2] -= lr * np.outer(a2, d3)
            W[1] -= lr * np.outer(a1, d2)
            W[0] -= lr * np.outer(a0, d1)
    return run


def pycosim_loop(name, sizes, rng_seed):
    """The training loop of ``pycosim.nn.train`` for one preset, without the progress bar, metrics and
    checkpoints: per example forward, backward and update, the hardware time of one example
    (:func:`pycosim.timing.hardware`), and every transfer.interval examples a transfer followed by its own
    duration (:func:`pycosim.timing.network_transfer_time_s`; training pauses during a transfer)."""
    cfg = presets.get(name)
    net = Network(sizes, ncfg.array_configs(cfg, sizes), rng=np.random.default_rng(rng_seed),
                  init_scale=cfg.network.init_scale)
    interval = cfg.transfer.interval
    count = [0]
    transfers = cfg.synapse.scheme.has_lsp
    hw = timing.hardware(net, n_pulse_max=cfg.update.max_pulses, interval=interval) if cfg.synapse.scheme.analog \
        else None
    t_ex = hw["t_example_s"] if hw else 0.0

    def run(x, y, idx, lr):
        for i in idx:
            p = net.forward(x[i])
            net.backward_update(p, int(y[i]), lr)
            net.advance(t_ex)
            count[0] += 1
            if transfers and count[0] % interval == 0:
                stats = net.transfer()
                net.advance(timing.network_transfer_time_s(hw, stats, closed=cfg.transfer.mode == "closed",
                                                           lsp_cells=cfg.synapse.scheme.has_3t1c)["total"])
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000, help="examples per chunk")
    ap.add_argument("--chunks", type=int, default=5, help="interleaved chunks per loop (median reported)")
    ap.add_argument("--presets", default=",".join(presets.NAMES))
    ap.add_argument("--epoch", action="store_true", help="time one full epoch (all training examples)")
    args = ap.parse_args()
    d = sources.load("mnist")
    sizes = (784, 250, 125, 10)
    names = [n for n in args.presets.split(",") if n]
    ref = plain_numpy_loop(d.x_train, d.y_train, sizes, 0.1, np.random.default_rng(0))
    loops = {n: pycosim_loop(n, sizes, 0) for n in names}
    times = {"numpy": [], **{n: [] for n in names}}
    rng = np.random.default_rng(1)
    order = rng.permutation(len(d.y_train))
    for c in range(args.chunks):
        if args.epoch:
            idx = np.array_split(order, args.chunks)[c]
        else:
            idx = rng.integers(0, len(d.y_train), args.examples)
        t = time.perf_counter()
        ref(idx)
        times["numpy"].append((time.perf_counter() - t) / len(idx))
        for n in names:
            t = time.perf_counter()
            loops[n](d.x_train, d.y_train, idx, 0.1)
            times[n].append((time.perf_counter() - t) / len(idx))
    if args.epoch:
        _report_epoch(args, times)
        return
    base = float(np.median(times["numpy"]))
    print(f"# python benchmarks/train_speed.py --examples {args.examples} --chunks {args.chunks}  "
          f"({time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, numpy {np.__version__})")
    print(f"# per-example time, median of {args.chunks} interleaved chunks of {args.examples} examples; "
          f"an epoch of 60,000 examples = 60,000 × this")
    print(f"{'loop':<22}{'ms/example':>12}{'examples/s':>12}{'epoch (s)':>11}{'vs numpy':>10}")
    for n, ts in times.items():
        m = float(np.median(ts))
        print(f"{n:<22}{m * 1e3:>12.3f}{1 / m:>12.0f}{60000 * m:>11.1f}{m / base:>9.2f}x")


def _report_epoch(args, times) -> None:
    n_ex = 60000 // args.chunks
    tot = {n: float(np.sum(ts)) * n_ex for n, ts in times.items()}
    print(f"# python benchmarks/train_speed.py --epoch --chunks {args.chunks}  "
          f"({time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, numpy {np.__version__})")
    print(f"# one epoch of all 60,000 MNIST examples (same order for every loop), in {args.chunks} interleaved "
          f"chunks of {n_ex}; batch size 1")
    print(f"{'loop':<22}{'epoch (s)':>11}{'examples/s':>12}{'vs numpy':>10}   per-chunk ratio (first → last)")
    for n, ts in times.items():
        r = " ".join(f"{a / b:.2f}" for a, b in zip(ts, times["numpy"]))
        print(f"{n:<22}{tot[n]:>11.1f}{60000 / tot[n]:>12.0f}{tot[n] / tot['numpy']:>9.2f}x   {r}")


if __name__ == "__main__":
    main()
