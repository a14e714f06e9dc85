"""Energy by phase from hand-made counters of a 784-16-10 network: every expected number is written out
from the counts below by independent arithmetic (not by the functions under test), compared with
rel=1e-12 and abs=0 (pytest.approx's default abs=1e-12 would accept 0 for any energy below 1 pJ)."""

import pytest

from pycosim import timing
from pycosim.evaluate import energy

LAYERS = [784, 16, 10]
EX, TEST = 300, 120             # training examples seen; test-set examples read after the one epoch
SCALARS = {"integrator": {"e_read_J": 2e-13}, "pcm": {"e_set_J": 3e-12, "e_reset_J": 5e-12},
           "lsp": {"e_up_J": 2.3e-16, "e_down_J": 2.5e-16, "e_reset_J": 4e-15}}
#: per layer: forward reads = EX + TEST, one integration per output line and read
COUNTERS = [
    {"reads_forward": EX + TEST, "integrations_forward": (EX + TEST) * 16, "integrations_backward": 0,
     "lsp_up_pulses": 1000, "lsp_down_pulses": 800, "pcm_update_set_pulses": 0, "pcm_update_reprogram_set_pulses": 0,
     "pcm_update_resets": 0, "transfer_set_pulses": 5000, "transfer_resets": 60, "transfer_verify_reads": 9000,
     "lsp_resets": 700},
    {"reads_forward": EX + TEST, "integrations_forward": (EX + TEST) * 10, "integrations_backward": EX * 16,
     "lsp_up_pulses": 200, "lsp_down_pulses": 100, "pcm_update_set_pulses": 7, "pcm_update_reprogram_set_pulses": 3,
     "pcm_update_resets": 2, "transfer_set_pulses": 400, "transfer_resets": 6, "transfer_verify_reads": 700,
     "lsp_resets": 50},
]
INIT = [{"set_pulses": 3000, "resets": 40, "verify_reads": 5000}, {"set_pulses": 250, "resets": 4, "verify_reads": 400}]
METRICS = {"examples_seen": EX, "layers": LAYERS, "counters": COUNTERS}


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=0)


def test_operations_of_a_small_network_by_hand():
    # MACs with the bias row: 785·16 = 12,560 and 17·10 = 170 → 12,730; 2 operations per MAC
    ops = energy.operations(LAYERS)
    assert ops["inference"] == 25460
    # + backward of layer 2 (2·170 = 340) + the outer-product update of both layers (2·12,730 = 25,460)
    assert ops["training_example"] == 51260
    assert energy.operations([4, 3]) == {"inference": 30, "training_example": 60}


def test_counts_by_phase_test_inference_not_billed_to_training():
    c = energy.event_counts(METRICS, INIT)
    # forward: EX examples × (16 + 10) lines = 7,800; the TEST reads (120 × 26 = 3,120) are test inference
    assert c["forward"] == {"integration": 7800, "adc_conversion": 7800}
    assert c["test inference"] == {"integration": 3120, "adc_conversion": 3120}
    assert c["backward"] == {"integration": 4800, "adc_conversion": 4800}
    assert c["update"] == {"lsp_up": 1200, "lsp_down": 900, "pcm_set": 10, "pcm_reset": 2}
    # transfers: the run's transfer counts minus the initial programming's
    assert c["transfer"] == {"pcm_set": 2150, "pcm_reset": 22, "integration": 4300, "lsp_reset": 750,
                             "adc_conversion": 4300}
    assert c["initial programming"] == {"pcm_set": 3250, "pcm_reset": 44, "integration": 5400,
                                        "adc_conversion": 5400}


def test_energy_by_phase_and_per_example_by_hand():
    e = energy.energy(METRICS, SCALARS, INIT)
    ph = e["phase_J"]
    assert ph["forward"] == approx(7800 * 2e-13)                               # 1.56e-9 J
    assert ph["test inference"] == approx(3120 * 2e-13)                        # 6.24e-10 J
    assert ph["backward"] == approx(4800 * 2e-13)
    assert ph["update"] == approx(1200 * 2.3e-16 + 900 * 2.5e-16 + 10 * 3e-12 + 2 * 5e-12)   # 4.0501e-11 J
    assert ph["transfer"] == approx(2150 * 3e-12 + 22 * 5e-12 + 4300 * 2e-13 + 750 * 4e-15)  # 7.513e-9 J
    assert ph["initial programming"] == approx(3250 * 3e-12 + 44 * 5e-12 + 5400 * 2e-13)
    training = 7800 * 2e-13 + 4800 * 2e-13 + (1200 * 2.3e-16 + 900 * 2.5e-16 + 10 * 3e-12 + 2 * 5e-12) + \
        (2150 * 3e-12 + 22 * 5e-12 + 4300 * 2e-13 + 750 * 4e-15)
    assert e["per_example_J"]["total"] == approx(training / EX)
    assert e["per_example_J"]["update"] == approx((1200 * 2.3e-16 + 900 * 2.5e-16 + 10 * 3e-12 + 2 * 5e-12) / EX)
    assert e["total_J"] == approx(training + 3120 * 2e-13 + 3250 * 3e-12 + 44 * 5e-12 + 5400 * 2e-13)
    assert e["per_inference_J"] == approx(26 * 2e-13)                          # 16 + 10 lines read
    assert e["gops_per_W"]["training"] == approx(51260 / (training / EX) / 1e9)
    assert e["gops_per_W"]["inference"] == approx(25460 / (26 * 2e-13) / 1e9)
    # the ADC has no circuit, so no bundle energy: every conversion (= integration) counted and listed
    assert e["missing"] == [{"operation": "adc_conversion", "scalar": "adc.e_conversion_J",
                             "count": 7800 + 3120 + 4800 + 4300 + 5400, "meaning": energy.OPERATIONS["adc_conversion"][2]}]
    # time and power from the timing model: forward 2 reads of 326 ns, backward 1, update 8 × 20 ns
    t_ex = 3 * 326e-9 + 160e-9
    assert e["time_s"]["training_example"] == pytest.approx(t_ex, rel=1e-9, abs=0)
    assert e["time_s"]["inference"] == pytest.approx(2 * 326e-9, rel=1e-9, abs=0)
    assert e["power_W"]["training"] == pytest.approx(training / EX / t_ex, rel=1e-9, abs=0)
    assert e["power_W"]["inference"] == pytest.approx(26 * 2e-13 / (2 * 326e-9), rel=1e-9, abs=0)
    assert e["throughput_ops_per_s"]["training"] == pytest.approx(51260 / t_ex, rel=1e-9, abs=0)
    assert e["throughput_ops_per_s"]["inference"] == pytest.approx(25460 / (2 * 326e-9), rel=1e-9, abs=0)
    slow = energy.energy(METRICS, SCALARS, INIT, timing_kw={"pwm_bits": 4})      # 16 ns windows: t_read 86 ns
    assert slow["time_s"]["inference"] == pytest.approx(2 * 86e-9, rel=1e-9, abs=0)


def test_missing_scalars_are_counted_listed_and_left_out():
    sc = {"integrator": {"e_read_J": 2e-13}, "pcm": {"e_set_J": 3e-12, "e_reset_J": 5e-12},
          "lsp": {"e_up_J": 2.3e-16, "e_down_J": 2.5e-16, "e_reset_J": True}}     # a bool is not an energy
    e = energy.energy(METRICS, sc, INIT)
    assert e["per_op_J"]["lsp_reset"] is None and e["per_op_J"]["adc_conversion"] is None
    assert [(m["operation"], m["scalar"], m["count"]) for m in e["missing"]] == [
        ("lsp_reset", "lsp.e_reset_J", 750), ("adc_conversion", "adc.e_conversion_J", 25420)]
    assert e["phase_J"]["transfer"] == approx(2150 * 3e-12 + 22 * 5e-12 + 4300 * 2e-13)
    adc = energy.energy(METRICS, {**SCALARS, "adc": {"e_conversion_J": 1e-14}}, INIT)
    assert adc["phase_J"]["forward"] == approx(7800 * (2e-13 + 1e-14))
    nothing = energy.energy({**METRICS, "counters": [{}, {}]}, {}, [{"set_pulses": 0, "resets": 0,
                                                                      "verify_reads": 0}] * 2)
    assert nothing["total_J"] == 0 and nothing["gops_per_W"] == {"training": None, "inference": None}
    with pytest.raises(ValueError, match="init counts of 1 layers for 2 counter sets"):
        energy.event_counts(METRICS, INIT[:1])


def test_timing_defaults_by_hand():
    assert timing.layer_read_s(16) == pytest.approx(326e-9, rel=1e-12, abs=0)
    assert timing.layer_read_s(16, columns_per_adc=4) == pytest.approx(326e-9 + 3 * 50e-9, rel=1e-12, abs=0)
    assert timing.layer_read_s(2, columns_per_adc=4) == pytest.approx(326e-9 + 50e-9, rel=1e-12, abs=0)
