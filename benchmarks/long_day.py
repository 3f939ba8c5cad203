"""A long day in one napari window: rounds of every widget's work, and after each piece of
work the process's resident memory, threads, open files and layers; what keeps growing is a
leak.

A round: a transfer, a texture, a reconstruction, a transfer with painted regions, a small
stack styled, a sweep over two seeds, the live preview turned on and off, Look inside, and a
result saved and opened again (9 pieces of work).  The layers a round made are removed at
its end, as a user clears the list, and everything is measured again: what stays in memory
is what leaks.  Goal (issue
39): after the first round, resident memory grows by at most 50 MB over the others; threads
and open files come back to their level; no worker is left running.  Writes a plot of the
resident memory (``--plot``).  Needs a display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/long_day.py [--rounds 6]
        [--plot docs/images/long-day.png]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path

import napari
import numpy as np
import psutil
from qtpy.QtWidgets import QApplication

from common import EventLoopGaps, say
from napari_neural_style.core.samples import load_sample, moving_sample

PLUGIN = "napari-neural-style"
FAST = {"weights": "random-single", "device": "cpu", "size": 64, "steps": 8}


def settle(condition=lambda: True) -> None:
    """Let Qt run until ``condition`` holds, then draw."""
    EventLoopGaps.wait_until(condition, timeout=600)
    for _ in range(20):
        QApplication.processEvents()


def docked(viewer, title: str, **values):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, title)
    for name, value in values.items():
        getattr(widget, name).value = value
    return widget


def run(widget) -> None:
    if widget.start() is None:
        raise RuntimeError(f"{widget.title} refused to start (its notification says why)")
    settle(lambda: widget.worker is None)


class Day:
    """The viewer, its docked widgets, and what was measured after each piece of work."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.process = psutil.Process()
        self.records: list[dict] = []
        self.widgets = {title: docked(viewer, title, **FAST) for title in
                        ("Style transfer", "Texture synthesis", "Content reconstruction")}
        self.widgets["Style a stack"] = docked(viewer, "Style a stack", **FAST, scales="1")
        self.widgets["Sweeps"] = docked(viewer, "Sweeps", **FAST)
        self.widgets["Look inside"] = docked(viewer, "Look inside", weights="random-single",
                                             device="cpu", size=64)
        self.folder = Path(tempfile.mkdtemp(prefix="long-day-"))

    def measure(self, work: str, round_: int) -> None:
        self.records.append({
            "round": round_, "work": work, "rss_mb": self.process.memory_info().rss / 2**20,
            "threads": self.process.num_threads(), "files": self.process.num_fds(),
            "layers": len(self.viewer.layers), "python_threads": threading.active_count()})

    def round(self, number: int) -> None:
        viewer, widgets = self.viewer, self.widgets
        originals = {layer.name for layer in viewer.layers}
        for work in (self.transfer, self.texture, self.reconstruct, self.regions, self.stack,
                     self.sweep, self.preview, self.look_inside, self.save_and_reopen):
            work(widgets)
            self.measure(work.__name__, number)
        for layer in [layer for layer in viewer.layers if layer.name not in originals]:
            viewer.layers.remove(layer)
        settle()
        self.measure("cleared", number)

    def transfer(self, widgets) -> None:
        widget = widgets["Style transfer"]
        widget.form.regions.labels.value = None
        run(widget)

    def texture(self, widgets) -> None:
        run(widgets["Texture synthesis"])

    def reconstruct(self, widgets) -> None:
        run(widgets["Content reconstruction"])

    def regions(self, widgets) -> None:
        widget = widgets["Style transfer"]
        content = self.viewer.layers["astronaut"]
        painted = np.zeros(content.data.shape[:2], dtype=np.uint8)
        painted[:, painted.shape[1] // 2:] = 1
        labels = self.viewer.add_labels(painted, name="regions")
        widget.form.regions.labels.value = labels
        for row in widget.form.regions.table:  # label 1: the Hubble deep field's style
            row[1].value = self.viewer.layers["hubble_deep_field"]
        run(widget)
        widget.form.regions.labels.value = None

    def stack(self, widgets) -> None:
        widget = widgets["Style a stack"]
        if "movie" not in self.viewer.layers:
            self.viewer.add_image(moving_sample("astronaut", 3, 48), name="movie", rgb=True)
        widget.form.content.value = self.viewer.layers["movie"]
        widget.form.style.value = self.viewer.layers["hubble_deep_field"]
        widget.frame_steps.value = 4
        run(widget)

    def sweep(self, widgets) -> None:
        widget = widgets["Sweeps"]
        widget.parameter.value = "seed"
        widget.values.value = "0, 1"
        widget.task_choice.value = "texture"
        run(widget)

    def preview(self, widgets) -> None:
        widget = widgets["Style transfer"]
        widget.live_preview.value = True
        settle(lambda: widget.preview.first_image_at is not None)
        widget.live_preview.value = False
        settle(lambda: widget.preview.worker is None)

    def look_inside(self, widgets) -> None:
        widget = widgets["Look inside"]
        widget.image.value = self.viewer.layers["astronaut"]
        widget.layers.value = ["conv_1", "conv_4"]
        run(widget)

    def save_and_reopen(self, widgets) -> None:
        result = widgets["Style transfer"].result_layer
        path = self.folder / "result.tif"
        result.save(str(path), plugin=PLUGIN)
        self.viewer.open(str(path), plugin=PLUGIN)


def napari_alone(viewer, count: int) -> float:
    """MB of resident memory napari itself keeps per image layer added and removed (a
    64 px RGB one, as the rounds make), with none of this plugin's work: the part of the
    growth that is napari's (its issues #2027, #4485)."""
    process = psutil.Process()
    settle()
    before = process.memory_info().rss / 2**20
    for index in range(count):
        layer = viewer.add_image(np.random.default_rng(index).random((64, 64, 3)),
                                 rgb=True, name=f"alone {index}")
        settle()
        viewer.layers.remove(layer)
        settle()
    return (process.memory_info().rss / 2**20 - before) / count


def growth_by_work(records: list[dict]) -> list[tuple[str, float]]:
    """How much resident memory each kind of work added, on average, after the first round
    (the first one's allocations are a cache's, not a leak's)."""
    added: dict[str, list[float]] = {}
    for before, after in pairwise(records):
        if after["round"] > 1:
            added.setdefault(after["work"], []).append(after["rss_mb"] - before["rss_mb"])
    return [(work, sum(values) / len(values)) for work, values in added.items()]


def plot(records: list[dict], path: Path) -> None:
    """Resident memory after each piece of work, rounds marked (pyqtgraph, which the
    plugin's loss curves use already)."""
    import pyqtgraph as pg
    from pyqtgraph import QtCore

    widget = pg.PlotWidget(background="w")
    widget.resize(900, 420)
    widget.setLabel("left", "resident memory (MB)")
    widget.setLabel("bottom", "piece of work (9 a round, then the layers cleared)")
    widget.plot([record["rss_mb"] for record in records], pen=pg.mkPen("b", width=2),
                symbol="o", symbolSize=5)
    for index in range(11, len(records), 10):
        widget.addLine(x=index - 0.5, pen=pg.mkPen((180, 180, 180),
                                                   style=QtCore.Qt.PenStyle.DashLine))
    widget.show()
    settle()
    path.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(path))
    widget.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    viewer = napari.Viewer()
    for name in ("astronaut", "hubble_deep_field"):
        viewer.add_image(load_sample(name), name=name)
    day = Day(viewer)
    day.measure("start", 0)
    start = time.monotonic()
    for number in range(1, args.rounds + 1):
        day.round(number)
        last = day.records[-1]
        say(f"round {number}: RSS {last['rss_mb']:.0f} MB, threads {last['threads']}, "
            f"files {last['files']}, layers {last['layers']} "
            f"({time.monotonic() - start:.0f} s)")
    first = [record for record in day.records if record["round"] == 1][-1]
    last = day.records[-1]
    busy = [title for title, widget in day.widgets.items() if widget.worker is not None]
    say(f"long_day: {args.rounds} rounds of 9 pieces of work, the layers cleared after each; "
        f"after the first round / the last: RSS {first['rss_mb']:.0f} / {last['rss_mb']:.0f} "
        f"MB (+{last['rss_mb'] - first['rss_mb']:.0f} MB; goal <= 50), threads "
        f"{first['threads']} / {last['threads']}, open files {first['files']} / "
        f"{last['files']}, layers {first['layers']} / {last['layers']}; workers still "
        f"running: {busy or 'none'}")
    say("  growth during each piece of work, mean over the rounds after the first (MB): " +
        ", ".join(f"{work} {growth:+.1f}" for work, growth in growth_by_work(day.records)))
    made = 15  # layers a round adds
    per_layer = napari_alone(viewer, args.rounds * made)
    say(f"  napari alone, an image layer added and removed {args.rounds * made} times: "
        f"{per_layer:+.1f} MB a layer ({made} layers a round)")
    napari_share = per_layer * made * (args.rounds - 1)
    say(f"  growth after the first round beyond napari's own share ({napari_share:.0f} MB): "
        f"{last['rss_mb'] - first['rss_mb'] - napari_share:+.0f} MB (goal <= 50)")
    if args.plot:
        plot(day.records, args.plot)
        say(f"wrote {args.plot}")
    viewer.close()


if __name__ == "__main__":
    main()
