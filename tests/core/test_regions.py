"""A style per region of a label image: guided moments, masks carried to each layer."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.losses import GramTarget, Moments
from napari_neural_style.core.quality import region_style_distances
from napari_neural_style.core.regions import layer_masks, region_masks, resized_labels
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.tasks import Run, transfer
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import random_weights

FAST = {"weights": "random", "device": "cpu", "steps": 2, "size": 48}
LAYERS = ("conv_2", "conv_4", "conv_8")
TWO = ((1, 0, 1.0), (2, 1, 1.0))


def _halves(size: int, right: int = 2) -> np.ndarray:
    labels = np.ones((size, size), np.uint8)
    labels[:, size // 2:] = right
    return labels


def test_a_binary_mask_gives_the_regions_own_moments():
    features = torch.randn(1, 4, 6, 8, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 1, 6, 8)
    mask[..., 2:5, 1:6] = 1
    inside = features[..., 2:5, 1:6]
    guided, alone = Moments.of(features, mask), Moments.of(inside)
    torch.testing.assert_close(guided.mean, alone.mean)
    torch.testing.assert_close(guided.second, alone.second)
    target = GramTarget(alone.second)
    assert float(target.loss(features, mask)) < 1e-10
    assert float(target.loss(features)) > 1e-3
    torch.testing.assert_close(Moments.of(features, torch.ones(1, 1, 6, 8)).second,
                               Moments.of(features).second)


def test_masks_reach_each_layer_simply_or_only_inside():
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :, :16] = 1
    simple = layer_masks(mask, ("conv_1", "conv_3", "conv_5"), "simple")
    inside = layer_masks(mask, ("conv_1", "conv_3", "conv_5"), "inside")
    assert simple["conv_3"].shape[-2:] == (16, 16) and simple["conv_5"].shape[-2:] == (8, 8)
    assert torch.equal(simple["conv_1"], mask)
    # inside: one column less per convolution on the way (conv_1: 1 px at 32 px)
    assert float(inside["conv_1"][0, 0, 0].sum()) == 15
    assert float(inside["conv_5"].sum()) < float(simple["conv_5"].sum())
    assert torch.all(inside["conv_5"] <= simple["conv_5"] + 1e-6)


def test_masks_follow_blur_pooling_onto_each_layer_grid():
    weights = random_weights(0)
    names = ("conv_2", "conv_5", "conv_9", "conv_13")
    mask = torch.zeros(1, 1, 37, 50)
    mask[..., 6:31, 7:44] = 1
    features = VGGEncoder(weights, names, "blur")(torch.rand(1, 3, 37, 50))
    simple = layer_masks(mask, names, "simple", "blur")
    inside = layer_masks(mask, names, "inside", "blur")
    plain_inside = layer_masks(mask, names, "inside", "avg")
    for name in names:
        assert simple[name].shape[-2:] == inside[name].shape[-2:] == features[name].shape[-2:]
        assert torch.all(inside[name] <= simple[name] + 1e-6)
        assert torch.all(inside[name] <= plain_inside[name])
    # a blur pooling reads a 4x4 window: the inside shrinks faster than with 2x2 averages
    assert float(inside["conv_5"].sum()) < float(plain_inside["conv_5"].sum())


def test_feathered_masks_are_soft_and_sum_to_one():
    masks = region_masks(_halves(32), (32, 32), [1, 2], 3.0, torch.device("cpu"))
    total = masks[1] + masks[2]
    torch.testing.assert_close(total, torch.ones_like(total))
    assert 0.2 < float(masks[1][0, 0, 0, 15]) < 0.8  # the edge is soft
    assert float(masks[1][0, 0, 0, 0]) > 0.99


def test_labels_are_resampled_by_nearest_neighbour():
    labels = np.array([[0, 1], [2, 3]])
    np.testing.assert_array_equal(resized_labels(labels, (4, 4)),
                                  np.repeat(np.repeat(labels, 2, 0), 2, 1))


def _sample(name: str, size: int) -> np.ndarray:
    return to_numpy(to_tensor(load_sample(name), size))


def test_each_region_takes_its_own_style_on_two_networks():
    size = 96
    content = _sample("astronaut", size)
    styles = [_sample("immunohistochemistry", size), _sample("gravel", size)]
    labels = _halves(size)
    result = transfer(content, styles, "conv_9", LAYERS, labels=labels, regions=TWO,
                      style_weight=5, **{**FAST, "size": size, "steps": 100})
    for seed in (0, 1):  # the network it was made with, and one it never saw
        distances = region_style_distances(random_weights(seed), to_tensor(result.image),
                                           labels, [to_tensor(style) for style in styles],
                                           LAYERS)
        for label, own in ((1, 0), (2, 1)):
            other = distances[label][1 - own]
            assert other > 10 * distances[label][own], (seed, label, distances)
    assert result.provenance()["params"]["regions"] == TWO
    distances = result.quality["region_gram_distance"]
    assert set(distances) == {"1", "2"} and set(distances["1"]) == set(result.quality["layers"])


def test_a_content_only_region_stays_the_content():
    size = 96
    content = _sample("astronaut", size)
    labels = _halves(size, right=0)  # right half unlabelled: content only
    # float32: at this size bf16 (precision=auto on some CPUs) takes early L-BFGS steps of
    # other sizes and keeps 16-24 dB here (docs/performance.md); at 256 px the two agree
    result = transfer(content, [_sample("immunohistochemistry", size)], "conv_9", LAYERS,
                      labels=labels, regions=((1, 0, 1.0),), style_weight=5,
                      **{**FAST, "size": size, "steps": 100, "precision": "fp32"})
    right = (slice(None), slice(size // 2 + 8, None))  # beyond the styled region's reach
    left = (slice(None), slice(None, size // 2 - 8))
    def psnr(part) -> float:
        return float(10 * np.log10(1 / np.mean((result.image[part] - content[part]) ** 2)))

    # measured: 25.4 dB content only, 10.0 dB styled (the deep content layer couples them)
    assert psnr(right) > 20 and psnr(left) < psnr(right) - 6, (psnr(right), psnr(left))


def test_one_region_over_everything_is_a_plain_transfer(photo, texture):
    labels = np.ones(photo.shape[:2], np.int32)
    plain = transfer(photo, texture, "conv_4", "conv_1,conv_3", **FAST)
    regional = transfer(photo, texture, "conv_4", "conv_1,conv_3", labels=labels,
                        regions=((1, 0, 1.0),), **FAST)
    np.testing.assert_allclose(regional.image, plain.image, atol=1e-5)


@pytest.mark.parametrize(("labels", "regions", "message"), [
    (np.ones((48, 96), int), TWO[:1], "does not have the content's shape or aspect"),
    (np.full((48, 48), 0.5), TWO[:1], "whole numbers"),
    (np.ones((2, 48, 48), int), TWO[:1], "2-D"),
    (np.ones((48, 48), int), TWO, "label 2 is given a style but no pixel"),
    (np.ones((48, 48), int), ((1, 3, 1.0),), "style 4, but only 1 style"),
])
def test_bad_labels_are_a_one_line_error(photo, texture, labels, regions, message):
    styles = [texture, texture] if len(regions) == 2 else [texture]
    with pytest.raises(InputError, match=message):
        Run(Config.for_task("transfer", regions=regions, **FAST), photo, styles, labels=labels)


def test_labels_of_another_size_but_the_same_aspect_are_resampled(photo, texture):
    labels = _halves(24)  # the content is 96 x 96
    result = transfer(photo, [texture, photo], "conv_4", "conv_1", labels=labels, regions=TWO,
                      **FAST)
    assert result.image.shape == (48, 48, 3)


def test_regions_and_labels_come_together(photo, texture):
    with pytest.raises(InputError, match="need the label image"):
        Run(Config.for_task("transfer", regions=TWO[:1], **FAST), photo, texture)
    with pytest.raises(InputError, match="no region"):
        Run(Config.for_task("transfer", **FAST), photo, texture, labels=_halves(48))
    with pytest.raises(InputError, match="style image 2 is not given to any region"):
        Run(Config.for_task("transfer", regions=TWO[:1], **FAST), photo, [texture, photo],
            labels=_halves(48))
    for bad, message in [(((1, 0, 1.0), (1, 0, 2.0)), "one region only"),
                         (((1, None, 0.0),), "no region has a style"),
                         (((1, 0, -1.0),), "weight a number >= 0"),
                         (((1.5, 0, 1.0),), "a region is")]:
        with pytest.raises(InputError, match=message):
            Config.for_task("transfer", regions=bad)
    with pytest.raises(InputError, match="leave style_blend out"):
        Config.for_task("transfer", regions=TWO, style_blend=(1, 1))


def test_a_tiny_region_survives_coarse_scales_and_deep_layers(photo, texture):
    labels = np.zeros((96, 96), int)
    labels[40:43, 40:43] = 1  # 3 px: gone at the coarse scale and in deep layers
    result = transfer(photo, texture, "conv_4", "conv_1,conv_8", labels=labels,
                      regions=((1, 0, 1.0),), scales=(0.5, 1.0), **FAST)
    # both scales ran: from the content image, a third of the 2 steps at the coarse one
    assert np.isfinite(result.image).all() and result.steps_done == 1 + 2


def test_a_region_learns_from_the_same_label_of_its_style(photo):
    """The style's left half bright, right half dark: region 1 (left of the content) told to
    learn from the style's label 1 (its dark half) comes out dark."""
    style = np.ones((48, 48, 3), np.float32)
    style[:, 24:] = 0.1
    style_labels = np.zeros((48, 48), np.int32)
    style_labels[:, 24:] = 1  # label 1: the dark half
    labels = _halves(96, right=0)  # the content's left half is label 1
    options = {"labels": labels, "regions": ((1, 0, 1.0),), "style_weight": 20,
               "style_loss": "meancov", **{**FAST, "steps": 40}}
    guided = transfer(photo, [style], "conv_4", "conv_1", style_labels=[style_labels],
                      **options)
    whole = transfer(photo, [style], "conv_4", "conv_1", **options)
    left = (slice(None), slice(None, 20))
    assert guided.image[left].mean() < 0.3 < whole.image[left].mean()
    with pytest.raises(InputError, match="label 1 learns from style image 1, but"):
        transfer(photo, [style], "conv_4", "conv_1", style_labels=[np.zeros((48, 48), int)],
                 **options)
    with pytest.raises(InputError, match="1 style label images for 2 style images"):
        Run(Config.for_task("transfer", regions=TWO, **FAST), photo, [style, style],
            labels=_halves(48), style_labels=[style_labels])
