"""Calibration bundle I/O: atomic save, schema validation, corruption and provenance checks."""

import json

import numpy as np
import pytest

from pycosim import calibration as cal
from pycosim.errors import CalibrationError


def synthetic_bundle(files=None):
    """A schema-complete bundle with arbitrary numbers (for I/O tests only, not physics): every table of
    its declared shape (each size 3), values in (0, 1), the integrator's rails in order."""
    rng = np.random.default_rng(0)
    tables = {name: rng.random(tuple(4 if d.endswith("+1") else 3 for d in cal.TABLE_DIMS[name].split(",")))
              for name in cal.REQUIRED_TABLES}
    example = {"number": 1.0, "list": [1.0] * 3, "text": "test", "object": {"form": "test", "a": 1.0}}
    scalars = {sec: {k: example[cal.SCALAR_KINDS.get(f"{sec}.{k}", "number")] for k in keys}
               for sec, keys in cal.REQUIRED_SCALARS.items()}
    scalars["integrator"]["v_sat_lo_V"] = 0.0
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
    b2.tables["pcm/nu"] = np.array([0.5, 0.6, 0.7])
    cal.save(b2, tmp_path / "cal")
    np.testing.assert_array_equal(cal.load(tmp_path / "cal").tables["pcm/nu"], [0.5, 0.6, 0.7])
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


def test_bundle_lacking_an_integrator_scalar_is_rejected_in_one_line(tmp_path):
    """Every scalar the integrator model reads is required: a bundle without one is refused when saved
    (and loaded), in one line naming it."""
    for key in ("cint_F", "gbw_Hz", "gain_std_V_per_C"):
        b = synthetic_bundle()
        del b.scalars["integrator"][key]
        with pytest.raises(CalibrationError, match=rf"section 'integrator' lacks {key}$") as exc:
            cal.save(b, tmp_path / "cal")
        assert "\n" not in str(exc.value)


class _Recording(dict):
    """A bundle section that records the keys read by subscription."""

    def __init__(self, data, seen: set, section: str):
        """A copy of *data* that adds "section.key" to *seen* on each subscription."""
        super().__init__(data)
        self.seen, self.section = seen, section

    def __getitem__(self, key):
        """The value of *key*, recorded as read."""
        self.seen.add(f"{self.section}.{key}")
        return super().__getitem__(key)


def test_device_models_read_only_the_declared_scalars(shipped):
    """The array-level device models read only scalars in cal.MODEL_SCALARS, so the bundle check (which
    requires all of them) rejects every bundle a model would fail on late."""
    from pycosim.devices import integrator, lsp, pcm

    seen: set = set()
    scalars = {sec: _Recording(v, seen, sec) for sec, v in shipped.scalars.items()}
    b = cal.Bundle(scalars=scalars, tables=shipped.tables, provenance=shipped.provenance, path=shipped.path)
    pcm.population(b, drift=True, read_noise=True, drift_t_prog_s=7e-6)   # pcm.drift_t_prog_s: optional
    lsp.population(b, c2c=True, reset=True, read_noise=True)
    integrator.params(b, noise=True)
    declared = {f"{sec}.{k}" for sec, keys in cal.MODEL_SCALARS.items() for k in keys}
    assert seen and seen <= declared, sorted(seen - declared)
    assert set(integrator.SCALARS) <= set(cal.REQUIRED_SCALARS["integrator"])


@pytest.mark.parametrize("name", ["pcm/staircase_g_S", "lsp/dv_up_V", "pcm/g_max_S"])
def test_table_of_the_wrong_dimension_is_rejected_on_save_and_load(tmp_path, name):
    """A table with the right name but the wrong number of dimensions (a flattened staircase, a 2-D vector)
    is refused in one line naming it and both dimension counts — on save, and on load of a bundle whose
    tables.npz was rewritten (checksum updated, so only the dimension check can catch it)."""
    want = cal.REQUIRED_TABLES[name]
    b = synthetic_bundle()
    bad = b.tables[name].reshape(-1) if want > 1 else b.tables[name].reshape(1, -1)
    b.tables[name] = bad
    msg = rf"table '{name}' has {bad.ndim} dimensions, expected {want}$"
    with pytest.raises(CalibrationError, match=msg):
        cal.save(b, tmp_path / "cal")
    d = tmp_path / "ok"
    cal.save(synthetic_bundle(), d)
    with np.load(d / cal.TABLES_NAME) as z:
        tables = {k: z[k] for k in z.files}
    tables[name] = bad
    np.savez(d / cal.TABLES_NAME, **tables)
    doc = json.loads((d / cal.JSON_NAME).read_text())
    doc["provenance"]["tables_sha256"] = cal._sha256(d / cal.TABLES_NAME)
    (d / cal.JSON_NAME).write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match=msg) as exc:
        cal.load(d)
    assert "\n" not in str(exc.value)
