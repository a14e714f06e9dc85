"""Synthesise the example measured-PCM dataset of docs/devices.md (SYNTHESISED, not measured).

The device is the GST PCM of Nandakumar et al., "Mixed-precision deep learning based on computational memory",
Front. Neurosci. 14, 406 (2020), as parametrised by the PCMPresetDevice of the IBM Analog Hardware Acceleration
Kit (aihwkit; an ExpStepDevice): weight w in [0, w_max], w_max = 2 (device-to-device 10 %), dw_min = 0.01
(device-to-device 20 %), multiplicative cycle-to-cycle noise dw_min_std = 0.6, reset to w = 0.01 (spread 0.02),
and the step law (a = −1, b = 0, γ_up = 2.5, A_up = −27.235)

    Δw = dw_min,d · max(1 − A_up·exp(γ_up·z), 0) · (1 + 0.6·ξ),   z = 2a·w/w_max,d,   w ← clip(w + Δw, 0, w_max,d).

Conductance: G = w · 12.5 µS (w_max = 2 ↔ 25 µS, the g_max of aihwkit's PCM statistical model). Drift and read
noise follow that statistical model (Nandakumar et al., ICECS 2019; aihwkit ``PCMLikeNoiseModel``), with
g_r = G/25 µS:

    ν ~ N(μ_ν, σ_ν),  μ_ν = clip(−0.0155·ln g_r + 0.0244, 0.049, 0.1),  σ_ν = clip(−0.0125·ln g_r − 0.0059, 0.008, 0.045),
    G(t) = G(t₀)·(t/t₀)^−ν from t₀ = 20 s;   one read: G·(1 + Q_s·ξ),  Q_s = min(0.0088/g_r^0.65, 0.2).

Every read of the staircases, drift curves and repeated reads carries that read noise. Output (this directory):
``pcm_nandakumar2020_pulses.csv`` (100 devices × one 20-pulse SET staircase and one RESET),
``pcm_nandakumar2020_drift.csv`` (100 devices, 7 reads from 20 s to 2·10⁴ s), ``pcm_nandakumar2020_noise.csv``
(40 devices × 50 repeated reads). Run: ``python examples/data/make_pcm_example.py`` (seed 2020; deterministic).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

G_UNIT_S = 12.5e-6          # S per weight unit (w_max = 2 ↔ 25 µS)
G_MAX_S = 25e-6             # g_max of the statistical model (S)
W_MAX, W_MAX_DTOD = 2.0, 0.1
DW_MIN, DW_MIN_DTOD, DW_MIN_STD = 0.01, 0.2, 0.6
A_ES, GAMMA_UP, A_UP = -1.0, 2.5, -27.235
RESET, RESET_DTOD = 0.01, 0.02
N_DEV, N_PULSES = 100, 20
DRIFT_T_S = np.array([20.0, 60.0, 200.0, 600.0, 2e3, 6e3, 2e4])
N_NOISE_DEV, N_NOISE_READS = 40, 50


def q_s(g_S):
    """Relative σ of one read, Q_s = min(0.0088/g_r^0.65, 0.2), g_r = G/25 µS (≥ 1e-3)."""
    return np.minimum(0.0088 / np.maximum(g_S / G_MAX_S, 1e-3) ** 0.65, 0.2)


def read(g_S, rng):
    """One noisy read of conductances g_S (S)."""
    return np.maximum(g_S * (1 + q_s(g_S) * rng.standard_normal(np.shape(g_S))), 0.0)


def staircases(rng):
    """(N_DEV, N_PULSES + 1) true w after RESET and after each SET pulse, and the RESET floor w."""
    w_max = W_MAX * (1 + W_MAX_DTOD * rng.standard_normal(N_DEV))
    dw = DW_MIN * np.maximum(1 + DW_MIN_DTOD * rng.standard_normal(N_DEV), 0.05)
    w_reset = np.abs(RESET + RESET_DTOD * rng.standard_normal(N_DEV))
    w = np.empty((N_DEV, N_PULSES + 1))
    w[:, 0] = w_reset
    for j in range(N_PULSES):                      # pulses are sequential; vectorised over devices
        z = 2 * A_ES * w[:, j] / w_max
        step = dw * np.maximum(1 - A_UP * np.exp(GAMMA_UP * z), 0) * (1 + DW_MIN_STD * rng.standard_normal(N_DEV))
        w[:, j + 1] = np.clip(w[:, j] + step, 0, w_max)
    return w, w_reset


def main(out: Path = Path(__file__).parent) -> None:
    rng = np.random.default_rng(2020)
    w, w_reset = staircases(rng)
    g_read = read(w * G_UNIT_S, rng)
    reset_reads = np.stack([read(w[:, -1] * G_UNIT_S, rng), read(w_reset * G_UNIT_S, rng)], axis=1)
    with open(out / "pcm_nandakumar2020_pulses.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["device", "pulse", "direction", "G_S"])
        for d in range(N_DEV):
            wr.writerows([f"pcm{d:03d}", j, "set", f"{g:.6e}"] for j, g in enumerate(g_read[d]))
            wr.writerows([f"pcm{d:03d}", j, "reset", f"{g:.6e}"] for j, g in enumerate(reset_reads[d]))
    g_prog = G_MAX_S * rng.uniform(0.02, 1.0, N_DEV)
    g_r = g_prog / G_MAX_S
    mu = np.clip(-0.0155 * np.log(g_r) + 0.0244, 0.049, 0.1)
    sig = np.clip(-0.0125 * np.log(g_r) - 0.0059, 0.008, 0.045)
    nu = np.abs(mu + sig * rng.standard_normal(N_DEV))
    g_t = read(g_prog[:, None] * (DRIFT_T_S[None, :] / DRIFT_T_S[0]) ** -nu[:, None], rng)
    with open(out / "pcm_nandakumar2020_drift.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["device", "t_s", "G_S"])
        for d in range(N_DEV):
            wr.writerows([f"pcm{d:03d}", f"{t:g}", f"{g:.6e}"] for t, g in zip(DRIFT_T_S, g_t[d]))
    g_n = G_MAX_S * np.geomspace(0.02, 1.0, N_NOISE_DEV)
    reads = read(np.repeat(g_n[:, None], N_NOISE_READS, axis=1), rng)
    with open(out / "pcm_nandakumar2020_noise.csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["device", "G_S"])
        for d in range(N_NOISE_DEV):
            wr.writerows([f"n{d:02d}", f"{g:.6e}"] for g in reads[d])


if __name__ == "__main__":
    main()
