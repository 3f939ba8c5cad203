import pytest


@pytest.fixture
def notifications():
    """Every napari notification shown during the test."""
    from napari.utils.notifications import notification_manager

    seen = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)


@pytest.fixture
def viewer_with_images(make_napari_viewer, photo, texture):
    viewer = make_napari_viewer()
    viewer.add_image(photo, name="astronaut")
    viewer.add_image(texture, name="coffee")
    return viewer


@pytest.fixture(autouse=True)
def _own_settings(tmp_path, monkeypatch):
    """The plugin's settings (napari Preferences) of each test start fresh, in tmp_path."""
    from napari import settings

    settings._clear_plugin_settings_cache()
    monkeypatch.setattr(settings, "_CFG_PATH", str(tmp_path / "settings.yaml"))
    yield
    settings._clear_plugin_settings_cache()
