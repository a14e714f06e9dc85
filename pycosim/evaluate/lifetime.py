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
conservative for the projection). Default endurance 10⁸ cycles (PCM endurance of 10⁶–10⁹ cycles,
Burr et al., IEEE JETCAS 6, 146 (2016)).

With SET stress and the spread of endurance (:func:`stress_projection`, the report's "with SET stress" rows):
device d's stress rate is s_d = (R_d + w·S_d)/N_ex (R_d RESETs, S_d SET pulses, w the SET-stress weight:
pcm.endurance_set_weight, default the bundle's e_set/e_reset, an assumption) and its cycles to failure
L_d = E·exp(σ·z_d) (:func:`pycosim.devices.pcm.endurance_cycles`, σ = pcm.endurance_sigma_ln, 0.25 by default),
so device d fails after N_d = L_d/s_d examples and

    N* = the ⌈f·N_dev⌉-th smallest N_d

(a Monte Carlo over the drawn L_d). Its uncertainty comes from repeating the projection with the counts resampled
as Poisson counts (R_d* ~ Poisson(R_d), S_d* ~ Poisson(S_d): the run's finite sample of the write process) and the
L_d drawn anew (which devices are weak): the basic bootstrap interval [2N* − q84, 2N* − q16] of the repeats'
16th and 84th percentiles, widened to contain N* (an extreme quantile of noisy counts is biased low — the
noise adds to the largest rates — and this interval carries that bias). Per role (G+, G−, g+, g− — the waiting
pairs of the redundant schemes count with their role) and over all devices. Runs with the endurance model on
(pcm.endurance_scale > 0) also carry what was measured: the worn devices per role (counters.pcm_worn_per_device).
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


def stress_projection(resets: np.ndarray, sets: np.ndarray, examples: int, t_example_s: float, *,
                      set_weight: float, endurance_cycles: float = 1e8, sigma_ln: float = 0.25,
                      duty_cycle: float = 1.0, fraction: float = 1e-3, repeats: int = 32,
                      rng: np.random.Generator | None = None) -> dict:
    """N* and t* with SET stress and the device-to-device spread of endurance (module docstring):
    N_d = L_d·N_ex/(R_d + w·S_d), L_d = E·exp(σ·z_d); N* = the ⌈f·N_dev⌉-th smallest N_d, t* = N*·t_example/D;
    the 16th/84th percentiles of t* over *repeats* Poisson resamplings of (R_d, S_d) with fresh L_d. Returns
    {"devices", "k", "set_weight", "sigma_ln", "stress_total", "stress_max", "examples_to_failure",
    "seconds_to_failure", "seconds_p16", "seconds_p84", "bound": "estimate" | "lower" | "none"} (lower: fewer than
    k devices were stressed at all; the run is too short, N* > E·N_ex·e^(−3σ) is reported)."""
    check_args(endurance_cycles, duty_cycle, fraction)
    if not (set_weight >= 0 and sigma_ln >= 0):
        raise ConfigError(f"lifetime: set_weight {set_weight} and sigma_ln {sigma_ln} must be ≥ 0")
    R = np.asarray(resets, np.float64).ravel()
    S = np.asarray(sets, np.float64).ravel()
    n = int(R.size)
    if n == 0 or examples <= 0:
        return {"devices": n, "k": 0, "set_weight": set_weight, "sigma_ln": sigma_ln, "stress_total": 0.0,
                "stress_max": 0.0, "examples_to_failure": None, "seconds_to_failure": None, "seconds_p16": None,
                "seconds_p84": None, "bound": "none"}
    rng = rng if rng is not None else np.random.default_rng(0)
    k = max(1, math.ceil(fraction * n))
    sec = t_example_s / duty_cycle

    def n_star(r, s):
        st = r + set_weight * s
        hit = st > 0
        if np.count_nonzero(hit) < k:
            return None
        L = endurance_cycles * np.exp(sigma_ln * rng.standard_normal(int(hit.sum())))
        nd = L * examples / st[hit]
        return float(np.partition(nd, k - 1)[k - 1])

    est = n_star(R, S)
    st = R + set_weight * S
    out = {"devices": n, "k": k, "set_weight": float(set_weight), "sigma_ln": float(sigma_ln),
           "stress_total": float(st.sum()), "stress_max": float(st.max())}
    if est is None:
        lo = endurance_cycles * math.exp(-3 * sigma_ln) * examples / max(float(st.max()), 1.0)
        return out | {"examples_to_failure": lo, "seconds_to_failure": lo * sec, "seconds_p16": None,
                      "seconds_p84": None, "bound": "lower"}
    reps = [n_star(rng.poisson(R).astype(np.float64), rng.poisson(S).astype(np.float64)) for _ in range(repeats)]
    reps = np.array([r for r in reps if r is not None], np.float64)
    p16 = p84 = None
    if reps.size:     # basic bootstrap interval [2·est − q84, 2·est − q16], widened to contain est (the extreme
        q16, q84 = np.percentile(reps, [16, 84])        # quantile of noisy counts is biased: this carries the bias)
        p16, p84 = min(est, 2 * est - q84) * sec, max(est, 2 * est - q16) * sec
    return out | {"examples_to_failure": est, "seconds_to_failure": est * sec, "seconds_p16": p16,
                  "seconds_p84": p84, "bound": "estimate"}


def _set_weight(xb) -> float:
    """The layer's SET-stress weight w: pcm.endurance_set_weight, else the bundle's e_set_J/e_reset_J (0 if absent)."""
    w = xb.cfg.pcm.endurance_set_weight
    if w is not None:
        return float(w)
    sc = (getattr(xb, "bundle", None).scalars.get("pcm") or {}) if getattr(xb, "bundle", None) is not None else {}
    return float(sc["e_set_J"]) / float(sc["e_reset_J"]) if sc.get("e_set_J") and sc.get("e_reset_J") else 0.0


def _by_role(arrays, roles_of) -> dict:
    """{role: concatenated 1-D values} of per-device arrays (rows, …) whose row i of layer l has role roles_of[l][i]."""
    out: dict[str, list] = {}
    for a, roles in zip(arrays, roles_of):
        for i, role in enumerate(roles):
            out.setdefault(role, []).append(a[i].ravel())
    return {r: np.concatenate(v) for r, v in out.items()}


def _roles(xb, rows: int) -> tuple:
    r = tuple(getattr(xb.counters, "device_roles", ()) or ())
    if len(r) == rows:
        return r
    r = tuple(xb.scheme.device_roles)
    return r if len(r) == rows else tuple(f"dev{i}" for i in range(rows))


def lifetime(net, examples: int, t_example_s: float, *, endurance_cycles: float = 1e8, duty_cycle: float = 1.0,
             fraction: float = 1e-3, repeats: int = 32) -> dict:
    """Projection over every PCM device of *net* (the checkpoint's Network), plus one per device role
    (Crossbar.device_roles: G+, G−, and g+, g− for '4pcm'; the waiting pairs of the redundant schemes with their
    role; each role with its own first *fraction*): {"all": …, "by_role": {…}} from the RESETs alone
    (:func:`projection`), "stress": {"all", "by_role"} with SET stress and the endurance spread
    (:func:`stress_projection`, σ and w of the layers' configuration), "worn" {"devices", "worn", "by_role"} the
    devices the run wore out (endurance model on), "endurance_model" the run's endurance settings.
    None for 'ideal' synapses, which have no PCM."""
    layers = [xb for xb in net.layers if xb.scheme.analog]
    if not layers:
        return None
    kw = dict(endurance_cycles=endurance_cycles, duty_cycle=duty_cycle, fraction=fraction)
    counts = [xb.counters.pcm_resets_per_device for xb in layers]
    sets = [xb.counters.pcm_sets_per_device for xb in layers]
    roles_of = [_roles(xb, c.shape[0]) for xb, c in zip(layers, counts)]
    out = {"all": projection(np.concatenate([c.ravel() for c in counts]), examples, t_example_s, **kw),
           "by_role": {}, "endurance_cycles": endurance_cycles, "duty_cycle": duty_cycle, "fraction": fraction,
           "examples": int(examples), "t_example_s": t_example_s}
    by_r, by_s = _by_role(counts, roles_of), _by_role(sets, roles_of)
    for role, c in by_r.items():
        out["by_role"][role] = projection(c, examples, t_example_s, **kw)
    pc = layers[0].cfg.pcm
    w = _set_weight(layers[0])
    skw = dict(kw, set_weight=w, sigma_ln=pc.endurance_sigma_ln, repeats=repeats)
    out["stress"] = {"all": stress_projection(np.concatenate([c.ravel() for c in counts]),
                                              np.concatenate([s.ravel() for s in sets]), examples, t_example_s,
                                              rng=np.random.default_rng(0), **skw),
                     "by_role": {role: stress_projection(by_r[role], by_s[role], examples, t_example_s,
                                                         rng=np.random.default_rng(i + 1), **skw)
                                 for i, role in enumerate(by_r)}}
    worn = [np.asarray(getattr(xb.counters, "pcm_worn_per_device", np.zeros(0, bool))) for xb in layers]
    if all(wv.shape == c.shape for wv, c in zip(worn, counts)):
        wr = _by_role(worn, roles_of)
        out["worn"] = {"devices": int(sum(c.size for c in counts)), "worn": int(sum(np.count_nonzero(wv) for wv in worn)),
                       "by_role": {r: int(np.count_nonzero(v)) for r, v in wr.items()},
                       "devices_by_role": {r: int(v.size) for r, v in wr.items()}}
    out["endurance_model"] = {"endurance_scale": pc.endurance_scale, "median_cycles": pc.endurance_median_cycles,
                              "sigma_ln": pc.endurance_sigma_ln, "stuck_high_frac": pc.endurance_stuck_high_frac,
                              "set_weight": w, "redundant_pairs": pc.redundant_pairs, "redundancy": pc.redundancy,
                              "projection_median_cycles": endurance_cycles}
    return out
