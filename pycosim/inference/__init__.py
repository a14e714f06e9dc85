"""Inference models: what a trained network computes a time t after the end of training.

One interface (:class:`InferenceModel`: ``prepare(net, rng) -> chip`` once per repeat, ``at_time(chip, t_s)
-> vehicle`` whose layers the shared readout reads), two strategies chosen once by name here:

    'circuit'           :class:`CircuitModel` — the run's own devices: a final transfer (or the 3T1C left to
                        leak, option lsp_mode), then the bundle's per-device PCM drift; read with the
                        circuit's read noise and periphery (:mod:`pycosim.inference.circuit`).
    'pcm-statistical'   :class:`PcmStatisticalModel` — the published statistical PCM model of Rasch et al.,
                        Nat. Commun. 14, 5282 (2023) (aihwkit ``PCMLikeNoiseModel``): programming noise,
                        conductance-dependent drift, 1/f read noise (:mod:`pycosim.inference.pcm_statistical`).

and two drift compensations, 'none' and 'global' (:mod:`pycosim.inference.compensation`). The driver
:func:`curve` gives accuracy over time; ``pycosim evaluate`` (:mod:`pycosim.evaluate.drift_eval`) is a
thin layer over it. Adding a model: a subclass of :class:`InferenceModel` and one entry in :data:`MODELS`.

    from pycosim import inference
    m = inference.model("circuit", lsp_mode="leak")
    res = inference.curve(m, net, x, y, [1.0, 3600.0], repeats=3, compensation="global")
"""

from __future__ import annotations

from pycosim.errors import ConfigError
from pycosim.inference.base import InferenceModel, accuracy, logits, reseed_layers
from pycosim.inference.circuit import LSP_MODES, CircuitModel
from pycosim.inference.compensation import COMPENSATIONS, DriftCompensation, GlobalCompensation
from pycosim.inference.driver import curve
from pycosim.inference.pcm_statistical import PcmStatisticalModel

#: name → model class (the one place a model is chosen by name)
MODELS: dict[str, type[InferenceModel]] = {m.name: m for m in (CircuitModel, PcmStatisticalModel)}


def model(name: str, **options) -> InferenceModel:
    """The inference model *name* with those of *options* it accepts (:attr:`InferenceModel.options`;
    others are ignored, so one set of command-line options serves every model). ConfigError if unknown."""
    try:
        cls = MODELS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"--noise-model {name!r}: allowed values are {', '.join(MODELS)}") from None
    return cls(**{k: v for k, v in options.items() if k in cls.options})


def compensation_strategy(name: str) -> DriftCompensation:
    """The drift compensation *name* ('none', 'global'); ConfigError if unknown."""
    try:
        return COMPENSATIONS[name]()
    except (KeyError, TypeError):
        raise ConfigError(f"--compensation {name!r}: allowed values are {', '.join(COMPENSATIONS)}") from None


__all__ = ["COMPENSATIONS", "LSP_MODES", "MODELS", "CircuitModel", "DriftCompensation", "GlobalCompensation",
           "InferenceModel", "PcmStatisticalModel", "accuracy", "compensation_strategy", "curve", "logits",
           "model", "reseed_layers"]
