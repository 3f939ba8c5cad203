"""The mean-and-covariance style loss: 0 at its target, the gradient of its closed form."""

import torch

from napari_neural_style.core.losses import (
    MeanCovTarget,
    Moments,
    sqrtm_newton_schulz,
)
from napari_neural_style.core.tasks import synthesize_texture


def _features(seed: int, channels: int = 6) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, channels, 12, 12, generator=generator).relu() + 0.1


def _sqrtm_exact(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def test_newton_schulz_gives_the_square_root():
    a = torch.randn(8, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    covariance = a @ a.T / 40
    torch.testing.assert_close(sqrtm_newton_schulz(covariance, 20), _sqrtm_exact(covariance),
                               atol=1e-8, rtol=1e-6)


def test_the_loss_is_zero_at_its_target_and_not_elsewhere():
    target = MeanCovTarget.of(Moments.of(_features(0)))
    assert float(target.loss(_features(0))) < 1e-6
    assert float(target.loss(_features(1))) > 1e-3


def test_the_gradient_is_the_closed_forms():
    target_features, image = _features(0).double(), _features(1).double().requires_grad_(True)
    moments = Moments.of(target_features)
    mean_t, cov_t = moments.mean.double(), moments.covariance.double()
    root_t = _sqrtm_exact(cov_t)

    def closed_form(features):
        mean = features.mean(dim=(0, 2, 3))
        flat = features.flatten(2)[0]
        cov = flat @ flat.T / flat.shape[1] - torch.outer(mean, mean)
        cross = _sqrtm_exact(root_t @ cov @ root_t)
        distance = (mean - mean_t).pow(2).sum() + torch.trace(cov + cov_t - 2 * cross)
        return distance / (mean_t.pow(2).sum() + torch.trace(cov_t))

    (expected,) = torch.autograd.grad(closed_form(image), image)
    target = MeanCovTarget.of(Moments.of(target_features))
    (got,) = torch.autograd.grad(target.loss(image.float()), image)
    with torch.no_grad():
        torch.testing.assert_close(float(target.loss(image.float())),
                                   float(closed_form(image)), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got.double(), expected, atol=1e-5, rtol=1e-3)


def test_a_texture_synthesised_with_meancov_matches_its_statistics(texture):
    result = synthesize_texture(texture, "conv_1,conv_2", size=32, steps=40, style_loss="meancov",
                                weights="random", device="cpu")
    assert result.history[-1]["total"] < 0.05 * result.history[0]["total"]
    assert result.provenance()["params"]["style_loss"] == "meancov"
