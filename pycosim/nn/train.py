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
    config.toml      the full resolved configuration (every setting; "auto" for those the code derives)
    metrics.json     preset, accuracies, timing, transfers, counters, calibration provenance, versions, and
                     ``resolved_settings``: the values the "auto" settings resolved to, per layer
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

from pycosim.errors import ConfigError, DatasetError, caused_by_interrupt
from pycosim import files, statefile
from pycosim.files import atomic_write_bytes
from pycosim.nn import config as ncfg
from pycosim.nn import schedule
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


class NoTransfers(UserWarning):
    """A run of a scheme with transfers sees fewer training examples than transfer.interval: its LSP is
    never moved into the PCM."""


def expected_transfers(cfg: ncfg.TrainConfig, n_train: int) -> int:
    """Transfers a run of *cfg* does over *n_train* training examples per epoch: every ``transfer.interval``
    examples, counted over all epochs (0 for schemes without an LSP)."""
    if not cfg.synapse.scheme.has_lsp:
        return 0
    return cfg.training.epochs * int(n_train) // cfg.transfer.interval


def check_transfers(cfg: ncfg.TrainConfig, n_train: int) -> None:
    """Warn (:class:`NoTransfers`, one line) if a run of a scheme with transfers would do none: its
    training examples over all epochs are fewer than ``transfer.interval``."""
    if cfg.synapse.scheme.has_lsp and expected_transfers(cfg, n_train) == 0:
        total = cfg.training.epochs * int(n_train)
        warnings.warn(f"{cfg.preset}: {total} training example(s) ({cfg.training.epochs} epoch(s) of {n_train}) are "
                      f"fewer than transfer.interval={cfg.transfer.interval}: no transfer happens, the LSP is never "
                      f"moved into the PCM (lower it, e.g. -s transfer.interval={max(1, total // 2)})",
                      NoTransfers, stacklevel=3)


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
    ``cfg.training.seed`` (the seed is spawned into the network's and the order's generators; a run with
    hwa.scheme set spawns a third, the noise of hardware-aware training, :func:`pycosim.nn.hwa.attach`)."""
    rng = np.random.default_rng(cfg.training.seed)
    net_rng, order_rng = rng.spawn(2)
    net = Network(sizes, ncfg.array_configs(cfg, sizes), bundle, rng=net_rng, init_scale=cfg.network.init_scale)
    if cfg.hwa.scheme != "none":          # hardware-aware training: the third child of the seed (pycosim.nn.hwa)
        from pycosim.nn import hwa

        hwa.attach(net, cfg, bundle, rng.spawn(1)[0])
    return net, order_rng


def _bundle_id(bundle) -> dict:
    if bundle is None:
        return {"path": None, "tables_sha256": None, "scalars_sha256": None}
    import hashlib

    prov = bundle.provenance if isinstance(bundle.provenance, dict) else {}
    scalars = json.dumps(bundle.scalars, sort_keys=True, default=_json_default).encode()
    return {"path": None if bundle.path is None else str(bundle.path), "tables_sha256": prov.get("tables_sha256"),
            "scalars_sha256": hashlib.sha256(scalars).hexdigest()}


def save_checkpoint(path, state: _State, bundle, *, cfg: ncfg.TrainConfig | None = None,
                    dataset: dict | None = None, resumes: list | None = None) -> Path:
    """Write *state* to *path* atomically as a :mod:`pycosim.statefile` of kind :data:`CHECKPOINT_KIND`,
    schema :data:`CHECKPOINT_VERSION`. Tree: ``{'net': Network.state(), 'order_rng': bit_generator.state,
    'epoch', 'examples', 'history', 'transfers', 'train_seconds', 'last_transfer': [[target, final], …] or
    None, 'bundle': {'path', 'tables_sha256', 'scalars_sha256'} of the calibration bundle the network was
    built with, 'config': the resolved configuration (pycosim.config.to_dict), 'dataset':
    :func:`pycosim.datasets.sources.identity` of the data (name, spec, SHA-256), 'resumes': the resumes so
    far}``. What a resume may change is checked against 'config', 'dataset' and 'bundle'
    (:func:`check_resume`)."""
    from pycosim import config as _cfg

    tree = {"net": state.net.state(), "order_rng": state.order_rng.bit_generator.state, "epoch": state.epoch,
            "examples": state.examples, "history": state.history, "transfers": state.transfers,
            "train_seconds": state.train_seconds,
            "last_transfer": None if state.last_transfer is None else [list(p) for p in state.last_transfer],
            "bundle": _bundle_id(bundle)}
    if cfg is not None:
        tree["config"] = _cfg.to_dict(cfg)
    if dataset is not None:
        tree["dataset"] = {k: v for k, v in dataset.items() if v is not None}
    if resumes:
        tree["resumes"] = resumes
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
    rec, cur = tree.get("bundle") or {}, _bundle_id(bundle)
    for key, what in (("tables_sha256", "tables"), ("scalars_sha256", "scalars")):
        want, have = rec.get(key), cur[key]
        if cfg.synapse.scheme.analog and want and have and want != have:
            raise ConfigError(f"{path}: the run was trained with the calibration bundle {rec.get('path')} "
                              f"({what} {str(want)[:12]}…), not {getattr(bundle, 'path', None)} ({what} {have[:12]}…)")
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


#: Entries of a run directory that pycosim itself writes (besides temporary files of its own naming).
OWN_ENTRIES = (CONFIG, METRICS, CHECKPOINT, "plots", files.LOCK_NAME)


def leftovers(out_dir) -> list[Path] | None:
    """The entries of the run directory *out_dir* if it holds only the files of an unfinished run of its own
    and no checkpoint — a run that failed or was interrupted before its first epoch ended (config.toml,
    metrics.json not 'finished', plots/, the lock, temporary files of pycosim's naming) — which a rerun may
    replace and ``--resume`` may start from scratch; None if it holds a checkpoint, a finished run or any
    other file."""
    out = Path(out_dir)
    if not out.is_dir():
        return None
    entries = list(out.iterdir())
    if any(e.name not in OWN_ENTRIES and not files.is_own_temp(e.name) for e in entries):
        return None
    if (out / CHECKPOINT).exists():
        return None
    try:
        status = json.loads((out / METRICS).read_text()).get("status") if (out / METRICS).is_file() else None
    except (OSError, ValueError, AttributeError):
        status = None
    return None if status == "finished" else entries


def check_run_dir(out_dir, resume: bool) -> Path:
    """Check *out_dir* without creating anything: a new run needs an absent or empty directory in a
    writable place, or one holding only an unfinished run's own files without a checkpoint
    (:func:`leftovers`, replaced); a resumed one needs its checkpoint, or such leftovers with their
    config.toml (the run then starts from scratch). ConfigError (one line, naming it) otherwise."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    left = leftovers(out)
    if resume:
        if not (out / CHECKPOINT).is_file():
            if (out / LEGACY_CHECKPOINT).is_file():
                raise pickled_checkpoint_error(out / LEGACY_CHECKPOINT)
            if left is None or not (out / CONFIG).is_file():
                raise ConfigError(f"--resume {out}: no {CHECKPOINT} there (nothing to resume)")
    elif out.is_dir() and any(out.iterdir()) and left is None:
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


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        p = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flat(v, p))
        else:
            out[p] = v
    return out


#: The settings a resume may change (anything else is refused: the run would mix two configurations).
RESUMABLE_CHANGES = ("training.epochs",)


def check_resume(stored: ncfg.TrainConfig, requested: ncfg.TrainConfig, epochs_done: int, where) -> list[str]:
    """What changes from the run's *stored* configuration to the *requested* one on resume. Only
    :data:`RESUMABLE_CHANGES` may differ (extending ``--epochs``; not below the *epochs_done*);
    ConfigError, one line naming every other setting that differs. Returns the changed paths."""
    from pycosim import config as _cfg

    a, b = _flat(_cfg.to_dict(stored)), _flat(_cfg.to_dict(requested))
    diff = [p for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
    bad = [p for p in diff if p not in RESUMABLE_CHANGES]
    if bad:
        shown = ", ".join(f"{p} {a.get(p)!r} → {b.get(p)!r}" for p in bad[:4]) + (" …" if len(bad) > 4 else "")
        raise ConfigError(f"--resume {where}: {shown} differs from the run's own configuration; a resumed run "
                          f"continues as it was configured (only --epochs may change); start a new run instead")
    if requested.training.epochs < epochs_done:
        raise ConfigError(f"--resume {where}: training.epochs={requested.training.epochs}, but the run has already "
                          f"finished {epochs_done} epoch(s)")
    return diff


def resume_config(run_dir, preset: str | None = None, config_file=None, assignments=None, *,
                  epochs: int | None = None, train_subset: int | None = None, seed: int | None = None):
    """The configuration a ``--resume`` asks for: the run's config.toml with the dotted overrides and
    shortcuts applied (or, with *preset* / *config_file*, that configuration resolved afresh); train()
    then refuses anything but :data:`RESUMABLE_CHANGES` (:func:`check_resume`)."""
    if preset or config_file:
        return resolve_config(preset, config_file, assignments, epochs=epochs, train_subset=train_subset, seed=seed)
    base = ncfg.load(Path(run_dir).expanduser() / CONFIG)
    extra = [f"training.{k}={v}" for k, v in (("epochs", epochs), ("train_subset", train_subset), ("seed", seed))
             if v is not None]
    return ncfg.override(base, list(assignments or []) + extra)


def _state_bytes(obj) -> int:
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_state_bytes(v) for v in obj)
    return 8


def check_network_fits(cfg: ncfg.TrainConfig, sizes, bundle) -> None:
    """ConfigError (one line, with the estimate) if the network of layer *sizes* cannot fit this machine's
    memory: the device state per synapse is measured on a 32 × 32 layer of the same configuration, times
    the network's synapses (bias rows included), twice (the working copies of a read and an update)."""
    from pycosim.limits import check_fits

    n_syn = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    probe, _ = build_network(cfg, (32, 32), bundle)
    per = _state_bytes(probe.state()) / (33 * 32)
    check_fits(2 * per * n_syn, f"network {'-'.join(map(str, sizes))}",
               f"{n_syn:,} synapses × {per:.0f} bytes of device state, twice")


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


def running_every(n_train: int) -> int:
    """Training examples per point of the running training accuracy (``metrics.json`` →
    ``running_accuracy``): a twentieth of an epoch, at least 50 and at most 1,000 examples (the last window
    of an epoch may be shorter)."""
    return int(max(50, min(1000, int(n_train) // 20)))


def msp_weights(net: Network) -> list[np.ndarray]:
    """Per layer the MSP (PCM pair) part of the noise-free weights, W − LSP contribution (network units),
    from the crossbars' public reads."""
    return [xb.weights() - xb.lsp_contribution() for xb in net.layers]


def msp_change_rms(net: Network, reference: list[np.ndarray]) -> list[float]:
    """Per layer the rms change (network units) of the MSP part of the weights since *reference*
    (:func:`msp_weights` right after the last transfer): between transfers only drift moves it."""
    return [float(np.sqrt(np.mean(np.square(w - r, dtype=np.float64)))) for w, r in zip(msp_weights(net), reference)]


def state_epoch_of(tree: dict | None) -> int:
    """Epochs a checkpoint tree has finished (0 without one)."""
    return int(tree["epoch"]) if tree else 0


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


def resolved_settings(net: Network) -> dict:
    """``{dotted path: [value of layer 1, layer 2, …]}`` of the settings the configuration leaves "auto"
    (None) and the layers resolved (:meth:`pycosim.array.crossbar.Crossbar.resolved_settings`); a layer
    that does not use a setting has None in its place."""
    per = [xb.resolved_settings() for xb in net.layers]
    keys = list(dict.fromkeys(k for d in per for k in d))
    return {k: [d.get(k) for d in per] for k in keys}


def _metrics(cfg, state: _State, status: str, bundle, t_example_s: float, sizes, hw: dict | None = None,
             dataset: dict | None = None, resumes: list | None = None) -> dict:
    from pycosim import __version__

    hist = state.history
    xbs = state.net.layers
    return {
        "preset": cfg.preset,
        "status": status,
        "seed": cfg.training.seed,
        "layers": list(sizes),
        "epochs": cfg.training.epochs,
        "epochs_done": state.epoch,
        "examples_seen": state.examples,
        "test_accuracy": hist[-1]["test_accuracy"] if hist else None,
        "test_accuracy_per_epoch": [h["test_accuracy"] for h in hist],
        "train_accuracy_per_epoch": [h["train_accuracy"] for h in hist],
        "examples_per_epoch": state.examples // state.epoch if state.epoch else None,
        "running_accuracy": [p for h in hist for p in h.get("running_accuracy", [])],
        "running_accuracy_note": "[examples seen, fraction of the last window of training examples classified "
                                 "correctly before their update]; windows of pycosim.nn.train.running_every examples",
        "msp_change_rms": [p for h in hist for p in h.get("msp_change_rms", [])],
        "msp_change_rms_note": "[examples seen, per layer the rms change (network units) of the PCM-pair part of "
                               "the weights since the last transfer (or the start of the run / of a resume)]: "
                               "drift between transfers; at each running-accuracy window and just before each "
                               "transfer (schemes with an LSP)",
        "train_seconds": state.train_seconds,
        "examples_per_second": state.examples / state.train_seconds if state.train_seconds > 0 else None,
        "t_example_hardware_s": t_example_s,
        "hardware_timing": hw,
        "hardware_time_s": float(sum(xb.counters.sim_time_s for xb in xbs[:1])),
        "schedule": schedule.of(cfg.schedule).summary(t_example_s),
        "resolved_settings": resolved_settings(state.net),
        "transfers": _transfer_summary(state, hw or {}),
        "counters": [xb.counters.as_dict() for xb in xbs],
        "calibration": None if bundle is None else {"path": str(bundle.path), "provenance": bundle.provenance},
        "dataset": dataset,
        "resumes": list(resumes or []),
        "pycosim_version": __version__,
    } | _hwa_metrics(cfg, state.net)


def _hwa_metrics(cfg, net) -> dict:
    """{'hwa': per layer the tables of the injected noise sources} of a hardware-aware run, else {}."""
    if cfg.hwa.scheme == "none":
        return {}
    from pycosim.nn import hwa

    return {"hwa": {"scheme": cfg.hwa.scheme, "layers": hwa.summary(net)}}


class _DeferInterrupt:
    """Hold SIGINT (Ctrl-C) while the checkpoint and the metrics of a finished epoch are committed, so the
    two always describe the same epoch; a Ctrl-C that arrived meanwhile is delivered right after (POSIX;
    elsewhere a no-op)."""

    def __enter__(self):
        import signal
        import threading

        self.mask = None
        if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
            self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        return self

    def __exit__(self, *exc):
        import signal

        if self.mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)


def train(cfg: ncfg.TrainConfig | None, out_dir, *, dataset=None, bundle=None, resume: bool = False,
          progress: bool = True, plots: bool = True) -> dict:
    """Train the network of *cfg* on *dataset* (default: shipped MNIST) and write the run directory.

    Returns the metrics dict (also written to ``out_dir/metrics.json``). Same config and seed → the same
    accuracy to the last digit. Raises ConfigError / DatasetError / CalibrationError with one-line
    messages before any training starts. The run directory is locked while in use (:func:`pycosim.files.lock_dir`:
    a second run into it is refused; a lock of a dead process is not). On KeyboardInterrupt ``metrics.json``
    holds the numbers of the last finished epoch (those of the checkpoint) with ``"status": "interrupted"``
    and the lost progress of the unfinished epoch under ``"interrupted"``, then the interrupt propagates.
    ``plots=False`` skips the plots (sweeps of many small runs).

    Resume (*resume* True): *cfg* (None: the run's config.toml) must equal the configuration stored in the
    checkpoint except for :data:`RESUMABLE_CHANGES` (more epochs), the data set must have the SHA-256 the
    run recorded, and the calibration bundle (None: the one the run used, if it still exists) the same
    contents (:func:`check_resume`, :func:`restore_checkpoint`); each resume is listed in ``metrics.json``
    → ``resumes``. A directory holding only an unfinished run's files without a checkpoint
    (:func:`leftovers`) is started from scratch (resume) or replaced (a new run).
    """
    from pycosim import calibration
    from pycosim.datasets import sources

    data = dataset if dataset is not None else sources.load("mnist")
    out = check_run_dir(out_dir, resume)
    if not resume:
        sizes = (data.n_inputs, *cfg.network.hidden, data.n_classes)
        if cfg.synapse.scheme.analog and bundle is None:
            bundle = calibration.load()
        check_network_fits(cfg, sizes, bundle)       # before anything is created
    out = prepare_run_dir(out, resume)
    with files.lock_dir(out, "--resume" if resume else "--out"):
        files.clean_stale_temps(out)                 # left by a process killed while writing
        check_run_dir(out, resume)                   # again, now that no other process can change it
        return _train_locked(cfg, out, data, bundle, resume, progress, plots)


def _train_locked(cfg, out: Path, data, bundle, resume: bool, progress: bool, plots: bool) -> dict:
    import shutil

    from pycosim import calibration
    from pycosim.datasets import sources

    ident = sources.identity(data)
    resumes: list = []
    tree = None
    if resume and (out / CHECKPOINT).is_file():
        tree = read_checkpoint(out / CHECKPOINT)
        stored = tree.get("config")
        from pycosim import config as _cfg

        try:
            stored = _cfg.from_dict(ncfg.TrainConfig, stored) if isinstance(stored, dict) else ncfg.load(out / CONFIG)
        except ConfigError as exc:
            raise ConfigError(f"--resume {out}: the checkpoint's configuration is unreadable ({exc})") from None
        requested = cfg if cfg is not None else ncfg.load(out / CONFIG)
        changed = check_resume(stored, requested, int(tree["epoch"]), out)
        cfg = requested
        rec = tree.get("dataset") or {}
        if rec.get("sha256") and rec["sha256"] != ident["sha256"]:
            raise DatasetError(f"--resume {out}: the run was trained on the data set {rec.get('name')} (SHA-256 "
                               f"{rec['sha256'][:12]}…), not {ident['name']} ({ident['sha256'][:12]}…); give "
                               f"--dataset {rec.get('spec') or rec.get('name')}")
        resumes = list(tree.get("resumes") or [])
        resumes.append({"at_epoch": int(tree["epoch"]), "at_example": int(tree["examples"]),
                        "changed": {p: [getattr(stored.training, p.split('.')[1]),
                                        getattr(cfg.training, p.split('.')[1])] for p in changed}})
    elif resume:                                      # leftovers without a checkpoint: from scratch
        requested = cfg if cfg is not None else ncfg.load(out / CONFIG)
        check_resume(ncfg.load(out / CONFIG), requested, 0, out)
        cfg = requested
        resumes = [{"at_epoch": 0, "at_example": 0, "changed": {}, "note": f"no {CHECKPOINT}: started from scratch"}]
    for e in leftovers(out) or []:                    # a new run (or one from scratch) replaces its own leftovers
        if e.name == files.LOCK_NAME:
            continue
        shutil.rmtree(e) if e.is_dir() else e.unlink()
    x_tr, y_tr = _subset(data.x_train, data.y_train, cfg.training.train_subset)
    x_te, y_te = _subset(data.x_test, data.y_test, cfg.training.test_subset)
    if state_epoch_of(tree) < cfg.training.epochs:
        check_transfers(cfg, len(y_tr))
    sizes = (data.n_inputs, *cfg.network.hidden, data.n_classes)
    if cfg.synapse.scheme.analog and bundle is None:
        recorded = ((tree or {}).get("bundle") or {}).get("path")
        bundle = calibration.load(recorded) if recorded and Path(recorded).is_dir() else calibration.load()
    if tree is not None:
        if checkpoint_sizes(tree) != sizes:
            raise DatasetError(f"--resume {out}: the checkpoint's network is {checkpoint_sizes(tree)}, "
                               f"the data gives {sizes}")
        state = restore_checkpoint(tree, cfg, bundle, out / CHECKPOINT)
    else:
        check_network_fits(cfg, sizes, bundle)
        net, order_rng = build_network(cfg, sizes, bundle)
        state = _State(net, order_rng, 0, 0, [], [], 0.0,
                       last_transfer=[(s.target, s.final) for s in net.init_stats])
    ncfg.save(cfg, out / CONFIG)
    hw = _hardware_timing(cfg, state.net)
    t_ex = float(hw["t_example_s"])
    clock = schedule.of(cfg.schedule)
    ex_both, ex_pcm = clock.example(t_ex)

    def metrics_text(status: str) -> str:
        m = _metrics(cfg, state, status, bundle, t_ex, sizes, hw, ident, resumes)
        return json.dumps(m, indent=2, default=_json_default) + "\n"

    def write(text: str) -> None:
        atomic_write_bytes(out / METRICS, text.encode())

    # the metrics of the state the checkpoint holds (or of the start): what an interrupted run reports
    committed = {"text": metrics_text("running"), "examples": state.examples, "transfers": len(state.transfers),
                 "epoch": state.epoch}
    write(committed["text"])

    def write_stopped(status: str, error: str | None = None) -> None:
        m = json.loads(committed["text"])
        m["status"] = status
        m["unfinished_epoch"] = {
            "epoch": committed["epoch"] + 1, "examples_done_in_epoch": state.examples - committed["examples"],
            "transfers_done_in_epoch": len(state.transfers) - committed["transfers"],
            "note": "progress of the unfinished epoch: lost, not in the numbers above nor in the checkpoint; "
                    "--resume repeats that epoch"}
        if error is not None:
            m["error"] = error
        write(json.dumps(m, indent=2, default=_json_default) + "\n")

    interval = cfg.transfer.interval
    has_transfer = cfg.synapse.scheme.has_lsp
    every = running_every(len(y_tr))
    track_msp = has_transfer and cfg.synapse.scheme.analog     # schemes whose PCM pair moves only at transfers
    msp_ref = msp_weights(state.net) if track_msp else None
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
            running, win_start, win_correct, msp = [], 0, 0, []
            for k, i in enumerate(order):
                probs = net.forward(x_tr[i])
                label = int(y_tr[i])
                hit = int(np.argmax(probs) == label)
                correct += hit
                win_correct += hit
                if k + 1 - win_start == every or k + 1 == len(order):
                    running.append([state.examples + 1, win_correct / (k + 1 - win_start)])
                    win_start, win_correct = k + 1, 0
                    if track_msp:
                        msp.append([state.examples + 1, *msp_change_rms(net, msp_ref)])
                net.backward_update(probs, label, lr)
                if cfg.training.leak:
                    net.advance(ex_both)
                    if ex_pcm:
                        net.advance(ex_pcm, hold_lsp=True)
                state.examples += 1
                if has_transfer and state.examples % interval == 0:
                    if track_msp:    # the drift accumulated over the interval, then the new reference
                        msp.append([state.examples, *msp_change_rms(net, msp_ref)])
                    stats = net.transfer()
                    if track_msp:
                        msp_ref = msp_weights(net)
                    dur = _transfer_duration(cfg, hw, stats)
                    tr_both, tr_pcm = clock.transfer(dur["total"])
                    if cfg.training.leak:
                        net.advance(tr_both)          # training pauses while the transfer runs
                        if tr_pcm:
                            net.advance(tr_pcm, hold_lsp=True)
                    over = clock.reports_overruns() and dur["total"] > hw["t_interval_s"]
                    if over:
                        warnings.warn(f"transfer at example {state.examples} takes {dur['total']:.3g} s, longer "
                                      f"than its interval of {interval} examples ({hw['t_interval_s']:.3g} s)",
                                      TransferOverrun, stacklevel=3)
                    state.last_transfer = [(s.target, s.final) for s in stats]
                    state.transfers.append({"example": state.examples, "duration_s": dur["total"],
                                            "pcm_clock_s": tr_both + tr_pcm,
                                            "duration_per_layer_s": dur["per_layer_s"], "exceeds_interval": over,
                                            "layers": [s.as_dict() for s in stats]})
                if bar is not None and (k & 255) == 255:
                    bar.update(256)
                    bar.set_postfix(acc=f"{correct / (k + 1):.3f}", refresh=False)
            epoch_s = time.perf_counter() - t0
            test_acc = evaluate(net, x_te, y_te)
            with _DeferInterrupt():         # checkpoint, state and metrics of this epoch committed together
                state.train_seconds += epoch_s
                state.history.append({"epoch": state.epoch + 1, "train_accuracy": correct / len(y_tr),
                                      "test_accuracy": test_acc, "lr": lr, "epoch_seconds": epoch_s,
                                      "running_accuracy": running, "msp_change_rms": msp})
                state.epoch += 1
                save_checkpoint(out / CHECKPOINT, state, bundle, cfg=cfg, dataset=ident, resumes=resumes)
                text = metrics_text("running" if state.epoch < cfg.training.epochs else "finished")
                committed = {"text": text, "examples": state.examples, "transfers": len(state.transfers),
                             "epoch": state.epoch}
                write(text)
            if bar is not None:
                bar.n = state.epoch * len(y_tr)
                bar.set_postfix(acc=f"{correct / len(y_tr):.3f}", test=f"{test_acc:.4f}")
                bar.refresh()
    except KeyboardInterrupt:
        write_stopped("interrupted")
        raise
    except Exception as exc:
        if caused_by_interrupt(exc):     # Ctrl-C inside compiled code (a SystemError caused by it)
            write_stopped("interrupted")
        else:
            write_stopped("failed", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        raise
    finally:
        if bar is not None:
            bar.close()
    if state.epoch == committed["epoch"] and not json.loads(committed["text"])["status"] == "finished":
        committed["text"] = metrics_text("finished")   # nothing left to train (a resume of a finished run)
        write(committed["text"])
    metrics = json.loads(committed["text"])
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
