"""Energy by phase from hand-made counters of a 784-16-10 network: every expected number is written out
from the counts below by independent arithmetic (not by the functions under test), compared with
rel=1e-12 and abs=0 (pytest.approx's default abs=1e-12 would accept 0 for any energy below 1 pJ).

The model (pycosim.evaluate.energy, docstring table): every term is priced, the bundle's scalars for the
integrator charge and the device pulses, the named constants of pycosim.assumptions for the rest. The
constants are read here by name (their values are the assumption, not energy.py's arithmetic); every count,
product and sum is written out below."""

from types import SimpleNamespace

import numpy as np
import pytest

from pycosim import assumptions as A
from pycosim import timing
from pycosim.evaluate import energy

LAYERS = [784, 16, 10]          # layer 1: 785 rows (bias row) × 16 outputs; layer 2: 17 rows × 10 outputs
EX, TEST = 300, 120             # training examples seen; test-set examples read after the one epoch
SCALARS = {"integrator": {"e_read_J": 2e-13, "v_sat_hi_V": 1.25},
           "pcm": {"e_set_J": 3e-12, "e_reset_J": 5e-12, "set_v_V": 1.5, "reset_v_V": 2.4},
           "lsp": {"e_up_J": 2.3e-16, "e_down_J": 2.5e-16, "e_reset_J": 4e-15}}
#: per layer: forward reads = EX + TEST (one per training example, then the test set), transposed reads EX
#: (layer 2 only); transfer counters include the initial programming (INIT), 3 transfers
COUNTERS = [
    {"reads_forward": EX + TEST, "reads_backward": 0, "integrations_forward": (EX + TEST) * 16,
     "integrations_backward": 0, "lsp_up_pulses": 1000, "lsp_down_pulses": 800, "pcm_update_set_pulses": 0,
     "pcm_update_reprogram_set_pulses": 0, "pcm_update_resets": 0, "transfer_set_pulses": 5000,
     "transfer_resets": 60, "transfer_verify_reads": 9000, "transfer_iterations": 50, "lsp_resets": 700,
     "transfers": 3},
    {"reads_forward": EX + TEST, "reads_backward": EX, "integrations_forward": (EX + TEST) * 10,
     "integrations_backward": EX * 17, "lsp_up_pulses": 200, "lsp_down_pulses": 100, "pcm_update_set_pulses": 7,
     "pcm_update_reprogram_set_pulses": 3, "pcm_update_resets": 2, "transfer_set_pulses": 400,
     "transfer_resets": 6, "transfer_verify_reads": 700, "transfer_iterations": 25, "lsp_resets": 50,
     "transfers": 3},
]
INIT = [{"set_pulses": 3000, "resets": 40, "verify_reads": 5000, "iterations": 20},
        {"set_pulses": 250, "resets": 4, "verify_reads": 400, "iterations": 10}]
#: the run's derived timing (pycosim.timing.hardware): read voltage and windows per layer and direction
HW = {"layers": [{"n_rows": 785, "n_out": 16, "read_v_V": 0.1, "t_int_forward_s": 100e-9,
                  "t_int_backward_s": 200e-9, "t_verify_s": 250e-9},
                 {"n_rows": 17, "n_out": 10, "read_v_V": 0.2, "t_int_forward_s": 40e-9,
                  "t_int_backward_s": 80e-9, "t_verify_s": 300e-9}],
      "n_pulse_max": 8,
      "example_breakdown_s": {"forward": 0.5e-6, "backward": 0.2e-6, "update": 0.16e-6, "example": 0.86e-6}}
METRICS = {"examples_seen": EX, "layers": LAYERS, "counters": COUNTERS, "hardware_timing": HW,
           "transfers": {"total_duration_s": 3e-3}}
#: a run without hardware timing (older metrics.json): PWM fallback windows (256 ns), V_read 0.1 V
BARE = {"examples_seen": EX, "layers": LAYERS, "counters": COUNTERS}

# ---- per-operation energies by hand, from the bundle above and the named assumptions
E_INT, E_SET, E_RESET, E_UP, E_DOWN, E_LRST = 2e-13, 3e-12, 5e-12, 2.3e-16, 2.5e-16, 4e-15
VDD = 1.25                                                         # the bundle's integrator.v_sat_hi_V
C = A.C_WIRE_PER_M.value * A.CELL_PITCH_M.value                    # one cell length of wire (0.4 fF)
P_OPAMP = 2 * A.OPAMP_GM_S.value / A.OPAMP_GM_OVER_ID.value * VDD  # op-amp bias power while a line is read
T_RST = A.T_INT_RESET_S.value
ADC = A.ADC_FOM_WALDEN_J.value * 2 ** (8 - A.ADC_ENOB_LOSS_BITS.value)    # FoM_W·2^ENOB, 8-bit default
NEU = A.E_NEURON_J.value
UPD = C * A.V_UPDATE_GATE_SWING_V.value * A.V_UPDATE_SUPPLY_V.value      # one cell length of update line
SET1, RESET1 = 785 * C * 1.5 ** 2, 785 * C * 2.4 ** 2              # bit line of one pulse, layer 1 (785 rows)
SET2, RESET2 = 17 * C * 1.5 ** 2, 17 * C * 2.4 ** 2                # layer 2 (17 rows)
WL1, WL2 = 16 * C * A.V_PROGRAM_GATE_V.value ** 2, 10 * C * A.V_PROGRAM_GATE_V.value ** 2   # word line, row slot


def bias(t, amps=1.5):
    """op-amp bias energy of one line read with an integration window t: the column read biases two conveyors
    and one integrator op-amp per pair of lines (1.5 per line: forward, verify reads), one conveyor and one
    integrator per row line (2: transposed reads)."""
    return amps * P_OPAMP * (T_RST + t)


def charge(v):
    """line charging of one cell length at V_read = v."""
    return C * v * v


def driver(v):
    """driver loss of the same from V_DD."""
    return C * v * (VDD - v)


# ---- counts by hand (layer 1 + layer 2)
# forward, training share (one read per example): line reads 2·16·300 = 9,600 + 2·10·300 = 6,000 (p and n
# lines); neuron results 16·300 = 4,800 + 10·300 = 3,000; cells 785·16·300 = 3,768,000 + 17·10·300 = 51,000
# test inference (120 reads): 2·16·120 = 3,840 + 2·10·120 = 2,400; 1,920 + 1,200; 1,507,200 + 20,400
# backward (layer 2 only, 300 transposed reads): 17·300 = 5,100 row-line reads and neurons; 17·10·300 = 51,000
# update: 2·785·16·8·300 = 60,288,000 + 2·17·10·8·300 = 816,000 cell lengths pulsed; 3T1C 1,200 up, 900 down;
#   PCM (layer 2) 7 + 3 = 10 SET, 2 RESET
# transfer (counters − initial programming): layer 1 SET 2,000, RESET 20, verify 4,000 (8,000 line reads),
#   iterations 30, cells 16·785·(30 + 3) = 414,480, word-line slots 785·30 = 23,550, 3T1C resets 700;
#   layer 2 SET 150, RESET 2, verify 300 (600 line reads), iterations 15, cells 10·17·(15 + 3) = 3,060,
#   word-line slots 17·15 = 255, 3T1C resets 50
# initial programming: layer 1 SET 3,000, RESET 40, verify 5,000 (10,000), cells 16·785·20 = 251,200,
#   word-line slots 785·20 = 15,700; layer 2 SET 250, RESET 4, verify 400 (800), cells 10·17·10 = 1,700,
#   word-line slots 17·10 = 170
PHASE_OP = {
    "forward": {"integration": 15600 * E_INT, "integrator_bias": 9600 * bias(100e-9) + 6000 * bias(40e-9),
                "adc_conversion": 7800 * ADC, "digital_neuron": 7800 * NEU,
                "line_charging": 3768000 * charge(0.1) + 51000 * charge(0.2),
                "row_drivers": 3768000 * driver(0.1) + 51000 * driver(0.2)},
    "test inference": {"integration": 6240 * E_INT, "integrator_bias": 3840 * bias(100e-9) + 2400 * bias(40e-9),
                       "adc_conversion": 3120 * ADC, "digital_neuron": 3120 * NEU,
                       "line_charging": 1507200 * charge(0.1) + 20400 * charge(0.2),
                       "row_drivers": 1507200 * driver(0.1) + 20400 * driver(0.2)},
    "backward": {"integration": 5100 * E_INT, "integrator_bias": 5100 * bias(80e-9, 2), "adc_conversion": 5100 * ADC,
                 "digital_neuron": 5100 * NEU, "line_charging": 51000 * charge(0.2),
                 "row_drivers": 51000 * driver(0.2)},
    "update": {"lsp_up": 1200 * E_UP, "lsp_down": 900 * E_DOWN, "pcm_set": 10 * E_SET, "pcm_reset": 2 * E_RESET,
               "update_drivers": 61104000 * UPD, "programming_lines": 10 * SET2 + 2 * RESET2},
    "transfer": {"pcm_set": 2150 * E_SET, "pcm_reset": 22 * E_RESET, "lsp_reset": 750 * E_LRST,
                 "integration": 8600 * E_INT, "integrator_bias": 8000 * bias(250e-9) + 600 * bias(300e-9),
                 "adc_conversion": 4300 * ADC, "digital_neuron": 4300 * NEU,
                 "line_charging": 414480 * charge(0.1) + 3060 * charge(0.2),
                 "row_drivers": 414480 * driver(0.1) + 3060 * driver(0.2),
                 "programming_lines": 2000 * SET1 + 20 * RESET1 + 23550 * WL1 + 150 * SET2 + 2 * RESET2 + 255 * WL2},
    "initial programming": {"pcm_set": 3250 * E_SET, "pcm_reset": 44 * E_RESET, "integration": 10800 * E_INT,
                            "integrator_bias": 10000 * bias(250e-9) + 800 * bias(300e-9),
                            "adc_conversion": 5400 * ADC, "digital_neuron": 5400 * NEU,
                            "line_charging": 251200 * charge(0.1) + 1700 * charge(0.2),
                            "row_drivers": 251200 * driver(0.1) + 1700 * driver(0.2),
                            "programming_lines": 3000 * SET1 + 40 * RESET1 + 15700 * WL1 + 250 * SET2
                                                 + 4 * RESET2 + 170 * WL2},
}
TRAINING = ("forward", "backward", "update", "transfer")


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=0)


def total(ph):
    return sum(PHASE_OP[ph].values())


def test_operations_of_a_small_network_by_hand():
    # MACs with the bias row: 785·16 = 12,560 and 17·10 = 170 → 12,730; 2 operations per MAC
    ops = energy.operations(LAYERS)
    assert ops["inference"] == 25460
    # + backward of layer 2 (2·170 = 340) + the outer-product update of both layers (2·12,730 = 25,460)
    assert ops["training_example"] == 51260
    assert energy.operations([4, 3]) == {"inference": 30, "training_example": 60}


def test_counts_by_phase_test_inference_not_billed_to_training():
    c = energy.event_counts(METRICS, INIT)
    # forward: 300 training reads × (2·16 + 2·10) lines = 15,600; the 120 test reads (120 × 52 = 6,240) are
    # test inference. Line reads count for the integrator charge and its bias; the ADC converts once per column
    # read (a pair of lines forward and in verify reads, one row line transposed).
    assert c["forward"] == {"integration": 15600, "integrator_bias": 15600, "adc_conversion": 7800,
                            "digital_neuron": 7800, "line_charging": 3819000, "row_drivers": 3819000}
    assert c["test inference"] == {"integration": 6240, "integrator_bias": 6240, "adc_conversion": 3120,
                                   "digital_neuron": 3120, "line_charging": 1527600, "row_drivers": 1527600}
    assert c["backward"] == {"integration": 5100, "integrator_bias": 5100, "adc_conversion": 5100,
                             "digital_neuron": 5100, "line_charging": 51000, "row_drivers": 51000}
    # update: programming lines = the 10 SET + 2 RESET bit-line pulses
    assert c["update"] == {"lsp_up": 1200, "lsp_down": 900, "pcm_set": 10, "pcm_reset": 2,
                           "update_drivers": 61104000, "programming_lines": 12}
    # transfers: the run's transfer counts minus the initial programming's; cells 414,480 + 3,060;
    # programming lines 2,150 SET + 22 RESET + 23,550 + 255 word-line slots
    assert c["transfer"] == {"pcm_set": 2150, "pcm_reset": 22, "lsp_reset": 750, "integration": 8600,
                             "integrator_bias": 8600, "adc_conversion": 4300, "digital_neuron": 4300,
                             "line_charging": 417540, "row_drivers": 417540, "programming_lines": 25977}
    # initial programming: cells 251,200 + 1,700; lines 3,250 SET + 44 RESET + 15,700 + 170 word-line slots
    assert c["initial programming"] == {"pcm_set": 3250, "pcm_reset": 44, "integration": 10800,
                                        "integrator_bias": 10800, "adc_conversion": 5400, "digital_neuron": 5400,
                                        "line_charging": 252900, "row_drivers": 252900, "programming_lines": 19164}
    # the same counts when the timing is passed instead of read from metrics.json
    assert energy.event_counts({k: v for k, v in METRICS.items() if k != "hardware_timing"}, INIT, HW) == c
    # a training run that read the test set as often as it trained: half the reads are still not training
    two = energy.event_counts({**METRICS, "counters": [{**COUNTERS[0], "reads_forward": 2 * EX}, COUNTERS[1]]}, INIT)
    assert two["forward"]["digital_neuron"] == 7800 and two["test inference"]["digital_neuron"] == 16 * 300 + 1200


def test_energy_by_phase_and_per_example_by_hand():
    e = energy.energy(METRICS, SCALARS, INIT)
    # every operation of every phase (none dropped, none added: the others are exactly 0)
    for ph, ops in PHASE_OP.items():
        got = e["phase_op_J"][ph]
        assert set(got) == set(energy.ALL_OPERATIONS), ph
        for op in energy.ALL_OPERATIONS:
            assert got[op] == approx(ops.get(op, 0.0)), (ph, op)
        assert e["phase_J"][ph] == approx(total(ph)), ph
    assert e["phase_J"]["test inference"] > 0 and e["phase_op_J"]["forward"]["adc_conversion"] > 0
    training = total("forward") + total("backward") + total("update") + total("transfer")
    assert e["per_example_J"]["total"] == approx(training / EX)
    for ph in TRAINING:
        assert e["per_example_J"][ph] == approx(total(ph) / EX), ph
    assert e["per_example_op_J"]["adc_conversion"] == approx((7800 + 5100 + 4300) * ADC / EX)   # one per column read
    assert e["total_J"] == approx(training + total("test inference") + total("initial programming"))
    # analog core: the bundle's integrator charge and device pulses of the training phases
    core = ((15600 + 5100 + 8600) * E_INT + (10 + 2150) * E_SET + (2 + 22) * E_RESET + 1200 * E_UP + 900 * E_DOWN
            + 750 * E_LRST)
    assert e["per_example_core_J"] == approx(core / EX)
    # one inference: layer 1 2·16 = 32 line reads (100 ns window), 16 neurons, 785·16 = 12,560 cells;
    # layer 2 20 line reads (40 ns), 10 neurons, 17·10 = 170 cells
    inf = (52 * E_INT + 32 * bias(100e-9) + 20 * bias(40e-9) + 26 * ADC + 26 * NEU
           + 12560 * (charge(0.1) + driver(0.1)) + 170 * (charge(0.2) + driver(0.2)))
    assert e["per_inference_J"] == approx(inf)
    assert e["per_inference_core_J"] == approx(52 * E_INT)
    assert e["per_inference_op_J"]["adc_conversion"] == approx(26 * ADC)
    assert e["gops_per_W"]["training"] == approx(51260 / (training / EX) / 1e9)
    assert e["gops_per_W"]["inference"] == approx(25460 / inf / 1e9)
    assert e["gops_per_W"]["training_core"] == approx(51260 / (core / EX) / 1e9)
    assert e["gops_per_W"]["inference_core"] == approx(25460 / (52 * E_INT) / 1e9)
    # energies of one event, layer 1 (forward window where it matters)
    per = e["per_op_J"]
    assert per["integration"] == E_INT and per["adc_conversion"] == approx(ADC)
    assert per["integrator_bias"] == approx(bias(100e-9)) and per["line_charging"] == approx(charge(0.1))
    assert per["row_drivers"] == approx(driver(0.1)) and per["programming_lines"] == approx(SET1)
    assert per["update_drivers"] == approx(UPD) and per["digital_neuron"] == NEU
    # every term priced: nothing missing
    assert e["missing"] == [] and all(v is not None and v > 0 for v in per.values())
    # time: the run's breakdown plus the transfers' 3 ms spread over 300 examples (10 µs each)
    t_ex = 0.86e-6 + 3e-3 / 300
    assert e["time_s"]["breakdown"]["transfer"] == approx(3e-3 / 300)
    assert e["time_s"]["training_example"] == approx(t_ex)
    assert e["time_s"]["inference"] == 0.5e-6
    assert e["power_W"]["training"] == approx(training / EX / t_ex)
    assert e["power_W"]["inference"] == approx(inf / 0.5e-6)
    assert e["throughput_ops_per_s"]["training"] == approx(51260 / t_ex)
    assert e["throughput_ops_per_s"]["inference"] == approx(25460 / 0.5e-6)


def test_energy_of_a_run_without_hardware_timing_by_hand():
    """An older metrics.json (no hardware_timing, no transfer durations): PWM fallback windows of 256 ns,
    V_read 0.1 V, 8 update slots; time from the timing model: reads of 10 + 256 + 50 + 10 = 326 ns."""
    e = energy.energy(BARE, SCALARS, INIT)
    inf = (52 * (E_INT + bias(256e-9)) + 26 * (ADC + NEU) + (12560 + 170) * (charge(0.1) + driver(0.1)))
    assert e["per_inference_J"] == approx(inf)
    # backward: 5,100 row-line reads (256 ns) and 51,000 cells at 0.1 V
    bwd = 5100 * (E_INT + ADC + bias(256e-9, 2) + NEU) + 51000 * (charge(0.1) + driver(0.1))
    assert e["phase_J"]["backward"] == approx(bwd)
    assert e["phase_op_J"]["update"]["update_drivers"] == approx(61104000 * UPD)
    # forward 2 reads of 326 ns, backward 1, update 8 × 20 ns; no transfer time
    t_ex = 3 * 326e-9 + 160e-9
    assert e["time_s"]["breakdown"]["transfer"] == 0
    assert e["time_s"]["training_example"] == pytest.approx(t_ex, rel=1e-9, abs=0)
    assert e["time_s"]["inference"] == pytest.approx(2 * 326e-9, rel=1e-9, abs=0)
    assert e["power_W"]["inference"] == pytest.approx(inf / (2 * 326e-9), rel=1e-9, abs=0)
    assert e["throughput_ops_per_s"]["training"] == pytest.approx(51260 / t_ex, rel=1e-9, abs=0)
    slow = energy.energy(BARE, SCALARS, INIT, timing_kw={"pwm_bits": 4})      # 16 ns windows: t_read 86 ns
    assert slow["time_s"]["inference"] == pytest.approx(2 * 86e-9, rel=1e-9, abs=0)


def test_missing_scalars_are_counted_listed_and_left_out():
    sc = {"integrator": {"e_read_J": 2e-13, "v_sat_hi_V": 1.25},
          "pcm": {"e_set_J": 3e-12, "e_reset_J": 5e-12, "set_v_V": 1.5, "reset_v_V": 2.4},
          "lsp": {"e_up_J": 2.3e-16, "e_down_J": 2.5e-16, "e_reset_J": True}}     # a bool is not an energy
    e = energy.energy(METRICS, sc, INIT)
    # the ADC is priced from the assumptions, never missing; the 3T1C reset is counted, listed, left out
    assert e["per_op_J"]["lsp_reset"] is None and e["per_op_J"]["adc_conversion"] == approx(ADC)
    assert [(m["operation"], m["scalar"], m["count"]) for m in e["missing"]] == [("lsp_reset", "lsp.e_reset_J", 750)]
    assert e["phase_J"]["transfer"] == approx(total("transfer") - 750 * E_LRST)
    assert e["phase_op_J"]["transfer"]["lsp_reset"] == 0
    # no integrator charge in the bundle: every line read (15,600 + 6,240 + 5,100 + 8,600 + 10,800) listed
    no_int = energy.energy(METRICS, {**SCALARS, "integrator": {"v_sat_hi_V": 1.25}}, INIT)
    assert [(m["operation"], m["scalar"], m["count"]) for m in no_int["missing"]] == [
        ("integration", "integrator.e_read_J", 46340)]
    assert no_int["phase_J"]["forward"] == approx(total("forward") - 15600 * E_INT)
    assert no_int["per_inference_core_J"] == 0 and no_int["gops_per_W"]["inference_core"] is None
    # a 6-bit ADC: 2^6 instead of 2^8 per conversion, nothing else changes
    six = energy.energy(METRICS, SCALARS, INIT, adc_bits=6)
    adc6 = A.ADC_FOM_WALDEN_J.value * 2 ** (6 - A.ADC_ENOB_LOSS_BITS.value)
    assert six["phase_J"]["forward"] == approx(total("forward") - 7800 * ADC + 7800 * adc6)
    # bundle without the integrator rail and PCM pulse levels: V_DD = V_DD_DRIVER_V, SET 1.6 V
    bare_sc = {"integrator": {"e_read_J": 2e-13}, "pcm": {"e_set_J": 3e-12, "e_reset_J": 5e-12}, "lsp": {}}
    d = energy.energy(METRICS, bare_sc, INIT)["per_op_J"]
    vdd = A.V_DD_DRIVER_V.value
    assert d["integrator_bias"] == approx(1.5 * 2 * A.OPAMP_GM_S.value / A.OPAMP_GM_OVER_ID.value * vdd * (T_RST + 100e-9))
    assert d["row_drivers"] == approx(C * 0.1 * (vdd - 0.1)) and d["programming_lines"] == approx(785 * C * 1.6 ** 2)
    # nothing counted, nothing trained: no energy, no training efficiency, nothing listed missing; one
    # inference still has its assumed periphery terms but no analog core without the integrator scalar
    nothing = energy.energy({**METRICS, "examples_seen": 0, "counters": [{}, {}]}, {},
                            [{"set_pulses": 0, "resets": 0, "verify_reads": 0}] * 2)
    assert nothing["total_J"] == 0 and nothing["missing"] == []
    assert nothing["gops_per_W"]["training"] is None and nothing["gops_per_W"]["training_core"] is None
    assert nothing["gops_per_W"]["inference_core"] is None and nothing["gops_per_W"]["inference"] > 0
    with pytest.raises(ValueError, match="init counts of 1 layers for 2 counter sets"):
        energy.event_counts(METRICS, INIT[:1])
    with pytest.raises(ValueError, match="init counts of 1 layers for 2 counter sets"):
        energy.energy(METRICS, SCALARS, INIT[:1])


def test_column_read_energy_by_hand():
    """The column read's energy per line read (bench integrator_diff): the mirrors' supply energy scales with
    the window, the C_int charge does not; a pair read is shared by its two lines, a row line has its own."""
    integ = {"e_read_mirrors_J": 1.2e-9, "e_read_cint_J": 3e-11, "t_window_s": 258e-9, "e_read_J": 1.23e-9}
    assert energy.integration_energy_J(integ, 258e-9, 2) == approx((1.2e-9 + 3e-11) / 2)
    assert energy.integration_energy_J(integ, 2 * 258e-9, 1) == approx(2 * 1.2e-9 + 3e-11)
    assert energy.integration_energy_J({"e_read_J": 2e-13}, 1e-7, 2) == 2e-13      # older bundle: per line
    assert energy.integration_energy_J({}, 1e-7, 2) is None
    hw = {"n_rows": 785, "n_out": 16, "read_v_V": 0.1, "t_int_forward_s": 258e-9, "t_int_backward_s": 516e-9,
          "t_verify_s": 129e-9}
    e = energy.layer_energies({"integrator": {**integ, "v_sat_hi_V": 1.25}}, hw)
    assert e["integration"] == e["integration_forward"] == approx((1.2e-9 + 3e-11) / 2)
    assert e["integration_backward"] == approx(2 * 1.2e-9 + 3e-11)
    assert e["integration_verify"] == approx((0.6e-9 + 3e-11) / 2)


def test_timing_defaults_by_hand():
    assert timing.layer_read_s(16) == pytest.approx(326e-9, rel=1e-12, abs=0)
    assert timing.layer_read_s(16, columns_per_adc=4) == pytest.approx(326e-9 + 3 * 50e-9, rel=1e-12, abs=0)
    assert timing.layer_read_s(2, columns_per_adc=4) == pytest.approx(326e-9 + 50e-9, rel=1e-12, abs=0)


def test_per_op_energies_and_init_counts_by_hand():
    # a number (int or float) is an energy; a bool, a text or a missing section/key is not (None)
    got = energy.per_op_energies({"integrator": {"e_read_J": 2}, "pcm": {"e_set_J": 3e-12, "e_reset_J": True},
                                  "lsp": None})
    assert got == {"integration": 2.0, "pcm_set": 3e-12, "pcm_reset": None, "lsp_up": None, "lsp_down": None,
                   "lsp_reset": None}
    assert type(got["integration"]) is float
    assert energy.per_op_energies({"lsp": {"e_up_J": "2e-16", "e_down_J": 2.5e-16}})["lsp_up"] is None
    assert energy.per_op_energies({})["lsp_down"] is None
    # the initial programming's counts from the checkpoint's TransferStats, as plain ints
    stats = [SimpleNamespace(set_pulses=np.int64(3000), resets=np.int32(40), verify_reads=5000, iterations=20,
                             n_moved=99),
             SimpleNamespace(set_pulses=250, resets=4, verify_reads=400.0, iterations=np.int64(10), n_moved=7)]
    ini = energy.init_counts(SimpleNamespace(init_stats=stats))
    assert ini == INIT
    assert all(type(v) is int for d in ini for v in d.values())
    assert energy.init_counts(SimpleNamespace(init_stats=[])) == []


def test_counts_follow_the_update_slots_of_the_run():
    """update_drivers = 2·n_rows·n_out cell lengths × max_pulses slots × examples: with 2 slots
    2·(785·16 + 17·10)·2·300 = 15,276,000; the slots come from the argument, else the run's timing, else 8."""
    assert energy.event_counts(METRICS, INIT, n_pulse_max=2)["update"]["update_drivers"] == 15276000
    hw4 = {**HW, "n_pulse_max": 4}
    assert energy.event_counts({**METRICS, "hardware_timing": hw4}, INIT)["update"]["update_drivers"] == 30552000
    assert energy.event_counts(BARE, INIT, hw4)["update"]["update_drivers"] == 30552000
    assert energy.event_counts(BARE, INIT)["update"]["update_drivers"] == 61104000
    no_slots = {k: v for k, v in HW.items() if k != "n_pulse_max"}
    assert energy.event_counts(BARE, INIT, no_slots)["update"]["update_drivers"] == 61104000
    # the run's timing given as an argument wins over metrics.json's
    assert energy.event_counts({**METRICS, "hardware_timing": hw4}, INIT, HW)["update"]["update_drivers"] == 61104000
    # energy(): the same slots (the run's, else timing_kw's, else 8), in the counts and in the priced update
    e4 = energy.energy({**METRICS, "hardware_timing": hw4}, SCALARS, INIT)
    assert e4["counts"]["update"]["update_drivers"] == 30552000
    assert e4["phase_op_J"]["update"]["update_drivers"] == approx(30552000 * UPD)
    b2 = energy.energy(BARE, SCALARS, INIT, timing_kw={"n_pulse_max": 2})
    assert b2["counts"]["update"]["update_drivers"] == 15276000
    assert b2["phase_op_J"]["update"]["update_drivers"] == approx(15276000 * UPD)
    assert b2["time_s"]["breakdown"]["update"] == pytest.approx(2 * 20e-9, rel=1e-12, abs=0)


def test_energy_report_fields_by_hand():
    e = energy.energy(METRICS, SCALARS, INIT)
    # per layer, one event of every operation (layer 2: 17 rows, 10 outputs, V_read 0.2 V, windows 40/80/300 ns)
    l1, l2 = e["per_op_J_by_layer"]
    assert l2["integrator_bias_forward"] == approx(bias(40e-9)) and l2["integrator_bias_backward"] == approx(bias(80e-9, 2))
    assert l2["integrator_bias_verify"] == approx(bias(300e-9)) and l2["integrator_bias"] == approx(bias(40e-9))
    assert l2["line_charging"] == approx(charge(0.2)) and l2["row_drivers"] == approx(driver(0.2))
    assert l2["set_bit_line"] == approx(SET2) and l2["reset_bit_line"] == approx(RESET2)
    assert l2["word_line_slot"] == approx(WL2) and l2["pcm_reset"] == E_RESET and l2["lsp_down"] == E_DOWN
    assert l1["set_bit_line"] == approx(SET1) and l1["word_line_slot"] == approx(WL1)
    assert l1["integrator_bias_backward"] == approx(bias(200e-9, 2)) and l1["integrator_bias_verify"] == approx(bias(250e-9))
    assert set(e["per_op_J"]) == set(energy.ALL_OPERATIONS)
    assert e["per_op_J"]["pcm_reset"] == E_RESET and e["per_op_J"]["lsp_up"] == E_UP
    assert e["per_op_J"]["lsp_reset"] == E_LRST and e["per_op_J"]["pcm_set"] == E_SET
    # one inference, per operation (layer 1: 32 line reads, 16 neurons, 12,560 cells; layer 2: 20, 10, 170)
    pi = e["per_inference_op_J"]
    assert pi["integration"] == approx(52 * E_INT) and pi["digital_neuron"] == approx(26 * NEU)
    assert pi["integrator_bias"] == approx(32 * bias(100e-9) + 20 * bias(40e-9))
    assert pi["line_charging"] == approx(12560 * charge(0.1) + 170 * charge(0.2))
    assert pi["row_drivers"] == approx(12560 * driver(0.1) + 170 * driver(0.2))
    assert pi["pcm_set"] == 0 and pi["update_drivers"] == 0 and pi["programming_lines"] == 0
    # per training example, per operation: the training phases only (not the test set, not the initial programming)
    pe = e["per_example_op_J"]
    assert set(pe) == set(energy.ALL_OPERATIONS)
    assert pe["pcm_set"] == approx((10 + 2150) * E_SET / EX) and pe["lsp_reset"] == approx(750 * E_LRST / EX)
    assert pe["digital_neuron"] == approx((7800 + 5100 + 4300) * NEU / EX)
    assert pe["update_drivers"] == approx(61104000 * UPD / EX)
    assert e["operations"] == {"inference": 25460, "training_example": 51260}
    assert e["operation_convention"] == ("2 operations per MAC, bias row included; a training example counts the "
                                         "forward, backward (layers 2..L) and update MACs (Ambrogio et al. 2018)")
    assert e["not_modelled"] == list(energy.NOT_MODELLED) and len(e["not_modelled"]) == 2
    assert e["assumptions"] == A.all_assumptions() and "ADC_FOM_WALDEN_J" in e["assumptions"]
    # the breakdown is the run's, with the transfers' time added (the run's dict is not modified)
    assert e["time_s"]["breakdown"] == {**HW["example_breakdown_s"], "transfer": approx(1e-5),
                                        "example_with_transfers": approx(0.86e-6 + 1e-5)}
    assert "transfer" not in HW["example_breakdown_s"]
    # the timing may be given as an argument instead of read from metrics.json
    g = energy.energy({k: v for k, v in METRICS.items() if k != "hardware_timing"}, SCALARS, INIT, hw=HW)
    assert g["per_inference_J"] == approx(e["per_inference_J"]) and g["time_s"] == e["time_s"]
    assert g["phase_J"] == {ph: approx(v) for ph, v in e["phase_J"].items()}
    # a run without transfer durations, or with None: no transfer time
    for tr in ({}, {"total_duration_s": None}):
        t = energy.energy({**METRICS, "transfers": tr}, SCALARS, INIT)["time_s"]
        assert t["breakdown"]["transfer"] == 0 and t["training_example"] == 0.86e-6
    t = energy.energy({k: v for k, v in METRICS.items() if k != "transfers"}, SCALARS, INIT)["time_s"]
    assert t["training_example"] == 0.86e-6


def test_missing_operations_are_listed_with_their_meaning_and_count():
    sc = {**SCALARS, "pcm": {"set_v_V": 1.5, "reset_v_V": 2.4, "e_set_J": 3e-12}, "lsp": {"e_up_J": 2.3e-16}}
    e = energy.energy(METRICS, sc, INIT)
    # counts over every phase: RESET 2 + 22 + 44 (update, transfer, initial programming); 3T1C down 900, reset 750
    assert e["missing"] == [
        {"operation": "pcm_reset", "scalar": "pcm.e_reset_J", "count": 68, "meaning": "RESET pulse on one PCM device"},
        {"operation": "lsp_down", "scalar": "lsp.e_down_J", "count": 900, "meaning": "3T1C down pulse"},
        {"operation": "lsp_reset", "scalar": "lsp.e_reset_J", "count": 750,
         "meaning": "3T1C transmission-gate reset of one cell"}]
    assert e["per_op_J"]["pcm_reset"] is None and e["per_op_J"]["lsp_down"] is None
    assert e["phase_op_J"]["update"]["pcm_reset"] == 0 and e["phase_op_J"]["update"]["lsp_up"] == approx(1200 * E_UP)
    # a scalar missing for an operation that was never counted is not listed
    quiet = energy.energy({**METRICS, "counters": [{**c, "lsp_resets": 0} for c in COUNTERS]},
                          {**SCALARS, "lsp": {"e_up_J": 2.3e-16, "e_down_J": 2.5e-16}}, INIT)
    assert quiet["missing"] == []


def test_per_example_energy_of_a_run_that_saw_no_example():
    """examples_seen = 0 with counted transfers: the per-example energies divide by 1, not by 0."""
    c = [{"transfer_set_pulses": 3000 + 4, "transfer_resets": 40, "transfer_verify_reads": 5000,
          "transfer_iterations": 20}, {"transfer_set_pulses": 250, "transfer_resets": 4, "transfer_verify_reads": 400,
                                       "transfer_iterations": 10}]
    e = energy.energy({**METRICS, "examples_seen": 0, "counters": c}, SCALARS, INIT)
    assert e["phase_op_J"]["transfer"]["pcm_set"] == approx(4 * E_SET)
    assert e["per_example_J"]["transfer"] == approx(e["phase_J"]["transfer"]) and e["phase_J"]["transfer"] > 0
    assert e["per_example_J"]["total"] == approx(e["phase_J"]["transfer"])
    assert e["time_s"]["breakdown"]["transfer"] == approx(3e-3)


# ---- the column read priced from the counted line charge (issue #20: an estimate, not the full-input bound)
#: a bundle with the bench's split of the mirror energy (integrator_diff at zero, half and full input)
E_IDLE, T_IDLE, K_Q, E_CINT, E_MIR, T_W = 4e-12, 271e-9, 2.4, 3e-11, 1.2e-9, 258e-9
SPLIT = {**SCALARS, "integrator": {"e_read_J": 2e-13, "v_sat_hi_V": 1.25, "e_read_mirrors_J": E_MIR,
                                   "e_read_cint_J": E_CINT, "t_window_s": T_W, "e_read_idle_J": E_IDLE,
                                   "e_read_idle_t_s": T_IDLE, "e_read_mirror_J_per_C": K_Q}}
#: the plus-line charge (C) the arrays counted: layer 1 and layer 2 (forward, transposed, verify, reference)
Q = [{"line_charge_forward_C": 6e-8, "line_charge_backward_C": 0.0, "line_charge_verify_C": 9e-8,
      "line_charge_ref_C": 0.0},
     {"line_charge_forward_C": 2.1e-9, "line_charge_backward_C": 3e-10, "line_charge_verify_C": 7e-10,
      "line_charge_ref_C": 1e-11}]
COUNTED = {**METRICS, "counters": [{**c, **q} for c, q in zip(COUNTERS, Q)]}


def fixed(t, lines):
    """input-independent energy of one line read over a window t: idle mirrors scaled to t, plus C_int swing."""
    return (E_IDLE * t / T_IDLE + E_CINT) / lines


def test_column_read_estimate_by_hand():
    """Zero input costs exactly the idle part; the activity part is k·Q and doubles when Q doubles."""
    integ = SPLIT["integrator"]
    assert energy.integration_estimate_J(integ, 100e-9, 2, 1, 0.0) == approx((4e-12 * 100e-9 / 271e-9 + 3e-11) / 2)
    no_cint = {**integ, "e_read_cint_J": 0.0}
    assert energy.integration_estimate_J(no_cint, T_IDLE, 1, 1, 0.0) == approx(E_IDLE)      # the idle part, no more
    e0 = energy.integration_estimate_J(integ, 100e-9, 2, 32, 0.0)
    e1 = energy.integration_estimate_J(integ, 100e-9, 2, 32, 5e-10)
    e2 = energy.integration_estimate_J(integ, 100e-9, 2, 32, 1e-9)
    assert e1 - e0 == pytest.approx(2.4 * 5e-10, rel=1e-9, abs=0)                          # 1.2 nJ per 0.5 nC
    assert e2 - e0 == pytest.approx(2 * (e1 - e0), rel=1e-9, abs=0)                         # doubled activity
    assert energy.integration_estimate_J({"e_read_J": 2e-13}, 1e-7, 2, 1, 1e-9) is None     # no split: no estimate
    # full input of the bench's line (Q⁺ = 507 pC) over the bench window reproduces the old bound, to 1e-3
    full = {**integ, "e_read_idle_J": 0.0, "e_read_mirrors_J": 2.4 * 507e-12}
    assert energy.integration_estimate_J(full, T_W, 2, 2, 507e-12) == pytest.approx(
        2 * energy.integration_energy_J(full, T_W, 2), rel=1e-12, abs=0)


def test_column_read_energy_uses_the_counted_line_charge():
    """784-16-10, counters of COUNTERS plus the charges Q: the integration energy of every phase by hand,
    n_lines·E_fixed + k·Q, forward and verify charges shared by read count (training/test, programming/transfer)."""
    share = EX / (EX + TEST)
    want = {
        "forward": 2 * 16 * EX * fixed(100e-9, 2) + 2.4 * 6e-8 * share
                   + 2 * 10 * EX * fixed(40e-9, 2) + 2.4 * 2.1e-9 * share,
        "test inference": 2 * 16 * TEST * fixed(100e-9, 2) + 2.4 * 6e-8 * (1 - share)
                          + 2 * 10 * TEST * fixed(40e-9, 2) + 2.4 * 2.1e-9 * (1 - share),
        "backward": 17 * EX * fixed(80e-9, 1) + 2.4 * 3e-10,
        "transfer": 2 * 4000 * fixed(250e-9, 2) + 2.4 * 9e-8 * 4000 / 9000
                    + 2 * 300 * fixed(300e-9, 2) + 2.4 * (7e-10 * 300 / 700 + 1e-11),
        "initial programming": 2 * 5000 * fixed(250e-9, 2) + 2.4 * 9e-8 * 5000 / 9000
                               + 2 * 400 * fixed(300e-9, 2) + 2.4 * 7e-10 * 400 / 700,
    }
    got = energy.energy(COUNTED, SPLIT, INIT)
    for ph, j in want.items():
        assert got["phase_op_J"][ph]["integration"] == approx(j), ph
    assert got["integration"]["basis"] == "counted line charge (estimate)"
    per_ex = (want["forward"] + want["backward"] + want["transfer"]) / EX
    assert got["per_example_op_J"]["integration"] == approx(per_ex)
    line = 2.4 * (6e-8 * share + 2.1e-9 * share + 3e-10 + 9e-8 * 4000 / 9000 + 7e-10 * 300 / 700 + 1e-11) / EX
    assert got["integration"]["per_example_J"]["line_charge"] == approx(line)
    assert got["integration"]["per_example_J"]["fixed"] == approx(per_ex - line)
    # the former price, every line read at full input, is kept beside the totals as the upper bound
    bound = lambda t, lines: (E_MIR * t / T_W + E_CINT) / lines  # noqa: E731
    bound_ex = (2 * 16 * EX * bound(100e-9, 2) + 2 * 10 * EX * bound(40e-9, 2) + 17 * EX * bound(80e-9, 1)
                + 2 * 4000 * bound(250e-9, 2) + 2 * 300 * bound(300e-9, 2)) / EX
    assert got["integration"]["per_example_J"]["full_input_bound"] == approx(bound_ex)
    # one inference: one forward read of each layer with the run's mean charge per read
    inf = (2 * 16 * fixed(100e-9, 2) + 2.4 * 6e-8 / (EX + TEST)
           + 2 * 10 * fixed(40e-9, 2) + 2.4 * 2.1e-9 / (EX + TEST))
    assert got["per_inference_op_J"]["integration"] == approx(inf)


def test_column_read_without_a_counted_charge_is_the_labelled_bound():
    """A run from before the line counters (or a bundle without the split): every line read at full input,
    labelled as the upper bound."""
    old = energy.energy(METRICS, SPLIT, INIT)
    assert old["integration"]["basis"] == "full input (upper bound)"
    assert old["integration"]["per_example_J"]["line_charge"] == 0.0
    assert old["per_example_op_J"]["integration"] == approx(old["integration"]["per_example_J"]["full_input_bound"])
    nosplit = energy.energy(COUNTED, SCALARS, INIT)
    assert nosplit["integration"]["basis"] == "full input (upper bound)"
    assert nosplit["per_example_op_J"]["integration"] == approx(energy.energy(METRICS, SCALARS, INIT)
                                                                ["per_example_op_J"]["integration"])
