import pytest

from napari_neural_style.plugin.launch import open_viewer

pytestmark = pytest.mark.slow


def test_main_job_opens_samples_and_docks_every_widget(qtbot):
    viewer, docked = open_viewer(weights="random-single:0", show=False)
    try:
        assert set(docked) == {"Content reconstruction", "Texture synthesis", "Style transfer"}
        names = {layer.name for layer in viewer.layers}
        assert {"astronaut", "hubble_deep_field", "gravel"} <= names
        transfer = docked["Style transfer"]
        assert transfer.content.value.name == "astronaut"
        assert transfer.style.value.name == "hubble_deep_field"
        assert docked["Texture synthesis"].style.value.name == "gravel"
        # the untrained kind asked for, not just "random"
        assert all(widget.weights.value == "random-single" for widget in docked.values())
    finally:
        viewer.close()
