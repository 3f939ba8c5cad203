import pytest
import torch

from napari_neural_style.core.losses import content_loss, gram_matrix, style_loss
from napari_neural_style.core.quality import QUALITY_LAYERS, quality
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import random_weights


@pytest.fixture(scope="module")
def weights():
    return random_weights(0)


def test_quality_numbers_are_the_relative_errors_of_the_losses(weights):
    pixels, content, style = (torch.rand(1, 3, 40, 40) for _ in range(3))
    numbers = quality(weights, "max", pixels, content, [style])
    assert numbers["layers"] == list(QUALITY_LAYERS)
    encoder = VGGEncoder(weights, numbers["layers"])
    mine, theirs, textures = encoder(pixels), encoder(content), encoder(style)
    for name in numbers["layers"]:
        assert numbers["content_error"][name] == pytest.approx(
            float(content_loss(mine[name], theirs[name])), rel=1e-5)
        assert numbers["gram_distance"][name] == pytest.approx(
            float(style_loss(mine[name], gram_matrix(textures[name]))), rel=1e-5)
    assert quality(weights, "max", pixels, None, [style])["content_error"] == {}
