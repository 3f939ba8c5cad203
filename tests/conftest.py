import numpy as np
import pytest


@pytest.fixture
def photo() -> np.ndarray:
    """A small uint8 RGB photograph (scikit-image's astronaut, bundled)."""
    from skimage import data, transform

    return (transform.resize(data.astronaut(), (96, 96), anti_aliasing=True) * 255).astype(
        np.uint8)


@pytest.fixture
def texture() -> np.ndarray:
    from skimage import data, transform

    return (transform.resize(data.coffee(), (64, 96), anti_aliasing=True) * 255).astype(
        np.uint8)


@pytest.fixture(autouse=True)
def _no_user_weights(monkeypatch, tmp_path_factory):
    """Tests never see the user's weights file or torch hub cache."""
    monkeypatch.delenv("NAPARI_NEURAL_STYLE_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))



@pytest.fixture(autouse=True)
def _own_calibration(tmp_path, monkeypatch):
    """What the engine measures of the machine (estimate calibrations, whether bf16 pays) is
    kept in tmp_path, not the user's cache."""
    from napari_neural_style.core.machine import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "calibration.json"))
