"""Runs as tasks on a dask cluster against runs in this process, measured side by side.

1. Per-task overhead: a 64 px, 20-step transfer (random weights, CPU, one torch thread), run
   ``--tasks`` times one after another in this process, then as ``--tasks`` tasks on a
   LocalCluster of one single-threaded worker (after one warm-up task fills the worker's
   weights cache): cluster / in-process time per run.  Goal: <= 1.10.
2. Throughput on this machine's cores: the same ``--tasks`` runs as a seed sweep, in this
   process with torch on every core, against a LocalCluster of one single-threaded worker
   per core: in-process / cluster wall time (above 1: the cluster is faster).

3. A tiled run's steps (``--parts tiles``): a ``--tile-size`` px transfer tiled at ``--tile``
   px, seconds a step in this process with one torch thread and with every core, and with
   its tiles on a LocalCluster of 1 and of 2 single-threaded workers; the bytes a step moved
   over the loopback interface (every message: the image to each worker, the tiles' parts
   and gradients back) against the model's count of the data alone
   (:func:`predicted_bytes`); ``--direct``: the client talks to the workers directly.
   The model's time terms are measured in the same in-process run (one thread): seconds
   per input pixel of a tile in each pass, and the client's seconds per image pixel (the
   step less its tiles); the step they predict on 1 and 2 workers is printed beside the
   measured one, and (``--model-sizes``) the step and the speed-up they predict on 1-64
   workers at 8k-64k px (:func:`model_table`).

The in-process parts run before any worker process starts, so no two torch processes compete.

    python benchmarks/cluster.py [--parts tasks,tiles] [--tasks 8] [--size 64] [--steps 20]
        [--tile-size 768 --tile 256 --tile-steps 3 --direct]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from dataclasses import dataclass, field, replace

import dask
import distributed
import psutil
import torch

from common import say
from napari_neural_style.core.cluster import KEEP_REPLICAS
from napari_neural_style.core.config import Config
from napari_neural_style.core.estimate import tiling_for
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.sweep_spec import SweepSlice
from napari_neural_style.core.sweeps import Sweep
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.tiling import TiledObjective
from napari_neural_style.core.weights import resolve_weights


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def sweep_seconds(base: Config, images: dict, seeds: tuple, client=None) -> float:
    sweep = Sweep(base, "seed", seeds, **images, client=client)
    return timed(lambda: [event for event in sweep if isinstance(event, SweepSlice)])


def tasks(args: argparse.Namespace) -> None:
    images = {"content": load_sample("astronaut"), "style": load_sample("coffee")}
    base = replace(Config.for_task("transfer"), size=args.size, steps=args.steps,
                   weights="random-single", device="cpu", init="noise")
    seeds = tuple(range(args.tasks))
    cores = os.cpu_count() or 1

    torch.set_num_threads(1)
    weights = resolve_weights("random-single")  # cached, as a worker caches it
    Run(base, **images, weights=weights).complete()  # warm-up
    alone = timed(lambda: [Run(replace(base, seed=seed), **images, weights=weights).complete()
                           for seed in seeds]) / args.tasks
    torch.set_num_threads(cores)
    in_process = sweep_seconds(base, images, seeds)

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        sweep_seconds(base, images, (0,), client)  # warm-up: torch imported, weights cached
        remote = sweep_seconds(base, images, seeds, client) / args.tasks
    say(f"per run, {args.size} px, {args.steps} steps, one thread: in this process "
        f"{alone:.3f} s, as a task {remote:.3f} s: cluster / in-process = {remote / alone:.3f}")

    with distributed.LocalCluster(n_workers=cores, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        sweep_seconds(base, images, tuple(range(cores)), client)  # warm-up, every worker
        spread = sweep_seconds(base, images, seeds, client)
    say(f"{args.tasks} runs: one process, {cores} torch threads {in_process:.2f} s; {cores} "
        f"single-threaded workers {spread:.2f} s: throughput cluster / in-process = "
        f"{in_process / spread:.2f}")


@dataclass
class TileClock:
    """Seconds spent in each pass's tiles and the input pixels they read, by timing
    ``TiledObjective``'s two tile methods in this process."""

    seconds: dict = field(default_factory=lambda: {"tile_parts": 0.0, "tile_gradient": 0.0})
    pixels: dict = field(default_factory=lambda: {"tile_parts": 0, "tile_gradient": 0})

    @contextlib.contextmanager
    def watching(self):
        originals = {name: getattr(TiledObjective, name) for name in self.seconds}

        def timed_method(name):
            def method(objective, image, tile, *args):
                start = time.perf_counter()
                found = originals[name](objective, image, tile, *args)
                self.seconds[name] += time.perf_counter() - start
                self.pixels[name] += _input_pixels(tile)
                return found
            return method

        for name in originals:
            setattr(TiledObjective, name, timed_method(name))
        try:
            yield self
        finally:
            for name, original in originals.items():
                setattr(TiledObjective, name, original)


def _input_pixels(tile) -> int:
    return (tile.input_rows.stop - tile.input_rows.start) * \
        (tile.input_cols.stop - tile.input_cols.start)


@dataclass(frozen=True)
class StepModel:
    """A tiled step on N workers: ``client * S^2`` seconds here (adding the parts, the
    optimizer), each tile ``per_pixel[pass] * its input's pixels`` seconds on a worker, the
    tiles of a pass dealt to whichever worker is free, and the bytes that cross the client's
    link (twice through the scheduler) at ``bandwidth`` bytes a second."""

    parts_per_pixel: float  # pass 1, seconds per input pixel of a tile
    gradient_per_pixel: float  # pass 2
    client_per_pixel: float  # seconds per image pixel in the client

    def seconds(self, config: Config, size: int, workers: int, bandwidth: float = 0.0,
                crops: bool = False) -> float:
        tiling = tiling_for(config, size, size)
        passes = [(self.parts_per_pixel, tiling.forward_only().tiles(size, size)),
                  (self.gradient_per_pixel, tiling.tiles(size, size))]
        computed = sum(_dealt([rate * _input_pixels(tile) for tile in tiles], workers)
                       for rate, tiles in passes)
        moved = 2 * predicted_bytes(config, workers, size, crops) / bandwidth if bandwidth \
            else 0.0
        return self.client_per_pixel * size**2 + computed + moved


def _dealt(durations: list[float], workers: int) -> float:
    """When the last of ``durations`` ends, each started on the first worker free."""
    free = [0.0] * workers
    for duration in durations:
        free[free.index(min(free))] += duration
    return max(free)


def tiled_step(config: Config, images: dict, client=None,
               clock: TileClock | None = None) -> tuple[float, ...]:
    """Seconds a step (from the second on) of a tiled run, and loopback bytes a step; with
    ``clock``, also the seconds its tiles took a step over the same steps."""
    run = Run(config, **images, client=client)
    elapsed, sent, in_tiles = [], [], []
    for step in run:
        elapsed.append(step.elapsed)
        sent.append(psutil.net_io_counters(pernic=True)["lo"].bytes_sent)
        in_tiles.append(sum(clock.seconds.values()) if clock else 0.0)
    run.complete()
    steps = len(elapsed) - 2  # the first warms up; the last is the final evaluation
    found = ((elapsed[-2] - elapsed[0]) / steps, (sent[-2] - sent[0]) / steps)
    return (*found, (in_tiles[-2] - in_tiles[0]) / steps) if clock else found


def predicted_bytes(config: Config, workers: int, size: int | None = None,
                    crops: bool = False) -> float:
    """The data a step moves: the image to each worker (``crops``: each tile's input with
    its task instead, which the engine does not do); per tile of pass 1 its statistics'
    parts back; per tile of pass 2 the slopes out and its input's gradient back (float32)."""
    from napari_neural_style.core.vgg_layers import BLOCK_CHANNELS, layer

    size = size or config.size
    tiling = tiling_for(config, size, size)
    statistics = sum(BLOCK_CHANNELS[layer(name).pools_before] ** 2
                     for name in config.style_layers) + len(config.content_layers)
    forward, backward = tiling.forward_only().tiles(size, size), tiling.tiles(size, size)
    gradients = sum(3 * _input_pixels(tile) for tile in backward)
    image = sum(3 * _input_pixels(tile) for tile in forward + backward) if crops else \
        workers * 3 * size**2
    return 4 * (image + (len(forward) + len(backward)) * statistics + gradients)


def tiles(args: argparse.Namespace) -> None:
    content = load_sample("astronaut")
    images = {"content": content[:args.tile_size, :args.tile_size], "style": load_sample("coffee")}
    config = replace(Config.for_task("transfer"), size=args.tile_size, tile=args.tile,
                     steps=args.tile_steps, weights="random-single", device="cpu",
                     init="content", scales=(1.0,), precision="fp32", tolerance=0.0)
    cores = os.cpu_count() or 1
    found, clock = {}, TileClock()
    for threads in (1, cores):
        torch.set_num_threads(threads)
        if threads == 1:
            with clock.watching():
                seconds, moved, in_tiles = tiled_step(config, images, clock=clock)
            found["in this process, 1 thread(s)"] = seconds, moved
        else:
            found[f"in this process, {threads} thread(s)"] = tiled_step(config, images)
    model = step_model(config, clock, seconds - in_tiles)
    torch.set_num_threads(1)  # this process only adds and steps
    for workers in (1, 2):
        with dask.config.set(KEEP_REPLICAS), distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None) as cluster, \
                distributed.Client(cluster, set_as_default=False,
                                   direct_to_workers=args.direct) as client:
            found[f"{workers} worker(s)"] = tiled_step(config, images, client)
            found[f"{workers} worker(s)"] += (predicted_bytes(config, workers),
                                              model.seconds(config, config.size, workers))
    base = found["in this process, 1 thread(s)"][0]
    say(f"tiled step, {args.tile_size} px, tile {args.tile} "
        f"({tiling_for(config, config.size, config.size)}); the model's terms: {model}")
    for name, (seconds, moved, *model_says) in found.items():
        said = f"; {moved / 2**20:.1f} MB moved a step, the model's data " \
            f"{model_says[0] / 2**20:.1f} MB ({moved / model_says[0]:.2f}x); the model's " \
            f"step {model_says[1]:.2f} s ({seconds / model_says[1]:.2f}x)" if model_says else ""
        say(f"  {name}: {seconds:.2f} s a step ({seconds / base:.2f}x one thread here){said}")
    if args.model_sizes:
        model_table(model, [int(size) for size in args.model_sizes.split(",")],
                    args.bandwidth * 1e9 / 8, args.gpu_ratio)


def step_model(config: Config, clock: TileClock, client_seconds: float) -> StepModel:
    """The model's terms from the in-process run ``clock`` watched, and the seconds a step
    spent outside its tiles."""
    return StepModel(clock.seconds["tile_parts"] / clock.pixels["tile_parts"],
                     clock.seconds["tile_gradient"] / clock.pixels["tile_gradient"],
                     client_seconds / config.size**2)


def model_table(model: StepModel, sizes: list[int], bandwidth: float, gpu_ratio: float) -> None:
    """The step the model predicts at ``sizes`` on 1-64 workers, each a core of this CPU or
    a GPU ``gpu_ratio`` times faster per tile, the client's link ``bandwidth`` bytes/s."""
    gpu = replace(model, parts_per_pixel=model.parts_per_pixel / gpu_ratio,
                  gradient_per_pixel=model.gradient_per_pixel / gpu_ratio)
    say(f"the model at {bandwidth * 8 / 1e9:g} Gb/s through the scheduler, the seed's layers, "
        "default tiles of 1024 px (2048 px in pass 1); seconds a step (speed-up over 1 worker); "
        "image broadcast / crops sent with the tiles:")
    config = replace(Config.for_task("transfer"), tile=1024, precision="fp32")
    for kind, rates in (("CPU core", model), (f"GPU ({gpu_ratio:g}x a core)", gpu)):
        for size in sizes:
            cells = []
            for workers in (1, 2, 4, 8, 16, 32, 64):
                both = [rates.seconds(config, size, workers, bandwidth, crops)
                        for crops in (False, True)]
                one = [rates.seconds(config, size, 1, bandwidth, crops) for crops in (False, True)]
                cells.append(f"{workers}: {both[0]:.3g} ({one[0] / both[0]:.1f}x) / "
                             f"{both[1]:.3g} ({one[1] / both[1]:.1f}x)")
            say(f"  {kind}, {size} px: " + "; ".join(cells))


PARTS = {"tasks": tasks, "tiles": tiles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="tasks,tiles")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tile-size", type=int, default=768)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--tile-steps", type=int, default=3)
    parser.add_argument("--model-sizes", default="8192,16384,65536",
                        help="tiles: sizes (px) the model's table predicts a step at")
    parser.add_argument("--bandwidth", type=float, default=10.0,
                        help="the client's link in the model's table, Gb/s")
    parser.add_argument("--gpu-ratio", type=float, default=150.0,
                        help="how many times faster than a core a GPU runs a tile in the "
                             "model's table (an H200's 512 px step against this CPU's)")
    parser.add_argument("--direct", action="store_true",
                        help="tiles: the client sends to and gathers from the workers "
                             "directly, not through the scheduler (dask's default)")
    args = parser.parse_args()
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
