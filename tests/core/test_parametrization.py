"""What the optimizer steps in: the pixels, or decorrelated colour (core/parametrization.py)."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.parametrization import RGB, DecorrelatedColour, basis
from napari_neural_style.core.run_inputs import RunInputs
from napari_neural_style.core.tasks import Run

FAST = {"device": "cpu", "precision": "fp32"}


def test_decorrelated_colour_steps_less_in_chroma_than_in_luminance():
    matrix = DecorrelatedColour().matrix
    lengths = torch.linalg.vector_norm(matrix, dim=0)
    assert lengths[0] == pytest.approx(1.0)  # luminance as far as in rgb
    assert (lengths[1:] < 0.3).all()  # 0.28 and 0.13
    # the luminance column moves red, green and blue alike
    assert torch.allclose(matrix[:, 0], matrix[:, 0].mean().expand(3), atol=0.03)


def test_the_variable_gives_the_pixels_back_and_the_gradient_is_the_chain_rule():
    space = DecorrelatedColour()
    pixels = torch.rand(1, 3, 5, 7)
    variable = space.variable(pixels).requires_grad_(True)
    seen = space.pixels(variable)
    assert torch.allclose(seen, pixels, atol=1e-6)
    weights = torch.randn(1, 3, 5, 7)
    (seen * weights).square().sum().backward()
    space.pull_gradient(variable, seen, None)
    # autograd through x = M z, for comparison
    z = variable.detach().clone().requires_grad_(True)
    (torch.einsum("cd,ndhw->nchw", space.matrix, z) * weights).square().sum().backward()
    assert torch.allclose(variable.grad, z.grad, atol=1e-5)


def test_a_pixel_with_a_channel_held_at_a_bound_keeps_its_colour():
    space = DecorrelatedColour()
    pixels = torch.rand(1, 3, 2, 2, requires_grad=True)
    pixels.grad = torch.ones(1, 3, 2, 2)
    held = torch.zeros(1, 3, 2, 2, dtype=torch.bool)
    held[0, 2, 1, 0] = True  # blue of one pixel
    variable = space.variable(pixels.detach())
    space.pull_gradient(variable, pixels, held)
    moved = variable.grad.abs().sum(1)[0]
    assert moved[1, 0] == 0 and (moved.flatten()[[0, 1, 3]] > 0).all()


def test_the_projection_leaves_pixels_in_range_exactly():
    space = DecorrelatedColour()
    variable = space.variable(torch.rand(1, 3, 8, 8) * 3 - 1)
    space.project(variable)
    pixels = space.pixels(variable, bounded=True)
    assert pixels.min() >= 0 and pixels.max() <= 1
    inside = torch.rand(1, 3, 8, 8)
    kept = space.variable(inside)
    space.project(kept)
    assert torch.allclose(space.pixels(kept), inside, atol=1e-6)


def test_rgb_is_the_pixels_themselves():
    pixels = torch.rand(1, 3, 4, 4)
    assert RGB().variable(pixels) is pixels and RGB().pixels(pixels) is pixels
    assert isinstance(basis("decorrelated"), DecorrelatedColour)
    with pytest.raises(ValueError, match="parametrization"):
        basis("auto")


@pytest.mark.parametrize(("options", "expected"), [
    ({"task": "texture", "weights": "random"}, "decorrelated"),
    ({"task": "texture", "weights": "random-single:3"}, "decorrelated"),
    ({"task": "transfer", "weights": "random", "init": "noise"}, "decorrelated"),
    ({"task": "reconstruct", "weights": "random"}, "rgb"),  # the content pins the colours
    ({"task": "transfer", "weights": "random"}, "rgb"),  # from the content image
    ({"task": "texture", "weights": "random", "init": "style"}, "rgb"),
    ({"task": "texture", "weights": "random-kaiming"}, "rgb"),  # 0.1's network as it was
    ({"task": "texture", "weights": "imagenet"}, "rgb"),
    ({"task": "transfer", "weights": "imagenet", "parametrization": "decorrelated"},
     "decorrelated"),
    ({"task": "texture", "weights": "random", "parametrization": "rgb"}, "rgb"),
])
def test_auto_steps_in_decorrelated_colour_for_a_style_from_noise_on_the_untrained_network(
        options, expected):
    assert Config.for_task(**options).resolved_parametrization == expected


def test_an_unknown_parametrization_is_refused():
    with pytest.raises(InputError, match="parametrization"):
        Config.for_task("texture", parametrization="fourier")


def _colour_noise(image: np.ndarray) -> float:
    """Mean square of the chroma (YIQ's I and Q) that a 3x3 box blur takes away: the
    pixel-scale colour noise."""
    from scipy.ndimage import uniform_filter
    from skimage.color import rgb2yiq

    chroma = rgb2yiq(image)[..., 1:]
    return float(np.mean((chroma - uniform_filter(chroma, size=(3, 3, 1))) ** 2))


def test_a_deep_texture_has_less_colour_noise_resolved_parametrization_decorrelated_colour(texture):
    """The untrained network's conv_5-8 does not tell pixel-scale colour noise from the
    texture's grain; in rgb the optimizer leaves it in, in decorrelated colour much less."""
    results = {}
    for parametrization in ("rgb", "decorrelated"):
        config = Config.for_task("texture", style_layers="conv_5-8", size=64, steps=40,
                                 weights="random-single", parametrization=parametrization,
                                 **FAST)
        results[parametrization] = Run(config, style=texture).complete()
    assert results["decorrelated"].provenance()["parametrization"] == "decorrelated"
    noise = {name: _colour_noise(result.image) for name, result in results.items()}
    assert noise["decorrelated"] < 0.5 * noise["rgb"], noise
    # and the texture's own statistics are still matched
    for result in results.values():
        assert result.history[-1]["total"] < 0.5 * result.history[0]["total"]


def _start(texture, **options) -> torch.Tensor:
    """The pixels a texture run from noise starts at."""
    config = Config.for_task("texture", style_layers="conv_1", size=32, steps=1,
                             weights="random-single", **FAST, **options)
    return next(iter(Run(config, style=texture))).pixels[0]


def test_decorrelated_colour_starts_from_grey_noise_that_the_seed_draws(texture):
    """In decorrelated colour the optimizer is slow to take out the chroma of an rgb noise
    (slowest at the border), so the start has none: every pixel lies on the luminance axis."""
    luminance = DecorrelatedColour().matrix[:, 0]
    start = _start(texture) - 0.5
    assert start.shape[0] == 3
    off_axis = start - torch.einsum("c,chw->hw", luminance, start) * luminance[:, None, None]
    assert off_axis.abs().max() < 1e-6 and start.std() > 0.1
    assert not torch.equal(_start(texture, seed=1), _start(texture))
    rgb = _start(texture, parametrization="rgb") - 0.5
    assert (rgb - torch.einsum("c,chw->hw", luminance, rgb) * luminance[:, None, None]).std() > 0.1


def test_a_batch_steps_each_image_in_its_own_parametrization(photo):
    """Configs of one batch may differ in task, which ``auto`` follows: each image steps in
    its own parametrization and ends where it would alone."""
    from napari_neural_style.core.batch import BatchRun

    # 3 steps: L-BFGS's first steps jump, in decorrelated colour more, and the batch's
    # round-off (1e-7) grows to 0.09 by step 6 (two decorrelated configs alike)
    common = {"size": 32, "steps": 3, "weights": "random-single", **FAST}
    configs = [Config.for_task("texture", style_layers="conv_2,conv_4", **common),
               Config.for_task("reconstruct", content_layers="conv_4", **common)]
    batched = BatchRun(configs, RunInputs(content=photo, style=photo)).complete()
    for config, result, expected in zip(configs, batched, ("decorrelated", "rgb"), strict=True):
        alone = Run(config, content=photo if config.task == "reconstruct" else None,
                    style=photo if config.task == "texture" else None).complete()
        assert result.provenance()["parametrization"] == expected
        np.testing.assert_allclose(result.image, alone.image, atol=2e-3)
