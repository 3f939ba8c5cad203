"""The engine in a napari worker thread: steps go out as small updates, the result at the end.

The generator runs in a ``thread_worker``; it imports torch itself (so napari starts without
it), never touches a layer, and converts pixels to numpy only every ``image_interval`` seconds.
Setting ``stop`` ends the run after the current step and still returns the partial result.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from ..core.config import Config


def run_in_background_priority(niceness: int = 10) -> None:
    """Let the UI thread win the CPU over this thread and the compute threads it starts.

    On Linux a thread has its own nice value and the threads it creates inherit it, so
    torch's intra-op pool, started from here, yields to napari's drawing too.  Elsewhere this
    is a no-op.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def at_shape(step, shape: tuple[int, int]) -> np.ndarray:
    """A step's image at the result's shape (coarse-to-fine steps are smaller: upsampled)."""
    if tuple(step.pixels.shape[-2:]) == tuple(shape):
        return step.image
    from ..core.images import resize, to_numpy

    return to_numpy(resize(step.pixels, shape))


def start_engine():
    """In a worker thread: background priority, then the engine (and torch), loaded safely."""
    from .engine import import_engine

    run_in_background_priority()
    return import_engine()


@dataclass(frozen=True)
class Update:
    """What the main thread needs after each step."""

    step: int
    total: int
    losses: object  # core.objective.Losses
    elapsed: float
    image: np.ndarray | None  # float32 (H, W, 3), or None between image updates


def optimize(
    config: Config, content: np.ndarray | None, style: np.ndarray | None,
    stop: threading.Event, image_interval: float = 0.25,
) -> Generator[Update, None, object]:
    """Yield an :class:`Update` per step; return the ``core.tasks.Result``."""
    run = start_engine().Run(config, content, style)  # torch is imported here, off the UI
    steps = iter(run)
    last_image = -float("inf")
    for step in steps:
        now = time.monotonic()
        image = None
        if step.step in (0, step.total) or now - last_image >= image_interval or stop.is_set():
            image, last_image = at_shape(step, run.output_shape), now
        yield Update(step.step, step.total, step.losses, step.elapsed, image)
        if stop.is_set():
            break
    steps.close()  # cancels the loop (if still going) and frees the network now
    return run.result()


def sweep(config: Config, parameter: str, values: tuple, content: np.ndarray | None,
          style: np.ndarray | None, stop: threading.Event) -> Generator[object, None, dict]:
    """Yield ``core.sweeps.SweepStep`` s; return the result, the source image at the working
    size, and (for seeds) the difference stacks."""
    start_engine()
    from ..core.images import to_numpy
    from ..core.sweeps import Sweep, differences

    runs = Sweep(config, parameter, values, content, style)
    steps = iter(runs)
    for progress in steps:
        yield progress
        if stop.is_set():
            break
    steps.close()
    result = runs.result()
    first = runs.runs[0]
    original = to_numpy(first.content if first.content is not None else first.style)
    return {"result": result, "original": original,
            "differences": differences(result.stack, original) if parameter == "seed" else {}}


def inspect(image: np.ndarray, compare: np.ndarray | None, layers: tuple[str, ...], view: str,
            count: int, contrast: bool, options: dict,
            stop: threading.Event) -> Generator[str, None, dict]:
    """Arrays to show for ``image`` at ``layers``: ``{"maps": {layer: array}, "difference":
    {layer: array}}``.  ``view`` "features": ``(C, H, W)`` maps (each channel scaled to [0, 1]
    with ``contrast``); "mosaic": the ``count`` strongest channels tiled; "gram": ``(C, C)``
    Gram matrices, and their difference to ``compare``'s when given."""
    start_engine()
    from ..core.features import feature_maps, gram_matrices, mosaic, normalize_channels

    yield "computing"
    if view == "gram":
        grams = gram_matrices(image, layers, **options)
        others = gram_matrices(compare, layers, **options) if compare is not None else {}
        return {"maps": grams, "difference": {name: grams[name] - others[name]
                                              for name in others}}
    maps = feature_maps(image, layers, **options)
    if view == "mosaic":
        return {"maps": {name: mosaic(stack, count) for name, stack in maps.items()},
                "difference": {}}
    if contrast:
        maps = {name: normalize_channels(stack) for name, stack in maps.items()}
    return {"maps": maps, "difference": {}}
