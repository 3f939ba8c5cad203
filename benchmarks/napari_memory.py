"""napari's peak memory during a large style transfer from a multiscale layer of the same
size, against the engine's estimate plus one copy of the result.

A ``--size`` px content (the astronaut, resized) is opened as a multiscale layer (levels down
to 512 px), the Style transfer widget runs it at ``--size`` px (one scale, ``--steps`` steps,
random weights, the rest by default: it goes tile by tile where it would not fit), and a
thread samples the process's resident memory every 20 ms.  The baseline is taken after napari,
the layers and the engine (torch) are loaded, as the estimate counts above importing the
engine.  Run with a display: ``xvfb-run -a -s "-screen 0 1600x1000x24"``.

    python benchmarks/napari_memory.py [--size 4096] [--steps 1]
"""

from __future__ import annotations

import argparse
import gc
import threading
import time

import napari
import numpy as np
import psutil
from qtpy.QtCore import QEventLoop

from common import say
from napari_neural_style.core.estimate import cached_calibration, estimate
from napari_neural_style.core.probe import calibrate
from napari_neural_style.core.pyramid import levels_to, pyramid
from napari_neural_style.core.samples import load_sample


class PeakSampler(threading.Thread):
    """The highest resident memory (MB) of this process while it runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.process, self.peak, self.done = psutil.Process(), 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss / 2**20)


def content_of(size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(load_sample("astronaut")).resize((size, size),
                                                                        Image.BICUBIC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=1)
    args = parser.parse_args()
    viewer = napari.Viewer()
    content = content_of(args.size)
    levels = pyramid(content, levels_to(content.shape))
    viewer.add_image(levels, name="slide", multiscale=True, rgb=True)
    style = load_sample("hubble_deep_field")
    viewer.add_image(style, name="style")
    _, widget = viewer.window.add_plugin_dock_widget("napari-neural-style", "Style transfer")
    for name, value in {"weights": "random-single", "device": "cpu", "size": args.size,
                        "steps": args.steps, "scales": "1", "tolerance": 0.0}.items():
        getattr(widget, name).value = value
    widget.content.value, widget.style.value = viewer.layers["slide"], viewer.layers["style"]
    config = widget.form.config()
    calibration = cached_calibration(config) or calibrate(config)
    expected = estimate(config, calibration, content.shape, style.shape)
    import napari_neural_style.core.tasks  # noqa: F401  the engine, counted in the baseline

    del content, levels
    gc.collect()
    napari.qt.get_qapp().processEvents()
    sampler = PeakSampler()
    baseline = sampler.process.memory_info().rss / 2**20
    sampler.start()
    loop = QEventLoop()
    start = time.perf_counter()
    widget.start().finished.connect(loop.quit)
    loop.exec_()
    napari.qt.get_qapp().processEvents()
    sampler.done.set()
    sampler.join()
    layer = widget.result_layer
    record = layer.metadata["neural_style"]
    result_mb = np.asarray(layer.data[0]).nbytes / 2**20
    above = sampler.peak - baseline
    say(f"{args.size} px from a {len(viewer.layers['slide'].data)}-level multiscale layer, "
        f"{record['steps']} step(s), {record['precision']}, tiling {record['tiling']}: "
        f"{time.perf_counter() - start:.0f} s; napari's peak above the baseline "
        f"{above:.0f} MB (baseline {baseline:.0f} MB); the estimate {expected.peak_mb:.0f} MB "
        f"+ one result {result_mb:.0f} MB = {expected.peak_mb + result_mb:.0f} MB: "
        f"peak / (estimate + result) {above / (expected.peak_mb + result_mb):.2f}; "
        f"result layer multiscale: {layer.multiscale}, levels "
        f"{[tuple(level.shape) for level in layer.data]}")
    viewer.close()


if __name__ == "__main__":
    main()
