"""What every analog scheme shares: the PCM devices, the read periphery, read noise, drift and programming.

:class:`AnalogCrossbar` implements the :class:`pycosim.array.crossbar.Crossbar` protocol for synapses built
from PCM devices read through line integrators; a scheme adds its less-significant part (LSP) through the
hooks ``_lsp_*`` and its update (``_update``). Weights (network units):

    W = scale·[F·(G⁺ − G⁻) + LSP],   scale = weight_max/(F·(mean G_max − mean RESET floor))

so the full MSP range maps to ±weight_max.

State (shapes (k, n_in, n_out), k = PCM devices per synapse; float32 unless noted):
    P: programmed PCM conductances (S): k = 0 G⁺, 1 G⁻ (and the scheme's LSP devices after them);
    P_since: int32 SET pulses since each device's last RESET (selects its c2c residuals);
    P_inst: int32 SPICE instance of each device; P_stuck: bool or None;
    P_tprog: float64 time of each device's last SET or RESET (s; None without drift); Pe: drifted values
    used by reads; P_drift: (k, n_in, n_out) float32 per-device level coordinate of the drift curve
    (:func:`pycosim.devices.pcm.drift_params`).
Caches, updated incrementally on the cells an operation touches:
    W: (n_in, n_out) effective weights (network units, drifted PCM values at the last drift refresh);
    Wf: forward-read matrix (W, or with the integrator lag κ: PeripheryConfig.integrator_lag);
    S: (n_in, n_out) Σ_devices σ²_read·t_bench (network units²·s), the read-noise variance density.
Drift compensation (PeripheryConfig.drift_compensation ≠ 'none'; else all None), m = n_out ('column') or 1
('layer') groups of r = drift_ref_devices reference PCM devices:
    R: (m, r) programmed conductances (S); R_inst (m, r) their instances; R_tprog (m, r) float64 programming
    times; R_drift (m, r) their drift level coordinates; R_prog (m,) Σ of their reads the closed loop's verify
    delay after programming (S; 0 = never programmed, gain 1); dc_gain (m,) the gain ĝ = R_prog/Σ reads at the last
    drift refresh.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pycosim.array import kernels
from pycosim.array import transfer as tr
from pycosim.array.crossbar import Crossbar
from pycosim.array.periphery import ReadChannel
from pycosim.devices import assign_instances, integrator, pcm
from pycosim.errors import ConfigError

_EMPTY_F32 = np.zeros(0, np.float32)
_EMPTY_2D = np.zeros((0, 1), np.float32)


class AnalogCrossbar(Crossbar):
    """Base of the PCM-based schemes (module docstring). Subclasses set N_PCM and implement ``_update``
    and, if they have an LSP, the ``_lsp_*`` hooks."""

    N_PCM = 2
    _STATE_ARRAYS = ("W", "Wf", "S", "P", "P_since", "P_stuck", "P_tprog", "Pe", "P_drift", "_drift_dirty",
                     "P_life", "P_fail_hi",
                     "kappa_p", "kappa_n", "kappa_r", "_kg", "_kns", "_cf", "_cb", "_ubuf", "_zbuf",
                     "R", "R_tprog", "R_drift", "R_prog", "dc_gain", "_qoff_f", "_qoff_b", "_q_rows_f", "_q_cols_b")
    _STATE_SCALARS = ("t_s", "_t_drift", "_upos", "_zpos")
    #: Reads of one direction between two recomputations of the line-charge weights (:meth:`_refresh_line_q`)
    #: besides the line refreshes (drift refresh, transfer, programming): bounds how long the LSP updates and
    #: the update SET pulses of '2pcm'/'4pcm' stay out of the counted line charge (one recomputation costs about
    #: one read of the full array, so ≤ 1/256 of the read time).
    LINE_Q_REFRESH_READS = 256

    # ------------------------------------------------------------------ construction
    def _build(self, bundle) -> None:
        if bundle is None:
            from pycosim import calibration
            bundle = calibration.load()
        self.bundle = bundle
        c, rng, shape = self.cfg, self.rng, self.shape
        pc = c.pcm
        pop = pcm.population(bundle, drift=pc.drift, read_noise=pc.read_noise, d2d_scale=pc.d2d_scale,
                             drift_t_prog_s=pc.drift_t_prog_s, drift_t_on_s=pc.drift_t_on_s,
                             drift_scale=pc.drift_scale, drift_d2d_scale=pc.drift_d2d_scale)
        if pc.g_max_scale != 1.0:
            pop = dataclasses.replace(pop, g_max_S=(pop.g_max_S * pc.g_max_scale).astype(np.float32))
        self.pcm_pop = pp = pop
        self.scale = c.weight_max / (c.F * float(np.mean(pp.g_max_S) - np.mean(pp.g_reset_S)))
        k = self.N_PCM + self._bank_rows()
        self.P_inst = assign_instances((k,) + shape, pp.n, rng)
        self.P = pp.g_reset_S[self.P_inst]
        self.P_since = np.zeros((k,) + shape, np.int32)
        self.P_stuck = None
        if pc.stuck_reset_frac > 0 or pc.stuck_max_frac > 0:
            u = rng.random((k,) + shape)
            at_max = u < pc.stuck_max_frac
            at_reset = (u >= pc.stuck_max_frac) & (u < pc.stuck_max_frac + pc.stuck_reset_frac)
            self.P = np.where(at_max, pp.g_max_S[self.P_inst], self.P).astype(np.float32)
            self.P_stuck = at_max | at_reset
        self.P_tprog = np.zeros((k,) + shape, np.float64) if pc.drift else None
        self.Pe = self.P.copy() if pc.drift else self.P
        self.P_drift = pcm.drift_params(self.P, self.P_inst, pp) if pc.drift else None
        self._drift_dirty = np.zeros(self.P.shape, bool) if pc.drift else None
        self._t_drift = 0.0
        self._t_young = 0.0        # time of the latest programming event (cache; rebuilt from P_tprog on restore)
        self.counters.pcm_resets_per_device = np.zeros((k,) + shape, np.uint32)
        self.counters.pcm_sets_per_device = np.zeros((k,) + shape, np.uint32)
        self.counters.pcm_worn_per_device = np.zeros((k,) + shape, bool)
        self.counters.pcm_worn_at_s_per_device = (np.full((k,) + shape, np.inf, np.float32)
                                                  if pc.endurance_scale > 0 else np.zeros((0,), np.float32))
        self.counters.device_roles = self.device_roles()
        self._build_endurance(bundle)
        self._ubuf = self._zbuf = None
        self._upos = self._zpos = 0
        self._ws = None
        self._mean_drift_pop = None
        self._kg = None
        self._build_lsp(bundle)
        pe = c.periphery
        self.integ = integrator.params(bundle, noise=pe.integrator_noise)
        self.read_v_V = pe.read_v_V if pe.read_v_V is not None else float(bundle.scalars["lsp"]["read_v_V"])
        kw = dict(scale=self.scale, read_v_V=self.read_v_V, bits=pe.adc_bits, noise=pe.integrator_noise,
                  mismatch_scale=pe.mismatch_scale, rng=rng, t_read_s=pe.t_read_s)
        self.fwd = ReadChannel.build(self.n_out, self.integ, full_scale=pe.forward_full_scale, **kw)
        self.bwd = ReadChannel.build(self.n_in, self.integ, full_scale=pe.backward_full_scale, **kw)
        bits = pe.input_bits
        self._levels = np.float32((1 << bits) - 1 if bits is not None else 0)
        self._var_work = np.empty(self.n_out, np.float32)
        self._x_work = np.empty(self.n_in, np.float32)
        self._q_out = np.zeros(1, np.float64)
        self._q_rows_f = self._q_cols_b = None
        # line model (read matrix Wf ≠ W): the conveyors' hold error κ (PeripheryConfig.integrator_lag) and the
        # column read's per-line mismatch (mirror gains ε, conveyor offsets; mismatch_scale > 0)
        self._hold = bool(pe.integrator_lag and self.integ.g_in_S > 0)
        i = self.integ
        self._mirror = bool(pe.mismatch_scale > 0 and (i.eps_plus_std > 0 or i.eps_minus_std > 0 or i.vos_line_std_V > 0))
        self._lag = self._hold or self._mirror
        self._qoff_f = self._qoff_b = None
        self._noise = pc.read_noise or self._lsp_noise()
        self.S = np.zeros(shape, np.float32) if self._noise else None
        # read-noise law per read window (see noise_factor): 1/f when the PCM noise is on (it dominates)
        self._kfwd = np.float32(self.noise_factor(self.fwd.t_x1_s)) if self._noise else np.float32(0)
        self._kbwd = np.float32(self.noise_factor(self.bwd.t_x1_s)) if self._noise else np.float32(0)
        self._build_drift_refs()
        self._refresh_all()

    def _build_drift_refs(self) -> None:
        """The drift-compensation reference devices (module docstring), unprogrammed (at RESET, gain 1).
        Draws their instances from the layer's generator only when the compensation is on."""
        pe, pp = self.cfg.periphery, self.pcm_pop
        self._dc = pe.drift_compensation != "none"
        self._cfd = None
        self.R = self.R_inst = self.R_tprog = self.R_drift = self.R_prog = self.dc_gain = None
        if not self._dc:
            return
        m = self.n_out if pe.drift_compensation == "column" else 1
        self.R_inst = assign_instances((m, pe.drift_ref_devices), pp.n, self.rng)
        self.R = pp.g_reset_S[self.R_inst]
        self.R_tprog = np.zeros(self.R.shape, np.float64)
        self.R_drift = pcm.drift_params(self.R, self.R_inst, pp) if self.cfg.pcm.drift else None
        self.R_prog = np.zeros(m, np.float32)
        self.dc_gain = np.ones(m, np.float32)

    # ------------------------------------------------------------------ the LSP hooks (no LSP here)
    def _build_lsp(self, bundle) -> None:
        """Build the LSP state and set dw_pulse (network units per update pulse)."""
        raise NotImplementedError

    def _lsp_noise(self) -> bool:
        """Whether the LSP has read noise of its own (adds to S)."""
        return False

    def _lsp_w(self, flat: np.ndarray | None, take) -> np.ndarray | float:
        """The LSP's part of W/scale (S) at flat indices (None = all, flattened)."""
        return np.float32(0)

    def _lsp_lines(self, flat: np.ndarray | None, take, wp, wn):
        """(W⁺, W⁻) with the LSP's conductances added on their lines (see :meth:`_lines_of`)."""
        return wp, wn

    def _lsp_var(self, flat: np.ndarray | None) -> np.ndarray | float:
        """Read-noise variance density of the LSP (network units²·s) at flat indices."""
        return np.float32(0)

    def _reset_lsp(self, flat: np.ndarray, moved: np.ndarray, cols: np.ndarray, opt: dict) -> None:
        """Reset the LSP of the transferred synapses (flat), moved ones (flat indices) among them."""

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
        """σ²·t_bench (S²·s) of PCM devices of type d at flat synapse indices (None = all); with
        pcm.read_noise_growth (and drift on, which keeps the programming times) σ grows with the time since each
        device's programming by the 1/f law (:func:`pycosim.devices.pcm.read_sigma`, extrapolated beyond the
        bench's record), evaluated at the last cache rebuild (drift refresh or programming)."""
        if not self.cfg.pcm.read_noise:
            return np.float32(0)
        take = self._taker(flat)
        g = take(self.Pe[d])
        age = None
        if self.cfg.pcm.read_noise_growth and self.P_tprog is not None:
            age = self.t_s - take(self.P_tprog[d])
        s = pcm.read_sigma(g, self.pcm_pop, age_s=age)
        return s * s * np.float32(self.pcm_pop.noise_t_int_s)

    @staticmethod
    def _taker(flat):
        return (lambda a: a.reshape(-1)) if flat is None else (lambda a: a.reshape(-1)[flat])

    def _w_of(self, flat: np.ndarray | None, msp: np.ndarray | None = None) -> np.ndarray:
        """Noise-free weights (network units) from the device state at flat indices (None = all); msp: (2, k)
        conductances (S) to read for G⁺, G⁻ instead of Pe (the closed loop's verify read, :class:`ArrayProgrammer`)."""
        take = self._taker(flat)
        gp, gn = (take(self.Pe[0]), take(self.Pe[1])) if msp is None else (msp[0], msp[1])
        w = np.float32(self.cfg.F) * (gp - gn) + self._lsp_w(flat, take)
        return np.float32(self.scale) * w

    def _lines_of(self, flat: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Conductances (S, float32) each synapse puts on its p and n column line at flat indices (None =
        all, flattened): W⁺ = F·G⁺ + LSP⁺, W⁻ = F·G⁻ + LSP⁻; W = scale·(W⁺ − W⁻) (Ambrogio et al. 2018, Fig. 1)."""
        F = np.float32(self.cfg.F)
        take = self._taker(flat)
        return self._lsp_lines(flat, take, F * take(self.Pe[0]), F * take(self.Pe[1]))

    def _s_of(self, flat: np.ndarray | None) -> np.ndarray:
        """Read-noise variance density S (network units²·s) at flat indices (None = all)."""
        v = np.float32(self.cfg.F ** 2) * (self._pcm_var(0, flat) + self._pcm_var(1, flat))
        for d in range(2, self.N_PCM):
            v = v + self._pcm_var(d, flat)
        return np.float32(self.scale ** 2) * v + self._lsp_var(flat)

    def _refresh_lines(self) -> None:
        """Recompute the line gains of every line from the device state: κ = κ_L·(1 + ε), κ_L =
        :func:`pycosim.devices.integrator.lag_gain` of the line totals G_L⁺_j = Σ_i W⁺_ij, G_L⁻_j = Σ_i W⁻_ij
        (column pair j, forward) and G_L,i = Σ_j (W⁺_ij + W⁻_ij) (row i, transposed) against the conveyors' input
        conductance (PeripheryConfig.integrator_lag), ε the line's mirror gain error (ε⁺_j, ε⁻_j forward, the
        plus chain ε⁺_i transposed; :mod:`pycosim.array.periphery`); the forward matrix Wf =
        scale·(κ⁺_j·W⁺ − κ⁻_j·W⁻), the conveyors' offset charge of every line (ReadChannel.line_charge) and the
        digital compensation 1/κ̂ of the NOMINAL hold gains (PeripheryConfig.lag_compensation: the periphery
        knows the line sums, not the mirrors' ε)."""
        if not self._lag:
            self.Wf = self.W
            self.kappa_p = self.kappa_n = self.kappa_r = None
            self._kg = self._kns = self._cf = self._cb = None
            self._qoff_f = self._qoff_b = None
            self._apply_line_charge()
            self._combine_gain()
            self._refresh_line_q()
            return
        wp, wn = self._lines_of(None)
        wp, wn = wp.reshape(self.shape), wn.reshape(self.shape)
        self._refresh_line_q(wp, wn)
        gp, gn = wp.sum(0, dtype=np.float64), wn.sum(0, dtype=np.float64)
        gr = wp.sum(1, dtype=np.float64) + wn.sum(1, dtype=np.float64)
        g_in = self.integ.g_in_S if self._hold else 0.0
        lp, ln, lr = (integrator.lag_gain(g, g_in) for g in (gp, gn, gr))
        f, b = self.fwd, self.bwd
        kp = (lp * (1.0 + f.eps_p)).astype(np.float32)
        kn = (ln * (1.0 + f.eps_n)).astype(np.float32)
        kr = (lr * (1.0 + b.eps_p)).astype(np.float32)
        self.kappa_p, self.kappa_n, self.kappa_r = kp, kn, kr
        self.Wf = (np.float32(self.scale) * (kp * wp - kn * wn)).astype(np.float32)
        self._kg = self._lsp_line_gain(kp, kn)
        self._kns = ((lp + ln) * 0.5).astype(np.float32)
        comp = self.cfg.periphery.lag_compensation and self._hold
        self._cf = (np.float32(1) / self._kns).astype(np.float32) if comp else None
        self._cb = (1.0 / lr).astype(np.float32) if comp else None
        self._qoff_f = f.line_charge(gp, gn) if self._mirror else None
        self._qoff_b = b.line_charge(gr) if self._mirror else None
        self._apply_line_charge()
        self._combine_gain()

    def _refresh_line_q(self, wp: np.ndarray | None = None, wn: np.ndarray | None = None) -> None:
        """The line-charge weights of the read counters (:class:`pycosim.array.counters.Counters`,
        ``line_charge_*``) from the line conductances W^± (S, (n_in, n_out); default :meth:`_lines_of` now):

            q_f,i = V_read·t_x1,f·Σ_j W⁺_ij      (C: the plus-line charge of a full-width pulse on row i, forward)
            q_b,j = V_read·t_x1,b·Σ_i (W⁺_ij + W⁻_ij)  (C: the row-line charge of a full-width pulse on column j,
                                                     transposed)

        so a read's counted charge is one dot product with the pulse widths, Σ_i |x̂_i|·q_f,i (forward) and
        Σ_j |PWM(δ_j/m)|·q_b,j (transposed), accumulated inside the read kernels
        (:func:`pycosim.array.kernels.read_forward`, ``read_backward``).
        Only the plus chain's mirror draws from V_DD (netlists/integrator.lib, colread: I_vdd = 2·I⁺; a transposed
        read's row line sits on the plus input), hence W⁺ alone forward. Source: the column read of Ambrogio et
        al., Nature 558, 60 (2018), Fig. 1 (pulse-width inputs, line currents Σ_i G_ij·V_read)."""
        if wp is None:
            wp, wn = self._lines_of(None)
            wp, wn = wp.reshape(self.shape), wn.reshape(self.shape)
        v = float(self.read_v_V)
        self._q_rows_f = (v * self.fwd.t_x1_s * wp.sum(1, dtype=np.float64)).astype(np.float32)
        self._q_cols_b = (v * self.bwd.t_x1_s * (wp.sum(0, dtype=np.float64) + wn.sum(0, dtype=np.float64))
                          ).astype(np.float32)

    def _count_forward_charge(self, x: np.ndarray) -> None:
        """Add the plus-line charge of a forward read of inputs x (n_in,) that did not go through
        :func:`pycosim.array.kernels.read_forward` (the deployment model of :mod:`pycosim.nn.hwa`) to
        ``counters.line_charge_forward_C``: Q⁺ = Σ_i min(|x_i|, 1)·q_f,i (:meth:`_refresh_line_q`; the PWM pulse
        of row i lasts min(|x_i|, 1)·t_x1, Ambrogio et al. 2018, Methods; the kernel's reads use the quantised
        x̂_i). Recomputes q every LINE_Q_REFRESH_READS forward reads."""
        c = self.counters
        a = self._x_work
        np.abs(x, out=a)
        np.minimum(a, np.float32(1), out=a)
        c.line_charge_forward_C += float(np.dot(a, self._q_rows_f))
        if c.reads_forward % self.LINE_Q_REFRESH_READS == 0:
            self._refresh_line_q()

    def _apply_line_charge(self) -> None:
        """Write the conveyors' offset charges (_qoff_f, _qoff_b; None = none) into the read channels' offsets."""
        self.fwd.set_line_charge(self._qoff_f)
        self.bwd.set_line_charge(self._qoff_b)

    # ------------------------------------------------------------------ drift compensation
    def _col_gain(self) -> np.ndarray:
        """The drift-compensation gain ĝ of every column (n_out,) float32 (module docstring)."""
        g = self.dc_gain
        return g if g.shape[0] == self.n_out else np.broadcast_to(g[:1], (self.n_out,)).astype(np.float32)

    def _combine_gain(self) -> None:
        """The forward read's digital factor per column: lag compensation 1/κ̂_j times the drift gain ĝ_j
        (None without drift compensation: the read uses _cf alone)."""
        if not getattr(self, "_dc", False) or self.dc_gain is None:
            self._cfd = None
            return
        g = self._col_gain()
        self._cfd = (g * self._cf).astype(np.float32) if self._cf is not None else g.astype(np.float32).copy()

    def _read_refs(self, groups: np.ndarray, later_s: float = 0.0) -> np.ndarray:
        """Σ over each group's reference devices of one read each (S, float32 (len(groups),)): drifted
        conductance since their programming (plus later_s: a read that comes that long after now) plus the PCM
        read noise of a bench-window read (the verify read's window, :func:`pycosim.devices.pcm.read_sigma`).
        Counted in drift_ref_reads."""
        R = self.R[groups]
        if self.R_drift is not None:
            R = pcm.drift_with(R, self.t_s - self.R_tprog[groups] + later_s, self.R_drift[groups],
                               self.R_inst[groups], self.pcm_pop)
        if self.cfg.pcm.read_noise:
            age = self.t_s - self.R_tprog[groups] + later_s if self.cfg.pcm.read_noise_growth else None
            R = R + pcm.read_sigma(R, self.pcm_pop, age_s=age) * self._gauss(R.size).reshape(R.shape)
        self.counters.drift_ref_reads += int(R.size)
        t_v = self.cfg.transfer.verify_t_read_s or self.default_verify_window()
        self.counters.line_charge_ref_C += float(self.read_v_V) * t_v * float(np.abs(R).sum(dtype=np.float64))
        return R.sum(axis=1, dtype=np.float64).astype(np.float32)

    def _program_refs(self, groups: np.ndarray, delay_s: float = 0.0) -> None:
        """RESET the reference devices of *groups* and program them open loop (mean-device pulse count) to
        drift_ref_level·mean G_max, restart their drift clock, read them (R_prog) delay_s after programming —
        the closed loop's verify delay, so that ĝ = R_prog/R(t) undoes the drift r(t)/r(t_v) the weights
        see from their own verify reads on — and set their gain to 1."""
        if not self._dc or groups.size == 0:
            return
        pp, pe = self.pcm_pop, self.cfg.periphery
        inst = self.R_inst[groups]
        G = pcm.reset(self.R[groups], np.ones(inst.shape, bool), inst, pp)
        target = np.float32(pe.drift_ref_level * float(np.mean(pp.g_max_S)))
        n = pcm.open_loop_pulses(float(np.mean(pp.g_reset_S)), target, pp.dg_fit, self.cfg.transfer.max_pulses)
        n = np.full(inst.shape, int(n), np.int32)
        G, _ = pcm.set_pulses(G, n, inst, pp, self.rng, since=0, c2c_scale=self.cfg.pcm.c2c_scale)
        self.counters.drift_ref_resets += int(inst.size)
        self.counters.drift_ref_set_pulses += int(n.sum())
        self.R[groups] = G
        self.R_tprog[groups] = self.t_s
        if self.R_drift is not None:
            self.R_drift[groups] = pcm.drift_params(G, inst, pp)
        self.R_prog[groups] = self._read_refs(groups, delay_s)
        self.dc_gain[groups] = 1.0

    def _update_gain(self) -> None:
        """Read every group's reference devices and set ĝ = R_prog/Σ reads (1 for never-programmed groups)."""
        if not self._dc:
            return
        now = self._read_refs(np.arange(self.R.shape[0]))
        prog = self.R_prog > 0
        self.dc_gain = np.where(prog, self.R_prog / np.maximum(now, np.float32(1e-30)), 1).astype(np.float32)

    def _lsp_line_gain(self, kp: np.ndarray, kn: np.ndarray) -> np.ndarray | None:
        """(n_out,) lag gain of the line each column's updated LSP device sits on (None: no LSP update path)."""
        return None

    def _wf_of(self, flat: np.ndarray | None) -> np.ndarray:
        """Forward-read weights with the line gains, scale·(κ⁺_j·W⁺ − κ⁻_j·W⁻) at flat indices (network
        units; PeripheryConfig.integrator_lag)."""
        wp, wn = self._lines_of(flat)
        col = (np.arange(self.W.size) if flat is None else flat) % self.n_out
        return np.float32(self.scale) * (self.kappa_p[col] * wp - self.kappa_n[col] * wn)

    def _refresh(self, flat: np.ndarray) -> None:
        """Recompute the cached W (and Wf, S) at flat synapse indices from the device state."""
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

    def _restored(self) -> None:
        self._t_young = float(self.P_tprog.max()) if self.P_tprog is not None and self.P_tprog.size else 0.0
        if self.Wf is None:
            self.Wf = self.W
        self._apply_line_charge()
        self._combine_gain()
        if self._q_rows_f is None or self._q_cols_b is None:     # a checkpoint from before the line counters
            self._refresh_line_q()

    # ------------------------------------------------------------------ reads
    @property
    def full_scale(self) -> tuple[float, float]:
        """(forward, backward) network-unit outputs that reach the integrator's linear range."""
        return tuple(float(self.integ.q_linear_max_C * self.scale / (self.read_v_V * ch.t_x1_s))
                     for ch in (self.fwd, self.bwd))

    def read_pulse(self) -> tuple[float, float, float]:
        """(V_read (V), t_x1 forward (s), t_x1 transposed (s)): the read voltage and the pulse width of a
        full input (|x| = 1) of each read direction (:mod:`pycosim.array.periphery`)."""
        return float(self.read_v_V), float(self.fwd.t_x1_s), float(self.bwd.t_x1_s)

    def resolved_settings(self) -> dict:
        """:meth:`Crossbar.resolved_settings`: periphery.read_v_V (V), periphery.t_read_s (s, as
        {'forward', 'backward'} read windows of a full input), transfer.verify_t_read_s (s), transfer.verify_delay_s (s) and transfer.drift_horizon_s (0: tune to the weight
        read now), when None
        in the configuration; schemes with an LSP add their own (lsp.*)."""
        c, out = self.cfg, {}
        if c.periphery.read_v_V is None:
            out["periphery.read_v_V"] = float(self.read_v_V)
        if c.periphery.t_read_s is None:
            out["periphery.t_read_s"] = {"forward": float(self.fwd.t_x1_s), "backward": float(self.bwd.t_x1_s)}
        if c.transfer.verify_t_read_s is None:
            out["transfer.verify_t_read_s"] = float(self.default_verify_window())
        if c.transfer.drift_horizon_s is None:
            out["transfer.drift_horizon_s"] = 0.0
        if c.transfer.verify_delay_s is None:
            out["transfer.verify_delay_s"] = float(self.default_verify_delay())
        if c.pcm.endurance_set_weight is None:
            out["pcm.endurance_set_weight"] = self._bundle_set_weight()
        return out | self._lsp_resolved()

    def _bundle_set_weight(self) -> float:
        """The bundle's e_set_J/e_reset_J (0 if it lacks them): the default SET-stress weight."""
        sc = (self.bundle.scalars.get("pcm") or {}) if self.bundle is not None else {}
        return float(sc["e_set_J"]) / float(sc["e_reset_J"]) if sc.get("e_set_J") and sc.get("e_reset_J") else 0.0

    def _lsp_resolved(self) -> dict:
        """The LSP's resolved "auto" settings (:meth:`resolved_settings`); none without a 3T1C LSP."""
        return {}

    def weights(self, forward: bool = False) -> np.ndarray:
        """Copy of the noise-free weights (network units, float32, (n_in, n_out)): W from the device state,
        or with forward=True the matrix the forward read applies — the integrator-lag gains κ⁺_j, κ⁻_j on
        the lines and their digital compensation 1/κ̂_j (PeripheryConfig.integrator_lag, lag_compensation),
        scale·(κ⁺_j·W⁺ − κ⁻_j·W⁻)/κ̂_j; = W without the lag."""
        if self._cfd is not None and forward:
            return (self.Wf if self._lag else self.W) * self._cfd
        if forward and self._lag:
            return self.Wf * self._cf if self._cf is not None else self.Wf.copy()
        return self.W.copy()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        y = np.empty(self.n_out, np.float32)
        kernels.read_forward(x, self._levels, self.Wf, self.S if self.S is not None else _EMPTY_2D,
                             self.cfg.pcm.read_noise, self._kfwd, self._read_z(self.n_out, self.fwd),
                             self._kns if self._lag else _EMPTY_F32,
                             self._cfd if self._cfd is not None else self._cf if self._cf is not None else _EMPTY_F32,
                             y, self._var_work,
                             *self.fwd.kernel_args, self._q_rows_f, self._q_out)
        c = self.counters
        c.reads_forward += 1
        c.integrations_forward += self.n_out
        c.line_charge_forward_C += float(self._q_out[0])
        if c.reads_forward % self.LINE_Q_REFRESH_READS == 0:
            self._refresh_line_q()
        return y

    def _backward(self, d: np.ndarray) -> np.ndarray:
        y = np.empty(self.n_in, np.float32)
        if self._cfd is not None:          # drift compensation: the column gains scale the inputs δ_j (digital)
            d = (d * self._col_gain()).astype(np.float32)
        kernels.read_backward(d, self.cfg.periphery.normalize_backward, self._levels, self.W,
                              self.S if self.S is not None else _EMPTY_2D, self.cfg.pcm.read_noise, self._kbwd,
                              self._read_z(self.n_in, self.bwd), self.kappa_r if self._lag else _EMPTY_F32,
                              self._cb if self._cb is not None else _EMPTY_F32, y, *self.bwd.kernel_args,
                              self._q_cols_b, self._q_out)
        c = self.counters
        c.reads_backward += 1
        c.integrations_backward += self.n_in
        c.line_charge_backward_C += float(self._q_out[0])
        if c.reads_backward % self.LINE_Q_REFRESH_READS == 0:
            self._refresh_line_q()
        return y

    def _read_z(self, n: int, ch: ReadChannel) -> np.ndarray:
        """The N(0, 1) a read of n lines needs, from the layer's buffered stream (:meth:`_gauss`): n for the
        device read noise (when on), then n for the integrator output noise (when on)."""
        k = (n if self.S is not None else 0) + (n if ch.noise_V else 0)
        return self._gauss(k) if k else _EMPTY_F32

    def _set_exact(self, W: np.ndarray) -> None:
        self.W = W
        self.Wf = self.W
        self._lag = False
        self._kns = self._cf = self._cb = self.kappa_r = None
        self._dc = False          # the inference model computes the read matrix itself (no reference devices)
        self._cfd = None
        if self.S is not None:
            self.S = np.zeros_like(self.S)

    # ------------------------------------------------------------------ random-number buffers
    _UBUF = 1 << 16
    _ZBUF = 1 << 18

    def reseed(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._ubuf = self._zbuf = None
        self._upos = self._zpos = 0

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

    def _gauss(self, k: int, room: int = 0) -> np.ndarray:
        """The next k N(0, 1) float32 of the layer's buffered normal stream (read noise, 3T1C cycle-to-cycle
        noise), topped up like :meth:`_uniforms` by :func:`pycosim.array.kernels.standard_normal` (a ziggurat
        over the layer generator's raw bits)."""
        self._zbuf, self._zpos = self._top_up(self._zbuf, self._zpos, max(k, room), self._ZBUF,
                                              lambda n, dtype: kernels.standard_normal(self.rng, n))
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

    # ------------------------------------------------------------------ update pulses
    def pulse_counts(self, x: np.ndarray, d: np.ndarray, lr: float):
        """Coincident pulse counts of an update (copies; see :meth:`_counts`)."""
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
          s_x·s_δ = lr/(Δw_pulse·BL), split by update.trains_split γ (0.5: s_x/s_δ = max|δ|/max|x|,
          balanced; 0: the largest-|δ| column fires in every slot); a synapse gets one pulse per
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
                                      self._out_flat, self._out_n, np.float64(self.trains_split))
            return self._out_flat[:m], self._out_n[:m]     # ascending synapse index; views of work arrays
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

    def _pcm_update(self, x: np.ndarray, d: np.ndarray, lr: float, base: int) -> None:
        """Update by |n| SET pulses on device base (n > 0) or base + 1 (n < 0) of each pulsed synapse, then
        RESET-and-reprogram of pairs past saturation_frac·G_max (:meth:`_saturation_refresh`)."""
        flat, n = self._counts(x, d, lr)
        if flat.size == 0:
            return
        d_idx = np.where(n > 0, base, base + 1)
        self._set(d_idx, flat, np.abs(n), counter="pcm_update_set_pulses")
        self._saturation_refresh(flat, base)
        self._refresh(flat)

    # ------------------------------------------------------------------ PCM device operations
    def _set(self, d_idx: np.ndarray, flat: np.ndarray, n: np.ndarray, counter: str) -> None:
        """SET pulses n on PCM devices (type d_idx, synapse flat); stuck devices do not move."""
        dev = d_idx.astype(np.int64) * self.W.size + flat
        Pf, If = self.P.reshape(-1), self.P_inst.reshape(-1)
        stuck = self.P_stuck.reshape(-1)[dev] if self.P_stuck is not None else None
        Cf = self.P_since.reshape(-1)
        Pf[dev], Cf[dev] = pcm.set_pulses(Pf[dev], n, If[dev], self.pcm_pop, self.rng, since=Cf[dev],
                                          c2c_scale=self.cfg.pcm.c2c_scale, stuck=stuck)
        setattr(self.counters, counter, getattr(self.counters, counter) + int(n.sum()))
        moved = n > 0 if stuck is None else (n > 0) & ~stuck     # devices of one call are distinct
        self.counters.pcm_sets_per_device.reshape(-1)[dev[moved]] += n[moved].astype(np.uint32)
        if self.P_life is not None:
            self._wear(dev[moved])
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
        if self.P_life is not None:
            self._wear(dev)
        self._programmed(dev)

    # ------------------------------------------------------------------ endurance (wear-out inside training)
    def _bank_rows(self) -> int:
        """PCM device rows beyond N_PCM per synapse: the waiting pairs of the redundant schemes (0 here)."""
        return 0

    def device_roles(self) -> tuple[str, ...]:
        """One role label per row of the device arrays (P, the per-device counters): the scheme's device_roles,
        then those of the waiting pairs of redundant schemes (the same labels: a role is a significance and sign)."""
        return tuple(self.scheme.device_roles)

    def _build_endurance(self, bundle) -> None:
        """Per-device endurance (PCMConfig.endurance_scale > 0; else P_life = P_fail_hi = None and no random
        draw): cycles to failure P_life (:func:`pycosim.devices.pcm.endurance_cycles`) and failure mode P_fail_hi
        (:func:`pycosim.devices.pcm.failure_modes`) of every PCM device, drawn from the layer's generator; the
        SET-stress weight w (endurance_set_weight, None = the bundle's e_set_J/e_reset_J)."""
        pc = self.cfg.pcm
        self.P_life = self.P_fail_hi = None
        self.set_stress_weight = 0.0
        if not pc.endurance_scale > 0:
            return
        rng = self._endurance_rng()
        self.P_life = pcm.endurance_cycles(self.P.shape, rng, median_cycles=pc.endurance_median_cycles,
                                           sigma_ln=pc.endurance_sigma_ln, scale=pc.endurance_scale)
        self.P_fail_hi = pcm.failure_modes(self.P.shape, rng, pc.endurance_stuck_high_frac)
        w = pc.endurance_set_weight
        self.set_stress_weight = float(w) if w is not None else self._bundle_set_weight()

    def _endurance_rng(self) -> np.random.Generator:
        """The generator of the endurance draws: a child of the layer generator's seed sequence (spawning does not
        advance the layer's stream), so a run with the endurance model is the same run as without it, bit for
        bit, until its first device wears out; the layer generator itself if it has no seed sequence."""
        seq = getattr(self.rng.bit_generator, "seed_seq", None)
        if seq is None or not hasattr(seq, "spawn"):
            return self.rng
        return np.random.Generator(type(self.rng.bit_generator)(seq.spawn(1)[0]))

    def _wear(self, dev: np.ndarray) -> None:
        """Devices *dev* (flat indices into P) were just pulsed: those whose stress R + w·S passed their cycles
        to failure are worn — set to their failure state (:func:`pycosim.devices.pcm.wear_out`), stuck for the
        rest of the run (P_stuck; the updates, transfers and the closed loop see them as any stuck device) and
        counted in counters.pcm_worn_per_device."""
        if dev.size == 0:
            return
        c = self.counters
        st = pcm.stress(c.pcm_resets_per_device.reshape(-1)[dev], c.pcm_sets_per_device.reshape(-1)[dev],
                        self.set_stress_weight)
        wf = c.pcm_worn_per_device.reshape(-1)
        Pf, If = self.P.reshape(-1), self.P_inst.reshape(-1)
        g, newly = pcm.wear_out(Pf[dev], st, self.P_life.reshape(-1)[dev], wf[dev],
                                self.P_fail_hi.reshape(-1)[dev], If[dev], self.pcm_pop)
        if not newly.any():
            return
        d = np.unique(dev[newly])
        Pf[dev[newly]] = g[newly]
        wf[d] = True
        c.pcm_worn_at_s_per_device.reshape(-1)[d] = np.float32(self.t_s)
        if self.P_stuck is None:
            self.P_stuck = np.zeros(self.P.shape, bool)
        self.P_stuck.reshape(-1)[d] = True
        self._programmed(d)

    def _programmed(self, dev: np.ndarray) -> None:
        """Devices *dev* (flat indices into P) were just programmed: restart their drift clock; their drift
        constants at the new level are recomputed (in one batch) by the next :meth:`_refresh_drift`."""
        if self.P_tprog is not None:
            self.P_tprog.reshape(-1)[dev] = self.t_s
            self._t_young = self.t_s
            self.Pe.reshape(-1)[dev] = self.P.reshape(-1)[dev]
            self._drift_dirty.reshape(-1)[dev] = True

    def _saturation_refresh(self, flat: np.ndarray, base: int) -> None:
        """RESET both devices of pairs (base, base+1) whose larger device passed saturation_frac·G_max, then
        program the pair's difference back open-loop onto one device (mean-device pulse count)."""
        N = self.W.size
        Pf, If = self.P.reshape(-1), self.P_inst.reshape(-1)
        dp, dm = base * N + flat, (base + 1) * N + flat
        gmax, frac = self.pcm_pop.g_max_S, self.cfg.pcm.saturation_frac
        sat = (Pf[dp] > frac * gmax[If[dp]]) | (Pf[dm] > frac * gmax[If[dm]])
        if not sat.any():
            return
        f = flat[sat]
        diff = Pf[dp[sat]] - Pf[dm[sat]]
        self._reset(np.concatenate([dp[sat], dm[sat]]), "pcm_update_resets")
        d_idx = np.where(diff >= 0, base, base + 1)
        g0 = Pf[d_idx.astype(np.int64) * N + f]
        n = pcm.open_loop_pulses(g0, g0 + np.abs(diff), self.pcm_pop.dg_fit, self.cfg.transfer.max_pulses)
        self._set(d_idx, f, n, counter="pcm_update_reprogram_set_pulses")

    # ------------------------------------------------------------------ time
    def _advance(self, dt_s: float, hold_lsp: bool, settle: bool) -> None:
        if not hold_lsp:
            self._advance_lsp(dt_s)
        if settle:
            self._flush_lsp()
        if self.P_tprog is not None and (settle or self._drift_due()):
            self._refresh_drift()

    def _drift_due(self) -> bool:
        """Δt since the last refresh ≥ max(drift_refresh_s, drift_refresh_rel·(age of the youngest device at the
        last refresh + t_on)) (PCMConfig.drift_refresh_rel); a device programmed since then counts as age 0."""
        pc = self.cfg.pcm
        dt = self.t_s - self._t_drift
        if dt < pc.drift_refresh_s:
            return False
        age = self._t_drift - self._t_young
        return age <= 0 or dt >= pc.drift_refresh_rel * (age + pc.drift_t_on_s)

    def _advance_lsp(self, dt_s: float) -> None:
        """LSP leakage over dt_s (schemes with a volatile LSP)."""

    def _flush_lsp(self) -> None:
        """Apply deferred LSP leakage now."""

    def _refresh_drift(self) -> None:
        """Re-evaluate PCM drift of every device at the current time, Pe = drift(P, t − t_prog)
        (:func:`pycosim.devices.pcm.drift_with`); t_prog is the time of the device's last SET or RESET."""
        dirty = np.flatnonzero(self._drift_dirty)
        if dirty.size:
            self.P_drift.reshape(-1)[dirty] = pcm.drift_params(self.P.reshape(-1)[dirty],
                                                               self.P_inst.reshape(-1)[dirty], self.pcm_pop)
            self._drift_dirty.reshape(-1)[dirty] = False
        self.Pe = pcm.drift_with(self.P, self.t_s - self.P_tprog, self.P_drift, self.P_inst, self.pcm_pop)
        self._t_drift = self.t_s
        self._update_gain()
        self._refresh_all()

    # ------------------------------------------------------------------ programming and transfer
    def default_verify_window(self) -> float:
        """Verify read window t (s): the PCM bench window t_bench when the PCM read noise is on (1/f noise:
        a longer window averages nothing more away, :meth:`noise_factor`), else the forward read window."""
        if not self.cfg.pcm.read_noise:
            return self.fwd.t_x1_s
        return self.pcm_pop.noise_t_int_s

    def default_verify_delay(self, t_verify_s: float | None = None) -> float:
        """Age (s) of a device at its verify read in this layer's own (accelerator) schedule:
        :func:`pycosim.timing.verify_delay_s` of n_rows = n_in, the verify window *t_verify_s* (None: the
        configured one or :meth:`default_verify_window`) and the SET slot of the bundle's pcm.set_width_s."""
        from pycosim import timing

        if t_verify_s is None:
            t_verify_s = self.cfg.transfer.verify_t_read_s or self.default_verify_window()
        slot = timing.set_slot_s(float(self.bundle.scalars["pcm"]["set_width_s"]))
        return timing.verify_delay_s(self.n_in, t_verify_s=float(t_verify_s), t_set_slot_s=slot)

    def verify_delay(self) -> float:
        """The verify delay (s) this layer's closed loop uses: transfer.verify_delay_s, or if None
        :meth:`default_verify_delay`."""
        v = self.cfg.transfer.verify_delay_s
        return float(v) if v is not None else self.default_verify_delay()

    def _options(self, overrides: dict) -> dict:
        opt = tr.options(self.cfg.transfer, overrides)
        if opt["verify_t_read_s"] is None:
            opt["verify_t_read_s"] = self.default_verify_window()
        if opt["verify_delay_s"] is None:
            opt["verify_delay_s"] = self.default_verify_delay(opt["verify_t_read_s"])
        return opt

    def _program_msp(self, flat: np.ndarray, target: np.ndarray, opt: dict, stats: tr.TransferStats) -> None:
        """Program the MSP pairs of synapses flat to target (network units) with the transfer engine. The
        statistics score the weights as the loop's last verify read of each synapse saw them (noise-free, at
        the verify delay: :meth:`ArrayProgrammer.verified`); the cached W keeps the devices as programmed
        (age 0 on this layer's clock), which drift from there as the clock advances."""
        prog = ArrayProgrammer(self, flat, opt["verify_t_read_s"], opt["verify_delay_s"])
        if flat.size:
            if opt["mode"] == "closed":
                res = tr.closed_loop(prog, target, tr.LoopOptions.of(opt, self.cfg.pcm.saturation_frac))
            else:
                g_from = float(self.bundle.scalars["pcm"]["g_reset_mean_S"])
                dG = np.abs(target) / np.float32(self.scale * self.cfg.F)
                res = tr.open_loop(prog, target, pcm.open_loop_pulses(g_from, g_from + dG, self.pcm_pop.dg_fit,
                                                                        opt["max_pulses"]))
            self.counters.transfer_verify_reads += res.verify_reads
            self.counters.transfer_iterations += res.iterations
            stats.verify_reads += res.verify_reads
            stats.iterations += res.iterations
            stats.set_pulses += prog.set_pulses
            stats.resets += prog.resets
            self._refresh(flat)
        stats.score(target, prog.verified(np.arange(flat.size)))

    def _set_weights(self, W: np.ndarray, mode: str | None, overrides: dict):
        if mode is not None:
            overrides = dict(overrides, mode=mode)
        opt = self._options(overrides)
        stats = tr.TransferStats(mode=opt["mode"], tolerance=opt["tolerance"], t_verify_s=opt["verify_t_read_s"],
                                 t_verify_delay_s=opt["verify_delay_s"] if opt["mode"] == "closed" else 0.0)
        flat = np.arange(W.size)
        stats.n_synapses = int(flat.size)
        self._program_msp(flat, W.reshape(-1), opt, stats)
        if self._dc:
            self._program_refs(np.arange(self.R.shape[0]),
                               opt["verify_delay_s"] if opt["mode"] == "closed" else 0.0)
        self._refresh_lines()
        return stats

    def _transfer(self, cols: np.ndarray, overrides: dict):
        opt = self._options(overrides)
        stats = tr.TransferStats(mode=opt["mode"], tolerance=opt["tolerance"], t_verify_s=opt["verify_t_read_s"],
                                 t_verify_delay_s=opt["verify_delay_s"] if opt["mode"] == "closed" else 0.0)
        if not self.scheme.has_lsp:
            return stats
        self._flush_lsp()
        flat = (np.arange(self.n_in)[:, None] * self.n_out + cols[None, :]).ravel()
        stats.n_synapses = int(flat.size)
        c = self.lsp_contribution().reshape(-1)[flat]
        # the reference devices are re-programmed (ĝ → 1) when they serve only transferred columns: per-column
        # references, or one layer group and every column transferred; otherwise ĝ stays and so must the rest
        regain = self._dc and (self.R.shape[0] == self.n_out or np.unique(cols).size == self.n_out)
        if self._dc:
            gcol = self._col_gain()[flat % self.n_out]
            if regain:    # the effective weight ĝ_j·W changes by (ĝ_j − 1)·W + LSP when the LSP resets and ĝ_j → 1
                c = (gcol - np.float32(1)) * self.W.reshape(-1)[flat] + c
            else:         # ĝ kept: the effective weight loses ĝ_j·LSP; the MSP is tuned to the raw read
                c = gcol * c
        moved = np.abs(c) > opt["threshold"]
        fm = flat[moved]
        target, _ = ArrayProgrammer(self, fm, opt["verify_t_read_s"]).read(np.arange(fm.size))
        if regain:        # the target read goes through the compensated periphery
            target = (target * gcol[moved]).astype(np.float32)
        self.counters.transfer_verify_reads += int(fm.size)
        stats.dropped_abs_sum = float(np.abs(c[~moved]).sum())
        self._reset_lsp(flat, fm, cols, opt)
        self._refresh(flat)
        self._program_msp(fm, target, opt, stats)
        if regain:
            self._program_refs(cols if self.R.shape[0] == self.n_out else np.arange(1),
                               opt["verify_delay_s"] if opt["mode"] == "closed" else 0.0)
        self._refresh_lines()
        self.counters.transfers += 1
        return stats

    def _mean_drift(self):
        """The PCM population with every device's drift constants replaced by their population mean per
        level (what a periphery can know from the calibration; cached)."""
        if self._mean_drift_pop is None:
            p = self.pcm_pop
            mean = lambda a: np.broadcast_to(a.mean(axis=0, keepdims=True), a.shape)  # noqa: E731
            self._mean_drift_pop = dataclasses.replace(p, drift_nu=mean(p.drift_nu), drift_ln_g=mean(p.drift_ln_g),
                                                       drift_level_x=mean(p.drift_level_x))
        return self._mean_drift_pop

    # ------------------------------------------------------------------ views
    def devices(self) -> dict:
        """Copies of the device state: 'G_S' (k, n_in, n_out) PCM conductances as read now (drifted),
        'G_prog_S' as programmed, 'pcm_instance' int32 SPICE instance of each device, 'g_max_S' each device's
        G_max (S), 'pcm_stuck' bool or None; schemes with 3T1C cells add theirs."""
        return {"G_S": self.Pe.copy(), "G_prog_S": self.P.copy(), "pcm_instance": self.P_inst.copy(),
                "g_max_S": self.pcm_pop.g_max_S[self.P_inst],
                "pcm_stuck": None if self.P_stuck is None else self.P_stuck.copy()}

    def set_devices(self, *, P=None, V=None, pol=None) -> None:
        """Place the devices in given states (to mirror a SPICE netlist, ``pycosim validate``) and rebuild
        the caches: P (k, n_in, n_out) programmed PCM conductances (S); V (n_in, n_out) 3T1C V_C (V) and pol
        (n_out,) ±1 for schemes with 3T1C cells. The device instances stay as drawn."""
        if P is not None:
            P = np.asarray(P, np.float32)
            if P.shape != self.P.shape:
                raise ConfigError(f"set_devices: P must have shape {self.P.shape}, got {P.shape}")
            self.P = P.copy()
            self.P_since[...] = self.pcm_pop.c2c_by_pulse_S.shape[0]      # history unknown: steady-state c2c
            self.Pe = self.P.copy() if self.P_tprog is not None else self.P
            if self.P_tprog is not None:
                self.P_tprog[...] = self.t_s
                self._t_young = self.t_s
                self.P_drift = pcm.drift_params(self.P, self.P_inst, self.pcm_pop)
        self._set_lsp_devices(V, pol)
        self._refresh_all()

    def _set_lsp_devices(self, V, pol) -> None:
        if V is not None or pol is not None:
            raise ConfigError(f"set_devices: V and pol exist only for schemes with 3T1C cells "
                              f"(this is {self.cfg.synapse!r})")


class ArrayProgrammer:
    """The array model's side of :class:`pycosim.array.transfer.MspProgrammer`: the MSP pairs (devices 0
    and 1) of the synapses at flat indices of one :class:`AnalogCrossbar`. Verify reads are noisy reads
    W + σ·z of the window t_read_s, σ = (S·κ(t))^½ (:meth:`AnalogCrossbar.noise_factor`); SET and RESET
    pulses act on the layer's devices and counters (transfer_set_pulses, transfer_resets).

    Verify delay (delay_s > 0, PCM drift on; TransferConfig.verify_delay_s): every call of :meth:`read` is one
    iteration of the loop, pulse → wait → read. A device this programmer pulsed (SET or RESET) j reads before
    is read at age j·delay_s since that pulse, G = drift(G_prog, j·delay_s) (:func:`pycosim.devices.pcm.drift_with`
    at its level); the layer's clock (t_s, the devices' programming times) does not move — the transfer's
    duration, which contains these waits, advances it afterwards (:mod:`pycosim.timing`). Devices not pulsed by
    this programmer are read as the layer holds them (Pe). delay_s = 0: every device read as programmed (G at the
    drift law's t_p)."""

    def __init__(self, xb: AnalogCrossbar, flat: np.ndarray, t_read_s: float, delay_s: float = 0.0):
        self.xb, self.flat, self.t_read_s = xb, np.asarray(flat, np.int64), t_read_s
        self.set_pulses = self.resets = 0
        self.delay_s = float(delay_s)
        self._aging = self.delay_s > 0 and xb.P_tprog is not None
        self._reads = 0                                          # reads so far = the loop's iteration clock
        self._last = np.full((2, self.flat.size), -1, np.int32) if self._aging else None   # read count at last pulse
        self._seen = np.zeros(self.flat.size, np.int32) if self._aging else None           # read count at last read

    def _ages(self, idx, at) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dev (2, k) flat device indices, inloop (2, k) bool: pulsed by this programmer (and still the device it
        pulsed), age (n_inloop,) float64 s at read count *at* ((k,) or scalar): max(at − last, 1)·delay_s)."""
        xb, f = self.xb, self.flat[idx]
        dev = np.stack([f, xb.W.size + f])
        last = self._last[:, idx]
        inloop = (last >= 0) & (xb.P_tprog.reshape(-1)[dev] == xb.t_s)   # not a pair switched in since (redundant)
        j = np.maximum(np.broadcast_to(at, last.shape) - last, 1)[inloop]
        return dev, inloop, j.astype(np.float64) * self.delay_s

    def _msp(self, idx, at) -> np.ndarray | None:
        """(2, k) float32 G⁺, G⁻ of synapses idx as a read at read count *at* sees them (None: as the layer holds
        them, nothing aged)."""
        if not self._aging:
            return None
        xb = self.xb
        dev, inloop, age = self._ages(idx, at)
        G = xb.Pe.reshape(-1)[dev]
        if inloop.any():
            d = dev[inloop]
            P, inst = xb.P.reshape(-1)[d], xb.P_inst.reshape(-1)[d]
            G[inloop] = pcm.drift_with(P, age, pcm.drift_params(P, inst, xb.pcm_pop), inst, xb.pcm_pop)
        return G

    def read(self, idx):
        """Verify reads of synapses idx: (w, σ) as in the class docstring; adds their plus-line charge
        V_read·t_read·Σ W⁺ (the row of each synapse driven for the window, W⁺ of :meth:`AnalogCrossbar._lines_of`)
        to ``counters.line_charge_verify_C``."""
        xb, f = self.xb, self.flat[idx]
        self._reads += 1
        if self._aging:
            self._seen[idx] = self._reads
        w = xb._w_of(f, self._msp(idx, self._reads))
        wp, _ = xb._lines_of(f)
        xb.counters.line_charge_verify_C += float(xb.read_v_V) * self.t_read_s * float(wp.sum(dtype=np.float64))
        sig = np.zeros(f.shape, np.float32)
        if xb.S is not None:
            sig = np.sqrt(xb._s_of(f) * np.float32(xb.noise_factor(self.t_read_s)))
            w = w + sig * xb.rng.standard_normal(f.shape, dtype=np.float32)
        return w, sig

    def verified(self, idx) -> np.ndarray:
        """Noise-free weights (network units, float32) of synapses idx as their last verify read saw them (a
        device pulsed after that read: one delay after its pulse); the layer's W without a verify delay."""
        if not self._aging:
            return self.xb.W.reshape(-1)[self.flat[idx]].copy()
        return self.xb._w_of(self.flat[idx], self._msp(idx, self._seen[idx]))

    def levels(self, idx):
        xb, f = self.xb, self.flat[idx]
        dev = np.stack([f, xb.W.size + f])
        return xb.P.reshape(-1)[dev], xb.pcm_pop.g_max_S[xb.P_inst.reshape(-1)[dev]]

    def stuck(self, idx):
        """(2, k) bool: G⁺, G⁻ of synapses idx are stuck (yield defects, worn devices) — the periphery's table of
        failed devices, known since the write that found them unresponsive (Schechter et al., ISCA 2010: failures
        are detectable at write time); None when the layer has no stuck device (the loop then never asks)."""
        xb = self.xb
        if xb.P_stuck is None:
            return None
        f = self.flat[idx]
        return xb.P_stuck.reshape(-1)[np.stack([f, xb.W.size + f])]

    def step(self, idx, device, n, reset):
        xb, f = self.xb, self.flat[idx]
        idx = np.asarray(idx, np.int64)
        if reset.any():
            fr = f[reset]
            xb._reset(np.concatenate([fr, xb.W.size + fr]), "transfer_resets")
            self.resets += 2 * int(fr.size)
            if self._aging:
                self._last[:, idx[reset]] = self._reads
        go = n > 0
        if go.any():
            xb._set(device[go].astype(np.int64), f[go], n[go].astype(np.int32), counter="transfer_set_pulses")
            self.set_pulses += int(n[go].sum())
            if self._aging:
                self._last[device[go].astype(np.int64), idx[go]] = self._reads

    def drift_ahead(self, idx, horizon_s: float) -> np.ndarray:
        """Δw (network units, float32) of the MSP pairs over the next horizon_s seconds by the mean drift law
        (TransferConfig.drift_horizon_s): scale·F·Σ± G_now·(r̄(a + h)/r̄(a) − 1), a = age of each device since
        its programming (≥ t_p; a device pulsed in this loop: its age at the latest verify read), G_now as that
        read saw it, r̄ = :func:`pycosim.devices.pcm.drift_with` of the mean-drift population."""
        xb, f = self.xb, self.flat[idx]
        if xb.P_tprog is None or f.size == 0:
            return np.zeros(f.shape, np.float32)
        mp = xb._mean_drift()
        dev = np.concatenate([f, xb.W.size + f])
        G = xb.P.reshape(-1)[dev]
        age = np.maximum(xb.t_s - xb.P_tprog.reshape(-1)[dev], mp.drift_t_prog_s)
        now_G = xb.Pe.reshape(-1)[dev]
        if self._aging:
            _, inloop, a = self._ages(idx, self._reads)
            m = inloop.reshape(-1)
            age = age.copy()
            age[m] = np.maximum(a, mp.drift_t_prog_s)
            now_G = self._msp(idx, self._reads).reshape(-1)
        inst = xb.P_inst.reshape(-1)[dev]
        lev = pcm.drift_params(G, inst, mp)
        now = pcm.drift_with(np.ones_like(G), age, lev, inst, mp)
        later = pcm.drift_with(np.ones_like(G), age + horizon_s, lev, inst, mp)
        dG = now_G * (later / now - np.float32(1))
        k = f.size
        return (np.float32(xb.scale * xb.cfg.F) * (dG[:k] - dG[k:])).astype(np.float32)
