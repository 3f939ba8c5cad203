"""Pyramids as napari draws them: each level's pixel centred on the finer pixel napari draws it
over (core/pyramid.py)."""

import numpy as np
import pytest

from helpers import centred_half
from napari_neural_style.core.pyramid import halved, levels_to, pyramid, reduced


@pytest.mark.parametrize("shape", [(8, 6, 3), (7, 5), (1, 9), (2, 1, 3)])
def test_a_level_is_the_centred_binomial_mean_of_the_one_above(shape):
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    half = halved(image)
    assert half.shape[:2] == tuple((side + 1) // 2 for side in shape[:2])
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, centred_half(image), rtol=1e-6)


def test_a_level_sits_where_napari_draws_it():
    """A ramp keeps its values at the pixels kept: pixel i of the next level is the value at
    pixel 2i of this one (away from the mirrored edges)."""
    ramp = np.tile(np.arange(16, dtype=np.float32), (16, 1))
    np.testing.assert_allclose(halved(ramp)[:, 1:7], ramp[::2, ::2][:, 1:7])


def test_integer_levels_are_rounded_in_their_own_type():
    image = np.array([[0, 1], [1, 1]], np.uint8)
    assert halved(image).dtype == np.uint8
    assert halved(image)[0, 0] == np.round(centred_half(image)[0, 0])


def test_a_pyramid_starts_with_the_image_itself_and_stops_at_one_tile():
    image = np.zeros((1300, 600), np.float32)
    levels = pyramid(image, levels_to(image.shape, 512))
    assert levels[0] is image
    assert [level.shape for level in levels] == [(1300, 600), (650, 300), (325, 150)]
    assert levels_to((512, 100), 512) == 1
    np.testing.assert_array_equal(reduced(image, 2), levels[2])
