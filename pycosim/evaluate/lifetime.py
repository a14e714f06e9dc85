"""PCM endurance: projected time until the first fraction of the PCM devices wears out.

One RESET (melt-quench) is one endurance cycle. From the per-device RESET counts of a run
(:attr:`pycosim.array.counters.Counters.pcm_resets_per_device`, every PCM device of every layer, in the
checkpoint) over its N_ex training examples, each device's wear rate is r_d = resets_d/N_ex per example.
Extrapolating the run's write pattern linearly, device d passes the endurance E after E/r_d examples, so
the first ⌈f·N_dev⌉ devices (f = 0.1 % by default) have passed it after

    N* = E·N_ex/R_(k),   k = ⌈f·N_dev⌉,   R_(k) = the k-th largest RESET count of the run

training examples, i.e. after the calendar time

    t* = N*·t_example/D

at a training duty cycle D (fraction of the time the chip trains; t_example from
:func:`pycosim.timing.hardware` and the transfers' own duration spread over the examples, the report's ``time_s.training_example``).
If R_(k) = 0 the run is too short to resolve the wear of that quantile: then N* > E·N_ex (a lower bound,
reported as such). The RESET counts include those of the initial weight programming (a one-time cost,
conservative for the projection); SET pulses also stress the cell but are not counted per device (the
array model keeps only per-device RESETs). Default endurance 10⁸ cycles (PCM endurance of 10⁶–10⁹ cycles,
Burr et al., IEEE JETCAS 6, 146 (2016)).
"""

from __future__ import annotations

import math

import numpy as np

from pycosim.errors import ConfigError

def check_args(endurance_cycles: float, duty_cycle: float, fraction: float) -> None:
    """ConfigError (one line) unless endurance > 0, 0 < duty cycle ≤ 1 and 0 < fraction < 1."""
    if not (math.isfinite(endurance_cycles) and endurance_cycles > 0):
        raise ConfigError(f"--endurance {endurance_cycles}: must be a number of cycles > 0")
    if not (0 < duty_cycle <= 1):
        raise ConfigError(f"--duty-cycle {duty_cycle}: must be in (0, 1] (fraction of the time spent training)")
    if not (0 < fraction < 1):
        raise ConfigError(f"--fraction {fraction}: must be in (0, 1), e.g. 0.001 for the first 0.1 % of devices")


def projection(counts: np.ndarray, examples: int, t_example_s: float, *, endurance_cycles: float = 1e8,
               duty_cycle: float = 1.0, fraction: float = 1e-3) -> dict:
    """N* and t* (module docstring) for RESET *counts* (any shape, one entry per PCM device) accumulated
    over *examples* training examples. Returns {"devices", "k", "resets_at_k", "resets_max", "resets_total",
    "examples_to_failure", "seconds_to_failure", "bound": "estimate" | "lower"}."""
    check_args(endurance_cycles, duty_cycle, fraction)
    c = np.asarray(counts).ravel()
    n = int(c.size)
    if n == 0 or examples <= 0:
        return {"devices": n, "k": 0, "resets_at_k": 0, "resets_max": 0, "resets_total": 0,
                "examples_to_failure": None, "seconds_to_failure": None, "bound": "none"}
    k = max(1, math.ceil(fraction * n))
    r_k = int(np.partition(c, n - k)[n - k])
    bound = "estimate" if r_k > 0 else "lower"
    n_star = endurance_cycles * examples / max(r_k, 1)
    return {"devices": n, "k": k, "resets_at_k": r_k, "resets_max": int(c.max()),
            "resets_total": int(c.sum(dtype=np.int64)), "examples_to_failure": float(n_star),
            "seconds_to_failure": float(n_star * t_example_s / duty_cycle), "bound": bound}


def lifetime(net, examples: int, t_example_s: float, *, endurance_cycles: float = 1e8, duty_cycle: float = 1.0,
             fraction: float = 1e-3) -> dict:
    """Projection over every PCM device of *net* (the checkpoint's Network), plus one per device role
    (the scheme's device_roles: G+, G−, and g+, g− for '4pcm'; each role with its own first *fraction*). {"all": …, "by_role": {…}}
    (None for 'ideal' synapses, which have no PCM)."""
    layers = [xb for xb in net.layers if xb.scheme.analog]
    if not layers:
        return None
    kw = dict(endurance_cycles=endurance_cycles, duty_cycle=duty_cycle, fraction=fraction)
    counts = [xb.counters.pcm_resets_per_device for xb in layers]
    roles = layers[0].scheme.device_roles or tuple(f"dev{i}" for i in range(counts[0].shape[0]))
    out = {"all": projection(np.concatenate([c.ravel() for c in counts]), examples, t_example_s, **kw),
           "by_role": {}, "endurance_cycles": endurance_cycles, "duty_cycle": duty_cycle, "fraction": fraction,
           "examples": int(examples), "t_example_s": t_example_s}
    for i, role in enumerate(roles):
        out["by_role"][role] = projection(np.concatenate([c[i].ravel() for c in counts]), examples, t_example_s, **kw)
    return out
