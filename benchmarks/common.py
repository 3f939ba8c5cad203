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
    from napari_neural_style.samples import load_sample

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


def say(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
