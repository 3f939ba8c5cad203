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

The in-process parts run before any worker process starts, so no two torch processes compete.

    python benchmarks/cluster.py [--parts tasks,tiles] [--tasks 8] [--size 64] [--steps 20]
        [--tile-size 768 --tile 256 --tile-steps 3 --direct]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

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


def tiled_step(config: Config, images: dict, client=None) -> tuple[float, float]:
    """Seconds a step (from the second on) of a tiled run, and loopback bytes a step."""
    run = Run(config, **images, client=client)
    elapsed, sent = [], []
    for step in run:
        elapsed.append(step.elapsed)
        sent.append(psutil.net_io_counters(pernic=True)["lo"].bytes_sent)
    run.complete()
    steps = len(elapsed) - 2  # the first warms up; the last is the final evaluation
    return (elapsed[-2] - elapsed[0]) / steps, (sent[-2] - sent[0]) / steps


def predicted_bytes(config: Config, workers: int) -> float:
    """The data a step moves: the image to each worker; per tile of pass 1 its statistics'
    parts back; per tile of pass 2 the slopes out and its input's gradient back (float32)."""
    from napari_neural_style.core.vgg_layers import BLOCK_CHANNELS, layer

    tiling = tiling_for(config, config.size, config.size)
    statistics = sum(BLOCK_CHANNELS[layer(name).pools_before] ** 2
                     for name in config.style_layers) + len(config.content_layers)
    gradients = sum(3 * (tile.input_rows.stop - tile.input_rows.start)
                    * (tile.input_cols.stop - tile.input_cols.start)
                    for tile in tiling.tiles(config.size, config.size))
    tiles = len(tiling.forward_only().tiles(config.size, config.size)) + len(
        tiling.tiles(config.size, config.size))
    return 4 * (workers * 3 * config.size**2 + tiles * statistics + gradients)


def tiles(args: argparse.Namespace) -> None:
    content = load_sample("astronaut")
    images = {"content": content[:args.tile_size, :args.tile_size], "style": load_sample("coffee")}
    config = replace(Config.for_task("transfer"), size=args.tile_size, tile=args.tile,
                     steps=args.tile_steps, weights="random-single", device="cpu",
                     init="content", scales=(1.0,), precision="fp32", tolerance=0.0)
    cores = os.cpu_count() or 1
    found = {}
    for threads in (1, cores):
        torch.set_num_threads(threads)
        found[f"in this process, {threads} thread(s)"] = tiled_step(config, images)
    torch.set_num_threads(1)  # this process only adds and steps
    for workers in (1, 2):
        with dask.config.set(KEEP_REPLICAS), distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None) as cluster, \
                distributed.Client(cluster, set_as_default=False,
                                   direct_to_workers=args.direct) as client:
            found[f"{workers} worker(s)"] = tiled_step(config, images, client)
            found[f"{workers} worker(s)"] += (predicted_bytes(config, workers),)
    base = found["in this process, 1 thread(s)"][0]
    say(f"tiled step, {args.tile_size} px, tile {args.tile} "
        f"({tiling_for(config, config.size, config.size)}):")
    for name, (seconds, moved, *model) in found.items():
        said = f"; {moved / 2**20:.1f} MB moved a step, the model's data {model[0] / 2**20:.1f}" \
            f" MB ({moved / model[0]:.2f}x)" if model else ""
        say(f"  {name}: {seconds:.2f} s a step ({seconds / base:.2f}x one thread here){said}")


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
    parser.add_argument("--direct", action="store_true",
                        help="tiles: the client sends to and gathers from the workers "
                             "directly, not through the scheduler (dask's default)")
    args = parser.parse_args()
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
