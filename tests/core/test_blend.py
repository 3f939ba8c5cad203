"""Several styles: their statistics blended in the proportions asked for."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.losses import Moments, blend
from napari_neural_style.core.objective import Objective
from napari_neural_style.core.tasks import Run, synthesize_texture, transfer
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import random_weights

FAST = {"weights": "random", "device": "cpu", "steps": 2, "size": 48}
LAYERS = ("conv_1", "conv_3")


def _features(seed: int, width: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, 5, 6, width, generator=generator).relu()


def test_blended_moments_are_the_moments_of_a_collage_in_those_proportions():
    first, second = _features(0, 3), _features(1, 7)  # positions in proportion 3 : 7
    collage = torch.cat([first, second], dim=3)
    blended = blend([Moments.of(first), Moments.of(second)], (0.3, 0.7))
    torch.testing.assert_close(blended.mean, Moments.of(collage).mean)
    torch.testing.assert_close(blended.second, Moments.of(collage).second)
    # and so is the covariance derived from them, which would be wrong blended directly
    torch.testing.assert_close(blended.covariance, Moments.of(collage).covariance)
    naive = 0.3 * Moments.of(first).covariance + 0.7 * Moments.of(second).covariance
    assert not torch.allclose(naive, Moments.of(collage).covariance, atol=1e-3)


@pytest.fixture(scope="module")
def encoder():
    return VGGEncoder(random_weights(0), LAYERS, "avg")


@pytest.mark.parametrize("style_loss", ["gram", "meancov"])
def test_one_style_of_weight_one_is_the_single_style_target(encoder, texture, style_loss):
    style = to_tensor(texture, 48)
    single = Objective.from_images(encoder, None, [style], (), LAYERS, style_loss=style_loss)
    weighted = Objective.from_images(encoder, None, [style], (), LAYERS, style_loss=style_loss,
                                     style_blend=Config("texture", style_layers=LAYERS,
                                                        style_blend=(5,)).style_blend)
    for name in LAYERS:
        for field, value in vars(single.style_targets[name]).items():
            assert torch.equal(value, getattr(weighted.style_targets[name], field)), field


def test_the_gram_target_is_the_weighted_sum_of_the_styles_grams(encoder, photo, texture):
    styles = [to_tensor(photo, 48), to_tensor(texture, 40)]
    blended = Objective.from_images(encoder, None, styles, (), LAYERS, style_blend=(0.25, 0.75))
    alone = [Objective.from_images(encoder, None, [style], (), LAYERS) for style in styles]
    for name in LAYERS:
        expected = 0.25 * alone[0].style_targets[name].gram + \
            0.75 * alone[1].style_targets[name].gram
        torch.testing.assert_close(blended.style_targets[name].gram, expected)


def test_blend_weights_are_normalised_and_default_to_equal():
    assert Config.for_task("transfer", style_blend=(3, 7)).style_blend == pytest.approx((0.3, 0.7))
    assert Config.for_task("transfer").style_blend is None
    assert blend([Moments(torch.ones(1), torch.ones(1, 1)),
                  Moments(torch.zeros(1), torch.zeros(1, 1))]).mean.item() == 0.5


@pytest.mark.parametrize(("blend_weights", "message"), [
    ((1, -1), "must be numbers >= 0"), ((0, 0), "all 0"), ((1, float("nan")), ">= 0")])
def test_bad_blend_weights_are_refused(blend_weights, message):
    with pytest.raises(InputError, match=message):
        Config.for_task("transfer", style_blend=blend_weights)


def test_blend_weights_and_scales_must_match_the_styles(photo, texture):
    for options, message in [({"style_blend": (1, 2, 3)}, "3 weights for 2 style images"),
                             ({"style_blend": (1,)}, "1 weights for 2 style images"),
                             ({"style_scale": (1, 1, 2)}, "3 values for 2 style images")]:
        with pytest.raises(InputError, match=message):
            Run(Config.for_task("transfer", **options, **FAST), photo, [texture, photo])


def test_each_style_has_its_own_scale(photo, texture):
    config = Config.for_task("transfer", style_scale=(1, 0.5), style_layers="conv_2", **FAST)
    run = Run(config, content=photo, style=[texture, photo])  # texture 64 x 96, photo square
    assert [tuple(style.shape[-2:]) for style in run.batch.styles] == [(32, 48), (24, 24)]
    with pytest.raises(InputError, match=r"style image 2 \(at style scale 0.1\).*too small"):
        Run(config.__class__.for_task("transfer", style_scale=(1, 0.1), **FAST), photo,
            [texture, photo])


def test_a_transfer_from_two_styles_records_them(photo, texture):
    result = transfer(photo, [texture, photo], style_blend=(1, 3), style_layers="conv_1",
                      content_layers="conv_2", **FAST)
    params = result.provenance()["params"]
    assert params["style_blend"] == pytest.approx((0.25, 0.75))
    assert result.image.shape == (48, 48, 3) and np.isfinite(result.image).all()
    assert set(result.quality["gram_distance"]) == set(result.quality["layers"])


def test_a_texture_moves_between_its_two_styles_with_the_blend(texture):
    """Weight on the bright style gives a bright texture; on the dark one, a dark one (the
    mean-and-covariance loss matches the features' mean, and so the pixels')."""
    bright = texture / 255.0
    styles = [bright, bright * 0.3]
    means = []
    for weights in ((1, 0), (1, 1), (0, 1)):
        result = synthesize_texture(styles, "conv_1", style_blend=weights, style_loss="meancov",
                                    **{**FAST, "steps": 30})
        means.append(float(result.image.mean()))
        assert result.quality["gram_distance"]["conv_1"] < 0.01
    assert means[0] > means[1] > means[2]
    assert means[0] == pytest.approx(bright.mean(), abs=0.05)
    assert means[2] == pytest.approx(0.3 * bright.mean(), abs=0.05)
