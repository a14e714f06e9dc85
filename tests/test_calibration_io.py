"""Calibration bundle I/O: atomic save, schema validation, corruption and provenance checks."""

import json

import numpy as np
import pytest

from pycosim import calibration as cal
from pycosim.errors import CalibrationError


def synthetic_bundle(files=None):
    """A schema-complete bundle with arbitrary numbers (for I/O tests only, not physics)."""
    rng = np.random.default_rng(0)
    tables = {name: rng.random((3,) * ndim) for name, ndim in cal.REQUIRED_TABLES.items()}
    example = {"number": 1.0, "list": [1.0], "text": "test", "object": {"form": "test", "a": 1.0}}
    scalars = {sec: {k: example[cal.SCALAR_KINDS.get(f"{sec}.{k}", "number")] for k in keys}
               for sec, keys in cal.REQUIRED_SCALARS.items()}
    return cal.Bundle(scalars=scalars, tables=tables, provenance={"files": files or {}, "mc": 3, "seed": 0})


def test_roundtrip(tmp_path):
    b = synthetic_bundle()
    cal.save(b, tmp_path / "cal")
    back = cal.load(tmp_path / "cal")
    assert set(back.tables) == set(b.tables)
    for k in b.tables:
        np.testing.assert_array_equal(back.tables[k], b.tables[k])
    assert back.scalars["pcm"]["dg_fit"] == {"form": "test", "a": 1.0}
    assert back.provenance["pycosim_version"] and back.provenance["created_utc"]


def test_replace_existing_bundle_atomically(tmp_path):
    cal.save(synthetic_bundle(), tmp_path / "cal")
    b2 = synthetic_bundle()
    b2.tables["pcm/nu"] = np.array([0.5, 0.6])
    cal.save(b2, tmp_path / "cal")
    np.testing.assert_array_equal(cal.load(tmp_path / "cal").tables["pcm/nu"], [0.5, 0.6])
    assert [p.name for p in tmp_path.iterdir()] == ["cal"]  # no temporary leftovers


def test_interrupted_write_leaves_nothing_loadable(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cal.json, "dumps", boom)
    with pytest.raises(KeyboardInterrupt):
        cal.save(synthetic_bundle(), tmp_path / "cal")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CalibrationError, match="not found"):
        cal.load(tmp_path / "cal")


def test_missing_truncated_incompatible(tmp_path):
    d = tmp_path / "cal"
    cal.save(synthetic_bundle(), d)
    t = d / cal.TABLES_NAME
    data = t.read_bytes()
    t.write_bytes(data[: len(data) // 2])
    with pytest.raises(CalibrationError, match="checksum"):
        cal.load(d)
    t.write_bytes(data)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    doc["schema_version"] = 99
    (d / cal.JSON_NAME).write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match="schema version 99 is incompatible"):
        cal.load(d)
    (d / cal.JSON_NAME).write_text("{not json")
    with pytest.raises(CalibrationError, match="unreadable"):
        cal.load(d)
    (d / cal.JSON_NAME).unlink()
    with pytest.raises(CalibrationError, match="calibration.json is missing"):
        cal.load(d)


def test_missing_table_rejected(tmp_path):
    b = synthetic_bundle()
    del b.tables["lsp/dv_up_V"]
    with pytest.raises(CalibrationError, match="lsp/dv_up_V"):
        cal.save(b, tmp_path / "cal")
    assert not (tmp_path / "cal").exists()


def test_provenance_detects_edited_netlist(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "netlists").mkdir(parents=True)
    lib = root / "netlists" / "x.lib"
    lib.write_text("* v1\n")
    import hashlib

    files = {"netlists/x.lib": hashlib.sha256(lib.read_bytes()).hexdigest()}
    monkeypatch.setattr("pycosim.resources.spice_root", lambda: root)
    cal.save(synthetic_bundle(files), tmp_path / "cal")
    cal.load(tmp_path / "cal", check_provenance=True)
    lib.write_text("* v2 edited\n")
    with pytest.raises(CalibrationError, match="stale.*netlists/x.lib"):
        cal.load(tmp_path / "cal", check_provenance=True)
