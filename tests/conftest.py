"""Fixtures shared by the trainer tests: one tiny trained run and its bundle per test session."""
import pytest

# Before any test module imports TensorFlow, as `bricksort` does: the trainer picks its kernels
# (oneDNN) then, so a subset of tests runs on the same ones as the whole suite.
import trainer  # noqa: F401

from tiny_training import exported_bundle


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    """Folder of the tiny dataset, run and bundle that the trainer tests share."""
    return tmp_path_factory.getbasetemp() / "trainer"


@pytest.fixture(scope="session")
def bundle_dir(base):
    """The tiny run exported as a bundle (built once, on first use)."""
    return exported_bundle(base)


@pytest.fixture()
def offline_keras(tmp_path, monkeypatch):
    """Keras with an empty weights cache and no network: a download fails as it does offline.
    Returns the empty KERAS_HOME."""
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):  # what Keras raises when the download fails
        raise Exception("URL fetch failure on https://example.invalid/weights.h5: None -- [Errno -2] Name or service not known")

    home = tmp_path / "empty-keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(file_utils, "get_file", offline)
    return home


def pytest_collection_modifyitems(items):
    """Heavy tests first: a worker that draws one last would run on alone while the others idle."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)
