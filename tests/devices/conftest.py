"""A SYNTHETIC schema-2 bundle for unit tests of the mechanics (not a closure claim).

It is the shipped bundle plus the tables the circuit-physics helpers are adding (names from the
session contract), filled with made-up but plausible values so that the consumers of those tables
can be exercised before the regenerated bundle lands. Every synthetic number is here, nowhere else.
"""

from __future__ import annotations

import copy
import json

import numpy as np

from pycosim import calibration
from pycosim.errors import CalibrationError


def load_shipped():
    """The bundle under test: $PYCOSIM_TEST_CALIBRATION if set, else the shipped one. If its schema
    differs from the working tree's (a regeneration is pending), its two files are read directly
    (tables and scalars as written, no schema check)."""
    import os
    from pathlib import Path

    d = Path(os.environ["PYCOSIM_TEST_CALIBRATION"]) if os.environ.get("PYCOSIM_TEST_CALIBRATION") else None
    try:
        return calibration.load(d)
    except CalibrationError as exc:
        if "schema version" not in str(exc) and "dimensions" not in str(exc):
            raise
        d = d or calibration.default_path()
        doc = json.loads((d / calibration.JSON_NAME).read_text())
        with np.load(d / calibration.TABLES_NAME) as z:
            tables = {k: np.asarray(z[k]) for k in z.files}
        scalars = {k: v for k, v in doc.items() if k not in ("schema", "schema_version", "provenance")}
        return calibration.Bundle(scalars=scalars, tables=tables, provenance=doc.get("provenance", {}), path=d)

SYNTHETIC_TABLES = ("pcm/drift_levels", "pcm/drift_nu", "pcm/read_noise_g_S", "pcm/read_noise_rel_sigma",
                    "lsp/reset_vstart_V", "lsp/reset_vfinal_V", "lsp/read_noise_vc_V", "lsp/read_noise_rel_sigma")


def synthetic_bundle(base=None):
    """Shipped bundle + synthetic schema-2 tables/scalars where the real ones are absent."""
    b = base or load_shipped()
    tables = dict(b.tables)
    scalars = copy.deepcopy(b.scalars)
    rng = np.random.default_rng(12345)
    n_p, n_l = b["pcm/g_max_S"].shape[0], b["lsp/g_of_vc_S"].shape[0]
    vc0 = float(scalars["lsp"]["vc_init_V"])
    add = {
        "pcm/drift_levels": np.array([0, 0.1, 0.25, 0.5, 0.75, 1.0]),
        "pcm/drift_nu": b["pcm/nu"][:, None] * np.linspace(1.0, 0.2, 6)[None, :],
        "pcm/read_noise_g_S": np.array([0.1e-6, 1e-6, 10e-6, 30e-6]),
        "pcm/read_noise_rel_sigma": np.array([0.03, 0.02, 0.01, 0.01]),
        "lsp/reset_vstart_V": np.array([0.2, 0.5, 0.8, 1.1]),
        "lsp/reset_vfinal_V": vc0 - 0.004 + 0.002 * rng.standard_normal((n_l, 1)) + 0.003 * (np.array([0.2, 0.5, 0.8, 1.1]) - vc0)[None, :],
        "lsp/read_noise_vc_V": np.array([0.2, 0.5, 0.8, 1.1]),
        "lsp/read_noise_rel_sigma": np.array([0.02, 0.01, 0.005, 0.005]),
    }
    for k, v in add.items():
        tables.setdefault(k, np.asarray(v, np.float64))
    scalars["pcm"].setdefault("read_noise_t_int_s", 1e-7)
    for k, v in (("dv_up_c2c_sigma_V", 0.5e-3), ("dv_down_c2c_sigma_V", 0.5e-3), ("read_noise_t_int_s", 1e-7)):
        scalars["lsp"].setdefault(k, v)
    scalars["integrator"].setdefault("noise_out_rms_V", 1e-3)
    return calibration.Bundle(scalars=scalars, tables=tables, provenance=dict(b.provenance), path=None)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def shipped():
    return load_shipped()


@pytest.fixture(scope="session")
def bundle2(shipped):
    """Schema-2 bundle: the shipped one if it already has the new tables, else the synthetic one."""
    return synthetic_bundle(shipped)
