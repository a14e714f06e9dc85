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
    for key in ("cint_F", "conveyor_g_in_S", "mirror_eps_plus_std", "gain_std_V_per_C"):
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


# ---------------------------------------------------------------- every refusal, its whole one-line message
def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite(d, edit):
    """Edit the saved calibration.json of bundle *d* in place with edit(doc) (a list returned replaces it)."""
    doc = json.loads((d / cal.JSON_NAME).read_text())
    res = edit(doc)
    doc = res if isinstance(res, list) else doc
    (d / cal.JSON_NAME).write_text(json.dumps(doc))


def test_load_refusals_are_exact_one_line_messages(tmp_path):
    d = tmp_path / "cal"
    j, t = d / cal.JSON_NAME, d / cal.TABLES_NAME

    def refused(expected):
        with pytest.raises(CalibrationError) as e:
            cal.load(d)
        assert str(e.value) == expected

    refused(f"calibration bundle not found: {d} (create one with pycosim characterize)")
    cal.save(synthetic_bundle(), d)
    good = j.read_text()
    t.rename(tmp_path / "t.npz")
    refused(f"{d}: incomplete bundle, tables.npz is missing")
    (tmp_path / "t.npz").rename(t)
    _rewrite(d, lambda doc: [1, 2])
    refused(f"{j}: not a pycosim calibration file")
    j.write_text(good)
    _rewrite(d, lambda doc: doc.update(schema="other"))
    refused(f"{j}: not a pycosim calibration file (schema 'other')")
    j.write_text(good)
    _rewrite(d, lambda doc: doc.pop("schema"))
    refused(f"{j}: not a pycosim calibration file (schema None)")
    for version, age in ((3, "an older"), (5, "an incompatible")):
        j.write_text(good)
        _rewrite(d, lambda doc: doc.update(schema_version=version))
        refused(f"{j}: schema version {version} is incompatible with this pycosim (reads version 4; {age} bundle); "
                f"regenerate it with pycosim characterize --out {d}")
    for version, kind in ((True, "a boolean (True)"), ("4", "text ('4')"), (None, "null")):
        j.write_text(good)
        _rewrite(d, lambda doc: doc.update(schema_version=version))
        refused(f"{j}: 'schema_version' must be a whole number (this pycosim reads version 4), got {kind}")
    j.write_text(good)
    _rewrite(d, lambda doc: doc.update(provenance=["a"]))
    refused(f"{j}: 'provenance' must be an object (a JSON dict), got a list")
    for prov in (None, {}):
        j.write_text(good)
        _rewrite(d, lambda doc: doc.update(provenance=prov))
        refused(f"{t}: checksum does not match calibration.json (truncated or modified file)")
    j.write_text(good)
    _rewrite(d, lambda doc: doc["lsp"].pop("e_up_J"))              # validated under the directory's name
    refused(f"{d}: calibration.json section 'lsp' lacks e_up_J")
    j.write_text(good)
    assert cal.load(d).scalars["lsp"]["e_up_J"] == 1.0


def test_loaded_bundle_fields(tmp_path):
    d = tmp_path / "cal"
    b = synthetic_bundle()
    b.scalars["pcm"]["c2c_rel_sigma"] = 0.6171234567890123           # a scalar round-trips exactly
    cal.save(b, d)
    back = cal.load(d)
    assert back.path == d
    assert set(back.scalars) == {"pcm", "lsp", "integrator"}         # not schema, version or provenance
    assert back.scalars["pcm"]["c2c_rel_sigma"] == 0.6171234567890123
    assert back.provenance["tables_sha256"] == _sha(d / cal.TABLES_NAME)
    assert back.provenance["mc"] == 3 and back.provenance["seed"] == 0


def test_provenance_is_checked_only_on_request(tmp_path):
    """load() does not compare the recorded SPICE files with the shipped ones unless asked."""
    d = tmp_path / "cal"
    cal.save(synthetic_bundle({"netlists/no-such-file.lib": "0" * 64}), d)
    assert cal.load(d).provenance["files"] == {"netlists/no-such-file.lib": "0" * 64}
    with pytest.raises(CalibrationError, match="no-such-file.lib"):
        cal.load(d, check_provenance=True)


def test_load_refuses_pickled_tables(tmp_path):
    """tables.npz is loaded without unpickling: an object array is refused even with a matching checksum."""
    d = tmp_path / "cal"
    cal.save(synthetic_bundle(), d)
    with np.load(d / cal.TABLES_NAME) as z:
        tables = {k: z[k] for k in z.files}
    tables["pcm/nu"] = np.array([{"a": 1}, None], dtype=object)
    np.savez(d / cal.TABLES_NAME, **tables)
    _rewrite(d, lambda doc: doc["provenance"].update(tables_sha256=_sha(d / cal.TABLES_NAME)))
    with pytest.raises(CalibrationError) as e:
        cal.load(d)
    assert str(e.value).startswith(f"{d / cal.TABLES_NAME}: unreadable (")


def _validate_error(edit, where="bundle"):
    b = synthetic_bundle()
    edit(b)
    with pytest.raises(CalibrationError) as e:
        b.validate() if where == "bundle" else b.validate(where)
    return str(e.value)


@pytest.mark.parametrize("edit, message", [
    (lambda b: b.scalars.pop("lsp"), "bundle: missing section 'lsp' in calibration.json"),
    (lambda b: b.scalars.update(lsp=[1]), "bundle: calibration.json key 'lsp' must be an object (a JSON dict), got a list"),
    (lambda b: b.scalars.update(integrator="x"),
     "bundle: calibration.json key 'integrator' must be an object (a JSON dict), got text ('x')"),
    (lambda b: [b.scalars["integrator"].pop(k) for k in ("t_int_s", "e_read_J")],
     "bundle: calibration.json section 'integrator' lacks e_read_J, t_int_s"),
    (lambda b: b.scalars["pcm"].update(e_set_J="1e-12"), "bundle: calibration.json key 'pcm.e_set_J' must be a number, got text ('1e-12')"),
    (lambda b: b.scalars["pcm"].update(e_set_J=True), "bundle: calibration.json key 'pcm.e_set_J' must be a number, got a boolean (True)"),
    (lambda b: b.scalars["pcm"].update(e_set_J=None), "bundle: calibration.json key 'pcm.e_set_J' must be a number, got null"),
    (lambda b: b.scalars["integrator"].update(offset_source=1),
     "bundle: calibration.json key 'integrator.offset_source' must be text, got a int"),
    (lambda b: b.scalars["pcm"].update(nu_by_level_mean=[1.0, "x"]),
     "bundle: calibration.json key 'pcm.nu_by_level_mean' must be a list of numbers, got a list"),
    (lambda b: b.scalars["pcm"].update(nu_by_level_mean=1.0),
     "bundle: calibration.json key 'pcm.nu_by_level_mean' must be a list of numbers, got a float"),
    (lambda b: b.scalars["pcm"].update(dg_fit={"a": 1.0, "b": "x"}),
     "bundle: calibration.json key 'pcm.dg_fit' must be an object of numbers (and a text 'form'), got an object"),
    (lambda b: b.scalars["pcm"].update(dg_fit={"form": 2.0, "a": "x"}),
     "bundle: calibration.json key 'pcm.dg_fit' must be an object of numbers (and a text 'form'), got an object"),
    (lambda b: b.scalars["pcm"].update(dg_fit=[1.0]),
     "bundle: calibration.json key 'pcm.dg_fit' must be an object of numbers (and a text 'form'), got a list"),
    (lambda b: b.provenance.update(files=["x.lib"]),
     "bundle: calibration.json key 'provenance.files' must map file names to SHA-256 text, got a list"),
    (lambda b: b.provenance.update(files={"x.lib": 1}),
     "bundle: calibration.json key 'provenance.files' must map file names to SHA-256 text, got an object"),
    (lambda b: b.tables.pop("pcm/nu"), "bundle: tables.npz lacks table 'pcm/nu'"),
    (lambda b: b.tables.update({"pcm/nu": np.zeros((2, 2))}), "bundle: table 'pcm/nu' has 2 dimensions, expected 1"),
])
def test_validate_refusals_are_exact_one_line_messages(edit, message):
    assert _validate_error(edit) == message
    assert _validate_error(edit, "here").startswith("here: ")


def test_validate_accepts_what_it_should():
    for prov in ({}, {"files": None}, {"files": {}}, {"files": {"a.lib": "00"}}, "not a dict", None):
        b = synthetic_bundle()
        b.provenance = prov
        b.validate()
    b = synthetic_bundle()
    b.scalars["pcm"]["dg_fit"] = {"a": np.float32(1), "b": 2}         # numbers only, no form: fine
    b.scalars["pcm"]["e_set_J"] = np.float64(1e-12)
    b.scalars["pcm"]["nu_by_level_mean"] = []
    b.validate()


def test_save_refusals_name_the_bundle_and_the_directory(tmp_path):
    b = synthetic_bundle()
    del b.scalars["pcm"]["e_set_J"]
    with pytest.raises(CalibrationError) as e:
        cal.save(b, tmp_path / "cal")
    assert str(e.value) == "bundle to save: calibration.json section 'pcm' lacks e_set_J"
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(CalibrationError) as e:
        cal.save(synthetic_bundle(), f)
    assert str(e.value) == f"calibration directory {f}: is a file, not a directory"


def test_save_writes_a_sibling_temporary_then_renames(tmp_path, monkeypatch):
    """While calibration.json is written, the bundle is assembled in '.cal.*.tmp' beside the destination
    (the same file system, so the final rename is atomic); afterwards only 'cal' is left."""
    seen = []
    dumps = json.dumps

    def spy(*a, **k):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return dumps(*a, **k)

    monkeypatch.setattr(cal.json, "dumps", spy)
    cal.save(synthetic_bundle(), tmp_path / "cal")
    assert len(seen) == 1 and len(seen[0]) == 1
    assert seen[0][0].startswith(".cal.") and seen[0][0].endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["cal"]


def test_save_failure_cleans_up_and_reports_in_one_line(tmp_path, monkeypatch):
    for exc, reason in ((PermissionError(13, "Permission denied"), "Permission denied"),
                        (OSError("disk on fire"), "disk on fire")):
        def boom(*a, _exc=exc, **k):
            raise _exc

        monkeypatch.setattr(cal.json, "dumps", boom)
        with pytest.raises(CalibrationError) as e:
            cal.save(synthetic_bundle(), tmp_path / "cal")
        assert str(e.value) == f"cannot write calibration to {tmp_path / 'cal'}: {reason}"
        assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    mkdtemp = cal.tempfile.mkdtemp

    def no_tmp(**k):                                  # the destination check's probe works, save()'s does not
        if k.get("suffix") == ".tmp":
            raise PermissionError(13, "Permission denied")
        return mkdtemp(**k)

    monkeypatch.setattr(cal.tempfile, "mkdtemp", no_tmp)
    with pytest.raises(CalibrationError) as e:
        cal.save(synthetic_bundle(), tmp_path / "cal")
    assert str(e.value) == f"cannot write calibration to {tmp_path / 'cal'}: Permission denied"


def test_saved_files_content_and_provenance(tmp_path):
    import os
    import re

    from pycosim import __version__

    b = synthetic_bundle()
    b.tables["pcm/nu"] = np.array([1, 2, 3], np.int32)              # stored as float64
    b.tables["pcm/g_max_S"] = np.array([0.1, 0.2], np.float32)
    d = tmp_path / "empty"
    d.mkdir()                                                         # an existing empty directory is fine
    assert cal.save(b, d) == d
    assert b.path == d
    with np.load(d / cal.TABLES_NAME) as z:
        assert z["pcm/nu"].dtype == np.float64 and z["pcm/nu"].tolist() == [1.0, 2.0, 3.0]
        assert z["pcm/g_max_S"].dtype == np.float64
    text = (d / cal.JSON_NAME).read_text()
    assert text.startswith('{\n  "schema": "pycosim.calibration",\n  "schema_version": 4,\n  "pcm": {\n    "g_reset_mean_S": 1.0,\n')
    assert text.endswith("\n  }\n}\n")
    doc = json.loads(text)
    assert list(doc) == ["schema", "schema_version", "pcm", "lsp", "integrator", "provenance"]
    prov = doc["provenance"]
    assert list(prov) == ["files", "mc", "seed", "pycosim_version", "created_utc", "tables_sha256"]
    assert prov["pycosim_version"] == __version__ and prov["tables_sha256"] == _sha(d / cal.TABLES_NAME)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", prov["created_utc"])
    assert b.provenance == prov                                       # the saved provenance, on the bundle
    umask = os.umask(0)
    os.umask(umask)
    assert (d.stat().st_mode & 0o777) == 0o777 & ~umask
    assert ((d / cal.JSON_NAME).stat().st_mode & 0o777) == 0o666 & ~umask
    b2 = synthetic_bundle()
    b2.provenance.update(pycosim_version="0.0.1", created_utc="2020-01-01T00:00:00+00:00")
    cal.save(b2, d)                                                   # given provenance is kept
    prov = json.loads((d / cal.JSON_NAME).read_text())["provenance"]
    assert (prov["pycosim_version"], prov["created_utc"]) == ("0.0.1", "2020-01-01T00:00:00+00:00")
