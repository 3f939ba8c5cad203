"""Open napari ready to go: sample content and style images, the style transfer widget docked."""

from __future__ import annotations

from ..core.weight_kinds import RANDOM_KINDS

PLUGIN = "napari-neural-style"


def open_viewer(weights: str = "imagenet", show: bool = True):
    """A viewer with the samples loaded and the three widgets docked (transfer in front)."""
    import napari

    viewer = napari.Viewer(title="napari-neural-style", show=show)
    for sample in ("gravel", "astronaut", "hubble_deep_field"):
        viewer.open_sample(PLUGIN, sample)
    docked = {}
    for title in ("Content reconstruction", "Texture synthesis", "Style transfer"):
        _, docked[title] = viewer.window.add_plugin_dock_widget(PLUGIN, title,
                                                                 tabify=bool(docked))
    docked["Style transfer"].style.value = viewer.layers["hubble_deep_field"]
    if weights != "imagenet":  # an untrained kind (the widgets draw seed 0) or a file
        kind = weights.lower().partition(":")[0]
        source = kind if kind in RANDOM_KINDS else "file"
        for widget in docked.values():
            widget.weights.value = source
            if source == "file":
                widget.weights_file.value = weights
    return viewer, docked


def launch_viewer(weights: str = "imagenet") -> None:
    import napari

    open_viewer(weights)
    napari.run()
