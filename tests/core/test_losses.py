import numpy as np
import pytest
import torch

from napari_neural_style.core.losses import content_loss, gram_matrix, style_loss, tv_loss


def _features(seed=0, shape=(1, 5, 6, 7)):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


def test_gram_matrix_matches_numpy():
    features = _features()
    flat = features[0].numpy().reshape(5, -1).astype(np.float64)
    expected = flat @ flat.T / flat.shape[1]
    np.testing.assert_allclose(gram_matrix(features)[0].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_content_loss_is_relative_mse():
    value, target = _features(1), _features(2)
    v, t = value.numpy().astype(np.float64), target.numpy().astype(np.float64)
    expected = ((v - t) ** 2).mean() / (t**2).mean()
    np.testing.assert_allclose(content_loss(value, target).item(), expected, rtol=1e-5)
    assert content_loss(target, target).item() == 0.0


def test_style_loss_compares_gram_matrices():
    value, target = _features(1), _features(2)
    g = gram_matrix(value)[0].numpy().astype(np.float64)
    a = gram_matrix(target)[0].numpy().astype(np.float64)
    expected = ((g - a) ** 2).mean() / (a**2).mean()
    np.testing.assert_allclose(style_loss(value, gram_matrix(target)).item(), expected,
                               rtol=1e-4)
    # a Gram matrix ignores where things are: a shuffled image has the same style
    shuffled = value[..., torch.randperm(value.shape[-1])]
    assert style_loss(shuffled, gram_matrix(value)).item() < 1e-10


def test_losses_accumulate_in_float32_from_bfloat16():
    features = _features().bfloat16()
    assert gram_matrix(features).dtype == torch.float32
    assert content_loss(features, features.float()).dtype == torch.float32


def test_tv_loss_matches_numpy():
    image = torch.rand(1, 3, 8, 9)
    x = image.numpy().astype(np.float64)
    expected = (np.diff(x, axis=2) ** 2).mean() + (np.diff(x, axis=3) ** 2).mean()
    np.testing.assert_allclose(tv_loss(image).item(), expected, rtol=1e-5)


def test_gram_gradient_matches_autograd_in_both_memory_formats():
    for memory_format in (torch.contiguous_format, torch.channels_last):
        features = torch.randn(2, 4, 5, 3, dtype=torch.float64).contiguous(
            memory_format=memory_format).requires_grad_(True)
        weight = torch.randn(2, 4, 4, dtype=torch.float64)
        (gram_matrix(features).double() * weight).sum().backward()
        reference = features.detach().clone().requires_grad_(True)
        flat = reference.reshape(2, 4, 15)
        ((flat @ flat.transpose(1, 2) / 15) * weight).sum().backward()
        torch.testing.assert_close(features.grad, reference.grad, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(gram_matrix(features).double(),
                                   (flat @ flat.transpose(1, 2) / 15).detach().double(),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_gram_gradient_of_low_precision_features_keeps_small_entries(dtype):
    """bf16 features: the backward product runs in bf16, which has float32's range; fp16 ones
    in float32: in fp16, dG / (H W) (here ~1e-8) would vanish."""
    features = (torch.randn(1, 8, 64, 64, generator=torch.Generator().manual_seed(0)) * 10)
    features = features.to(dtype).requires_grad_(True)
    weight = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(1)) * 1e-4
    (gram_matrix(features) * weight).sum().backward()
    reference = features.detach().double().requires_grad_(True)
    flat = reference.reshape(1, 8, -1)
    ((flat @ flat.transpose(1, 2) / flat.shape[-1]) * weight.double()).sum().backward()
    error = (features.grad.double() - reference.grad).norm() / reference.grad.norm()
    assert features.grad.dtype == dtype and error < 0.05, error
