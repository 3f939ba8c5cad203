import json

import numpy as np
import pytest
from napari_helpers import PLUGIN, dock, run_to_end, unchanged

from helpers import CPU_OUT_OF_MEMORY, fail_evaluation
from napari_neural_style.plugin.base import METADATA_KEY

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("task", ["transfer", "texture", "reconstruct"])
def test_end_to_end_run_adds_a_result_with_provenance(qtbot, viewer_with_images, task):
    viewer = viewer_with_images
    before = {layer.name: layer.data.copy() for layer in viewer.layers}
    widget = dock(viewer, task)
    widget.content.value = viewer.layers["astronaut"]
    widget.style.value = viewer.layers["coffee"]
    widget.memory.value = "lean"
    layer = run_to_end(qtbot, widget)
    assert layer in viewer.layers and layer.rgb
    assert layer.data.shape[-1] == 3 and max(layer.data.shape[:2]) == 48
    record = layer.metadata[METADATA_KEY]
    assert record["task"] == task and record["status"] == "done"
    assert record["steps"] == 5 and record["weights"]["source"] == "random"
    assert record["params"]["size"] == 48 and record["device"] == "cpu"
    assert record["params"]["memory"] == "lean"
    assert len(record["history"]) == 6
    assert "[random]" in layer.name and "(running)" not in layer.name
    if task == "transfer":
        assert layer.name == "transfer: astronaut x coffee [random]"
    source = viewer.layers["coffee" if task == "texture" else "astronaut"]
    # the result overlays its source: same world extent
    np.testing.assert_allclose(np.array(layer.scale) * layer.data.shape[:2],
                               np.array(source.scale) * source.data.shape[:2], rtol=0.03)
    for name, data in before.items():
        assert unchanged(viewer.layers[name], data)
    assert widget.run_button.enabled and not widget.stop_button.enabled


def test_stop_keeps_a_cancelled_partial_result(qtbot, viewer_with_images):
    widget = dock(viewer_with_images, "transfer", steps=10_000)
    widget.start()
    qtbot.waitUntil(lambda: widget._last_update is not None and widget._last_update.step >= 2,
                    timeout=120_000)
    assert not widget.run_button.enabled and widget.stop_button.enabled
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    layer = widget.result_layer
    record = layer.metadata[METADATA_KEY]
    assert record["status"] == "cancelled" and record["cancelled"]
    assert 2 <= record["steps"] < 10_000
    assert "cancelled at" in layer.name
    assert layer.data.any()


def test_running_out_of_memory_notifies_and_keeps_the_result_so_far(
        qtbot, viewer_with_images, notifications, monkeypatch):
    fail_evaluation(monkeypatch, 4, CPU_OUT_OF_MEMORY)
    widget = dock(viewer_with_images, "transfer", steps=50)
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    record = widget.result_layer.metadata[METADATA_KEY]
    assert record["status"] == "cancelled" and record["steps"] == 2
    assert record["stopped_by"].startswith("out of memory on cpu at 48 px")
    messages = [str(notification.message) for notification in notifications]
    assert any("failed: out of memory on cpu at 48 px: try 'memory: lean' or a smaller "
               "'working size (px): 24'; the result so far (2 steps) is kept" in message
               for message in messages), messages
    assert widget.run_button.enabled and "result kept" in widget.status.value


def test_failing_run_notifies_and_reenables_run(qtbot, make_napari_viewer, photo,
                                                notifications):
    viewer = make_napari_viewer()
    bad = photo.astype(np.float32)
    bad[3, 3, 0] = np.nan
    viewer.add_image(bad, name="broken", rgb=True)
    before = bad.copy()
    widget = dock(viewer, "reconstruct")
    widget.content.value = viewer.layers["broken"]
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    messages = [str(notification.message) for notification in notifications]
    assert any("NaN" in message for message in messages), messages
    assert widget.run_button.enabled and not widget.stop_button.enabled
    assert [layer.name for layer in viewer.layers] == ["broken"]  # placeholder removed
    assert np.array_equal(viewer.layers["broken"].data, before, equal_nan=True)


def test_offline_imagenet_weights_notify_what_to_do(qtbot, viewer_with_images, notifications,
                                                    monkeypatch):
    import urllib.error

    import torch

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    widget = dock(viewer_with_images, "transfer", weights="imagenet")
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    messages = " ".join(str(notification.message) for notification in notifications)
    assert "vgg19-dcbb9e9d.pth" in messages and "random" in messages


def test_too_small_and_missing_inputs_are_refused_in_the_widget(qtbot, make_napari_viewer,
                                                                notifications):
    viewer = make_napari_viewer()
    widget = dock(viewer, "texture")
    assert widget.start() is None  # no image layer at all
    viewer.add_image(np.zeros((8, 8), np.uint8), name="tiny")
    widget.size.value = 16  # conv_16 needs 32 px
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    messages = " ".join(str(notification.message) for notification in notifications)
    assert "no texture source image" in messages and "too small" in messages


def test_pickers_follow_layers_and_show_both_layer_names(make_napari_viewer, photo):
    viewer = make_napari_viewer()
    widget = dock(viewer, "transfer")
    assert widget.content.choices == (None,) and widget.content.value is None
    viewer.add_image(photo, name="first")
    viewer.add_points(np.zeros((1, 2)), name="points")  # not an image: never offered
    assert [layer.name for layer in widget.content.choices if layer] == ["first"]
    assert widget.content.value is viewer.layers["first"]  # an empty picker takes it
    viewer.layers["first"].name = "renamed"
    assert widget.content.current_choice == "renamed"
    viewer.layers.remove("renamed")
    assert widget.content.choices == (None,)
    native = widget.style_layers.native
    labels = [native.item(row).text() for row in range(native.count())]
    assert "conv_9 (conv4_1)" in labels and "relu5_4" in labels
    assert widget.style_layers.value == ["conv_2", "conv_4", "conv_8", "conv_16"]
    assert widget.content_layers.value == ["conv_9"]
    assert widget.style_weight.value == 0.5 and widget.content_weight.value == 1.0


def test_nd_grayscale_and_rgba_layers_use_the_displayed_slice(qtbot, make_napari_viewer,
                                                              notifications):
    viewer = make_napari_viewer()
    volume = np.zeros((3, 40, 40), np.uint16)
    volume[1] = 60000
    viewer.add_image(volume, name="volume")
    viewer.dims.set_current_step(0, 1)
    widget = dock(viewer, "reconstruct", size=32, steps=2)
    widget.content.value = viewer.layers["volume"]
    layer = run_to_end(qtbot, widget)
    assert layer.metadata[METADATA_KEY]["inputs"]["content"]["how"].startswith("slice (1,)")
    assert any("slice (1,)" in str(n.message) for n in notifications)
    rgba = np.zeros((40, 40, 4), np.uint8)
    viewer.add_image(rgba, name="rgba", rgb=True)
    widget.content.value = viewer.layers["rgba"]
    assert run_to_end(qtbot, widget).metadata[METADATA_KEY]["status"] == "done"


def test_multiscale_layer_uses_a_level_near_the_working_size(qtbot, make_napari_viewer, photo):
    viewer = make_napari_viewer()
    levels = [np.repeat(np.repeat(photo, 4, 0), 4, 1), np.repeat(np.repeat(photo, 2, 0), 2, 1),
              photo]
    viewer.add_image(levels, name="pyramid", multiscale=True, rgb=True)
    widget = dock(viewer, "reconstruct", size=96, steps=2)
    widget.content.value = viewer.layers["pyramid"]
    layer = run_to_end(qtbot, widget)
    how = layer.metadata[METADATA_KEY]["inputs"]["content"]["how"]
    assert how.startswith("level 2 of 3")
    np.testing.assert_allclose(np.array(layer.scale) * 96, [384, 384], rtol=0.01)
    # napari draws a level's first pixel over the finest level's first
    np.testing.assert_allclose(layer.translate, [0, 0])


def test_closing_the_viewer_mid_run_ends_cleanly(qtbot, make_napari_viewer, photo, texture):
    viewer = make_napari_viewer()
    viewer.add_image(photo, name="astronaut")
    viewer.add_image(texture, name="coffee")
    widget = dock(viewer, "transfer", steps=10_000)
    worker = widget.start()
    finished = []
    worker.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: widget._last_update is not None, timeout=120_000)
    viewer.close()
    qtbot.waitUntil(lambda: bool(finished), timeout=60_000)


def test_sample_data_loads(make_napari_viewer):
    from napari_neural_style.core.samples import SAMPLES

    viewer = make_napari_viewer()
    for name in [*SAMPLES, "transfer_pair"]:
        viewer.open_sample("napari-neural-style", name)
    assert {layer.name for layer in viewer.layers} >= set(SAMPLES)
    assert viewer.layers["astronaut"].rgb and viewer.layers["gravel"].data.ndim == 2


def test_the_running_result_is_never_offered_as_an_input(qtbot, viewer_with_images):
    widget = dock(viewer_with_images, "transfer", steps=10_000)
    offered = []
    # what the pickers offer at the moment the result layer enters the layer list
    viewer_with_images.layers.events.inserted.connect(
        lambda event: offered.append([layer.name for _, layer in widget.image_layers()]))
    widget.start()
    qtbot.waitUntil(lambda: widget._last_update is not None, timeout=120_000)
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert offered == [["astronaut", "coffee"]]
    assert all(layer is not widget.result_layer for _, layer in widget.image_layers())


def test_the_longest_message_wraps_instead_of_widening_the_dock(qtbot, viewer_with_images,
                                                                notifications, monkeypatch):
    import urllib.error

    import torch

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    widget = dock(viewer_with_images, "transfer", weights="imagenet")
    normal = widget.native.minimumSizeHint().width()
    widget.weights.value = "random"  # shows the untrained network's warning
    assert widget.native.minimumSizeHint().width() <= normal
    widget.weights.value = "imagenet"
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert len(widget.status.value) > 300  # the offline message, in full
    assert widget.native.minimumSizeHint().width() <= normal
    # in the widget's words: no command-line flags in the GUI
    message = " ".join(str(notification.message) for notification in notifications)
    assert "'weights: untrained (random weights)'" in message and "--weights" not in message


def test_a_12_bit_stack_reaches_the_network_as_displayed(qtbot, make_napari_viewer):
    from napari_neural_style.core.images import to_rgb_float
    from napari_neural_style.plugin.inputs import snapshot

    viewer = make_napari_viewer()
    ramp = np.linspace(0, 4095, 128 * 128).reshape(128, 128)
    stack = np.stack([ramp] * 5).astype(np.uint16)
    layer = viewer.add_image(stack, contrast_limits=(0, 4095), name="12-bit")
    before = stack.copy()
    taken = snapshot(layer, viewer.dims.point, 64)
    network_input = to_rgb_float(taken.data)
    np.testing.assert_allclose(network_input.mean(axis=-1), stack[0] / 4095, atol=2e-3)
    assert network_input.max() > 0.99  # as bright as it looks (was 4095/65535 = 0.06)
    layer.gamma, layer.colormap = 2.0, "magma"
    coloured = snapshot(layer, viewer.dims.point, 64)
    expected = layer.colormap.map((stack[0].ravel() / 4095) ** 2)[:, :3].reshape(128, 128, 3)
    np.testing.assert_allclose(coloured.data, expected, atol=2e-3)
    assert coloured.display == "contrast limits (0, 4095), gamma 2, colormap magma"
    grey = snapshot(layer, viewer.dims.point, 64, colours="grey")
    np.testing.assert_allclose(grey.data, (stack[0] / 4095) ** 2, atol=2e-3)
    assert unchanged(layer, before)


def test_removing_the_chosen_layer_empties_the_picker_instead_of_taking_another(
        qtbot, viewer_with_images, notifications):
    widget = dock(viewer_with_images, "transfer")
    widget.content.value = viewer_with_images.layers["astronaut"]
    widget.style.value = viewer_with_images.layers["coffee"]
    viewer_with_images.layers["coffee"].name = "a coffee"  # renamed: still the style
    assert widget.style.value is viewer_with_images.layers["a coffee"]
    viewer_with_images.layers.remove("astronaut")
    assert widget.content.value is None  # not coffee: no silent "coffee x coffee"
    assert widget.style.value is viewer_with_images.layers["a coffee"]
    assert widget.start() is None
    messages = " ".join(str(notification.message) for notification in notifications)
    assert "no content image: choose one" in messages
    assert [layer.name for layer in viewer_with_images.layers] == ["a coffee"]


def test_tiny_thin_and_small_sources_are_refused_or_announced(qtbot, make_napari_viewer,
                                                              notifications):
    viewer = make_napari_viewer()
    widget = dock(viewer, "reconstruct", content_layers=["conv_1"], size=48, steps=2)
    viewer.add_image(np.full((1, 1), 200, np.uint8), name="dot")
    widget.content.value = viewer.layers["dot"]
    widget.start()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    viewer.add_image(np.zeros((64, 64, 2), np.float32), name="two channels")
    widget.content.value = viewer.layers["two channels"]
    assert widget.start() is None
    messages = " ".join(str(notification.message) for notification in notifications)
    assert "1x1 px: too small to take features from" in messages
    assert "64x2 px slice of its (64, 64, 2) array" in messages and "Split Stack" in messages
    viewer.add_image(np.random.default_rng(0).random((20, 20)), name="small")
    widget.content.value = viewer.layers["small"]
    layer = run_to_end(qtbot, widget)
    how = layer.metadata[METADATA_KEY]["inputs"]["content"]["how"]
    assert how == "20x20 px upsampled 2.4x to the working size 48 px"
    assert any("upsampled 2.4x" in str(notification.message) for notification in notifications)


def test_the_result_stays_hidden_until_its_first_image_and_every_field_explains_itself(
        qtbot, viewer_with_images):
    widget = dock(viewer_with_images, "transfer")
    widget.start()
    assert not widget.result_layer.visible  # no black rectangle over the content
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert widget.result_layer.visible
    from magicgui.widgets import Label
    from magicgui.widgets.bases import ContainerWidget

    def fields(container):  # in the folds and rows too
        for item in container:
            yield from fields(item) if isinstance(item, ContainerWidget) else (item,)

    shown = [item for item in fields(widget) if not item.native.isHidden()]
    assert len(shown) > 15
    assert [item.name for item in shown if not isinstance(item, Label) and not item.tooltip] \
        == []


def test_a_result_saves_and_reopens_with_its_provenance_and_placement(qtbot, make_napari_viewer,
                                                                      photo, tmp_path):
    viewer = make_napari_viewer()
    viewer.add_image(photo, name="astronaut", scale=(2, 2), translate=(5, -3))
    widget = dock(viewer, "reconstruct", content_layers=["conv_1"], size=48, steps=2)
    result = run_to_end(qtbot, widget)
    record = json.loads(json.dumps(result.metadata[METADATA_KEY]))  # tuples read as lists
    for name in ("result.tif", "result.png"):  # napari's own writer refuses float PNGs
        result.save(str(tmp_path / name), plugin=PLUGIN)
        reopened = viewer.open(str(tmp_path / name), plugin=PLUGIN)[0]
        assert reopened.metadata[METADATA_KEY] == record
        assert reopened.name.startswith(result.name) and reopened.rgb
        np.testing.assert_allclose(reopened.scale, result.scale)
        np.testing.assert_allclose(reopened.translate, result.translate)
    np.testing.assert_array_equal(viewer.layers[-2].data, result.data)  # the TIFF: exact
    assert viewer.open(str(tmp_path / "result.png"), plugin=PLUGIN)[0].data.dtype == np.uint8


def test_widgets_start_from_the_settings_and_remember_the_last_run(qtbot, viewer_with_images):
    from napari.settings import _clear_plugin_settings_cache, get_plugin_settings

    from napari_neural_style.plugin.settings import machine_defaults

    first = viewer_with_images.window.add_plugin_dock_widget(PLUGIN, "Content reconstruction")[1]
    assert {"size": first.size.value, "steps": first.steps.value} == machine_defaults()
    assert "Preferences" in first.defaults_note.value
    run_to_end(qtbot, dock(viewer_with_images, "transfer", steps=3, precision="fp32"))
    stored = get_plugin_settings(PLUGIN).runs
    assert (stored.size, stored.steps, stored.weights, stored.precision) == (48, 3, "random",
                                                                           "fp32")
    assert "size: 48" in get_plugin_settings(PLUGIN).config_path.read_text()
    _clear_plugin_settings_cache()  # as in a new napari session
    later = viewer_with_images.window.add_plugin_dock_widget(PLUGIN, "Texture synthesis")[1]
    assert (later.size.value, later.steps.value, later.weights.value,
            later.precision.value) == (48, 3, "random", "fp32")


def test_a_result_fills_the_widget_and_copies_as_a_command_line(qtbot, viewer_with_images,
                                                                 notifications):
    import shlex

    from qtpy.QtWidgets import QApplication

    from napari_neural_style.cli.parser import build_parser, config_from

    viewer = viewer_with_images
    widget = dock(viewer, "transfer", steps=3, style_weight=2.5, seed=5, init="noise",
                  scales="0.5, 1")
    widget.style_layers.value = ["conv_1", "conv_3"]
    widget.content.value, widget.style.value = viewer.layers["coffee"], viewer.layers["astronaut"]
    result = run_to_end(qtbot, widget)
    ran = widget.form.config()
    widget.form.set(steps=9, style_weight=0.5, seed=0, init="content", scales="auto")
    widget.style_layers.value = ["conv_2"]
    widget.weights.value = "imagenet"
    widget.content.value, widget.style.value = widget.style.value, widget.content.value
    viewer.layers.selection.active = result
    widget.from_result.clicked.emit()
    assert widget.form.config() == ran
    assert (widget.content.value.name, widget.style.value.name) == ("coffee", "astronaut")
    widget.copy_command.clicked.emit()
    line = QApplication.clipboard().text()
    assert line.startswith("napari-neural-style transfer coffee.png astronaut.png -o ")
    assert config_from(build_parser().parse_args(shlex.split(line)[1:])) == ran
    viewer.layers.selection.active = viewer.layers["astronaut"]
    widget.from_result.clicked.emit()
    messages = " ".join(str(notification.message) for notification in notifications)
    assert "select a result layer" in messages


def test_the_layer_choice_is_spelled_out_and_presets_are_one_click_away(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = dock(viewer, "transfer")
    assert widget.style_layers_chosen.value == (
        "chosen: conv_2 (conv1_2), conv_4 (conv2_2), conv_8 (conv3_4), conv_16 (conv5_4)")
    assert widget.content_layers_chosen.value == "chosen: conv_9 (conv4_1)"
    from napari_neural_style.plugin.fields import layer_presets

    widget.style_layers_presets.value = dict(layer_presets("style_layers"))["conv_5-8"]
    assert widget.style_layers.value == ["conv_5", "conv_6", "conv_7", "conv_8"]
    assert widget.style_layers_presets.value is None  # ready for the next click
    assert widget.style_layers_chosen.value.startswith("chosen: conv_5 (conv3_1), conv_6")
    texture = dock(viewer, "texture")
    assert texture.content_layers_presets.native.isHidden()
    assert not texture.style_layers_presets.native.isHidden()


def test_live_preview_follows_every_change_into_one_layer(qtbot, viewer_with_images):
    from napari_neural_style.plugin.preview import SIZE

    viewer = viewer_with_images
    widget = dock(viewer, "transfer")
    widget.content.value, widget.style.value = viewer.layers["astronaut"], viewer.layers["coffee"]
    preview = widget.preview
    widget.live_preview.value = True
    qtbot.waitUntil(lambda: preview.first_image_at is not None, timeout=60_000)
    layer = preview.layer
    assert layer in viewer.layers and layer.visible and max(layer.data.shape[:2]) == SIZE
    assert layer.name == "preview: transfer: astronaut x coffee [random]"
    assert all(candidate is not layer for _, candidate in widget.image_layers())
    first = layer.data.copy()
    widget.style_weight.value = 5.0  # a setting
    qtbot.waitUntil(lambda: preview.first_image_at is not None and
                    layer.metadata[METADATA_KEY]["params"]["style_weight"] == 5.0,
                    timeout=60_000)
    viewer.layers["coffee"].data = viewer.layers["coffee"].data[::-1].copy()  # the source
    qtbot.waitUntil(lambda: preview.worker is not None, timeout=10_000)
    qtbot.waitUntil(lambda: preview.worker is None, timeout=60_000)
    assert not np.array_equal(layer.data, first)
    assert [candidate.name for candidate in viewer.layers].count(layer.name) == 1
    widget.live_preview.value = False
    widget.seed.value = 9
    qtbot.wait(400)
    assert preview.worker is None and preview.changed_at is not None


def test_channels_shown_as_layers_are_taken_as_the_on_screen_composite(qtbot,
                                                                      make_napari_viewer):
    from napari_neural_style.plugin.inputs import COMPOSITE

    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    channels = (rng.random((2, 64, 64)) * 4095).astype(np.uint16)
    shown = viewer.add_image(channels, channel_axis=0, name=["dapi", "actin"],
                             colormap=["green", "magenta"], contrast_limits=[(0, 4095)] * 2)
    widget = dock(viewer, "reconstruct", content_layers=["conv_1"], size=64, steps=2)
    assert COMPOSITE in widget.content.choices
    widget.content.value = COMPOSITE
    layer = run_to_end(qtbot, widget)
    taken = layer.metadata[METADATA_KEY]["inputs"]["content"]
    assert taken["layer"] == "composite of dapi + actin"
    assert taken["how"] == "on-screen composite of dapi + actin (additive, translucent_no_depth)"
    inputs = widget._inputs.taken["content"].data
    expected = sum(part.colormap.map(part.data.ravel() / 4095)[:, :3].reshape(64, 64, 3)
                   for part in shown)
    np.testing.assert_allclose(inputs, np.clip(expected, 0, 1), atol=1e-5)
    viewer.layers["actin"].visible = False  # what is on screen
    assert widget.form.snapshot(viewer, 64, None).taken["content"].name == "composite of dapi"


def test_a_transfer_starts_from_any_image_layer(qtbot, viewer_with_images):
    viewer = viewer_with_images
    widget = dock(viewer, "transfer", steps=2)
    assert widget.start_image.native.isHidden()  # the viewer is not shown: ask Qt
    widget.init.value = "image"
    assert not widget.start_image.native.isHidden()
    widget.start_image.value = viewer.layers["coffee"]
    layer = run_to_end(qtbot, widget)
    record = layer.metadata[METADATA_KEY]
    assert record["params"]["init"] == "image" and record["inputs"]["init"]["layer"] == "coffee"
    assert layer.name == "transfer: astronaut x coffee [random]"
    widget.init.value = "content"
    assert widget.start_image.native.isHidden()


@pytest.mark.parametrize("task", ["transfer", "texture", "reconstruct"])
def test_the_widget_offers_every_option_of_its_task(make_napari_viewer, task):
    from dataclasses import fields

    from napari_neural_style.core.config import OPTIONS, Config

    widget = dock(make_napari_viewer(), task)
    form = widget.form
    offered = {name for name, setting in form.settings.items()
               if not setting.native.isHidden()}
    if not form.styles.buttons.native.isHidden():  # the blend weights, beside the styles
        offered.add("style_blend")
    if not form.regions.labels.native.isHidden():  # shown with a Labels layer chosen
        offered |= {"regions", "region_mask", "feather"}
    wanted = {name for name, option in OPTIONS.items() if task in option.tasks} - {
        "weights", "weights_format"}  # the weights chooser shows these
    assert offered == wanted
    assert {item.name for item in fields(Config)} - {"task"} == \
        set(form.settings) | {"weights", "weights_format", "style_blend", "regions"}
    # every value round-trips: shown from a Config, read back into the same Config
    blend = {"style_blend": (0.25, 0.75)} if "style_blend" in wanted else {}
    config = Config.for_task(task, size=48, steps=5, learning_rate=0.5, coarse_steps=3,
                             lbfgs_history=7, pixel_range="free", weights="random",
                             device="cpu", **blend)
    form.show(config)
    assert form.config() == config


def test_a_transfer_blends_two_styles(qtbot, viewer_with_images):
    viewer = viewer_with_images
    widget = dock(viewer, "transfer", steps=2)
    styles = widget.form.styles
    assert widget.blend_1.native.isHidden() and widget.style_2.native.isHidden()
    styles.add.changed.emit(True)
    assert not widget.style_2.native.isHidden() and not widget.blend_1.native.isHidden()
    widget.style.value, widget.style_2.value = viewer.layers["coffee"], viewer.layers["astronaut"]
    widget.blend_1.value, widget.blend_2.value = 3, 1
    before = {layer.name: layer.data.copy() for layer in viewer.layers}
    layer = run_to_end(qtbot, widget)
    record = layer.metadata[METADATA_KEY]
    assert list(record["params"]["style_blend"]) == [0.75, 0.25]
    assert record["inputs"]["style_2"]["layer"] == "astronaut"
    assert layer.name == "transfer: astronaut x coffee+astronaut [random]"
    for name, data in before.items():
        assert unchanged(viewer.layers[name], data)
    styles.remove.changed.emit(True)
    assert widget.style_2.native.isHidden() and widget.form.config().style_blend is None


def test_a_weights_file_takes_its_format(make_napari_viewer, tmp_path):
    import torch

    from napari_neural_style.core.weights import random_weights

    path = tmp_path / "vgg19-d01eb7cb.pth"
    torch.save(random_weights(1).state, path)
    widget = dock(make_napari_viewer(), "transfer")
    chooser = widget.form.weights
    assert chooser.format.native.isHidden()
    chooser.source.value = "file"
    assert not chooser.format.native.isHidden()
    chooser.file.value, chooser.format.value = path, "caffe"
    config = widget.form.config()
    assert config.weights == str(path) and config.weights_format == "caffe"
    chooser.source.value = "random"
    assert widget.form.config().weights_format == "auto"
    widget.form.show(config)
    assert widget.form.config() == config


def test_a_style_per_painted_region(qtbot, viewer_with_images):
    viewer = viewer_with_images
    widget = dock(viewer, "transfer", steps=2)
    content = viewer.layers["astronaut"]
    labels = np.zeros(content.data.shape[:2], np.int32)
    labels[:, : labels.shape[1] // 2] = 1
    painted = viewer.add_labels(labels, name="painted")
    form = widget.form
    assert not form.styles.pickers[0].native.isHidden()
    form.regions.labels.value = painted
    assert form.styles.pickers[0].native.isHidden()  # the table chooses the styles now
    assert all(form.settings[name].native.isHidden() for name in ("style_scale", "style_size"))
    rows = list(form.regions.table)
    assert [row.name for row in rows] == ["label_1"]
    rows[0][1].value = viewer.layers["coffee"]
    rows[0][2].value = 2.0
    # painting a new label adds its row, content only until given a style
    painted.data = np.where(np.arange(labels.shape[1]) > labels.shape[1] - 10, 3, labels)
    assert [row.name for row in form.regions.table] == ["label_1", "label_3"]
    before = {layer.name: layer.data.copy() for layer in viewer.layers}
    layer = run_to_end(qtbot, widget)
    record = layer.metadata[METADATA_KEY]
    assert [list(region) for region in record["params"]["regions"]] == \
        [[1, 0, 2.0], [3, None, 0.0]]
    assert record["inputs"]["labels"]["layer"] == "painted"
    assert record["inputs"]["style"]["layer"] == "coffee"
    for name, data in before.items():
        assert unchanged(viewer.layers[name], data)
    form.regions.labels.value = None
    assert not form.styles.pickers[0].native.isHidden() and form.config().regions == ()
    viewer.layers.selection.active = layer  # the result fills the table again
    widget.use_selected_result()
    assert form.regions.labels.value is painted
    rows = {row.name: row for row in form.regions.table}
    assert rows["label_1"][1].value is viewer.layers["coffee"] and rows["label_1"][2].value == 2
    assert form.config().regions == ((1, 0, 2.0), (3, None, 0.0))


def test_an_n_d_labels_layer_gives_its_displayed_slice(qtbot, viewer_with_images):
    viewer = viewer_with_images
    widget = dock(viewer, "transfer", steps=1)
    height, width = viewer.layers["astronaut"].data.shape[:2]
    stack = np.zeros((2, height, width), np.int32)
    stack[0, :, : width // 2] = 1
    stack[1] = 2
    painted = viewer.add_labels(stack, name="stack")
    viewer.dims.set_current_step(0, 0)
    widget.form.regions.labels.value = painted
    rows = {row.name: row for row in widget.form.regions.table}
    assert set(rows) == {"label_1", "label_2"}
    assert not rows["label_1"][2].enabled  # no weight for content only
    rows["label_1"][1].value = viewer.layers["coffee"]
    assert rows["label_1"][2].enabled
    layer = run_to_end(qtbot, widget)
    taken = layer.metadata[METADATA_KEY]["inputs"]["labels"]
    assert taken["how"].startswith("slice (0,) of the 3D layer")
    rows["label_2"][1].value = viewer.layers["coffee"]  # label 2 is not in slice 0
    run_to_end(qtbot, widget)
    assert "label 2 is given a style but no pixel" in widget.status.value


def test_the_estimate_follows_the_settings_once_the_machine_is_calibrated(
        qtbot, viewer_with_images, monkeypatch):
    from napari_neural_style.core import probe

    monkeypatch.setattr(probe, "PROBE_SIZES", (64, 96))
    widget = dock(viewer_with_images, "transfer", size=64, steps=10)
    widget.content.value = viewer_with_images.layers["astronaut"]
    widget.style.value = viewer_with_images.layers["coffee"]
    # (the viewer is not shown in tests: ask whether the button was hidden, not whether
    # it is on screen)
    assert widget.estimate.value == "" and not widget.estimate_button.native.isHidden()
    widget.estimate_button.changed.emit(True)  # a click: the probe runs in a worker
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    first = widget.estimate.value
    assert first.startswith("estimate: ~") and widget.estimate_button.native.isHidden()
    widget.steps.value = 1000
    assert widget.estimate.value != first  # follows every change, no probe again
