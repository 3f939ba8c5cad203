"""Seconds per step of a 256 px transfer run from the Style transfer widget, against the
engine alone in the same process, and with napari's activity spinner held still.

napari shows an animated "in progress" indicator in its status bar while a progress bar
runs.  Under software OpenGL (Xvfb and Mesa's llvmpipe, as on this project's machines, and
many virtual machines) each frame of it repaints the window, canvas included, on the CPU the
optimization needs.  Run with a display: ``xvfb-run -a -s "-screen 0 1600x1000x24"``.

    python benchmarks/napari_speed.py [--steps 60] [--size 256]
"""

from __future__ import annotations

import argparse

import napari
from qtpy.QtCore import QEventLoop

from common import say
from napari_neural_style.core.config import Config
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.tasks import Run


def widget_seconds_per_step(viewer, size: int, steps: int) -> float:
    _, widget = viewer.window.add_plugin_dock_widget("napari-neural-style", "Style transfer")
    for name, value in {"weights": "random-single", "device": "cpu", "size": size,
                        "steps": steps}.items():
        getattr(widget, name).value = value
    widget.content.value = viewer.layers["astronaut"]
    widget.style.value = viewer.layers["hubble_deep_field"]
    loop = QEventLoop()
    widget.start().finished.connect(loop.quit)
    loop.exec_()
    seconds = widget.result_layer.metadata["neural_style"]["seconds_per_step"]
    viewer.window.remove_dock_widget(widget.native.parent())
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    viewer = napari.Viewer()
    for name in ("astronaut", "hubble_deep_field"):
        viewer.add_image(load_sample(name), name=name)
    widget = widget_seconds_per_step(viewer, args.size, args.steps)
    spinner = viewer.window._qt_window._activity_dialog._toggleButton._inProgressIndicator
    spinner.movie().setSpeed(0)  # private: only to measure what the animation costs
    still = widget_seconds_per_step(viewer, args.size, args.steps)
    engine = Run(Config.for_task("transfer", size=args.size, steps=args.steps,
                                 weights="random-single", device="cpu"),
                 content=load_sample("astronaut"),
                 style=load_sample("hubble_deep_field")).complete().seconds_per_step
    say(f"{args.size} px, s/step: widget {widget:.3f}, widget with the spinner still "
        f"{still:.3f}, engine alone {engine:.3f}: widget / engine {widget / engine:.2f}, "
        f"still / engine {still / engine:.2f}")
    viewer.close()


if __name__ == "__main__":
    main()
