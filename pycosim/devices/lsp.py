"""3T1C lower-significance cell at array level: g(V_C), up/down pulses, leakage, reset, read noise.

State: ``v`` (any shape, float32, volt) — the capacitor voltage V_C of each cell; ``inst`` (same
shape, int32) — the SPICE Monte Carlo instance each cell is (see :mod:`pycosim.devices`).

Device instances: resampling. Row k of every ``lsp/…`` per-instance table is one simulated cell
(the same Pelgrom draws in every bench), so a cell of the array that is instance k uses row k of
g(V_C), ΔV_up(V_C), ΔV_down(V_C), the leakage table and the reset table together. The tables are
already functions of V_C, so resampling rows keeps every nonlinearity and correlation that SPICE
produced; no parametric form is assumed except for leakage (a per-cell linear fit, see
:func:`leak`). Source of the cell: Ambrogio et al., Nature 558, 60 (2018), Fig. 2 and Extended
Data Figs. 9–10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from pycosim.devices import grid_args, interp_rows, lerp_row, require_scalar, require_table
from pycosim.errors import CalibrationError, ConfigError


@dataclass(frozen=True)
class LSPPopulation:
    """Per-instance 3T1C parameters (row k = SPICE instance k). Units in the names.

    Attributes:
        vc_grid_V: (n_g,) uniform V_C grid; g_of_vc_S: (n, n_g) read conductance at the bundle's V_read.
        step_grid_V: (n_s,) uniform grid of the step tables; dv_up_V, dv_down_V: (n, n_s) ΔV_C per pulse.
        dv_up_c2c_V, dv_down_c2c_V: σ of one step from pulse to pulse (0 when c2c is not loaded).
        leak_vc_V: (n_l,) V_C points of the leakage table; leak_a_V_per_s, leak_b_per_s: (n, n_l − 1)
            the piecewise-linear rate dV_C/dt = a_kj + b_kj·V_C on segment j (the table's
            interpolant; the end segments continue linearly outside the table).
        v_min_V, v_max_V: V_C range of the g table (V_C is kept inside it).
        vc_init_V: the benches' operating point of V_C (V), the reset line's level (see :func:`reference_gate_V`
            for the column reference's gate).
        reset_vstart_V (n_st,), reset_vfinal_V (n, n_st): transmission-gate reset table, or None.
        noise_vc_V, noise_rel, noise_t_int_s: read-noise table, or None.
    """

    vc_grid_V: np.ndarray
    g_of_vc_S: np.ndarray
    step_grid_V: np.ndarray
    dv_up_V: np.ndarray
    dv_down_V: np.ndarray
    dv_up_c2c_V: float
    dv_down_c2c_V: float
    leak_vc_V: np.ndarray
    leak_a_V_per_s: np.ndarray
    leak_b_per_s: np.ndarray
    v_min_V: float
    v_max_V: float
    vc_init_V: float
    reset_vstart_V: np.ndarray | None = None
    reset_vfinal_V: np.ndarray | None = None
    noise_vc_V: np.ndarray | None = None
    noise_rel: np.ndarray | None = None
    noise_t_int_s: float | None = None

    @property
    def n(self) -> int:
        return int(self.g_of_vc_S.shape[0])

    def step_table(self, up_scale: float = 1.0, down_scale: float = 1.0) -> np.ndarray:
        """(2n, n_s) float32: rows 0…n−1 ΔV_up·up_scale, rows n…2n−1 ΔV_down·down_scale (one gather per step)."""
        return np.concatenate([self.dv_up_V * np.float32(up_scale), self.dv_down_V * np.float32(down_scale)])


def _uniform(grid: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (grid, table) on a uniform grid (resampled at the smallest spacing if not uniform)."""
    d = np.diff(grid)
    if np.allclose(d, d[0], rtol=1e-6, atol=0):
        return grid, table
    h = d.min()
    fine = np.arange(grid[0], grid[-1] + h / 2, h)
    return fine, np.stack([np.interp(fine, grid, row) for row in table])  # load time, loop over instances


def population(bundle, *, c2c: bool = True, reset: bool = True, read_noise: bool = True,
               d2d_scale: float = 1.0) -> LSPPopulation:
    """3T1C population from *bundle*.

    Tables consumed: lsp/vc_grid_V, lsp/g_of_vc_S, lsp/dv_up_V, lsp/dv_down_V (on lsp/step_vc_V), lsp/leak_vc_V,
    lsp/leak_dvdt_V_per_s; with c2c: scalars lsp.dv_up_c2c_sigma_V, lsp.dv_down_c2c_sigma_V; with
    reset: lsp/reset_vstart_V, lsp/reset_vfinal_V; with read noise: lsp/read_noise_vc_V,
    lsp/read_noise_rel_sigma, lsp.read_noise_t_int_s. A missing one raises CalibrationError.
    d2d_scale scales each instance's deviation from the population mean of every table (1 = as simulated).
    """
    if d2d_scale < 0:
        raise ConfigError(f"lsp d2d_scale={d2d_scale}: must be ≥ 0")

    def shrink(a):
        m = a.mean(axis=0, keepdims=True)
        return m + d2d_scale * (a - m)

    grid = require_table(bundle, "lsp/vc_grid_V", "3T1C read")
    g = require_table(bundle, "lsp/g_of_vc_S", "3T1C read")
    grid, g = _uniform(grid, g)
    up = require_table(bundle, "lsp/dv_up_V", "3T1C pulses")
    dn = require_table(bundle, "lsp/dv_down_V", "3T1C pulses")
    sgrid = require_table(bundle, "lsp/step_vc_V", "3T1C pulses")
    for name, t in (("lsp/dv_up_V", up), ("lsp/dv_down_V", dn)):
        if t.shape != (g.shape[0], sgrid.shape[0]) or not np.isfinite(t).all():
            raise CalibrationError(f"{name} must be finite with shape ({g.shape[0]}, {sgrid.shape[0]}), got {t.shape}")
    sgrid_u, up = _uniform(sgrid, up)
    _, dn = _uniform(sgrid, dn)
    lv = require_table(bundle, "lsp/leak_vc_V", "3T1C leakage")
    lr = shrink(require_table(bundle, "lsp/leak_dvdt_V_per_s", "3T1C leakage"))
    if lv.shape[0] < 2 or np.any(np.diff(lv) <= 0):
        raise CalibrationError("lsp/leak_vc_V must hold ≥ 2 increasing V_C values")
    b = np.diff(lr, axis=1) / np.diff(lv)[None, :]
    a = lr[:, :-1] - b * lv[None, :-1]
    kw = {}
    if reset:
        vs = require_table(bundle, "lsp/reset_vstart_V", "3T1C transmission-gate reset")
        vf = require_table(bundle, "lsp/reset_vfinal_V", "3T1C transmission-gate reset")
        if vf.shape != (g.shape[0], vs.shape[0]):
            raise CalibrationError(f"lsp/reset_vfinal_V has shape {vf.shape}, expected ({g.shape[0]}, {vs.shape[0]})")
        kw.update(reset_vstart_V=vs.astype(np.float32), reset_vfinal_V=shrink(vf).astype(np.float32))
    if read_noise:
        kw.update(noise_vc_V=require_table(bundle, "lsp/read_noise_vc_V", "3T1C read noise").astype(np.float32),
                  noise_rel=require_table(bundle, "lsp/read_noise_rel_sigma", "3T1C read noise").astype(np.float32),
                  noise_t_int_s=float(require_scalar(bundle, "lsp", "read_noise_t_int_s", "3T1C read noise")))
    c_up = float(require_scalar(bundle, "lsp", "dv_up_c2c_sigma_V", "3T1C cycle-to-cycle noise")) if c2c else 0.0
    c_dn = float(require_scalar(bundle, "lsp", "dv_down_c2c_sigma_V", "3T1C cycle-to-cycle noise")) if c2c else 0.0
    return LSPPopulation(
        vc_grid_V=grid.astype(np.float32), g_of_vc_S=np.maximum(shrink(g), 0).astype(np.float32),
        step_grid_V=sgrid_u.astype(np.float32), dv_up_V=shrink(up).astype(np.float32),
        dv_down_V=shrink(dn).astype(np.float32), dv_up_c2c_V=c_up, dv_down_c2c_V=c_dn,
        leak_vc_V=lv.astype(np.float64), leak_a_V_per_s=a.astype(np.float64), leak_b_per_s=b.astype(np.float64),
        v_min_V=float(grid[0]), v_max_V=float(grid[-1]),
        vc_init_V=float(require_scalar(bundle, "lsp", "vc_init_V", "3T1C reference")), **kw)


def g_of_vc(v: np.ndarray, inst: np.ndarray, pop: LSPPopulation) -> np.ndarray:
    """Read conductance g = g_k(V_C) (S, float32): row k of lsp/g_of_vc_S (the ``lsp_read_gv`` .dc
    sweep of instance k at the bundle's V_read) interpolated linearly on its 5 mV grid."""
    return interp_rows(v, pop.vc_grid_V, pop.g_of_vc_S, inst)


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def step_cell(v, nf, tab, base, x0, inv, top):
    """V_C after nf identical pulses of a cell whose step table row starts at *base* (flattened
    :meth:`LSPPopulation.step_table`, uniform grid x0, inv, top as :func:`pycosim.devices.lerp_row` takes
    them), by the midpoint closed form of :func:`step_signed` without the c2c term:
    V + nf·ΔV(V + (nf − 1)/2·ΔV(V)). Float32."""
    d1 = lerp_row(v, tab, base, x0, inv, top)
    return v + nf * lerp_row(v + np.float32(0.5) * (nf - np.float32(1)) * d1, tab, base, x0, inv, top)


@njit(cache=True)
def _step_cells(v, rows, nf, sig, z, tab, n_g, x0, inv, top, v_min, v_max, out):
    use_z = z.shape[0] > 0
    for t in range(v.shape[0]):
        x = step_cell(v[t], nf[t], tab, np.int64(rows[t]) * n_g, x0, inv, top)
        if use_z:
            x += sig[t] * np.sqrt(nf[t]) * z[t]
        out[t] = min(max(x, v_min), v_max)
    return out


def step_signed(v: np.ndarray, n: np.ndarray, inst: np.ndarray, pop: LSPPopulation,
                rng: np.random.Generator | None, *, c2c_scale: float = 1.0, up_scale: float = 1.0,
                down_scale: float = 1.0, table: np.ndarray | None = None) -> np.ndarray:
    """|n| pulses per cell, up where n > 0, down where n < 0 (v, n, inst: same shape). Float32 V.

    Closed form for n identical pulses (midpoint rule, no loop over pulses; :func:`step_cell`):
        ΔV₁ = s·ΔV_k(V),  V_n = V + n·s·ΔV_k(V + (n − 1)/2·ΔV₁) + σ_c2c·c2c_scale·√n·z,  z ~ N(0, 1)
    with ΔV_k the up or down table of instance k (row k of lsp/dv_up_V or lsp/dv_down_V), s = up_scale
    or down_scale. For a step table linear in V (ΔV = α + βV) the exact result is
    V∞ + (V − V∞)(1 + β)^n; the midpoint rule's error is O(n³β²ΔV)/12, below 10⁻⁴ of a step for n ≤ 10
    and |β| ≤ 0.05 (tests/devices: 5 pulses at once agree with 5 single pulses to 0.2 mV). The c2c term
    sums n independent steps. V_C is kept inside the g table's range. *table*: a cached
    :meth:`LSPPopulation.step_table` (with the same scales) to skip rebuilding it.
    """
    v = np.asarray(v, np.float32)
    shape = np.broadcast_shapes(v.shape, np.shape(n), np.shape(inst))
    n = np.broadcast_to(np.asarray(n), shape).reshape(-1)
    tab = pop.step_table(up_scale, down_scale) if table is None else table
    rows = np.where(n < 0, np.broadcast_to(inst, shape).reshape(-1) + pop.n, np.broadcast_to(inst, shape).reshape(-1))
    nf = np.abs(n).astype(np.float32)
    z = sig = np.zeros(0, np.float32)
    if rng is not None and (pop.dv_up_c2c_V > 0 or pop.dv_down_c2c_V > 0) and c2c_scale > 0:
        sig = np.where(n > 0, np.float32(pop.dv_up_c2c_V * c2c_scale),
                       np.float32(pop.dv_down_c2c_V * c2c_scale)).astype(np.float32)
        z = rng.standard_normal(nf.shape, dtype=np.float32)
    out = _step_cells(np.ascontiguousarray(np.broadcast_to(v, shape)).reshape(-1), rows, nf, sig, z,
                      np.ascontiguousarray(tab, np.float32).reshape(-1), *grid_args(pop.step_grid_V),
                      np.float32(pop.v_min_V), np.float32(pop.v_max_V), np.empty(nf.shape, np.float32))
    return out.reshape(shape)


def apply_pulses(v: np.ndarray, n_up, n_down, inst: np.ndarray, pop: LSPPopulation,
                 rng: np.random.Generator | None = None, **kw) -> np.ndarray:
    """Apply n_up up pulses then n_down down pulses to each cell (counts ≥ 0; see :func:`step_signed`
    for the equation). Returns the new V_C (float32, V)."""
    n_up = np.broadcast_to(np.asarray(n_up), np.shape(v))
    n_down = np.broadcast_to(np.asarray(n_down), np.shape(v))
    for name, a in (("n_up", n_up), ("n_down", n_down)):
        if a.size and a.min() < 0:
            raise ConfigError(f"apply_pulses: {name} must be ≥ 0 (got min {a.min()})")
    v = np.asarray(v, np.float32)
    if n_up.any():
        v = np.where(n_up > 0, step_signed(v, n_up, inst, pop, rng, **kw), v)
    if n_down.any():
        v = np.where(n_down > 0, step_signed(v, -n_down.astype(np.int64), inst, pop, rng, **kw), v)
    return v.astype(np.float32)


def leak_segment(v: np.ndarray, pop: LSPPopulation) -> np.ndarray:
    """Index j of the leakage-table segment [V_j, V_{j+1}) holding V_C (end segments extend outward). Int."""
    lv = pop.leak_vc_V
    return np.clip(np.searchsorted(lv, np.asarray(v, np.float64), side="right") - 1, 0, lv.shape[0] - 2)


def _phi(x: np.ndarray) -> np.ndarray:
    """φ(x) = (e^x − 1)/x with φ(0) = 1 (expm1, no cancellation)."""
    small = np.abs(x) < 1e-12
    return np.where(small, 1.0 + 0.5 * x, np.expm1(x) / np.where(small, 1.0, x))


def leak_tables(dt_s: float, pop: LSPPopulation) -> tuple[np.ndarray, np.ndarray]:
    """(E, A), each (n, n_seg) float64: V(t + dt) = E·V(t) + A for a cell of instance k that stays in
    segment j for the whole dt: E = e^{b·dt}, A = a·dt·φ(b·dt) (see :func:`leak`)."""
    x = pop.leak_b_per_s * dt_s
    return np.exp(x), pop.leak_a_V_per_s * dt_s * _phi(x)


def leak(v: np.ndarray, dt_s: float, inst: np.ndarray, pop: LSPPopulation) -> np.ndarray:
    """V_C after dt_s of retention with every programming FET off. Float32 V.

    Each cell's rate is the piecewise-linear interpolant of its leakage table (row k of
    lsp/leak_dvdt_V_per_s at lsp/leak_vc_V, measured by ``lsp_retention``):
    dV_C/dt = a_kj + b_kj·V_C on segment j. On a segment the ODE is linear and solved exactly,
    V(t) = V·e^{bt} + a·t·φ(bt), φ(x) = (e^x − 1)/x (a relaxation toward V∞ = −a/b at rate −b when
    b < 0, a linear drift when b = 0, a runaway when b > 0). Where a trajectory reaches a segment
    boundary the crossing time t_c = ln((V_b − V∞)/(V − V∞))/b (or (V_b − V)/a for b = 0) is exact,
    and the cell continues in the next segment with dt − t_c (a loop over ≤ n_seg crossings,
    vectorised over the cells that cross). The result is therefore exact for the interpolated rate
    table; the only error is the interpolation of the rate between the table's V_C points
    (|error of the rate| ≤ h²/8·max|d²r/dV²| ≈ |Δ²r|/8: ≈ 0.015 V/s at the worst 1 % of the cells of
    the shipped bundle, rates up to 0.09 V/s; checked
    against RK4 integration of the same table: ≤ 6·10⁻⁸ V after 3 ms, tests/devices). V_C is then kept inside the g table's range.
    """
    if not dt_s >= 0:
        raise ConfigError(f"leak: dt_s must be ≥ 0 (got {dt_s})")
    shape = np.shape(v)
    v = np.array(v, dtype=np.float64).reshape(-1)
    k = np.asarray(inst).reshape(-1)
    lv = pop.leak_vc_V
    nseg = lv.shape[0] - 1
    seg = leak_segment(v, pop)
    t = np.full(v.shape, float(dt_s))
    idx = np.arange(v.shape[0])
    for _ in range(nseg + 1):
        a, b = pop.leak_a_V_per_s[k[idx], seg], pop.leak_b_per_s[k[idx], seg]
        x = b * t
        v_end = v[idx] * np.exp(x) + a * t * _phi(x)
        lo = np.where(seg > 0, lv[seg], -np.inf)
        hi = np.where(seg < nseg - 1, lv[seg + 1], np.inf)
        up, down = v_end > hi, v_end < lo
        cross = up | down
        v[idx[~cross]] = v_end[~cross]
        if not cross.any():
            break
        c = np.flatnonzero(cross)
        target = np.where(up[c], hi[c], lo[c])
        v0, ac, bc = v[idx[c]], a[c], b[c]
        rate0 = ac + bc * v0
        with np.errstate(divide="ignore", invalid="ignore"):
            vinf = -ac / np.where(bc == 0, 1.0, bc)
            tc = np.where(np.abs(bc) > 1e-12, np.log((target - vinf) / (v0 - vinf)) / np.where(bc == 0, 1.0, bc),
                          (target - v0) / np.where(rate0 == 0, 1.0, rate0))
        tc = np.clip(np.nan_to_num(tc, nan=0.0), 0.0, t[c])
        v[idx[c]] = target
        t = t[c] - tc
        seg = seg[c] + np.where(up[c], 1, -1)
        idx = idx[c]
    return np.clip(v, pop.v_min_V, pop.v_max_V).astype(np.float32).reshape(shape)


def leak_rate(v: np.ndarray, inst: np.ndarray, pop: LSPPopulation) -> np.ndarray:
    """dV_C/dt (V/s) of the interpolated per-cell leakage table at V_C."""
    seg = leak_segment(v, pop)
    return pop.leak_a_V_per_s[inst, seg] + pop.leak_b_per_s[inst, seg] * np.asarray(v, np.float64)


def tg_reset(v: np.ndarray, inst: np.ndarray, pop: LSPPopulation) -> np.ndarray:
    """V_C after a transmission-gate reset: V_final = f_k(V_start), row k of lsp/reset_vfinal_V
    interpolated linearly in the starting voltage (lsp/reset_vstart_V), held outside — the residual
    error and the charge injection of turn-off, as ``circuits/lsp_reset.cir`` measured them for that
    cell. Float32 V."""
    if pop.reset_vfinal_V is None:
        raise CalibrationError("3T1C reset was not loaded (population(..., reset=False))")
    vs = pop.reset_vstart_V
    x = np.clip(np.asarray(v, np.float32), vs[0], vs[-1])
    j = np.clip(np.searchsorted(vs, x, side="right") - 1, 0, max(vs.shape[0] - 2, 0))
    if vs.shape[0] == 1:
        return pop.reset_vfinal_V[inst, 0].astype(np.float32)
    f = (x - vs[j]) / (vs[j + 1] - vs[j])
    vf = pop.reset_vfinal_V
    return (vf[inst, j] * (1 - f) + vf[inst, j + 1] * f).astype(np.float32)


def reference_gate_V(pop: LSPPopulation) -> float:
    """Gate voltage (V) of the column reference FET (g_shared = g_k(V_ref), Ambrogio et al., Nature 558, 60
    (2018): W_LSP = g − g_shared): the population mean of a freshly reset cell,

        V_ref = mean_k f_k(vc_init_V),     f_k: the transmission-gate reset of instance k (:func:`tg_reset`),

    so that a reset cell and its reference agree on average (the reset's residual error and turn-off charge
    injection, +12.5 mV in the shipped bundle, would otherwise be a systematic g − g_shared ≈ +0.6 µS on every
    synapse, flipping sign with the polarity at each transfer). DESIGN ASSUMPTION (docs/circuits/lsp.md,
    "Reset and the reference"): the reference gate is generated by a replica cell reset by the same pulse and
    buffered (a driven gate: it neither leaks nor sees the per-cell injection spread). Without the reset table
    (population(..., reset=False)) it is vc_init_V."""
    if pop.reset_vfinal_V is None:
        return float(pop.vc_init_V)
    k = np.arange(pop.reset_vfinal_V.shape[0])
    return float(np.mean(tg_reset(np.full(k.shape, pop.vc_init_V, np.float32), k, pop), dtype=np.float64))


def read_sigma(v: np.ndarray, g: np.ndarray, pop: LSPPopulation, t_int_s: float | None = None) -> np.ndarray:
    """σ (S) of one read of a cell at V_C with conductance g: rel(V_C)·g, rel interpolated on the
    read-noise table (lsp/read_noise_vc_V, lsp/read_noise_rel_sigma), scaled to a window t_int_s
    as white noise (σ ∝ (t_bench/t_int)^½). Float32."""
    if pop.noise_rel is None:
        raise CalibrationError("3T1C read noise was not loaded (population(..., read_noise=False))")
    rel = np.interp(np.asarray(v, np.float64), pop.noise_vc_V, pop.noise_rel)
    if t_int_s is not None:
        rel = rel * np.sqrt(pop.noise_t_int_s / t_int_s)
    return (rel * g).astype(np.float32)


def read(v: np.ndarray, inst: np.ndarray, pop: LSPPopulation, rng: np.random.Generator | None = None,
         t_int_s: float | None = None) -> np.ndarray:
    """One read: g_k(V_C) + σ·z (noise only if rng is given). Float32 S."""
    g = g_of_vc(v, inst, pop)
    if rng is not None:
        g = g + read_sigma(v, g, pop, t_int_s) * rng.standard_normal(g.shape, dtype=np.float32)
    return g
