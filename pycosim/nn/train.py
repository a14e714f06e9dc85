"""The training loop: batch-1 SGD on crossbars, on the hardware's own schedule.

Per example (Ambrogio et al., Nature 558, 60 (2018), Fig. 1 and Methods):
    forward (analog reads of every layer) → backward (transposed reads) → update (coincident pulses on
    the LSP) → the 3T1C cells leak for the hardware time of one example, t_example from
    :func:`pycosim.timing.hardware` (read windows derived from the network's periphery and the bundle);
every ``transfer.interval`` examples every layer's LSP is moved into its PCM pair (closed- or open-loop
tuning) and the capacitors are reset (polarity inverted). Training pauses during a transfer: its duration,
:func:`pycosim.timing.network_transfer_time_s` of the transfer's own counts, is recorded
(``metrics.json`` → ``transfers.duration_s``) and the hardware clocks (3T1C leakage, PCM drift age) advance
by it; a transfer that takes longer than its interval of examples is reported (``transfers.overruns`` and a
warning line). After each epoch the test set is classified
through the same analog forward pass, a checkpoint of the whole state (devices, counters, random
generators) is written atomically, and ``metrics.json`` is rewritten, so an interrupted run leaves valid
files and ``resume`` continues it to the same result an uninterrupted run gives.

Run directory:
    config.toml      the full resolved configuration
    metrics.json     preset, accuracies, timing, transfers, counters, calibration provenance, versions
    checkpoint.npz   state at the end of the last finished epoch (for ``--resume``): a
                     :mod:`pycosim.statefile` of kind ``pycosim.checkpoint`` (no pickle; see
                     :func:`save_checkpoint`)
    plots/           learning curve, transfer correlation map, conductance histograms
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError, DatasetError
from pycosim import statefile
from pycosim.files import atomic_write_bytes
from pycosim.nn import config as ncfg
from pycosim.nn.network import Network

CHECKPOINT = "checkpoint.npz"
#: The checkpoint file of pycosim before format version 2 (a pickle): recognised by name, never read.
LEGACY_CHECKPOINT = "checkpoint.pkl"
#: Statefile kind and schema version of :data:`CHECKPOINT` (version 1 was the pickled ``checkpoint.pkl``).
CHECKPOINT_KIND = "pycosim.checkpoint"
CHECKPOINT_VERSION = 2
METRICS = "metrics.json"
CONFIG = "config.toml"


class TransferOverrun(UserWarning):
    """A transfer took longer in hardware time than the interval of examples it ends."""


@dataclass
class _State:
    """Everything a resumed run needs (written atomically at the end of every epoch, :func:`save_checkpoint`)."""
    net: Network
    order_rng: np.random.Generator
    epoch: int
    examples: int
    history: list
    transfers: list
    train_seconds: float
    last_transfer: list | None = None   # per layer (target, final) arrays of the latest transfer, for plots


def pickled_checkpoint_error(path) -> ConfigError:
    """The one-line error for a pickled checkpoint (an old ``checkpoint.pkl``, or a pickle where a checkpoint
    is expected): such files are never unpickled (unpickling can run arbitrary code)."""
    return ConfigError(f"{path}: a pickled checkpoint from before checkpoint format version {CHECKPOINT_VERSION}, "
                       f"which this version of pycosim does not load (rerun the training)")


def build_network(cfg: ncfg.TrainConfig, sizes, bundle) -> tuple[Network, np.random.Generator]:
    """The freshly initialised network of a run and its example-order generator, both from
    ``cfg.training.seed`` (the seed is spawned into the network's and the order's generators)."""
    rng = np.random.default_rng(cfg.training.seed)
    net_rng, order_rng = rng.spawn(2)
    net = Network(sizes, ncfg.array_configs(cfg, sizes), bundle, rng=net_rng, init_scale=cfg.network.init_scale)
    return net, order_rng


def _bundle_id(bundle) -> dict:
    if bundle is None:
        return {"path": None, "tables_sha256": None}
    prov = bundle.provenance if isinstance(bundle.provenance, dict) else {}
    return {"path": None if bundle.path is None else str(bundle.path), "tables_sha256": prov.get("tables_sha256")}


def save_checkpoint(path, state: _State, bundle) -> Path:
    """Write *state* to *path* atomically as a :mod:`pycosim.statefile` of kind :data:`CHECKPOINT_KIND`,
    schema :data:`CHECKPOINT_VERSION`. Tree: ``{'net': Network.state(), 'order_rng': bit_generator.state,
    'epoch', 'examples', 'history', 'transfers', 'train_seconds', 'last_transfer': [[target, final], …] or
    None, 'bundle': {'path', 'tables_sha256'} of the calibration bundle the network was built with}``."""
    tree = {"net": state.net.state(), "order_rng": state.order_rng.bit_generator.state, "epoch": state.epoch,
            "examples": state.examples, "history": state.history, "transfers": state.transfers,
            "train_seconds": state.train_seconds,
            "last_transfer": None if state.last_transfer is None else [list(p) for p in state.last_transfer],
            "bundle": _bundle_id(bundle)}
    return statefile.save(path, tree, CHECKPOINT_KIND, version=CHECKPOINT_VERSION)


def read_checkpoint(path) -> dict:
    """The tree of the checkpoint *path* (:func:`save_checkpoint`), without building the network. A pickle
    (by content, or the old ``checkpoint.pkl`` by name) is refused unread: :func:`pickled_checkpoint_error`.
    ConfigError (one line naming the file) for anything else that is not a readable checkpoint."""
    path = Path(path)
    if path.name == LEGACY_CHECKPOINT or statefile.looks_pickled(path):
        raise pickled_checkpoint_error(path)
    tree = statefile.load(path, CHECKPOINT_KIND, version=CHECKPOINT_VERSION)
    net = tree.get("net") if isinstance(tree, dict) else None
    if not isinstance(net, dict) or not isinstance(net.get("sizes"), list) or "order_rng" not in tree:
        raise ConfigError(f"{path}: does not hold a training state")
    return tree


def checkpoint_sizes(tree: dict) -> tuple:
    """The layer sizes (n_in, …, n_out) of a checkpoint tree (:func:`read_checkpoint`)."""
    return tuple(int(s) for s in tree["net"]["sizes"])


def restore_checkpoint(tree: dict, cfg: ncfg.TrainConfig, bundle, path="checkpoint") -> _State:
    """The :class:`_State` of a checkpoint tree: the network rebuilt exactly as the run built it
    (:func:`build_network` with the run's *cfg* and calibration *bundle*), then its saved state restored, so
    training continues bit for bit. ConfigError (naming *path*) if the tree does not fit the config or the
    bundle is not the one the run used (by the SHA-256 of its tables, when both are known)."""
    want = (tree.get("bundle") or {}).get("tables_sha256")
    have = _bundle_id(bundle)["tables_sha256"]
    if cfg.synapse.scheme.analog and want and have and want != have:
        raise ConfigError(f"{path}: the run was trained with the calibration bundle "
                          f"{(tree.get('bundle') or {}).get('path')} (tables {want[:12]}…), not "
                          f"{getattr(bundle, 'path', None)} (tables {have[:12]}…)")
    try:
        net, order_rng = build_network(cfg, checkpoint_sizes(tree), bundle)
        net.set_state(tree["net"])
        order_rng.bit_generator.state = tree["order_rng"]
        lt = tree.get("last_transfer")
        return _State(net, order_rng, int(tree["epoch"]), int(tree["examples"]), list(tree["history"]),
                      list(tree["transfers"]), float(tree["train_seconds"]),
                      last_transfer=None if lt is None else [tuple(p) for p in lt])
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(f"{path}: does not fit this run's configuration ({type(exc).__name__}: {exc})") from None


def check_run_dir(out_dir, resume: bool) -> Path:
    """Check *out_dir* without creating anything: a new run needs an absent or empty directory in a
    writable place; a resumed one needs its checkpoint. ConfigError (one line, naming it) otherwise."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if resume:
        if not (out / CHECKPOINT).is_file():
            if (out / LEGACY_CHECKPOINT).is_file():
                raise pickled_checkpoint_error(out / LEGACY_CHECKPOINT)
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


def _hardware_timing(cfg: ncfg.TrainConfig, net: Network) -> dict:
    """:func:`pycosim.timing.hardware` of *net* with the run's pulse budget and transfer interval (layers
    without an analog periphery fall back to the PWM window of the run's input bits)."""
    from pycosim import timing

    hw = timing.hardware(net, n_pulse_max=cfg.update.max_pulses, interval=cfg.transfer.interval)
    if not cfg.synapse.scheme.analog:
        bits = cfg.periphery.input_bits or 8
        tb = timing.example_breakdown_s(tuple(net.sizes), pwm_bits=bits, n_pulse_max=cfg.update.max_pulses)
        hw.update(example_breakdown_s=tb, t_example_s=tb["example"])
    return hw


def _transfer_duration(cfg: ncfg.TrainConfig, hw: dict, stats) -> dict:
    """Duration (s) of one network transfer from its TransferStats per layer (pycosim.timing)."""
    from pycosim import timing

    return timing.network_transfer_time_s(hw, stats, closed=cfg.transfer.mode == "closed",
                                          lsp_cells=cfg.synapse.scheme.has_3t1c)


def _transfer_summary(state: _State, hw: dict) -> dict:
    durs = [float(t.get("duration_s", 0.0)) for t in state.transfers]
    t_int = hw.get("t_interval_s")
    over = [t["example"] for t in state.transfers if t.get("exceeds_interval")]
    return {"count": len(state.transfers), "duration_s": durs, "total_duration_s": float(sum(durs)),
            "max_duration_s": max(durs, default=0.0), "interval_s": t_int, "overruns": len(over),
            "overrun_examples": over, "schedule": "training pauses; layers in parallel; rows serial, columns "
            "parallel (pycosim.timing.transfer_time_s)", "per_transfer": state.transfers}


def _metrics(cfg, state: _State, status: str, bundle, t_example_s: float, sizes, hw: dict | None = None) -> dict:
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
        "hardware_timing": hw,
        "hardware_time_s": float(sum(xb.counters.sim_time_s for xb in xbs[:1])),
        "transfers": _transfer_summary(state, hw or {}),
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
    if resume:
        tree = read_checkpoint(out / CHECKPOINT)
        if checkpoint_sizes(tree) != sizes:
            raise DatasetError(f"--resume {out}: the checkpoint's network is {checkpoint_sizes(tree)}, "
                               f"the data gives {sizes}")
        state = restore_checkpoint(tree, cfg, bundle, out / CHECKPOINT)
    else:
        ncfg.save(cfg, out / CONFIG)
        net, order_rng = build_network(cfg, sizes, bundle)
        state = _State(net, order_rng, 0, 0, [], [], 0.0,
                       last_transfer=[(s.target, s.final) for s in net.init_stats])
    hw = _hardware_timing(cfg, state.net)
    t_ex = float(hw["t_example_s"])

    def write_metrics(status: str) -> dict:
        m = _metrics(cfg, state, status, bundle, t_ex, sizes, hw)
        m["dataset"] = data.identity          # what the data are (source; recipe of derived sets)
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
                    dur = _transfer_duration(cfg, hw, stats)
                    if cfg.training.leak:
                        net.advance(dur["total"])     # training pauses while the transfer runs
                    over = dur["total"] > hw["t_interval_s"]
                    if over:
                        warnings.warn(f"transfer at example {state.examples} takes {dur['total']:.3g} s, longer "
                                      f"than its interval of {interval} examples ({hw['t_interval_s']:.3g} s)",
                                      TransferOverrun, stacklevel=2)
                    state.last_transfer = [(s.target, s.final) for s in stats]
                    state.transfers.append({"example": state.examples, "duration_s": dur["total"],
                                            "duration_per_layer_s": dur["per_layer_s"], "exceeds_interval": over,
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
            save_checkpoint(out / CHECKPOINT, state, bundle)
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
