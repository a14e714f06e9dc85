"""Configuration of one crossbar layer: frozen dataclasses, units in names, loadable from a dict.

``ArrayConfig.from_dict({...})`` (or :func:`pycosim.config.from_dict`) builds it from nested dicts
(training nests it in its TOML and overrides fields by dotted path, e.g. ``array.transfer.mode=open``).
Every number that is not in the calibration bundle is a field here, with its meaning, unit and the
reason for its default. A config object that exists is valid: ``__post_init__`` raises ConfigError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from pycosim.array import schemes
from pycosim.config import check as _check

SYNAPSES = schemes.names()


@dataclass(frozen=True)
class PCMConfig:
    """PCM devices (MSP pair; also the LSP pair of '4pcm').

    d2d_scale: multiplier of every device-to-device deviation from the population mean (1 = as
        simulated in SPICE, 0 = all devices the mean device; studies only). The drift curves are averaged per
        programmed level, so 0 does not keep the population's mean drift at a given G/G_max (shipped bundle,
        G(300 s)/G(t_p): 0.4–4 % lower at 25–80 % of G_max, 10–26 % at 1–10 %; benchmarks/drift_spread_mean.py).
    c2c_scale: multiplier of the cycle-to-cycle log-residual of each SET step (1 = as simulated).
    drift: apply per-device, per-level drift: the circuit's own curve G(t)/G(t_p) of each device and level
        (pcm/drift_g_S, read 10 µs … 10⁴ s after programming), interpolated in ln(t + t_on) and continued as
        ((t + t_on)/(t_last + t_on))^−ν beyond the last read (pycosim.devices.pcm.drift_with).
    drift_t_on_s: onset of drift t_on (s), G ∝ (t + t_on)^−ν: the interpolation coordinate of the drift curve.
        Default 1 µs = the ``ton`` of netlists/pcm.lib with which the bundle's drift reads were simulated
        (scalar pcm.drift_t_on_s); another value re-shapes the curve between the stored reads only (a
        sensitivity knob: a different onset of the device itself needs a bundle made with that ``ton``).
    drift_t_prog_s: time after programming at which pcm/drift_g_prog_S is read (s), used only if the bundle
        lacks the scalar pcm.drift_t_prog_s: .param tp = 7 µs of circuits/pcm_drift.cir.
    drift_scale: multiplier of every device's log-drift ln(G(t)/G(t_p)) and ν (device-requirement studies:
        0.5 = a material drifting half as fast in log G; 1 = as simulated; see pcm.population).
    drift_d2d_scale: multiplier of the device-to-device spread of the log-drift and ν around their per-level mean
        (0 = every device drifts like its level's mean device; 1 = as simulated). Each device keeps its own
        level positions, so 0 does not keep the population's mean drift at a given G/G_max (shipped bundle,
        G(300 s)/G(t_p): 0.5–4 % lower at 25–80 % of G_max, 7–23 % at 1–10 %; benchmarks/drift_spread_mean.py).
    drift_refresh_s: shortest simulated time (s) between re-evaluations of drift in the cached weights.
        Default 1 ms (~560 examples of 1.79 µs): the circuit's effective exponent between 1 ms and 14 ms is
        ≈ 0.035 on the shipped bundle, so a device older than 1 ms loses at most ≈ 0.035·ln 2 ≈ 2.5 % of G
        between two refreshes; a refresh costs one pass over the PCM arrays.
    drift_refresh_rel: a refresh also waits until the youngest device's age a (+ t_on) has grown by this
        fraction since the last one (dimensionless): refresh when Δt ≥ max(drift_refresh_s, rel·(a + t_on)), which bounds
        the loss of any device between refreshes by ν·ln(1 + rel) (0.5 % at ν = 0.05, 1.4 % for the fastest
        RESET devices, rel = 0.1) and keeps
        slow clocks cheap (the tester schedule: minutes-old devices are refreshed every ~30 s, not every 1 ms).
        0 = every drift_refresh_s.
    read_noise: add the bundle's read noise to every analog read (needs pcm/read_noise_*).
    read_noise_growth: the read-noise σ of a device grows with the time a since its programming (verify read) as
        √(ln((a + t_b)/(2 t_b))/ln((t_rec + t_b)/(2 t_b))) (t_b = 250 ns read window, t_rec = 10 µs bench record;
        ×1.84 at 14 ms): the 1/f law of the published PCM model, EXTRAPOLATED from the bench's characterised 1/f
        amplitude to frequencies below its record (the bench resolves only ≥ 1/t_rec). Needs drift on (the
        programming times); False = the bench's σ at every age (pycosim.devices.pcm.read_sigma).
    stuck_reset_frac, stuck_max_frac: yield — fractions of PCM devices stuck at their RESET floor or at
        G_max from the start (default 0: the bundle models no defects).
    endurance_resets: a device that has had more RESETs than this sticks where it is (0 = unlimited;
        PCM endurance of 10⁶–10⁹ cycles, Burr et al., JETCAS 6, 146 (2016), is far above a training run).
        The fixed limit of one value for every device; the per-device model below generalises it.
    endurance_scale: per-device endurance model on (> 0) or off (0, default): each device's cycles to failure
        are drawn once, L_d = endurance_scale·exp(ln endurance_median_cycles + endurance_sigma_ln·z), z ~ N(0, 1)
        (pycosim.devices.pcm.endurance_cycles); a device whose stress R_d + w·S_d (RESETs R_d, SET pulses S_d,
        w = endurance_set_weight) exceeds L_d fails for the rest of the run: stuck at G_max (stuck-SET) with
        probability endurance_stuck_high_frac, else at its RESET floor (stuck-RESET) (pcm.wear_out). 1 = the
        cited distribution; 1e-5 scales it down so that a short run reaches wear-out (dimensionless).
    endurance_median_cycles: median L_d at endurance_scale 1 (dimensionless; RESET cycles). Default 10⁸: PCM endurance spans
        10⁶–10⁹ cycles (Burr et al., IEEE JETCAS 6, 146 (2016)); 10⁸ is the mean cell lifetime of Schechter et al.,
        ISCA 2010 (assumption PCM_ENDURANCE_MEDIAN_CYCLES).
    endurance_sigma_ln: σ of ln L_d between devices (dimensionless). Default 0.25: the coefficient of variation of
        cell lifetimes of Schechter et al., ISCA 2010, as a lognormal (assumption PCM_ENDURANCE_SIGMA_LN).
    endurance_stuck_high_frac: fraction of failures that are stuck-SET (stuck at high conductance; elemental
        segregation) rather than stuck-RESET (open, void formation) — both modes in Kim et al., MRS Bull. 44,
        710 (2019); the proportion is an ASSUMPTION (PCM_STUCK_SET_FRACTION, 0.5: no source gives it).
    endurance_set_weight: stress of one partial-SET pulse in RESET cycles (dimensionless); None = the bundle's
        e_set_J/e_reset_J (0.38 on the shipped bundle): stress ∝ dissipated energy, an ASSUMPTION and an upper
        bound (a partial SET does not melt the cell; the failure mechanisms are driven by melt-quench cycles).
    redundant_pairs: k (dimensionless), conductance pairs per significance level of the redundant schemes ('4pcm-kpairs': the
        lower pair; '2pcm+3t1c-kpairs': the PCM pair); one pair is connected at a time, the others wait at
        their RESET floor behind a select switch. 1 = the plain scheme. Other schemes ignore it (pairs).
    redundancy: how the k pairs are used: 'rotate' (wear levelling: after every RESET of the connected pair the
        next pair in the ring is connected, so the RESETs are spread over k pairs), 'spare' (a pair stays
        connected until one of its devices has failed, then the next healthy pair is switched in at its next
        RESET), 'rotate+spare' (rotation that skips pairs with a failed device).
    g_max_scale: multiplier of each device's G_max (limited dynamic range study; 1 = as simulated).
    saturation_frac: in '2pcm' and the LSP pair of '4pcm', a pair whose larger device exceeds this
        fraction of its G_max is RESET and its difference reprogrammed (Burr et al., IEEE TED 62, 3498
        (2015) use occasional RESET of saturated pairs; 0.9 leaves the last ~4 steps of the
        staircase, where ΔG is < 0.3 µS, unused).
    """

    d2d_scale: float = 1.0
    c2c_scale: float = 1.0
    drift: bool = True
    drift_t_prog_s: float = 7e-6
    drift_t_on_s: float = 1e-6
    drift_scale: float = 1.0
    drift_d2d_scale: float = 1.0
    drift_refresh_s: float = 1e-3
    drift_refresh_rel: float = 0.1
    read_noise: bool = True
    read_noise_growth: bool = True
    stuck_reset_frac: float = 0.0
    stuck_max_frac: float = 0.0
    endurance_resets: int = 0
    endurance_scale: float = 0.0
    endurance_median_cycles: float = 1e8
    endurance_sigma_ln: float = 0.25
    endurance_stuck_high_frac: float = 0.5
    endurance_set_weight: float | None = None
    redundant_pairs: int = 1
    redundancy: Literal["rotate", "spare", "rotate+spare"] = "rotate"
    g_max_scale: float = 1.0
    saturation_frac: float = 0.9

    def __post_init__(self):
        for k in ("d2d_scale", "c2c_scale", "drift_refresh_s", "drift_refresh_rel", "g_max_scale", "drift_scale",
                  "drift_d2d_scale"):
            _check(getattr(self, k) >= 0, f"pcm.{k}={getattr(self, k)}: must be ≥ 0")
        for k in ("stuck_reset_frac", "stuck_max_frac"):
            _check(0 <= getattr(self, k) <= 1, f"pcm.{k}={getattr(self, k)}: must be in [0, 1]")
        _check(self.stuck_reset_frac + self.stuck_max_frac <= 1, "pcm.stuck_reset_frac + pcm.stuck_max_frac must be ≤ 1")
        _check(self.endurance_resets >= 0, f"pcm.endurance_resets={self.endurance_resets}: must be ≥ 0 (0 = unlimited)")
        _check(0 < self.saturation_frac <= 1, f"pcm.saturation_frac={self.saturation_frac}: must be in (0, 1]")
        _check(self.endurance_scale >= 0, f"pcm.endurance_scale={self.endurance_scale}: must be ≥ 0 (0 = off)")
        _check(self.endurance_median_cycles > 0,
               f"pcm.endurance_median_cycles={self.endurance_median_cycles}: must be > 0 (cycles)")
        _check(self.endurance_sigma_ln >= 0, f"pcm.endurance_sigma_ln={self.endurance_sigma_ln}: must be ≥ 0")
        _check(0 <= self.endurance_stuck_high_frac <= 1,
               f"pcm.endurance_stuck_high_frac={self.endurance_stuck_high_frac}: must be in [0, 1]")
        _check(self.endurance_set_weight is None or self.endurance_set_weight >= 0,
               f"pcm.endurance_set_weight={self.endurance_set_weight}: must be ≥ 0 or None (the bundle's e_set/e_reset)")
        _check(1 <= self.redundant_pairs <= 16, f"pcm.redundant_pairs={self.redundant_pairs}: must be 1…16")
        _check(self.redundancy in ("rotate", "spare", "rotate+spare"),
               f"pcm.redundancy={self.redundancy!r}: allowed values are 'rotate', 'spare', 'rotate+spare'")
        _check(self.drift_t_on_s > 0, f"pcm.drift_t_on_s={self.drift_t_on_s}: must be > 0")
        _check(self.drift_t_prog_s > 0, f"pcm.drift_t_prog_s={self.drift_t_prog_s}: must be > 0")


@dataclass(frozen=True)
class LSPConfig:
    """3T1C cells (LSP of '2pcm+3t1c').

    d2d_scale: multiplier of every cell's deviation from the population mean of each table.
    c2c_scale: multiplier of the pulse-to-pulse σ of ΔV_C (needs lsp.dv_*_c2c_sigma_V;
        0 disables it and the scalars are not needed).
    leak: integrate leakage dV_C/dt(V_C) over the time passed to ``leak(dt_s)``.
    leak_batch_s: leakage is applied when the accumulated un-applied time reaches this (s); 0 = at
        every ``leak`` call. Between applications reads see V_C up to leak_batch_s·|dV_C/dt| stale.
        None (default) = derived from the bundle: the time in which the 99th-percentile leakage rate
        moves V_C by 1 % of a mean up step, but at least the time in which the median rate moves it by
        16 float32 ulps at the top of the V_C range (so that float32 V_C does not round tiny steps
        away). Shipped bundle (rates ~0.02 V/s): ~1 ms. The value
        used is Crossbar.leak_batch_s.
    read_noise: add the bundle's 3T1C read noise (needs lsp/read_noise_*).
    up_down_ratio: override of the LSP asymmetry |ΔV_up/ΔV_down| (dimensionless): the down steps of every cell are
        scaled so that the population ratio becomes this value (None = as simulated).
    """

    d2d_scale: float = 1.0
    c2c_scale: float = 1.0
    leak: bool = True
    leak_batch_s: float | None = None
    read_noise: bool = True
    up_down_ratio: float | None = None

    def __post_init__(self):
        for k in ("d2d_scale", "c2c_scale"):
            _check(getattr(self, k) >= 0, f"lsp.{k}={getattr(self, k)}: must be ≥ 0")
        _check(self.leak_batch_s is None or self.leak_batch_s >= 0, f"lsp.leak_batch_s={self.leak_batch_s}: must be ≥ 0 or None")
        _check(self.up_down_ratio is None or self.up_down_ratio > 0, f"lsp.up_down_ratio={self.up_down_ratio}: must be > 0")


@dataclass(frozen=True)
class PeripheryConfig:
    """Read path: PWM inputs, integrators, ADCs (Ambrogio et al. 2018, Methods).

    input_bits: resolution of the pulse-width encoding of |x| ≤ 1 (None = exact durations).
    forward_full_scale, backward_full_scale: output (network units) that reaches the integrator's linear
        range q_linear_max_C; this sets the read-pulse length for x = 1:
        t_x1 = q_net_fs_C·scale/(V_read·full_scale) (q_net_fs_C: the linear range less the column read's 3σ
        common-mode and offset headroom, bundle integrator.q_net_fs_C). Outputs beyond the linear range clip
        at the rails.
        Defaults: 16 covers sigmoid pre-activations (σ(±16) is saturated to 10⁻⁷); 2 covers the
        backward sums W·δ̂ of a 784-250-125-10 network with the errors normalised to max|δ̂| = 1.
    adc_bits: resolution of the ADC spanning the rails (None = no quantisation).
    integrator_noise: add the integrator's output noise (needs integrator.noise_out_rms_V).
    mismatch_scale: multiplier of the integrators' offset and gain spread and of the column read's per-line
        mirror gain errors and conveyor offsets (1 = as simulated, 0 = nominal periphery).
    read_v_V: read voltage of the rows (V); None = the 3T1C bench's read voltage (lsp.read_v_V),
        the voltage of the synapse benches.
    normalize_backward: scale δ by 1/max|δ| before the PWM encoding and the result back by max|δ| in the
        digital periphery (errors are small — often < 1/255 of the ±1 PWM range — and would otherwise
        quantise to zero; the scaling is one multiply per vector in digital logic).
    t_read_s: read-pulse length for |x| = 1 (s), the same in both directions; None = derived from the
        full scales (above). Setting it (e.g. to pycosim.timing.read_window_s() = 256 ns) fixes the
        window instead, and the full scale follows: y_fs = q_net_fs_C·scale/(V_read·t_read_s).
    integrator_lag: model the column read's hold error, a gain κ_L = 1/(1 + G_L/g_in) per line of total
        conductance G_L (S) held by a conveyor of input conductance g_in (:func:`pycosim.devices.integrator.lag_gain`,
        bundle integrator.conveyor_g_in_S ≈ 200 S: κ_L ≥ 0.9997 at 785 rows; it was 1/(1 + G_L/(C_int·2π·GBW))
        ≈ 0.2 with the single-ended integrator). The mirrors' gain errors ε multiply the same line gains
        (PeripheryConfig.mismatch_scale; docs/circuits/integrator.md): forward reads y_j = scale·Σ_i x̂_i·(κ⁺_j·W⁺_ij − κ⁻_j·W⁻_ij) with W^± the siemens a
        synapse puts on its p and n column line, transposed reads y_i = κ_i·Σ_j W_ij·δ̂_j (κ_i of row line
        i). The line totals are taken when the weight cache is rebuilt (drift refresh, transfer, state
        changes): between refreshes the LSP updates move G_L by < 1 % (docs/array.md). Found and
        measured by ``pycosim validate`` (docs/validation.md); False = ideal virtual grounds.
    lag_compensation: the digital periphery divides each line's result by the line's nominal gain
        κ̂ (forward (κ⁺_j + κ⁻_j)/2, transposed κ_i) from the same line totals — a per-line gain
        calibration (one all-rows read per line at each refresh, its energy not counted). What it cannot
        remove stays as error: the κ⁺/κ⁻ mismatch of a column pair, the staleness between refreshes and
        the ADC resolution lost to the smaller swing.
    drift_compensation: PCM drift compensation in the digital periphery (beyond Ambrogio et al. 2018):
        'none' (default; the paper's periphery), 'column' or 'layer'. Reference PCM devices of the same
        population as the array (drift_ref_devices of them per column pair, or per layer) are RESET and
        programmed open loop to drift_ref_level·mean G_max whenever the column's (layer's) devices are
        programmed or transferred, and read once right after (Ĝ_prog, the sum of their reads); at every
        drift refresh (pcm.drift_refresh_s) they are read again (Ĝ(t)) and the column's (layer's) gain
        ĝ = Ĝ_prog/Ĝ(t) multiplies the forward read results of its column (all columns) and the
        transposed read's inputs δ_j (reference devices after Ambrogio et al., IEDM 2019; the global drift
        compensation of Joshi et al., Nat. Commun. 11, 2473 (2020)). A transfer moves every synapse whose
        effective weight would change by more than transfer.threshold when ĝ returns to 1 (docs/array.md).
        Their reads, SET pulses and RESETs are counted (Counters.drift_ref_*).
    drift_ref_devices: reference devices per column pair ('column') or per layer ('layer'). Default 16:
        the device-to-device spread of the drift (σ of ln(G(t)/G_prog) at 14 ms ≈ 0.03–0.04 above 25 % of
        G_max and 0.09 at 10 % on the schema-4 bundle; 0.11 on the schema-3 one) and the read noise (σ/G ≈ 2–6 %)
        of one device average down by 1/√16 to ≈ 1 % and ≈ 1 % of gain error; an ASSUMPTION about the area a design would spend (16 devices ≈ 2 % of a 785-row
        column).
    drift_ref_level: the reference devices' programmed level as a fraction of the population's mean G_max
        (dimensionless).
        Default 0.4: ν depends on the level (ν_e ≈ 0.10 at RESET, 0.034 at 25 %, 0.024 at G_max on the
        shipped bundle), so the reference sits where the conductance that carries the read signal sits:
        the conductance-weighted median level of the larger device of a pair, 0.38–0.39 of mean G_max in
        all three layers (measured, ambrogio2018 after 10,000 examples, seed 0; docs/array.md). A design
        choice from that measurement, not fitted to accuracy.
    """

    input_bits: int | None = 8
    forward_full_scale: float = 16.0
    backward_full_scale: float = 2.0
    adc_bits: int | None = 8
    integrator_noise: bool = True
    mismatch_scale: float = 1.0
    read_v_V: float | None = None
    normalize_backward: bool = True
    t_read_s: float | None = None
    integrator_lag: bool = True
    lag_compensation: bool = True
    drift_compensation: Literal["none", "column", "layer"] = "none"
    drift_ref_devices: int = 16
    drift_ref_level: float = 0.4

    def __post_init__(self):
        _check(self.drift_compensation in ("none", "column", "layer"),
               f"periphery.drift_compensation={self.drift_compensation!r}: allowed values are 'none', 'column', 'layer'")
        _check(1 <= self.drift_ref_devices <= 4096, f"periphery.drift_ref_devices={self.drift_ref_devices}: must be 1…4096")
        _check(0 < self.drift_ref_level <= 1, f"periphery.drift_ref_level={self.drift_ref_level}: must be in (0, 1] "
               f"(a fraction of the mean G_max)")
        _check(self.t_read_s is None or self.t_read_s > 0, f"periphery.t_read_s={self.t_read_s}: must be > 0 (s) or None")
        _check(self.input_bits is None or 1 <= self.input_bits <= 24, f"periphery.input_bits={self.input_bits}: must be 1…24 or None")
        _check(self.adc_bits is None or 1 <= self.adc_bits <= 24, f"periphery.adc_bits={self.adc_bits}: must be 1…24 or None")
        for k in ("forward_full_scale", "backward_full_scale"):
            _check(getattr(self, k) > 0, f"periphery.{k}={getattr(self, k)}: must be > 0")
        _check(self.mismatch_scale >= 0, f"periphery.mismatch_scale={self.mismatch_scale}: must be ≥ 0")
        _check(self.read_v_V is None or self.read_v_V > 0, f"periphery.read_v_V={self.read_v_V}: must be > 0")


@dataclass(frozen=True)
class UpdateConfig:
    """Weight update by coincident pulses (Ambrogio et al. 2018; Burr et al., IEEE TED 62, 3498 (2015)).

    The desired change ΔW_ij = −lr·x_i·δ_j is converted into n_ij = ΔW_ij/Δw_pulse pulses on the LSP,
    with Δw_pulse the weight change of one pulse of the mean device at its initial state.
    rounding: 'deterministic' (nearest integer), 'stochastic' (floor + Bernoulli(fraction), unbiased) or
        'trains' (stochastic pulse trains of max_pulses slots on rows and columns, a pulse per coincidence,
        unbiased, the hardware scheme; see Crossbar.pulse_counts).
    max_pulses: largest |n_ij| of one update (pulses beyond it are dropped; the train length for 'trains').
    trains_split: γ (dimensionless, 0…1), how the 'trains' update shares the learning-rate scale
        between columns and rows: with P = (largest desired count)/BL, the column of the largest |δ| fires in a
        slot with probability q_max = min(1, P^γ) and the row of the largest |x| with p_max = P/q_max. The split
        does not change E[n_ij], only the noise: a column either fires in a slot, moving all its driven rows at
        once, or not, so its sum Σ_i z_i·n_ij for an input z has relative variance (1 − q_j)/(BL·q_j) +
        Σ_i z_i²·p_i(1 − p_i)/(BL·q_j·(Σ_i z_i·p_i)²) (the column lottery, which does not average over rows),
        and a row's transposed sum the same with p and q exchanged. 0.5 is the balanced split p_max = q_max
        = √P (Gokmen & Vlasov, Front. Neurosci. 10, 333 (2016); the 'update management' of Rasch et al.,
        arXiv:1906.02698 (2019)): both reads equally noisy. 0 lets the columns fire at full probability (no
        column lottery) and puts the whole scale on the rows: the default, because an error in a forward sum
        changes the network's output and every later layer while a transposed sum's error only perturbs the
        next update; measured in docs/training.md (0 in every layer beat 0 in the first layer and 0.5 in
        the others on MNIST-backrand, and equalled 0.5 on MNIST).
    """

    rounding: Literal["deterministic", "stochastic", "trains"] = "trains"
    max_pulses: int = 8
    trains_split: float = 0.0

    def __post_init__(self):
        _check(self.rounding in ("deterministic", "stochastic", "trains"),
               f"update.rounding={self.rounding!r}: allowed values are 'deterministic', 'stochastic', 'trains'")
        _check(1 <= self.max_pulses <= 1000, f"update.max_pulses={self.max_pulses}: must be 1…1000")
        _check(0.0 <= self.trains_split <= 1.0, f"update.trains_split={self.trains_split}: must be 0…1")


@dataclass(frozen=True)
class TransferConfig:
    """Transfer of the LSP contribution into the MSP pair (Ambrogio et al. 2018).

    mode: 'closed' (SET pulses with a verify read after each until within tolerance) or 'open'
        (pulse counts from the calibrated mean ΔG(G), no verify).
    threshold: only synapses whose LSP contribution |pol·(g − g_shared)| (network units) exceeds this are
        moved; all LSPs of the transferred columns are reset (smaller contributions are dropped, at most
        the threshold each). Default 0.02 ≈ the programming precision (rms ≈ 0.019): a contribution below it
        is not worth a PCM program (≈ 5 LSP pulses at the default scale).
    tolerance: closed-loop target tolerance on |W − W_target| (network units). Default 0.05: the PCM read
        noise of the circuit is 1/f, so a verify read (bench window, 250 ns) cannot be averaged below
        σ_W ≈ 0.015–0.02 for a synapse high on the staircase; a tolerance under ≈ 2.5 σ_W makes the loop
        accept lucky reads and spend its pulse budget (measured, 200×50 array: ±0.02 → 82 % within,
        107k SET pulses; ±0.05 → 99.6 %, 20k pulses; rms error ≈ 0.019 in both — the precision floor).
    max_pulses: pulse budget per synapse for one transfer (closed loop: SET pulses incl. restarts;
        open loop: the largest computed count).
    max_restarts: RESET-and-restart cycles allowed per synapse when a device saturates.
    refresh_frac: closed loop: a synapse to be programmed whose smaller PCM device is above
        refresh_frac·G_max (its own) has both devices RESET first, so the pair's common-mode conductance
        stays low. Both devices of a pair drift (G ∝ (t/t_p)^−ν with a per-device ν), so a pair holding
        a small weight on two high conductances carries a drift error ∝ F·G·Δν·ln(t/t_p) that the
        network keeps having to undo; SET-only tuning otherwise raises both devices transfer after
        transfer (measured, ambrogio2018 after 4 epochs with refresh only at saturation: median
        min(G⁺, G⁻) = 45 % of G_max in layers 2–3, and test accuracy falling from 94.9 % after epoch 2 to
        92.7 % after epoch 4). 1 = RESET only when a device saturates (Ambrogio et al. 2018, Methods).
    invert_polarity: flip the LSP polarity bit of each transferred column after its reset.
    interval: training examples between two transfers (examples; Ambrogio et al. 2018: 8,000 for MNIST); used by
        the training loop, which calls :meth:`Crossbar.transfer` every *interval* examples.
    drift_horizon_s: closed loop only: tune each synapse to the weight the calibration's MEAN drift law
        predicts this long after now (s), w_pred = w_read + scale·F·Σ± G·(r̄(a + h)/r̄(a) − 1) with a the
        device's age since programming and r̄ the population-mean drift of its level (pcm/drift_*), i.e.
        program high by the drift expected until mid-interval (drift pre-compensation, cf. the mean-drift
        compensation of Joshi et al., Nat. Commun. 11, 2473 (2020)). The devices' own drift spread stays as
        error. None = tune to the weight read now (Ambrogio et al. 2018).
    verify_t_read_s: integration window of a verify read and of the target read (s). None = the PCM
        read-noise bench window (a longer one averages nothing more away from 1/f noise; see
        Crossbar.noise_factor). The window used is reported in TransferStats.t_verify_s.
    verify_delay_s: closed loop only: age of a device at the verify read after its programming pulse (s) — the
        loop runs pulse → wait → read, and the read sees every device it programmed drifted to this age
        (G(t_v) of the PCM drift curve; a device pulsed j iterations earlier at j·t_v), so it converges on the
        drifted value and the later drift is G(t)/G(t_v). None = the layer's own accelerator schedule,
        pycosim.timing.verify_delay_s (≈ (n_rows − 1)·(t_vread + t_set_slot): rows are read and pulsed one
        after the other); the training's schedule.kind 'tester' sets schedule.verify_delay_s. 0 (or anything
        up to pcm.drift_t_prog_s) = read at the drift law's programming time t_p, the drift-free verify of
        earlier versions (and of the SPICE side of ``pycosim validate``). Reported in
        TransferStats.t_verify_delay_s.
    """

    mode: Literal["closed", "open"] = "closed"
    threshold: float = 0.02
    tolerance: float = 0.05
    max_pulses: int = 100
    max_restarts: int = 2
    refresh_frac: float = 0.25
    invert_polarity: bool = True
    interval: int = 8000
    verify_t_read_s: float | None = None
    drift_horizon_s: float | None = None
    verify_delay_s: float | None = None

    def __post_init__(self):
        _check(self.verify_delay_s is None or (math.isfinite(self.verify_delay_s) and self.verify_delay_s >= 0),
               f"transfer.verify_delay_s={self.verify_delay_s}: must be a finite time ≥ 0 (s) or None")
        _check(self.drift_horizon_s is None or self.drift_horizon_s > 0,
               f"transfer.drift_horizon_s={self.drift_horizon_s}: must be > 0 (s) or None")
        _check(self.verify_t_read_s is None or self.verify_t_read_s > 0,
               f"transfer.verify_t_read_s={self.verify_t_read_s}: must be > 0 (s) or None")
        _check(self.mode in ("closed", "open"), f"transfer.mode={self.mode!r}: allowed values are 'closed', 'open'")
        _check(self.threshold >= 0, f"transfer.threshold={self.threshold}: must be ≥ 0")
        _check(self.tolerance > 0, f"transfer.tolerance={self.tolerance}: must be > 0")
        _check(self.max_pulses >= 1, f"transfer.max_pulses={self.max_pulses}: must be ≥ 1")
        _check(self.interval >= 1, f"transfer.interval={self.interval}: must be ≥ 1 example")
        _check(self.max_restarts >= 0, f"transfer.max_restarts={self.max_restarts}: must be ≥ 0")
        _check(0 < self.refresh_frac <= 1, f"transfer.refresh_frac={self.refresh_frac}: must be in (0, 1]")


@dataclass(frozen=True)
class ArrayConfig:
    """One crossbar layer.

    synapse: '2pcm+3t1c' (W = F·(G⁺ − G⁻) + pol·(g − g_shared), Ambrogio et al., Nature 558, 60 (2018));
        '4pcm' (W = F·(G⁺ − G⁻) + (g⁺ − g⁻), PCM pairs of different significance, Cristiano et al.,
        J. Appl. Phys. 124, 151901 (2018)); '2pcm' (W = F·(G⁺ − G⁻), updates as SET pulses, Burr et al.,
        IEEE TED 62, 3498 (2015)); 'ideal' (float32 weights, exact arithmetic: the software reference);
        '2pcm+meas' (as '2pcm+3t1c' with a measured device as the LSP: pycosim calibrate-data --role lsp);
        '4pcm-kpairs', '2pcm+3t1c-kpairs': the same with k = pcm.redundant_pairs pairs at the lower (4pcm) or
        the PCM (2pcm+3t1c) significance, used by pcm.redundancy (pycosim.array.schemes.redundant).
    F: significance factor of the MSP pair (Ambrogio et al.: 3).
    weight_max: network weight of the full MSP range, F·(mean G_max − mean RESET floor); it fixes the
        weight scale (network units per siemens) = weight_max / (F·ΔG_range). Default 1: the ±1 range
        holds the weights of a 784-250-125-10 MNIST network (|W| < 1 after training at lr ≤ 0.1).
    """

    synapse: Literal[SYNAPSES] = "2pcm+3t1c"
    F: float = 3.0
    weight_max: float = 1.0
    pcm: PCMConfig = field(default_factory=PCMConfig)
    lsp: LSPConfig = field(default_factory=LSPConfig)
    periphery: PeripheryConfig = field(default_factory=PeripheryConfig)
    update: UpdateConfig = field(default_factory=UpdateConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)

    def __post_init__(self):
        schemes.info(self.synapse)     # ConfigError (one line, listing the names) if unknown
        _check(self.F > 0, f"F={self.F}: must be > 0")
        _check(self.weight_max > 0, f"weight_max={self.weight_max}: must be > 0")

    @classmethod
    def from_dict(cls, data: dict) -> "ArrayConfig":
        """Build from a nested dict (unknown keys, wrong types, bad ranges → ConfigError)."""
        from pycosim.config import from_dict
        return from_dict(cls, data)

    def to_dict(self) -> dict:
        from pycosim.config import to_dict
        return to_dict(self)
