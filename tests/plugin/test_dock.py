"""The dock a newcomer meets: a few controls, the rest folded; presets; nothing lost."""

import pytest
from magicgui.widgets import Label
from magicgui.widgets.bases import ButtonWidget, ContainerWidget, ValueWidget
from napari_helpers import PLUGIN, dock, run_to_end

from napari_neural_style.plugin.folds import Fold


def shown_controls(container) -> list:
    """The controls a user sees without opening anything: inputs and buttons outside the
    closed folds (labels are not controls)."""
    found = []
    for widget in container:
        if isinstance(widget, Fold) and not widget.opened:
            continue
        if widget.native.isHidden():
            continue
        if isinstance(widget, ContainerWidget):
            found += shown_controls(widget)
        elif isinstance(widget, (ValueWidget, ButtonWidget)) and not isinstance(widget, Label):
            found.append(widget)
    return found


@pytest.mark.slow
def test_the_transfer_dock_starts_simple_and_fits_a_laptop_screen(qtbot, make_napari_viewer,
                                                                  photo, texture):
    from qtpy.QtCore import QPoint

    viewer = make_napari_viewer(show=True)
    viewer.add_image(photo, name="astronaut")
    viewer.add_image(texture, name="coffee")
    window = viewer.window._qt_window
    window.showNormal()
    window.resize(1366, 768)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Style transfer")
    qtbot.waitUntil(lambda: widget.run_button.native.isVisible(), timeout=10_000)
    qtbot.wait(200)
    controls = shown_controls(widget)
    names = [control.name for control in controls]
    assert len(controls) <= 10, names
    assert {"content", "style", "style_strength", "preset", "run_button"} <= set(names)
    run = widget.run_button.native
    bottom = run.mapTo(window, QPoint(0, run.height())).y()
    assert window.height() <= 768 and bottom <= window.height(), (bottom, window.height())
    assert run.visibleRegion().boundingRect().height() == run.height()  # not scrolled away


def test_a_result_with_every_group_changed_fills_the_widget_and_opens_its_groups(
        qtbot, viewer_with_images):
    viewer = viewer_with_images
    widget = dock(viewer, "transfer", steps=3, tolerance=0.01, scales="0.5, 1", coarse_steps=2,
                  style_loss="meancov", pooling="avg", content_weight=2.0, tv_weight=0.1,
                  style_weight=2.5, style_scale="0.5", lbfgs_history=7, seed=5,
                  parametrization="rgb", init="noise", colour="luminance",
                  precision="fp32", memory="fast")
    widget.style_layers.value = ["conv_1", "conv_3"]
    folds = [fold for fold in widget if isinstance(fold, Fold)]
    assert folds and not any(fold.opened for fold in folds)  # a first dock: all folded
    result = run_to_end(qtbot, widget)
    ran = widget.form.config()
    fresh = dock(viewer, "transfer")
    # a field in a fold is found by its name all the same
    assert fresh.optimizer is fresh.form.settings["optimizer"]
    viewer.layers.selection.active = result
    fresh.from_result.clicked.emit()
    assert fresh.form.config() == ran
    opened = {fold.title for fold in fresh if isinstance(fold, Fold) and fold.opened}
    assert opened >= {"Size and steps", "Layers of the network", "Loss weights",
                      "Optimizer", "Colour and start", "Machine"}


def test_a_preset_sets_its_fields_a_hand_change_shows_custom_and_the_cli_agrees(
        make_napari_viewer):
    from napari_neural_style.cli.parser import config_from, parse_arguments
    from napari_neural_style.core.config import Config

    viewer = make_napari_viewer()
    widget = dock(viewer, "transfer")
    widget.preset.value = "preview"
    assert (widget.size.value, widget.steps.value, widget.scales.value) == (128, 60, "1")
    assert widget.form.config() == Config.for_task("transfer", preset="preview",
                                                   weights="random", device="cpu")
    line = ["transfer", "c.png", "s.png", "-o", "o.png", "--preset", "preview",
            "--weights", "random", "--device", "cpu"]
    assert config_from(parse_arguments(line)) == widget.form.config()
    widget.steps.value = 61
    assert widget.preset.value == "custom"
    widget.steps.value = 60
    assert widget.preset.value == "preview"  # the fields match it again
    widget.form.strength.value = 5.0  # the slider is the style weight, on a log scale
    assert widget.style_weight.value == 5.0 and widget.style_strength_value.value == "5"
    widget.style_weight.value = 0.0  # below the slider: it shows its end, the field keeps 0
    assert widget.style_strength.value == 0  # the slider's first position: 0.01
    assert widget.style_strength_value.value == "0"
    assert widget.form.config().style_weight == 0.0


def test_an_opened_group_stays_open_in_the_next_dock(make_napari_viewer):
    viewer = make_napari_viewer()
    first = dock(viewer, "transfer")
    fold = next(fold for fold in first if isinstance(fold, Fold) and fold.title == "Optimizer")
    fold.native.toggleButton().click()  # as a user opens it
    assert fold.opened
    later = dock(viewer, "texture")
    assert next(fold for fold in later if isinstance(fold, Fold)
                and fold.title == "Optimizer").opened


def test_every_setting_a_widget_shows_sits_in_one_group():
    from napari_neural_style.plugin.fields import ENGINE_SETTINGS, GROUPS, RUN_SETTINGS

    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted({*RUN_SETTINGS, *ENGINE_SETTINGS})
