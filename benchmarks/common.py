"""Helpers shared by the benchmark scripts: images, timers and peak memory."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np


def sample_pair(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Content and style images (astronaut, hubble) at ``size`` px, longest side."""
    from napari_neural_style.core.images import to_numpy, to_tensor
    from napari_neural_style.core.samples import load_sample

    return (to_numpy(to_tensor(load_sample("astronaut"), size)),
            to_numpy(to_tensor(load_sample("hubble_deep_field"), size)))


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(arguments: list[str], python: str = sys.executable) -> dict:
    """Run ``python *arguments`` and read the JSON object it prints last, so that what it
    measures (peak memory above all) starts from nothing; ``{"error": last stderr line}`` if
    it fails."""
    completed = subprocess.run([python, *arguments], capture_output=True, text=True,
                               check=False)
    if completed.returncode != 0:
        return {"error": (completed.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


class EventLoopGaps:
    """Gaps between the ticks of a 5 ms QTimer, kept while in a ``with`` block: a gap far
    above 5 ms is time the Qt event loop (napari's UI) could not respond.  Needs a running
    QApplication; :meth:`wait_until` keeps the loop turning."""

    def __init__(self, interval_ms: int = 5):
        from qtpy.QtCore import QTimer

        self.gaps: list[tuple[float, float]] = []  # (gap, when it ended)
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last, now))
        self._last = now

    def __enter__(self) -> EventLoopGaps:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *_) -> None:
        self._timer.stop()

    def longest(self, since: float = 0.0) -> float:
        """The longest gap that started at or after ``since`` (perf_counter seconds)."""
        return max((gap for gap, ended in self.gaps if ended - gap >= since), default=0.0)

    def over(self, seconds: float) -> int:
        return sum(gap > seconds for gap, _ in self.gaps)

    @staticmethod
    def wait_until(condition: Callable[[], bool], timeout: float = 300.0) -> None:
        from qtpy.QtWidgets import QApplication

        end = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > end:
                raise TimeoutError("the condition did not come true in time")
            QApplication.processEvents()
            time.sleep(0.001)


def say(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
