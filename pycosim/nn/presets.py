"""Named training presets: small factory functions, each with its source.

``get(name)`` returns a :class:`pycosim.nn.config.TrainConfig`; ``NAMES`` lists them. Every preset
shares the network (784-250-125-10 for MNIST, sigmoid hidden layers, softmax output), the learning
rate and the transfer interval of Ambrogio et al. (2018); they differ in how a weight is stored.
"""

from __future__ import annotations

from dataclasses import replace

from pycosim.errors import ConfigError
from pycosim.nn.config import HWAConfig, SynapseConfig, TrainConfig, float_baseline_of


def ambrogio2018() -> TrainConfig:
    """2PCM+3T1C, F = 3, closed-loop transfer every 8,000 examples, polarity inversion at each transfer — on
    the timing of the paper's own demonstration.

    S. Ambrogio et al., "Equivalent-accuracy accelerated neural-network training using analogue memory",
    Nature 558, 60–67 (2018): W = F·(G⁺ − G⁻) + g − g_shared with the 3T1C polarity inverted after each
    transfer to cancel its up/down asymmetry; closed-loop (program-and-verify) tuning of the PCM pair. Their
    accuracies come from a mixed hardware–software experiment (PCM on a test chip driven by a tester; 3T1C,
    neurons and arithmetic in software), so this preset runs schedule.kind 'tester' (pycosim.nn.schedule):
    the PCM drifts on the experiment's wall clock (10 ms per example, 300 s per transfer, each verify read 1 ms
    after its pulse: assumptions TESTER_EXAMPLE_S, TESTER_TRANSFER_S and TESTER_VERIFY_DELAY_S), the 3T1C cells on
    the projected accelerator's. The projected
    accelerator itself is :func:`ambrogio2018_accel`.
    """
    base = ambrogio2018_accel()
    return replace(base, preset="ambrogio2018", schedule=replace(base.schedule, kind="tester"))


def ambrogio2018_accel() -> TrainConfig:
    """The scheme of :func:`ambrogio2018` on the projected accelerator's timing (schedule.kind 'accelerator':
    pycosim.timing's derived time per example, each transfer's own duration from its verify reads and
    pulses): the design the paper's 28,065 GOP/s/W is calculated for, not the one its accuracies were
    measured on."""
    base = TrainConfig(preset="ambrogio2018-accel", synapse=SynapseConfig(kind="2pcm+3t1c", F=3.0))
    return replace(base, transfer=replace(base.transfer, mode="closed", invert_polarity=True))


def ambrogio2018_olt() -> TrainConfig:
    """As :func:`ambrogio2018_accel` (the projected accelerator) but with open-loop tuning: blind SET pulse
    counts from the calibrated mean ΔG(G), no verify (the alternative transfer discussed by Ambrogio et al.,
    2018, Methods)."""
    base = ambrogio2018_accel()
    return replace(base, preset="ambrogio2018-olt", transfer=replace(base.transfer, mode="open"))


def cristiano2018_4pcm() -> TrainConfig:
    """Four PCM per synapse, W = F·(G⁺ − G⁻) + (g⁺ − g⁻): both pairs PCM, updates to the lower pair with
    its own occasional RESET (G. Cristiano et al., "Perspective on training fully connected networks with
    resistive memories: device requirements for multiple conductances of varying significance",
    J. Appl. Phys. 124, 151901 (2018)); on the projected accelerator's timing."""
    base = ambrogio2018_accel()
    return replace(base, preset="cristiano2018-4pcm", synapse=replace(base.synapse, kind="4pcm"))


def pcm_only() -> TrainConfig:
    """Two PCM per synapse, W = F·(G⁺ − G⁻) with updates as SET pulses straight to the pair and
    occasional RESET-and-reprogram (G. W. Burr et al., IEEE TED 62, 3498 (2015)); on the projected
    accelerator's timing."""
    base = ambrogio2018_accel()
    return replace(base, preset="pcm-only", synapse=replace(base.synapse, kind="2pcm"))


def float_baseline() -> TrainConfig:
    """Ideal float32 weights through the same loop: the software baseline."""
    return float_baseline_of(ambrogio2018())


def hwa() -> TrainConfig:
    """Hardware-aware training for deployment into 2PCM+3T1C arrays: the float preset's network, data and
    schedule, with every noise source of :mod:`pycosim.nn.hwa` on (closed-loop programming error, PCM read
    noise, drift to 1 h with its device spread under global compensation, PWM/ADC quantisation and
    clipping, weight-range clipping), each amount from the calibration bundle. After M. J. Rasch et al.,
    "Hardware-aware training for large-scale and diverse deep learning inference workloads using in-memory
    computing-based accelerators", Nat. Commun. 14, 5282 (2023): noise in the forward pass only, backward
    and update ideal. Deploy the result with ``pycosim deploy RUN --synapse 2pcm+3t1c``."""
    base = float_baseline()
    return replace(base, preset="hwa", hwa=HWAConfig(scheme="2pcm+3t1c"))


_PRESETS = {
    "ambrogio2018": ambrogio2018,
    "ambrogio2018-accel": ambrogio2018_accel,
    "ambrogio2018-olt": ambrogio2018_olt,
    "cristiano2018-4pcm": cristiano2018_4pcm,
    "pcm-only": pcm_only,
    "float": float_baseline,
    "hwa": hwa,
}
NAMES = tuple(_PRESETS)


def get(name: str) -> TrainConfig:
    """The preset called *name*; ConfigError listing the valid names otherwise."""
    try:
        return _PRESETS[name]()
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(NAMES)}") from None
