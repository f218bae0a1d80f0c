"""Fixtures shared by the trainer tests: one tiny trained run and its bundle per test session."""
import pytest

from tiny_training import exported_bundle


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    """Folder of the tiny dataset, run and bundle that the trainer tests share."""
    return tmp_path_factory.getbasetemp() / "trainer"


@pytest.fixture(scope="session")
def bundle_dir(base):
    """The tiny run exported as a bundle (built once, on first use)."""
    return exported_bundle(base)
