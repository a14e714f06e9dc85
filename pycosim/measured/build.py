"""Measured pulse responses → a calibration bundle of the ordinary schema (``pycosim calibrate-data``).

Role ``msp`` (the PCM pair's device; every scheme with PCM uses it): each *up* (SET) sequence becomes one
row of ``pcm/staircase_g_S`` — one device seen through one realisation of its cycle-to-cycle noise, as a
SPICE Monte Carlo row is — and the same extraction functions as for SPICE make the tables
(:func:`pycosim.characterize.pcm.fit_staircases`: per-row fit of the mean step and the c2c residuals by
pulse; :func:`~pycosim.characterize.pcm.jump_table`: ΔG quantiles per G bin; :func:`~pycosim.characterize.pcm.fit_dg`:
the compact mean ΔG(G); :func:`~pycosim.characterize.pcm.fit_drift`: ν per drift curve). G_max of a row is
the largest read of its device; the RESET floor the mean last read of the device's *down* (RESET) sequences,
else the mean first read (pulse 0) of its up sequences.

Role ``lsp`` (a bidirectional lower-significance device, scheme ``2pcm+meas``): each device's k-th up
sequence and k-th down sequence form one instance; the mean step of each direction is fitted per sequence by
the same :func:`~pycosim.characterize.pcm.fit_staircases` (down: on −G) and tabulated on a G grid
(tables ``lsp_data/…``, read by :mod:`pycosim.devices.measured_lsp`).

What the data do not give comes from the base bundle and the bundle's provenance says which
(``provenance.measured.from_data`` / ``from_base``).
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

import numpy as np

from pycosim import calibration
from pycosim.characterize.pcm import DRIFT_FIT_T_MIN_S, DRIFT_PUB_T_MIN_S, fit_dg, fit_drift, fit_staircases, jump_table
from pycosim.errors import CalibrationError, ConfigError
from pycosim.measured.csvdata import read_drift, read_noise, read_pulses

_US = 1e6
ROLES = ("msp", "lsp")
#: Fewer devices than this: the device-to-device spread is estimated but uncertain (a warning says so).
MIN_DEVICES_D2D = 10
#: Fewer pulses per sequence than this: a warning (the per-device fits have few points); fewer than
#: MIN_PULSES_FIT: an error (three fitted parameters per sequence need ≥ 4 steps).
MIN_PULSES_WARN = 10
MIN_PULSES_FIT = 4
#: At most this many drift levels (groups of drift curves by programmed G), as the SPICE drift bench has.
MAX_DRIFT_LEVELS = 9
#: At most this many read-noise levels (groups of devices by mean G).
MAX_NOISE_LEVELS = 8
#: G grid points of the lsp role's step tables.
LSP_GRID = 101
#: Per-instance PCM tables that a measured msp bundle takes from the base by resampling rows (instance k ← base
#: row k mod n_base); the drift conductances are rescaled to the instance's G_max (level fractions kept).
#: Tables and scalars of a simulated bundle that describe the circuit's own SET law (its deterministic staircases,
#: saturation and cycle-to-cycle law, :mod:`pycosim.devices.pcm`): never carried into a bundle built from measured
#: staircases, whose devices are described by their own staircase fits and residuals.
SIMULATED_ONLY = frozenset({"pcm/stair_clean_g_S", "pcm/stair_top_g_S", "pcm/g_sat_S", "pcm/c2c_law", "pcm/c2c_bias_edges_u",
                            "pcm/c2c_bias", "pcm.c2c_law",
                            "pcm.g_sat_mean_S", "pcm.g_sat_nominal_S", "pcm.c2c_pub_w", "pcm.c2c_pub_mean_dw",
                            "pcm.c2c_pub_rel_sigma", "pcm.c2c_pub_law_rel_sigma"})
_PCM_ROW_TABLES = ("drift_g_S", "drift_g_prog_S", "drift_g0_S", "drift_nu", "nu", "e_set_J", "e_reset_J")


class DataWarning(UserWarning):
    """Measured data that give a bundle, with a named consequence (too few devices, pulses, truncation)."""


def _warn(msg: str) -> None:
    warnings.warn(msg, DataWarning, stacklevel=3)


def calibrate_data(pulses: str | os.PathLike, role: str, out: str | os.PathLike, *,
                   base: str | os.PathLike | None = None, drift: str | os.PathLike | None = None,
                   read_noise_csv: str | os.PathLike | None = None,
                   plots: str | os.PathLike | None = None) -> calibration.Bundle:
    """Measured pulse responses (and optional drift and repeated reads) → a bundle written to *out*.

    role: ``msp`` (the PCM pair's device) or ``lsp`` (a bidirectional lower-significance device, scheme
    ``2pcm+meas``); base: the bundle whose tables fill what the data do not give (default: the shipped one).
    Every input is read and checked before anything is written (one-line CalibrationError naming the file,
    line and problem); the bundle is written atomically (:func:`pycosim.calibration.save`). Tables and
    equations: module docstring and :func:`msp_tables`, :func:`lsp_tables`. Returns the saved bundle.
    """
    if role not in ROLES:
        raise ConfigError(f"--role {role!r}: allowed values are {', '.join(map(repr, ROLES))}")
    out = calibration.check_destination(out)
    if role == "lsp" and drift is not None:
        raise ConfigError("--drift: drift data are for the msp role (PCM drift); the lsp role's device keeps its "
                          "state (no retention data are modelled for it yet)")
    pd = read_pulses(pulses, pcm_words=role == "msp")
    dd = read_drift(drift) if drift is not None else None
    nd = read_noise(read_noise_csv) if read_noise_csv is not None else None
    b0 = calibration.load(base)
    build = msp_tables if role == "msp" else lsp_tables
    scalars, tables, from_data, from_base = build(pd, b0, dd, nd)
    if plots is not None:      # created only once every input has passed its checks
        from pycosim.plots import check_writable
        check_writable(plots)
    inputs = {"pulses": {"file": pd.path.name, "sha256": pd.sha256, "rows": pd.rows,
                         "devices": int(pd.devices.size), "sequences": int(pd.seq_start.size),
                         "up_sequences": int(pd.seq_up.sum()), "down_sequences": int((~pd.seq_up).sum())}}
    for key, d in (("drift", dd), ("read_noise", nd)):
        if d is not None:
            inputs[key] = {"file": d.path.name, "sha256": d.sha256, "rows": d.rows, "devices": int(d.devices.size)}
    prov = {k: v for k, v in b0.provenance.items() if k not in ("tables_sha256", "created_utc", "pycosim_version")}
    prov["measured"] = {"role": role, "inputs": inputs,
                        "base": {"path": str(b0.path), "tables_sha256": b0.provenance.get("tables_sha256"),
                                 "created_utc": b0.provenance.get("created_utc")},
                        "from_data": sorted(from_data), "from_base": sorted(from_base),
                        "scheme": "2pcm+meas" if role == "lsp" else "any scheme with PCM (2pcm+3t1c, 4pcm, 2pcm)"}
    bundle = calibration.Bundle(scalars=scalars, tables=tables, provenance=prov)
    bundle.validate("measured bundle")
    bundle.check_values("measured bundle")
    if plots is not None:   # before the bundle is written: a plotting error leaves nothing behind
        plot_fits(bundle, pd, plots)
    calibration.save(bundle, out)
    return bundle


# ----------------------------------------------------------------------------------------------- msp
def msp_tables(pd, b0, dd, nd) -> tuple[dict, dict, set, set]:
    """PCM tables from measured data (module docstring), the rest from *b0*.

    Rows: one per up sequence (truncated to the shortest, J pulses). From the data: staircase_g_S, fit_coef and
    fit_dg_residual_S (:func:`~pycosim.characterize.pcm.fit_staircases`: ln ΔG = c0 + c1·G + c2·G² per row, least
    squares), the jump table (ΔG quantiles per G bin), dg_fit (ΔG = dg0·exp(−G/G_s)), g_max_S (largest read of the
    row's device), g_reset_S (RESET floor), c2c_dg_S (the steps at the pulse whose mean G is nearest mid-range,
    mean + residual); with drift data the drift tables (:func:`_drift_from_data`), with repeated reads the
    read-noise table (:func:`_noise_table`). Returns (scalars, tables, names from data, names from base)."""
    stair, seq_dev, longest = pd.staircases(up=True)
    if stair.size == 0:
        raise CalibrationError(f"{pd.path}: no up (SET) sequence: the msp role needs partial-SET staircases")
    J = stair.shape[1] - 1
    if J < MIN_PULSES_FIT:
        raise CalibrationError(f"{pd.path}: the shortest up sequence has {J} pulse(s); the per-device fit of "
                               f"ΔG(G) needs ≥ {MIN_PULSES_FIT}")
    if longest > J + 1:
        _warn(f"{pd.path.name}: up sequences have {J}…{longest - 1} pulses; all are truncated to the shortest ({J}): "
              "the later pulses are not used")
    if J < MIN_PULSES_WARN:
        _warn(f"{pd.path.name}: {J} pulses per up sequence: the per-device fits of ΔG(G) rest on {J} steps and the "
              f"model extrapolates the response beyond G = {stair.max() * _US:.3g} µS")
    n_dev_up = np.unique(seq_dev).size
    if n_dev_up < MIN_DEVICES_D2D:
        _warn(f"{pd.path.name}: {n_dev_up} device(s): the device-to-device spread (per-device fits, G_max, RESET "
              f"floor) is that of {n_dev_up} device(s), not a population estimate"
              + (" (every simulated device is this one)" if n_dev_up == 1 else ""))
    try:
        coef, res = fit_staircases(stair)
    except CalibrationError as exc:
        raise CalibrationError(f"{pd.path}: {exc}") from None
    table = jump_table(stair)
    fit = fit_dg(stair)
    nd_all = pd.devices.size
    gmax_dev = np.full(nd_all, -np.inf)
    np.maximum.at(gmax_dev, pd.device_index, pd.g_S)
    ends = pd.seq_start + pd.seq_len - 1
    down = ~pd.seq_up
    n_down = np.bincount(pd.seq_device[down], minlength=nd_all)
    floor_down = np.bincount(pd.seq_device[down], weights=pd.g_S[ends[down]], minlength=nd_all) / np.maximum(n_down, 1)
    up = pd.seq_up
    n_up = np.bincount(pd.seq_device[up], minlength=nd_all)
    floor_up = np.bincount(pd.seq_device[up], weights=pd.g_S[pd.seq_start[up]], minlength=nd_all) / np.maximum(n_up, 1)
    floor_dev = np.where(n_down > 0, floor_down, floor_up)
    g_max, g_reset = gmax_dev[seq_dev], floor_dev[seq_dev]
    n_long_down = int(np.sum(pd.seq_len[down] > 2))
    if n_long_down:
        _warn(f"{pd.path.name}: {n_long_down} down sequence(s) with several pulses: a PCM device is RESET in one "
              "pulse in the array model; only their last read (the RESET floor) is used")
    steps = np.diff(stair, axis=1)
    g_mid = 0.5 * (g_reset.mean() + g_max.mean())
    jm = int(np.argmin(np.abs(stair[:, :-1].mean(axis=0) - g_mid)))
    c2c = steps[:, jm].mean() + res[:, jm]
    scal = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in b0.scalars["pcm"].items() if f"pcm.{k}" not in SIMULATED_ONLY}
    p = {
        "set_pulses": J,
        "g_initial_mean_S": float(stair[:, 0].mean()),
        "g_reset_mean_S": float(g_reset.mean()), "g_reset_std_S": float(floor_dev[np.unique(seq_dev)].std()),
        "g_max_mean_S": float(g_max.mean()), "g_max_std_S": float(gmax_dev[np.unique(seq_dev)].std()),
        "g_after_set_mean_S": float(stair[:, -1].mean()), "g_after_set_std_S": float(stair[:, -1].std()),
        "dg_first_mean_S": float(steps[:, 0].mean()), "dg_last_mean_S": float(steps[:, -1].mean()),
        "dg_cycle_cv": float(np.mean(steps.std(axis=0) / np.maximum(np.abs(steps.mean(axis=0)), 1e-30))),
        "dg_fit": fit,
        "c2c_rel_sigma": float(c2c.std(ddof=1) / c2c.mean()) if c2c.mean() > 0 else 0.0,
        "c2c_mean_dg_S": float(c2c.mean()), "c2c_negative_fraction": float(np.mean(c2c < 0)),
    }
    scal.update(p)
    tabs = {k: v for k, v in b0.tables.items() if not k.startswith("pcm/")}
    t = {"staircase_g_S": stair, "fit_coef": coef, "fit_dg_residual_S": res, **table, "g_max_S": g_max,
         "g_reset_S": g_reset, "c2c_dg_S": c2c}
    from_data = {f"pcm/{k}" for k in t} | {f"pcm.{k}" for k in p}
    n = stair.shape[0]
    g_top = np.maximum(g_max, stair.max(axis=1))          # the model's per-device ceiling
    if dd is not None:
        dt, ds = _drift_from_data(dd, g_top)
        t.update(dt)
        scal.update(ds)
        from_data |= {f"pcm/{k}" for k in dt} | {f"pcm.{k}" for k in ds}
    else:
        kb = np.arange(n) % b0.tables["pcm/staircase_g_S"].shape[0]
        top0 = np.maximum(b0.tables["pcm/g_max_S"], b0.tables["pcm/staircase_g_S"].max(axis=1))
        f = (g_top / top0[kb])[:, None]
        for k in ("drift_g_S", "drift_g_prog_S", "drift_g0_S"):
            a = b0.tables[f"pcm/{k}"][kb]
            t[k] = a * (f[..., None] if a.ndim == 3 else f)
        for k in ("drift_nu", "nu"):
            t[k] = b0.tables[f"pcm/{k}"][kb]
    for k in ("e_set_J", "e_reset_J"):
        if f"pcm/{k}" in b0.tables:
            t[k] = b0.tables[f"pcm/{k}"][np.arange(n) % b0.tables[f"pcm/{k}"].shape[0]]
    if nd is not None:
        g_lv, rel = _noise_table(nd)
        t.update(read_noise_g_S=g_lv, read_noise_rel_sigma=rel)
        from_data |= {"pcm/read_noise_g_S", "pcm/read_noise_rel_sigma"}
    for k, v in b0.tables.items():
        if k in SIMULATED_ONLY:                 # the circuit's clean staircase and c2c law: not this data's
            continue
        if k.startswith("pcm/") and k.removeprefix("pcm/") not in t:
            t[k.removeprefix("pcm/")] = v
    tabs.update({f"pcm/{k}": np.asarray(v, dtype=np.float64) for k, v in t.items()})
    scalars = {s: (scal if s == "pcm" else v) for s, v in b0.scalars.items()}
    from_base = ({k for k in tabs if k.startswith("pcm/")} | {f"pcm.{k}" for k in scal}) - from_data
    from_base |= {"lsp (all)", "integrator (all)"}
    return scalars, tabs, from_data, from_base


def _drift_from_data(dd, g_top_S: np.ndarray) -> tuple[dict, dict]:
    """Drift tables of n instances from m measured drift curves (t_0 < t_1 < …, G_d(t_i)).

    Per curve: ν_d, G₀_d from the least-squares fit log G = log G₀ − ν·log(t/1 s) over its reads from
    DRIFT_FIT_T_MIN_S = 1 s on (all reads if fewer than two are that late) — the long-term exponent, as for SPICE
    (:func:`~pycosim.characterize.pcm.fit_drift`; Ielmini et al., IEEE TED 54, 308 (2007)); its level
    x_d = G_d(t_0)/mean G_max. Curves sorted by x_d are split into L = min(9, m) groups, the levels
    (``pcm/drift_levels`` = group mean of x). Instance k at level l takes curve d = group_l[k mod |group_l|]:
    G_prog,kl = x_d·G_max,k, G_kl(t_i) = G_prog,kl·G_d(t_i)/G_d(t_0), ν_kl = ν_d (the measured curves
    resampled, not a fitted distribution). t_0 is the programmed read (``pcm.drift_t_prog_s``)."""
    T, G = dd.t_s, dd.g_S
    m, n = G.shape[0], g_top_S.shape[0]
    if m < MIN_DEVICES_D2D:
        _warn(f"{dd.path.name}: {m} drift curve(s): ν(G) and σ_ν(G) rest on {m} device(s) "
              f"({'no device-to-device spread of ν' if m == 1 else 'an uncertain spread'})")
    if np.any(G <= 0):
        i = np.argwhere(G <= 0)[0]
        raise CalibrationError(f"{dd.path}: device {str(dd.devices[i[0]])!r} reads 0 S at t_s = {T[i[1]]:g} s (a drift "
                               "exponent needs G > 0)")
    late = T >= DRIFT_FIT_T_MIN_S if np.sum(T >= DRIFT_FIT_T_MIN_S) >= 2 else np.ones(T.size, bool)
    nu, g0 = fit_drift(T[late], G[:, late])
    x = G[:, 0] / g_top_S.mean()
    groups = np.array_split(np.argsort(x, kind="stable"), min(MAX_DRIFT_LEVELS, m))
    levels = np.array([x[g].mean() for g in groups])       # ≤ 9 groups
    k = np.arange(n)
    pick = np.stack([g[k % g.size] for g in groups], axis=1)          # (n, L) curve of instance k at level l
    g_prog = x[pick] * g_top_S[:, None]
    ratio = G[pick][..., 1:] / G[pick][..., :1]
    tables = {"drift_levels": levels, "drift_t_s": T[1:].copy(), "drift_g_prog_S": g_prog,
              "drift_g_S": g_prog[..., None] * ratio, "drift_g0_S": g_prog * (g0[pick] / G[pick][..., 0]),
              "drift_nu": nu[pick], "nu": nu[pick][:, 0].copy()}
    by_mean = [float(nu[g].mean()) for g in groups]
    by_std = [float(nu[g].std()) for g in groups]
    pub = T >= DRIFT_PUB_T_MIN_S                  # the exponent compared with the published model (t ≥ 20 s)
    nu_pub = fit_drift(T[pub], G[:, pub])[0] if pub.sum() >= 2 else nu
    scalars = {"drift_t_prog_s": float(T[0]), "drift_fit_t_min_s": float(T[late][0]), "nu_mean": by_mean[0],
               "nu_std": by_std[0], "nu_by_level_mean": by_mean, "nu_by_level_std": by_std,
               "nu_from_20s_by_level_mean": [float(nu_pub[g].mean()) for g in groups],
               "nu_from_20s_by_level_std": [float(nu_pub[g].std()) for g in groups],
               "drift_g0_mean_S": float(tables["drift_g0_S"][:, 0].mean())}
    return tables, scalars


def _noise_table(nd) -> tuple[np.ndarray, np.ndarray]:
    """Read-noise table from repeated reads: devices sorted by mean G, split into ≤ 8 groups; per group the
    mean G and the rms of the devices' relative σ (σ/G = √mean(rel²))."""
    groups = np.array_split(np.argsort(nd.g_mean_S, kind="stable"), min(MAX_NOISE_LEVELS, nd.devices.size))
    g = np.array([nd.g_mean_S[i].mean() for i in groups])
    rel = np.array([np.sqrt(np.mean(nd.rel_sigma[i] ** 2)) for i in groups])
    return g, rel


# ----------------------------------------------------------------------------------------------- lsp
def _rank_within(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, … among equal keys, in order of appearance (a vectorised group cumcount)."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    first = np.r_[True, sk[1:] != sk[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(sk.size), 0))
    out = np.empty_like(keys)
    out[order] = np.arange(sk.size) - start
    return out


def _log_quadratic(coef: np.ndarray, g_us: np.ndarray) -> np.ndarray:
    """exp(c0 + c1·G + c2·G²) (µS) per row: coef (n, 3), g_us (n, n_g) → (n, n_g)."""
    return np.exp(coef[:, :1] + g_us * (coef[:, 1:2] + g_us * coef[:, 2:3]))


def lsp_tables(pd, b0, dd, nd) -> tuple[dict, dict, set, set]:
    """Bidirectional lower-significance device from measured up and down sequences (tables ``lsp_data/…``).

    Instance = (device, k-th up sequence, k-th down sequence). Per sequence the mean step
    m(G) = exp(c0 + c1·G + c2·G²)·1 µS (:func:`~pycosim.characterize.pcm.fit_staircases`; down: fitted on −G),
    held at the fitted range's edge values outside it, tabulated on a uniform grid of G over all reads:

        ΔG_up,k(G) = min(m_up,k(G), max(G_hi,k − G, 0)),   ΔG_down,k(G) = −min(m_down,k(G), max(G − G_lo,k, 0))

    (G_lo,k, G_hi,k: the smallest and largest read of the device: the response saturates there); the cycle-to-
    cycle σ of each direction is the std of the pooled fit residuals; the reset level (where a transfer leaves the
    device) is mid-range, (G_lo,k + G_hi,k)/2; read noise from repeated reads, else the base's 3T1C relative σ
    (mean over its levels) at every G. Everything in pcm/, lsp/ and integrator/ is the base's."""
    res_of = {}
    seq_rank = _rank_within(pd.seq_device * 2 + pd.seq_up.astype(np.int64))
    for up in (True, False):
        sel = np.flatnonzero(pd.seq_up == up)
        if sel.size == 0:
            raise CalibrationError(f"{pd.path}: no {'up' if up else 'down'} sequence: the lsp role needs both "
                                   "directions (the device is potentiated and depressed)")
        res_of[up] = sel
    nd_all = pd.devices.size
    n_up = np.bincount(pd.seq_device[res_of[True]], minlength=nd_all)
    n_dn = np.bincount(pd.seq_device[res_of[False]], minlength=nd_all)
    lack = np.flatnonzero((n_up == 0) | (n_dn == 0))
    if lack.size:
        d = lack[0]
        raise CalibrationError(f"{pd.path}: device {str(pd.devices[d])!r} has no {'up' if n_up[d] == 0 else 'down'} "
                               "sequence (the lsp role pairs every device's up and down sequences)")
    pair = np.minimum(n_up, n_dn)
    keep = {up: res_of[up][seq_rank[res_of[up]] < pair[pd.seq_device[res_of[up]]]] for up in (True, False)}
    # sort both by (device, rank) so row k of the up and the down tables is one cycle of one device
    for up in (True, False):
        s = keep[up]
        keep[up] = s[np.lexsort((seq_rank[s], pd.seq_device[s]))]
    dev = pd.seq_device[keep[True]]
    if nd_all < MIN_DEVICES_D2D:
        _warn(f"{pd.path.name}: {nd_all} device(s): the device-to-device spread of the response is that of "
              f"{nd_all} device(s), not a population estimate")
    stairs, fits, c2c = {}, {}, {}
    for up in (True, False):
        s = keep[up]
        L = int(pd.seq_len[s].min())
        if L - 1 < MIN_PULSES_FIT:
            raise CalibrationError(f"{pd.path}: the shortest {'up' if up else 'down'} sequence has {L - 1} pulse(s); "
                                   f"the per-device fit of ΔG(G) needs ≥ {MIN_PULSES_FIT}")
        if int(pd.seq_len[s].max()) > L:
            _warn(f"{pd.path.name}: {'up' if up else 'down'} sequences are truncated to the shortest ({L - 1} "
                  "pulses): the later pulses are not used")
        if L - 1 < MIN_PULSES_WARN:
            _warn(f"{pd.path.name}: {L - 1} pulses per {'up' if up else 'down'} sequence: the per-device fits rest "
                  f"on {L - 1} steps")
        st = pd.g_S[pd.seq_start[s, None] + np.arange(L)[None, :]]
        try:
            coef, res = fit_staircases(st if up else -st)
        except CalibrationError as exc:
            raise CalibrationError(f"{pd.path}: {'up' if up else 'down'} sequences: {exc}") from None
        stairs[up], fits[up], c2c[up] = st, coef, float(np.std(res))
    lo_dev = np.full(nd_all, np.inf)
    hi_dev = np.full(nd_all, -np.inf)
    np.minimum.at(lo_dev, pd.device_index, pd.g_S)
    np.maximum.at(hi_dev, pd.device_index, pd.g_S)
    lo, hi = lo_dev[dev], hi_dev[dev]
    grid = np.linspace(pd.g_S.min(), pd.g_S.max(), LSP_GRID)
    G = np.broadcast_to(grid, (dev.size, grid.size))
    su, sd = stairs[True][:, :-1], stairs[False][:, :-1]
    gu = np.clip(G, su.min(axis=1, keepdims=True), su.max(axis=1, keepdims=True)) * _US
    gd = np.clip(G, sd.min(axis=1, keepdims=True), sd.max(axis=1, keepdims=True)) * _US
    m_up = _log_quadratic(fits[True], gu) / _US
    m_dn = _log_quadratic(fits[False], -gd) / _US
    dg_up = np.minimum(m_up, np.maximum(hi[:, None] - G, 0))
    dg_dn = -np.minimum(m_dn, np.maximum(G - lo[:, None], 0))
    g_reset = 0.5 * (lo + hi)
    if nd is not None:
        ng, nrel = _noise_table(nd)
    else:
        ng = np.array([grid[0], grid[-1]])
        nrel = np.full(2, float(np.mean(b0.tables["lsp/read_noise_rel_sigma"])))
    k_mid = np.clip(np.searchsorted(grid, g_reset), 0, grid.size - 1)
    rows = np.arange(dev.size)
    tables = {"g_grid_S": grid, "dg_up_S": dg_up, "dg_down_S": dg_dn, "g_min_S": lo, "g_max_S": hi,
              "g_reset_S": g_reset, "staircase_up_S": stairs[True], "staircase_down_S": stairs[False],
              "fit_coef_up": fits[True], "fit_coef_down": fits[False], "device": dev.astype(np.float64),
              "read_noise_g_S": ng, "read_noise_rel_sigma": nrel}
    sc = {"dg_up_c2c_sigma_S": c2c[True], "dg_down_c2c_sigma_S": c2c[False],
          "dg_up_mean_S": float(dg_up[rows, k_mid].mean()), "dg_down_mean_S": float(dg_dn[rows, k_mid].mean()),
          "g_min_mean_S": float(lo_dev.mean()), "g_max_mean_S": float(hi_dev.mean()),
          "g_reset_mean_S": float(g_reset.mean()), "up_pulses": int(stairs[True].shape[1] - 1),
          "down_pulses": int(stairs[False].shape[1] - 1), "instances": int(dev.size), "devices": int(nd_all),
          "read_noise_t_int_s": float(b0.scalars["lsp"]["read_noise_t_int_s"])}
    tabs = dict(b0.tables) | {f"lsp_data/{k}": np.asarray(v, dtype=np.float64) for k, v in tables.items()}
    scalars = {s: v for s, v in b0.scalars.items()} | {"lsp_data": sc}
    from_data = {f"lsp_data/{k}" for k in tables} | {f"lsp_data.{k}" for k in sc}
    from_base = {"lsp_data.read_noise_t_int_s", "pcm (all)", "lsp (all: 3T1C; energies and timing of the LSP)",
                 "integrator (all)"}
    from_data.discard("lsp_data.read_noise_t_int_s")
    if nd is None:
        from_base |= {"lsp_data/read_noise_g_S", "lsp_data/read_noise_rel_sigma"}
        from_data -= {"lsp_data/read_noise_g_S", "lsp_data/read_noise_rel_sigma"}
    return scalars, tabs, from_data, from_base


# ----------------------------------------------------------------------------------------------- plots
def plot_fits(bundle, pd, directory, max_devices: int = 12) -> list[Path]:
    """Per-device fits against the data (as the staircase figures are for SPICE): for up to *max_devices*
    devices, the measured (G, ΔG) pairs of every sequence and the fitted mean step m_k(G) of each row
    (msp: up; lsp: up and down). One PNG per role: ``measured_fits.png``."""
    from pycosim.plots import pyplot, save_figure

    role = bundle.provenance["measured"]["role"]
    if role == "msp":
        st, coef = bundle["pcm/staircase_g_S"], bundle["pcm/fit_coef"]
        rows_dev = pd.staircases(up=True)[1]
        sets = [(st, coef, rows_dev, 1.0, "tab:blue", "up")]
    else:
        dev = bundle["lsp_data/device"].astype(np.int64)
        sets = [(bundle["lsp_data/staircase_up_S"], bundle["lsp_data/fit_coef_up"], dev, 1.0, "tab:blue", "up"),
                (bundle["lsp_data/staircase_down_S"], bundle["lsp_data/fit_coef_down"], dev, -1.0, "tab:red", "down")]
    devs = np.unique(sets[0][2])[:max_devices]
    ncol = 4
    nrow = int(np.ceil(devs.size / ncol))
    plt = pyplot()
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    for ax, d in zip(axes.ravel(), devs):    # ≤ 12 panels
        for st, coef, rd, sign, color, lab in sets:
            r = np.flatnonzero(rd == d)
            g, dg = st[r, :-1] * _US, np.diff(st[r], axis=1) * _US
            ax.plot(g.ravel(), dg.ravel(), ".", color=color, ms=3, alpha=0.6, label=f"{lab} data")
            x = np.linspace(g.min(), g.max(), 60)
            xs = np.broadcast_to(sign * x, (r.size, x.size))
            ax.plot(x, (sign * _log_quadratic(coef[r], xs)).T, "-", color=color, lw=1)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"device {pd.devices[d]}", fontsize=8)
        ax.set_xlabel("G before pulse (µS)", fontsize=7)
        ax.set_ylabel("ΔG per pulse (µS)", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[devs.size:]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"measured data ({role}): steps and per-sequence fits of the mean step", fontsize=9)
    return [save_figure(fig, Path(directory) / "measured_fits.png")]


# ----------------------------------------------------------------------------------------------- export
def export_pulses(bundle: calibration.Bundle, out_dir: str | os.PathLike) -> list[Path]:
    """Write the bundle's own SPICE PCM responses in the measured-data CSV formats (the round trip):

    ``pulses.csv``: per Monte Carlo row k (device ``spice-k``) its partial-SET staircase (pcm/staircase_g_S,
    direction ``set``, pulses 0…J) and one RESET sequence (pulse 0 = pcm/g_max_S, G before the RESET pulse of
    ``pcm_reset``; pulse 1 = pcm/g_reset_S); ``drift.csv``: every row and drift level as device ``spice-k-Ll``,
    read at pcm.drift_t_prog_s (G_prog) and at pcm/drift_t_s. Files are written atomically; *out_dir* is
    created. Read noise has no repeated reads in the bundle (only its relative σ) and is not exported."""
    from pycosim.files import atomic_write_bytes, check_out_dir

    out = check_out_dir(out_dir, "--out", allow_existing=True, create=True)
    st = bundle["pcm/staircase_g_S"]
    n, j1 = st.shape
    dev = np.char.add("spice-", np.arange(n).astype(str))
    rows_dev = np.concatenate([np.repeat(dev, j1), np.repeat(dev, 2)])
    rows_p = np.concatenate([np.tile(np.arange(j1), n), np.tile([0, 1], n)])
    rows_dir = np.concatenate([np.full(n * j1, "set"), np.full(2 * n, "reset")])
    rows_g = np.concatenate([st.ravel(), np.stack([bundle["pcm/g_max_S"], bundle["pcm/g_reset_S"]], 1).ravel()])
    # staircase rows of device k, then its RESET sequence: order by device (stable keeps sequences whole)
    order = np.argsort(np.concatenate([np.repeat(np.arange(n), j1), np.repeat(np.arange(n), 2)]), kind="stable")
    pulses = _csv_bytes(("device", "pulse", "direction", "G_S"),
                        (rows_dev[order], rows_p[order], rows_dir[order], rows_g[order]))
    g, gp = bundle["pcm/drift_g_S"], bundle["pcm/drift_g_prog_S"]
    _, nl, nt = g.shape
    t = np.concatenate([[float(bundle.scalars["pcm"]["drift_t_prog_s"])], bundle["pcm/drift_t_s"]])
    curves = np.concatenate([gp[..., None], g], axis=2).reshape(n * nl, nt + 1)
    names = np.char.add(np.repeat(dev, nl), np.char.add("-L", np.tile(np.arange(nl).astype(str), n)))
    drift = _csv_bytes(("device", "t_s", "G_S"), (np.repeat(names, nt + 1), np.tile(t, n * nl), curves.ravel()))
    return [atomic_write_bytes(out / "pulses.csv", pulses), atomic_write_bytes(out / "drift.csv", drift)]


def _csv_bytes(header: tuple[str, ...], cols: tuple[np.ndarray, ...]) -> bytes:
    """CSV text of columns (floats with 17 significant digits: the round trip is exact)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    text = [c if c.dtype.kind in "UO" else (np.char.mod("%.17g", c) if c.dtype.kind == "f" else c.astype(str))
            for c in cols]
    w.writerows(zip(*text))
    return buf.getvalue().encode()
