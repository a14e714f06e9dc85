"""Test accuracy of a trained network at times after training: PCM drift, read noise, the volatile 3T1C.

:func:`evaluate` (``pycosim evaluate RUNDIR``) loads the run's checkpoint (read only; every step works on
deep copies of its network) and classifies the test set at each time t after the end of training, R
times with independent noise draws, with one of two device models:

``circuit`` (the circuit-derived array model; every number from the calibration bundle):
    1. the 3T1C is volatile, so it is handled explicitly (``lsp_mode``):
       * ``transfer`` (default): one final transfer moves every layer's LSP contribution into its PCM
         pair (:meth:`pycosim.array.Crossbar.transfer`: closed- or open-loop as in training, with the
         run's threshold), the capacitors are reset, and the transmission gate keeps them at their
         reset value during inference, so the LSP adds only its constant reset residual (threshold 0 and no
         polarity inversion for this last transfer: :func:`consolidate`). This is the
         default because it is what the hardware must do: the capacitors leak on a time scale of
         seconds (dV_C/dt ≈ 0.02 V/s at V_C = 0.5 V on the shipped bundle, toward ≈ 1.1 V), so an
         inference chip that keeps its weights for hours or years can keep them only in the PCM; the
         final transfer is the same operation training performs every ``transfer.interval`` examples.
         ('4pcm': the LSP pair is PCM too; moved pairs are RESET as in training.)
       * ``leak``: no final transfer; the 3T1C leaks for t (exact piecewise closed form,
         :meth:`Crossbar.leak`), its contribution pol·(g(V_C(t)) − g_shared) drifting toward the leakage
         target — what happens if the chip is used as it stands at the end of training.
    2. time passes: every PCM device drifts from its own programming time (its last SET/RESET, so
       devices the final transfer did not touch are older), G(t) = G·r·(t/t₀)^(−ν) with the per-device
       ν and r of the bundle (:func:`pycosim.devices.pcm.drift_with` via :meth:`Crossbar.refresh_drift`);
    3. the test set is read through the analog forward pass with the circuit's read noise (1/f law of the
       bench), integrator noise, gain/offset mismatch, PWM and ADC.

``pcm-statistical``: the trained weights (noise-free W of every layer at the end of training) are
programmed into PCM pairs by the published statistical model (:mod:`pycosim.evaluate.statistical`:
programming noise, conductance-dependent drift, 1/f read noise with the log-time term) and read
through the same periphery (PWM, integrators, ADC, no further device noise).

Repeats: repeat r draws its own chip (final transfer / statistical programming) and its own read noise;
within a repeat every time uses the same read-noise numbers (common random numbers), so differences
between times are drift, not noise. Mean and sample standard deviation over the repeats are reported.

Global drift compensation (``compensation='global'``; Ambrogio et al., IEDM 2019 / aihwkit
``GlobalDriftCompensation``): per layer l a reference read with a known input x_ref = c_l·1 (all rows,
bias row included, at the PWM level c_l ≤ 1 that keeps the t = 0 outputs inside half the forward full
scale) right after the final transfer (t = 0) and again at t; the layer's outputs are multiplied by

    α_l(t) = mean_j |ŷ_j(x_ref, 0)| / mean_j |ŷ_j(x_ref, t)|

before the activation. A drift that scales every conductance of a layer by the same factor is undone
exactly (up to the periphery's quantisation and noise).
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError
from pycosim.evaluate import rundir

DEFAULT_TIMES = "1s,1h,1d,1y"
NOISE_MODELS = ("circuit", "pcm-statistical")
COMPENSATIONS = ("none", "global")
LSP_MODES = ("transfer", "leak")

#: Time units of ``--times`` (s). A year is 365.25 days.
UNITS_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0,
           "d": 86400.0, "w": 604800.0, "y": 365.25 * 86400.0}
_TIME_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zµ]*)\s*$")

# stream ids of the per-(seed, repeat, layer) generators
_CHIP, _READ, _STAT = 1, 2, 3


def parse_times(text: str) -> list[tuple[str, float]]:
    """``"1s,1h,1d,1y"`` → [(label, seconds), …] sorted by time, duplicates dropped. A number without unit
    is seconds; units: ns, us, ms, s, min, h, d, w, y (365.25 d). ConfigError (one line) for an empty or
    unparseable list and for negative or non-finite times."""
    items = [s.strip() for s in str(text).split(",")]
    if not any(items):
        raise ConfigError(f"--times {text!r}: empty; give a comma-separated list such as 1s,1h,1d,1y")
    out = {}
    for item in items:
        m = _TIME_RE.match(item)
        if not item or not m or m.group(2) not in UNITS_S | {"": 1.0}:
            raise ConfigError(f"--times {text!r}: cannot read {item!r}; expected a number with a unit "
                              f"({', '.join(UNITS_S)}), e.g. 1s,1h,1d,1y")
        t = float(m.group(1)) * UNITS_S.get(m.group(2), 1.0)
        if not math.isfinite(t):
            raise ConfigError(f"--times {text!r}: {item!r} is not a finite time")
        if t < 0:
            raise ConfigError(f"--times {text!r}: {item!r} is negative; times count from the end of training (≥ 0)")
        out.setdefault(t, item)
    return [(label, t) for t, label in sorted(out.items())]


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} {value!r}: allowed values are {', '.join(allowed)}")


def _reseed(net, seed: int, repeat: int, stream: int) -> None:
    """Give every layer a fresh generator from (seed, repeat, layer, stream)."""
    for l, xb in enumerate(net.layers):
        xb.rng = np.random.default_rng([seed, repeat, l, stream])


# ------------------------------------------------------------------ the circuit model
def consolidate(net) -> list:
    """Final transfer of every layer with an LSP ('2pcm+3t1c', '4pcm') into its PCM pair, in place: the
    run's transfer (closed or open loop, tolerance, pulse budget; :meth:`pycosim.array.Crossbar.transfer`)
    with threshold 0 — every LSP contribution is moved, none is dropped, since no later transfer will pick
    it up — and without the polarity inversion (it only serves the updates that follow a transfer during
    training; here it would flip the sign of each cell's reset residual). Returns the TransferStats."""
    return [xb.transfer(threshold=0.0, invert_polarity=False) for xb in net.layers
            if xb.synapse in ("2pcm+3t1c", "4pcm")]


def advance(net, t_s: float, lsp_mode: str = "transfer") -> None:
    """Let t_s of hardware time pass on every layer of *net* (in place) and re-evaluate the PCM drift.

    'transfer': the 3T1C cells are held at their reset value (transmission gate on), only the PCM drifts;
    'leak': the 3T1C leaks for t_s as well (:meth:`Crossbar.leak`, exact closed form) and the PCM drifts."""
    for xb in net.layers:
        if xb.synapse == "ideal":
            continue
        if lsp_mode == "leak":
            xb.leak(t_s)
            xb.flush_leak()
        else:
            xb.t_s += t_s
        xb.refresh_drift()


def reference_inputs(net) -> list[np.ndarray]:
    """Per layer the known input of the drift-compensation reference read, x_ref = c·1 (n_in + 1,): c = 1
    unless the t = 0 outputs of an all-ones read exceed half the forward full scale, then c shrinks so they
    do not (the ADC must not clip the reference). Reads the layers once (uses their generators)."""
    out = []
    for xb in net.layers:
        ones = np.ones(xb.n_in, np.float32)
        c = 1.0
        if xb.synapse != "ideal":
            peak = float(np.abs(xb.forward(ones)).max())
            half = 0.5 * xb.full_scale[0]
            if peak > half:
                c = half / peak
        out.append((ones * np.float32(c)).astype(np.float32))
    return out


def readouts(net, x_refs) -> np.ndarray:
    """mean_j |ŷ_j(x_ref)| of every layer (the global-drift-compensation readout), (n_layers,)."""
    return np.array([max(float(np.abs(xb.forward(x)).mean()), 1e-12) for xb, x in zip(net.layers, x_refs)])


def logits(net, x: np.ndarray, alpha=None, bufs=None) -> np.ndarray:
    """Output-layer pre-activations (n_out,) of one input x (n_in,) through the analog forward pass of *net*,
    each layer's outputs multiplied by alpha[l] (drift compensation; None = 1) before its activation (sigmoid
    in hidden layers, as :class:`pycosim.nn.network.Network`)."""
    from pycosim.nn.network import _sigmoid

    layers = net.layers
    bufs = bufs or [np.ones(xb.n_in, np.float32) for xb in layers]
    a = x
    for l, xb in enumerate(layers):
        inp = bufs[l]
        inp[:-1] = a
        z = xb.forward(inp)
        if alpha is not None:
            z = z * np.float32(alpha[l])
        a = _sigmoid(z).astype(np.float32) if l < len(layers) - 1 else z
    return a


def accuracy(net, x: np.ndarray, y: np.ndarray, alpha=None) -> float:
    """Fraction of (x, y) whose :func:`logits` have their maximum at the label."""
    bufs = [np.ones(xb.n_in, np.float32) for xb in net.layers]
    correct = sum(int(np.argmax(logits(net, x[i], alpha, bufs))) == int(y[i]) for i in range(len(y)))
    return correct / len(y)


def _curve(net, x, y, times, repeats, compensation, seed, progress, desc, chip, at_time):
    """Shared loop: for each repeat r, chip(r) → a prepared copy; for each time, at_time(chip, t) → the net to
    read; optional compensation against t = 0; accuracy. Returns accuracies (R, T) and α (R, T, L)."""
    acc = np.zeros((repeats, len(times)))
    alphas = np.ones((repeats, len(times), len(net.layers)))
    extra = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=repeats * len(times) * len(y), unit="ex", desc=desc, mininterval=0.5)
    try:
        for r in range(repeats):
            base, info = chip(r)
            extra.append(info)
            if compensation == "global":
                probe = at_time(base, 0.0)
                _reseed(probe, seed, r, _READ)
                x_refs = reference_inputs(probe)
                _reseed(probe, seed, r, _READ)
                ref0 = readouts(probe, x_refs)
            for k, t in enumerate(times):
                nt = at_time(base, t)
                _reseed(nt, seed, r, _READ)
                alpha = None
                if compensation == "global":
                    alpha = ref0 / readouts(nt, x_refs)
                    alphas[r, k] = alpha
                acc[r, k] = accuracy(nt, x, y, alpha)
                if bar is not None:
                    bar.update(len(y))
                    bar.set_postfix(t=f"{t:.3g}s", acc=f"{acc[r, k]:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    return acc, alphas, extra


def circuit_curve(net, x, y, times_s, *, repeats: int = 5, compensation: str = "none", lsp_mode: str = "transfer",
                  seed: int = 0, progress: bool = False) -> dict:
    """Accuracy of *net* (not modified) at each time in *times_s* after the end of training with the
    circuit-derived model (module docstring). Returns {"accuracy": (R, T) list, "alpha": (R, T, L) list,
    "final_transfer": per repeat the per-layer transfer summary}."""

    def chip(r):
        base = copy.deepcopy(net)
        _reseed(base, seed, r, _CHIP)
        stats = consolidate(base) if lsp_mode == "transfer" else []
        return base, [{k: s.as_dict()[k] for k in ("n_moved", "frac_within_tol", "err_rms", "set_pulses",
                                                    "resets", "dropped_abs_sum")} for s in stats]

    def at_time(base, t):
        nt = copy.deepcopy(base)
        advance(nt, t, lsp_mode)
        return nt

    acc, alphas, extra = _curve(net, x, y, times_s, repeats, compensation, seed, progress,
                                f"circuit/{lsp_mode}", chip, at_time)
    return {"accuracy": acc.tolist(), "alpha": alphas.tolist(), "final_transfer": extra}


def statistical_curve(net, x, y, times_s, *, repeats: int = 5, compensation: str = "none", seed: int = 0,
                      progress: bool = False) -> dict:
    """Accuracy with the published statistical PCM model (:mod:`pycosim.evaluate.statistical`): the
    noise-free trained weights of every layer of *net* (not modified) programmed into PCM pairs, drift and
    accumulated 1/f read noise at each time, read through the layer's own periphery (PWM, integrators,
    ADC; the circuit device read noise is switched off, the statistical model carries it)."""
    from pycosim.evaluate import statistical

    targets = [xb.weights() for xb in net.layers]

    def chip(r):
        rng = np.random.default_rng([seed, r, 0, _STAT])
        base = copy.deepcopy(net)
        return (base, [statistical.program(W, rng) for W in targets]), {}

    def at_time(base, t):
        vehicle, layers = base
        for xb, pl in zip(vehicle.layers, layers):
            xb.W = np.ascontiguousarray(statistical.weights_at(pl, t))
            if xb.S is not None:
                xb.S = np.zeros_like(xb.S)
        return vehicle

    acc, alphas, _ = _curve(net, x, y, times_s, repeats, compensation, seed, progress, "pcm-statistical",
                            chip, at_time)
    return {"accuracy": acc.tolist(), "alpha": alphas.tolist()}


# ------------------------------------------------------------------ the command
def _test_set(state, dataset, test_subset, cfg):
    from pycosim.datasets import sources

    data = dataset if isinstance(dataset, sources.Dataset) else sources.load(dataset)
    k = cfg.training.test_subset if test_subset is None else int(test_subset)
    if k < 0:
        raise ConfigError(f"--test-subset {k}: must be ≥ 0 (0 = the whole test set)")
    x, y = (data.x_test[:k], data.y_test[:k]) if k else (data.x_test, data.y_test)
    sizes = tuple(state.net.sizes)
    if data.n_inputs != sizes[0] or int(data.y_test.max()) >= sizes[-1]:
        raise ConfigError(f"--dataset {data.source}: {data.n_inputs} inputs / labels up to {int(data.y_test.max())}, "
                          f"but the run's network is {'-'.join(map(str, sizes))}")
    return x, y, data.source


def _summary(acc: np.ndarray) -> tuple[list, list]:
    a = np.asarray(acc)
    std = a.std(axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1])
    return a.mean(axis=0).tolist(), std.tolist()


def evaluate(run_dir, times_s=DEFAULT_TIMES, repeats: int = 5, compensation: str = "none",
             noise_model: str = "circuit", lsp_mode: str = "transfer", seed: int = 0, *, dataset=None,
             test_subset: int | None = None, progress: bool = True, write: bool = True) -> dict:
    """Test accuracy of the trained run in *run_dir* at each time after the end of training (module
    docstring), mean and spread over *repeats* noise draws.

    Args:
        run_dir: a ``pycosim train`` run directory (checkpoint.npz, config.toml; read only).
        times_s: times (s) after the end of training (= after the final transfer), a list of numbers or a
            ``--times`` string such as "1s,1h,1d,1y" (:func:`parse_times`); each ≥ 0.
        repeats: independent noise draws R ≥ 1 (mean and sample standard deviation reported).
        compensation: 'none' or 'global' (reference read with a known input, outputs rescaled).
        noise_model: 'circuit', 'pcm-statistical' or 'both'.
        lsp_mode: 'transfer' (default: final transfer, 3T1C held at reset) or 'leak' (circuit model only).
        seed: seed of every draw of the evaluation.
        dataset: a :class:`pycosim.datasets.sources.Dataset` or a spec ('mnist', 'idx:DIR', 'npz:FILE').
        test_subset: first K test examples (None = the run's training.test_subset; 0 = all).
        write: write ``RUNDIR/evaluate.json`` (atomic; entries of other models/settings already there are
            kept, the same (model, compensation, lsp mode) replaced) and ``RUNDIR/plots/accuracy_vs_time.png``.

    Returns the evaluate.json dict: run facts and one entry per model with times_s, time labels,
    accuracy (R × T), accuracy_mean, accuracy_std, alpha (compensation factors) and settings.
    """
    if isinstance(times_s, str):
        times = parse_times(times_s)
    else:
        times = parse_times(",".join(repr(float(t)) for t in np.atleast_1d(times_s)))
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ConfigError(f"--repeats {repeats}: need at least 1 draw")
    _check_choice("--compensation", compensation, COMPENSATIONS)
    _check_choice("--noise-model", noise_model, NOISE_MODELS + ("both",))
    _check_choice("--lsp", lsp_mode, LSP_MODES)
    state = rundir.load_state(run_dir, "evaluate")
    cfg = rundir.load_config(run_dir, "evaluate")
    out = Path(run_dir).expanduser()
    x, y, source = _test_set(state, dataset, test_subset, cfg)
    labels, ts = [l for l, _ in times], [t for _, t in times]
    net = state.net
    models = NOISE_MODELS if noise_model == "both" else (noise_model,)
    entries = []
    for model in models:
        t0 = time.perf_counter()
        kw = dict(repeats=int(repeats), compensation=compensation, seed=int(seed), progress=progress)
        if model == "circuit":
            res = circuit_curve(net, x, y, ts, lsp_mode=lsp_mode, **kw)
        else:
            res = statistical_curve(net, x, y, ts, **kw)
        mean, std = _summary(res["accuracy"])
        entries.append({"noise_model": model, "compensation": compensation,
                        "lsp_mode": lsp_mode if model == "circuit" else None, "repeats": int(repeats),
                        "seed": int(seed), "times_s": ts, "time_labels": labels, "accuracy_mean": mean,
                        "accuracy_std": std, **res, "seconds": time.perf_counter() - t0})
    synapse = net.layers[0].synapse
    result = {"run_dir": str(out), "preset": cfg.preset, "synapse": synapse, "layers": list(net.sizes),
              "examples_seen": state.examples, "dataset": source, "test_examples": int(len(y)),
              "trained_test_accuracy": state.history[-1]["test_accuracy"] if state.history else None,
              "entries": entries,
              "notes": {"time": "t counts from the end of training (the final transfer in lsp_mode 'transfer')",
                        "lsp_mode": "transfer (default): final transfer into the PCM pair, 3T1C held at its reset "
                                    "value; leak: no final transfer, the 3T1C leaks for t",
                        "spread": "accuracy_std is the sample standard deviation over the repeats"}}
    if write:
        result = _merge_and_write(out, result)
    return result


def _key(e: dict) -> tuple:
    return (e.get("noise_model"), e.get("compensation"), e.get("lsp_mode"))


def _merge_and_write(out: Path, result: dict) -> dict:
    """Keep entries of other (model, compensation, lsp mode) from an existing evaluate.json of the same run
    and test set, write evaluate.json atomically and the accuracy-versus-time plot."""
    from pycosim.evaluate.plots import plot_accuracy
    from pycosim.files import atomic_write_bytes

    path = out / rundir.EVALUATE_JSON
    try:
        old = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        old = None
    if (isinstance(old, dict) and old.get("examples_seen") == result["examples_seen"]
            and old.get("test_examples") == result["test_examples"] and old.get("dataset") == result["dataset"]):
        new = {_key(e) for e in result["entries"]}
        result["entries"] = [e for e in old.get("entries", []) if _key(e) not in new] + result["entries"]
    atomic_write_bytes(path, (json.dumps(result, indent=1) + "\n").encode())
    plot_accuracy(result, out / "plots" / "accuracy_vs_time.png")
    return result
