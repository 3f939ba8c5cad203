"""Helpers for the GUI tests (fixtures live in conftest.py)."""

import numpy as np

PLUGIN = "napari-neural-style"
TITLES = {"transfer": "Style transfer", "texture": "Texture synthesis",
          "reconstruct": "Content reconstruction"}


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
