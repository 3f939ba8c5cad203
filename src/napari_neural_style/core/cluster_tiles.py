"""The tiles of each step as tasks on a dask cluster (:class:`ClusterTiledObjective`).

The optimizer's state and the sums stay here; a step sends the image to every worker once
and each tile as a task, twice: pass 1 brings back each tile's parts of the statistics
(matrices of channels by channels), pass 2, sent with the loss's slopes with respect to
them, each tile's gradient (its input's pixels, halo included). The objective (the network,
the content's targets, the style's) goes to every worker once per scale, on the run's
device: a CUDA run's tiles ask for a ``GPU`` resource (workers started with ``--resources
GPU=1``, one tile on each GPU at a time) and run on the worker's GPU; the image travels on
the CPU, and the parts and gradients come back on it. Everything is sent to every worker:
scattered data has no recipe to make it again, so a copy must outlive any one worker, whose
tiles the scheduler then runs on another (up to ``distributed.scheduler.allowed-failures``
times).

Like :mod:`.cluster`, imported only when a cluster is asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import distributed
import torch

from .cluster import PLUGIN_NAME, WorkerWeights, lost_task, task_resources
from .objective import Objective
from .tile_grid import Tile, Tiling
from .tiling import TiledObjective, moved

#: how often (seconds) Stop is looked at while a tile's task is awaited
STOP_POLL = 0.25


class ClusterTiledObjective(TiledObjective):
    """:class:`~.tiling.TiledObjective` whose tiles run on ``client``'s workers, each with
    one torch thread: the same loss and gradient, bit for bit, as the tiles run here in a
    process with one torch thread (the tiles' parts and gradients are added here, in the
    tiles' order).  Stop is heard while a tile is awaited."""

    def __init__(self, objective: Objective, tiling: Tiling, client, stop=None):
        super().__init__(objective, tiling, stop)
        self.client = client
        self._on_workers = None  # a TiledObjective on every worker, sent at the first step
        self._resources = None  # what each tile's task asks a worker for
        self._sent: tuple[torch.Tensor, object] | None = None  # the image, and its future

    def _map(self, work: str, image: torch.Tensor, tiles: list[Tile], *args) -> Iterator:
        if self._on_workers is None:
            self._resources = task_resources(self.client, self.device)
            self.client.register_plugin(WorkerWeights(), name=PLUGIN_NAME)
            self._on_workers = self.client.scatter(TiledObjective(self.objective, self.tiling),
                                                   broadcast=True, hash=False)
        if self._sent is None or self._sent[0] is not image:  # both passes of a step read it
            self._sent = image, self.client.scatter(Pickled(image.cpu()), broadcast=True,
                                                    hash=False)
        futures = [self.client.submit(_tile_work, self._on_workers, self._sent[1], tile, work,
                                      Pickled(args), pure=False,
                                      resources=self._resources) for tile in tiles]
        try:
            for number, future in enumerate(futures):
                self._await(future)
                yield moved(_result(future, number, len(futures)), self.device)
        finally:
            self.client.cancel(futures)

    def _await(self, future) -> None:
        """Wait until ``future`` is settled, Stop heard every :data:`STOP_POLL` seconds."""
        settled = threading.Event()
        future.add_done_callback(lambda _: settled.set())
        self.check_stop()
        while not settled.wait(STOP_POLL):
            self.check_stop()


class Pickled:
    """A value that crosses to or from a worker pickled whole: dask's own serializer of a
    tensor goes through numpy, which has no bfloat16 (the parts of a bf16 run)."""

    def __init__(self, value):
        self.value = value


def _tile_work(tiled: TiledObjective, image: Pickled, tile: Tile, work: str,
               args: Pickled) -> Pickled:
    """On a worker: ``tiled.<work>(image, tile, *args)``, back on the CPU."""
    return Pickled(moved(getattr(tiled, work)(image.value, tile, *args.value), "cpu"))


def _result(future, number: int, count: int):
    """A tile task's result; a :class:`~.errors.ClusterError` if the cluster lost it."""
    try:
        return future.result().value
    except (distributed.KilledWorker, distributed.client.FutureCancelledError) as error:
        raise lost_task(error, f"tile {number + 1} of {count} of a step",
                        "the steps done before are kept") from None
