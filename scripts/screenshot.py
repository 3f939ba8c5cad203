"""Screenshots for docs/: napari with the style transfer widget after a real run, and the loss
curves of that run.

Runs the README's main job in napari (sample images, widgets docked), presses Run on the style
transfer widget, saves the window once the result is in, then docks the Loss curves widget and
saves it.  Weights: ImageNet if available,
otherwise the untrained network, as the result layer's name says.  Needs a display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from qtpy.QtWidgets import QApplication

from napari_neural_style.demo import choose_weights
from napari_neural_style.plugin.launch import open_viewer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/napari-style-transfer.png"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    weights = choose_weights("imagenet")
    viewer, docked = open_viewer(weights="random" if weights.is_random else "imagenet")
    viewer.window._qt_window.resize(1500, 950)  # napari has no public resize
    widget = docked["Style transfer"]
    widget.size.value, widget.steps.value = args.size, args.steps
    widget.start()
    while widget.worker is not None:
        QApplication.processEvents()
        time.sleep(0.01)
    viewer.layers.selection.active = widget.result_layer
    for _ in range(50):
        QApplication.processEvents()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(args.out), canvas_only=False, flash=False)
    print(f"wrote {args.out}: {widget.result_layer.name}; {widget.status.value}")
    _, curves = viewer.window.add_plugin_dock_widget("napari-neural-style", "Loss curves")
    curves.resize(900, 500)
    curves.refresh()
    for _ in range(50):
        QApplication.processEvents()
    curves_path = args.out.with_name("loss-curves.png")
    curves.grab().save(str(curves_path))
    print(f"wrote {curves_path}: {len(curves.curves)} curves")
    viewer.close()


if __name__ == "__main__":
    main()
