"""Locate the SPICE files (``netlists/``, ``circuits/``) shipped with pycosim.

In a source checkout they live at the repository root beside ``pycosim/``; in an installed
wheel they are package data under ``pycosim/`` (the build maps them there, see pyproject.toml).
Both are found with :mod:`importlib.resources`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

SPICE_DIRS = ("netlists", "circuits")


@lru_cache(maxsize=1)
def spice_root() -> Path:
    """Directory that holds ``netlists/`` and ``circuits/`` (installed package first, then checkout).

    Computed once per process (the package does not move while it runs).
    """
    pkg = Path(str(resources.files("pycosim")))
    if any((pkg / d).is_dir() for d in SPICE_DIRS):
        return pkg
    return pkg.parent


def resource_path(name: str) -> Path:
    """Path of a shipped SPICE file, e.g. ``resource_path("circuits/pcm_reset.cir")``.

    Raises FileNotFoundError naming the file and the directory searched.
    """
    path = spice_root() / name
    if not path.exists():
        raise FileNotFoundError(f"{name}: not a shipped SPICE file (looked in {spice_root()})")
    return path


def list_benches() -> list[str]:
    """Names (without ``.cir``) of the characterisation benches shipped in ``circuits/``."""
    d = spice_root() / "circuits"
    return sorted(p.stem for p in d.glob("*.cir")) if d.is_dir() else []
