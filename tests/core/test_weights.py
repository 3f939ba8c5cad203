import hashlib
import sys
import urllib.error

import pytest
import torch

from helpers import in_python
from napari_neural_style.core import weights as weights_module
from napari_neural_style.core.errors import WeightsError
from napari_neural_style.core.weights import (
    ENV_VAR,
    conv_shapes,
    hub_cache_file,
    random_weights,
    resolve_weights,
)


def _full_model_state(seed=3):
    """A torchvision-style VGG-19 state dict (features + a tiny stand-in classifier)."""
    state = {f"features.{key}": value.clone() for key, value in random_weights(seed).state.items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)
    return state


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_explicit_file_full_model_keys(tmp_path):
    path = tmp_path / "vgg.pth"
    torch.save(_full_model_state(), path)
    weights = resolve_weights(str(path))
    assert weights.source == "file" and weights.sha256 == _sha(path)
    assert set(weights.state) == set(random_weights(3).state)
    assert torch.equal(weights.state["34.weight"], random_weights(3).state["34.weight"])
    assert "classifier.0.weight" not in weights.state


def test_features_only_file_and_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / "features.pth"
    torch.save(random_weights(4).state, path)
    monkeypatch.setenv(ENV_VAR, str(path))
    weights = resolve_weights("imagenet")
    assert weights.source == "file" and weights.path == str(path)
    assert torch.equal(weights.state["0.weight"], random_weights(4).state["0.weight"])


def test_hub_cache_is_used_before_any_download(monkeypatch):
    cached = hub_cache_file()
    cached.parent.mkdir(parents=True)
    torch.save(_full_model_state(), cached)

    def no_download(*args, **kwargs):
        raise AssertionError("must not download when the cache has the file")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    weights = resolve_weights("imagenet")
    assert weights.source == "cache" and "ImageNet" in weights.label
    assert weights.sha256 == _sha(cached)


def test_download_through_torchvision_when_not_cached(monkeypatch):
    calls = []

    def fake_download(url, progress, check_hash, weights_only):
        calls.append((url, progress, check_hash, weights_only))
        return _full_model_state()

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    weights = resolve_weights("imagenet")
    assert weights.source == "download"
    assert calls == [(weights_module.imagenet_url(), True, True, True)]


def test_offline_error_says_where_to_put_the_file(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsError) as error:
        resolve_weights("imagenet")
    message = str(error.value)
    assert str(hub_cache_file()) in message and "weights='random'" in message
    assert ENV_VAR in message
    with pytest.raises(WeightsError, match="downloads are disabled"):
        resolve_weights("imagenet", download=False)


def test_wrong_shapes_and_junk_are_refused(tmp_path):
    state = _full_model_state()
    state["features.10.weight"] = torch.zeros(256, 128, 5, 5)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match=r"features.10.weight has shape \(256, 128, 5, 5\)"):
        resolve_weights(tmp_path / "bad.pth")
    del state["features.10.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(WeightsError, match=r"lack features\.10\.weight"):
        resolve_weights(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(WeightsError, match="cannot read"):
        resolve_weights(tmp_path / "junk.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="not a state dict"):
        resolve_weights(tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="does not exist"):
        resolve_weights(tmp_path / "absent.pth")


def test_random_weights_are_seeded_and_labelled():
    first, again, other = resolve_weights("random"), resolve_weights("random:0"), resolve_weights(
        "random:1")
    assert first.is_random and "random" in first.label and "untrained" in first.label
    assert first.sha256 == again.sha256 != other.sha256
    with pytest.raises(WeightsError, match="random:SEED"):
        resolve_weights("random:x")
    with pytest.raises(WeightsError, match="random-kaiming:SEED"):
        resolve_weights("random-kaiming:1.5")


def test_the_untrained_network_is_two_orthogonal_networks_with_average_pooling():
    weights = resolve_weights("random")
    assert weights.pooling == "avg" and len(weights.members) == 2
    assert weights.describe()["networks"] == 2 and "2 networks" in weights.label
    for state in weights.members:
        for index, (out_channels, _) in conv_shapes().items():
            matrix = state[f"{index}.weight"].reshape(out_channels, -1).double()
            small = matrix @ matrix.T if matrix.shape[0] <= matrix.shape[1] else \
                matrix.T @ matrix
            torch.testing.assert_close(small, 2 * torch.eye(len(small), dtype=torch.float64),
                                       atol=1e-5, rtol=0)
            assert not state[f"{index}.bias"].any()
    assert not torch.equal(weights.state["0.weight"], weights.others[0]["0.weight"])


#: ``random`` (seed 0) as it was on 2026-11-29, one network, now ``random-single``: the first
#: and last kernels' first values and sums of magnitudes.  Not its sha256: LAPACK's float32 QR
#: differs between CPUs by up to ~3e-7 (the draw hashed otherwise on an AMD EPYC than on the
#: Intel CPUs before it)
SINGLE_DRAW = {"0.weight": ((-0.1929456, -0.1773785, -0.0801124, -0.0274725), 243.98074),
               "34.weight": ((-0.0322100, 0.0238034, 0.0018988, -0.0021685), 39215.986)}


def test_random_single_is_the_first_network_of_the_pair():
    single, pair = resolve_weights("random-single"), resolve_weights("random")
    for key, (first, magnitude) in SINGLE_DRAW.items():
        kernel = single.state[key].double()
        assert kernel.flatten()[:4].tolist() == pytest.approx(first, abs=1e-5)
        assert float(kernel.abs().sum()) == pytest.approx(magnitude, rel=1e-6)
    assert single.sha256 != pair.sha256 and single.members == (single.state,)
    assert all(torch.equal(value, pair.state[key]) for key, value in single.state.items())
    assert single.describe()["networks"] == 1 and single.pooling == "avg"


#: sha256 of version 0.1's ``random`` (seed 0, 3) network, as its code made it
KAIMING_SHA256 = {0: "490ee87dc256ed6eecb865ba79cd78ea70d64894f37966ffb202fb453f70bd59",
                  3: "9153db17f7d92a494417c5a8e21526e3e4f05eaca536e165aa857e045c08662d"}


def test_random_kaiming_is_the_untrained_network_of_0_1():
    for seed, sha256 in KAIMING_SHA256.items():
        weights = resolve_weights(f"random-kaiming:{seed}")
        assert weights.sha256 == sha256 and weights.pooling == "max" and weights.is_random
    assert resolve_weights("random-kaiming").sha256 == KAIMING_SHA256[0]


def test_auto_pooling_follows_the_weights(photo):
    from napari_neural_style.core.tasks import reconstruct

    for spec, pooling in (("random", "avg"), ("random-kaiming", "max")):
        result = reconstruct(photo, "conv_4", size=32, steps=1, weights=spec, device="cpu")
        assert result.config.pooling == "auto" and result.provenance()["pooling"] == pooling
    forced = reconstruct(photo, "conv_4", size=32, steps=1, weights="random", pooling="max",
                         device="cpu")
    assert forced.provenance()["pooling"] == "max"


def test_imagenet_comes_through_torchvisions_weights_api():
    from torchvision.models import VGG19_Weights

    from napari_neural_style.core.weights import PIXEL_FORMATS, imagenet_url

    imagenet = VGG19_Weights.IMAGENET1K_V1
    assert imagenet_url() == imagenet.url
    assert hub_cache_file().name == imagenet.url.rsplit("/", 1)[-1] == "vgg19-dcbb9e9d.pth"
    # the network normalizes its input as the weights were trained
    preprocessing = imagenet.transforms()
    assert list(PIXEL_FORMATS["torchvision"].mean) == list(preprocessing.mean)
    assert list(PIXEL_FORMATS["torchvision"].std) == list(preprocessing.std)


class _Payload:
    """A pickle that would make a folder when loaded with weights_only=False."""

    def __init__(self, folder):
        self.folder = str(folder)

    def __reduce__(self):
        import os

        return (os.makedirs, (self.folder,))


def test_a_file_carrying_code_or_random_bytes_is_refused_in_our_words(tmp_path):
    torch.save({"features.0.weight": _Payload(tmp_path / "ran")}, tmp_path / "code.pth")
    with pytest.raises(WeightsError) as refused:
        resolve_weights(tmp_path / "code.pth")
    message = str(refused.value)
    assert "was refused: loading it would call os.makedirs" in message
    assert "will likely succeed" not in message and "\n" not in message
    assert not (tmp_path / "ran").exists()
    (tmp_path / "bytes.pth").write_bytes(bytes(range(256)) * 16)
    with pytest.raises(WeightsError, match="not a PyTorch file of tensors"):
        resolve_weights(tmp_path / "bytes.pth")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallinfo2")
def test_drawing_untrained_weights_keeps_no_more_than_the_kernels():
    """MKL keeps its QR buffers (41 MB) unless given back."""
    script = (
        "import ctypes, torch\n"
        "from napari_neural_style.core.weights import random_weights\n"
        "class Info(ctypes.Structure):\n"
        "    _fields_ = [(name, ctypes.c_size_t) for name in 'arena ordblks smblks hblks "
        "hblkhd usmblks fsmblks uordblks fordblks keepcost'.split()]\n"
        "libc = ctypes.CDLL('libc.so.6'); libc.mallinfo2.restype = Info\n"
        "def used():\n"
        "    info = libc.mallinfo2(); return info.uordblks + info.hblkhd\n"
        "before = used(); weights = random_weights(5, 'random-single')\n"
        "kernels = sum(t.numel() * t.element_size() for t in weights.state.values())\n"
        "print((used() - before) / kernels)\n"
    )
    completed = in_python(script)
    assert float(completed.stdout) < 1.15


def test_cached_imagenet_weights_load_without_torchvision(tmp_path):
    """Importing torchvision imports torch._dynamo and triton (150 MB): only a download needs
    it."""
    script = (
        "import os, sys, torch\n"
        "os.environ.pop('NAPARI_NEURAL_STYLE_WEIGHTS', None)\n"
        "from napari_neural_style.core.weights import hub_cache_file, random_weights, "
        "resolve_weights\n"
        "cached = hub_cache_file(); cached.parent.mkdir(parents=True)\n"
        "torch.save(random_weights(4, 'random-single').state, cached)\n"
        "weights = resolve_weights('imagenet', download=False)\n"
        "print(weights.source, 'torchvision' in sys.modules, 'torch._dynamo' in sys.modules)\n"
    )
    completed = in_python(script, env={"TORCH_HOME": str(tmp_path)})
    assert completed.stdout.split() == ["cache", "False", "False"]
