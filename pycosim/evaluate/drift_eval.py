"""Test accuracy of a trained network at times after training: PCM drift, read noise, the volatile 3T1C.

:func:`evaluate` (``pycosim evaluate RUNDIR``) loads the run's checkpoint (read only; every step works on
deep copies of its network) and classifies the test set at each time t after the end of training, R
times with independent noise draws, with one of the inference models of :mod:`pycosim.inference`
(chosen by name in its registry, :data:`pycosim.inference.MODELS`):

``circuit`` (:class:`pycosim.inference.CircuitModel`; every number from the calibration bundle): a final
    transfer of the LSP into the PCM pair (``--lsp transfer``, default) or the 3T1C left to leak
    (``--lsp leak``), then the per-device PCM drift G(t) = G·r·(t/t₀)^(−ν), read through the analog
    forward pass with the circuit's read noise and periphery.

``pcm-statistical`` (:class:`pycosim.inference.PcmStatisticalModel`): the trained weights programmed into
    PCM pairs by the published statistical model (Rasch et al., Nat. Commun. 14, 5282 (2023):
    programming noise, conductance-dependent drift, 1/f read noise with the log-time term) and read
    through the same periphery (PWM, integrators, ADC, no further device noise).

Repeats: repeat r draws its own chip and its own read noise; within a repeat every time uses the same
read-noise numbers (common random numbers), so differences between times are drift, not noise. Mean and
sample standard deviation over the repeats are reported. Drift compensation ('none', 'global'):
:mod:`pycosim.inference.compensation`. The driver is :func:`pycosim.inference.curve`; this module parses
the command's arguments, loads the run and writes evaluate.json.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import numpy as np

from pycosim import inference
from pycosim.errors import ConfigError
from pycosim.evaluate import rundir

DEFAULT_TIMES = "1s,1h,1d,1y"
NOISE_MODELS = tuple(inference.MODELS)
COMPENSATIONS = tuple(inference.COMPENSATIONS)
LSP_MODES = inference.LSP_MODES

#: Time units of ``--times`` (s). A year is 365.25 days.
UNITS_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0,
           "d": 86400.0, "w": 604800.0, "y": 365.25 * 86400.0}
#: Longest time ``--times`` accepts (s): a billion years, far past any retention claim; the drift laws
#: (t/t₀)^(−ν) and the log-time read-noise term stay finite in float32 well beyond it.
MAX_TIME_S = 1e9 * UNITS_S["y"]
_TIME_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zµ]*)\s*$")


def parse_times(text: str) -> list[tuple[str, float]]:
    """``"1s,1h,1d,1y"`` → [(label, seconds), …] sorted by time, duplicates dropped. A number without unit
    is seconds; units: ns, us, ms, s, min, h, d, w, y (365.25 d). ConfigError (one line) for an empty or
    unparseable list and for negative, non-finite or too long (> 1e9 y, :data:`MAX_TIME_S`) times."""
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
        if t > MAX_TIME_S:
            raise ConfigError(f"--times {text!r}: {item!r} is past the longest time evaluated, 1e9 y "
                              f"({MAX_TIME_S:.3g} s)")
        if t < 0:
            raise ConfigError(f"--times {text!r}: {item!r} is negative; times count from the end of training (≥ 0)")
        out.setdefault(t, item)
    return [(label, t) for t, label in sorted(out.items())]


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} {value!r}: allowed values are {', '.join(allowed)}")


# ------------------------------------------------------------------ the two models (thin wrappers)
def circuit_curve(net, x, y, times_s, *, repeats: int = 5, compensation: str = "none", lsp_mode: str = "transfer",
                  seed: int = 0, progress: bool = False) -> dict:
    """Accuracy of *net* (not modified) at each time in *times_s* after the end of training with the
    circuit-derived model. Returns {"accuracy": (R, T) list, "alpha": (R, T, L) list, "final_transfer": per
    repeat the per-layer transfer summary}."""
    return _run(inference.model("circuit", lsp_mode=lsp_mode), net, x, y, times_s, repeats=repeats,
                compensation=compensation, seed=seed, progress=progress)


def statistical_curve(net, x, y, times_s, *, repeats: int = 5, compensation: str = "none", seed: int = 0,
                      progress: bool = False) -> dict:
    """Accuracy with the published statistical PCM model. Returns {"accuracy", "alpha"}."""
    return _run(inference.model("pcm-statistical"), net, x, y, times_s, repeats=repeats,
                compensation=compensation, seed=seed, progress=progress)


def _run(model, net, x, y, times_s, **kw) -> dict:
    """:func:`pycosim.inference.curve`, the chip facts as top-level keys (e.g. ``final_transfer``)."""
    res = inference.curve(model, net, x, y, times_s, **kw)
    return {"accuracy": res["accuracy"], "alpha": res["alpha"], **res["chip_info"]}


# ------------------------------------------------------------------ the command
def _test_set(state, dataset, test_subset, cfg):
    from pycosim.datasets import sources

    data = dataset if isinstance(dataset, sources.Dataset) else _load_data(dataset)
    k = cfg.training.test_subset if test_subset is None else int(test_subset)
    if k < 0:
        raise ConfigError(f"--test-subset {k}: must be ≥ 0 (0 = the whole test set)")
    x, y = (data.x_test[:k], data.y_test[:k]) if k else (data.x_test, data.y_test)
    sizes = tuple(state.net.sizes)
    if data.n_inputs != sizes[0] or int(data.y_test.max()) >= sizes[-1]:
        raise ConfigError(f"--dataset {data.source}: {data.n_inputs} inputs / labels up to {int(data.y_test.max())}, "
                          f"but the run's network is {'-'.join(map(str, sizes))}")
    return x, y, data.source


_LOADED: dict = {}


def _load_data(spec):
    """sources.load(*spec*), kept for the next call with the same spec in this command (the last one only)."""
    from pycosim.datasets import sources

    if spec not in _LOADED:
        _LOADED.clear()
        _LOADED[spec] = sources.load(spec)
    return _LOADED[spec]


def _check_repeats_fit(repeats: int, n_times: int, n_layers: int, noise_model: str) -> None:
    """ConfigError (with the estimate) if the results of *repeats* draws cannot fit the memory: per draw and
    time an accuracy and a compensation factor per layer, held as Python numbers and JSON text (≈ 100 bytes
    each)."""
    from pycosim.limits import check_fits

    per = n_times * (n_layers + 2) * 100 * (2 if noise_model == "both" else 1)
    check_fits(repeats * per, f"--repeats {repeats:,}", f"≈ {per:,} bytes of results per draw")


def _run_dataset(metrics: dict, dataset, out: Path):
    """The data set to evaluate on: *dataset* if given, else the one the run recorded in metrics.json
    (``dataset.spec``); runs from before the record default to mnist."""
    if dataset is not None:
        return dataset
    rec = metrics.get("dataset")
    if not isinstance(rec, dict):
        return "mnist"
    if not rec.get("spec"):
        raise ConfigError(f"evaluate {out}: the run was trained on {rec.get('name')!r}, a data set built in "
                          f"memory; give it with --dataset")
    return rec["spec"]


def _check_same_data(metrics: dict, dataset, out: Path) -> None:
    """ConfigError if the data set's SHA-256 is not the one the run recorded (a run is only evaluated on
    the test split of the data it was trained on)."""
    from pycosim.datasets import sources

    rec = metrics.get("dataset")
    if not isinstance(rec, dict) or not rec.get("sha256"):
        return
    data = dataset if isinstance(dataset, sources.Dataset) else _load_data(dataset)
    have = sources.sha256(data)
    if have != rec["sha256"]:
        raise ConfigError(f"--dataset {data.source}: not the data set the run was trained on ({rec.get('name')}, "
                          f"SHA-256 {rec['sha256'][:12]}…; this one {have[:12]}…)")


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
        dataset: a :class:`pycosim.datasets.sources.Dataset` or a spec ('mnist', 'mnist-backrand[:SEED]', 'idx:DIR', 'npz:FILE').
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
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ConfigError(f"--seed {seed}: must be a whole number in 0…2^63−1")
    out = rundir.run_path(run_dir, "evaluate")
    metrics = rundir.load_metrics(out, "evaluate")     # a run without (or with a broken) metrics.json is refused
    cfg = rundir.load_config(out, "evaluate")
    _check_repeats_fit(int(repeats), len(times), len(cfg.network.hidden) + 1, noise_model)
    if write:
        rundir.check_writable(out, "evaluate")
    dataset = _run_dataset(metrics, dataset, out)
    state = rundir.load_state(out, "evaluate")
    x, y, source = _test_set(state, dataset, test_subset, cfg)
    _check_same_data(metrics, dataset, out)
    labels, ts = [l for l, _ in times], [t for _, t in times]
    net = state.net
    models = NOISE_MODELS if noise_model == "both" else (noise_model,)
    entries = []
    for name in models:
        t0 = time.perf_counter()
        model = inference.model(name, lsp_mode=lsp_mode)
        res = _run(model, net, x, y, ts, repeats=int(repeats), compensation=compensation, seed=int(seed),
                   progress=progress)
        mean, std = _summary(res["accuracy"])
        entries.append({"noise_model": model.name, "compensation": compensation,
                        "lsp_mode": model.settings().get("lsp_mode"), "repeats": int(repeats),
                        "seed": int(seed), "times_s": ts, "time_labels": labels, "accuracy_mean": mean,
                        "accuracy_std": std, **res, "seconds": time.perf_counter() - t0})
    synapse = net.layers[0].scheme.name
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
