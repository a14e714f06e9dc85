"""Deployment: program a trained network into the arrays of a synapse scheme, leave a run directory.

``pycosim deploy RUN|WEIGHTS.npz --synapse 2pcm+3t1c --out DIR`` (:func:`deploy`) takes the weights of a
run directory (any ``pycosim train`` run: float, HWA or in-situ) or of a WEIGHTS.npz file (below), builds the
network on fresh arrays of the chosen scheme (every device at RESET) and programs every layer by the same
transfer engine training uses (:mod:`pycosim.array.transfer`; closed-loop program-and-verify by default,
``--mode open`` for blind pulse counts; Ambrogio et al., Nature 558, 60 (2018), Methods):

    W_target,l = clip([W_l; b_l], −w_r,l, w_r,l)      w_r,l = the layer's MSP range (synapse.weight_max,
                                                       fan-in scaled; weights beyond it cannot be programmed)
    each layer: RESET every PCM device (open loop to 0), then Crossbar.set_weights(W_target,l)

It records the programming statistics per layer (TransferStats: error rms, fraction within tolerance,
SET pulses, RESETs, verify reads; and how many targets were clipped) and classifies the test set right
after programming (t = 0, the analog forward pass with the circuit's read noise and periphery). The
output directory is a run directory like ``pycosim train`` writes — config.toml (the deployment's
configuration: the source run's, or preset ambrogio2018-accel's for a WEIGHTS.npz, with synapse.kind the
chosen scheme), checkpoint.npz, metrics.json with a ``deployment`` record — so ``pycosim evaluate`` and
``pycosim report`` accept it. Its counters hold the deployment's programming only (examples_seen 0: the
network was trained elsewhere).

WEIGHTS.npz (a plain ``numpy.savez`` file, read with allow_pickle=False; :func:`save_weights` writes one):

    W0, b0, W1, b1, …    per layer l = 0 … L−1: W_l float (n_l, n_{l+1}), b_l float (n_{l+1},), the layer
                         computes z = a·W_l + b_l (a: the layer's input row vector)
    activation           'sigmoid' (hidden layers; the output layer's logits go to a softmax / argmax), a
                         string (0-d or one-element array)

n_0 must be the data set's inputs and n_L its classes. Missing or extra arrays, shapes that do not chain,
non-finite values and another activation are one-line errors naming the file and the array.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError

#: The hidden-layer activations a WEIGHTS.npz may name (the network of :mod:`pycosim.nn.network`).
ACTIVATIONS = ("sigmoid",)
_KEY = re.compile(r"^([Wb])(\d+)$")


# ------------------------------------------------------------------ WEIGHTS.npz
def load_weights(path) -> tuple[list[np.ndarray], str]:
    """Per layer the matrix [W_l; b_l] ((n_l + 1, n_{l+1}) float32, bias as the last row, the layout of a
    crossbar with its bias row) and the activation, from a WEIGHTS.npz (module docstring). ConfigError,
    one line naming the file and the array, for anything else."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{p}: no such weights file")
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except ValueError as exc:
        raise ConfigError(f"{p}: holds Python objects, which are never loaded ({exc})") from None
    except Exception as exc:
        raise ConfigError(f"{p}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    act = data.pop("activation", None)
    if act is None:
        raise ConfigError(f"{p}: no 'activation' array (give activation='sigmoid')")
    act = np.asarray(act)
    if act.dtype.kind not in "US" or act.size != 1:
        raise ConfigError(f"{p}: 'activation' must be one string, got {act.dtype} of shape {act.shape}")
    act = str(act.reshape(-1)[0])
    if act not in ACTIVATIONS:
        raise ConfigError(f"{p}: activation {act!r}; allowed values are {', '.join(map(repr, ACTIVATIONS))}")
    bad = sorted(k for k in data if not _KEY.match(k))
    if bad:
        raise ConfigError(f"{p}: unknown array {bad[0]!r}; expected W0, b0, W1, b1, … and activation")
    n = 1 + max((int(_KEY.match(k).group(2)) for k in data), default=-1)
    if n == 0:
        raise ConfigError(f"{p}: no layers (expected arrays W0, b0, W1, b1, …)")
    out = []
    for l in range(n):
        for k in (f"W{l}", f"b{l}"):
            if k not in data:
                raise ConfigError(f"{p}: layer {l} has no array {k!r}")
        W, b = data[f"W{l}"], data[f"b{l}"]
        if W.dtype.kind not in "fiu" or b.dtype.kind not in "fiu":
            raise ConfigError(f"{p}: W{l} and b{l} must be numbers, got {W.dtype} and {b.dtype}")
        if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
            raise ConfigError(f"{p}: W{l} must be a matrix (n_in, n_out), got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ConfigError(f"{p}: b{l} must have shape ({W.shape[1]},) to match W{l} {W.shape}, got {b.shape}")
        if l and W.shape[0] != out[-1].shape[1]:
            raise ConfigError(f"{p}: W{l} has {W.shape[0]} inputs, but W{l - 1} has {out[-1].shape[1]} outputs")
        for k, a in ((f"W{l}", W), (f"b{l}", b)):
            if not np.isfinite(a).all():
                raise ConfigError(f"{p}: {k} contains NaN or infinity")
        out.append(np.vstack([W, b[None, :]]).astype(np.float32))
    return out, act


def save_weights(path, layers, activation: str = "sigmoid") -> Path:
    """Write per-layer [W_l; b_l] matrices (bias as the last row, as :func:`load_weights` returns them or
    ``Crossbar.weights()`` gives them) as a WEIGHTS.npz, atomically."""
    from pycosim.files import atomic_write_bytes

    arrays = {}
    for l, m in enumerate(layers):
        m = np.asarray(m, np.float32)
        arrays[f"W{l}"], arrays[f"b{l}"] = m[:-1], m[-1]
    buf = io.BytesIO()
    np.savez(buf, activation=np.array(activation), **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def run_weights(run_dir) -> tuple[list[np.ndarray], object, dict]:
    """(per-layer [W; b] noise-free weights, the run's configuration, its metrics) of a run directory."""
    from pycosim.evaluate import rundir

    p = rundir.run_path(run_dir, "deploy")
    metrics = rundir.load_metrics(p, "deploy")
    cfg = rundir.load_config(p, "deploy")
    state = rundir.load_state(p, "deploy")
    return [xb.weights() for xb in state.net.layers], cfg, metrics


# ------------------------------------------------------------------ programming
def program_fresh(xb, W_target: np.ndarray, mode: str | None = None):
    """Program the crossbar *xb* to W_target ((n_in, n_out), network units) as a fresh chip would be: every
    PCM device RESET first (an open-loop programming to 0: a RESET of both devices of every pair and no SET
    pulse), the layer's counters cleared, then ``xb.set_weights(W_target, mode)`` (the transfer engine;
    mode None = the layer's transfer.mode). Returns the TransferStats of the programming."""
    if xb.scheme.analog:
        xb.set_weights(np.zeros(xb.shape, np.float32), mode="open")
        xb.counters.clear_events()
    return xb.set_weights(W_target, mode)


def deploy(source, synapse: str, out_dir, *, mode: str | None = None, dataset=None, bundle=None,
           seed: int | None = None, test_subset: int | None = None, assignments=None,
           progress: bool = False) -> dict:
    """Program the network of *source* (a run directory or a WEIGHTS.npz) into arrays of scheme *synapse*
    and write the run directory *out_dir* (module docstring). Returns its metrics dict.

    mode: 'closed' / 'open' (None: the configuration's transfer.mode, closed for every shipped preset);
    dataset: a Dataset or spec (None: the source run's recorded one, else mnist); bundle: calibration bundle
    (None: shipped); seed: the deployment's seed (device instances, programming noise; None: the source
    run's training.seed, 0 for a WEIGHTS.npz); test_subset: first K test examples of the t = 0 accuracy
    (None: the source run's, 0 = all); assignments: dotted overrides of the deployment's configuration."""
    from pycosim import calibration, files
    from pycosim.array import schemes
    from pycosim.datasets import sources
    from pycosim.nn import config as ncfg
    from pycosim.nn import presets, train as tr

    if synapse not in schemes.names():
        raise ConfigError(f"--synapse {synapse!r}: allowed values are {', '.join(schemes.names())}")
    if mode is not None and mode not in ("closed", "open"):
        raise ConfigError(f"--mode {mode!r}: allowed values are 'closed', 'open'")
    tr.check_run_dir(out_dir, False)                # before any work
    src = Path(source).expanduser()
    src_metrics: dict = {}
    if src.is_dir():
        layers, src_cfg, src_metrics = run_weights(src)
        base, kind = src_cfg, "run"
        src_preset = src_cfg.preset
    elif src.suffix == ".npz" or src.is_file():
        layers, _ = load_weights(src)
        base = replace(presets.get("ambrogio2018-accel"),
                       network=replace(presets.get("ambrogio2018-accel").network,
                                       hidden=tuple(int(m.shape[1]) for m in layers[:-1])))
        kind, src_preset = "weights", "weights"
    else:
        raise ConfigError(f"deploy {src}: neither a run directory nor a WEIGHTS.npz file")
    cfg = replace(base, preset=f"deploy:{src_preset}", synapse=replace(base.synapse, kind=synapse),
                  hwa=ncfg.HWAConfig())
    extra = [f"training.seed={seed}"] if seed is not None else []
    if test_subset is not None:
        extra.append(f"training.test_subset={int(test_subset)}")
    cfg = ncfg.override(cfg, list(assignments or []) + extra)
    if mode is not None:
        cfg = replace(cfg, transfer=replace(cfg.transfer, mode=mode))
    if dataset is None:
        rec = src_metrics.get("dataset") if isinstance(src_metrics.get("dataset"), dict) else {}
        dataset = rec.get("spec") or "mnist"
    data = dataset if isinstance(dataset, sources.Dataset) else sources.load(dataset)
    sizes = (int(layers[0].shape[0]) - 1, *(int(m.shape[1]) for m in layers))
    if data.n_inputs != sizes[0] or data.n_classes != sizes[-1]:
        raise ConfigError(f"deploy {src}: the network is {'-'.join(map(str, sizes))}, the data set {data.source} "
                          f"has {data.n_inputs} inputs and {data.n_classes} classes")
    if cfg.synapse.scheme.analog and bundle is None:
        bundle = calibration.load()
    out = tr.check_run_dir(out_dir, False)
    tr.check_network_fits(cfg, sizes, bundle)
    out = tr.prepare_run_dir(out, False)
    with files.lock_dir(out, "--out"):
        t0 = time.perf_counter()
        net, order_rng = tr.build_network(cfg, sizes, bundle)
        acfgs = ncfg.array_configs(cfg, sizes)
        stats, clipped = [], []
        for xb, W, acfg in zip(net.layers, layers, acfgs):
            w_r = np.float32(acfg.weight_max)
            clipped.append(int(np.count_nonzero(np.abs(W) > w_r)) if xb.scheme.analog else 0)
            target = np.clip(W, -w_r, w_r) if xb.scheme.analog else W
            stats.append(program_fresh(xb, target.astype(np.float32), cfg.transfer.mode))
        net.init_stats = stats
        # the layers program in parallel: t = 0 is the end of the slowest closed loop (TransferStats.loop_wait_s)
        wait = max((s.loop_wait_s for s in stats if s is not None), default=0.0)
        if wait > 0:
            for xb in net.layers:
                xb.advance(wait, hold_lsp=True, settle=True)
        prog_s = time.perf_counter() - t0
        k = cfg.training.test_subset
        x_te, y_te = (data.x_test[:k], data.y_test[:k]) if k else (data.x_test, data.y_test)
        acc0 = tr.evaluate(net, x_te, y_te)
        state = tr._State(net, order_rng, 0, 0, [{"epoch": 0, "train_accuracy": None, "test_accuracy": acc0,
                                                   "lr": 0.0, "epoch_seconds": 0.0, "running_accuracy": [],
                                                   "msp_change_rms": []}], [], 0.0,
                          last_transfer=[(s.target, s.final) for s in stats])
        ident = sources.identity(data)
        ncfg.save(cfg, out / tr.CONFIG)
        tr.save_checkpoint(out / tr.CHECKPOINT, state, bundle, cfg=cfg, dataset=ident)
        hw = tr._hardware_timing(cfg, net)
        m = tr._metrics(cfg, state, "finished", bundle, float(hw["t_example_s"]), sizes, hw, ident, [])
        m["deployment"] = {
            "source": str(src), "source_kind": kind, "source_preset": src_preset,
            "source_test_accuracy": src_metrics.get("test_accuracy"),
            "synapse": synapse, "mode": cfg.transfer.mode, "programming_seconds": prog_s,
            "test_accuracy_t0": acc0, "test_examples": int(len(y_te)),
            "layers": [dict(s.as_dict(), clipped_targets=c, w_range=float(a.weight_max))
                       for s, c, a in zip(stats, clipped, acfgs)],
            "note": "fresh arrays (every PCM device RESET), then the transfer engine programs [W; b] clipped to "
                    "each layer's MSP range ±w_range; test_accuracy_t0 right after programming (analog read)"}
        files.atomic_write_bytes(out / tr.METRICS, (json.dumps(m, indent=2, default=tr._json_default) + "\n").encode())
    return m


# ------------------------------------------------------------------ the comparison table (docs/deployment.md)
def comparison(rows, *, times=("1s", "1h", "1d", "1y"), models=("circuit", "pcm-statistical"),
               compensations=("none", "global")) -> str:
    """A Markdown table of accuracy over time and energy, one line per (approach, model, compensation):
    *rows* is a list of (label, [run directories, one per seed]), each run evaluated (``evaluate.json``, the
    entries of *models* × *compensations*, times labelled *times*) and reported (``report.json``). Cells are
    the mean over seeds of each run's mean over its repeats, ± half the range over the seeds (%).
    Energies (``pycosim report``): per training example (0 for deployed runs: trained off-chip), the one-time
    initial programming, per inference."""
    def load(p, name):
        f = Path(p) / name
        if not f.is_file():
            raise ConfigError(f"{p}: no {name} (run pycosim evaluate / pycosim report first)")
        return json.loads(f.read_text())

    head = (["approach", "model", "drift comp.", "t = 0 (end of training / programming)"] + [f"{t}" for t in times]
            + ["energy / training example", "programming (one-time)", "energy / inference"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cell(vals):
        v = 100 * np.asarray(vals, float)
        return f"{v.mean():.1f} ± {(v.max() - v.min()) / 2:.1f}" if v.size > 1 else f"{v.mean():.1f}"

    def energy(v):
        return "—" if v is None or not np.isfinite(v) else f"{v * 1e9:,.0f} nJ" if v < 1e-5 else f"{v * 1e3:.2f} mJ"

    for label, dirs in rows:
        evs = [load(d, "evaluate.json") for d in dirs]
        reps = [load(d, "report.json") for d in dirs]
        t0 = cell([e["trained_test_accuracy"] for e in evs])
        en = [r.get("energy") or {} for r in reps]
        off_chip = all(int(r.get("examples_seen") or 0) == 0 for r in reps)
        e_tr = np.nan if off_chip else float(np.mean([x.get("per_example_J", {}).get("total", np.nan) for x in en]))
        e_pg = float(np.mean([x.get("phase_J", {}).get("initial programming", np.nan) for x in en]))
        e_in = float(np.mean([x.get("per_inference_J", np.nan) for x in en]))
        for model in models:
            for comp in compensations:
                accs = []
                for e in evs:
                    got = [x for x in e["entries"] if x["noise_model"] == model and x["compensation"] == comp]
                    if not got:
                        raise ConfigError(f"{e['run_dir']}: evaluate.json has no entry for {model}, {comp}")
                    lab = got[-1]["time_labels"]
                    accs.append([got[-1]["accuracy_mean"][lab.index(t)] for t in times])
                accs = np.asarray(accs)
                lines.append("| " + " | ".join([label, model, comp, t0] + [cell(accs[:, k]) for k in range(len(times))]
                                               + ["— (trained off-chip)" if off_chip else energy(e_tr), energy(e_pg),
                                                  energy(e_in)]) + " |")
    return "\n".join(lines) + "\n"
