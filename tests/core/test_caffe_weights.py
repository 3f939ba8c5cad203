"""Caffe-converted VGG-19 weights (neural-style-pt's vgg19-d01eb7cb.pth): BGR pixels in
0-255 with the Caffe mean subtracted, recognised by sha256 or told by weights_format."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from napari_neural_style.core import weights as weights_module
from napari_neural_style.core.config import WEIGHTS_FORMATS, Config
from napari_neural_style.core.errors import InputError, WeightsError
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.tasks import reconstruct
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import PIXEL_FORMATS, random_weights, resolve_weights

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@pytest.fixture
def caffe_file(tmp_path):
    """A file laid out as the converted Caffe model is (features.N.weight/bias and a
    classifier), with random values."""
    state = {f"features.{key}": value.clone() for key, value in random_weights(5).state.items()}
    for key, value in state.items():
        if key.endswith("bias"):  # a trained network's biases are not zero
            value.copy_(torch.randn(value.shape, generator=torch.Generator().manual_seed(1)))
    state["classifier.0.weight"] = torch.zeros(4, 4)
    path = tmp_path / "vgg19-d01eb7cb.pth"
    torch.save(state, path)
    return path


def test_every_format_has_its_pixels():
    assert set(PIXEL_FORMATS) == set(WEIGHTS_FORMATS) - {"auto"}


def test_features_equal_a_hand_computed_caffe_pass(caffe_file, photo):
    weights = resolve_weights(caffe_file, weights_format="caffe")
    assert weights.format == "caffe" and weights.describe()["format"] == "caffe"
    image = to_tensor(photo, 40)
    encoder = VGGEncoder(weights, ("conv_1", "conv_2", "conv_3"), "max")
    with torch.no_grad():
        ours = encoder(image)
        state = torch.load(caffe_file, weights_only=True)
        bgr = image[:, [2, 1, 0]] * 255 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)

        def conv(x, index):
            return F.conv2d(x, state[f"features.{index}.weight"], state[f"features.{index}.bias"],
                            padding=1)

        conv_1 = conv(bgr, 0)
        conv_2 = conv(conv_1.relu(), 2)
        conv_3 = conv(F.max_pool2d(conv_2.relu(), 2), 5)
    for name, expected in (("conv_1", conv_1), ("conv_2", conv_2), ("conv_3", conv_3)):
        torch.testing.assert_close(ours[name], expected, rtol=1e-5, atol=1e-3)
    # the same file read as torchvision's sees other features
    plain = VGGEncoder(resolve_weights(caffe_file, weights_format="torchvision"), ("conv_1",))
    with torch.no_grad():
        assert not torch.allclose(plain(image)["conv_1"], conv_1, atol=1)


def test_a_known_file_is_recognised_by_its_sha256(caffe_file, monkeypatch):
    sha = resolve_weights(caffe_file).sha256
    assert resolve_weights(caffe_file).format == "torchvision"  # not known: torchvision's
    monkeypatch.setitem(weights_module.KNOWN_FILES, sha[:8], "caffe")
    weights_module._cached_file_sha256.cache_clear()
    recognised = resolve_weights(caffe_file)
    assert recognised.format == "caffe" and "Caffe" in recognised.label
    # told otherwise, the user wins
    assert resolve_weights(caffe_file, weights_format="torchvision").format == "torchvision"


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((a - b) ** 2)))


def test_conv_1_reconstruction_is_exact_with_caffe_pixels(caffe_file, photo):
    result = reconstruct(photo, "conv_1", weights=str(caffe_file), weights_format="caffe",
                         size=48, steps=100, device="cpu", precision="fp32")
    original = to_tensor(photo, 48)[0].permute(1, 2, 0).numpy()
    assert _psnr(result.image, original) > 40
    record = result.provenance()
    assert record["weights"]["format"] == "caffe" and record["params"]["weights_format"] == "caffe"


def test_caffe_pixels_are_only_for_a_file():
    for spec in ("random", "imagenet"):
        with pytest.raises(WeightsError, match="weights_format='caffe' is for a file"):
            resolve_weights(spec, weights_format="caffe", download=False)
    with pytest.raises(InputError, match="weights_format must be one of"):
        Config.for_task("transfer", weights_format="bgr")
