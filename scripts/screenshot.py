"""Screenshots for docs/: the style transfer dock as it opens (and with a group open), napari
with the style transfer widget after a real run, the loss
curves of that run, the live preview, the plugin's page in Preferences, a style per painted
region, a 12-bit stack styled as displayed, the same stack styled frame by frame, and a
sweep filling on a local dask cluster.

Runs the README's main job in napari (sample images, widgets docked), presses Run on the style
transfer widget, saves the window once the result is in, then docks the Loss curves widget and
saves it; then turns the live preview on, opens Preferences, and styles a 12-bit stack shown
with its own contrast limits.  Weights: ImageNet if available, otherwise the untrained
network, as the result layers' names say.  Needs a display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from qtpy.QtWidgets import QApplication

from napari_neural_style.core.samples import load_sample
from napari_neural_style.demo import choose_weights
from napari_neural_style.plugin.launch import open_viewer


def settle(condition=lambda: True, rounds: int = 50) -> None:
    """Let Qt draw: until ``condition`` holds, then ``rounds`` more event-loop turns."""
    while not condition():
        QApplication.processEvents()
        time.sleep(0.01)
    for _ in range(rounds):
        QApplication.processEvents()


def preview(viewer, widget, out: Path) -> None:
    """The live preview after a change of the style weight."""
    widget.live_preview.value = True
    settle(lambda: widget.preview.first_image_at is not None)
    widget.style_weight.value = 2.0
    settle(lambda: widget.preview.worker is not None)
    settle(lambda: widget.preview.worker is None)
    viewer.layers.selection.active = widget.preview.layer
    settle()
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    widget.live_preview.value = False
    print(f"wrote {out}: {widget.preview.layer.name}")


def preferences(viewer, out: Path) -> None:
    """The plugin's page of napari's Preferences dialog."""
    dialog = viewer.window._open_preferences_dialog()  # napari has no public one
    rows = [dialog._list.item(row).text() for row in range(dialog._list.count())]
    dialog._list.setCurrentRow(next(row for row, text in enumerate(rows)
                                    if "Neural Style" in text))
    settle()
    dialog.grab().save(str(out))
    dialog.close()
    print(f"wrote {out}")


def regions(viewer, docked, args, out: Path) -> None:
    """A style per region: a Labels layer painted over the content, the table giving each
    label its style (scripts/regions.py paints the same labels)."""
    from regions import REGIONS, painted_labels

    widget = docked["Style transfer"]
    content = viewer.layers["astronaut"]
    painted = viewer.add_labels(painted_labels(content.data.shape[:2]), name="regions",
                                opacity=0.4)
    for name, _ in REGIONS.values():
        if name is not None and name not in viewer.layers:
            viewer.add_image(load_sample(name), name=name, visible=False)
    widget.content.value = content
    widget.form.regions.labels.value = painted
    for row in widget.form.regions.table:
        name, weight = REGIONS[int(row.name.removeprefix("label_"))]
        if name is not None:
            row[1].value, row[2].value = viewer.layers[name], weight
    widget.steps.value = args.steps
    widget.start()
    settle(lambda: widget.worker is None)
    painted.visible = False
    viewer.layers.selection.active = widget.result_layer
    settle()
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    widget.form.regions.labels.value = None
    print(f"wrote {out}: {widget.result_layer.name}")


def twelve_bit(viewer, docked, args, out: Path) -> None:
    """A 12-bit grey stack, shown with contrast limits (0, 4095), styled as displayed."""
    for layer in list(viewer.layers):
        layer.visible = layer.name == "hubble_deep_field"
    grey = load_sample("coffee").mean(axis=-1) / 255
    stack = np.stack([np.roll(grey, shift, axis=1) * 4095 for shift in (0, 40, 80)])
    layer = viewer.add_image(stack.astype(np.uint16), name="12-bit stack",
                             contrast_limits=(0, 4095))
    viewer.dims.set_current_step(0, 1)
    widget = docked["Style transfer"]
    widget.content.value, widget.style.value = layer, viewer.layers["hubble_deep_field"]
    widget.steps.value = args.steps
    widget.start()
    settle(lambda: widget.worker is None)
    for other in [other for other in viewer.layers if other.name not in
                  (layer.name, widget.result_layer.name)]:
        viewer.layers.remove(other)  # the last picture: nothing else in view
    viewer.layers.selection.active = widget.result_layer
    viewer.reset_view()
    settle()
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: {widget.result_layer.name}; "
          f"{widget.result_layer.metadata['neural_style']['inputs']['content']}")


def stack(viewer, docked, args, out: Path) -> None:
    """Style a stack: every frame of the 12-bit stack of :func:`twelve_bit`, with temporal
    consistency, the result laid over the stack."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-neural-style", "Style a stack",
                                                     tabify=True)
    for layer in viewer.layers:
        layer.visible = layer.name == "12-bit stack"
    viewer.add_image(load_sample("hubble_deep_field"), name="hubble_deep_field",
                     visible=False)
    widget.weights.value = docked["Style transfer"].weights.value
    widget.size.value, widget.steps.value = args.size, args.steps
    widget.frame_steps.value = args.steps // 3
    widget.form.content.value = viewer.layers["12-bit stack"]
    widget.form.style.value = viewer.layers["hubble_deep_field"]
    widget.start()
    settle(lambda: widget.worker is None)
    viewer.layers.selection.active = widget.result_layer
    viewer.dims.set_current_step(0, 2)
    settle()
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: {widget.result_layer.name}; {widget.status.value}")


def sweep_on_cluster(viewer, docked, args, out: Path) -> None:
    """Sweeps on a local dask cluster of two workers: texture by layer group, the stack
    layer shown while it fills (two values done, the others running)."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-neural-style", "Sweeps",
                                                     tabify=True)
    for layer in viewer.layers:
        layer.visible = False
    viewer.add_image(load_sample("gravel"), name="gravel", visible=False)
    widget.weights.value = docked["Style transfer"].weights.value
    widget.parameter.value = "style_layers"
    widget.values.value = "conv_1-2; conv_3-4; conv_5-8; all"
    widget.size.value, widget.steps.value = args.size // 2, args.steps
    widget.style.value = viewer.layers["gravel"]
    widget.cluster.value = "local:2"
    widget.start()
    settle(lambda: "2 of 4 values done" in widget.status.value or widget.worker is None)
    viewer.layers.selection.active = widget.result_layer
    viewer.dims.set_current_step(0, 1)
    viewer.reset_view()
    settle()
    viewer.screenshot(str(out), canvas_only=False, flash=False)
    print(f"wrote {out}: {widget.result_layer.name}; {widget.status.value}")
    settle(lambda: widget.worker is None)


def dock_pictures(viewer, widget, folder: Path) -> None:
    """The Style transfer dock as it opens on a laptop's screen (1366 x 768), then with
    "Layers of the network" open."""
    from napari_neural_style.plugin.folds import Fold

    window = viewer.window._qt_window  # napari has no public resize
    window.resize(1366, 768)
    settle()
    viewer.screenshot(str(folder / "napari-dock.png"), canvas_only=False, flash=False)
    fold = next(part for part in widget if isinstance(part, Fold)
                and part.title == "Layers of the network")
    fold.opened = True
    settle()
    viewer.screenshot(str(folder / "napari-dock-open.png"), canvas_only=False, flash=False)
    fold.opened = False
    print(f"wrote {folder / 'napari-dock.png'} and napari-dock-open.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/napari-style-transfer.png"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--only", choices=("dock",), help="dock: only the dock's pictures "
                        "and the transfer after them (docs/getting-started.md)")
    args = parser.parse_args()
    weights = choose_weights("imagenet")
    viewer, docked = open_viewer(weights="random" if weights.is_random else "imagenet")
    widget = docked["Style transfer"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dock_pictures(viewer, widget, args.out.parent)
    viewer.window._qt_window.resize(1500, 950)
    widget.size.value, widget.steps.value = args.size, args.steps
    widget.start()
    settle(lambda: widget.worker is None)
    viewer.layers.selection.active = widget.result_layer
    settle()
    viewer.screenshot(str(args.out), canvas_only=False, flash=False)
    print(f"wrote {args.out}: {widget.result_layer.name}; {widget.status.value}")
    if args.only == "dock":
        viewer.close()
        return
    _, curves = viewer.window.add_plugin_dock_widget("napari-neural-style", "Loss curves")
    curves.resize(900, 500)
    curves.refresh()
    settle()
    curves_path = args.out.with_name("loss-curves.png")
    curves.grab().save(str(curves_path))
    print(f"wrote {curves_path}: {len(curves.curves)} curves")
    viewer.window.remove_dock_widget(curves)
    preview(viewer, widget, args.out.with_name("napari-preview.png"))
    preferences(viewer, args.out.with_name("napari-preferences.png"))
    regions(viewer, docked, args, args.out.with_name("napari-regions.png"))
    twelve_bit(viewer, docked, args, args.out.with_name("napari-12-bit-stack.png"))
    stack(viewer, docked, args, args.out.with_name("napari-stack.png"))
    sweep_on_cluster(viewer, docked, args, args.out.with_name("napari-sweep-cluster.png"))
    viewer.close()


if __name__ == "__main__":
    main()
