"""The driver: accuracy over time of one inference model, R repeats, optional drift compensation.

For repeat r: chip = model.prepare(net, chip_rng(seed, r)); with compensation, its reference is read on
model.at_time(chip, 0); for each time t: vehicle = model.at_time(chip, t), its layers reseeded with the
read-noise streams (seed, r, layer) (the same numbers at every t: common random numbers), α from the
compensation, accuracy of :func:`pycosim.inference.base.accuracy`.
"""

from __future__ import annotations

import numpy as np

from pycosim.inference.base import InferenceModel, accuracy, reseed_layers

# stream ids of the per-(seed, repeat[, layer]) generators
CHIP, READ = 1, 2


def chip_rng(seed: int, repeat: int) -> np.random.Generator:
    """The generator of the chip of repeat *repeat* (programming draws, transfer noise, …)."""
    return np.random.default_rng([seed, repeat, CHIP])


def curve(model: InferenceModel, net, x, y, times_s, *, repeats: int = 5, compensation="none", seed: int = 0,
          progress: bool = False) -> dict:
    """Accuracy of *net* (not modified) at each time in *times_s* (s after training) under *model*.

    compensation: a name of :data:`pycosim.inference.COMPENSATIONS` or a strategy instance.
    Returns {"accuracy": (R, T) list, "alpha": (R, T, L) list, "chip_info": {key: per repeat value} of
    :meth:`InferenceModel.chip_info`}."""
    from pycosim.inference import compensation_strategy

    comp = compensation_strategy(compensation) if isinstance(compensation, str) else compensation
    times = list(times_s)
    acc = np.zeros((repeats, len(times)))
    alphas = np.ones((repeats, len(times), len(net.layers)))
    chips: dict[str, list] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=repeats * len(times) * len(y), unit="ex", desc=model.label, mininterval=0.5)
    try:
        for r in range(repeats):
            chip = model.prepare(net, chip_rng(seed, r))
            for key, v in model.chip_info(chip).items():
                chips.setdefault(key, []).append(v)

            def reseed(v, r=r):
                reseed_layers(v, seed, r, READ)

            ref = comp.reference(model.at_time(chip, 0.0), reseed) if comp.needs_reference else None
            for k, t in enumerate(times):
                vehicle = model.at_time(chip, t)
                reseed(vehicle)
                alpha = comp.alpha(vehicle, ref)
                if alpha is not None:
                    alphas[r, k] = alpha
                acc[r, k] = accuracy(vehicle, x, y, alpha)
                if bar is not None:
                    bar.update(len(y))
                    bar.set_postfix(t=f"{t:.3g}s", acc=f"{acc[r, k]:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    return {"accuracy": acc.tolist(), "alpha": alphas.tolist(), "chip_info": chips}
