"""Every assumed hardware constant of the timing and energy models, in one place.

The circuits of ``circuits/`` measure the devices, the integrator and the 3T1C programming; what they do not
contain (ADC, digital neurons, wires, drivers, the op-amp's bias current, the schedule's guard times) is an
**assumption**. Each one is a named :class:`Assumption` here with its value, its SI unit, its source and
whether it is an assumption (a value chosen from a published figure or rule of thumb) or a bench value
(a parameter of one of this project's own netlists, repeated here because no bundle scalar carries it).
:mod:`pycosim.timing` and :mod:`pycosim.evaluate.energy` read them only from here (``A.<NAME>.value``), so
the energy report and the timing use the same numbers, and a reader finds every one of them in this file
and in ``docs/evaluation.md`` (table "Assumed constants").

None of these constants is tuned to reach an energy or accuracy figure; each is the value of the cited
source (or the bench) as stated.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Assumption:
    """value (SI, unit in ``unit``), source (citation or bench), kind: 'assumption' | 'bench'."""

    value: float
    unit: str
    source: str
    kind: str = "assumption"

    def as_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source, "kind": self.kind}


# ------------------------------------------------------------------ ADC
ADC_FOM_WALDEN_J = Assumption(
    5e-15, "J/conversion-step",
    "Walden figure of merit FoM_W = P/(f_s·2^ENOB) (R. H. Walden, IEEE J. Sel. Areas Commun. 17, 539 (1999)); "
    "5 fJ/conv-step is an assumption for a SAR ADC at 8 bit and tens of MS/s, inside the envelope of the SAR "
    "designs of B. Murmann, 'ADC Performance Survey 1997-2023' (ISSCC & VLSI Symposium data, Stanford, online), "
    "whose best designs reach ~1 fJ/conv-step at low rates; energy per conversion E = FoM_W·2^ENOB")
ADC_SAMPLE_RATE_HZ = Assumption(
    20e6, "Hz",
    "conversion rate of one column ADC (8-bit SAR at 20 MS/s, one conversion = 50 ns); an assumption well "
    "inside the sampling rates of 8-bit SARs in Murmann's ADC Performance Survey 1997-2023")
ADC_ENOB_LOSS_BITS = Assumption(
    0.0, "bit",
    "ENOB = periphery.adc_bits − this; 0 prices an ideal-resolution conversion (optimistic for energy by 2^loss)")
COLUMNS_PER_ADC = Assumption(
    1.0, "-", "one ADC per integrator line, conversions of all lines in parallel (assumption)")

# ------------------------------------------------------------------ integrator (op-amp bias, reset)
OPAMP_GM_S = Assumption(
    1e-3, "S", "transconductance of the behavioural op-amp, netlists/integrator.lib (gm = 1 mS)", kind="bench")
OPAMP_GM_OVER_ID = Assumption(
    15.0, "1/V",
    "g_m/I_D of the op-amp input pair in moderate inversion (P. Jespers, B. Murmann, 'Systematic Design of "
    "Analog CMOS Circuits', Cambridge Univ. Press (2017), the g_m/I_D method: 5-25 1/V from strong to weak "
    "inversion); bias current of the two-branch stage I = 2·g_m/(g_m/I_D), power P = I·V_DD, drawn only while a "
    "line is reset or integrated (power-gated between reads: an assumption in favour of the design)")
T_INT_RESET_S = Assumption(
    10e-9, "s", "integrator reset before each read: t_rst = 10 ns of circuits/integrator_noise.cir "
    "(ron·C_int = 1 ns at 1 pF)", kind="bench")
T_DIGITAL_S = Assumption(
    10e-9, "s", "digital periphery per layer read (activation function or derivative, error scaling): 10 ns, "
    "an assumption (a few clock cycles at ~500 MHz)")

# ------------------------------------------------------------------ digital neuron
E_NEURON_J = Assumption(
    1.5e-12, "J",
    "one digital neuron operation per line result (scale, activation by table, or the δ·a·(1−a) product): one "
    "16-bit floating-point multiply (1.1 pJ) plus one add (0.4 pJ) at 45 nm, M. Horowitz, 'Computing's energy "
    "problem (and what we can do about it)', ISSCC 2014, pp. 10-14, Fig. 1.1.9; an assumption")

# ------------------------------------------------------------------ wires and drivers
C_WIRE_PER_M = Assumption(
    0.2e-15 / 1e-6, "F/m",
    "wire capacitance ≈ 0.2 fF/µm of a minimum-pitch metal line (N. Weste, D. Harris, 'CMOS VLSI Design', "
    "4th ed., Addison-Wesley (2010), ch. 6, the rule of thumb for on-chip wires); an assumption")
CELL_PITCH_M = Assumption(
    2e-6, "m",
    "pitch of one synapse cell along a row or column line: 2 µm, an assumption sized for a 2PCM+3T1C cell "
    "whose 30 fF storage capacitor (circuits/lsp_up_down.cir cs) as a MOS capacitor at C_ox = 16.8 fF/µm² "
    "(netlists/cmos.lib, t_ox = 2.05 nm) takes 1.8 µm² besides 3 FETs and 2 PCM access devices")
LINES_PER_OUTPUT_FORWARD = Assumption(
    2.0, "-",
    "a synapse puts its conductances on a p and an n column line, each read by its own single-ended "
    "integrator (docs/array.md, integrator lag; netlists/integrator.lib); transposed reads integrate one row "
    "line per input", kind="bench")
V_DD_DRIVER_V = Assumption(
    1.2, "V",
    "supply of the read row drivers = the integrator rails (bundle integrator.v_sat_hi_V ≈ 1.2 V); a line "
    "charged by ΔV from V_DD draws C·ΔV·V_DD: C·ΔV² counted as line charging, C·ΔV·(V_DD − ΔV) as driver loss",
    kind="bench")
V_UPDATE_GATE_SWING_V = Assumption(
    0.69, "V", "3T1C up-pulse gate swing vup_off − vup_on = 1.5 − 0.81 V (circuits/lsp_up_down.cir)", kind="bench")
V_UPDATE_SUPPLY_V = Assumption(
    1.5, "V", "3T1C gate driver supply = boosted gate-off level vup_off (circuits/lsp_up_down.cir)", kind="bench")
V_PROGRAM_GATE_V = Assumption(
    1.3, "V", "PCM word-line level during SET (vg_set, circuits/pcm_set_staircase.cir)", kind="bench")

# ------------------------------------------------------------------ schedule guard times
PULSE_EDGE_S = Assumption(
    5e-9, "s", "rise/fall time of a PCM programming pulse (tr of circuits/pcm_set_staircase.cir)", kind="bench")
PULSE_GAP_S = Assumption(
    10e-9, "s", "guard time between two programming slots of one row (line settling); an assumption")
UPDATE_DUTY = Assumption(
    0.5, "-", "3T1C update pulse slot = pulse width / duty (50 %: 10 ns pulse in a 20 ns slot); an assumption "
    "(the bench circuits/lsp_up_down.cir uses a 100 ns period only to separate pulses in its records)")
T_LSP_RESET_S = Assumption(
    150e-9, "s", "3T1C transmission-gate reset of one row: lines switched, gates on 100 ns, off, lines back "
    "(circuits/lsp_reset.cir sequence)", kind="bench")
T_VERIFY_AFTER_PULSE_S = Assumption(
    7e-6, "s", "a verify read comes at least t_p = 7 µs after its pulse (every pulse has ended; .param tp of "
    "circuits/pcm_drift.cir, pcm.drift_t_prog_s); rows are interleaved so that the wait is hidden when one "
    "iteration over the rows takes longer", kind="bench")


# ------------------------------------------------------------------ the paper's demonstration (tester schedule)
TESTER_EXAMPLE_S = Assumption(
    10e-3, "s",
    "wall time of one training example in the mixed hardware-software experiment of Ambrogio et al., Nature 558, "
    "60 (2018) (PCM on a test chip, 3T1C cells, neurons and arithmetic in software): the software step of a "
    "784-250-125-10 network with a 3T1C circuit model on a 2018 workstation, order of magnitude 1-10 ms; the "
    "paper does not state it. It sets the PCM drift clock of schedule.kind='tester' (pycosim.nn.schedule): with "
    "8,000 examples per interval, 80 s of PCM time between transfers")
TESTER_TRANSFER_S = Assumption(
    300.0, "s",
    "wall time of one transfer in the same experiment: closed-loop program-and-verify of up to 2 x 204,900 PCM "
    "devices by a tester, one pulse-and-read operation taking of order 1 ms through source-measure units "
    "(TESTER_VERIFY_DELAY_S), most "
    "synapses needing one to a few operations: 100-1,000 s; 300 s assumed (the paper does not state it). The "
    "PCM devices are therefore read minutes after programming, where their drift within an interval is a "
    "(380 s/300 s)^-nu change")

TESTER_VERIFY_DELAY_S = Assumption(
    1e-3, "s",
    "age of a PCM device at the verify read that follows its programming pulse in the closed loop of the same "
    "experiment (pulse -> wait -> read, every iteration): the tester switches the device from the pulse source to a "
    "source-measure unit and integrates its read current over an aperture of 0.01-10 power-line cycles, 0.17-167 ms "
    "at 60 Hz (Keithley 2400 Series SourceMeter User's Manual, SCPI command :SENSe:CURRent:NPLCycles; a fast "
    "reading of 0.1 PLC integrates 1.67 ms, whose midpoint is 0.83 ms after its start). 1 ms is an assumption: the "
    "paper does not state its tester's read timing; it is the same order-1-ms pulse-and-read operation that "
    "TESTER_TRANSFER_S counts. Sets transfer.verify_delay_s of schedule.kind='tester' (pycosim.nn.schedule)")

# ------------------------------------------------------------------ GPU reference (no GPU measured here)
GPU_PEAK_FP32_FLOPS = Assumption(
    15.7e12, "FLOP/s",
    "peak FP32 rate of an NVIDIA Tesla V100 (SXM2), the data-centre GPU of the time of Ambrogio et al. (2018): "
    "NVIDIA Tesla V100 GPU Accelerator datasheet (2017/2018), 'single-precision performance 15.7 TFLOPS'. "
    "A datasheet figure, not a measurement of this network: no GPU is available to the project's machines")
GPU_BOARD_POWER_W = Assumption(
    300.0, "W",
    "board power of the same GPU, its thermal design power (NVIDIA Tesla V100 SXM2 datasheet: 300 W); used as "
    "the power of both GPU lines (an upper bound at batch size 1, where the board is mostly waiting)")
GPU_KERNEL_TIME_S = Assumption(
    5e-6, "s",
    "minimum wall time of one GPU kernel at batch size 1 (launch overhead plus a tiny grid): the order of "
    "magnitude of CUDA kernel-launch latency, 'a few microseconds' (NVIDIA CUDA C++ Best Practices Guide, "
    "section on kernel launch overhead and CUDA Graphs); an assumption to be replaced by a measured torch "
    "float run of the same network when a GPU machine is available")


def all_assumptions() -> dict[str, dict]:
    """{NAME: {value, unit, source, kind}} of every constant here (written into report.json)."""
    return {k: v.as_dict() for k, v in globals().items() if isinstance(v, Assumption)}


def c_cell_F() -> float:
    """Wire capacitance of one cell's length of a row or column line (F): C_wire·pitch = 0.4 fF."""
    return C_WIRE_PER_M.value * CELL_PITCH_M.value


def adc_energy_J(bits: int | None) -> float:
    """Energy (J) of one conversion: FoM_W·2^ENOB, ENOB = bits − ADC_ENOB_LOSS_BITS (bits None → 8)."""
    enob = (bits or 8) - ADC_ENOB_LOSS_BITS.value
    return ADC_FOM_WALDEN_J.value * 2.0 ** enob


def t_adc_s() -> float:
    """Time (s) of one conversion: 1/f_s."""
    return 1.0 / ADC_SAMPLE_RATE_HZ.value


def opamp_power_W(v_dd: float | None = None) -> float:
    """Bias power (W) of one integrator op-amp while active: 2·g_m/(g_m/I_D)·V_DD."""
    v = V_DD_DRIVER_V.value if v_dd is None else v_dd
    return 2.0 * OPAMP_GM_S.value / OPAMP_GM_OVER_ID.value * v


# ------------------------------------------------------------------ PCM endurance and redundancy (issue: wear-out)
PCM_ENDURANCE_MEDIAN_CYCLES = Assumption(
    1e8, "cycles",
    "median cycles to failure of one PCM device (pcm.endurance_median_cycles): PCM endurance spans 10^6-10^9 "
    "cycles (G. W. Burr et al., IEEE JETCAS 6, 146 (2016)); 10^8 is the mean cell lifetime assumed by S. Schechter "
    "et al., 'Use ECP, not ECC, for hard failures in resistive memories', ISCA 2010; an assumption")
PCM_ENDURANCE_SIGMA_LN = Assumption(
    0.25, "-",
    "device-to-device spread of the cycles to failure, σ of ln L (pcm.endurance_sigma_ln): the coefficient of "
    "variation 0.25 of cell lifetimes of Schechter et al., ISCA 2010 (a normal distribution there), taken as a "
    "lognormal so that L > 0; an assumption (no PCM array data of the spread were found)")
PCM_STUCK_SET_FRACTION = Assumption(
    0.5, "-",
    "fraction of endurance failures that are stuck-SET (stuck at high conductance, elemental segregation) rather "
    "than stuck-RESET (open, void formation): both modes are reported (W. Kim et al., 'Phase-change memory cycling "
    "endurance', MRS Bull. 44, 710 (2019)); their proportion depends on the programming currents and no source "
    "gives it for these devices: 0.5 is an assumption (pcm.endurance_stuck_high_frac)")
E_POINTER_BIT_WRITE_J = Assumption(
    10e-12 / 64, "J",
    "write of one bit of the per-synapse pair pointer of the redundant schemes (SRAM next to the array): a 64-bit "
    "access of an 8 kB SRAM costs 10 pJ at 45 nm (M. Horowitz, ISSCC 2014, Fig. 1.1.9), i.e. ≈ 0.16 pJ per bit; "
    "an assumption")
SELECT_TRANSISTORS_PER_PAIR = Assumption(
    1.0, "-",
    "select switches per redundant conductance pair (one transistor in series with the pair's two devices, "
    "gated by the pair pointer) that connect one of the k pairs to the read and program lines; an assumption "
    "about the cell design (area counted in cells, energy of the gate swing per switch-over)")
