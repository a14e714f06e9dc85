"""GPU reference line (pycosim.evaluate.gpu): operation counts, kernel counts and both bounds by hand."""

import pytest

from pycosim import assumptions as A
from pycosim.evaluate import gpu
from pycosim.evaluate.report import format_report, run_report


def test_reference_of_the_paper_network_by_hand():
    r = gpu.reference((784, 250, 125, 10))
    # MACs with the bias row: 785·250 + 251·125 + 126·10 = 196,250 + 31,375 + 1,260 = 228,885
    assert r["operations"] == {"inference": 457_770, "training_example": 457_770 + 2 * (31_375 + 1_260) + 457_770}
    assert r["kernels"] == {"training_example": 17, "inference": 6}       # 6L − 1 and 2L, L = 3
    # peak: 15.7 TFLOP/s at 300 W, whatever the network
    for k in ("training_example", "inference"):
        assert r["peak"][k]["gops_per_W"] == pytest.approx(15.7e12 / 300 / 1e9, rel=1e-12)
    assert r["peak"]["training_example"]["time_s"] == pytest.approx(980_810 / 15.7e12, rel=1e-12, abs=0)
    # launch bound: 17 kernels × 5 µs = 85 µs, × 300 W = 25.5 mJ, 980,810 ops / 25.5 mJ = 0.03846 GOP/s/W
    b = r["batch1"]["training_example"]
    assert b["time_s"] == pytest.approx(85e-6, rel=1e-12, abs=0)
    assert b["energy_J"] == pytest.approx(25.5e-3, rel=1e-12, abs=0)
    assert b["gops_per_W"] == pytest.approx(980_810 / 25.5e-3 / 1e9, rel=1e-12)
    assert r["batch1"]["inference"]["time_s"] == pytest.approx(30e-6, rel=1e-12, abs=0)
    for name in r["assumptions"]:
        assert getattr(A, name).source            # every constant has its source


def test_kernel_count_follows_the_depth_and_refuses_no_layers():
    assert gpu.kernels_per_step(1) == {"training_example": 5, "inference": 2}
    assert gpu.kernels_per_step(4) == {"training_example": 23, "inference": 8}
    with pytest.raises(ValueError, match="at least one weight layer"):
        gpu.kernels_per_step(0)


def test_report_carries_the_gpu_lines_and_the_ratios(tmp_path, shipped, mnist_npz):
    """A tiny trained run: report.json's energy has the GPU reference of its own network, and the text
    report prints both lines and the accelerator ÷ GPU ratios computed from the run's own time and energy."""
    from pycosim.datasets import sources
    from pycosim.nn import train

    ds = sources.load("npz:" + str(mnist_npz(60, 20)))
    cfg = train.resolve_config("ambrogio2018", None, ["network.hidden=8", "transfer.interval=1000"], epochs=1)
    train.train(cfg, tmp_path / "run", dataset=ds, bundle=shipped, progress=False, plots=False)
    rep = run_report(tmp_path / "run")
    g = rep["energy"]["gpu_reference"]
    assert g == gpu.reference(rep["layers"])
    text = format_report([rep])
    assert "GPU reference" in text
    t_acc = rep["energy"]["time_s"]["training_example"]
    want = f"{t_acc / g['peak']['training_example']['time_s']:.3g} / {t_acc / g['batch1']['training_example']['time_s']:.3g}"
    assert want in text
