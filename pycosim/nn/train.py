"""The training loop: batch-1 SGD on crossbars, on the hardware's own schedule.

Per example (Ambrogio et al., Nature 558, 60 (2018), Fig. 1 and Methods):
    forward (analog reads of every layer) → backward (transposed reads) → update (coincident pulses on
    the LSP) → the 3T1C cells leak for the hardware time of one example, t_example from
    :func:`pycosim.timing.example_time_s` (with the array's PWM bits and update pulse budget);
every ``transfer.interval`` examples every layer's LSP is moved into its PCM pair (closed- or open-loop
tuning) and the capacitors are reset (polarity inverted). After each epoch the test set is classified
through the same analog forward pass, a checkpoint of the whole state (devices, counters, random
generators) is written atomically, and ``metrics.json`` is rewritten, so an interrupted run leaves valid
files and ``resume`` continues it to the same result an uninterrupted run gives.

Run directory:
    config.toml      the full resolved configuration
    metrics.json     preset, accuracies, timing, transfers, counters, calibration provenance, versions
    checkpoint.pkl   state at the end of the last finished epoch (for ``--resume``)
    plots/           learning curve, transfer correlation map, conductance histograms
"""

from __future__ import annotations

import json
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError, DatasetError
from pycosim.files import atomic_write_bytes
from pycosim.nn import config as ncfg
from pycosim.nn.network import Network

CHECKPOINT = "checkpoint.pkl"
METRICS = "metrics.json"
CONFIG = "config.toml"


@dataclass
class _State:
    """Everything a resumed run needs (pickled atomically at the end of every epoch)."""
    net: Network
    order_rng: np.random.Generator
    epoch: int
    examples: int
    history: list
    transfers: list
    train_seconds: float
    last_transfer: list | None = None   # per layer (target, final) arrays of the latest transfer, for plots


def check_run_dir(out_dir, resume: bool) -> Path:
    """Check *out_dir* without creating anything: a new run needs an absent or empty directory in a
    writable place; a resumed one needs its checkpoint. ConfigError (one line, naming it) otherwise."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise ConfigError(f"--resume {out}: no {CHECKPOINT} there (nothing to resume)")
    elif out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"--out {out}: directory exists and is not empty (use --resume to continue a run, "
                          f"or choose a new directory)")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: cannot write in {probe}")
    return out


def prepare_run_dir(out_dir, resume: bool) -> Path:
    """:func:`check_run_dir`, then create the directory (ConfigError if that fails)."""
    out = check_run_dir(out_dir, resume)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create it ({exc.strerror or exc})") from None
    return out


def resolve_config(preset: str | None = None, config_file=None, assignments=None, *, epochs: int | None = None,
                   train_subset: int | None = None, seed: int | None = None) -> ncfg.TrainConfig:
    """The configuration of a run: a preset (default ``ambrogio2018``) or a TOML file, then the dotted
    overrides, then the shortcuts *epochs*, *train_subset*, *seed* (ConfigError on any bad value)."""
    from pycosim.nn import presets

    if preset and config_file:
        raise ConfigError("give either --preset or --config, not both")
    cfg = ncfg.load(config_file) if config_file else presets.get(preset or "ambrogio2018")
    extra = [f"training.{k}={v}" for k, v in (("epochs", epochs), ("train_subset", train_subset), ("seed", seed))
             if v is not None]
    return ncfg.override(cfg, list(assignments or []) + extra)


def _subset(x, y, k: int):
    return (x[:k], y[:k]) if k and k < len(y) else (x, y)


def evaluate(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples classified correctly through the analog forward pass."""
    correct = 0
    for i in range(len(y)):
        correct += net.predict(x[i]) == y[i]
    return correct / len(y)


def _example_time_s(cfg: ncfg.TrainConfig, sizes) -> float:
    from pycosim import timing

    bits = cfg.periphery.input_bits or 8
    return float(timing.example_time_s(tuple(sizes), pwm_bits=bits, n_pulse_max=cfg.update.max_pulses))


def _metrics(cfg, state: _State, status: str, bundle, t_example_s: float, sizes) -> dict:
    from pycosim import __version__

    hist = state.history
    xbs = state.net.layers
    return {
        "preset": cfg.preset,
        "status": status,
        "seed": cfg.training.seed,
        "layers": list(sizes),
        "epochs_done": state.epoch,
        "examples_seen": state.examples,
        "test_accuracy": hist[-1]["test_accuracy"] if hist else None,
        "test_accuracy_per_epoch": [h["test_accuracy"] for h in hist],
        "train_accuracy_per_epoch": [h["train_accuracy"] for h in hist],
        "train_seconds": state.train_seconds,
        "examples_per_second": state.examples / state.train_seconds if state.train_seconds > 0 else None,
        "t_example_hardware_s": t_example_s,
        "transfers": {"count": len(state.transfers), "per_transfer": state.transfers},
        "counters": [xb.counters.as_dict() for xb in xbs],
        "calibration": None if bundle is None else {"path": str(bundle.path), "provenance": bundle.provenance},
        "pycosim_version": __version__,
    }


def train(cfg: ncfg.TrainConfig, out_dir, *, dataset=None, bundle=None, resume: bool = False,
          progress: bool = True, plots: bool = True) -> dict:
    """Train the network of *cfg* on *dataset* (default: shipped MNIST) and write the run directory.

    Returns the metrics dict (also written to ``out_dir/metrics.json``). Same config and seed → the same
    accuracy to the last digit. Raises ConfigError / DatasetError / CalibrationError with one-line
    messages before any training starts; on KeyboardInterrupt the last finished epoch's files stay valid
    and ``metrics.json`` says ``"status": "interrupted"``, then the interrupt propagates. ``plots=False``
    skips the plots (sweeps of many small runs).
    """
    from pycosim.datasets import sources

    out = prepare_run_dir(out_dir, resume)
    if resume:
        cfg = ncfg.load(out / CONFIG)
    data = dataset if dataset is not None else sources.load("mnist")
    x_tr, y_tr = _subset(data.x_train, data.y_train, cfg.training.train_subset)
    x_te, y_te = _subset(data.x_test, data.y_test, cfg.training.test_subset)
    sizes = (data.n_inputs, *cfg.network.hidden, data.n_classes)
    if cfg.synapse.scheme.analog and bundle is None:
        from pycosim import calibration

        bundle = calibration.load()
    acfg = ncfg.array_configs(cfg, sizes)
    t_ex = _example_time_s(cfg, sizes)
    if resume:
        try:
            state: _State = pickle.loads((out / CHECKPOINT).read_bytes())
        except Exception as exc:
            raise ConfigError(f"--resume {out}: unreadable {CHECKPOINT} ({type(exc).__name__}: {exc})") from None
        if state.net.sizes != sizes:
            raise DatasetError(f"--resume {out}: the checkpoint's network is {state.net.sizes}, the data gives {sizes}")
    else:
        ncfg.save(cfg, out / CONFIG)
        rng = np.random.default_rng(cfg.training.seed)
        net_rng, order_rng = rng.spawn(2)
        net = Network(sizes, acfg, bundle, rng=net_rng, init_scale=cfg.network.init_scale)
        state = _State(net, order_rng, 0, 0, [], [], 0.0,
                       last_transfer=[(s.target, s.final) for s in net.init_stats])

    def write_metrics(status: str) -> dict:
        m = _metrics(cfg, state, status, bundle, t_ex, sizes)
        atomic_write_bytes(out / METRICS, (json.dumps(m, indent=2, default=_json_default) + "\n").encode())
        return m

    interval = cfg.transfer.interval
    has_transfer = cfg.synapse.scheme.has_lsp
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.training.epochs * len(y_tr), initial=state.epoch * len(y_tr), unit="ex",
                   desc=cfg.preset, mininterval=0.5, smoothing=0.05)
    try:
        while state.epoch < cfg.training.epochs:
            lr = cfg.training.lr * cfg.training.lr_decay ** state.epoch
            order = state.order_rng.permutation(len(y_tr))
            net = state.net
            t0 = time.perf_counter()
            correct = 0
            for k, i in enumerate(order):
                probs = net.forward(x_tr[i])
                label = int(y_tr[i])
                correct += int(np.argmax(probs) == label)
                net.backward_update(probs, label, lr)
                if cfg.training.leak:
                    net.advance(t_ex)
                state.examples += 1
                if has_transfer and state.examples % interval == 0:
                    stats = net.transfer()
                    state.last_transfer = [(s.target, s.final) for s in stats]
                    state.transfers.append({"example": state.examples,
                                            "layers": [s.as_dict() for s in stats]})
                if bar is not None and (k & 255) == 255:
                    bar.update(256)
                    bar.set_postfix(acc=f"{correct / (k + 1):.3f}", refresh=False)
            epoch_s = time.perf_counter() - t0
            test_acc = evaluate(net, x_te, y_te)
            state.train_seconds += epoch_s
            state.history.append({"epoch": state.epoch + 1, "train_accuracy": correct / len(y_tr),
                                  "test_accuracy": test_acc, "lr": lr, "epoch_seconds": epoch_s})
            state.epoch += 1
            if bar is not None:
                bar.n = state.epoch * len(y_tr)
                bar.set_postfix(acc=f"{correct / len(y_tr):.3f}", test=f"{test_acc:.4f}")
                bar.refresh()
            atomic_write_bytes(out / CHECKPOINT, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
            write_metrics("running" if state.epoch < cfg.training.epochs else "finished")
    except KeyboardInterrupt:
        write_metrics("interrupted")
        raise
    finally:
        if bar is not None:
            bar.close()
    metrics = write_metrics("finished")
    if plots:
        from pycosim.nn.plots import plot_run

        plot_run(out / "plots", state, metrics)
    return metrics


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
