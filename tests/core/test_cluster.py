"""Sweeps and frames as tasks on a dask cluster (core/cluster.py), on a LocalCluster of two
single-threaded worker processes."""

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace

import dask
import numpy as np
import psutil
import pytest

from napari_neural_style.core.cluster_backend import cluster_backend
from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import ClusterError, InputError, WeightsError
from napari_neural_style.core.frame_settings import FrameSettings
from napari_neural_style.core.frames import FrameRun
from napari_neural_style.core.sweep_spec import SweepSlice, SweepWaiting
from napari_neural_style.core.sweeps import Sweep

distributed = pytest.importorskip("distributed")
cluster = cluster_backend()
KEEP_REPLICAS = cluster.KEEP_REPLICAS

BASE = Config("reconstruct", "conv_2", weights="random", device="cpu", size=48, steps=10,
              precision="fp32", init="noise")
SEEDS = (1, 2, 3, 4)
#: the in-process sweep, in a process with one torch thread as each worker has: CPU
#: convolutions split their sums by thread count, so other counts differ in the last bits
IN_PROCESS = textwrap.dedent("""
    import sys, numpy as np, torch
    torch.set_num_threads(1)
    from napari_neural_style.core.config import Config
    from napari_neural_style.core.sweeps import Sweep
    base = Config("reconstruct", "conv_2", weights="random", device="cpu", size=48,
                  steps=int(sys.argv[3]), precision="fp32", init="noise")
    sweep = Sweep(base, "seed", (1, 2, 3, 4), content=np.load(sys.argv[1]))
    list(sweep)
    np.save(sys.argv[2], sweep.result().stack)
""")

@pytest.fixture(scope="module")
def client():
    with dask.config.set(KEEP_REPLICAS):  # as cluster.connect starts one
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
    with distributed.Client(local, set_as_default=False) as connected:
        yield connected
    local.close()


def in_process(photo, tmp_path, steps: int) -> np.ndarray:
    np.save(tmp_path / "photo.npy", photo)
    subprocess.run([sys.executable, "-c", IN_PROCESS, tmp_path / "photo.npy",
                    tmp_path / "stack.npy", str(steps)], check=True)
    return np.load(tmp_path / "stack.npy")


@pytest.mark.slow
def test_a_sweep_on_the_cluster_equals_the_in_process_sweep(client, photo, tmp_path):
    sweep = Sweep(BASE, "seed", SEEDS, content=photo, client=client)
    events = [event for event in sweep if isinstance(event, SweepSlice)]
    assert sorted(event.index for event in events) == [0, 1, 2, 3]
    result = sweep.result()
    reference = in_process(photo, tmp_path, BASE.steps)
    for index in range(len(SEEDS)):
        assert np.array_equal(result.stack[index], reference[index]), index
    workers = set(client.scheduler_info()["workers"])
    for run in result.results:
        assert run.ran_on.split(" ")[0] in workers and not run.cancelled
        assert run.provenance()["ran_on"] == run.ran_on


@pytest.mark.slow
def test_running_tasks_say_their_steps(client, photo):
    sweep = Sweep(replace(BASE, steps=300), "seed", SEEDS[:2], content=photo, client=client)
    waits = [event for event in sweep if isinstance(event, SweepWaiting)]
    said = [step for wait in waits for step, total in wait.running.values()]
    assert said and all(0 <= step <= 300 for step in said) and max(said) > 0
    assert "values done on the cluster; value " in next(
        wait.describe() for wait in waits if wait.running)


@pytest.mark.slow
def test_stop_keeps_finished_slices_and_stops_the_others(client, photo):
    sweep = Sweep(replace(BASE, steps=400, tolerance=0.0), "seed", SEEDS, content=photo,
                  client=client)
    events = iter(sweep)
    first = next(event for event in events if isinstance(event, SweepSlice))
    events.close()  # Stop: the other worker's run ends at its next look, the rest never start
    result = sweep.result()
    finished = sweep.finished[first.index]
    assert not finished.cancelled and finished.steps_done == 400
    stopped = [run for run in result.results if run.cancelled]
    assert len(result.results) < len(SEEDS) or stopped
    assert all(0 < run.steps_done < 400 for run in stopped)
    assert not client.processing() or not any(client.processing().values())


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_has_its_run_done_elsewhere(client, photo, tmp_path):
    steps = 60
    sweep = Sweep(replace(BASE, steps=steps), "seed", SEEDS, content=photo,
                  client=client)
    events = iter(sweep)
    first = next(event for event in events if isinstance(event, SweepSlice))
    # kill one worker's process mid-run (its nanny starts a new one)
    busy = next(address for address, keys in client.processing().items() if keys)
    psutil.Process(client.run(os.getpid, workers=[busy])[busy]).kill()
    rest = [event for event in events if isinstance(event, SweepSlice)]
    assert sorted([first.index] + [event.index for event in rest]) == [0, 1, 2, 3]
    result = sweep.result()
    assert not result.cancelled
    reference = in_process(photo, tmp_path, steps)
    for index in range(len(SEEDS)):
        assert np.array_equal(result.stack[index], reference[index]), index


@pytest.mark.slow
def test_a_task_that_fails_raises_its_own_error_here(client, photo):
    sweep = Sweep(replace(BASE, weights="/no/such/weights.pth"), "seed", SEEDS, content=photo,
                  client=client)
    with pytest.raises(WeightsError, match="does not exist"):
        list(sweep)
    assert not any(client.processing().values())


@pytest.mark.slow
def test_a_run_whose_workers_keep_dying_is_one_line(photo):
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                     dashboard_address=None) as local, \
            distributed.Client(local, set_as_default=False) as client:
        sweep = Sweep(replace(BASE, steps=300), "seed", (1, 2, 3), content=photo,
                      client=client)
        events = iter(sweep)
        first = next(event for event in events if isinstance(event, SweepWaiting)
                      and event.running)
        assert first.done == 0
        (address,) = client.scheduler_info()["workers"]
        psutil.Process(client.run(os.getpid)[address]).kill()
        with pytest.raises(ClusterError, match=r"each died running it \(out of memory\?"):
            list(events)


@pytest.mark.slow
def test_frames_on_their_own_go_out_as_tasks(client, photo, texture):
    frames = np.stack([photo, np.roll(photo, 4, axis=1), np.roll(photo, 8, axis=1)])
    config = Config("transfer", "conv_4", "conv_1,conv_2", weights="random", device="cpu",
                    size=32, steps=4)
    runs = FrameRun(config, frames, texture, FrameSettings("none"), client=client)
    assert sorted(index for index, step in runs if index is not None) == [0, 1, 2]
    assert runs.done == [0, 1, 2] and runs.stack().shape == (3, 32, 32, 3)
    assert all(result.ran_on for result in runs.results)
    with pytest.raises(InputError, match="temporal 'none'"):
        FrameRun(config, frames, texture, FrameSettings("flow"), client=client)


#: a transfer whose steps go tile by tile: 9 tiles of 32 px (halo 8 for conv_4), and 4 of
#: 64 px in the forward-only pass
TILED = Config("transfer", "conv_4", "conv_2,conv_4", weights="random", device="cpu", size=96,
               steps=6, precision="fp32", init="content", scales=(1.0,), tile=32)


@contextlib.contextmanager
def one_thread():
    """Torch on one thread here, as on each worker: sums split by thread count differ in
    the last bits, and the optimizer's sums over the image run here."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16"])  # bf16 parts cross pickled
def test_a_tiled_run_sends_each_steps_tiles_and_equals_the_tiled_run_here(client, photo,
                                                                           texture, precision):
    from napari_neural_style.core.tasks import Run

    config = replace(TILED, precision=precision)
    with one_thread():
        here = Run(config, photo, texture).complete()
        before = client.run(lambda dask_worker: dask_worker.state.executed_count)
        there = Run(config, photo, texture, client=client).complete()
        after = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert there.tiling[96].pop("tiles_ran_on") == f"dask cluster {client.scheduler.address}"
    here.tiling[96].pop("tiles_ran_on")
    assert there.tiling == here.tiling and there.tiling[96]["tiles"] == 9
    assert np.array_equal(there.image, here.image)
    assert [record["total"] for record in there.history] == \
        [record["total"] for record in here.history]
    # each step's 4 + 9 tiles were tasks, spread over both workers
    assert sum(after.values()) - sum(before.values()) >= 13 * TILED.steps
    assert all(after[address] > before.get(address, 0) for address in after)


@pytest.mark.slow
def test_a_worker_killed_mid_step_costs_a_retry_of_its_tiles_not_the_run(client, photo,
                                                                         texture):
    from napari_neural_style.core.tasks import Run

    config = replace(TILED, steps=12)
    with one_thread():
        here = Run(config, photo, texture).complete()
        run = Run(config, photo, texture, client=client)
        steps = iter(run)
        next(steps)
        killer = threading.Thread(target=_kill_a_busy_worker, args=(client,))
        killer.start()
        list(steps)
        killer.join()
        there = run.result()
    assert not there.cancelled and np.array_equal(there.image, here.image)


@pytest.mark.slow
def test_stop_ends_a_step_whose_tiles_are_on_the_cluster(client, photo, texture):
    """Stop set before a step's tiles come back: their tasks are cancelled, the step is not
    taken, and the steps before it are the result."""
    from helpers import stop_when
    from napari_neural_style.core.tasks import Run

    config = replace(TILED, steps=12)
    with one_thread():
        between = Run(config, photo, texture)
        stop_when(between, lambda step: step.step == 2)
        stop = threading.Event()
        run = Run(config, photo, texture, client=client, stop=stop)
        steps = []
        for step in run:  # not closed: only the event stops it
            steps.append(step.step)
            if step.step == 2:
                stop.set()
        there = run.result()
    assert steps == [0, 1, 2] and there.cancelled and there.steps_done == 2
    assert np.array_equal(there.image, between.result().image)
    assert not any(client.processing().values())


def _kill_a_busy_worker(client) -> None:
    """Kill the process of the first worker seen running a task (its nanny starts another)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            psutil.Process(client.run(os.getpid, workers=busy[:1])[busy[0]]).kill()
            return
        time.sleep(0.01)


@pytest.mark.slow
def test_the_command_line_sends_a_tiled_runs_tiles_to_the_cluster(tmp_path, photo, texture,
                                                                   capsys):
    from napari_neural_style.cli import main
    from napari_neural_style.core.image_files import read_image, write_image

    write_image(tmp_path / "content.png", photo)
    write_image(tmp_path / "style.png", texture)
    command = ["transfer", str(tmp_path / "content.png"), str(tmp_path / "style.png"),
               "--weights", "random", "--size", "96", "--steps", "2", "--tile", "32",
               "--scales", "1", "--precision", "fp32"]
    with one_thread():  # as each worker: the same image, bit for bit
        code = main([*command, "-o", str(tmp_path / "out.tif"), "--dask", "local:2",
                     "--json", str(tmp_path / "out.json")])
        said = capsys.readouterr().err
        assert code == 0, said
        assert main([*command, "-o", str(tmp_path / "here.tif")]) == 0
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["tiling"]["96"]["tiles"] == 9
    assert record["tiling"]["96"]["tiles_ran_on"].startswith("dask cluster tcp://")
    assert "dask cluster local:2: 2 workers" in said
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif"),
                                  read_image(tmp_path / "here.tif"))


@pytest.mark.slow
def test_a_local_cluster_keeps_every_copy_of_what_was_sent_to_every_worker():
    """dask's active memory manager drops all but one copy between a tiled run's steps."""
    with cluster.connected("local:1") as client:
        assert not client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.extensions["amm"].running)


@pytest.mark.slow
def test_a_scheduler_that_cannot_be_reached_is_one_line():
    with pytest.raises(ClusterError, match="cannot reach a dask scheduler at"):
        cluster.connect("tcp://127.0.0.1:1", timeout=1)
    for bad in ("local:0", "local:two"):
        with pytest.raises(ClusterError, match="local:N"):
            cluster.connect(bad)


def test_without_dask_distributed_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    monkeypatch.delitem(sys.modules, "napari_neural_style.core.cluster")
    monkeypatch.delattr(sys.modules["napari_neural_style.core"], "cluster")
    with pytest.raises(ClusterError, match=r"napari-neural-style\[cluster\]"):
        cluster_backend()


def test_a_cuda_run_asks_for_a_gpu_and_a_cpu_run_for_nothing():
    assert cluster.gpu_resources("cuda") == {"GPU": 1}
    assert cluster.gpu_resources("cuda:1") == {"GPU": 1}
    assert cluster.gpu_resources(BASE.device) is None
    assert cluster.gpu_resources("auto") is None


def test_a_cuda_run_on_workers_without_a_gpu_is_one_line_not_a_wait(client):
    """Tasks that ask for a GPU no worker has would wait for ever: the run says so first
    (whole runs and a tiled run's tiles alike); workers started with a GPU take them."""
    import torch

    from napari_neural_style.core.cluster_tiles import ClusterTiledObjective
    from napari_neural_style.core.objective import Objective
    from napari_neural_style.core.tile_grid import Tiling
    from napari_neural_style.core.vgg import VGGEncoder
    from napari_neural_style.core.weights import random_weights

    assert cluster.task_resources(client, "cpu") is None
    with pytest.raises(ClusterError, match=r"none of the cluster's 2 has one.*--resources GPU=1"):
        cluster.task_resources(client, "cuda")
    with pytest.raises(ClusterError, match="needs workers with a GPU"):
        list(cluster.run_tasks(client, [(replace(BASE, device="cuda"), {})], print))
    encoder = VGGEncoder(random_weights(0, "random-single"), ("conv_2",), "avg")
    objective = Objective.from_images(encoder, None, [torch.rand(1, 3, 32, 32)], (),
                                      ("conv_2",))
    tiled = ClusterTiledObjective(objective, Tiling.for_layers(16, ("conv_2",), "avg"), client)
    tiled.device = torch.device("cuda")  # as a run on a GPU: the check comes before any tile
    with pytest.raises(ClusterError, match="needs workers with a GPU"):
        tiled(torch.rand(1, 3, 48, 48))
    with distributed.LocalCluster(n_workers=1, processes=False, resources={"GPU": 1},
                                  dashboard_address=None) as gpus, \
            distributed.Client(gpus, set_as_default=False) as with_gpus:
        assert cluster.task_resources(with_gpus, "cuda:0") == {"GPU": 1}
