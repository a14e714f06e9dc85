"""pycosim.statefile: plain data and arrays round-trip exactly (big ints of generator states too); anything
that is not a state file of the expected kind and version is a one-line ConfigError naming the file, and
nothing in a file is ever executed (pickles, object arrays)."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from pycosim import statefile
from pycosim.errors import ConfigError


class _Marker:
    """Unpickling this creates the marker file (what a crafted pickle could do with any code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _tree():
    g = np.random.default_rng(12345)
    g.random(3)
    return {
        "rng": g.bit_generator.state,
        "ints": [0, -1, 2**64 + 1, -(2**100), 2**127 + 5],
        "floats": [0.1, -2.5e-300, float("inf"), 1 / 3],
        "nan": float("nan"),
        "flags": [True, False, None],
        "text": "päd ✓",
        "nested": {"a": {"b": [np.arange(6, dtype=np.int32).reshape(2, 3), {"c": np.zeros((0, 4))}]}},
        "dtypes": [np.array([1.5], np.float32), np.array([True, False]), np.array([2**63 + 1], np.uint64),
                   np.array(["ab", "c"]), np.array(3.25)],
        "scalars": [np.float32(0.1), np.int64(-7), np.uint8(200), np.bool_(True), np.float64(2.5), np.complex64(1 - 2j)],
        "$dollar": {"$array": "not a reference", "$$x": 1},
        "tuple": (1, 2),
    }


def _check_equal(a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _check_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            _check_equal(x, y)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, np.generic):
        assert type(b) is type(a) and a == b
    elif isinstance(a, float) and a != a:
        assert isinstance(b, float) and b != b
    else:
        assert type(b) is type(a) and a == b


def test_round_trip_is_exact_including_big_int_generator_state(tmp_path):
    tree = _tree()
    path = statefile.save(tmp_path / "s.npz", tree, "pycosim.test", version=3)
    back = statefile.load(path, "pycosim.test", version=3)
    _check_equal(tree, back)
    assert back["rng"]["state"]["state"] > 2**64          # a 128-bit PCG64 state, exact
    g = np.random.default_rng()
    g.bit_generator.state = back["rng"]
    ref = np.random.default_rng(12345)
    ref.random(3)
    np.testing.assert_array_equal(g.random(5), ref.random(5))
    # the file is an ordinary .npz: a JSON skeleton member and the arrays
    with np.load(path, allow_pickle=False) as z:
        skel = json.loads(z[statefile.SKELETON].tobytes())
        assert skel["format"] == statefile.FORMAT and skel["kind"] == "pycosim.test" and skel["schema_version"] == 3
        assert "a0" in z.files


def test_unstorable_values_are_refused_at_save(tmp_path):
    for bad, words in [({1: 2}, "keys must be str"), ({"x": object()}, "object"),
                       ({"x": np.array([None, 1], dtype=object)}, "object array")]:
        with pytest.raises(TypeError, match=words):
            statefile.save(tmp_path / "bad.npz", bad, "k")
    assert not (tmp_path / "bad.npz").exists()


def _one_line_error(path, kind="pycosim.test", version=1) -> str:
    with pytest.raises(ConfigError) as e:
        statefile.load(path, kind, version=version)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_truncated_or_corrupt_files(tmp_path):
    good = statefile.save(tmp_path / "good.npz", _tree(), "pycosim.test")
    data = good.read_bytes()
    for n in (len(data) // 2, len(data) - 30, 10):
        p = tmp_path / f"cut{n}.npz"
        p.write_bytes(data[:n])
        assert "corrupt or truncated" in _one_line_error(p)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    assert "not a pycosim state file" in _one_line_error(empty)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    assert "not a pycosim state file" in _one_line_error(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3))
    assert "not a pycosim state file" in _one_line_error(plain)
    assert "cannot read" in _one_line_error(tmp_path / "missing.npz")


def test_wrong_kind_and_schema_versions(tmp_path):
    p = statefile.save(tmp_path / "s.npz", {"x": 1}, "pycosim.other", version=2)
    msg = _one_line_error(p, "pycosim.test", 2)
    assert "'pycosim.other'" in msg and "'pycosim.test'" in msg
    newer = _one_line_error(p, "pycosim.other", 1)
    assert "newer" in newer and "version 2" in newer and "version 1" in newer
    older = _one_line_error(p, "pycosim.other", 3)
    assert "older" in older and "version 2" in older and "version 3" in older


def _write_skeleton(path, skel, **arrays):
    text = json.dumps(skel).encode()
    np.savez(path, **{statefile.SKELETON: np.frombuffer(text, np.uint8)}, **arrays)


def test_a_string_version_is_a_wrong_type_not_an_incompatible_version(tmp_path):
    p = tmp_path / "s.npz"
    _write_skeleton(p, {"format": statefile.FORMAT, "schema_version": "2", "kind": "pycosim.test", "tree": {}})
    msg = _one_line_error(p, "pycosim.test", 2)
    assert "type str" in msg and "expected an int" in msg and "incompatible" not in msg and "newer" not in msg


def test_pickles_and_object_arrays_are_never_executed(tmp_path):
    marker = tmp_path / "marker"
    for proto in (0, 2, pickle.HIGHEST_PROTOCOL):
        p = tmp_path / f"evil{proto}.npz"
        p.write_bytes(pickle.dumps({"net": _Marker(marker)}, protocol=proto))
        assert statefile.looks_pickled(p)
        assert "pickle" in _one_line_error(p)
        assert not marker.exists()
    # an .npz that references an object-array member holding the crafted pickle
    p = tmp_path / "objarray.npz"
    _write_skeleton(p, {"format": statefile.FORMAT, "schema_version": 1, "kind": "pycosim.test",
                        "tree": {"x": {"$array": "a0"}}}, a0=np.array([_Marker(marker)], dtype=object))
    assert "corrupt" in _one_line_error(p)
    assert not marker.exists()
    # a pickle stored as a zip member (the skeleton itself) is not read either
    p = tmp_path / "zipped.npz"
    with zipfile.ZipFile(p, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, np.array([_Marker(marker)], dtype=object), allow_pickle=True)
        zf.writestr(statefile.SKELETON + ".npy", buf.getvalue())
    assert "corrupt" in _one_line_error(p)
    assert not marker.exists()
