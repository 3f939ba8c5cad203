import numpy as np
import pytest
import torch

from helpers import in_python, stop_when
from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import DeviceError, InputError
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.tasks import Run, reconstruct, synthesize_texture, transfer

FAST = {"weights": "random", "device": "cpu"}


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2))


def test_reconstruction_from_conv_1_is_near_exact(photo):
    result = reconstruct(photo, "conv_1", size=64, steps=150, **FAST)
    original = to_numpy(to_tensor(photo, 64))
    assert result.image.shape == original.shape
    assert _psnr(result.image, original) > 40
    assert result.history[-1]["content"] < result.history[0]["content"]


def test_texture_synthesis_lowers_gram_loss_a_hundredfold(texture):
    result = synthesize_texture(texture, "conv_1,conv_2", size=64, steps=100, **FAST)
    first, last = result.history[0], result.history[-1]
    assert set(last["style"]) == {"conv_1", "conv_2"}
    assert first["total"] / last["total"] > 100
    assert result.image.shape == (43, 64, 3)  # the texture source's working shape


def test_transfer_moves_both_losses_down(photo, texture):
    result = transfer(photo, texture, size=48, steps=40, init="noise", **FAST)
    first, last = result.history[0], result.history[-1]
    assert last["content"] < first["content"]
    assert sum(last["style"].values()) < sum(first["style"].values())
    assert result.steps_done == 40 and len(result.history) == 41
    assert result.config.content_layers == ("conv_9",)
    assert result.config.style_layers == ("conv_2", "conv_4", "conv_8", "conv_16")


def test_same_seed_same_bits_other_seed_other_result(photo):
    a = reconstruct(photo, "conv_4", size=32, steps=5, seed=1, **FAST).image
    b = reconstruct(photo, "conv_4", size=32, steps=5, seed=1, **FAST).image
    c = reconstruct(photo, "conv_4", size=32, steps=5, seed=2, **FAST).image
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_adam_and_avg_pooling_also_optimize(photo):
    result = reconstruct(photo, "conv_4", size=32, steps=20, optimizer="adam", pooling="avg",
                         **FAST)
    assert result.history[-1]["total"] < result.history[0]["total"]


def test_lbfgs_runs_every_step_asked_even_when_loss_is_tiny(photo):
    # the solver never stops by itself; only a tolerance (here none) ends a run early
    result = reconstruct(photo, "conv_1", size=32, steps=300, tolerance=0.0, **FAST)
    assert result.steps_done == 300
    assert result.history[-1]["total"] < 1e-6


def test_cancelling_keeps_the_partial_result(photo, texture):
    content, style = photo.copy(), texture.copy()
    run = Run(Config("transfer", "conv_9", "conv_2,conv_4", steps=50, size=48, init="content",
                     **FAST), content=content, style=style)
    stop_when(run, lambda step: step.step == 3)
    result = run.result()
    assert result.cancelled and result.steps_done == 3
    assert result.image.shape == (48, 48, 3)
    np.testing.assert_array_equal(content, photo)
    np.testing.assert_array_equal(style, texture)


def test_provenance_carries_everything(photo):
    result = reconstruct(photo, "conv2_2", size=32, steps=2, **FAST)
    record = result.provenance(full_history=False)
    assert record["task"] == "reconstruct" and record["params"]["content_layers"] == ("conv_4",)
    assert record["weights"]["source"] == "random" and len(record["weights"]["sha256"]) == 64
    assert [entry["step"] for entry in record["history"]] == [0, 2]
    assert record["device"] == "cpu" and not record["cancelled"]
    assert "torch" in record["versions"]


def test_bad_inputs_are_refused_before_any_work(photo):
    config = Config("transfer", "conv_9", "conv_16", size=24, **FAST)
    with pytest.raises(InputError, match="at least 32 px"):
        Run(config, content=photo, style=photo)
    nan_image = photo.astype(np.float32)
    nan_image[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        Run(Config("reconstruct", "conv_1", size=32, **FAST), content=nan_image)
    with pytest.raises(InputError, match="needs a style image"):
        Run(Config("texture", style_layers="conv_1", **FAST), content=photo)


def test_missing_device_is_a_clear_error(photo):
    run = Run(Config("reconstruct", "conv_1", size=32, weights="random", device="cuda:7"),
              content=photo)
    with pytest.raises(DeviceError, match="cuda:7"):
        next(iter(run))


def test_images_already_at_working_size_optimize_too(photo):
    # no resize: the tensor comes straight from the HxWxC array
    result = transfer(photo, photo, size=photo.shape[0], steps=2, **FAST)
    assert result.image.shape == photo.shape


def test_coarse_to_fine_runs_each_scale_and_ends_at_full_size(photo):
    from napari_neural_style.core.geometry import auto_scales

    # 8 steps a scale: L-BFGS without a line search may still jump up in its first few
    # float32 whatever "auto" measures here, so that the steps are the same on every run
    run = Run(Config("transfer", "conv_4", "conv_2,conv_4", size=64, steps=8,
                     scales=(0.5, 1.0), init="noise", **{**FAST, "precision": "fp32"}),
              content=photo, style=photo)
    seen = [(step.step, tuple(step.pixels.shape[-2:])) for step in run]
    result = run.result()
    assert seen[0] == (0, (32, 32)) and seen[-1] == (16, (64, 64))
    assert [step for step, _ in seen] == list(range(17))
    assert result.image.shape == (64, 64, 3) and result.steps_done == 16
    assert [record["size"] for record in result.history] == [32] * 9 + [64] * 8
    assert result.history[-1]["total"] < result.history[8]["total"]  # falling at full size
    assert auto_scales(256) == (1.0,) and auto_scales(512) == (0.5, 1.0)
    assert auto_scales(2048) == (0.125, 0.25, 0.5, 1.0)
    assert result.provenance()["scale_sizes"] == [32, 64]
    fewer = Run(Config("reconstruct", "conv_4", size=64, steps=5, coarse_steps=2,
                       scales=(0.5, 1.0), **FAST), content=photo).complete()
    assert fewer.steps_done == 7 and [r["size"] for r in fewer.history] == [32] * 3 + [64] * 5
    # a scale too small for the deepest layer is skipped
    assert Run(Config("transfer", "conv_9", "conv_16", size=48, scales=(0.25, 1.0), **FAST),
               content=photo, style=photo).scale_sizes() == (48,)


def test_a_run_from_the_content_image_takes_a_third_of_its_steps_at_coarse_scales(photo,
                                                                                  texture):
    from dataclasses import replace

    config = Config("transfer", "conv_4", "conv_2,conv_4", size=64, steps=9,
                    scales=(0.5, 1.0), **FAST)
    assert config.init == "content" and [config.steps_at(i, 2) for i in (0, 1)] == [3, 9]
    assert replace(config, coarse_steps=5).steps_at(0, 2) == 5  # said: as said
    assert replace(config, init="noise").steps_at(0, 2) == 9  # from noise: all of them
    result = Run(config, content=photo, style=texture).complete()
    assert result.image.shape == (64, 64, 3) and result.steps_done == 12
    assert [record["size"] for record in result.history] == [32] * 4 + [64] * 9
    full_size = result.history[4:]
    assert full_size[-1]["total"] < full_size[0]["total"]  # falling at full size


def test_auto_scales_start_at_32_px_for_the_untrained_network_from_noise():
    def sizes(task, **options):
        return Config.for_task(task, size=256, **options).scale_sizes((256, 256))

    assert sizes("reconstruct", weights="random") == (32, 64, 128, 256)
    assert sizes("texture", weights="random:3") == (32, 64, 128, 256)
    assert sizes("transfer", weights="random", init="noise") == (32, 64, 128, 256)
    # from an image, 0.1's untrained network and trained weights: as before
    assert sizes("transfer", weights="random") == (256,)
    assert sizes("texture", weights="random", init="style") == (256,)
    assert sizes("reconstruct", weights="random-kaiming") == (256,)
    assert sizes("texture", weights="random-single:2") == (32, 64, 128, 256)
    assert sizes("reconstruct", weights="imagenet") == (256,)
    # a scale too small for the deepest layer is still left out: conv_16 needs 32 px
    assert Config.for_task("reconstruct", content_layers="conv_16", size=128,
                           weights="random").scale_sizes((64, 128)) == (64, 128)


def test_precision_modes(photo, monkeypatch):
    import torch

    from napari_neural_style.core import device as device_module
    from napari_neural_style.core.device import resolve_precision

    for precision in ("fp32", "bf16"):
        result = reconstruct(photo, "conv_4", size=32, steps=5, precision=precision,
                             weights="random", device="cpu")
        assert result.precision == precision and result.image.shape == (32, 32, 3)
        assert result.history[-1]["total"] < result.history[0]["total"]
    with pytest.raises(DeviceError, match="fp16 is for CUDA"):
        resolve_precision("fp16", torch.device("cpu"))
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) is None
    assert resolve_precision("auto", torch.device("mps")) is None
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) is torch.bfloat16
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    assert resolve_precision("auto", torch.device("cuda")) is torch.bfloat16
    # a V100 or T4: torch.cuda.is_bf16_supported() says yes (emulated), auto keeps float32
    # (fp16 ends worse, device.resolve_precision)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_, **__: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert resolve_precision("auto", torch.device("cuda")) is None


def test_stopping_at_a_coarse_scale_gives_a_full_size_result(photo):
    run = Run(Config("transfer", "conv_4", "conv_2", size=64, steps=5, scales=(0.5, 1.0),
                     **FAST), content=photo, style=photo)
    stop_when(run, lambda step: step.step == 2)
    result = run.result()
    assert result.cancelled and result.image.shape == (64, 64, 3)
    assert result.quality["content_error"] and result.steps_done == 2


def test_coarse_to_fine_from_the_content_carries_over_only_the_change(photo):
    import torch

    from napari_neural_style.core.images import resize
    from napari_neural_style.core.starts import next_start

    content = to_tensor(photo, 64)
    coarse_content = resize(content, (32, 32))
    change = torch.zeros_like(coarse_content)
    change[..., 8:16, 8:16] = 0.25
    from_content = Config("transfer", "conv_4", "conv_2", init="content", **FAST)
    start = next_start(from_content, coarse_content + change, (64, 64), coarse_content,
                       content)
    # an untouched coarse image starts the fine scale at the content itself, detail and all
    assert torch.allclose(start - content, resize(change, (64, 64)), atol=1e-6)
    from_noise = Config("transfer", "conv_4", "conv_2", init="noise", **FAST)
    assert torch.equal(next_start(from_noise, coarse_content, (64, 64), coarse_content, content),
                       resize(coarse_content, (64, 64)))


@pytest.mark.slow
def test_a_run_left_open_at_exit_ends_quietly():
    script = (
        "import numpy as np\n"
        "from napari_neural_style.core.config import Config\n"
        "from napari_neural_style.core.tasks import Run\n"
        "image = np.random.rand(64, 64, 3).astype(np.float32)\n"
        "steps = iter(Run(Config('transfer', 'conv_4', 'conv_2', size=64, steps=50,\n"
        "                        weights='random', device='cpu'), content=image, style=image))\n"
        "next(steps); next(steps)\n"
    )
    completed = in_python(script)
    assert "Exception ignored" not in completed.stderr and "Error" not in completed.stderr


def test_lean_memory_follows_the_same_path(photo):
    runs = {memory: transfer(photo, photo, "conv_4", "conv_2,conv_4", size=48, steps=4,
                             memory=memory, init="noise", **FAST)
            for memory in ("fast", "lean")}
    fast, lean = (np.array([record["total"] for record in runs[memory].history])
                  for memory in ("fast", "lean"))
    assert np.allclose(fast, lean, rtol=1e-3) and fast[-1] < fast[0]
    assert runs["lean"].provenance()["params"]["memory"] == "lean"
    auto = Config("transfer", "conv_4", "conv_2", **FAST)
    assert not auto.recomputes_at(1024) and auto.recomputes_at(2048)
    assert Config("transfer", "conv_4", "conv_2", memory="lean", **FAST).recomputes_at(64)
    assert not Config("transfer", "conv_4", "conv_2", memory="fast", **FAST).recomputes_at(4096)


def test_lean_memory_keeps_less_for_the_backward_pass(photo):
    """What autograd keeps outside the recomputed blocks: their inputs, the taps and what the
    losses keep (a refactor once dropped the switch, and lean ran as fast did)."""
    kept = {}
    for memory in ("fast", "lean"):
        sizes = []

        def pack(tensor, sizes=sizes):
            sizes.append(tensor.numel() * tensor.element_size())
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            transfer(photo, photo, "conv_4", "conv_2,conv_4", size=48, steps=2, memory=memory,
                     init="noise", **FAST)
        kept[memory] = sum(sizes)
    assert kept["lean"] < 0.6 * kept["fast"], kept
