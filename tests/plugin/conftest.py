import numpy as np
import pytest

PLUGIN = "napari-neural-style"
TITLES = {"transfer": "Style transfer", "texture": "Texture synthesis",
          "reconstruct": "Content reconstruction"}


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


def dock(viewer, task, **values):
    """Dock a task widget through the manifest and set fast, offline parameters."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, TITLES[task])
    settings = {"weights": "random", "device": "cpu", "size": 48, "steps": 5}
    settings.update(values)
    for name, value in settings.items():
        getattr(widget, name).value = value
    return widget


def run_to_end(qtbot, widget, timeout=120_000):
    worker = widget.start()
    assert worker is not None
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)
    return widget.result_layer


def unchanged(layer, before: np.ndarray) -> bool:
    return layer.data.dtype == before.dtype and layer.data.tobytes() == before.tobytes()
