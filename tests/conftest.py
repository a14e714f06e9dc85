import os
from types import SimpleNamespace

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own SPICE cache so tests never see a user's cache."""
    d = tmp_path_factory.getbasetemp() / "spice-cache"
    monkeypatch.setenv("PYCOSIM_CACHE_DIR", str(d))
    yield


def _bundle_under_test():
    """$PYCOSIM_TEST_CALIBRATION if set (run the array tests on another bundle), else the shipped one."""
    from pycosim import calibration

    return calibration.load(os.environ.get("PYCOSIM_TEST_CALIBRATION") or None)


@pytest.fixture(scope="session")
def shipped():
    """The calibration bundle the array-model tests run on."""
    return _bundle_under_test()


@pytest.fixture(scope="session")
def bundle2(shipped):
    """Same bundle (the name stays for the tests written against it)."""
    return shipped


# ------------------------------------------------------------------ 2PCM+3T1C decks (SPICE synapse and crossbar tests)
SYN_VREAD = 0.1       # V, row read voltage (columns at 0 V) -- the design point of synapse.lib
SYN_F = 3.0
SYN_VREF_GATE = 0.5   # V, gate voltage of the shared reference FET
SYN_HEAD = """{title}
.options num_threads=1
.include netlists/cmos.lib
.include netlists/pcm.lib
.include netlists/lsp_3t1c.lib
.include netlists/synapse.lib
vsup vdd 0 1.2
vvp vp 0 1.2
vvn vn 0 0
vupb upb 0 1.5
vdn dn 0 -0.3
"""


def _devices_deck(states: np.ndarray) -> str:
    """Each device of synapses (xcp, xcm, vc0) alone: its own row source at V_read and its own 0-V sense
    source to ground, plus the shared reference FET."""
    lines = [SYN_HEAD.format(title="devices read alone")]
    lines += [
        f"vrp{k} rp{k} 0 {SYN_VREAD}\nxp{k} rp{k} sp{k} pcm_dev xc0={xp} mc=0\nvsp{k} sp{k} 0 0\n"
        f"vrm{k} rm{k} 0 {SYN_VREAD}\nxm{k} rm{k} sm{k} pcm_dev xc0={xm} mc=0\nvsm{k} sm{k} 0 0\n"
        f"vrg{k} rg{k} 0 {SYN_VREAD}\nxg{k} rg{k} sg{k} vc{k} upb dn vp vn vdd 0 lsp_3t1c vc0={vc} mc=0\nvsg{k} sg{k} 0 0"
        for k, (xp, xm, vc) in enumerate(states)
    ]
    lines += [f"vrr rr 0 {SYN_VREAD}\nxr rr sr lsp_ref vref={SYN_VREF_GATE} mc=0\nvsr sr 0 0"]
    return "\n".join(lines) + "\n.op\n.end\n"


def _device_conductances(res, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(G+, G-, g, g_shared) in S from the device-alone run: I(sense source)/V_read."""
    cond = lambda name: np.array([res.i(f"{name}{k}")[0] for k in range(n)]) / SYN_VREAD  # noqa: E731
    return cond("vsp"), cond("vsm"), cond("vsg"), float(res.i("vsr")[0]) / SYN_VREAD


@pytest.fixture(scope="session")
def synapse_decks():
    """Shared pieces of the 2PCM+3T1C SPICE tests: VREAD, F, VREF_GATE, HEAD, devices_deck(states),
    device_conductances(result, n)."""
    return SimpleNamespace(VREAD=SYN_VREAD, F=SYN_F, VREF_GATE=SYN_VREF_GATE, HEAD=SYN_HEAD,
                           devices_deck=_devices_deck, device_conductances=_device_conductances)


@pytest.fixture(scope="session")
def mnist_npz(tmp_path_factory):
    """mnist_npz(n_train, n_test): the first n_train/n_test MNIST examples saved as an npz data set (path),
    for runs in subprocesses and ``--dataset npz:PATH``."""
    from pycosim.datasets import sources

    made = {}

    def make(n_train: int, n_test: int):
        if (n_train, n_test) not in made:
            d = sources.load("mnist")
            p = tmp_path_factory.mktemp("data") / f"mnist_{n_train}_{n_test}.npz"
            np.savez(p, x_train=d.x_train[:n_train], y_train=d.y_train[:n_train], x_test=d.x_test[:n_test],
                     y_test=d.y_test[:n_test])
            made[n_train, n_test] = p
        return made[n_train, n_test]

    return make


# ------------------------------------------------------------------ tiny sweep files (sweep and reliability tests)
TINY_SWEEP = """
name = "tiny"
base = "ambrogio2018"
set = ["network.hidden=4", "transfer.interval=50"]
seeds = {seeds}
baseline = {baseline}

[budget]
epochs = {epochs}
train_subset = {train}
test_subset = 50

[vary]
{vary}
"""


@pytest.fixture
def write_sweep(tmp_path):
    """write_sweep(vary_text, seeds="[0]", baseline="true", epochs=1, train=100, name="s.toml") → path of a tiny
    sweep file (a 4-unit hidden layer)."""

    def write(vary: str, seeds: str = "[0]", baseline: str = "true", epochs: int = 1, train: int = 100,
              name: str = "s.toml"):
        p = tmp_path / name
        p.write_text(TINY_SWEEP.format(vary=vary, seeds=seeds, baseline=baseline, epochs=epochs, train=train))
        return p

    return write
