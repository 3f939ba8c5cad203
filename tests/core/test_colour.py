"""Colour control: the mathematics checked exactly where it is exact."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.colour import (
    _yiq_from_rgb,
    luminance,
    match_colours,
    network_inputs,
)
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.tasks import transfer

FAST = {"size": 48, "steps": 8, "weights": "random", "device": "cpu"}


def _chrominance(image: np.ndarray) -> np.ndarray:
    return _yiq_from_rgb(torch.from_numpy(image).permute(2, 0, 1)[None].double())[0, 1:].numpy()


@pytest.mark.parametrize("colour", ["luminance", "original"])
def test_the_result_keeps_the_contents_chrominance(photo, texture, colour):
    result = transfer(photo, texture, colour=colour, **FAST)
    content = to_tensor(photo, 48)[0].permute(1, 2, 0).numpy()
    inside = ((result.image > 0.002) & (result.image < 0.998)).all(axis=-1)  # not clipped
    assert inside.mean() > 0.9
    np.testing.assert_allclose(_chrominance(result.image)[:, inside],
                               _chrominance(content)[:, inside], atol=1e-5)
    assert result.provenance()["params"]["colour"] == colour


def test_luminance_mode_gives_the_network_grey_images_with_matched_luminance(photo, texture):
    content, style = to_tensor(photo, 48), to_tensor(texture, 48)
    grey_content, (grey_style,) = network_inputs("luminance", content, [style])
    for grey in (grey_content, grey_style):
        assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])
    torch.testing.assert_close(grey_content[:, :1], luminance(content))
    content_y = luminance(content)
    assert abs(float(grey_style.mean() - content_y.mean())) < 1e-5
    assert abs(float(grey_style[:, 0].std() - content_y.std())) < 1e-4


def test_match_gives_the_style_the_contents_mean_and_covariance(photo, texture):
    content, style = to_tensor(photo, 64), to_tensor(texture, 64)
    matched = match_colours(style, content).double().flatten(2)[0]
    target = content.double().flatten(2)[0]
    torch.testing.assert_close(matched.mean(1), target.mean(1), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.cov(matched), torch.cov(target), atol=1e-4, rtol=0)
    assert network_inputs("match", content, [style])[0] is content


def test_style_colours_change_nothing(photo, texture):
    content, style = to_tensor(photo, 48), to_tensor(texture, 48)
    assert network_inputs("style", content, [style]) == (content, [style])
    np.testing.assert_array_equal(transfer(photo, texture, **FAST).image,
                                  transfer(photo, texture, colour="style", **FAST).image)
