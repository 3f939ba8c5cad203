"""Independent runs (sweep values, frames styled on their own) as tasks on a dask cluster.

``connect("local")`` (or ``"local:N"``, or a scheduler's address such as
``tcp://host:8786``) gives a ``distributed.Client``; :func:`run_tasks` sends each
``(config, images)`` job as one task and hands results back as they finish
(``as_completed``).  Each array is scattered once, however many jobs share it.  On every
worker process the :class:`WorkerWeights` plugin caches the weights, so the network is loaded once
per process and never pickled per task, and keeps torch to one thread per task: a worker runs
as many tasks at once as it has threads (dask's meaning of ``nthreads``), each on one core
(two torch processes each spinning every core make each other's steps several times
slower).  A task asks for a ``GPU`` resource when its device is CUDA.

Stopping sets a ``distributed.Event``: tasks not yet started end at once, running ones after
their current step (they look every :data:`STOP_CHECK_SECONDS`), and their results so far
come back, cancelled.  A worker that dies mid-task: the scheduler runs its tasks on another
worker (up to ``distributed.scheduler.allowed-failures`` times).  Each result says where it ran
(``Result.ran_on``).

dask.distributed is an optional dependency (the ``cluster`` extra): nothing imports this module
until a cluster is asked for (``config.cluster_backend`` says how to install it if it is
missing), and it imports torch only on the workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

import dask
import distributed
import numpy as np

from .config import Config
from .device import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, glibc
from .errors import ClusterError

PLUGIN_NAME = "napari-neural-style"
#: how often a running task asks whether it was stopped (each ask is a message to the
#: scheduler, too many for every small step)
STOP_CHECK_SECONDS = 0.5
#: how often :func:`run_tasks` hands control back while no task finishes
HEARTBEAT_SECONDS = 0.25
#: how long Stop waits for running tasks to hand back their results so far
STOP_WAIT_SECONDS = 60.0
#: the scheduler's setting that keeps every copy of data sent to every worker: its active
#: memory manager otherwise drops all but one between a tiled run's steps (each step then
#: fetches the network and targets again) and a worker's death can take the last one
KEEP_REPLICAS = {"distributed.scheduler.active-memory-manager.start": False}


def local_workers(address: str) -> int | None:
    """The number of worker processes ``local`` or ``local:N`` asks for (``local``: one per
    core); None for a scheduler's address."""
    kind, _, count = address.partition(":")
    if kind != "local":
        return None
    if not count:
        return os.cpu_count() or 1
    if not count.isdigit() or int(count) < 1:
        raise ClusterError(f"bad cluster {address!r}: write local:N, N a whole number >= 1")
    return int(count)


def connect(address: str, timeout: float = 10.0):
    """A ``distributed.Client`` for ``address`` (``config.CLUSTER_HELP``); a scheduler that
    cannot be reached in ``timeout`` seconds is a one-line :class:`ClusterError`."""
    workers = local_workers(address)
    if workers is not None:
        # a failed task comes back to the caller as its own error: the workers' log of it
        # (a traceback per task) would only bury that one line
        with dask.config.set(KEEP_REPLICAS):
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                               processes=True, silence_logs=logging.CRITICAL)
        return distributed.Client(cluster, set_as_default=False)
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach a dask scheduler at {address!r} ({error}); start "
                           "one (dask scheduler) or give local") from None


def close(client) -> None:
    """Close ``client`` and the local cluster it started, if any."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


@contextlib.contextmanager
def connected(address: str, timeout: float = 10.0) -> Iterator:
    """:func:`connect` for a ``with`` block, closed (with its local cluster) after."""
    client = connect(address, timeout)
    try:
        yield client
    finally:
        close(client)


_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def shared_client(address: str):
    """One client per address for this process (napari's widgets): a local cluster starts
    once and serves every run; a closed one is opened again."""
    with _clients_lock:
        client = _clients.get(address)
        if client is None or client.status not in ("running", "connecting"):
            client = _clients[address] = connect(address)
        return client


def describe(client) -> str:
    """``N workers, M threads`` and the dashboard's address, for the user."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    threads = sum(worker["nthreads"] for worker in workers)
    link = f"; dashboard {client.dashboard_link}" if client.dashboard_link else ""
    return f"{len(workers)} workers, {threads} threads{link}"


class WorkerWeights(distributed.WorkerPlugin):
    """On every worker process: torch on one thread per task, and the weights of every run
    resolved once."""

    idempotent = True  # registered again by every run: keep the first and its cache
    name = PLUGIN_NAME

    def setup(self, worker) -> None:
        import torch

        torch.set_num_threads(1)
        _roomy_malloc()
        self._weights: dict = {}
        self._lock = threading.Lock()

    def teardown(self, worker) -> None:
        self._weights.clear()

    def weights(self, config: Config):
        """The weights ``config`` asks for, resolved on this worker's first run of them."""
        from .weights import resolve_weights

        key = (str(config.weights), config.weights_format)
        with self._lock:
            if key not in self._weights:
                self._weights[key] = resolve_weights(config.weights,
                                                     weights_format=config.weights_format)
            return self._weights[key]


#: the values a worker gets of glibc's ``M_TRIM_THRESHOLD`` and ``M_MMAP_THRESHOLD`` (freed
#: memory given back to the system only above the first, blocks below the second from the heap)
TRIM_BYTES, MMAP_BYTES = 128 << 20, 32 << 20


def _roomy_malloc() -> None:
    """Undo dask's ``MALLOC_TRIM_THRESHOLD_=65536`` on its workers, for this process.

    The nanny sets it so that workers give freed memory back; it also freezes glibc's mmap
    threshold at its default, so every feature map is a fresh ``mmap`` whose pages fault in
    anew at every step, which slows every step (docs/performance.md).  Not glibc: nothing
    to do.
    """
    if (library := glibc()) is not None:
        library.mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)
        library.mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)


def run_task(config: Config, images: dict, stop_name: str, photographed: tuple[int, ...],
             index: int = 0):
    """On a worker: ``config`` run on ``images`` (:class:`~.run_inputs.RunInputs`) to the end
    or until stopped; its result (``ran_on`` this worker) and the images after the
    ``photographed`` steps.  ``(None, {})`` when stopped before it started.  Every
    :data:`STOP_CHECK_SECONDS` it says its step (``{"index", "step", "total"}`` under the
    topic ``stop_name``) and looks whether it was stopped."""
    from .batch import BatchRun
    from .run_inputs import RunInputs
    from .sweeps import photographs

    worker = distributed.get_worker()
    stop = distributed.Event(stop_name)
    if stop.is_set():
        return None, {}
    run = BatchRun([config], RunInputs(**images),
                   weights=worker.plugins[PLUGIN_NAME].weights(config))
    snapshots: dict[int, np.ndarray] = {}
    batches = iter(run)
    checked = time.monotonic()
    for batch in photographs(batches, photographed, snapshots):
        if time.monotonic() - checked >= STOP_CHECK_SECONDS:
            checked = time.monotonic()
            worker.log_event(stop_name, {"index": index, "step": batch[0].step,
                                         "total": batch[0].total})
            if stop.is_set():
                break
    batches.close()
    ran_on = f"{worker.address} ({socket.gethostname()})"
    return replace(run.results()[0], ran_on=ran_on), snapshots


def run_tasks(client, jobs: list[tuple[Config, dict]],
              keep: Callable[[int, object, dict], None],
              photographed: tuple[int, ...] = (),
              running: dict[int, tuple[int, int]] | None = None) -> Iterator[int | None]:
    """Each ``(config, images)`` of ``jobs`` as one task on ``client``'s cluster; as each
    finishes, ``keep(index, result, snapshots)``, then yield its index (``None`` every
    :data:`HEARTBEAT_SECONDS` while none does, so a caller can stop).  ``running``, if given,
    follows the tasks under way: index -> ``(step, total)``, as they last said.  Closing the
    iterator (or a failed task) stops the others and keeps what they had done."""
    client.register_plugin(WorkerWeights(), name=PLUGIN_NAME)
    stop = distributed.Event(f"{PLUGIN_NAME}-stop-{uuid.uuid4().hex}", client=client)
    running = {} if running is None else running
    client.subscribe_topic(stop.name, lambda event: running.__setitem__(
        event[1]["index"], (event[1]["step"], event[1]["total"])))
    # held until the end: data the client lets go of is forgotten once no task needs it,
    # and a task that must run again (its worker died) needs it again
    resources = [task_resources(client, config.device) for config, _ in jobs]
    scattered = _scattered(client, jobs)
    futures = {client.submit(run_task, config, images, stop.name, photographed, index,
                             pure=False, key=f"{config.task}-{index}-{uuid.uuid4().hex}",
                             resources=resources[index]): index
               for index, (config, images) in enumerate(scattered)}
    pending = set(futures)
    try:
        while pending:
            with client.as_current():
                try:
                    done, pending = distributed.wait(pending, timeout=HEARTBEAT_SECONDS,
                                                     return_when="FIRST_COMPLETED")
                except TimeoutError:
                    yield None
                    continue
            for future in done:
                running.pop(futures[future], None)
                keep(futures[future], *_outcome(future, futures[future]))
                yield futures[future]
    finally:
        client.unsubscribe_topic(stop.name)
        _stop(client, stop, list(pending), lambda future, found: keep(futures[future], *found))
        del scattered


def _outcome(future, index: int) -> tuple:
    """A finished task's ``(result, snapshots)``; its own error if it raised one, and a
    :class:`ClusterError` saying so if the cluster lost it."""
    try:
        return future.result()
    except (distributed.KilledWorker, distributed.client.FutureCancelledError) as error:
        raise lost_task(error, f"run {index + 1}", "the runs finished before are kept") \
            from None


def lost_task(error: BaseException, what: str, kept: str) -> ClusterError:
    """The line for a task (``what``) the cluster lost, ``kept`` saying what is not lost:
    its workers died running it (``KilledWorker``), or it was cancelled."""
    if isinstance(error, distributed.KilledWorker):
        return ClusterError(f"{what} was tried on {1 + _allowed_failures()} workers and each "
                            "died running it (out of memory? give workers more memory, or run "
                            f"smaller); {kept}")
    return ClusterError(f"the cluster lost {what} ({error}); {kept}")


def _allowed_failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures"))


def _stop(client, stop, running: list, keep: Callable) -> None:
    """Tell ``running`` tasks to stop; keep the results so far of those that hand one back in
    :data:`STOP_WAIT_SECONDS`; cancel the rest."""
    if not running:
        return
    stop.set()
    with client.as_current(), contextlib.suppress(TimeoutError):
        distributed.wait(running, timeout=STOP_WAIT_SECONDS)
    for future in running:
        found = future.result() if future.status == "finished" else (None, {})
        if found[0] is not None:
            keep(future, found)
    client.cancel(running)


def gpu_resources(device) -> dict | None:
    """A GPU for a task whose device is CUDA (a worker started with ``--resources GPU=1``)."""
    return {"GPU": 1} if str(device).startswith("cuda") else None


def task_resources(client, device) -> dict | None:
    """:func:`gpu_resources`, once ``client``'s cluster is known to run them: a CUDA task on
    workers none of which has a ``GPU`` would wait for ever, so that is a one-line
    :class:`ClusterError` (a cluster whose workers have yet to join is waited for)."""
    wanted = gpu_resources(device)
    workers = client.scheduler_info().get("workers", {}).values()
    if wanted and workers and not any("GPU" in worker.get("resources", {})
                                      for worker in workers):
        raise ClusterError(f"a run on {device} needs workers with a GPU, and none of the "
                           f"cluster's {len(workers)} has one: start each with `dask worker "
                           "<scheduler> --nthreads 1 --resources GPU=1` on a GPU's machine, or "
                           "run on the CPU (--device cpu)")
    return wanted


def _scattered(client, jobs: list[tuple[Config, dict]]) -> list[tuple[Config, dict]]:
    """``jobs`` with each array (alone or in a list) replaced by its future on the cluster,
    scattered once however many jobs share it, to every worker: scattered data has no
    recipe to make it again, so a copy must outlive any one worker."""
    futures: dict[int, object] = {}

    def put(value):
        if isinstance(value, np.ndarray):
            if id(value) not in futures:
                futures[id(value)] = client.scatter(value, hash=False, broadcast=True)
            return futures[id(value)]
        if isinstance(value, list | tuple):
            return [put(item) for item in value]
        return value

    return [(config, {role: put(value) for role, value in images.items()})
            for config, images in jobs]
