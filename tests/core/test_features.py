import numpy as np
import torch

from napari_neural_style.core.features import (
    feature_maps,
    gram_matrices,
    mosaic,
    normalize_channels,
    strongest_channels,
)
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.losses import gram_matrix
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.vgg_layers import channel_axis_label, downsampling
from napari_neural_style.core.weights import random_weights


def test_feature_maps_shapes_per_layer(photo):
    maps = feature_maps(photo, "conv_1,conv_4,relu4_1", weights="random-single", size=64,
                        device="cpu")
    assert {name: stack.shape for name, stack in maps.items()} == {
        "conv_1": (64, 64, 64), "conv_4": (128, 32, 32), "relu4_1": (512, 8, 8)}
    pair = feature_maps(photo, "conv_1", weights="random", size=64, device="cpu")
    assert pair["conv_1"].shape == (128, 64, 64)  # two networks: both one's channels
    assert maps["relu4_1"].min() >= 0 and maps["conv_1"].min() < 0
    assert [downsampling(name) for name in maps] == [1, 2, 8]
    assert channel_axis_label("conv_9") == "channel of conv_9 (conv4_1)"


def test_gram_matrices_equal_the_engine_gram(photo):
    grams = gram_matrices(photo, "conv_2", weights="random", size=48, device="cpu")
    encoder = VGGEncoder(random_weights(0), ["conv_2"])
    with torch.no_grad():
        expected = gram_matrix(encoder(to_tensor(photo, 48))["conv_2"])[0].numpy()
    np.testing.assert_allclose(grams["conv_2"], expected, rtol=1e-5, atol=1e-6)


def test_channel_contrast_and_mosaic():
    rng = np.random.default_rng(0)
    stack = rng.normal(size=(5, 4, 6)).astype(np.float32)
    stack[2] *= 10
    stack[4] = 3.0  # flat
    scaled = normalize_channels(stack)
    assert scaled.min() == 0 and scaled.max() == 1 and not scaled[4].any()
    assert strongest_channels(stack, 2)[0] == 2
    sheet = mosaic(stack, count=4)
    assert sheet.shape == (2 * 4 + 1, 2 * 6 + 1)
    assert np.isnan(sheet[4]).all()  # the gap row
    np.testing.assert_array_equal(sheet[:4, :6], normalize_channels(stack[[2]])[0])
