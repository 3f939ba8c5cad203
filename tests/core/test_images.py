import numpy as np
import pytest

from napari_neural_style.core.errors import InputError
from napari_neural_style.core.geometry import working_shape
from napari_neural_style.core.images import (
    to_rgb_float,
    to_tensor,
)


@pytest.mark.parametrize(
    ("array", "expected_max"),
    [
        (np.full((4, 5, 3), 255, np.uint8), 1.0),
        (np.full((4, 5, 3), 65535, np.uint16), 1.0),
        (np.full((4, 5), 128, np.uint8), 128 / 255),
        (np.full((4, 5, 1), 0.25, np.float32), 0.25),
        (np.ones((4, 5, 4), bool), 1.0),
    ],
)
def test_dtypes_and_channel_layouts_become_rgb_in_unit_range(array, expected_max):
    rgb = to_rgb_float(array)
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb.max(), expected_max, rtol=1e-6)


def test_float_out_of_range_is_rescaled_and_rgba_drops_alpha():
    data = np.stack([np.linspace(-5, 5, 20).reshape(4, 5)] * 3 + [np.zeros((4, 5))], axis=-1)
    rgb = to_rgb_float(data)
    assert rgb.shape == (4, 5, 3)
    assert rgb.min() == 0.0 and rgb.max() == 1.0


def test_input_is_never_modified():
    data = np.random.default_rng(0).random((40, 30, 3)).astype(np.float32)
    before = data.copy()
    rgb = to_rgb_float(data)
    rgb[:] = 0
    to_tensor(data, 20).zero_()
    np.testing.assert_array_equal(data, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(bad):
    data = np.zeros((8, 8, 3), np.float32)
    data[2, 3, 1] = bad
    with pytest.raises(InputError, match="NaN or inf"):
        to_rgb_float(data)


@pytest.mark.parametrize("shape", [(5,), (2, 5, 5, 3), (5, 5, 2), (0, 5, 3)])
def test_bad_shapes_are_refused(shape):
    with pytest.raises(InputError):
        to_rgb_float(np.zeros(shape, np.float32))


def test_strings_are_refused():
    with pytest.raises(InputError, match="dtype"):
        to_rgb_float(np.array([["a"]]))


def test_resize_to_longest_side():
    assert working_shape(300, 600, 64) == (32, 64)
    tensor = to_tensor(np.zeros((300, 600, 3), np.uint8), 64)
    assert tensor.shape == (1, 3, 32, 64)
    with pytest.raises(InputError, match="too small"):
        to_tensor(np.zeros((300, 600, 3), np.uint8), 60, min_side=32)
    with pytest.raises(InputError, match="working size"):
        working_shape(10, 10, 10**6)


def test_a_source_too_small_to_hold_features_is_refused():
    with pytest.raises(InputError, match="1x1 px: too small to take features from"):
        to_tensor(np.ones((1, 1, 3), np.float32), 64)
    assert to_tensor(np.ones((4, 6, 3), np.float32), 64).shape == (1, 3, 43, 64)
