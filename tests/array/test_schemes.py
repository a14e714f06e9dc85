"""The scheme registry, the narrow Crossbar API and the layer's plain-data state."""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from pycosim.array import ArrayConfig, Crossbar, schemes
from pycosim.errors import CalibrationError, ConfigError

ROOT = Path(__file__).resolve().parents[2] / "pycosim"


def _refused_without_its_tables(bundle, name) -> bool:
    """True (after checking the one-line refusal) if *bundle* lacks tables scheme *name* needs beyond the schema."""
    missing = [t for t in schemes.info(name).bundle_tables if t not in bundle.tables]
    if missing:
        with pytest.raises(CalibrationError, match=f"table '{missing[0]}'"):
            Crossbar(6, 3, ArrayConfig(synapse=name), bundle, rng=0)
    return bool(missing)


@pytest.mark.parametrize("name", schemes.names())
def test_the_registry_builds_each_scheme_class(bundle2, name):
    if _refused_without_its_tables(bundle2, name):
        return
    xb = Crossbar(6, 3, ArrayConfig(synapse=name), bundle2, rng=0)
    assert type(xb) is schemes.scheme_class(name) and isinstance(xb, Crossbar)
    info = xb.scheme
    assert info.name == name and info is schemes.info(name)
    assert len(info.device_roles) == (xb.devices()["G_S"].shape[0] if info.analog else 0)
    assert info.has_lsp == bool(np.any(xb.lsp_contribution() != 0) or info.has_lsp)   # the fact, not a name


def test_an_unknown_scheme_is_one_line():
    with pytest.raises(ConfigError, match="synapse='3pcm': allowed values are '2pcm\\+3t1c', '4pcm', '2pcm', 'ideal'"):
        schemes.info("3pcm")
    with pytest.raises(ConfigError, match="allowed values"):
        ArrayConfig(synapse="3pcm")


def test_no_scheme_name_is_compared_outside_the_registry():
    """A variant is chosen once, in the registry: no `== "4pcm"`, `!= "ideal"`, `in ("2pcm+3t1c", …)`
    anywhere else in the package (every comparison in the code's syntax tree is checked; assignments,
    Literal types and membership in the registry's own names are fine)."""
    names = set(schemes.names())

    def scheme_strings(node):
        if isinstance(node, ast.Constant):
            return {node.value} & names
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(scheme_strings(e) for e in node.elts)) if node.elts else set()
        return set()

    found = []
    for path in ROOT.rglob("*.py"):
        if path == ROOT / "array" / "schemes" / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(scheme_strings(x) for x in [node.left, *node.comparators]):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def test_no_module_outside_array_reads_a_private_field_of_a_layer():
    """Callers use the public API (forward/backward/update/advance/weights/set_weights/transfer/state/…)."""
    pat = re.compile(r"\b(xb|xbc|layer|lo)\._[a-z]")
    found = [f"{p.relative_to(ROOT)}:{k}" for p in ROOT.rglob("*.py") if "array" not in p.relative_to(ROOT).parts
             for k, line in enumerate(p.read_text().splitlines(), 1) if pat.search(line)]
    assert not found, found


def _drive(xb, rng, n=25):
    out = []
    for i in range(n):
        x = rng.random(xb.n_in).astype(np.float32)
        d = (rng.random(xb.n_out) - 0.5).astype(np.float32)
        out += [xb.forward(x), xb.backward(d)]
        xb.update(x, d, 0.1)
        xb.advance(2e-4)                 # drift refreshes and leakage batches happen in this window
    xb.transfer()
    out.append(xb.weights())
    return np.concatenate([o.ravel() for o in out])


@pytest.mark.parametrize("name", schemes.names())
def test_state_round_trip_continues_bit_for_bit(bundle2, name):
    if _refused_without_its_tables(bundle2, name):
        return             # (with its own bundle: tests/measured)
    cfg = ArrayConfig(synapse=name)
    a = Crossbar(12, 5, cfg, bundle2, rng=4)
    a.set_weights(np.random.default_rng(1).uniform(-0.3, 0.3, (12, 5)).astype(np.float32))
    _drive(a, np.random.default_rng(2))
    snap = a.state()
    assert all(isinstance(v, np.ndarray) for v in snap["arrays"].values())
    b = Crossbar(12, 5, cfg, bundle2, rng=4)
    b.set_state(snap)
    ya, yb = _drive(a, np.random.default_rng(3)), _drive(b, np.random.default_rng(3))
    np.testing.assert_array_equal(ya, yb)
    assert a.counters.as_dict() == b.counters.as_dict()


def test_state_of_another_version_scheme_or_shape_is_refused(bundle2):
    a = Crossbar(6, 3, ArrayConfig(synapse="4pcm"), bundle2, rng=0)
    snap = a.state()
    with pytest.raises(ConfigError, match="crossbar state version 1 is not supported"):
        a.set_state(snap | {"version": 1})
    with pytest.raises(ConfigError, match="does not fit this '2pcm' layer"):
        Crossbar(6, 3, ArrayConfig(synapse="2pcm"), bundle2, rng=0).set_state(snap)
    with pytest.raises(ConfigError, match="does not fit"):
        Crossbar(7, 3, ArrayConfig(synapse="4pcm"), bundle2, rng=0).set_state(snap)


def test_set_weights_exact_is_the_read_matrix(bundle2):
    """mode 'exact' (inference models): the forward read applies W as given, without device read noise."""
    xb = Crossbar(8, 4, ArrayConfig.from_dict({"synapse": "2pcm+3t1c", "periphery": {"integrator_noise": False,
                                                                                     "adc_bits": None}}), bundle2, rng=0)
    W = np.random.default_rng(0).uniform(-0.2, 0.2, (8, 4)).astype(np.float32)
    assert xb.set_weights(W, mode="exact") is None
    x = np.full(8, 0.5, np.float32)
    y1, y2 = xb.forward(x), xb.forward(x)
    np.testing.assert_array_equal(y1, y2)                     # no read noise left
    np.testing.assert_allclose(y1, x @ W, rtol=0.05, atol=0.02)   # through the integrators' gain mismatch
    np.testing.assert_array_equal(xb.weights(), W)
