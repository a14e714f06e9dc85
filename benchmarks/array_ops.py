"""Speed of one crossbar step: forward + backward + update of a 784×250 layer, against the same three
operations on a plain float32 NumPy matrix, in the same run (issue 9's target: ≤ 2×).

Realistic inputs: a float 784-250-125-10 sigmoid network is trained with SGD (lr 0.1) on 3,000 MNIST
examples; the next N examples give (x, δ₁) pairs of the first layer (x = pixels, δ₁ = error of the
hidden layer), which drive both sides. Times are medians over repeats of the whole sequence; the
machine's 2 cores are shared, so only ratios within one run are meaningful.

    .venv/bin/python benchmarks/array_ops.py [--examples 300] [--repeats 7] [--calibration DIR] [--out benchmarks/results/array_ops.txt]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from pycosim import calibration
from pycosim.array import ArrayConfig, Crossbar
from pycosim.datasets import mnist


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def realistic_pairs(n: int, lr: float = 0.1, seed: int = 0):
    data = mnist.load()
    rng = np.random.default_rng(seed)
    sizes = (784, 250, 125, 10)
    Ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    pairs = []
    for i in range(3000 + n):
        x, y = data.x_train[i], data.y_train[i]
        h1 = sigmoid(x @ Ws[0]); h2 = sigmoid(h1 @ Ws[1]); z = h2 @ Ws[2]
        p = np.exp(z - z.max()); p /= p.sum()
        d3 = p.copy(); d3[y] -= 1
        d2 = (Ws[2] @ d3) * h2 * (1 - h2)
        d1 = (Ws[1] @ d2) * h1 * (1 - h1)
        if i >= 3000:
            pairs.append((x.copy(), d1.astype(np.float32)))
        Ws[2] -= lr * np.outer(h2, d3); Ws[1] -= lr * np.outer(h1, d2); Ws[0] -= lr * np.outer(x, d1)
    return pairs, Ws[0]


def time_float(W, pairs, lr):
    W = W.copy()
    t = time.perf_counter()
    for x, d in pairs:
        y = x @ W
        b = W @ d
        W -= lr * np.outer(x, d)
    return (time.perf_counter() - t) / len(pairs)


def time_xbar(xb, pairs, lr):
    t = time.perf_counter()
    for x, d in pairs:
        y = xb.forward(x)
        b = xb.backward(d)
        xb.update(x, d, lr)
    return (time.perf_counter() - t) / len(pairs)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--calibration", default=None, help="bundle directory (default: the shipped one)")
    a = ap.parse_args(argv)
    pairs, W0 = realistic_pairs(a.examples, a.lr)
    syn = calibration.load(a.calibration)   # default: the shipped bundle
    tag = "bundle"
    quiet = {"pcm": {"read_noise": False, "drift": False}, "lsp": {"read_noise": False, "c2c_scale": 0.0},
             "periphery": {"integrator_noise": False}}
    variants = [
        ("2pcm+3t1c, no read/c2c/integrator noise", dict(quiet, synapse="2pcm+3t1c"), syn),
        (f"2pcm+3t1c default config (trains), all non-idealities ({tag})", {"synapse": "2pcm+3t1c"}, syn),
        ("2pcm+3t1c, stochastic rounding, all non-idealities",
         {"synapse": "2pcm+3t1c", "update": {"rounding": "stochastic"}}, syn),
        ("2pcm+3t1c, deterministic rounding, all non-idealities",
         {"synapse": "2pcm+3t1c", "update": {"rounding": "deterministic"}}, syn),
        ("4pcm, all non-idealities", {"synapse": "4pcm"}, syn),
        ("2pcm, all non-idealities", {"synapse": "2pcm"}, syn),
        ("ideal", {"synapse": "ideal"}, None),
    ]
    xbs = []
    for name, cfg, b in variants:
        xb = Crossbar(784, 250, ArrayConfig.from_dict(cfg), bundle=b, rng=1)
        xb.set_weights(np.clip(W0, -0.9, 0.9), mode="open")
        xbs.append((name, xb))
    lines = [f"# benchmarks/array_ops.py — {time.strftime('%Y-%m-%d %H:%M')} — {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores (shared), numpy {np.__version__}",
             f"# forward + backward + update of 784×250, {a.examples} realistic (x, δ₁) MNIST pairs, lr {a.lr}, "
             f"median of {a.repeats} repeats; bundle {syn.path}"]
    res = {n: [] for n, _ in xbs}
    base = []
    for r in range(a.repeats):           # interleaved, so that load changes hit every variant alike
        base.append(time_float(W0, pairs, a.lr))
        for name, xb in xbs:
            res[name].append(time_xbar(xb, pairs, a.lr))
    fb = float(np.median(base))
    lines.append(f"plain float32 NumPy SGD (x@W, W@δ, W -= lr·outer): {fb * 1e6:8.1f} µs per example")
    for name, xb in xbs:
        t = float(np.median(res[name]))
        c = xb.counters
        pulses = (c.lsp_up_pulses + c.lsp_down_pulses + c.pcm_update_set_pulses) / (a.repeats * a.examples)
        lines.append(f"{name:72s} {t * 1e6:8.1f} µs  ratio {t / fb:5.2f}  ({pulses:.0f} update pulses/example)")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
