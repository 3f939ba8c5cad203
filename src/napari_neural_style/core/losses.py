"""The loss terms, each normalised so that weights of order 1 balance each other.

Every term is a *relative* squared error: the squared distance to the target divided by the
target's own mean square.  A term is 0 at the target and about 1 for an unrelated image,
whatever the layer, the image size or the scale of the network's activations (ImageNet or
random weights alike).  That is why the seed's settings (content weight 1, style weight 0.5)
balance without anyone typing 1e6.
"""

from __future__ import annotations

import torch

#: Keeps the relative errors finite for an all-black target.
EPS = 1e-8


def relative_mse(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean((value - target)^2) / (mean(target^2) + eps)``, accumulated in float32."""
    value, target = value.float(), target.float()
    return (value - target).pow(2).mean() / (target.pow(2).mean() + EPS)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``G = F F^T / (H W)`` of ``(N, C, H, W)`` features, shape ``(N, C, C)``.

    ``F`` is the ``(C, H W)`` matrix of one image's features; dividing by the number of
    positions makes ``G[i, j]`` the spatial mean of ``f_i * f_j``, so Grams of images of
    different sizes compare directly.  Computed in float32 whatever the input precision.
    """
    n, c, h, w = features.shape
    flat = features.float().reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L_content = mean((F - P)^2) / mean(P^2)`` for features ``F`` and target ``P``."""
    return relative_mse(features, target)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """``L_style = mean((G(F) - A)^2) / mean(A^2)`` for the target Gram matrix ``A``."""
    return relative_mse(gram_matrix(features), target_gram)


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation ``mean((x[i+1, j] - x[i, j])^2) + mean((x[i, j+1] - x[i, j])^2)``."""
    image = image.float()
    vertical = (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean()
    return vertical + horizontal
