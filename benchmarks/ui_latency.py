"""Longest stall of the Qt event loop while a style transfer runs in the napari widget.

A 5 ms QTimer records the gaps between its ticks while the widget's worker runs; a gap far
above 5 ms is time the UI could not respond.  Reported per run: the longest gap overall, the
longest once the first step is back (the optimization proper), and the number over 100 ms.
The first run also imports torch (in the worker thread) and builds the network; later runs
are warm.  Goal: under 100 ms at 256 px on CPU.  Needs a display (``xvfb-run -a``).

    xvfb-run -a python benchmarks/ui_latency.py [--size 256] [--steps 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import time

from qtpy.QtWidgets import QApplication

from common import EventLoopGaps, say
from napari_neural_style.plugin.launch import open_viewer


def measure(widget, steps: int) -> dict[str, float]:
    """Event-loop gaps (seconds) during one run of ``widget``."""
    first_step: list[float] = []
    widget.steps.value = steps
    start = time.perf_counter()
    with EventLoopGaps() as gaps:
        worker = widget.start()
        worker.yielded.connect(lambda _: first_step or first_step.append(time.perf_counter()))
        gaps.wait_until(lambda: widget.worker is None)
    return {"longest": gaps.longest(),
            "optimizing": gaps.longest(since=first_step[0]) if first_step else 0.0,
            "over_100ms": gaps.over(0.1),
            "wall": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    viewer, docked = open_viewer(weights="random-single", show=True)
    widget = docked["Style transfer"]
    widget.size.value = args.size
    widget.device.value = "cpu"
    for _ in range(20):
        QApplication.processEvents()
    say(f"ui_latency: style transfer at {args.size} px, {args.steps} steps, CPU, in napari "
        "(goal: longest stall < 100 ms)")
    for run in range(args.runs):
        label = "first run (imports torch)" if run == 0 else f"warm run {run}"
        figures = measure(widget, args.steps)
        say(f"  {label:<26} longest stall {figures['longest'] * 1000:6.1f} ms | while "
            f"optimizing {figures['optimizing'] * 1000:6.1f} ms | {figures['over_100ms']} "
            f"over 100 ms | run {figures['wall']:.1f} s")
    viewer.close()


if __name__ == "__main__":
    main()
