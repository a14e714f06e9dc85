"""Training configuration: one frozen dataclass tree, TOML in and out, dotted-path overrides.

The tree (every field documented with its unit)::

    TrainConfig
      preset                       name of the preset it started from (informational)
      network   NetworkConfig      hidden layer sizes, activation, weight initialisation
      training  TrainingConfig     epochs, learning rate and schedule, subset, seed, evaluation
      synapse   SynapseConfig      synapse scheme (2pcm+3t1c, 4pcm, 2pcm, ideal), F, weight range
      pcm, lsp, periphery, update, transfer     the crossbar's sections (pycosim.array.config)
      schedule  ScheduleConfig     how hardware time passes: the accelerator's, or the paper's tester
      hwa       HWAConfig          hardware-aware training: deployment noise in a float forward pass

so that ``-s transfer.interval=4000 -s synapse.F=4 -s lsp.up_down_ratio=0.9`` address the same names a
researcher reads in the papers. :func:`array_config` assembles the per-layer
:class:`pycosim.array.config.ArrayConfig` from it. Mechanics (types, unknown names, TOML) live in
:mod:`pycosim.config`.
"""

from __future__ import annotations

import math
from dataclasses import replace, dataclass, field

import numpy as np

from typing import Literal

from pycosim import assumptions as A
from pycosim import config as _cfg
from pycosim.array import schemes
from pycosim.array.config import (SYNAPSES, ArrayConfig, LSPConfig, PCMConfig, PeripheryConfig,
                                  TransferConfig, UpdateConfig)
from pycosim.config import check as _check


@dataclass(frozen=True)
class NetworkConfig:
    """Fully connected network; input size and classes come from the data set.

    hidden: sizes of the hidden layers (neurons; default 250, 125: MNIST 784-250-125-10, Ambrogio et al. 2018).
    activation: hidden-layer activation; 'sigmoid' f(z) = 1/(1 + e^−z), computed in the digital
        periphery, as in the paper (the output layer is a softmax).
    init_scale: initial weights are uniform in ±init_scale/√n_in (network units; default √3: standard
        deviation 1/√n_in, LeCun et al. 1998), programmed into the
        MSP pair before training (a closed-loop transfer of the initial weights).
    """

    hidden: tuple[int, ...] = (250, 125)
    activation: Literal["sigmoid"] = "sigmoid"
    init_scale: float = 1.7320508075688772

    def __post_init__(self):
        _check(all(h >= 1 for h in self.hidden), f"network.hidden={self.hidden}: every size must be ≥ 1")
        _check(self.activation == "sigmoid", f"network.activation={self.activation!r}: allowed values are 'sigmoid'")
        _check(self.init_scale > 0, f"network.init_scale={self.init_scale}: must be > 0")


@dataclass(frozen=True)
class TrainingConfig:
    """SGD at batch size 1, the hardware's own schedule.

    epochs: passes over the training set (or the subset) (epochs).
    lr: learning rate η of ΔW = −η·x⊗δ (network units).
    lr_decay: η of epoch e (from 0) is lr·lr_decay^e (dimensionless; 1 = constant). Default 0.5: plain float32 SGD of
        784-250-125-10 on MNIST reaches 96.5 / 97.1 / 97.6 / 97.8 % test accuracy after epochs 1–4 with it,
        while a constant η = 0.1 wanders between 96.1 and 97.3 % over five epochs (measured here).
    train_subset: use only the first K training examples (examples; 0 = all).
    test_subset: evaluate on the first K test examples (examples; 0 = all).
    seed: (dimensionless integer) seed of every random draw (device instances, noise, pulse rounding, example order).
    leak: let the 3T1C cells leak for the hardware time of each example (pycosim.timing.example_time_s).
    """

    epochs: int = 5
    lr: float = 0.1
    lr_decay: float = 0.5
    train_subset: int = 0
    test_subset: int = 0
    seed: int = 0
    leak: bool = True

    def __post_init__(self):
        _check(self.epochs >= 1, f"training.epochs={self.epochs}: must be ≥ 1")
        _check(self.lr > 0, f"training.lr={self.lr}: must be > 0")
        _check(0 < self.lr_decay <= 1, f"training.lr_decay={self.lr_decay}: must be in (0, 1]")
        _check(self.train_subset >= 0, f"training.train_subset={self.train_subset}: must be ≥ 0 (0 = all)")
        _check(self.test_subset >= 0, f"training.test_subset={self.test_subset}: must be ≥ 0 (0 = all)")
        _check(0 <= self.seed < 2**63, f"training.seed={self.seed}: must be in 0..2^63−1")


@dataclass(frozen=True)
class SynapseConfig:
    """How a weight is encoded in conductances.

    kind: '2pcm+3t1c' W = F·(G⁺ − G⁻) + pol·(g − g_shared) (Ambrogio et al., Nature 558, 60 (2018));
        '4pcm' W = F·(G⁺ − G⁻) + (g⁺ − g⁻) (Cristiano et al., J. Appl. Phys. 124, 151901 (2018));
        '2pcm' W = F·(G⁺ − G⁻), updates as SET pulses (Burr et al., IEEE TED 62, 3498 (2015));
        'ideal' float32 weights (the software baseline through the same loop);
        '2pcm+meas' as '2pcm+3t1c' with a measured device as the LSP (a bundle of pycosim calibrate-data --role lsp);
        '4pcm-kpairs', '2pcm+3t1c-kpairs': k = pcm.redundant_pairs pairs at one significance (pcm.redundancy).
    F: significance factor of the MSP pair (dimensionless).
    weight_max: network weight (network units) of the full MSP range F·(G_max − G_reset) in the first layer; fixes network
        units per siemens (the read gain of the layer's periphery).
    weight_scaling: 'fan_in' (default): layer l's range is weight_max·√(n_in,1/n_in,l) (fan-ins without the
        bias row), the 1/√fan-in law of the initial and of trained weights (a float-trained 784-250-125-10
        MNIST network has p99 |W| of 0.36 / 0.57 / 1.53 per layer), so the output layer's larger weights and
        updates fit its range and pulse budget; 'fixed': weight_max in every layer.
    """

    kind: Literal[SYNAPSES] = "2pcm+3t1c"
    F: float = 3.0
    weight_max: float = 1.0
    weight_scaling: Literal["fan_in", "fixed"] = "fan_in"

    def __post_init__(self):
        _check(self.kind in SYNAPSES, f"synapse.kind={self.kind!r}: allowed values are {', '.join(map(repr, SYNAPSES))}")
        _check(self.F > 0, f"synapse.F={self.F}: must be > 0")
        _check(self.weight_max > 0, f"synapse.weight_max={self.weight_max}: must be > 0")
        _check(self.weight_scaling in ("fan_in", "fixed"),
               f"synapse.weight_scaling={self.weight_scaling!r}: allowed values are 'fan_in', 'fixed'")

    @property
    def scheme(self) -> schemes.SchemeInfo:
        """What the scheme *kind* has (:func:`pycosim.array.schemes.info`: analog, has_lsp, polarity, …)."""
        return schemes.info(self.kind)


@dataclass(frozen=True)
class ScheduleConfig:
    """How hardware time passes during training: the clocks of 3T1C leakage and PCM drift
    (:mod:`pycosim.nn.schedule`).

    kind: 'accelerator' — the projected accelerator (pycosim.timing: t_example and each transfer's duration
        derived from the bundle, the periphery and the transfer's own counts); 'tester' — the mixed
        hardware–software demonstration of Ambrogio et al., Nature 558, 60 (2018): the PCM on the tester's
        wall clock (example_s, transfer_s), the 3T1C cells on the accelerator's.
    example_s: 'tester' only: wall time of one training example (s); default pycosim.assumptions
        TESTER_EXAMPLE_S (an assumption, with its reasoning).
    transfer_s: 'tester' only: wall time of one transfer (s); default TESTER_TRANSFER_S.
    verify_delay_s: 'tester' only: age of a PCM device at the closed loop's verify read after its pulse (s), the
        tester's pulse → source-measure-unit read (default TESTER_VERIFY_DELAY_S, an assumption with its
        reasoning); used as transfer.verify_delay_s when that is None ('accelerator': each layer derives its own
        from pycosim.timing.verify_delay_s).
    """

    kind: Literal["accelerator", "tester"] = "accelerator"
    example_s: float = A.TESTER_EXAMPLE_S.value
    transfer_s: float = A.TESTER_TRANSFER_S.value
    verify_delay_s: float = A.TESTER_VERIFY_DELAY_S.value

    def __post_init__(self):
        _check(self.kind in ("accelerator", "tester"),
               f"schedule.kind={self.kind!r}: allowed values are 'accelerator', 'tester'")
        _check(math.isfinite(self.example_s) and self.example_s > 0,
               f"schedule.example_s={self.example_s}: must be a finite time > 0 (s)")
        _check(math.isfinite(self.transfer_s) and self.transfer_s >= 0,
               f"schedule.transfer_s={self.transfer_s}: must be a finite time ≥ 0 (s)")
        _check(math.isfinite(self.verify_delay_s) and self.verify_delay_s >= 0,
               f"schedule.verify_delay_s={self.verify_delay_s}: must be a finite time ≥ 0 (s)")


#: Deployment schemes whose noise hardware-aware training can inject ('none': HWA off).
HWA_SCHEMES = ("none", "2pcm+3t1c", "4pcm", "2pcm")


@dataclass(frozen=True)
class HWAConfig:
    """Hardware-aware (HWA) training: float weights (synapse.kind 'ideal') whose forward pass sees, per
    example, the noise a deployment into *scheme* would add (:mod:`pycosim.nn.hwa`; after Rasch et al.,
    Nat. Commun. 14, 5282 (2023), who inject noise in the forward pass only, backward and update ideal).
    Every amount comes from the calibration bundle through the deployment's own array configuration
    (the pcm, periphery, transfer sections of this configuration with synapse.kind = scheme).

    scheme: deployment synapse scheme whose noise is injected; 'none' = HWA off (plain float training).
    programming: closed-loop programming error: per-weight error of the transfer engine, mean and σ as a
        function of |W| measured by programming a probe array of the deployment scheme from the bundle
        (the precision floor; Rasch et al. inject programming noise as their main weight noise).
    read_noise: read noise of one forward read at the forward read window: the read-noise variance of the
        probe's programmed synapses (both PCM devices as the closed loop left them; the bundle's 1/f table
        pcm/read_noise_rel_sigma), grown to the age t_eval_s (pcm.read_noise_growth).
    drift: PCM drift to t_eval_s with the device-to-device spread: ratio G(t)/G_prog per level from the
        bundle's per-device drift curves (pcm/drift_g_S); Rasch et al. do not inject drift, they rely on
        global drift compensation at inference; here its spread is injected (and the mean too when
        drift_compensation is 'none').
    periphery: PWM input quantisation (periphery.input_bits) and ADC quantisation and rail clipping of the
        forward read (periphery.adc_bits, the bundle's integrator rails and gain, nominal: no mismatch).
    weight_clip: clip every weight to the deployment's MSP range ±weight_max of its layer after each update
        and in the forward pass (Rasch et al. clip weights to the range that can be programmed).
    t_eval_s: time after programming the drift and read-noise growth are drawn at (s). Default 3600 s:
        the logarithmic middle of the 1 s … 1 y horizons of docs/deployment.md (a choice, not fitted).
    drift_compensation: 'global': the layer's mean drift is divided out (an ideal global drift
        compensation, Rasch et al. 2023; pycosim.inference.compensation), only the spread stays; 'none':
        the mean decay is injected too.
    probe_synapses: synapses of the probe array per layer that measures the programming error and the read
        noise of programmed synapses (dimensionless; a count of synapses).
    """

    scheme: Literal["none", "2pcm+3t1c", "4pcm", "2pcm"] = "none"
    programming: bool = True
    read_noise: bool = True
    drift: bool = True
    periphery: bool = True
    weight_clip: bool = True
    t_eval_s: float = 3600.0
    drift_compensation: Literal["none", "global"] = "global"
    probe_synapses: int = 4096

    def __post_init__(self):
        _check(self.scheme in HWA_SCHEMES,
               f"hwa.scheme={self.scheme!r}: allowed values are {', '.join(map(repr, HWA_SCHEMES))}")
        _check(math.isfinite(self.t_eval_s) and self.t_eval_s >= 0,
               f"hwa.t_eval_s={self.t_eval_s}: must be a finite time ≥ 0 (s)")
        _check(self.drift_compensation in ("none", "global"),
               f"hwa.drift_compensation={self.drift_compensation!r}: allowed values are 'none', 'global'")
        _check(64 <= self.probe_synapses <= 1_000_000,
               f"hwa.probe_synapses={self.probe_synapses}: must be 64…1000000")


@dataclass(frozen=True)
class TrainConfig:
    """A complete training run (see the module docstring for the tree).

    preset: name of the preset the configuration started from (informational: changing it changes nothing
        else; :mod:`pycosim.nn.presets`).
    """

    preset: str = "custom"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    synapse: SynapseConfig = field(default_factory=SynapseConfig)
    pcm: PCMConfig = field(default_factory=PCMConfig)
    lsp: LSPConfig = field(default_factory=LSPConfig)
    periphery: PeripheryConfig = field(default_factory=PeripheryConfig)
    update: UpdateConfig = field(default_factory=UpdateConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    hwa: HWAConfig = field(default_factory=HWAConfig)


def float_baseline_of(cfg: TrainConfig) -> TrainConfig:
    """*cfg* as its software baseline: the same network, training, data and seed with ideal float32
    weights (synapse.kind 'ideal', preset 'float'); every other section is kept as it is."""
    return replace(cfg, preset="float", synapse=replace(cfg.synapse, kind="ideal"))


def array_config(cfg: TrainConfig, fan_in: int | None = None, first_fan_in: int | None = None) -> ArrayConfig:
    """The crossbar configuration of a layer with *fan_in* inputs (without the bias row) in a network whose
    first layer has *first_fan_in*: with synapse.weight_scaling 'fan_in' its weight_max, transfer.threshold
    and transfer.tolerance (all network units, given for the first layer) are multiplied by
    √(first_fan_in/fan_in), so the same conductance windows hold in every layer (both None: the first
    layer's). transfer.verify_delay_s None becomes the schedule's verify delay (pycosim.nn.schedule: the
    tester's; None for the accelerator, whose layers derive their own)."""
    k = 1.0
    if cfg.synapse.weight_scaling == "fan_in" and fan_in and first_fan_in:
        k = float(np.sqrt(first_fan_in / fan_in))
    tr = cfg.transfer
    if tr.verify_delay_s is None:   # the schedule's verify delay (tester); None: each layer's own (accelerator)
        from pycosim.nn import schedule

        tr = replace(tr, verify_delay_s=schedule.of(cfg.schedule).verify_delay_s())
    if k != 1.0:   # the transfer's threshold and tolerance are conductance windows: they scale with the range
        tr = replace(tr, threshold=tr.threshold * k, tolerance=tr.tolerance * k)
    return ArrayConfig(synapse=cfg.synapse.kind, F=cfg.synapse.F, weight_max=cfg.synapse.weight_max * k,
                       pcm=cfg.pcm, lsp=cfg.lsp, periphery=cfg.periphery, update=cfg.update, transfer=tr)


def array_configs(cfg: TrainConfig, sizes) -> list[ArrayConfig]:
    """One :func:`array_config` per layer of a network with layer *sizes* (n_in, h_1, …, n_out)."""
    return [array_config(cfg, n, sizes[0]) for n in sizes[:-1]]


def load(path) -> TrainConfig:
    """Read a TOML config file (ConfigError on unknown names, wrong types, bad ranges)."""
    return _cfg.load_toml(TrainConfig, path)


def save(cfg: TrainConfig, path):
    """Write *cfg* as TOML atomically."""
    return _cfg.save_toml(cfg, path)


def override(cfg: TrainConfig, assignments) -> TrainConfig:
    """Apply ``["transfer.interval=4000", ...]``; unknown paths list the valid ones."""
    return _cfg.override(cfg, assignments)
