import os

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
    """Same bundle (schema 2; the name stays for the tests written against it)."""
    return shipped
