"""Style a stack in napari: a result laid over a 3-axis layer, filled frame by frame."""

import numpy as np
import pytest
from napari_helpers import PLUGIN, unchanged

from napari_neural_style.core.samples import moving_sample
from napari_neural_style.plugin.base import METADATA_KEY

pytestmark = pytest.mark.slow


def _dock(viewer, steps):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Style a stack")
    for name, value in {"weights": "random", "device": "cpu", "size": 48, "steps": steps,
                        "scales": "1"}.items():
        getattr(widget, name).value = value
    return widget


@pytest.fixture
def stack_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    grey = moving_sample("astronaut", 3, 48)[..., 0] * 4095
    viewer.add_image(grey.astype(np.uint16), name="movie", scale=(2.0, 0.5, 0.5),
                     translate=(10.0, 5.0, 5.0), contrast_limits=(0, 4095),
                     axis_labels=("time", "y", "x"))
    viewer.add_image(moving_sample("coffee", 1, 40)[0], name="coffee", rgb=True)
    return viewer


def test_a_stack_gives_an_aligned_result_frame_by_frame(qtbot, stack_viewer):
    viewer = stack_viewer
    before = viewer.layers["movie"].data.copy()
    widget = _dock(viewer, 4)
    widget.form.content.value = viewer.layers["movie"]
    widget.form.style.value = viewer.layers["coffee"]
    widget.frame_steps.value = 2
    widget.start()
    layer = widget.result_layer
    assert layer.data.shape == (3, 48, 48, 3)  # there at once, filled as frames finish
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert layer.data[2].any()
    assert tuple(layer.scale[:1]) == (2.0,) and tuple(layer.translate[:1]) == (10.0,)
    assert tuple(layer.axis_labels) == ("time", "y", "x")
    source = viewer.layers["movie"]
    np.testing.assert_allclose(np.array(layer.scale[1:]) * 48,
                               np.array(source.scale[1:]) * 48, rtol=1e-6)
    record = layer.metadata[METADATA_KEY]
    assert record["frames"]["done"] == [0, 1, 2] and record["frames"]["steps"] == [4, 2, 2]
    assert record["status"] == "done" and record["inputs"]["stack"]["layer"] == "movie"
    assert unchanged(viewer.layers["movie"], before)


def test_stop_keeps_the_finished_frames_and_marks_the_others(qtbot, stack_viewer):
    viewer = stack_viewer
    widget = _dock(viewer, 3)
    widget.form.content.value = viewer.layers["movie"]
    widget.form.style.value = viewer.layers["coffee"]
    widget.frame_steps.value = 10_000
    widget.start()
    qtbot.waitUntil(lambda: "frame 2/3: step 2" in widget.status.value, timeout=120_000)
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    layer = widget.result_layer
    frames = layer.metadata[METADATA_KEY]["frames"]
    assert frames["done"] == [0] and frames["not_done"] == [2]
    assert frames["cancelled"] == [1]
    assert layer.data[0].any() and not layer.data[2].any()
    assert "stopped: 1 of 3 frames" in layer.name


def test_a_labels_stack_gives_each_frame_its_regions(qtbot, stack_viewer):
    viewer = stack_viewer
    labels = np.zeros((3, 48, 48), np.int32)
    labels[:, :, :24] = 1
    painted = viewer.add_labels(labels, name="regions", scale=(2.0, 0.5, 0.5))
    widget = _dock(viewer, 2)
    widget.form.content.value = viewer.layers["movie"]
    widget.form.regions.labels.value = painted
    row = widget.form.regions.table[0]
    row[1].value = viewer.layers["coffee"]
    widget.frame_steps.value = 1
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    record = widget.result_layer.metadata[METADATA_KEY]
    assert record["frames"]["done"] == [0, 1, 2]
    assert [list(region) for region in record["params"]["regions"]] == [[1, 0, 1.0]]


def test_frames_along_one_axis_of_a_4d_layer(qtbot, make_napari_viewer):
    viewer = make_napari_viewer()
    movie = moving_sample("astronaut", 3, 48)[..., 0]
    data = np.stack([movie, movie[:, ::-1]], axis=1)  # (t, z, y, x)
    viewer.add_image(data, name="tzyx", scale=(3.0, 2.0, 1.0, 1.0))
    viewer.add_image(moving_sample("coffee", 1, 40)[0], name="coffee", rgb=True)
    viewer.dims.set_point(1, 2.0)  # z = 1 on display
    widget = _dock(viewer, 2)
    widget.form.content.value = viewer.layers["tzyx"]
    widget.form.style.value = viewer.layers["coffee"]
    assert list(widget.axis.choices) == [0, 1]
    widget.axis.value = 0
    widget.frame_steps.value = 1
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    layer = widget.result_layer
    assert layer.data.shape == (3, 1, 48, 48, 3)  # frames along t, at the z on display
    assert tuple(layer.scale[:2]) == (3.0, 2.0) and tuple(layer.translate[:2]) == (0.0, 2.0)
    assert layer.metadata[METADATA_KEY]["frames"]["done"] == [0, 1, 2]


def test_frames_on_their_own_go_to_a_dask_cluster(qtbot, stack_viewer):
    pytest.importorskip("distributed")
    viewer = stack_viewer
    widget = _dock(viewer, 4)
    widget.form.content.value = viewer.layers["movie"]
    widget.form.style.value = viewer.layers["coffee"]
    widget.cluster.value = "local:2"
    assert widget.start() is None  # with flow, frames depend on each other: refused
    widget.temporal.value = "none"
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    layer = widget.result_layer
    record = layer.metadata[METADATA_KEY]
    assert record["frames"]["done"] == [0, 1, 2] and record["status"] == "done"
    assert all(layer.data[index].any() for index in range(3))
    assert record["ran_on"].startswith("tcp://")
