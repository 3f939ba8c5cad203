import numpy as np
import pytest
from napari_helpers import PLUGIN, run_to_end

from napari_neural_style.plugin.base import METADATA_KEY

pytestmark = pytest.mark.slow


def _dock(viewer, title, **values):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, title)
    settings = {"weights": "random", "device": "cpu"}
    settings.update(values)
    for name, value in settings.items():
        getattr(widget, name).value = value
    return widget


def _wait(qtbot, widget, timeout=120_000):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)


def test_feature_map_layers_have_channel_axes_and_overlay_the_source(qtbot, make_napari_viewer,
                                                                     photo):
    viewer = make_napari_viewer()
    source = viewer.add_image(photo, name="astronaut", scale=(2, 2))
    widget = _dock(viewer, "Look inside", size=64)
    widget.layers.value = ["conv_1", "conv_4", "conv_9"]
    widget.start()
    _wait(qtbot, widget)
    shapes = {layer.name: (layer.data.shape, layer.axis_labels[0]) for layer in viewer.layers
              if layer is not source}
    assert shapes == {  # the untrained pair: both networks' channels
        "features conv_1 (conv1_1), 128 channels: astronaut [random]": ((128, 64, 64),
                                                                        "channel"),
        "features conv_4 (conv2_2), 256 channels: astronaut [random]": ((256, 32, 32),
                                                                        "channel"),
        "features conv_9 (conv4_1), 1024 channels: astronaut [random]": ((1024, 8, 8),
                                                                         "channel"),
    }
    deep = viewer.layers["features conv_9 (conv4_1), 1024 channels: astronaut [random]"]
    # 8 feature pixels span the 96-px source at scale 2: 192 world units
    np.testing.assert_allclose(np.array(deep.scale[1:]) * 8, [192, 192])
    assert deep.data.min() >= 0 and deep.data.max() <= 1  # per-channel contrast
    widget.relu.value = True
    widget.view.value = "mosaic"
    widget.layers.value = ["conv_4"]
    widget.count.value = 9
    widget.start()
    _wait(qtbot, widget)
    mosaic = viewer.layers[-1]
    assert mosaic.name.startswith("mosaic relu2_2: astronaut")
    assert mosaic.data.shape == (3 * 32 + 2, 3 * 32 + 2)


def test_gram_images_equal_the_engine_gram_and_their_difference(qtbot, make_napari_viewer,
                                                                photo, texture):
    from napari_neural_style.core.features import gram_matrices

    viewer = make_napari_viewer()
    viewer.add_image(photo, name="astronaut")
    viewer.add_image(texture, name="coffee")
    widget = _dock(viewer, "Look inside", size=48, view="gram")
    widget.image.value = viewer.layers["astronaut"]
    widget.compare.value = viewer.layers["coffee"]
    widget.layers.value = ["conv_2"]
    widget.start()
    _wait(qtbot, widget)
    options = {"weights": "random", "size": 48, "device": "cpu"}
    expected = gram_matrices(photo, "conv_2", **options)["conv_2"]
    other = gram_matrices(texture, "conv_2", **options)["conv_2"]
    gram = viewer.layers["gram conv_2 (conv1_2): astronaut [random]"]
    np.testing.assert_allclose(gram.data, expected, rtol=1e-5, atol=1e-7)
    difference = viewer.layers["gram difference conv_2 (conv1_2): astronaut - coffee"]
    np.testing.assert_allclose(difference.data, expected - other, rtol=1e-4, atol=1e-6)
    assert difference.colormap.name.lower() == "piyg"


@pytest.mark.parametrize(
    ("parameter", "task", "values", "expected"),
    [("content_layers", "reconstruct", "conv_1, conv_2", ["conv_1", "conv_2"]),
     ("style_layers", "texture", "conv_1-2; conv_3", ["conv_1-2", "conv_3"]),
     ("seed", "reconstruct", "3, 4", [3, 4]),
     ("style_weight", "transfer", "0.1, 2", [0.1, 2.0]),
     ("steps", "transfer", "1, 3", [1, 3]),
     ("optimizer", "transfer", "lbfgs, adam", ["lbfgs", "adam"])],
)
def test_two_value_sweeps_stack_with_labelled_axis(qtbot, viewer_with_images, parameter, task,
                                                   values, expected):
    viewer = viewer_with_images
    widget = _dock(viewer, "Sweeps", size=48, steps=3)
    widget.parameter.value = parameter
    widget.task_choice.value = task
    widget.values.value = values
    widget.content.value = viewer.layers["astronaut"]
    widget.style.value = viewer.layers["coffee"]
    widget.start()
    _wait(qtbot, widget)
    stack = next(layer for layer in viewer.layers if layer.name.startswith("sweep "))
    assert stack.data.shape[0] == 2 and stack.data.shape[-1] == 3 and stack.rgb
    # the slider's label says which value each index is
    assert stack.axis_labels[0] == f"{parameter}: {' | '.join(map(str, expected))}"
    assert stack.name.startswith(f"sweep {parameter} = {' | '.join(map(str, expected))}: ")
    record = stack.metadata[METADATA_KEY]
    assert record["sweep"] == parameter and record["values"] == expected
    assert len(record["slices"]) == 2
    assert all(entry["status"] == "done" for entry in record["slices"])
    assert record["slices"][-1]["quality"]["layers"]
    if parameter == "steps":
        assert [entry["steps"] for entry in record["slices"]] == [1, 3]


def test_seed_sweep_differences(qtbot, viewer_with_images):
    viewer = viewer_with_images
    widget = _dock(viewer, "Sweeps", size=32, steps=3)
    widget.parameter.value = "seed"
    widget.values.value = "7, 7, 8"
    widget.content.value = viewer.layers["astronaut"]
    widget.start()
    _wait(qtbot, widget)
    between = next(layer for layer in viewer.layers
                   if layer.name.startswith("seeds minus seed 7: astronaut"))
    original = next(layer for layer in viewer.layers
                    if layer.name.startswith("seeds minus the original: astronaut"))
    assert between.data.shape == (2, 32, 32)
    assert between.axis_labels[0] == "seed: 7 - 7 | 8 - 7"
    assert not between.data[0].any()  # equal seeds
    assert between.data[1].any()  # other seed
    assert original.data.shape == (3, 32, 32) and original.data.any()
    assert between.colormap.name.lower() == "piyg"
    assert between.contrast_limits[0] == -between.contrast_limits[1]


def test_loss_plot_receives_every_term_during_a_run(qtbot, viewer_with_images):
    from napari_helpers import dock

    viewer = viewer_with_images
    _, plot = viewer.window.add_plugin_dock_widget(PLUGIN, "Loss curves")
    widget = dock(viewer, "transfer", steps=10_000, tv_weight=0.01)
    widget.start()
    qtbot.waitUntil(lambda: widget._last_update is not None and widget._last_update.step >= 3,
                    timeout=120_000)
    plot.refresh()
    live = {key.split(" | ")[1] for key in plot.curves}
    assert live == {"total", "content conv_9", "style conv_2", "style conv_4", "style conv_8",
                    "style conv_16", "tv"}
    points = len(next(iter(plot.curves.values())).xData)
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    plot.refresh()
    assert len(next(iter(plot.curves.values())).xData) >= points >= 3
    second = run_to_end(qtbot, dock(viewer, "reconstruct", steps=3))
    viewer.layers.selection = {widget.result_layer, second}
    plot.refresh()
    assert {key.split(" | ")[0] for key in plot.curves} == {widget.result_layer.name,
                                                            second.name}


def test_a_sweep_on_a_dask_cluster_fills_its_stack_as_values_finish(qtbot, viewer_with_images):
    pytest.importorskip("distributed")
    viewer = viewer_with_images
    widget = _dock(viewer, "Sweeps", size=48, steps=150, scales="1")
    widget.parameter.value = "seed"
    widget.values.value = "1, 2, 3, 4, 5, 6"
    widget.cluster.value = "local:2"
    widget.content.value = viewer.layers["astronaut"]
    widget.start()
    # the layer appears with the first value done, the others still black
    qtbot.waitUntil(lambda: widget.result_layer is not None, timeout=120_000)
    live = widget.result_layer
    assert live.data.shape == (6, 48, 48, 3) and live.name == "sweep seed (running)"
    assert not live.data[-1].any() and widget.worker is not None
    widget.stop()  # the finished values stay, running ones stop, the rest never start
    _wait(qtbot, widget)
    record = live.metadata[METADATA_KEY]
    assert live in viewer.layers and record["status"] == "cancelled"
    assert 1 <= len(record["values"]) < 6 and len(live.data) == len(record["values"])
    assert any(entry["status"] == "done" for entry in record["slices"])
    assert all(entry["ran_on"].startswith("tcp://") for entry in record["slices"])
    assert viewer.layers["astronaut"].data.dtype == np.uint8  # inputs untouched
