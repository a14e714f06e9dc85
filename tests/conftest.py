import os
import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own SPICE cache so tests never see a user's cache."""
    d = tmp_path_factory.getbasetemp() / "spice-cache"
    monkeypatch.setenv("PYCOSIM_CACHE_DIR", str(d))
    yield
