"""The lifetime projection with SET stress, the endurance spread and its uncertainty; the periphery cost of k pairs."""

import numpy as np
import pytest

from pycosim.array.counters import worn_by_role
from pycosim.evaluate import energy, lifetime
from pycosim.errors import ConfigError


def test_without_spread_or_set_stress_it_is_the_reset_projection():
    rng = np.random.default_rng(0)
    R = rng.poisson(5, 50_000)
    a = lifetime.projection(R, 1000, 2e-6, fraction=1e-3)
    b = lifetime.stress_projection(R, np.zeros_like(R), 1000, 2e-6, set_weight=0.3, sigma_ln=0.0, fraction=1e-3,
                                   repeats=8)
    assert b["examples_to_failure"] == pytest.approx(a["examples_to_failure"])
    assert b["seconds_p16"] <= b["seconds_to_failure"] <= b["seconds_p84"]


def test_set_pulses_count_with_their_weight_and_the_spread_shortens_the_first_failures():
    rng = np.random.default_rng(1)
    R, S = rng.poisson(4, 20_000), rng.poisson(40, 20_000)
    kw = dict(sigma_ln=0.0, repeats=4)
    r_only = lifetime.stress_projection(R, S, 1000, 1e-6, set_weight=0.0, **kw)["examples_to_failure"]
    both = lifetime.stress_projection(R, S, 1000, 1e-6, set_weight=0.1, **kw)["examples_to_failure"]
    assert both < r_only
    # a device with R = 4, S = 40 at w = 0.1 has stress 8: a uniform write pattern gives exactly E·N/8
    flat = lifetime.stress_projection(np.full(100, 4), np.full(100, 40), 1000, 1e-6, set_weight=0.1, **kw)
    assert flat["examples_to_failure"] == pytest.approx(1e8 * 1000 / 8)
    spread = lifetime.stress_projection(np.full(100_000, 4), np.full(100_000, 40), 1000, 1e-6, set_weight=0.1,
                                        sigma_ln=0.25, repeats=4)
    # the first 0.1 % fail at the −3.09σ quantile of the lognormal
    assert spread["examples_to_failure"] == pytest.approx(1e8 * 1000 / 8 * np.exp(-3.09 * 0.25), rel=0.03)


def test_a_run_too_short_to_stress_the_quantile_is_a_lower_bound():
    R = np.zeros(10_000)
    R[:3] = 1
    d = lifetime.stress_projection(R, np.zeros_like(R), 100, 1e-6, set_weight=0.0, fraction=1e-3)
    assert d["bound"] == "lower" and d["examples_to_failure"] > 0
    with pytest.raises(ConfigError):
        lifetime.stress_projection(R, R, 100, 1e-6, set_weight=-1)


def test_worn_devices_are_summed_per_role():
    w = np.zeros((6, 2, 2), bool)
    w[0, 0, 0] = w[2, 0, 0] = w[4, 1, 1] = w[5, 0, 1] = True
    assert worn_by_role(w, ("G+", "G-", "g+", "g-", "g+", "g-")) == {"G+": 1, "G-": 0, "g+": 2, "g-": 1}
    assert worn_by_role(w, ()) == {f"dev{i}": int(w[i].sum()) for i in range(6)}


def test_the_periphery_cost_of_k_pairs():
    m = {"layers": [4, 3, 2], "examples_seen": 100, "counters": [{"redundancy_switches": 30}, {"redundancy_switches": 10}]}
    e = {"per_example_op_J": {"line_charging": 1e-12, "row_drivers": 3e-12}, "per_example_J": {"total": 1e-6}}
    one = energy.redundancy_cost(m | {"counters": [{}, {}]}, e, pairs=1, mode="rotate", n_pcm_plain=4)
    assert one["area_ratio"] == 1 and one["per_example_J"]["total"] == 0 and one["pointer_bits_per_synapse"] == 0
    four = energy.redundancy_cost(m, e, pairs=4, mode="rotate", n_pcm_plain=4)
    assert four["pcm_devices_per_synapse"] == 10 and four["cells_per_synapse"] == 14
    assert four["pointer_bits_per_synapse"] == 2 and four["synapses"] == 5 * 3 + 4 * 2
    assert four["switches"] == 40
    assert four["per_example_J"]["line_length"] == pytest.approx((14 / 4 - 1) * 4e-12)
    assert four["per_example_J"]["switches"] == pytest.approx(40 * four["switch_J"] / 100)
    assert four["total_with_redundancy_J"] == pytest.approx(1e-6 + four["per_example_J"]["total"])


def test_a_run_with_wear_and_k_pairs_reports_worn_devices_stress_lifetime_and_the_periphery_cost(tmp_path, mnist_npz):
    """A tiny '4pcm-kpairs' run whose devices wear out: metrics.json counts the worn devices per layer and role,
    the report gives the lifetime with SET stress per role (the waiting pairs included) and the cost of k pairs."""
    from pycosim.datasets import sources
    from pycosim.evaluate import format_report, report
    from pycosim.nn import train

    data = sources.load(f"npz:{mnist_npz(200, 50)}")
    cfg = train.resolve_config("cristiano2018-4pcm", None, [
        "network.hidden=8", "transfer.interval=50", "synapse.kind=4pcm-kpairs", "pcm.redundant_pairs=2",
        "pcm.redundancy=rotate+spare", "pcm.endurance_scale=2e-7"], epochs=1, train_subset=200)
    m = train.train(cfg, tmp_path / "run", dataset=data, progress=False)
    c = m["counters"]
    assert len(c) == 2 and sum(x["pcm_worn_total"] for x in c) > 0
    assert set(c[0]["pcm_worn_by_role"]) == {"G+", "G-", "g+", "g-"}
    assert sum(x["redundancy_switches"] for x in c) > 0
    assert m["resolved_settings"]["pcm.endurance_set_weight"][0] > 0
    rep = report([tmp_path / "run"])[0]
    lt = rep["lifetime"]
    assert lt["worn"]["worn"] == sum(x["pcm_worn_total"] for x in c)
    assert set(lt["stress"]["by_role"]) == {"G+", "G-", "g+", "g-"}
    assert lt["stress"]["by_role"]["g+"]["devices"] == 2 * lt["stress"]["by_role"]["G+"]["devices"]   # k = 2 lower pairs
    assert lt["endurance_model"]["redundant_pairs"] == 2
    assert rep["energy"]["redundancy"]["pairs"] == 2 and rep["energy"]["redundancy"]["pcm_devices_per_synapse"] == 6
    text = format_report([rep])
    assert "with SET stress" in text and "redundant pairs" in text and "worn out during the run" in text
