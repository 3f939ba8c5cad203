"""The engine on a CUDA device, checked against the same runs on the CPU.

Skipped where CUDA is missing (CI, this project's machines); run them wherever a GPU is at
hand: ``python -m pytest tests/core/test_gpu.py`` (docs/performance.md, "GPU").  They cover
what only a GPU takes: float32 kept as float32 (cuDNN's TF32 off), bf16 and fp16 autocast,
CUDA's memory statistics, batched sweeps, and every input moved onto the device (masks,
colour bases, warm starts).
"""

from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers import fail_evaluation, stop_when
from napari_neural_style.core.config import Config
from napari_neural_style.core.device import cuda_has_bf16
from napari_neural_style.core.errors import OutOfMemory
from napari_neural_style.core.frame_settings import FrameSettings
from napari_neural_style.core.frames import FrameRun
from napari_neural_style.core.samples import moving_sample
from napari_neural_style.core.sweeps import Sweep
from napari_neural_style.core.tasks import Run, synthesize_texture, transfer

GPU = "cuda"
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SEED_RUN = {"weights": "random-single", "size": 64, "init": "content", "precision": "fp32"}


def _first_losses(device: str, photo, texture) -> dict:
    run = Run(Config.for_task("transfer", steps=1, device=device, **SEED_RUN), photo, texture)
    return next(iter(run)).losses.record(0)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_float32_losses_on_cuda_equal_the_cpu_ones(photo, texture):
    """cuDNN would run float32 convolutions in TF32 (10 mantissa bits, ~1e-3 relative) unless
    told not to: fp32 must mean float32."""
    cpu, gpu = _first_losses("cpu", photo, texture), _first_losses(GPU, photo, texture)
    pairs = [(cpu["content"], gpu["content"]),
             *((cpu["style"][name], gpu["style"][name]) for name in cpu["style"])]
    for on_cpu, on_gpu in pairs:
        assert on_gpu == pytest.approx(on_cpu, rel=1e-4)
    assert not torch.backends.cudnn.allow_tf32


def test_a_float32_transfer_on_cuda_follows_the_cpu_run(photo, texture):
    config = Config.for_task("transfer", steps=20, scales=(1.0,), **SEED_RUN)
    cpu = Run(config, photo, texture).complete()
    gpu = Run(replace(config, device=GPU), photo, texture).complete()
    assert gpu.device.startswith("cuda") and gpu.precision == "fp32"
    assert gpu.image.dtype == np.float32 and gpu.image.shape == cpu.image.shape
    assert gpu.history[-1]["total"] == pytest.approx(cpu.history[-1]["total"], rel=0.05)
    assert _psnr(gpu.image, cpu.image) > 20  # L-BFGS makes last bits grow: 26.4 dB seen
    assert gpu.peak_memory["of"] == "CUDA memory allocated by this run"
    assert gpu.peak_memory["mb"] > 0


@pytest.mark.parametrize("precision", ["auto", "fp16"])
def test_auto_and_fp16_precision_on_cuda_lower_the_loss(photo, texture, precision):
    common = {**SEED_RUN, "size": 128, "steps": 40, "device": GPU, "scales": (1.0,)}
    full = transfer(photo, texture, **common)
    half = transfer(photo, texture, **{**common, "precision": precision})
    expected = {"fp16": "fp16", "auto": "bf16" if cuda_has_bf16(torch.device(GPU)) else "fp32"}
    assert half.precision == expected[precision]
    assert np.isfinite(half.image).all()
    assert half.history[-1]["total"] < half.history[0]["total"] / 2
    if half.precision != "fp16":
        assert half.history[-1]["total"] == pytest.approx(full.history[-1]["total"], rel=0.1)


def test_lean_memory_on_cuda_gives_the_same_steps_for_less_memory(photo, texture):
    results = {memory: Run(Config.for_task("transfer", steps=3, scales=(1.0,), device=GPU,
                                           memory=memory, **{**SEED_RUN, "size": 256}),
                           photo, texture).complete()
               for memory in ("fast", "lean")}
    fast, lean = results["fast"], results["lean"]
    assert lean.history[0]["total"] == pytest.approx(fast.history[0]["total"], rel=1e-4)
    assert lean.history[-1]["total"] == pytest.approx(fast.history[-1]["total"], rel=1e-2)
    assert lean.peak_memory["mb"] < fast.peak_memory["mb"]


def test_a_sweep_on_cuda_runs_as_one_batch_like_runs_alone(photo, texture):
    base = Config.for_task("transfer", steps=10, scales=(1.0,), device=GPU, **SEED_RUN)
    sweep = Sweep(base, "style_weight", [0.5, 5.0], content=photo, style=texture)
    list(sweep)
    assert sweep.groups == [[0, 1]]
    for index, weight in enumerate((0.5, 5.0)):
        alone = Run(replace(base, style_weight=weight), photo, texture).complete()
        batched = sweep.result().results[index]
        assert batched.history[-1]["total"] == pytest.approx(alone.history[-1]["total"],
                                                             rel=0.02)


def test_textures_in_decorrelated_colour_run_on_cuda(texture):
    result = synthesize_texture(texture, "conv_1,conv_3,conv_5", size=64, steps=30,
                                weights="random", device=GPU)
    assert result.provenance()["params"]["parametrization"] == "auto"
    assert result.provenance()["parametrization"] == "decorrelated"
    assert result.history[-1]["total"] < result.history[0]["total"] / 10
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_regions_and_frames_move_their_masks_and_warm_starts_onto_cuda(photo, texture):
    labels = np.ones(photo.shape[:2], np.uint8)
    labels[:, photo.shape[1] // 2:] = 2
    regional = transfer(photo, [texture, photo], "conv_4", "conv_1,conv_3", labels=labels,
                        regions=((1, 0, 1.0), (2, 1, 1.0)), size=48, steps=5, weights="random",
                        device=GPU)
    assert regional.steps_done == 5 and np.isfinite(regional.image).all()
    frames = FrameRun(Config.for_task("transfer", size=48, steps=6, weights="random",
                                      device=GPU, scales=(1.0,)),
                      moving_sample("astronaut", 3, 48), texture, FrameSettings(frame_steps=3))
    list(frames)
    assert frames.stack().shape == (3, 48, 48, 3)
    assert frames.provenance()["frames"]["done"] == [0, 1, 2]


def test_stopping_and_running_out_of_cuda_memory_keep_the_result(photo, texture,
                                                                 monkeypatch):
    config = Config.for_task("transfer", steps=20, device=GPU, **SEED_RUN)
    run = Run(config, photo, texture)
    stop_when(run, lambda step: step.step == 3)
    assert run.result().cancelled and run.result().steps_done == 3

    fail_evaluation(monkeypatch, 4, torch.cuda.OutOfMemoryError("CUDA out of memory."))
    run = Run(config, photo, texture)
    with pytest.raises(OutOfMemory, match="out of memory on cuda"):
        run.complete()
    assert run.result().steps_done == 2 and np.isfinite(run.result().image).all()


def test_a_tiled_cuda_run_sends_its_tiles_to_workers_with_a_gpu(photo, texture):
    """Each tile's task asks for the worker's GPU and runs there; the image goes out and the
    parts and gradients come back on the CPU: the run follows the tiled run here."""
    distributed = pytest.importorskip("distributed")
    config = Config.for_task("transfer", steps=4, scales=(1.0,), tile=32, device=GPU,
                             **SEED_RUN)
    here = Run(config, photo, texture).complete()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  resources={"GPU": 1}, dashboard_address=None) as gpus, \
            distributed.Client(gpus, set_as_default=False) as client:
        there = Run(config, photo, texture, client=client).complete()
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert there.tiling[64]["tiles_ran_on"].startswith("dask cluster")
    assert sum(executed.values()) >= there.tiling[64]["tiles"] * config.steps  # pass 2 alone
    assert there.history[-1]["total"] == pytest.approx(here.history[-1]["total"], rel=1e-3)
