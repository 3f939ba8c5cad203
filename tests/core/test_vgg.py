import gc
import weakref

import pytest
import torch
import torchvision
from torch import nn

from napari_neural_style.core.vgg import BlurPool, VGGEncoder
from napari_neural_style.core.weights import Weights, random_weights


@pytest.fixture(scope="module")
def weights():
    return random_weights(0, "random-single")


def test_truncated_after_the_deepest_layer(weights):
    assert len(VGGEncoder(weights, ["conv_2"]).bodies[0]) == 3  # conv, relu, conv
    assert len(VGGEncoder(weights, ["conv_1", "conv_9"]).bodies[0]) == 20
    assert len(VGGEncoder(weights, ["conv_16"]).bodies[0]) == 35


def test_frozen_and_no_inplace_relu(weights):
    encoder = VGGEncoder(weights, ["relu5_4"])
    assert not any(parameter.requires_grad for parameter in encoder.parameters())
    assert all(not module.inplace for module in encoder.bodies[0]
               if isinstance(module, torch.nn.ReLU))


def test_taps_match_torchvision_vgg19(weights):
    reference = torchvision.models.vgg19(weights=None).features.eval()
    for module in reference:
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False  # keep each tapped output intact for the comparison
    reference.load_state_dict(weights.state)
    encoder = VGGEncoder(weights, ["conv_9", "conv4_1", "relu1_2", "pool2"])
    image = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(0))
    features = encoder(image)
    x = (image - encoder.mean) / encoder.std
    expected = {}
    with torch.no_grad():
        for index, module in enumerate(reference[:20]):
            x = module(x)
            expected[index] = x.clone()
    # nine float32 convolutions deep, the two implementations round apart by ~1e-5
    torch.testing.assert_close(features["conv_9"], expected[19], rtol=1e-4, atol=1e-4)
    assert set(features) == {"conv_9", "relu1_2", "pool2"}  # canonical names, once each
    torch.testing.assert_close(features["relu1_2"], expected[3])
    torch.testing.assert_close(features["pool2"], expected[9])


def test_gradients_reach_the_input_through_tapped_layers(weights):
    encoder = VGGEncoder(weights, ["conv_1", "conv_2"])
    image = torch.rand(1, 3, 16, 16, requires_grad=True)
    features = encoder(image)
    (features["conv_1"].sum() + features["conv_2"].sum()).backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_average_pooling(weights):
    encoder = VGGEncoder(weights, ["pool1"], pooling="avg")
    assert isinstance(encoder.bodies[0][4], torch.nn.AvgPool2d)
    with pytest.raises(ValueError, match="pooling"):
        VGGEncoder(weights, ["pool1"], pooling="min")


def test_blur_pooling_is_average_pooling_without_its_aliasing(weights):
    encoder = VGGEncoder(weights, ["pool1"], pooling="blur")
    assert isinstance(encoder.bodies[0][4], BlurPool)
    pool = BlurPool()
    for height, width in ((8, 8), (9, 13), (33, 2)):
        image = torch.rand(2, 5, height, width)
        assert pool(image).shape == torch.nn.functional.avg_pool2d(image, 2).shape
        # the border's weights renormalised: a constant map stays that constant
        torch.testing.assert_close(pool(torch.full_like(image, 0.3)),
                                   torch.full_like(pool(image), 0.3))
    # stripes two pixels wide, at the highest frequency the pooled grid can carry: average
    # pooling keeps them at full contrast (0 and 1), blur pooling at half (0.25 and 0.75:
    # its filter's response there is cos(pi/4)^3 = 0.35 of the stripes' 0.71)
    stripes = (torch.arange(32) // 2 % 2).float().expand(1, 1, 32, 32)
    aliased, blurred = torch.nn.functional.avg_pool2d(stripes, 2), pool(stripes)
    interior = (..., slice(2, -2), slice(2, -2))
    torch.testing.assert_close(aliased[interior].std(), torch.tensor(0.5), atol=0.02, rtol=0)
    torch.testing.assert_close(blurred[interior].std(), torch.tensor(0.25), atol=0.02, rtol=0)
    torch.testing.assert_close(blurred[interior].mean(), aliased[interior].mean())


def test_blur_pooling_keeps_gradients_through_bf16(weights):
    encoder = VGGEncoder(weights, ["conv_5"], pooling="blur", memory_format=torch.channels_last)
    image = torch.rand(1, 3, 37, 50, requires_grad=True)
    with torch.autocast("cpu", torch.bfloat16):
        features = encoder(image)["conv_5"]
    assert features.shape[-2:] == (9, 12)
    features.float().square().mean().backward()
    assert torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


def test_encoders_share_the_weights_memory():
    weights = random_weights(3)
    original = weights.state["0.weight"].clone()
    plain = VGGEncoder(weights, ["conv_2"])
    assert plain.bodies[0][0].weight.data_ptr() == weights.state["0.weight"].data_ptr()
    fast = VGGEncoder(weights, ["conv_4"], memory_format=torch.channels_last)
    again = VGGEncoder(weights, ["conv_2"], memory_format=torch.channels_last)
    kernel = fast.bodies[0][0].weight
    assert kernel.is_contiguous(memory_format=torch.channels_last)
    assert kernel.data_ptr() == again.bodies[0][0].weight.data_ptr()
    assert kernel.data_ptr() == weights.state["0.weight"].data_ptr()  # converted once, in place
    assert torch.equal(kernel, original)


def test_recomputing_activations_gives_the_same_features_and_gradients(weights):
    encoder = VGGEncoder(weights, ["conv_2", "pool2", "conv_9"])
    assert encoder.blocks[0] == [0, 1, 2, 3, 4] and encoder.blocks[-1][-1] == 19
    image = torch.rand(2, 3, 40, 40)
    results = []
    for recompute in (False, True):
        encoder.recompute = recompute
        pixels = image.clone().requires_grad_(True)
        features = encoder(pixels, depths=[19, 9])  # the second image leaves after pool2
        sum(value.pow(2).mean() for value in features.values()).backward()
        results.append((features, pixels.grad))
    (kept, kept_grad), (recomputed, recomputed_grad) = results
    assert recomputed["conv_9"].shape[0] == 1 and recomputed["pool2"].shape[0] == 2
    for name in kept:
        assert torch.allclose(kept[name], recomputed[name])
    assert torch.allclose(kept_grad, recomputed_grad, rtol=1e-4, atol=1e-7)


def test_reduced_taps_equal_the_forward_pass(weights):
    encoder = VGGEncoder(weights, ["conv_1", "relu1_2", "conv_4", "pool2"])
    image = torch.rand(1, 3, 32, 32)
    expected = encoder(image)
    seen = []

    def compare(name, features):
        seen.append(name)
        return torch.equal(features, expected[name])

    assert encoder.reduced(image, compare) == dict.fromkeys(expected, True)
    assert seen == ["conv_1", "relu1_2", "conv_4", "pool2"]


def test_reducing_taps_holds_one_layer_at_a_time(weights):
    """Every tap is let go once reduced: while later layers run, no earlier tap is alive
    except as the input they are given."""
    encoder = VGGEncoder(weights, ["conv_1", "conv_2", "conv_3"])
    alive, held = [], []

    def watch(name, features):
        alive.append(weakref.ref(features))

    def count(module, inputs):
        held.append(sum(reference() is not None and reference() is not inputs[0]
                        for reference in alive))

    layers = [module for module in encoder.bodies[0] if not isinstance(module, nn.ReLU)]
    for module in layers:  # the ReLUs run in place, not as modules
        module.register_forward_pre_hook(count)
    gc.disable()  # reference counting alone must free them
    try:
        encoder.reduced(torch.rand(1, 3, 32, 32), watch)
    finally:
        gc.enable()
    assert len(alive) == 3 and len(held) == len(layers) and not any(held)


def test_networks_side_by_side_concatenate_their_features(weights):
    pair = random_weights(0, "random")  # the first network is the single one, drawn on
    assert len(pair.members) == 2 and torch.equal(pair.state["34.weight"],
                                                  weights.state["34.weight"])
    second = Weights(pair.others[0], "random", "-", "second")
    layers = ["conv_2", "conv_5"]
    encoder = VGGEncoder(pair, layers, "avg")
    image = torch.rand(1, 3, 32, 40, requires_grad=True)
    with torch.no_grad():
        expected = {name: torch.cat([VGGEncoder(each, layers, "avg")(image)[name]
                                     for each in (weights, second)], dim=1) for name in layers}
        assert {name: tuple(value.shape) for name, value in encoder(image).items()} == {
            "conv_2": (1, 128, 32, 40), "conv_5": (1, 512, 8, 10)}
        encoder.reduced(image, lambda name, features: torch.testing.assert_close(
            features, expected[name]))
    gradients = []
    for recompute in (False, True):  # lean memory recomputes each network's blocks
        encoder.recompute = recompute
        features = encoder(image)
        for name in layers:
            torch.testing.assert_close(features[name], expected[name])
        gradients.append(torch.autograd.grad(features["conv_5"].square().sum(), image)[0])
    torch.testing.assert_close(gradients[0], gradients[1])


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_max_pooling_keeps_no_indices_and_gives_torchs_gradient(memory_format, dtype):
    """Its maxima are found again in the backward pass: ties (small whole numbers) included,
    the gradient is torch's own, and only the input (the ReLU's output anyway) is kept."""
    encoder = VGGEncoder(random_weights(0, "random-single"), ["pool1"], "max")
    pool = encoder.bodies[0][4]
    x = torch.randint(0, 4, (2, 8, 16, 16)).to(dtype).contiguous(memory_format=memory_format)
    grad = torch.randn(2, 8, 8, 8).to(dtype)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    kept = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: kept.append(t) or t, lambda t: t):
        pooled = pool(ours)
    pooled.backward(grad)
    nn.MaxPool2d(2, 2)(theirs).backward(grad)
    assert torch.equal(pooled, nn.functional.max_pool2d(x, 2)) and torch.equal(ours.grad,
                                                                              theirs.grad)
    assert len(kept) == 1 and kept[0] is ours
