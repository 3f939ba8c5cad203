"""The command line's modes: one run, a sweep, a movie's frames, a run on a dask cluster,
an estimate, feature maps.  The engine's torch modules are imported where a mode runs, so
``--help`` and usage errors answer at once."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

import numpy as np
import tifffile

from ..core.cluster_backend import cluster_backend
from ..core.command_line import INPUT_NAMES, as_list
from ..core.errors import reword
from ..core.estimate import cached_calibration, estimate, runs_tiled
from ..core.frame_settings import FRAME_OPTIONS, FrameSettings
from ..core.geometry import own_style_scales, upsampling, working_shape
from ..core.image_files import image_side, read_image
from ..core.vgg_layers import channel_axis_label, parse_layers
from .messages import as_flag
from .output import save_result, save_stack, sweep_record, write_made
from .parser import config_from, start_file, style_files, style_label_files
from .progress import (
    run_through,
    with_frame_progress,
    with_progress,
    with_sweep_progress,
    with_task_progress,
)


def optimize(args: argparse.Namespace) -> int:
    config = _own_style_sizes(args, config_from(args))
    if args.estimate:
        print(_estimate_for(args, config), file=sys.stderr)
        return 0
    if getattr(args, "axis", None) is not None:
        with _cluster(args) as client:
            return _optimize_frames(args, config, client)
    images = _input_images(args, config)
    if args.sweep:
        with _cluster(args) as client:
            return _optimize_sweep(args, config, images, client)
    if args.dask:
        with _cluster(args) as client:
            if _runs_tiled(config, images):
                return _optimize_here(args, config, images, client)
            return _optimize_remote(args, config, images, client)
    return _optimize_here(args, config, images, None)


def _optimize_here(args: argparse.Namespace, config, images: dict, client) -> int:
    """The run in this process, its steps on a bar; with ``client``, the tiles of each tiled
    step as tasks on its cluster."""
    from ..core.tasks import Run

    notes = _upsampling_notes(config, images)
    line = _estimate_line(config, images, probe=False)
    run = Run(config, **images, **_optional_inputs(args), client=client)
    status = run_through(with_progress(run, [*notes, line] if line else notes))
    return write_made(status, run.has_result, lambda: save_result(args, run.result()))


def _runs_tiled(config, images: dict) -> bool:
    """Whether the run's working size goes tile by tile (its scales are never larger)."""
    source = images.get("content")
    source = as_list(images["style"])[0] if source is None else source
    return runs_tiled(config, *working_shape(*source.shape[:2], config.size))


def _own_style_sizes(args: argparse.Namespace, config):
    """``config`` with ``--style-size own`` resolved against the files' full-resolution
    sides, so that of a pyramid the level that matches is read."""
    if config.style_size != "own" or args.command != "transfer":
        return config
    return own_style_scales(config, image_side(args.content),
                            [image_side(path) for path in style_files(args)])


def _estimate_for(args: argparse.Namespace, config) -> str:
    """``--estimate``'s line: of the run, or of each frame of ``--axis`` or value of
    ``--sweep`` (each is a run)."""
    images = _input_images(args, config)
    runs = ""
    if getattr(args, "axis", None) is not None:  # one frame's picture, not the stack's
        frames = np.moveaxis(images["content"], args.axis, 0)
        images["content"], runs = frames[0], f" (each of {len(frames)} frames)"
    elif args.sweep:
        runs = f" (each of {len(args.sweep[1])} values)"
    return _estimate_line(config, images, probe=True) + runs


def _estimate_line(config, images: dict, probe: bool) -> str:
    """The run's estimated time and memory (core/estimate.py), from the cached calibration or,
    with ``probe``, one made now; "" without either."""
    calibration = cached_calibration(config)
    if calibration is None and not probe:
        return ""
    if calibration is None:
        from ..core.probe import calibrate

        print("calibrating the estimate on this machine (once, about 30 s)...",
              file=sys.stderr)
        calibration = calibrate(config)
    shapes = [image.shape for given in images.values() for image in as_list(given)]
    return reword(estimate(config, calibration, *shapes).describe(), as_flag)


def _input_images(args: argparse.Namespace, config) -> dict:
    """The task's images, read: the content, the style (a list); of a pyramid, the level
    that fits each one's working size."""
    return {role: read_image(args.content, size=config.size) if role == "content" else
            [read_image(path, size=config.working_size("style", index=index))
             for index, path in enumerate(style_files(args))]
            for role in INPUT_NAMES[args.command]}


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator:
    """A ``distributed.Client`` for ``--dask`` (None without it), said on stderr, closed
    after."""
    if not args.dask:
        yield None
        return
    with cluster_backend().connected(args.dask) as client:
        print(f"dask cluster {args.dask}: {cluster_backend().describe(client)}",
              file=sys.stderr)
        yield client


def _optimize_sweep(args: argparse.Namespace, config, images: dict, client) -> int:
    """Every value of ``--sweep`` (in this process, or on ``client``'s cluster), stacked in
    the output TIFF as they come; Ctrl-C, running out of memory or a failing cluster write
    the values done so far."""
    from ..core.sweeps import Sweep

    parameter, values = args.sweep
    runs = Sweep(config, parameter, values, **images, **_optional_inputs(args),
                 client=client)
    status = run_through(with_sweep_progress(runs))
    return write_made(status, runs.has_result,
                       lambda: save_stack(args, *sweep_record(runs.result())))


def _optimize_remote(args: argparse.Namespace, config, images: dict, client) -> int:
    """One run as one task on ``client``'s cluster (a GPU node, say), its steps on a bar;
    Ctrl-C, or the cluster failing, write the result so far."""
    found, running = {}, {}
    tasks = cluster_backend().run_tasks(
        client, [(config, {**images, **_optional_inputs(args)})],
        lambda index, result, _snapshots: found.__setitem__(index, result), running=running)
    status = run_through(with_task_progress(tasks, running))
    return write_made(status, bool(found), lambda: save_result(args, found[0]))


def _optional_inputs(args: argparse.Namespace) -> dict:
    """The image to start from (``--init PATH``), the label image (``--regions``) and the
    styles' label images (``--style-labels``), read, as :class:`~.core.tasks.Run` takes
    them."""
    start, style_labels = start_file(args), style_label_files(args)
    labels = getattr(args, "labels", None)
    return {"init_image": None if start is None else read_image(start),
            "labels": None if labels is None else read_image(labels, labels=True),
            "style_labels": None if style_labels is None else [
                None if path is None else read_image(path, labels=True)
                for path in style_labels]}


def _optimize_frames(args: argparse.Namespace, config, client) -> int:
    """Every frame of the content stack along ``--axis`` (core/frames.py; each a task on
    ``client``'s cluster, if given); Ctrl-C writes the frames done so far."""
    from ..core.frames import FrameRun, frames_along
    content = read_image(args.content)
    frames = frames_along(content, args.axis)
    inputs = _optional_inputs(args)
    if inputs["labels"] is not None:  # a label image per frame
        inputs["labels"] = np.moveaxis(inputs["labels"], args.axis, 0)
    runs = FrameRun(config, frames, [read_image(path) for path in style_files(args)],
                    FrameSettings(**{name: getattr(args, name) for name in FRAME_OPTIONS}),
                    **inputs, client=client)
    status = run_through(with_frame_progress(runs))

    def save() -> int:
        record = runs.provenance()
        print(f"{len(runs.done)} of {len(frames)} frames done, flicker "
              f"{record['frames']['flicker']}", file=sys.stderr)
        # the frames back where they were
        return save_stack(args, np.moveaxis(runs.stack(), 0, args.axis % content.ndim),
                           record)

    return write_made(status, any(result is not None for result in runs.results), save)


def _upsampling_notes(config, images: dict) -> list[str]:
    """A line for each input image enlarged to its working size (a style's is ``--size``
    times its ``--style-scale``)."""
    notes = []
    for role, given in images.items():
        several = isinstance(given, list) and len(given) > 1
        for index, image in enumerate(as_list(given)):
            size = config.working_size(role, index=index)
            factor = upsampling(*image.shape[:2], size)
            target = f"--size {size}" if size == config.size else (
                f"{size} px (--size {config.size} x --style-scale "
                f"{config.style_factor(index):g})")
            name = f"{role} image {index + 1}" if several else f"{role} image"
            if factor > 1:
                notes.append(f"the {name}, {image.shape[0]}x{image.shape[1]} px, is "
                             f"upsampled {factor:.3g}x to {target}")
    return notes


def write_feature_maps(args: argparse.Namespace) -> int:
    from ..core.features import feature_maps
    names = parse_layers(args.layers)
    maps = feature_maps(read_image(args.image), names, weights=args.weights, size=args.size,
                        pooling=args.pooling, device=args.device,
                        weights_format=args.weights_format)
    for name, stack in maps.items():
        path = args.output if len(names) == 1 else args.output.with_name(
            f"{args.output.stem}-{name}{args.output.suffix or '.tif'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, stack, metadata={"axes": "CYX", "layer": name,
                                                "label": channel_axis_label(name)})
        print(f"wrote {path}: {stack.shape[0]} channels of {stack.shape[1]}x{stack.shape[2]} "
              f"at {name}", file=sys.stderr)
    return 0
