"""Runs as tasks on a dask cluster against runs in this process, measured side by side.

1. Per-task overhead: a 64 px, 20-step transfer (random weights, CPU, one torch thread), run
   ``--tasks`` times one after another in this process, then as ``--tasks`` tasks on a
   LocalCluster of one single-threaded worker (after one warm-up task fills the worker's
   weights cache): cluster / in-process time per run.  Goal: <= 1.10.
2. Throughput on this machine's cores: the same ``--tasks`` runs as a seed sweep, in this
   process with torch on every core, against a LocalCluster of one single-threaded worker
   per core: in-process / cluster wall time (above 1: the cluster is faster).

The in-process parts run before any worker process starts, so no two torch processes compete.

    python benchmarks/cluster.py [--tasks 8] [--size 64] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import distributed
import torch

from common import say
from napari_neural_style.core.config import Config
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
