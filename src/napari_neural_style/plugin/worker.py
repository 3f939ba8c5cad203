"""The plugin's one door into the engine: the generators napari's worker threads run.

No other plugin module imports a core module that imports torch (a test checks): the widgets
hand numpy copies and a frozen Config in, and get numpy images and results back.  Each
generator imports the engine itself, in its worker thread, so napari starts without torch; it
never touches a layer, and setting ``stop`` ends it after the current step, still returning
what was computed.

PyTorch's Linux builds ship triton, whose ``libtriton`` carries its own copy of LLVM.  When
napari draws through Mesa (llvmpipe under Xvfb, radeonsi on AMD GPUs), Mesa's LLVM is already
loaded, and loading ``libtriton`` after it crashes the process in a symbol clash (seen here:
importing torchvision, which a download of the ImageNet weights needs, imports
``torch._dynamo``, which imports triton; the engine's own steps no longer do,
core/solvers.py).  Loading triton with ``RTLD_DEEPBIND`` makes it bind to its own LLVM
first.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np

from ..core.config import Config
from ..core.pyramid import pyramid, reduced


@contextlib.contextmanager
def engine_work(niceness: int = 10) -> Iterator[None]:
    """In a worker thread, around the engine's work: the UI keeps the CPU and the GIL, and
    triton cannot crash it.

    * The thread runs at lower priority: on Linux a thread has its own nice value and the
      threads it creates inherit it, so torch's intra-op pool, started from here, yields to
      napari's drawing too (elsewhere a no-op).
    * Python's cyclic garbage collector leaves alone the objects that were there before
      (``gc.freeze``; ``gc.unfreeze`` after).  A run makes many short-lived Python objects,
      and now and then one sets off a full collection, which walks all of napari's objects
      holding the GIL: a stall of the UI a user sees (docs/performance.md).  Garbage among
      the older objects waits for the end.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    _load_triton_safely()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _load_triton_safely() -> None:
    """triton (if installed) loaded with ``RTLD_DEEPBIND``, before anything imports it (see
    the module's docstring)."""
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if deepbind and "triton" not in sys.modules and importlib.util.find_spec("triton"):
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | deepbind)
        try:
            import triton  # noqa: F401
        finally:
            sys.setdlopenflags(flags)


#: one piece of engine work at a time in this process: two runs computing at once would
#: share torch's thread pool on the same cores, each several times slower than alone
ENGINE_TURN = threading.Lock()


def engine_turn(needed: bool = True) -> contextlib.AbstractContextManager:
    """This process's turn at the engine (:data:`ENGINE_TURN`), held for the ``with`` block;
    none where the work runs elsewhere (a dask cluster): ``needed=False``."""
    return ENGINE_TURN if needed else contextlib.nullcontext()


def taking_turns(events: Iterator, needed: bool = True) -> Generator:
    """``events`` (an engine iteration), each computed while this process's turn at the
    engine is held: two runs started together alternate their steps.  Between steps nothing
    is held, so a run abandoned there (napari quits workers when it closes) blocks no other.
    Returns what the iteration returns.  Work that runs elsewhere (a dask cluster) does not
    take turns: ``needed=False``."""
    while True:
        with engine_turn(needed):
            try:
                event = next(events)
            except StopIteration as end:
                return end.value
        yield event


@dataclass(frozen=True)
class Update:
    """What the main thread needs after each step."""

    step: int
    total: int
    losses: object  # core.objective.Losses
    elapsed: float
    image: np.ndarray | None  # float32 (H, W, 3), or None between image updates


def optimize(
    config: Config, images: dict[str, np.ndarray | None], stop: threading.Event,
    image_interval: float = 0.25, live_halvings: int = 0, cluster: str = "",
) -> Generator[Update, None, object]:
    """Yield an :class:`Update` per step (an image every ``image_interval`` seconds, halved
    ``live_halvings`` times: a pyramid's coarse level); return the ``core.result.Result``,
    also when memory ran out after a step (its ``stopped_by`` says so).  ``images``: the
    content, style and start images, as ``Run`` takes them.  A run that goes tile by tile
    hears ``stop`` between two tiles, and with a dask ``cluster`` (an address) sends each
    step's tiles there."""
    with engine_work():
        from ..core.cluster_backend import cluster_backend
        from ..core.errors import OutOfMemory
        from ..core.tasks import Run

        client = cluster_backend().shared_client(cluster) if cluster else None
        run = Run(config, **images, client=client, stop=stop)
        steps = iter(run)
        last_image = -float("inf")
        try:
            for step in taking_turns(steps):
                now = time.monotonic()
                image = None
                if step.step in (0, step.total) or now - last_image >= image_interval or \
                        stop.is_set():
                    image = reduced(run.output_image(step), live_halvings)
                    last_image = now
                yield Update(step.step, step.total, step.losses, step.elapsed, image)
                if stop.is_set():
                    break
        except OutOfMemory:
            if not run.has_result:
                raise
        with engine_turn():  # the last scale's quality numbers are computed as it closes
            steps.close()  # cancels the loop (if still going) and frees the network now
        return run.result()


def optimize_in_levels(
    config: Config, images: dict[str, np.ndarray | None], levels: int, live: int,
    cluster: str, stop: threading.Event,
) -> Generator[Update, None, tuple]:
    """:func:`optimize`, its images at level ``live`` of the result's pyramid; returns the
    result and its pyramid of ``levels`` levels (the first the result's own image)."""
    result = yield from optimize(config, images, stop, live_halvings=live, cluster=cluster)
    return result, pyramid(result.image, levels)


@dataclass(frozen=True)
class FrameUpdate:
    """One step of one frame of a stack, with the frame's image when it has finished."""

    frame: int
    step: int
    total: int
    image: np.ndarray | None  # float32 (H, W, 3) once the frame is done, else None


def style_frames(config: Config, frames: np.ndarray, styles, settings,
                 labels: np.ndarray | None, cluster: str,
                 stop: threading.Event) -> Generator[FrameUpdate | str, None, dict]:
    """Yield a :class:`FrameUpdate` per step of every frame (core.frames.FrameRun; ``labels``:
    one label image per frame, for regions), or on a dask ``cluster`` per frame done (and
    a status line while none finishes); return ``{"stack": (T, H, W, 3), "provenance": ...}``
    of the frames done (all, or those before Stop)."""
    with engine_work():
        from ..core.cluster_backend import cluster_backend
        from ..core.frames import FrameRun

        client = cluster_backend().shared_client(cluster) if cluster else None
        runs = FrameRun(config, frames, styles, settings, labels=labels, client=client)
        steps = iter(runs)
        for frame, step in taking_turns(steps, needed=not cluster):
            yield _frame_update(runs, frame, step)
            if stop.is_set():
                break
        with engine_turn(needed=not cluster):
            steps.close()
        return {"stack": runs.stack(), "provenance": runs.provenance()}


def _frame_update(runs, frame: int | None, step) -> FrameUpdate | str:
    """What the widget shows of ``runs``' event: a step, a frame done on a cluster, or (a
    cluster's wait) how many are done."""
    if frame is None:
        from ..core.sweep_spec import cluster_progress

        return cluster_progress("frame", len(runs.done), len(runs.frames), runs.running)
    if step is None:
        result = runs.results[frame]
        return FrameUpdate(frame, result.steps_done, result.steps_done, result.image)
    return FrameUpdate(frame, step.step, step.total, runs.run.output_image(step)
                       if step.step == step.total else None)


def sweep(config: Config, parameter: str, values: tuple, images: dict[str, np.ndarray | None],
          cluster: str, stop: threading.Event) -> Generator[object, None, dict]:
    """Yield ``core.sweeps`` events (a ``SweepSlice`` per value as it finishes); return the
    result (so far, when memory ran out), the source image at the working size, and (for
    seeds) the difference stacks.  ``cluster``: a dask cluster's address (``local``...) to
    run every value as a task there, or "" for this process."""
    with engine_work():
        from ..core.cluster_backend import cluster_backend
        from ..core.errors import OutOfMemory
        from ..core.sweeps import Sweep, differences

        if cluster:
            yield f"connecting to the dask cluster {cluster}..."
        client = cluster_backend().shared_client(cluster) if cluster else None
        runs = Sweep(config, parameter, values, **images, client=client)
        steps = iter(runs)
        try:
            for progress in taking_turns(steps, needed=not cluster):
                yield progress
                if stop.is_set():
                    break
        except OutOfMemory:
            if not runs.has_result:
                raise
        with engine_turn(needed=not cluster):
            steps.close()
        result = runs.result()
        original = runs.source_image()
        return {"result": result, "original": original,
                "differences": differences(result.stack, original) if parameter == "seed" else {}}


def calibrate(config: Config, stop: threading.Event) -> Generator[str, None, object]:
    """Probe this machine for ``config``'s device and precision (core/probe.py): the
    calibration the estimates use, cached for next time."""
    with engine_work():
        from ..core.probe import calibrate as probe

        yield "calibrating the estimate on this machine (once, about 30 s)..."
        with engine_turn():  # a probe measures a quiet machine
            return probe(config)


def look_inside(image: np.ndarray, compare: np.ndarray | None, layers: tuple[str, ...],
                view: str, count: int, contrast: bool, options: dict,
                stop: threading.Event) -> Generator[str, None, dict]:
    """Arrays to show for ``image`` at ``layers``: ``{"maps": {layer: array}, "difference":
    {layer: array}}``.  ``view`` "features": ``(C, H, W)`` maps (each channel scaled to [0, 1]
    with ``contrast``); "mosaic": the ``count`` strongest channels tiled; "gram": ``(C, C)``
    Gram matrices, and their difference to ``compare``'s when given."""
    with engine_work():
        from ..core.features import feature_maps, gram_matrices, mosaic, normalize_channels

        yield "computing"
        with engine_turn():
            if view == "gram":
                grams = gram_matrices(image, layers, **options)
                others = gram_matrices(compare, layers, **options) if compare is not None \
                    else {}
                return {"maps": grams, "difference": {name: grams[name] - others[name]
                                                      for name in others}}
            maps = feature_maps(image, layers, **options)
            if view == "mosaic":
                return {"maps": {name: mosaic(stack, count) for name, stack in maps.items()},
                        "difference": {}}
        if contrast:
            maps = {name: normalize_channels(stack) for name, stack in maps.items()}
        return {"maps": maps, "difference": {}}

