"""'2pcm+3t1c': a PCM pair plus a 3T1C cell per synapse (Ambrogio et al., Nature 558, 60 (2018)).

    W = scale·[F·(G⁺ − G⁻) + pol_j·(g − g_shared,j)]

g = g_k(V_C) is the read-FET conductance of the cell's capacitor voltage (:func:`pycosim.devices.lsp.g_of_vc`),
g_shared,j the column's reference FET (a resampled instance whose gate is held at the cells' mean post-reset
V_C, :func:`pycosim.devices.lsp.reference_gate_V`), pol_j the column's
polarity bit. On the lines: W⁺ = F·G⁺ + [g if pol_j > 0 else g_shared], W⁻ = F·G⁻ + [g_shared if pol_j > 0
else g] (Fig. 1 of the paper).

Update: n coincident pulses on the 3T1C cell, up where n·pol_j > 0, down otherwise
(:func:`pycosim.devices.lsp.step_signed`, fused in :func:`pycosim.array.kernels.lsp_update`).
Time: V_C leaks by the exact piecewise-linear closed form per cell (:func:`pycosim.devices.lsp.leak`),
deferred up to lsp.leak_batch_s. Transfer: every cell of the columns gets the transmission-gate reset
(V_C ← f_k(V_C)), moved synapses' MSP pairs are tuned to the read target, then pol_j ← −pol_j
(invert_polarity).

State (beyond :mod:`pycosim.array.schemes.analog`): V (n_in, n_out) float32 V_C (V); V_inst int32 instance
of each cell; g (n_in, n_out) float32 cached g(V_C) (S); g_shared (n_out,) (S); pol (n_out,) float32 ±1.
"""

from __future__ import annotations

import numpy as np

from pycosim.array import kernels
from pycosim.array.schemes.analog import _EMPTY_F32, AnalogCrossbar
from pycosim.devices import assign_instances, interp_rows, lsp
from pycosim.errors import ConfigError

_EMPTY_I16 = np.zeros(0, np.int16)


class Pcm3T1C(AnalogCrossbar):
    """'2pcm+3t1c' (module docstring)."""

    N_PCM = 2
    _STATE_ARRAYS = AnalogCrossbar._STATE_ARRAYS + ("V", "g", "pol")
    _STATE_SCALARS = AnalogCrossbar._STATE_SCALARS + ("_leak_pending",)

    def _build_lsp(self, bundle) -> None:
        lc = self.cfg.lsp
        self.lsp_pop = lp = lsp.population(bundle, c2c=lc.c2c_scale > 0, reset=True, read_noise=lc.read_noise,
                                           d2d_scale=lc.d2d_scale)
        rng, shape = self.rng, self.shape
        self.V_inst = assign_instances(shape, lp.n, rng)
        # power-up: every capacitor gets the transmission-gate reset (the state a transfer leaves), and the
        # column references sit at the mean reset level (lsp.reference_gate_V)
        v0 = np.full(shape, lp.vc_init_V, np.float32)
        self.V = lsp.tg_reset(v0, self.V_inst, lp) if lp.reset_vfinal_V is not None else v0
        self.g = lsp.g_of_vc(self.V, self.V_inst, lp)
        self.ref_inst = assign_instances((self.n_out,), lp.n, rng)
        self.v_ref_gate_V = lsp.reference_gate_V(lp)
        self.g_shared = lsp.g_of_vc(np.full(self.n_out, self.v_ref_gate_V, np.float32), self.ref_inst, lp)
        self.pol = np.ones(self.n_out, np.float32)
        k_all = np.arange(lp.n)
        v0 = np.full(lp.n, lp.vc_init_V, np.float32)
        v_up = lsp.step_signed(v0, np.ones(lp.n, int), k_all, lp, None)
        ratio_sim = float(np.mean(v_up - v0) / -np.mean(lsp.step_signed(v0, -np.ones(lp.n, int), k_all, lp, None) - v0))
        self.up_down_ratio_simulated = ratio_sim   # |ΔV_up/ΔV_down| of the population as simulated
        self._down_scale = 1.0 if lc.up_down_ratio is None else ratio_sim / lc.up_down_ratio
        self._step_tab = lp.step_table(1.0, self._down_scale)
        if lc.read_noise:   # var_k(V) = scale²·t_bench·(rel(V)·g_k(V))² on the g grid (network units²·s)
            rel = np.interp(lp.vc_grid_V, lp.noise_vc_V, lp.noise_rel).astype(np.float32)
            self._lsp_var_tab = (np.float32(self.scale ** 2 * lp.noise_t_int_s)
                                 * (rel[None, :] * lp.g_of_vc_S) ** 2).astype(np.float32)
        else:
            self._lsp_var_tab = _EMPTY_F32.reshape(0, 1)
        self.dw_pulse = self.scale * float(np.mean(lsp.g_of_vc(v_up, k_all, lp) - lsp.g_of_vc(v0, k_all, lp)))
        self._leak_pending = 0.0
        self._leak_cache = None
        self.leak_batch_s = lc.leak_batch_s if lc.leak_batch_s is not None else self._default_leak_batch()
        self._lsp_kargs = (   # the constant table arguments of the update kernel
            self._step_tab.reshape(-1), lp.step_grid_V.shape[0], np.float32(lp.step_grid_V[0]),
            np.float32(1.0 / (lp.step_grid_V[1] - lp.step_grid_V[0])), lp.g_of_vc_S.reshape(-1),
            lp.vc_grid_V.shape[0], np.float32(lp.vc_grid_V[0]),
            np.float32(1.0 / (lp.vc_grid_V[1] - lp.vc_grid_V[0])), np.float32(lp.v_min_V),
            np.float32(lp.v_max_V), np.float32(lp.dv_up_c2c_V * lc.c2c_scale),
            np.float32(lp.dv_down_c2c_V * lc.c2c_scale))
        self._c2c = lc.c2c_scale > 0 and (lp.dv_up_c2c_V > 0 or lp.dv_down_c2c_V > 0)

    def _lsp_resolved(self) -> dict:
        """lsp.leak_batch_s (s) and lsp.up_down_ratio (the simulated population ratio) when "auto"."""
        lc, out = self.cfg.lsp, {}
        if lc.leak_batch_s is None:
            out["lsp.leak_batch_s"] = float(self.leak_batch_s)
        if lc.up_down_ratio is None:
            out["lsp.up_down_ratio"] = float(self.up_down_ratio_simulated)
        return out

    def _restored(self) -> None:
        super()._restored()
        self._leak_cache = None

    # ------------------------------------------------------------------ weight of the state
    def _lsp_noise(self) -> bool:
        return self.cfg.lsp.read_noise

    def _lsp_w(self, flat, take):
        col = (np.arange(self.n_in * self.n_out) if flat is None else flat) % self.n_out
        return self.pol[col] * (take(self.g) - self.g_shared[col])

    def _lsp_lines(self, flat, take, wp, wn):
        col = (np.arange(self.n_in * self.n_out) if flat is None else flat) % self.n_out
        pos = self.pol[col] > 0
        g, gs = take(self.g), self.g_shared[col]
        return wp + np.where(pos, g, gs), wn + np.where(pos, gs, g)

    def _lsp_line_gain(self, kp, kn):
        return np.where(self.pol > 0, kp, kn).astype(np.float32)

    def _lsp_var(self, flat):
        """scale²·σ²·t_bench (network units²·s) of 3T1C cells: the tabulated var_k(V_C) (read_sigma² on the
        g grid, see :func:`pycosim.devices.lsp.read_sigma`)."""
        if not self.cfg.lsp.read_noise:
            return np.float32(0)
        v = self.V.reshape(-1) if flat is None else self.V.reshape(-1)[flat]
        k = self.V_inst.reshape(-1) if flat is None else self.V_inst.reshape(-1)[flat]
        return interp_rows(v, self.lsp_pop.vc_grid_V, self._lsp_var_tab, k)

    def lsp_contribution(self) -> np.ndarray:
        return np.float32(self.scale) * self.pol * (self.g - self.g_shared)

    # ------------------------------------------------------------------ update
    def _update(self, x, d, lr):
        """Counts from :meth:`_counts`, applied by :func:`kernels.lsp_update` ('trains': both in one call,
        :func:`kernels.lsp_trains_update`, drawing from the same buffers in the same order)."""
        seg = self._leak_cache["seg"].reshape(-1) if self._leak_cache is not None else _EMPTY_I16
        noise = self.S is not None and self.cfg.lsp.read_noise
        state = (self.V.reshape(-1), self.g.reshape(-1), self.W.reshape(-1),
                 self.Wf.reshape(-1) if self._lag else _EMPTY_F32, self._kg if self._lag else _EMPTY_F32,
                 self.S.reshape(-1) if noise else _EMPTY_F32, self.V_inst.reshape(-1), self.pol, self.n_out,
                 self.lsp_pop.n)
        tail = (np.float32(self.scale), self._lsp_var_tab.reshape(-1) if noise else _EMPTY_F32, seg)
        uc = self.cfg.update
        if uc.rounding == "trains":
            c = lr / self.dw_pulse
            if c == 0:
                return
            bl = uc.max_pulses
            self._trains_work()
            self._uniforms(0, room=bl * (self.n_in + self.n_out))
            if self._c2c:
                self._gauss(0, room=self.W.size)
            zbuf = self._zbuf if self._c2c else _EMPTY_F32
            up, dn, self._upos, self._zpos = kernels.lsp_trains_update(
                x, d, np.float32(c / bl), bl, self._ubuf, self._upos, self._ws, self._out_flat, self._out_n,
                zbuf, self._zpos, self._c2c, *state, *self._lsp_kargs, *tail, np.float64(self.trains_split))
        else:
            flat, n = self._counts(x, d, lr)
            if flat.size == 0:
                return
            z = self._gauss(flat.size, room=self.W.size) if self._c2c else _EMPTY_F32
            up, dn = kernels.lsp_update(flat, n, *state, *self._lsp_kargs, z, *tail)
        self.counters.lsp_up_pulses += int(up)
        self.counters.lsp_down_pulses += int(dn)

    # ------------------------------------------------------------------ leakage
    def _advance_lsp(self, dt_s: float) -> None:
        if not self.cfg.lsp.leak:
            return
        self._leak_pending += dt_s
        if self._leak_pending > 0 and self._leak_pending >= self.leak_batch_s * (1 - 1e-9):
            self._flush_lsp()

    def _flush_lsp(self) -> None:
        if self._leak_pending > 0:
            self._apply_leak(self._leak_pending)
            self._leak_pending = 0.0

    def _default_leak_batch(self) -> float:
        """1 % of a mean up step at the 99th-percentile |rate| of the leakage table, but ≥ 16 float32 ulps
        of the top of the V_C range at the median |rate| (see LSPConfig.leak_batch_s)."""
        lp = self.lsp_pop
        k = np.arange(lp.n)
        rates = np.abs(np.stack([lsp.leak_rate(np.full(lp.n, v), k, lp) for v in lp.leak_vc_V]))
        v0 = np.full(lp.n, lp.vc_init_V, np.float32)
        step = float(np.mean(lsp.step_signed(v0, np.ones(lp.n, int), k, lp, None) - v0))
        p99, p50 = float(np.percentile(rates, 99)), float(np.median(rates))
        if p99 <= 0:
            return 0.0
        ulp16 = 16 * float(np.spacing(np.float32(lp.v_max_V)))
        return max(0.01 * step / p99, ulp16 / p50 if p50 > 0 else 0.0)

    def _apply_leak(self, dt: float) -> None:
        """V ← E·V + A with per-cell factors of the cell's current leakage segment, cached for this dt
        (:func:`pycosim.array.kernels.lsp_leak`, one pass updating V, g, W, Wf, S); the cells that leave their
        segment get the exact crossing solution of :func:`pycosim.devices.lsp.leak`."""
        lp = self.lsp_pop
        cache = self._leak_cache
        if cache is None or cache["dt"] != dt:
            E, A = lsp.leak_tables(dt, lp)
            cache = self._leak_cache = {"dt": dt, "E": np.ascontiguousarray(E).reshape(-1),
                                        "A": np.ascontiguousarray(A).reshape(-1),
                                        "seg": np.full(self.shape, -1, np.int16),
                                        "e": np.empty(self.W.size, np.float32), "a": np.empty(self.W.size, np.float32),
                                        "moved": np.empty(self.W.size, np.int64)}
        noise = self.S is not None and self.cfg.lsp.read_noise
        cells = self._cell_args(noise)
        m = kernels.lsp_leak(*cells[:9], cache["seg"].reshape(-1), cache["e"], cache["a"], cache["E"], cache["A"],
                             lp.leak_vc_V, *cells[9:], np.float32(lp.v_min_V), np.float32(lp.v_max_V), cache["moved"])
        if m:
            mv = cache["moved"][:m].copy()
            v_exact = lsp.leak(self.V.reshape(-1)[mv], dt, self.V_inst.reshape(-1)[mv], lp)
            kernels.lsp_set_cells(mv, v_exact, *cells)
            cache["seg"].reshape(-1)[mv] = -1          # found again (from the new V_C) at the next step

    def _cell_args(self, noise: bool) -> tuple:
        """The per-cell arrays and g-table arguments of :func:`kernels.lsp_set_cells` (flattened views)."""
        lp = self.lsp_pop
        return (self.V.reshape(-1), self.g.reshape(-1), self.W.reshape(-1),
                self.Wf.reshape(-1) if self._lag else _EMPTY_F32, self._kg if self._lag else _EMPTY_F32,
                self.S.reshape(-1) if noise else _EMPTY_F32, self.V_inst.reshape(-1), self.pol, self.n_out,
                lp.g_of_vc_S.reshape(-1), lp.vc_grid_V.shape[0], np.float32(lp.vc_grid_V[0]),
                np.float32(1.0 / (lp.vc_grid_V[1] - lp.vc_grid_V[0])), np.float32(self.scale),
                self._lsp_var_tab.reshape(-1) if noise else _EMPTY_F32)

    # ------------------------------------------------------------------ transfer
    def _reset_lsp(self, flat, moved, cols, opt):
        Vf, gf, If = self.V.reshape(-1), self.g.reshape(-1), self.V_inst.reshape(-1)
        Vf[flat] = lsp.tg_reset(Vf[flat], If[flat], self.lsp_pop)
        gf[flat] = lsp.g_of_vc(Vf[flat], If[flat], self.lsp_pop)
        self.counters.lsp_resets += int(flat.size)
        if self._leak_cache is not None:
            self._leak_cache["seg"].reshape(-1)[flat] = -1
        if opt["invert_polarity"]:
            self.pol[cols] *= -1

    def invert_polarity(self, cols=None) -> None:
        """Flip the polarity bit of columns *cols* (default all): pol_j ← −pol_j; W is recomputed there
        (the LSP contribution pol·(g − g_shared) changes sign)."""
        cols = np.arange(self.n_out) if cols is None else np.atleast_1d(np.asarray(cols, np.int64))
        self.pol[cols] *= -1
        self._refresh((np.arange(self.n_in)[:, None] * self.n_out + cols[None, :]).ravel())
        self._refresh_lines()

    # ------------------------------------------------------------------ views
    def devices(self) -> dict:
        """:meth:`AnalogCrossbar.devices` plus 'V_C_V' (n_in, n_out) capacitor voltages (V), 'g_S' read-FET
        conductances (S), 'lsp_instance' int32 SPICE instance of each cell, 'g_shared_S' (n_out,) and
        'ref_instance' (n_out,) of the column reference cells, 'v_ref_gate_V' their gate voltage (V), 'pol'
        (n_out,) ±1."""
        return super().devices() | {"V_C_V": self.V.copy(), "g_S": self.g.copy(), "lsp_instance": self.V_inst.copy(),
                                    "g_shared_S": self.g_shared.copy(), "ref_instance": self.ref_inst.copy(),
                                    "v_ref_gate_V": self.v_ref_gate_V,
                                    "pol": self.pol.copy()}

    def _set_lsp_devices(self, V, pol) -> None:
        if V is not None:
            V = np.asarray(V, np.float32)
            if V.shape != self.shape:
                raise ConfigError(f"set_devices: V must have shape {self.shape}, got {V.shape}")
            self.V = np.clip(V, self.lsp_pop.v_min_V, self.lsp_pop.v_max_V).astype(np.float32)
            self.g = lsp.g_of_vc(self.V, self.V_inst, self.lsp_pop)
            self._leak_cache = None
        if pol is not None:
            pol = np.asarray(pol, np.float32)
            if pol.shape != (self.n_out,) or not np.all(np.abs(pol) == 1):
                raise ConfigError(f"set_devices: pol must be ±1 with shape ({self.n_out},)")
            self.pol = pol.copy()
