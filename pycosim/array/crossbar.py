"""One crossbar layer of circuit-calibrated synapses, as plain arrays (no object per synapse).

Weights (network units; scale = network units per siemens, :attr:`Crossbar.scale`):

    '2pcm+3t1c'  W = scale·[F·(G⁺ − G⁻) + pol_j·(g − g_shared,j)]     Ambrogio et al., Nature 558, 60 (2018)
    '4pcm'       W = scale·[F·(G⁺ − G⁻) + (g⁺ − g⁻)]                   Cristiano et al., JAP 124, 151901 (2018)
    '2pcm'       W = scale·F·(G⁺ − G⁻)                                 Burr et al., IEEE TED 62, 3498 (2015)
    'ideal'      W stored as float32, exact arithmetic

scale = weight_max/(F·(mean G_max − mean RESET floor)): the full MSP range maps to ±weight_max.

State (shapes (n_in, n_out) unless noted; float32 unless noted):
    P: (k, n_in, n_out) programmed PCM conductances (S): k = 0 G⁺, 1 G⁻, and for '4pcm' 2 g⁺, 3 g⁻;
    P_since: (k, n_in, n_out) int32 SET pulses since each device's last RESET (selects its c2c residuals);
    P_inst: (k, n_in, n_out) int32 SPICE instance of each PCM device; P_stuck: bool or None;
    V: V_C of the 3T1C cells (V); V_inst: int32; g: cached g(V_C) (S); g_shared: (n_out,) reference
    conductance of each column (the column's reference cell, a resampled instance read at vc_init_V);
    pol: (n_out,) float32 ±1 polarity bit per column.
Caches, updated incrementally on the cells an operation touches:
    W: effective weights (network units, drifted PCM values at the last drift refresh);
    S: (n_in, n_out) Σ_devices σ²_read·t_bench (network units²·s), the read-noise variance density.

Operations: :meth:`forward`, :meth:`backward`, :meth:`update`, :meth:`leak`, :meth:`transfer`,
:meth:`program`, :meth:`invert_polarity`; the equations are in the docstrings and in docs/array.md.
"""

from __future__ import annotations

import numpy as np

from pycosim.array import kernels
from pycosim.array.config import ArrayConfig
from pycosim.array.counters import Counters
from pycosim.array.periphery import ReadChannel
from pycosim.devices import assign_instances, integrator, interp_rows, lsp, pcm
from pycosim.errors import ConfigError


_EMPTY_F32 = np.zeros(0, np.float32)
_EMPTY_I16 = np.zeros(0, np.int16)
_EMPTY_2D = np.zeros((0, 1), np.float32)


def _as_vector(x, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.shape != (n,):
        raise ConfigError(f"{name}: expected shape ({n},), got {a.shape}")
    if not np.isfinite(a.sum(dtype=np.float64)):
        raise ConfigError(f"{name}: contains NaN or infinity")
    return a


class Crossbar:
    """A crossbar layer of n_in × n_out synapses (see the module docstring for state and equations).

    Args:
        n_in, n_out: rows (inputs) and columns (outputs).
        config: :class:`ArrayConfig` (or a dict for :meth:`ArrayConfig.from_dict`).
        bundle: calibration bundle (default: the shipped one; not used by 'ideal').
        rng: numpy Generator or seed; all randomness of the layer comes from it.
    """

    def __init__(self, n_in: int, n_out: int, config: ArrayConfig | dict | None = None, bundle=None,
                 rng: np.random.Generator | int | None = None):
        if isinstance(config, dict):
            config = ArrayConfig.from_dict(config)
        config = config or ArrayConfig()
        if not isinstance(config, ArrayConfig):
            raise ConfigError(f"config: expected ArrayConfig or dict, got {type(config).__name__}")
        if int(n_in) < 1 or int(n_out) < 1:
            raise ConfigError(f"crossbar shape ({n_in}, {n_out}): both sizes must be ≥ 1")
        self.cfg = config
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.shape = (self.n_in, self.n_out)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.synapse = config.synapse
        self.counters = Counters()
        self.t_s = 0.0
        self.W = np.zeros(self.shape, np.float32)
        self.Wf = self.W          # forward-read matrix (network units): W, or with the integrator lag κ
        self._lag = False
        self.S = None
        self._ws = None
        self._ubuf = self._zbuf = None
        self._upos = self._zpos = 0
        if self.synapse == "ideal":
            self.scale = 1.0
            self.dw_pulse = 0.0
            return
        if bundle is None:
            from pycosim import calibration
            bundle = calibration.load()
        self.bundle = bundle
        self._build(bundle)

    def __setstate__(self, state: dict) -> None:
        """Unpickle (checkpoints), filling caches that older pickles lack."""
        self.__dict__.update(state)
        for k, v in (("_lsp_kargs", None), ("_ubuf", None), ("_zbuf", None), ("_upos", 0), ("_zpos", 0)):
            self.__dict__.setdefault(k, v)
        if "_drift_dirty" not in state and self.synapse != "ideal":
            self._drift_dirty = np.zeros(self.P.shape, bool) if self.P_tprog is not None else None
        if "P_drift" not in state and self.synapse != "ideal":
            self.P_drift = (pcm.drift_params(self.P, self.P_inst, self.pcm_pop) if self.P_tprog is not None
                            else None)
        if "_lag" not in state:     # pickles from before the integrator-lag model: ideal virtual grounds
            self._lag, self.Wf = False, self.W
            self.kappa_p = self.kappa_n = self.kappa_r = None
            self._kg = self._kns = self._cf = self._cb = self._kr = None
        if "_levels" not in state and self.synapse != "ideal":
            bits = self.cfg.periphery.input_bits
            self._levels = np.float32((1 << bits) - 1 if bits is not None else 0)

    # ------------------------------------------------------------------ construction
    def _build(self, bundle) -> None:
        c, rng, shape = self.cfg, self.rng, self.shape
        pc = c.pcm
        self.pcm_pop = pcm.population(bundle, drift=pc.drift, read_noise=pc.read_noise, d2d_scale=pc.d2d_scale,
                                      drift_t0_s=pc.drift_t0_s, drift_t_prog_s=pc.drift_t_prog_s,
                                      drift_scale=getattr(pc, "drift_scale", 1.0),
                                      drift_d2d_scale=getattr(pc, "drift_d2d_scale", 1.0))
        if pc.g_max_scale != 1.0:
            import dataclasses
            self.pcm_pop = dataclasses.replace(self.pcm_pop, g_max_S=(self.pcm_pop.g_max_S * pc.g_max_scale).astype(np.float32))
        pp = self.pcm_pop
        dg_range = float(np.mean(pp.g_max_S) - np.mean(pp.g_reset_S))
        self.scale = c.weight_max / (c.F * dg_range)
        k = 4 if self.synapse == "4pcm" else 2
        self.P_inst = assign_instances((k,) + shape, pp.n, rng)
        self.P = pp.g_reset_S[self.P_inst]
        self.P_since = np.zeros((k,) + shape, np.int32)   # SET pulses since each device's last RESET
        self.P_stuck = None
        if pc.stuck_reset_frac > 0 or pc.stuck_max_frac > 0:
            u = rng.random((k,) + shape)
            at_max = u < pc.stuck_max_frac
            at_reset = (u >= pc.stuck_max_frac) & (u < pc.stuck_max_frac + pc.stuck_reset_frac)
            self.P = np.where(at_max, pp.g_max_S[self.P_inst], self.P).astype(np.float32)
            self.P_stuck = at_max | at_reset
        self.P_tprog = np.zeros((k,) + shape, np.float64) if pc.drift else None
        self.Pe = self.P.copy() if pc.drift else self.P   # drifted values used by reads
        self.P_drift = pcm.drift_params(self.P, self.P_inst, self.pcm_pop) if pc.drift else None   # (ln r, ν)
        self._drift_dirty = np.zeros(self.P.shape, bool) if pc.drift else None
        self._t_drift = 0.0
        self.counters.pcm_resets_per_device = np.zeros((k,) + shape, np.uint32)
        self.counters.pcm_sets_per_device = np.zeros((k,) + shape, np.uint32)

        if self.synapse == "2pcm+3t1c":
            lc = c.lsp
            self.lsp_pop = lsp.population(bundle, c2c=lc.c2c_scale > 0, reset=True, read_noise=lc.read_noise,
                                          d2d_scale=lc.d2d_scale)
            lp = self.lsp_pop
            self.V_inst = assign_instances(shape, lp.n, rng)
            self.V = np.full(shape, lp.vc_init_V, np.float32)
            self.g = lsp.g_of_vc(self.V, self.V_inst, lp)
            ref_inst = assign_instances((self.n_out,), lp.n, rng)
            self.g_shared = lsp.g_of_vc(np.full(self.n_out, lp.vc_init_V, np.float32), ref_inst, lp)
            self.pol = np.ones(self.n_out, np.float32)
            k_all = np.arange(lp.n)
            v0 = np.full(lp.n, lp.vc_init_V, np.float32)
            ratio_sim = float(np.mean(lsp.step_signed(v0, np.ones(lp.n, int), k_all, lp, None) - v0)
                              / -np.mean(lsp.step_signed(v0, -np.ones(lp.n, int), k_all, lp, None) - v0))
            self._down_scale = 1.0 if lc.up_down_ratio is None else ratio_sim / lc.up_down_ratio
            self._step_tab = lp.step_table(1.0, self._down_scale)
            self._lsp_kargs = None
            if lc.read_noise:   # var_k(V) = scale²·t_bench·(rel(V)·g_k(V))² on the g grid (network units²·s)
                rel = np.interp(lp.vc_grid_V, lp.noise_vc_V, lp.noise_rel).astype(np.float32)
                self._lsp_var_tab = (np.float32(self.scale ** 2 * lp.noise_t_int_s)
                                     * (rel[None, :] * lp.g_of_vc_S) ** 2).astype(np.float32)
            else:
                self._lsp_var_tab = _EMPTY_F32.reshape(0, 1)
            g_up = lsp.g_of_vc(lsp.step_signed(v0, np.ones(lp.n, int), k_all, lp, None), k_all, lp)
            self.dw_pulse = self.scale * float(np.mean(g_up - lsp.g_of_vc(v0, k_all, lp)))
            self._leak_pending = 0.0
            self._leak_cache = None
            self.leak_batch_s = lc.leak_batch_s if lc.leak_batch_s is not None else self._default_leak_batch()
        else:   # '4pcm' LSP pair / '2pcm': the mean fitted first step from the RESET floor, m_k(G_reset,k)
            m0 = float(np.mean(np.exp(pcm.mean_log_dg(pp.g_reset_S, np.arange(pp.n), pp)))) * 1e-6
            self.dw_pulse = self.scale * m0 * (c.F if self.synapse == "2pcm" else 1.0)
        pe = c.periphery
        self.integ = integrator.params(bundle, noise=pe.integrator_noise)
        self.read_v_V = pe.read_v_V if pe.read_v_V is not None else float(bundle.scalars["lsp"]["read_v_V"])
        kw = dict(scale=self.scale, read_v_V=self.read_v_V, bits=pe.adc_bits, noise=pe.integrator_noise,
                  mismatch_scale=pe.mismatch_scale, rng=rng, t_read_s=pe.t_read_s)
        self.fwd = ReadChannel.build(self.n_out, self.integ, full_scale=pe.forward_full_scale, **kw)
        self.bwd = ReadChannel.build(self.n_in, self.integ, full_scale=pe.backward_full_scale, **kw)
        bits = pe.input_bits
        self._levels = np.float32((1 << bits) - 1 if bits is not None else 0)
        self._lag = bool(pe.integrator_lag and self.integ.cint_F > 0 and self.integ.gbw_Hz > 0)
        self.kappa_p = self.kappa_n = self.kappa_r = None
        self._kg = self._kns = self._cf = self._cb = self._kr = None
        self._noise = pc.read_noise or (self.synapse == "2pcm+3t1c" and c.lsp.read_noise)
        self.S = np.zeros(shape, np.float32) if self._noise else None
        # read-noise law per read window (see noise_factor): 1/f when the PCM noise is on (it dominates)
        self._kfwd = np.float32(self.noise_factor(self.fwd.t_x1_s)) if self._noise else np.float32(0)
        self._kbwd = np.float32(self.noise_factor(self.bwd.t_x1_s)) if self._noise else np.float32(0)
        self._refresh_all()

    # ------------------------------------------------------------------ caches
    def noise_factor(self, t_s: float) -> float:
        """κ(t) with read variance of a full-width read (|x| = 1) of window t = S·κ(t), S = Σσ²(t_b)·t_b.

        PCM read noise (which dominates: σ/G ≈ 2–4 % against ≈ 0.1 % for the 3T1C read FET) is 1/f in the
        circuit (netlists/pcm.lib): the variance of a window mean grows only as ln(t_rec/T) when the window
        T shrinks below the bench window t_b (record t_rec), and longer windows are not credited with any
        averaging — κ(t) = ln(t_rec/min(t, t_b)) / (ln(t_rec/t_b)·t_b) (the log law of the published PCM
        read-noise model, Nandakumar et al., ICECS 2019). A read of pulse fraction x contributes x²·S·κ.
        With the PCM noise off, the remaining 3T1C thermal noise is white: κ = 1/t, contributions x·S/t."""
        if self.cfg.pcm.read_noise:
            p = self.pcm_pop
            t_b, t_rec = p.noise_t_int_s, p.noise_t_rec_s
            return float(np.log(t_rec / min(t_s, t_b)) / (np.log(t_rec / t_b) * t_b))
        return 1.0 / t_s

    def _pcm_var(self, d: int, flat: np.ndarray | None) -> np.ndarray:
        """σ²·t_bench (S²·s) of PCM devices of type d at flat synapse indices (None = all)."""
        if not self.cfg.pcm.read_noise:
            return np.float32(0)
        g = self.Pe[d].reshape(-1) if flat is None else self.Pe[d].reshape(-1)[flat]
        s = pcm.read_sigma(g, self.pcm_pop)
        return s * s * np.float32(self.pcm_pop.noise_t_int_s)

    def _lsp_var(self, flat: np.ndarray | None) -> np.ndarray:
        """scale²·σ²·t_bench (network units²·s) of 3T1C cells: the tabulated var_k(V_C) (read_sigma² on the
        g grid, see :func:`pycosim.devices.lsp.read_sigma`)."""
        if not self.cfg.lsp.read_noise:
            return np.float32(0)
        v = self.V.reshape(-1) if flat is None else self.V.reshape(-1)[flat]
        k = self.V_inst.reshape(-1) if flat is None else self.V_inst.reshape(-1)[flat]
        return interp_rows(v, self.lsp_pop.vc_grid_V, self._lsp_var_tab, k)

    def _w_of(self, flat: np.ndarray | None) -> np.ndarray:
        """Noise-free weights (network units) from the device state at flat indices (None = all)."""
        F, s = np.float32(self.cfg.F), np.float32(self.scale)
        take = (lambda a: a.reshape(-1)) if flat is None else (lambda a: a.reshape(-1)[flat])
        w = F * (take(self.Pe[0]) - take(self.Pe[1]))
        if self.synapse == "2pcm+3t1c":
            col = (np.arange(self.W.size) if flat is None else flat) % self.n_out
            w = w + self.pol[col] * (take(self.g) - self.g_shared[col])
        elif self.synapse == "4pcm":
            w = w + (take(self.Pe[2]) - take(self.Pe[3]))
        return s * w

    def _lines_of(self, flat: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Conductances (S, float32) each synapse puts on its p and n column line, at flat indices (None =
        all, flattened): W⁺ = F·G⁺ + [g if pol_j > 0 else g_shared] (+ g⁺ for '4pcm'), W⁻ = F·G⁻ +
        [g_shared if pol_j > 0 else g] (+ g⁻); W = scale·(W⁺ − W⁻) (Ambrogio et al. 2018, Fig. 1)."""
        F = np.float32(self.cfg.F)
        take = (lambda a: a.reshape(-1)) if flat is None else (lambda a: a.reshape(-1)[flat])
        wp, wn = F * take(self.Pe[0]), F * take(self.Pe[1])
        if self.synapse == "2pcm+3t1c":
            col = (np.arange(self.W.size) if flat is None else flat) % self.n_out
            pos = self.pol[col] > 0
            g, gs = take(self.g), self.g_shared[col]
            wp, wn = wp + np.where(pos, g, gs), wn + np.where(pos, gs, g)
        elif self.synapse == "4pcm":
            wp, wn = wp + take(self.Pe[2]), wn + take(self.Pe[3])
        return wp, wn

    def _wf_of(self, flat: np.ndarray | None) -> np.ndarray:
        """Forward-read weights with the line gains, scale·(κ⁺_j·W⁺ − κ⁻_j·W⁻) at flat indices (network
        units; PeripheryConfig.integrator_lag)."""
        wp, wn = self._lines_of(flat)
        col = (np.arange(self.W.size) if flat is None else flat) % self.n_out
        return np.float32(self.scale) * (self.kappa_p[col] * wp - self.kappa_n[col] * wn)

    def _refresh_lines(self) -> None:
        """Recompute the integrator lag of every line from the device state (PeripheryConfig.integrator_lag):
        κ = :func:`pycosim.devices.integrator.lag_gain` of the line totals G_L⁺_j = Σ_i W⁺_ij, G_L⁻_j = Σ_i W⁻_ij
        (column pair j, forward) and G_L,i = Σ_j (W⁺_ij + W⁻_ij) (row i, transposed), the forward matrix Wf,
        and the digital compensation 1/κ̂ (PeripheryConfig.lag_compensation)."""
        if not self._lag:
            self.Wf = self.W
            self.kappa_p = self.kappa_n = self.kappa_r = None
            self._kg = self._kns = self._cf = self._cb = self._kr = None
            return
        wp, wn = self._lines_of(None)
        wp, wn = wp.reshape(self.shape), wn.reshape(self.shape)
        c, gbw = self.integ.cint_F, self.integ.gbw_Hz
        kp = integrator.lag_gain(wp.sum(0, dtype=np.float64), c, gbw).astype(np.float32)
        kn = integrator.lag_gain(wn.sum(0, dtype=np.float64), c, gbw).astype(np.float32)
        kr = integrator.lag_gain(wp.sum(1, dtype=np.float64) + wn.sum(1, dtype=np.float64), c, gbw).astype(np.float32)
        self.kappa_p, self.kappa_n, self.kappa_r = kp, kn, kr
        self.Wf = (np.float32(self.scale) * (kp * wp - kn * wn)).astype(np.float32)
        self._kg = (np.where(self.pol > 0, kp, kn).astype(np.float32) if self.synapse == "2pcm+3t1c"
                    else None)
        self._kns = ((kp + kn) * np.float32(0.5)).astype(np.float32)
        self._kr = kr
        comp = getattr(self.cfg.periphery, "lag_compensation", True)
        self._cf = (np.float32(1) / self._kns).astype(np.float32) if comp else None
        self._cb = (np.float32(1) / kr).astype(np.float32) if comp else None

    def _s_of(self, flat: np.ndarray | None) -> np.ndarray:
        F2, s2 = np.float32(self.cfg.F ** 2), np.float32(self.scale ** 2)
        v = F2 * (self._pcm_var(0, flat) + self._pcm_var(1, flat))
        if self.synapse == "4pcm":
            v = v + self._pcm_var(2, flat) + self._pcm_var(3, flat)
        v = s2 * v
        if self.synapse == "2pcm+3t1c":
            v = v + self._lsp_var(flat)
        return v

    def _refresh(self, flat: np.ndarray) -> None:
        """Recompute the cached W (and S) at flat synapse indices from the device state."""
        self.W.reshape(-1)[flat] = self._w_of(flat)
        if self._lag:
            self.Wf.reshape(-1)[flat] = self._wf_of(flat)
        if self.S is not None:
            self.S.reshape(-1)[flat] = self._s_of(flat)

    def _refresh_all(self) -> None:
        self.W = self._w_of(None).reshape(self.shape).astype(np.float32)
        if self.S is not None:
            self.S = np.broadcast_to(self._s_of(None), (self.W.size,)).reshape(self.shape).astype(np.float32)
        self._refresh_lines()

    # ------------------------------------------------------------------ reads
    def set_devices(self, *, P=None, V=None, pol=None) -> None:
        """Place the devices in given states (e.g. to mirror a SPICE netlist, issue 11) and rebuild the
        caches: P (k, n_in, n_out) programmed PCM conductances (S), V (n_in, n_out) 3T1C V_C (V), pol (n_out,)
        ±1. The device instances (P_inst, V_inst, g_shared) stay as drawn."""
        if self.synapse == "ideal":
            raise ConfigError("set_devices: the 'ideal' synapse has no devices; use program(W)")
        if P is not None:
            P = np.asarray(P, np.float32)
            if P.shape != self.P.shape:
                raise ConfigError(f"set_devices: P must have shape {self.P.shape}, got {P.shape}")
            self.P = P.copy()
            self.P_since[...] = self.pcm_pop.c2c_by_pulse_S.shape[0]      # history unknown: steady-state c2c
            self.Pe = self.P.copy() if self.P_tprog is not None else self.P
            if self.P_tprog is not None:
                self.P_tprog[...] = self.t_s
                self.P_drift = pcm.drift_params(self.P, self.P_inst, self.pcm_pop)
        if self.synapse == "2pcm+3t1c":
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
        elif V is not None or pol is not None:
            raise ConfigError(f"set_devices: V and pol exist only for '2pcm+3t1c' (this is {self.synapse!r})")
        self._refresh_all()

    @property
    def full_scale(self) -> tuple[float, float]:
        """(forward, backward) network-unit outputs that reach the integrator's linear range."""
        if self.synapse == "ideal":
            return (float("inf"), float("inf"))
        return tuple(float(self.integ.q_linear_max_C * self.scale / (self.read_v_V * ch.t_x1_s))
                     for ch in (self.fwd, self.bwd))

    def weights(self) -> np.ndarray:
        """Copy of the effective weights (network units, float32, (n_in, n_out)), noise-free."""
        return self.W.copy()

    def lsp_contribution(self) -> np.ndarray:
        """LSP part of W (network units): scale·pol·(g − g_shared) ('2pcm+3t1c'), scale·(g⁺ − g⁻) ('4pcm'), else 0."""
        if self.synapse == "2pcm+3t1c":
            return np.float32(self.scale) * self.pol * (self.g - self.g_shared)
        if self.synapse == "4pcm":
            return np.float32(self.scale) * (self.Pe[2] - self.Pe[3])
        return np.zeros(self.shape, np.float32)

    def forward(self, x) -> np.ndarray:
        """y = ADC∘integrator(x̂·W + read noise) (n_out,), float32; x: (n_in,) activations, |x| ≤ 1
        (larger values saturate the PWM). Equations: :mod:`pycosim.array.periphery`. 'ideal': y = x·W."""
        return self._forward(_as_vector(x, self.n_in, "forward: x"))

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` without the argument checks (x: (n_in,) float32, finite)."""
        if self.synapse == "ideal":
            return x @ self.W
        y, var = np.empty(self.n_out, np.float32), np.empty(self.n_out, np.float32)
        z_dev, z_int = self._normals(self.n_out, self.fwd)
        kernels.read_rows(x, self._levels, self.Wf, self.S if self.S is not None else _EMPTY_2D,
                          self.cfg.pcm.read_noise, self._kfwd, z_dev, y, var,
                          self._kns if self._lag else _EMPTY_F32)
        self.counters.reads_forward += 1
        self.counters.integrations_forward += self.n_out
        out = self.fwd.convert(y, None, z_int)
        if self._cf is not None:
            out *= self._cf
        return out

    def backward(self, delta) -> np.ndarray:
        """Transposed read, d = m·ADC∘integrator(W·δ̂ + read noise) (n_in,), float32, with δ̂ = PWM(δ/m) and
        m = max|δ| (periphery.normalize_backward; else m = 1 and |δ| ≤ 1); signed PWM: the sign is on the
        read voltage. 'ideal': d = W·δ."""
        return self._backward(_as_vector(delta, self.n_out, "backward: delta"))

    def _backward(self, d: np.ndarray) -> np.ndarray:
        """:meth:`backward` without the argument checks (d: (n_out,) float32, finite)."""
        if self.synapse == "ideal":
            return self.W @ d
        m = np.float32(np.abs(d).max()) if self.cfg.periphery.normalize_backward else np.float32(1)
        if m == 0:
            m = np.float32(1)
        y = np.empty(self.n_in, np.float32)
        z_dev, z_int = self._normals(self.n_in, self.bwd)
        kernels.read_cols(d * (np.float32(1) / m), self._levels, self.W,
                          self.S if self.S is not None else _EMPTY_2D, self.cfg.pcm.read_noise, self._kbwd,
                          z_dev, y)
        self.counters.reads_backward += 1
        self.counters.integrations_backward += self.n_in
        if self._lag:
            y *= self._kr
        out = self.bwd.convert(y, None, z_int)
        if self._cb is not None:
            out *= self._cb
        out *= m
        return out

    def _normals(self, n: int, ch: ReadChannel) -> tuple[np.ndarray, np.ndarray]:
        """The N(0, 1) a read of n lines needs, in one draw: (device read noise: n or none, integrator output
        noise: n or none)."""
        k_dev = n if self.S is not None else 0
        k = k_dev + (n if ch.noise_V else 0)
        if k == 0:
            return _EMPTY_F32, _EMPTY_F32
        z = self.rng.standard_normal(k, dtype=np.float32)
        return z[:k_dev], z[k_dev:]

    # ------------------------------------------------------------------ update
    # ------------------------------------------------------------------ random-number buffers
    _UBUF = 1 << 16
    _ZBUF = 1 << 18

    def _trains_work(self) -> None:
        if self._ws is None:
            self._ws = np.zeros(self.W.size, np.int32)
            self._out_flat = np.empty(self.W.size, np.int64)
            self._out_n = np.empty(self.W.size, np.int32)

    def _uniforms(self, k: int, room: int = 0) -> np.ndarray:
        """The next k U[0, 1) float32 of the layer's buffer, which is topped up from self.rng (unused
        numbers kept, in order) when fewer than max(k, room) are left; the buffer is part of the state, so
        runs (and resumed runs) stay reproducible from the seed."""
        self._ubuf, self._upos = self._top_up(self._ubuf, self._upos, max(k, room), self._UBUF, self.rng.random)
        out = self._ubuf[self._upos:self._upos + k]
        self._upos += k
        return out

    def _normals_c2c(self, k: int, room: int = 0) -> np.ndarray:
        """The next k N(0, 1) float32 for 3T1C cycle-to-cycle noise (buffered like :meth:`_uniforms`)."""
        self._zbuf, self._zpos = self._top_up(self._zbuf, self._zpos, max(k, room), self._ZBUF,
                                              self.rng.standard_normal)
        out = self._zbuf[self._zpos:self._zpos + k]
        self._zpos += k
        return out

    @staticmethod
    def _top_up(buf, pos: int, need: int, size: int, draw):
        if buf is not None and buf.size - pos >= need:
            return buf, pos
        left = buf[pos:] if buf is not None else _EMPTY_F32
        fresh = draw(max(size, 4 * need) - left.size, dtype=np.float32)
        return np.concatenate([left, fresh]), 0

    def pulse_counts(self, x: np.ndarray, d: np.ndarray, lr: float):
        """Coincident pulse counts of an update, see :meth:`_counts` (copies of its arrays)."""
        flat, n = self._counts(x, d, lr)
        return flat.copy(), n.copy()

    def _counts(self, x: np.ndarray, d: np.ndarray, lr: float):
        """Coincident pulse counts of an update (sparse): returns (flat synapse indices int64, signed counts
        int32 in the weight direction), for the desired n_ij = −lr·x_i·δ_j/Δw_pulse:

        * 'deterministic': nearest integer of n_ij;
        * 'stochastic': floor(n_ij + u), u ~ U[0, 1) per synapse (unbiased stochastic rounding);
        * 'trains': stochastic pulse trains of length BL = max_pulses on every row and column (Gokmen &
          Vlasov, Front. Neurosci. 10, 333 (2016); Burr et al., IEEE TED 62, 3498 (2015)): row i fires in
          each slot with probability p_i = min(1, |x_i|·s_x), column j with q_j = min(1, |δ_j|·s_δ),
          s_x·s_δ = lr/(Δw_pulse·BL), s_x/s_δ = max|δ|/max|x| (balanced); a synapse gets one pulse per
          coincidence, E[n_ij] = BL·p_i·q_j = n_ij (when unclipped). Only BL·(rows + cols) random numbers.

        |n| ≤ max_pulses. Only rows with x_i ≠ 0 and columns that can get a pulse are formed (for
        deterministic rounding: max_i |lr·x_i·δ_j| ≥ Δw_pulse/2)."""
        uc = self.cfg.update
        c = np.float32(lr / self.dw_pulse)
        rows = np.flatnonzero(x)
        empty = np.zeros(0, np.int64), np.zeros(0, np.int32)
        if rows.size == 0 or c == 0:
            return empty
        xr = x[rows]
        ad = np.abs(d)
        if uc.rounding == "deterministic":
            cols = np.flatnonzero(ad * (c * np.abs(xr).max()) >= 0.5)
        else:
            cols = np.flatnonzero(ad)
        if cols.size == 0:
            return empty
        if uc.rounding == "trains":
            bl = uc.max_pulses
            self._trains_work()
            self._uniforms(0, room=bl * (self.n_in + self.n_out))     # as the fused update does
            u_r = self._uniforms(rows.size * bl).reshape(rows.size, bl)
            u_c = self._uniforms(bl * cols.size).reshape(bl, cols.size)
            m = kernels.trains_counts(x, d, rows, cols, np.float32(c / bl), u_r, u_c, self.n_out, self._ws,
                                      self._out_flat, self._out_n)
            return self._out_flat[:m], self._out_n[:m]     # ascending synapse index; views of work arrays
        else:
            p = np.multiply.outer(xr * -c, d[cols])
            if uc.rounding == "deterministic":
                n = np.rint(p)
            else:
                n = np.floor(p + self.rng.random(p.shape, dtype=np.float32))
            np.clip(n, -uc.max_pulses, uc.max_pulses, out=n)
        nz = np.flatnonzero(n)
        if nz.size == 0:
            return empty
        ri, ci = np.divmod(nz, cols.size)
        flat = rows[ri].astype(np.int64) * self.n_out + cols[ci]
        return flat, n.reshape(-1)[nz].astype(np.int32)

    def update(self, x, delta, lr: float) -> None:
        """SGD step ΔW = −lr·x⊗δ by coincident pulses on the LSP only (see :meth:`pulse_counts`).

        '2pcm+3t1c': n pulses on the 3T1C cell, up where n·pol_j > 0, down otherwise
        (:func:`pycosim.devices.lsp.step_signed`); '4pcm': |n| SET pulses on g⁺ (n > 0) or g⁻ (n < 0),
        then RESET-and-reprogram of pairs past saturation_frac·G_max; '2pcm': the same on G⁺/G⁻;
        'ideal': W += ΔW exactly. x: (n_in,), delta: (n_out,), lr ≥ 0.
        """
        x = _as_vector(x, self.n_in, "update: x")
        d = _as_vector(delta, self.n_out, "update: delta")
        if not (lr >= 0 and np.isfinite(lr)):
            raise ConfigError(f"update: lr={lr} must be a finite number ≥ 0")
        self._update(x, d, lr)

    def _update(self, x: np.ndarray, d: np.ndarray, lr: float) -> None:
        """:meth:`update` without the argument checks (x: (n_in,), d: (n_out,) float32, finite; lr ≥ 0)."""
        if self.synapse == "ideal":
            if lr:
                self.W -= np.multiply.outer(x * np.float32(lr), d)
            return
        if self.synapse == "2pcm+3t1c":
            self._update_lsp(x, d, lr)
            return
        flat, n = self.pulse_counts(x, d, lr)
        if flat.size == 0:
            return
        base = 2 if self.synapse == "4pcm" else 0
        d_idx = np.where(n > 0, base, base + 1)
        self._set(d_idx, flat, np.abs(n), counter="pcm_update_set_pulses")
        self._saturation_refresh(flat, base)
        self._refresh(flat)

    def _update_lsp(self, x: np.ndarray, d: np.ndarray, lr: float) -> None:
        """'2pcm+3t1c' update: counts from :meth:`_counts`, applied by :func:`kernels.lsp_update` ('trains':
        both in one call, :func:`kernels.lsp_trains_update`, drawing from the same buffers in the same order)."""
        lp, lc = self.lsp_pop, self.cfg.lsp
        c2c = lc.c2c_scale > 0 and (lp.dv_up_c2c_V > 0 or lp.dv_down_c2c_V > 0)
        seg = self._leak_cache["seg"].reshape(-1) if self._leak_cache is not None else _EMPTY_I16
        noise = self.S is not None and lc.read_noise
        if self._lsp_kargs is None:   # the constant table arguments of the kernel, built once
            self._lsp_kargs = (
                self._step_tab.reshape(-1), lp.step_grid_V.shape[0], np.float32(lp.step_grid_V[0]),
                np.float32(1.0 / (lp.step_grid_V[1] - lp.step_grid_V[0])), lp.g_of_vc_S.reshape(-1),
                lp.vc_grid_V.shape[0], np.float32(lp.vc_grid_V[0]),
                np.float32(1.0 / (lp.vc_grid_V[1] - lp.vc_grid_V[0])), np.float32(lp.v_min_V),
                np.float32(lp.v_max_V), np.float32(lp.dv_up_c2c_V * lc.c2c_scale),
                np.float32(lp.dv_down_c2c_V * lc.c2c_scale))
        state = (self.V.reshape(-1), self.g.reshape(-1), self.W.reshape(-1),
                 self.Wf.reshape(-1) if self._lag else _EMPTY_F32, self._kg if self._lag else _EMPTY_F32,
                 self.S.reshape(-1) if noise else _EMPTY_F32, self.V_inst.reshape(-1), self.pol, self.n_out, lp.n)
        tail = (np.float32(self.scale), self._lsp_var_tab.reshape(-1) if noise else _EMPTY_F32, seg)
        uc = self.cfg.update
        if uc.rounding == "trains":
            c = lr / self.dw_pulse
            if c == 0:
                return
            bl = uc.max_pulses
            self._trains_work()
            self._uniforms(0, room=bl * (self.n_in + self.n_out))
            if c2c:
                self._normals_c2c(0, room=self.W.size)
            zbuf = self._zbuf if c2c else _EMPTY_F32
            up, dn, self._upos, self._zpos = kernels.lsp_trains_update(
                x, d, np.float32(c / bl), bl, self._ubuf, self._upos, self._ws, self._out_flat, self._out_n,
                zbuf, self._zpos, c2c, *state, *self._lsp_kargs, *tail)
        else:
            flat, n = self._counts(x, d, lr)
            if flat.size == 0:
                return
            z = self._normals_c2c(flat.size, room=self.W.size) if c2c else _EMPTY_F32
            up, dn = kernels.lsp_update(flat, n, *state, *self._lsp_kargs, z, *tail)
        self.counters.lsp_up_pulses += int(up)
        self.counters.lsp_down_pulses += int(dn)

    # ------------------------------------------------------------------ PCM helpers
    def _set(self, d_idx: np.ndarray, flat: np.ndarray, n: np.ndarray, counter: str) -> None:
        """SET pulses n on PCM devices (type d_idx, synapse flat); stuck devices do not move."""
        N = self.W.size
        dev = d_idx.astype(np.int64) * N + flat
        Pf, If = self.P.reshape(-1), self.P_inst.reshape(-1)
        stuck = self.P_stuck.reshape(-1)[dev] if self.P_stuck is not None else None
        Cf = self.P_since.reshape(-1)
        Pf[dev], Cf[dev] = pcm.set_pulses(Pf[dev], n, If[dev], self.pcm_pop, self.rng, since=Cf[dev],
                                          c2c_scale=self.cfg.pcm.c2c_scale, stuck=stuck)
        setattr(self.counters, counter, getattr(self.counters, counter) + int(n.sum()))
        sc = self.counters.pcm_sets_per_device
        if sc.size:      # devices of one call are distinct (one per synapse and type)
            moved = n > 0 if stuck is None else (n > 0) & ~stuck
            sc.reshape(-1)[dev[moved]] += n[moved].astype(np.uint32)
        self._programmed(dev)

    def _reset(self, dev: np.ndarray, counter: str) -> None:
        """RESET PCM devices (flat device indices into P), count them, apply endurance."""
        Pf, If = self.P.reshape(-1), self.P_inst.reshape(-1)
        stuck = self.P_stuck.reshape(-1)[dev] if self.P_stuck is not None else None
        Pf[dev] = pcm.reset(Pf[dev], np.ones(dev.shape, bool), If[dev], self.pcm_pop, stuck=stuck)
        self.P_since.reshape(-1)[dev] = 0 if stuck is None else np.where(stuck, self.P_since.reshape(-1)[dev], 0)
        rc = self.counters.pcm_resets_per_device.reshape(-1)
        np.add.at(rc, dev, 1)
        setattr(self.counters, counter, getattr(self.counters, counter) + int(dev.size))
        lim = self.cfg.pcm.endurance_resets
        if lim:
            worn = dev[rc[dev] > lim]
            if worn.size:
                if self.P_stuck is None:
                    self.P_stuck = np.zeros(self.P.shape, bool)
                self.P_stuck.reshape(-1)[worn] = True
        self._programmed(dev)

    def _programmed(self, dev: np.ndarray) -> None:
        """Devices *dev* (flat indices into P) were just programmed: restart their drift clock; their drift
        constants at the new level are recomputed (in one batch) by the next :meth:`refresh_drift`."""
        if self.P_tprog is not None:
            self.P_tprog.reshape(-1)[dev] = self.t_s
            self.Pe.reshape(-1)[dev] = self.P.reshape(-1)[dev]
            self._drift_dirty.reshape(-1)[dev] = True     # drift constants recomputed at the next refresh

    def _saturation_refresh(self, flat: np.ndarray, base: int) -> None:
        """RESET both devices of pairs (base, base+1) whose larger device passed saturation_frac·G_max, then
        program the pair's difference back open-loop onto one device (mean-device pulse count)."""
        N = self.W.size
        Pf, If = self.P.reshape(-1), self.P_inst.reshape(-1)
        dp, dm = base * N + flat, (base + 1) * N + flat
        gmax = self.pcm_pop.g_max_S
        sat = (Pf[dp] > self.cfg.pcm.saturation_frac * gmax[If[dp]]) | (Pf[dm] > self.cfg.pcm.saturation_frac * gmax[If[dm]])
        if not sat.any():
            return
        f = flat[sat]
        diff = Pf[dp[sat]] - Pf[dm[sat]]
        self._reset(np.concatenate([dp[sat], dm[sat]]), "pcm_update_resets")
        pos = diff >= 0
        d_idx = np.where(pos, base, base + 1)
        dev = d_idx.astype(np.int64) * N + f
        g0 = Pf[dev]
        n = pcm.open_loop_pulses(g0, g0 + np.abs(diff), self.pcm_pop.dg_fit, self.cfg.transfer.max_pulses)
        self._set(d_idx, f, n, counter="pcm_update_reprogram_set_pulses")

    # ------------------------------------------------------------------ time
    def leak(self, dt_s: float) -> None:
        """Let dt_s of hardware time pass: 3T1C leakage (exact piecewise-linear closed form per cell,
        :func:`pycosim.devices.lsp.leak`; deferred up to lsp.leak_batch_s) and PCM drift (cached weights
        re-evaluated every pcm.drift_refresh_s). Counters: sim_time_s."""
        if not (np.isfinite(dt_s) and dt_s >= 0):
            raise ConfigError(f"leak: dt_s={dt_s} must be a finite time ≥ 0 (s)")
        self.t_s += dt_s
        self.counters.sim_time_s += dt_s
        if self.synapse == "ideal":
            return
        if self.synapse == "2pcm+3t1c" and self.cfg.lsp.leak:
            self._leak_pending += dt_s
            if self._leak_pending > 0 and self._leak_pending >= self.leak_batch_s * (1 - 1e-9):
                self._apply_leak(self._leak_pending)
                self._leak_pending = 0.0
        if self.P_tprog is not None and self.t_s - self._t_drift >= self.cfg.pcm.drift_refresh_s:
            self.refresh_drift()

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

    def flush_leak(self) -> None:
        """Apply any deferred leakage now (called before transfers)."""
        if self.synapse == "2pcm+3t1c" and getattr(self, "_leak_pending", 0.0) > 0:
            self._apply_leak(self._leak_pending)
            self._leak_pending = 0.0

    def _apply_leak(self, dt: float) -> None:
        """V ← E·V + A with per-cell factors of the cell's current leakage segment, cached for this dt;
        cells that leave their segment (or were pulsed since) are recomputed exactly by lsp.leak."""
        lp = self.lsp_pop
        cache = self._leak_cache
        if cache is None or cache["dt"] != dt:
            E, A = lsp.leak_tables(dt, lp)
            seg = lsp.leak_segment(self.V, lp).astype(np.int16)
            k = self.V_inst.astype(np.int64) * E.shape[1] + seg
            cache = self._leak_cache = {"dt": dt, "E": E.reshape(-1), "A": A.reshape(-1), "seg": seg,
                                        "e": E.reshape(-1)[k].astype(np.float32), "a": A.reshape(-1)[k].astype(np.float32)}
        segf = cache["seg"].reshape(-1)
        var_old = self._lsp_var(None) if self.S is not None and self.cfg.lsp.read_noise else None
        stale = np.flatnonzero(segf < 0)
        if stale.size:
            self._leak_resegment(stale, dt)
        v_new = self.V * cache["e"] + cache["a"]
        seg_new = lsp.leak_segment(v_new, lp)
        moved = np.flatnonzero(seg_new.reshape(-1) != segf)
        if moved.size:
            v_new.reshape(-1)[moved] = lsp.leak(self.V.reshape(-1)[moved], dt, self.V_inst.reshape(-1)[moved], lp)
        np.clip(v_new, lp.v_min_V, lp.v_max_V, out=v_new)
        self.V = v_new
        if moved.size:
            self._leak_resegment(moved, dt)
        g_old = self.g
        self.g = lsp.g_of_vc(self.V, self.V_inst, lp)
        dw = np.float32(self.scale) * self.pol * (self.g - g_old)
        self.W += dw
        if self._lag:
            self.Wf += dw * self._kg
        if self.S is not None and self.cfg.lsp.read_noise:
            self.S += (self._lsp_var(None) - var_old).reshape(self.shape)

    def _leak_resegment(self, flat: np.ndarray, dt: float) -> None:
        cache, lp = self._leak_cache, self.lsp_pop
        seg = lsp.leak_segment(self.V.reshape(-1)[flat], lp)
        k = self.V_inst.reshape(-1)[flat].astype(np.int64) * (lp.leak_vc_V.shape[0] - 1) + seg
        cache["seg"].reshape(-1)[flat] = seg
        cache["e"].reshape(-1)[flat] = cache["E"][k]
        cache["a"].reshape(-1)[flat] = cache["A"][k]

    def refresh_drift(self) -> None:
        """Re-evaluate PCM drift of every device at the current time, Pe = drift(P, t − t_prog)
        (:func:`pycosim.devices.pcm.drift`); t_prog is the time of the device's last SET or RESET."""
        if self.P_tprog is None:
            return
        dirty = np.flatnonzero(self._drift_dirty)
        if dirty.size:
            ln_r, nu = pcm.drift_params(self.P.reshape(-1)[dirty], self.P_inst.reshape(-1)[dirty], self.pcm_pop)
            self.P_drift[0].reshape(-1)[dirty] = ln_r
            self.P_drift[1].reshape(-1)[dirty] = nu
            self._drift_dirty.reshape(-1)[dirty] = False
        self.Pe = pcm.drift_with(self.P, self.t_s - self.P_tprog, *self.P_drift, self.pcm_pop)
        self._t_drift = self.t_s
        self._refresh_all()

    @property
    def scheme(self):
        """The :class:`pycosim.array.schemes.SchemeInfo` of this layer's synapse scheme (what it has:
        analog devices, an LSP, a polarity bit, its PCM device roles)."""
        from pycosim.array import schemes
        return schemes.info(self.synapse)

    # ------------------------------------------------------------------ run state (checkpoints)
    STATE_VERSION = 1
    _STATE_ARRAYS = ("W", "Wf", "S", "P", "P_since", "P_stuck", "P_tprog", "Pe", "P_drift", "_drift_dirty", "V", "g",
                     "pol", "kappa_p", "kappa_n", "kappa_r", "_kg", "_kns", "_cf", "_cb", "_kr", "_ubuf", "_zbuf")
    _STATE_SCALARS = ("t_s", "_t_drift", "_leak_pending", "_upos", "_zpos")

    def state(self) -> dict:
        """The layer's mutable state as plain data (for checkpoints; no pickle): ``{'version': int,
        'scheme': str, 'shape': [n_in, n_out], 'rng': the generator's bit_generator.state (JSON-able dict),
        'counters': {name: int | float}, 'arrays': {name: ndarray}, 'scalars': {name: int | float}}``.
        Everything else (device instances, populations, periphery mismatch) is rebuilt identically from the
        config, bundle and seed, so ``Crossbar(same args).set_state(xb.state())`` continues bit for bit."""
        arrays = {}
        for k in self._STATE_ARRAYS:
            v = self.__dict__.get(k)
            if v is None or (k == "Wf" and v is self.W):
                continue
            arrays[k] = np.asarray(v)
        cnt = {f: getattr(self.counters, f) for f in self.counters.__dataclass_fields__}
        for k in ("pcm_resets_per_device", "pcm_sets_per_device"):
            arrays["counters." + k] = cnt.pop(k)
        return {"version": self.STATE_VERSION, "scheme": self.synapse, "shape": [self.n_in, self.n_out],
                "rng": self.rng.bit_generator.state, "counters": cnt, "arrays": arrays,
                "scalars": {k: self.__dict__[k] for k in self._STATE_SCALARS if k in self.__dict__}}

    def set_state(self, state: dict) -> None:
        """Restore :meth:`state` into this layer (built with the same config, bundle and seed). ConfigError
        (one line) on another version, scheme or shape."""
        if not isinstance(state, dict) or state.get("version") != self.STATE_VERSION:
            got = state.get("version") if isinstance(state, dict) else type(state).__name__
            raise ConfigError(f"crossbar state version {got!r} is not supported (reads version {self.STATE_VERSION})")
        if state.get("scheme") != self.synapse or list(state.get("shape", ())) != [self.n_in, self.n_out]:
            raise ConfigError(f"crossbar state of {state.get('scheme')!r} {state.get('shape')} does not fit this "
                              f"{self.synapse!r} layer ({self.n_in}, {self.n_out})")
        arrays = dict(state["arrays"])
        for k in ("pcm_resets_per_device", "pcm_sets_per_device"):
            if "counters." + k in arrays:
                setattr(self.counters, k, np.array(arrays.pop("counters." + k)))
        for k, v in state["counters"].items():
            setattr(self.counters, k, v)
        for k in self._STATE_ARRAYS:
            if k in self.__dict__:
                self.__dict__[k] = np.array(arrays[k]) if k in arrays else None
        for k, v in state["scalars"].items():
            self.__dict__[k] = v
        if self.__dict__.get("Wf") is None:
            self.Wf = self.W
        if self.__dict__.get("_leak_cache") is not None:
            self._leak_cache = None
        self.rng.bit_generator.state = state["rng"]

    def set_weights(self, W_target, mode: str | None = None, **overrides):
        """Program the array to weights W_target ((n_in, n_out), network units, float32).

        mode 'closed' / 'open' (default: the config's transfer.mode): tuning of the MSP pair by the transfer
        engine (:func:`pycosim.array.transfer.program`), returns its TransferStats; 'ideal' layers store W
        exactly. mode 'exact': the read matrix becomes W_target as given and the device read noise is
        switched off — for inference models that compute the conductances themselves
        (:mod:`pycosim.evaluate.statistical`); the devices are left as they are. Returns None."""
        if mode == "exact":
            W = np.asarray(W_target, np.float32)
            if W.shape != self.shape or not np.isfinite(W).all():
                raise ConfigError(f"set_weights: W_target must be finite with shape {self.shape}, got {W.shape}")
            self.W = np.ascontiguousarray(W.copy())
            self.Wf = self.W
            self._lag = False
            self._kns = self._kr = self._cf = self._cb = None
            if self.S is not None:
                self.S = np.zeros_like(self.S)
            return None
        return self.program(W_target, mode=mode, **overrides)

    def advance(self, dt_s: float, *, hold_lsp: bool = False, settle: bool = False) -> None:
        """Let dt_s seconds of hardware time pass: 3T1C leakage (exact closed form) and PCM drift.

        hold_lsp: the 3T1C capacitors are held at their value (transmission gate on), only the PCM drifts;
        settle: apply deferred leakage and re-evaluate the drift at the new time now (evaluation), instead
        of on the training schedule (lsp.leak_batch_s, pcm.drift_refresh_s)."""
        if not (np.isfinite(dt_s) and dt_s >= 0):
            raise ConfigError(f"advance: dt_s={dt_s} must be a finite time ≥ 0 (s)")
        if hold_lsp and self.synapse != "ideal":
            self.t_s += dt_s
            self.counters.sim_time_s += dt_s
        else:
            self.leak(dt_s)
        if settle and self.synapse != "ideal":
            self.flush_leak()
            self.refresh_drift()

    def reseed(self, rng: np.random.Generator) -> None:
        """Draw every later random number of this layer from *rng* (buffered numbers are dropped)."""
        self.rng = rng
        self._ubuf = self._zbuf = None
        self._upos = self._zpos = 0

    def devices(self) -> dict:
        """Copies of the device state, for plots, reports and validation: 'G_S' (k, n_in, n_out) PCM
        conductances as read now (drifted), 'G_prog_S' as programmed, 'pcm_instance' (k, n_in, n_out) int32
        SPICE instance of each device, 'g_max_S' (k, n_in, n_out) each device's G_max; for schemes with
        3T1C cells also 'V_C_V' (n_in, n_out), 'g_S' (n_in, n_out) read-FET conductance, 'g_shared_S'
        (n_out,), 'pol' (n_out,). Empty for 'ideal'."""
        if self.synapse == "ideal":
            return {}
        out = {"G_S": self.Pe.copy(), "G_prog_S": self.P.copy(), "pcm_instance": self.P_inst.copy(),
               "g_max_S": self.pcm_pop.g_max_S[self.P_inst]}
        if self.scheme.polarity:
            out |= {"V_C_V": self.V.copy(), "g_S": self.g.copy(), "g_shared_S": self.g_shared.copy(),
                    "pol": self.pol.copy()}
        return out

    # ------------------------------------------------------------------ transfer / programming
    def invert_polarity(self, cols=None) -> None:
        """Flip the polarity bit of columns *cols* (default all): pol_j ← −pol_j; W is recomputed there
        (the LSP contribution pol·(g − g_shared) changes sign)."""
        if self.synapse != "2pcm+3t1c":
            raise ConfigError(f"invert_polarity: only synapse '2pcm+3t1c' has a polarity bit (this is {self.synapse!r})")
        cols = np.arange(self.n_out) if cols is None else np.atleast_1d(np.asarray(cols, np.int64))
        self.pol[cols] *= -1
        flat = (np.arange(self.n_in)[:, None] * self.n_out + cols[None, :]).ravel()
        self._refresh(flat)
        self._refresh_lines()

    def transfer(self, cols=None, **overrides):
        """Move LSP contributions into the MSP pair (see :func:`pycosim.array.transfer.transfer`)."""
        from pycosim.array.transfer import transfer
        return transfer(self, cols, **overrides)

    def program(self, W_target, mode: str | None = None, **overrides):
        """Program the whole array to weights *W_target* (n_in, n_out) by closed- or open-loop tuning of
        the MSP pair (LSP reset first). See :func:`pycosim.array.transfer.program`."""
        from pycosim.array.transfer import program
        return program(self, W_target, mode=mode, **overrides)
