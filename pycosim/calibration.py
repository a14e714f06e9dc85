"""Calibration bundle: the circuit-derived characteristics that the array models consume.

A bundle is one directory::

    CAL_DIR/calibration.json   scalars per device (SI units in the key names), schema version,
                               provenance: SHA-256 of every bench and library file used,
                               ngspice version, pycosim version, parameters, seeds, date,
                               and the SHA-256 of tables.npz
    CAL_DIR/tables.npz         the tables (NumPy arrays, names ``<device>/<quantity>_<unit>``)

Writes are atomic: the bundle is assembled in a temporary sibling directory and renamed into
place, so an interrupted run never leaves a directory that loads. :func:`load` validates the
schema, the table checksum and the required tables, and raises :class:`CalibrationError`
with the file and the missing or bad item named.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from pycosim.errors import CalibrationError

SCHEMA = "pycosim.calibration"
SCHEMA_VERSION = 4
JSON_NAME = "calibration.json"
TABLES_NAME = "tables.npz"

#: Tables every bundle must carry: name → number of dimensions. Units are in the names
#: (``_S`` siemens, ``_V`` volt, ``_s`` second, ``_J`` joule, ``_C`` coulomb, ``_V_per_s``).
REQUIRED_TABLES: dict[str, int] = {
    # PCM (most significant pair)
    "pcm/staircase_g_S": 2,        # (n_instances, n_pulses + 1) read conductance after each SET pulse
    "pcm/fit_coef": 2,             # (n_instances, 3) per-device fit of the mean SET step (characterize.pcm.fit_staircases)
    "pcm/fit_dg_residual_S": 2,       # (n_instances, n_pulses) its cycle-to-cycle residuals
    "pcm/dg_bins_S": 1,            # (n_bins + 1,) bin edges of G for the jump table
    "pcm/dg_quantiles_S": 2,       # (n_bins, n_quantiles) empirical quantiles of ΔG per SET pulse in each bin
    "pcm/dg_quantile_levels": 1,   # (n_quantiles,) probability levels of those quantiles
    "pcm/dg_count": 1,             # (n_bins,) number of observed pulses in each bin
    "pcm/dg_mean_S": 1,            # (n_bins,) mean ΔG per bin (NaN where empty)
    "pcm/dg_std_S": 1,             # (n_bins,) std of ΔG per bin
    "pcm/g_reset_S": 1,            # (n_instances,) conductance after a RESET pulse
    "pcm/g_max_S": 1,              # (n_instances,) per-device maximum conductance (saturated staircase)
    "pcm/read_v_V": 1,             # (n_v,) read voltages
    "pcm/read_g_S": 2,             # (n_states, n_v) conductance I/V versus read voltage for several states
    "pcm/drift_levels": 1,         # (n_levels,) programmed level as a fraction of G_max (0, .01, .03, .1, .25, .5, .75, 1, 1.3; 1.3 = fully crystalline, may exceed 1)
    "pcm/drift_t_s": 1,            # (n_t,) times after programming
    "pcm/drift_g_S": 3,            # (n_instances, n_levels, n_t) conductance versus time at each level
    "pcm/drift_g_prog_S": 2,       # (n_instances, n_levels) conductance just after programming
    "pcm/drift_g0_S": 2,           # (n_instances, n_levels) fitted G(t0 = 1 s)
    "pcm/drift_nu": 2,             # (n_instances, n_levels) fitted drift exponent per device and level
    "pcm/nu": 1,                   # (n_instances,) drift exponent of the RESET level (= drift_nu[:, 0])
    "pcm/c2c_dg_S": 1,             # (m,) single mid-range SET steps of the nominal device (cycle-to-cycle only)
    "pcm/read_noise_g_S": 1,       # (n_r,) conductance levels of the read-noise bench
    "pcm/read_noise_rel_sigma": 1, # (n_r,) relative σ of one read integrated over read_noise_t_int_s
    # 3T1C (least significant pair)
    "lsp/vc_grid_V": 1,            # (n_v,) capacitor-voltage grid
    "lsp/g_of_vc_S": 2,            # (n_instances, n_v) read conductance versus V_C
    "lsp/step_vc_V": 1,            # (n_s,) fixed V_C grid points of the one-pulse step bench
    "lsp/dv_up_V": 2,              # (n_instances, n_s) ΔV_C of one up pulse started at each grid point (no gaps)
    "lsp/dv_down_V": 2,            # (n_instances, n_s) ΔV_C of one down pulse (negative)
    "lsp/updown_g_S": 2,           # (n_instances, 2K + 1) g after each of K up then K down pulses
    "lsp/updown_vc_V": 2,          # (n_instances, 2K + 1) V_C after each pulse
    "lsp/leak_vc_V": 1,            # (n_v,) V_C grid of the leakage table
    "lsp/leak_dvdt_V_per_s": 2,    # (n_instances, n_v) dV_C/dt with all FETs off
    "lsp/reset_vstart_V": 1,       # (n_st,) starting V_C of the transmission-gate reset bench
    "lsp/reset_vfinal_V": 2,       # (n_instances, n_st) V_C after reset and turn-off (target: reset_target_V)
    "lsp/read_noise_vc_V": 1,      # (n_g,) V_C of the read-noise bench
    "lsp/read_noise_rel_sigma": 1, # (n_g,) relative σ of one read over read_noise_t_int_s
    # peripheral current integrator
    "integrator/q_in_C": 1,        # (n_q,) integrated input charge
    "integrator/v_out_V": 1,       # (n_q,) output voltage
}

#: Sizes of the tables, one symbol per axis; the same symbol must have the same size in every table
#: ("B+1": one more than B). Checked on load (:meth:`Bundle.check_values`).
TABLE_DIMS: dict[str, str] = {
    "pcm/staircase_g_S": "pcm_I,pcm_J+1", "pcm/fit_coef": "pcm_I,pcm_3", "pcm/fit_dg_residual_S": "pcm_I,pcm_J", "pcm/dg_bins_S": "pcm_B+1", "pcm/dg_quantiles_S": "pcm_B,pcm_Q",
    "pcm/dg_quantile_levels": "pcm_Q", "pcm/dg_count": "pcm_B", "pcm/dg_mean_S": "pcm_B", "pcm/dg_std_S": "pcm_B",
    "pcm/g_reset_S": "pcm_I", "pcm/g_max_S": "pcm_I", "pcm/read_v_V": "pcm_V", "pcm/read_g_S": "pcm_R,pcm_V",
    "pcm/drift_levels": "pcm_L", "pcm/drift_t_s": "pcm_T", "pcm/drift_g_S": "pcm_I,pcm_L,pcm_T",
    "pcm/drift_g_prog_S": "pcm_I,pcm_L", "pcm/drift_g0_S": "pcm_I,pcm_L", "pcm/drift_nu": "pcm_I,pcm_L",
    "pcm/stair_clean_g_S": "pcm_I,pcm_K", "pcm/stair_top_g_S": "pcm_I,pcm_J+1", "pcm/g_sat_S": "pcm_I",
    "pcm/c2c_law": "pcm_3", "pcm/c2c_bias_edges_u": "pcm_Bc+1", "pcm/c2c_bias": "pcm_Bc",
    "pcm/nu": "pcm_I", "pcm/c2c_dg_S": "pcm_C", "pcm/read_noise_g_S": "pcm_N", "pcm/read_noise_rel_sigma": "pcm_N",
    "lsp/vc_grid_V": "lsp_V", "lsp/g_of_vc_S": "lsp_I,lsp_V", "lsp/step_vc_V": "lsp_S", "lsp/dv_up_V": "lsp_J,lsp_S",
    "lsp/dv_down_V": "lsp_J,lsp_S", "lsp/updown_g_S": "lsp_K,lsp_U", "lsp/updown_vc_V": "lsp_K,lsp_U",
    "lsp/leak_vc_V": "lsp_W", "lsp/leak_dvdt_V_per_s": "lsp_M,lsp_W", "lsp/reset_vstart_V": "lsp_X",
    "lsp/reset_vfinal_V": "lsp_Y,lsp_X", "lsp/read_noise_vc_V": "lsp_Z", "lsp/read_noise_rel_sigma": "lsp_Z",
    "integrator/q_in_C": "int_Q", "integrator/v_out_V": "int_Q",
}

#: Tables that may hold NaN (never infinity): per-bin statistics of bins without observations.
TABLE_NAN_ALLOWED = frozenset({"pcm/dg_mean_S", "pcm/dg_std_S", "pcm/dg_quantiles_S"})

#: Scalars the array-level device models read, section → keys (:mod:`pycosim.devices`: ``pcm.population``,
#: ``lsp.population``, ``integrator.params``). Declared here, where the bundle is checked, because the models
#: import this module and not the other way round; a test checks that each model reads only these.
MODEL_SCALARS: dict[str, tuple[str, ...]] = {
    "pcm": ("read_noise_t_int_s", "read_noise_record_s", "dg_fit", "drift_t_prog_s", "drift_t_on_s"),
    "lsp": ("read_noise_t_int_s", "dv_up_c2c_sigma_V", "dv_down_c2c_sigma_V", "vc_init_V"),
    "integrator": ("gain_V_per_C", "gain_std_V_per_C", "offset_V", "offset_std_V", "v_sat_lo_V", "v_sat_hi_V",
                   "q_linear_max_C", "e_read_J", "cint_F", "noise_out_rms_V", "t_settle_s", "conveyor_g_in_S",
                   "mirror_eps_plus_std", "mirror_eps_minus_std", "conveyor_vos_std_V", "noise_t_open_s", "q_net_fs_C"),
}

#: Scalars the summary, the reports and the array read besides the models', section → keys.
_OTHER_SCALARS: dict[str, tuple[str, ...]] = {
    "pcm": ("g_reset_mean_S", "g_reset_std_S", "g_max_mean_S", "g_max_std_S", "nu_mean", "nu_std",
            "read_v_V", "set_pulses", "dg_first_mean_S", "dg_last_mean_S", "e_set_J", "e_reset_J", "dg_fit",
            "c2c_rel_sigma", "read_noise_t_int_s", "read_noise_record_s", "nu_by_level_mean", "nu_by_level_std"),
    "lsp": ("vc_init_V", "dv_up_mean_V", "dv_down_mean_V", "up_down_ratio", "dv_up_cv", "dv_down_cv",
            "leak_dvdt_at_init_V_per_s", "leak_target_V", "g_min_S", "g_max_S", "read_v_V", "e_up_J", "e_down_J",
            "reset_target_V", "reset_error_mean_V", "reset_error_std_V", "reset_injection_V",
            "dv_up_c2c_sigma_V", "dv_down_c2c_sigma_V", "read_noise_t_int_s", "t_example_s", "t_hold_transfer_s"),
    "integrator": ("gain_V_per_C", "offset_V", "q_linear_max_C", "v_sat_hi_V", "v_sat_lo_V",
                   "linearity_error", "e_read_J", "noise_in_rms_V", "ktc_noise_V", "noise_out_rms_V", "t_int_s",
                   "offset_std_V", "offset_source", "t_window_s", "t_pwm_s", "q_fs_net_C", "g_fs_S",
                   "cm_error_fs_std", "cm_error_rel_std", "q_headroom_C", "hold_error_V", "e_read_mirrors_J", "e_read_cint_J",
                   "read_circuit"),
}

#: Scalars every bundle must carry, section → keys: the models' and the others', each once.
REQUIRED_SCALARS: dict[str, tuple[str, ...]] = {
    sec: tuple(dict.fromkeys(_OTHER_SCALARS[sec] + MODEL_SCALARS.get(sec, ()))) for sec in _OTHER_SCALARS}


#: Kind of value of a required scalar ("section.key" → "number" | "object" | "text" | "list");
#: scalars not listed are numbers. An "object" is a dict of numbers with an optional text "form".
SCALAR_KINDS: dict[str, str] = {"pcm.dg_fit": "object", "pcm.nu_by_level_mean": "list", "pcm.nu_by_level_std": "list",
                               "integrator.offset_source": "text", "integrator.read_circuit": "text"}


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}") + (f" ({value!r})" if isinstance(value, (str, bool)) else "")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_scalar_type(where: str, name: str, value) -> None:
    """CalibrationError naming *name* when a (hand-edited) scalar has the wrong JSON type."""
    kind = SCALAR_KINDS.get(name, "number")
    ok = {"number": _is_number(value),
          "text": isinstance(value, str),
          "list": isinstance(value, list) and all(_is_number(v) for v in value),
          "object": isinstance(value, dict) and all(_is_number(v) or (k == "form" and isinstance(v, str))
                                                    for k, v in value.items())}[kind]
    if not ok:
        want = {"number": "a number", "text": "text", "list": "a list of numbers",
                "object": "an object of numbers (and a text 'form')"}[kind]
        raise CalibrationError(f"{where}: {JSON_NAME} key {name!r} must be {want}, got {_json_type(value)}")


@dataclass
class Bundle:
    """An in-memory calibration bundle.

    Attributes:
        scalars: section (``"pcm"``, ``"lsp"``, ``"integrator"``) → name → value (SI units in names).
        tables: table name (see :data:`REQUIRED_TABLES`) → float64 array.
        provenance: files (relative path → SHA-256), ngspice_version, pycosim_version, parameters,
            seeds, Monte Carlo counts, failed instances, created_utc.
        path: directory it was loaded from (None for a bundle built in memory).
    """

    scalars: dict
    tables: dict[str, np.ndarray]
    provenance: dict = field(default_factory=dict)
    path: Path | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.tables[name]

    def validate(self, where: str = "bundle") -> None:
        """Check required scalars and tables (names and dimensionality); CalibrationError if not."""
        for section, keys in REQUIRED_SCALARS.items():
            sec = self.scalars.get(section)
            if sec is None:
                raise CalibrationError(f"{where}: missing section {section!r} in {JSON_NAME}")
            if not isinstance(sec, dict):
                raise CalibrationError(f"{where}: {JSON_NAME} key {section!r} must be an object (a JSON dict), "
                                       f"got {_json_type(sec)}")
            missing = [k for k in keys if k not in sec]
            if missing:
                raise CalibrationError(f"{where}: {JSON_NAME} section {section!r} lacks {', '.join(missing)}")
            for k in keys:
                _check_scalar_type(where, f"{section}.{k}", sec[k])
        prov_files = self.provenance.get("files") if isinstance(self.provenance, dict) else None
        if prov_files is not None and not (isinstance(prov_files, dict)
                                           and all(isinstance(v, str) for v in prov_files.values())):
            raise CalibrationError(f"{where}: {JSON_NAME} key 'provenance.files' must map file names to SHA-256 "
                                   f"text, got {_json_type(prov_files)}")
        for name, ndim in REQUIRED_TABLES.items():
            if name not in self.tables:
                raise CalibrationError(f"{where}: {TABLES_NAME} lacks table {name!r}")
            if self.tables[name].ndim != ndim:
                raise CalibrationError(f"{where}: table {name!r} has {self.tables[name].ndim} dimensions, "
                                       f"expected {ndim}")

    def check_values(self, where: str = "bundle") -> None:
        """Check the *values* (after :meth:`validate`): every number finite, scalars in their physical range
        (:func:`_scalar_rule`; the integrator's gain non-zero, its rails ordered), tables finite (NaN only
        where :data:`TABLE_NAN_ALLOWED` says), non-empty, conductances ≥ 0, and their sizes consistent with
        each other (:data:`TABLE_DIMS`; the Monte Carlo instance axis only when no instance failed: a bundle
        written with --skip-failed lacks the failed instance in that bench alone, and the device models refuse
        it by name). CalibrationError naming the scalar or table otherwise."""
        for section, keys in REQUIRED_SCALARS.items():
            sec = self.scalars[section]
            for key in keys:
                value = sec[key]
                items = ([(f"{section}.{key}", value)] if _is_number(value) else
                         [(f"{section}.{key}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, list) else
                         [(f"{section}.{key}.{k}", v) for k, v in value.items() if k != "form"]
                         if isinstance(value, dict) else [])
                for name, v in items:
                    if _bad_number(v):
                        raise CalibrationError(f"{where}: {JSON_NAME} scalar {name} is {v} (not a finite number)")
                    rule = _scalar_rule(name.rsplit(".", 1)[-1].split("[")[0])
                    if rule is not None:
                        lo, strict = rule
                        if v < lo or (strict and v == lo):
                            raise CalibrationError(f"{where}: {JSON_NAME} scalar {name} = {v} is out of range "
                                                   f"(must be {'>' if strict else '≥'} {lo:g})")
        integ = self.scalars["integrator"]
        if integ["gain_V_per_C"] == 0:
            raise CalibrationError(f"{where}: {JSON_NAME} scalar integrator.gain_V_per_C is 0")
        if not integ["v_sat_lo_V"] < integ["v_sat_hi_V"]:
            raise CalibrationError(f"{where}: {JSON_NAME} scalars integrator.v_sat_lo_V ({integ['v_sat_lo_V']}) "
                                   f"and v_sat_hi_V ({integ['v_sat_hi_V']}) are not in order")
        sizes: dict[str, tuple[int, str]] = {}
        failed = bool((self.provenance or {}).get("failed"))
        for name in REQUIRED_TABLES:
            t = self.tables[name]
            if t.size == 0:
                raise CalibrationError(f"{where}: table {name!r} is empty (shape {t.shape})")
            if not np.issubdtype(t.dtype, np.number) or np.issubdtype(t.dtype, np.complexfloating):
                raise CalibrationError(f"{where}: table {name!r} holds {t.dtype}, not real numbers")
            finite = np.isfinite(t)
            if not finite.all() and not (name in TABLE_NAN_ALLOWED and not np.isinf(t).any()):
                raise CalibrationError(f"{where}: table {name!r} holds {int((~finite).sum())} non-finite value(s)")
            if name.endswith("_S") and "dg_" not in name and np.nanmin(t) < 0:
                raise CalibrationError(f"{where}: table {name!r} holds a negative conductance ({np.nanmin(t):.3g} S)")
            for axis, dim in enumerate(TABLE_DIMS[name].split(",")):
                n = t.shape[axis] - (1 if dim.endswith("+1") else 0)
                d = dim.removesuffix("+1")
                if d.endswith("_I") and failed:
                    continue    # instances recorded as failed (--skip-failed) are missing from their bench only
                if d in sizes and sizes[d][0] != n:
                    other = sizes[d][1]
                    raise CalibrationError(f"{where}: table {name!r} has shape {t.shape}, inconsistent with table "
                                           f"{other!r} of shape {self.tables[other].shape}")
                sizes.setdefault(d, (n, name))
        n_lev = len(self.tables["pcm/drift_levels"])
        for key in ("nu_by_level_mean", "nu_by_level_std"):
            if len(self.scalars["pcm"][key]) != n_lev:
                raise CalibrationError(f"{where}: {JSON_NAME} scalar pcm.{key} has {len(self.scalars['pcm'][key])} "
                                       f"values, table 'pcm/drift_levels' {n_lev} levels")


def _scalar_rule(key: str):
    """(lower bound, strict) of a numeric scalar by its name (units are case-sensitive suffixes), or None
    (any finite value): times (_s), capacitances (_F), frequencies (_Hz), read voltages and the fitted ΔG
    law > 0; energies (_J), spreads (std, sigma, CV, noise) and conductances (g_…_S) ≥ 0."""
    if key.endswith(("_s", "_F", "_Hz")) or key in ("read_v_V", "up_down_ratio", "dg0_S", "gs_S", "set_pulses"):
        return 0.0, True
    if (key.endswith("_J") or "std" in key or "sigma" in key or key.endswith("_cv") or "noise" in key
            or (key.startswith("g_") and key.endswith("_S"))):
        return 0.0, False
    return None


def _bad_number(value) -> bool:
    return not np.isfinite(float(value))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save(bundle: Bundle, directory: str | os.PathLike) -> Path:
    """Write *bundle* to *directory* atomically (temporary sibling directory, then rename).

    An existing bundle at *directory* is replaced only once the new one is complete.
    Raises CalibrationError if the bundle is invalid or the directory cannot be written.
    """
    from pycosim import __version__

    bundle.validate("bundle to save")
    directory = check_destination(directory, "calibration directory")
    parent = directory.parent.resolve()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise CalibrationError(f"cannot write calibration to {directory}: {exc.strerror}") from None
    try:
        from pycosim.files import chmod_like_new

        chmod_like_new(tmp, directory=True)  # mkdtemp makes 0700; a bundle is for sharing
        np.savez_compressed(tmp / TABLES_NAME, **{k: np.asarray(v, dtype=np.float64) for k, v in bundle.tables.items()})
        prov = dict(bundle.provenance)
        prov.setdefault("pycosim_version", __version__)
        prov.setdefault("created_utc", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        prov["tables_sha256"] = _sha256(tmp / TABLES_NAME)
        doc = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **_jsonable(bundle.scalars),
               "provenance": _jsonable(prov)}
        (tmp / JSON_NAME).write_text(json.dumps(doc, indent=2, sort_keys=False, allow_nan=True) + "\n")
        for f in (TABLES_NAME, JSON_NAME):
            chmod_like_new(tmp / f)
        old = None
        if directory.exists():
            if not (directory / JSON_NAME).is_file() and any(directory.iterdir()):
                raise CalibrationError(f"{directory} exists and is not a calibration bundle; refusing to replace it")
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            os.replace(directory, old)
        os.replace(tmp, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CalibrationError(f"cannot write calibration to {directory}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle.path = directory
    bundle.provenance = prov
    return directory


def check_destination(directory: str | os.PathLike, flag: str = "--out") -> Path:
    """Validate where a bundle will be written, before any work (CalibrationError naming *flag*):
    not an existing file, not a non-empty directory that is not a bundle (it would not be
    replaced), an existing parent directory in which a directory can be created
    (:func:`pycosim.files.check_out_dir`)."""
    from pycosim.files import check_out_dir

    return check_out_dir(directory, flag, allow_existing=JSON_NAME, parents=False,
                         hint="give a new directory or an existing bundle", error=CalibrationError)


def load(directory: str | os.PathLike | None = None, *, check_provenance: bool = False) -> Bundle:
    """Load and validate a bundle (default: the one shipped with pycosim, :func:`default_path`).

    Checks: both files present, JSON parses, schema name and version, tables.npz checksum
    (a truncated or edited file is caught), required scalars and tables, and their values
    (:meth:`Bundle.check_values`: finite, in range, table sizes consistent). With
    *check_provenance*, also :func:`check_provenance`.
    """
    directory = Path(directory).expanduser() if directory is not None else default_path()
    jpath, tpath = directory / JSON_NAME, directory / TABLES_NAME
    if not directory.is_dir():
        raise CalibrationError(f"calibration bundle not found: {directory} (create one with pycosim characterize)")
    for p in (jpath, tpath):
        if not p.is_file():
            raise CalibrationError(f"{directory}: incomplete bundle, {p.name} is missing")
    try:
        doc = json.loads(jpath.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{jpath}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise CalibrationError(f"{jpath}: not a pycosim calibration file (schema {doc.get('schema')!r})"
                               if isinstance(doc, dict) else f"{jpath}: not a pycosim calibration file")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CalibrationError(f"{jpath}: 'schema_version' must be a whole number (this pycosim reads version "
                               f"{SCHEMA_VERSION}), got {_json_type(version)}")
    if version != SCHEMA_VERSION:
        age = "an older" if version < SCHEMA_VERSION else "an incompatible"
        raise CalibrationError(f"{jpath}: schema version {version} is incompatible with this pycosim (reads version "
                               f"{SCHEMA_VERSION}; {age} bundle); regenerate it with pycosim characterize --out {directory}")
    prov = doc.get("provenance")
    if prov is None:
        prov = {}
    if not isinstance(prov, dict):
        raise CalibrationError(f"{jpath}: 'provenance' must be an object (a JSON dict), got {_json_type(prov)}")
    if prov.get("tables_sha256") != _sha256(tpath):
        raise CalibrationError(f"{tpath}: checksum does not match {JSON_NAME} (truncated or modified file)")
    try:
        with np.load(tpath, allow_pickle=False) as z:
            tables = {k: np.asarray(z[k]) for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise CalibrationError(f"{tpath}: unreadable ({exc})") from None
    scalars = {k: v for k, v in doc.items() if k not in ("schema", "schema_version", "provenance")}
    bundle = Bundle(scalars=scalars, tables=tables, provenance=prov, path=directory)
    bundle.validate(str(directory))
    bundle.check_values(str(directory))
    if check_provenance:
        check_provenance_of(bundle)
    return bundle


def default_path() -> Path:
    """Directory of the calibration bundle shipped with pycosim."""
    return Path(str(resources.files("pycosim"))) / "data" / "calibration" / "default"


def stale_files(bundle: Bundle) -> list[str]:
    """Shipped SPICE files whose current SHA-256 differs from the one recorded in *bundle*."""
    from pycosim.resources import spice_root

    stale = []
    for rel, digest in (bundle.provenance.get("files") or {}).items():
        p = spice_root() / rel
        if not p.is_file() or _sha256(p) != digest:
            stale.append(rel)
    return stale


def check_provenance_of(bundle: Bundle) -> None:
    """Raise CalibrationError if a netlist or bench was edited since the bundle was made."""
    stale = stale_files(bundle)
    if stale:
        raise CalibrationError(f"{bundle.path}: calibration is stale, these SPICE files changed since it was made: "
                               f"{', '.join(stale)}; re-run pycosim characterize")


def dg_model(g_S, fit: dict):
    """Compact mean SET response ΔG(G) = dg0·exp(−G/G_s) (S) of the bundle's scalar ``pcm.dg_fit``: identical
    partial-SET pulses give steps that shrink as G grows (the saturating PCM response reported by Burr et al.,
    IEEE TED 62, 3498 (2015)); the exponential form is this package's empirical choice: on the shipped
    bundle it fits as well as dg0·(1 − G/G_max)^p with one parameter fewer."""
    return fit["dg0_S"] * np.exp(-np.asarray(g_S, dtype=np.float64) / fit["gs_S"])


def summary(bundle: Bundle) -> str:
    """Readable summary: ranges, asymmetry, leakage, energies, provenance (for ``calibration show``)."""
    p, l, i = bundle.scalars["pcm"], bundle.scalars["lsp"], bundle.scalars["integrator"]
    pv = bundle.provenance
    u = 1e6
    fit = p["dg_fit"]
    lines = [
        f"calibration bundle {bundle.path}",
        f"  schema {SCHEMA} v{SCHEMA_VERSION}; pycosim {pv.get('pycosim_version')}; ngspice {pv.get('ngspice_version')}; "
        f"created {pv.get('created_utc')}",
        f"  Monte Carlo: {pv.get('mc')} seed {pv.get('seed')}; failed instances: {len(pv.get('failed') or [])}",
        *([f"  library overrides (characterize --lib-param): " + ", ".join(
            f"{lib}.{k}={v:g}" for lib, ps in sorted(pv['lib_params'].items()) for k, v in sorted(ps.items()))]
          if pv.get("lib_params") else []),
        "PCM (most significant pair)",
        f"  RESET floor       {p['g_reset_mean_S'] * u:8.3f} ± {p['g_reset_std_S'] * u:.3f} µS   (read at {p['read_v_V']} V)",
        f"  G_max per device  {p['g_max_mean_S'] * u:8.2f} ± {p['g_max_std_S'] * u:.2f} µS",
        f"  ΔG per SET pulse  first {p['dg_first_mean_S'] * u:.3f} µS → last {p['dg_last_mean_S'] * u:.3f} µS "
        f"over {p['set_pulses']} pulses (ratio {p['dg_first_mean_S'] / max(p['dg_last_mean_S'], 1e-30):.1f})",
        f"  ΔG fit            {fit.get('form')}: " + ", ".join(f"{k}={v:.4g}" for k, v in fit.items() if k != 'form'),
        f"  drift exponent ν  RESET {p['nu_mean']:.4f} ± {p['nu_std']:.4f}; by level "
        + ", ".join(f"{lv:.0%}: {m:.3f}±{sd:.3f}" for lv, m, sd in zip(bundle.tables["pcm/drift_levels"],
                                                                     p["nu_by_level_mean"], p["nu_by_level_std"])),
        f"  cycle-to-cycle    σ/mean of a mid-range SET step {p['c2c_rel_sigma']:.2f}",
        f"  read noise        σ/G " + ", ".join(f"{r:.4f} at {g * u:.1f} µS" for g, r in zip(
            bundle.tables["pcm/read_noise_g_S"], bundle.tables["pcm/read_noise_rel_sigma"]))
        + f" (window {p['read_noise_t_int_s'] * 1e9:.0f} ns)",
        f"  energy            SET {p['e_set_J'] * 1e12:.3f} pJ/pulse, RESET {p['e_reset_J'] * 1e12:.3f} pJ/pulse",
        "3T1C (least significant pair)",
        f"  g range           {l['g_min_S'] * u:.3f} … {l['g_max_S'] * u:.3f} µS (read at {l['read_v_V']} V), V_C init {l['vc_init_V']} V",
        f"  ΔV_C per pulse    up {l['dv_up_mean_V'] * 1e3:+.3f} mV (CV {l['dv_up_cv']:.1%}), "
        f"down {l['dv_down_mean_V'] * 1e3:+.3f} mV (CV {l['dv_down_cv']:.1%})",
        f"  up/down asymmetry |ΔV_up/ΔV_down| = {l['up_down_ratio']:.3f}",
        f"  leakage           dV_C/dt at init {l['leak_dvdt_at_init_V_per_s']:+.4f} mV/ms (= V/s), drifts toward {l['leak_target_V']:.3f} V",
        f"  energy            up {l['e_up_J'] * 1e15:.3f} fJ/pulse, down {l['e_down_J'] * 1e15:.3f} fJ/pulse",
        f"  step-to-step σ    up {l['dv_up_c2c_sigma_V'] * 1e3:.3f} mV, down {l['dv_down_c2c_sigma_V'] * 1e3:.3f} mV (one cell)",
        f"  reset             to {l['reset_target_V']:.3f} V: error {l['reset_error_mean_V'] * 1e3:+.2f} ± "
        f"{l['reset_error_std_V'] * 1e3:.2f} mV (turn-off injection {l['reset_injection_V'] * 1e3:+.2f} mV)",
        f"  read noise        σ/g " + ", ".join(f"{r:.1e} at V_C {v:.2f} V" for v, r in zip(
            bundle.tables["lsp/read_noise_vc_V"], bundle.tables["lsp/read_noise_rel_sigma"]))
        + f" (window {l['read_noise_t_int_s'] * 1e9:.0f} ns)",
        f"  timing            one example {l['t_example_s'] * 1e6:.2f} µs, transfer interval hold "
        f"{l['t_hold_transfer_s'] * 1e3:.2f} ms (pycosim.timing)",
        "Integrator",
        f"  gain {i['gain_V_per_C']:.4g} V/C, offset {i['offset_V'] * 1e3:.3f} mV, linear to {i['q_linear_max_C'] * 1e15:.2f} fC "
        f"(error {i['linearity_error']:.2%}), rails {i['v_sat_lo_V']:.3f} … {i['v_sat_hi_V']:.3f} V, "
        f"{i['e_read_J'] * 1e12:.3f} pJ/read",
        f"  noise: input-referred {i['noise_in_rms_V'] * 1e6:.1f} µV, kT/C {i['ktc_noise_V'] * 1e6:.1f} µV "
        f"(integrator bench, t_int {i['t_int_s'] * 1e9:.0f} ns); one column read {i['noise_out_rms_V'] * 1e6:.1f} µV rms; "
        f"offset σ {i['offset_std_V'] * 1e3:.2f} mV "
        f"({i['offset_source'] if len(str(i['offset_source'])) < 60 else str(i['offset_source'])[:57] + '…'})",
        f"  column read: C_int {i['cint_F'] * 1e12:.1f} pF, window {i['t_window_s'] * 1e9:.2f} ns, net full scale "
        f"{i['q_net_fs_C'] * 1e12:.2f} pC, mirror σ(ε) {i['mirror_eps_plus_std']:.2%} / {i['mirror_eps_minus_std']:.2%}, "
        f"common mode {i['cm_error_fs_std']:.2%} of full scale, hold g_in {i['conveyor_g_in_S']:.0f} S",
        "Provenance (SHA-256 of SPICE files)",
    ]
    lines += [f"  {digest[:16]}…  {rel}" for rel, digest in sorted((pv.get("files") or {}).items())]
    stale = stale_files(bundle)
    if stale:
        lines.append(f"  WARNING: changed since characterisation: {', '.join(stale)}")
    lines += measured_summary_lines(bundle)
    return "\n".join(lines)


def measured_summary_lines(bundle: Bundle) -> list[str]:
    """Lines of :func:`summary` for a bundle made from measured data (``pycosim calibrate-data``): its role, the
    input files (SHA-256, rows, devices), which tables and scalars came from the data and which from the base
    bundle, and for the lsp role the measured device's range and steps. Empty for a SPICE bundle."""
    m = (bundle.provenance or {}).get("measured")
    if not isinstance(m, dict):
        return []
    u = 1e6
    lines = [f"Measured data (role {m.get('role')}; use with {m.get('scheme')})"]
    for key, inp in (m.get("inputs") or {}).items():
        extra = f", {inp['sequences']} sequences" if "sequences" in inp else ""
        lines.append(f"  {key:<10} {inp.get('file')}: {inp.get('rows')} rows, {inp.get('devices')} devices{extra}; "
                     f"SHA-256 {str(inp.get('sha256'))[:16]}…")
    base = m.get("base") or {}
    lines.append(f"  base       {base.get('path')} (tables {str(base.get('tables_sha256'))[:16]}…)")
    lines.append(f"  from data  ({len(m.get('from_data') or [])}) " + ", ".join(m.get("from_data") or []))
    lines.append(f"  from base  ({len(m.get('from_base') or [])}) " + ", ".join(m.get("from_base") or []))
    d = bundle.scalars.get("lsp_data")
    if isinstance(d, dict) and "dg_up_mean_S" in d:
        lines.append(f"  LSP device G {d['g_min_mean_S'] * u:.3f} … {d['g_max_mean_S'] * u:.3f} µS (device means), reset "
                     f"to {d['g_reset_mean_S'] * u:.3f} µS; step there up {d['dg_up_mean_S'] * u:+.4f} µS (c2c σ "
                     f"{d['dg_up_c2c_sigma_S'] * u:.4f}), down {d['dg_down_mean_S'] * u:+.4f} µS (c2c σ "
                     f"{d['dg_down_c2c_sigma_S'] * u:.4f}); {d['instances']} instances of {d['devices']} devices")
    return lines


def _flat_scalars(scalars: dict) -> dict:
    """section.key (and section.key.sub, section.key[i]) → number or text, of a bundle's scalars."""
    out = {}
    for sec, d in scalars.items():
        if not isinstance(d, dict):
            continue
        for k, v in d.items():
            if isinstance(v, dict):
                out.update({f"{sec}.{k}.{s}": w for s, w in v.items()})
            elif isinstance(v, list):
                out.update({f"{sec}.{k}[{i}]": w for i, w in enumerate(v)})
            else:
                out[f"{sec}.{k}"] = v
    return out


def _rel(a: float, b: float) -> float:
    """Relative change (b − a)/|a| (inf when a = 0 ≠ b; 0 when both are 0)."""
    if a == b:
        return 0.0
    return (b - a) / abs(a) if a != 0 else float("inf")


def diff(a: Bundle, b: Bundle, rtol: float = 1e-9) -> list[dict]:
    """What differs between bundles *a* and *b*: one dict per scalar or table.

    Scalars (numbers, list entries, object fields): ``{"kind": "scalar", "name", "a", "b", "rel"}`` with
    rel = (b − a)/|a| when |b − a| > rtol·max(|a|, |b|); text that differs: rel None. Tables of the same shape:
    ``{"kind": "table", "name", "shape_a", "shape_b", "mean_a", "mean_b", "rel" (of the mean),
    "max_rel"}`` with max_rel = max|b − a| / max|a| (NaN-aware); tables of different shapes: their shapes and
    means. Items only in one bundle: ``{"kind": "only_a" | "only_b", "name"}``. Provenance is not compared.
    Sorted by kind, then |rel| descending."""
    out = []
    fa, fb = _flat_scalars(a.scalars), _flat_scalars(b.scalars)
    for name in sorted(set(fa) | set(fb)):
        if name not in fb or name not in fa:
            out.append({"kind": "only_a" if name in fa else "only_b", "name": name})
            continue
        va, vb = fa[name], fb[name]
        if _is_number(va) and _is_number(vb):
            if abs(float(vb) - float(va)) > rtol * max(abs(float(va)), abs(float(vb))):
                out.append({"kind": "scalar", "name": name, "a": va, "b": vb, "rel": _rel(float(va), float(vb))})
        elif va != vb:
            out.append({"kind": "scalar", "name": name, "a": va, "b": vb, "rel": None})
    for name in sorted(set(a.tables) | set(b.tables)):
        if name not in a.tables or name not in b.tables:
            out.append({"kind": "only_a" if name in a.tables else "only_b", "name": name})
            continue
        ta, tb = np.asarray(a.tables[name], np.float64), np.asarray(b.tables[name], np.float64)
        ma = float(np.nanmean(ta)) if ta.size and not np.all(np.isnan(ta)) else float("nan")
        mb = float(np.nanmean(tb)) if tb.size and not np.all(np.isnan(tb)) else float("nan")
        entry = {"kind": "table", "name": name, "shape_a": ta.shape, "shape_b": tb.shape, "mean_a": ma,
                 "mean_b": mb, "rel": _rel(ma, mb) if np.isfinite(ma) and np.isfinite(mb) else None, "max_rel": None}
        if ta.shape == tb.shape:
            d = np.abs(tb - ta)
            same_nan = np.isnan(ta) == np.isnan(tb)
            scale = float(np.nanmax(np.abs(ta))) if np.any(np.isfinite(ta)) else 0.0
            dmax = float(np.nanmax(d)) if np.any(np.isfinite(d)) else 0.0
            if same_nan.all() and dmax <= rtol * max(scale, float(np.nanmax(np.abs(tb))) if np.any(np.isfinite(tb)) else 0.0):
                continue
            entry["max_rel"] = dmax / scale if scale > 0 else float("inf")
        out.append(entry)
    order = {"scalar": 0, "table": 1, "only_a": 2, "only_b": 3}
    return sorted(out, key=lambda e: (order[e["kind"]], -abs(e["rel"]) if isinstance(e.get("rel"), float)
                                      and np.isfinite(e["rel"]) else 0.0, e["name"]))


def format_diff(entries: list[dict], a: Bundle, b: Bundle) -> str:
    """Readable :func:`diff` (for ``calibration diff``): one line per differing scalar (A → B, relative change)
    and table (shapes, means, relative change of the mean, largest change relative to A's largest value)."""
    def num(v):
        return f"{v:.4g}" if _is_number(v) else repr(v)

    def pct(r):
        return "      n/a" if r is None else ("     new≠0" if not np.isfinite(r) else f"{100 * r:+9.2f}%")

    lines = [f"A = {a.path}", f"B = {b.path}"]
    sc = [e for e in entries if e["kind"] == "scalar"]
    tb = [e for e in entries if e["kind"] == "table"]
    lines.append(f"scalars that differ: {len(sc)}")
    lines += [f"  {pct(e['rel'])}  {e['name']:<40} {num(e['a'])} → {num(e['b'])}" for e in sc]
    lines.append(f"tables that differ: {len(tb)}  (change of the mean; max |B − A| / max |A|)")
    for e in tb:
        shape = (f"{e['shape_a']}" if e["shape_a"] == e["shape_b"] else f"{e['shape_a']} → {e['shape_b']}")
        mx = "" if e["max_rel"] is None else f"; max {100 * e['max_rel']:.3g}%"
        lines.append(f"  {pct(e['rel'])}  {e['name']:<32} {shape:<18} mean {e['mean_a']:.4g} → {e['mean_b']:.4g}{mx}")
    for kind, label in (("only_a", "only in A"), ("only_b", "only in B")):
        names = [e["name"] for e in entries if e["kind"] == kind]
        if names:
            lines.append(f"{label}: {', '.join(names)}")
    if not sc and not tb and len(lines) == 4:
        lines.append("no differences")
    return "\n".join(lines)
