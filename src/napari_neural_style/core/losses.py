"""The loss terms, each normalized so that weights of order 1 balance each other.

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
    return _Gram.apply(features.float())


class _Gram(torch.autograd.Function):
    """``G = F F^T / n`` with the backward pass ``dF = (dG + dG^T) F / n``.

    Autograd's generic matmul backward would multiply by ``F`` twice (once per operand) and add
    the two large results; the symmetric form needs one product.  ``F`` is read in the layout
    the features already have, so channels_last maps need no copy either.
    """

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        matrix, channels_last = _as_matrix(features)
        ctx.save_for_backward(matrix)
        ctx.channels_last, ctx.shape = channels_last, features.shape
        positions = features.shape[-2] * features.shape[-1]
        if channels_last:  # matrix is (N, HW, C)
            return matrix.transpose(1, 2) @ matrix / positions
        return matrix @ matrix.transpose(1, 2) / positions

    @staticmethod
    def backward(ctx, grad_gram: torch.Tensor) -> torch.Tensor:
        (matrix,) = ctx.saved_tensors
        n, c, h, w = ctx.shape
        symmetric = (grad_gram + grad_gram.transpose(1, 2)) / (h * w)
        if ctx.channels_last:
            return (matrix @ symmetric).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return (symmetric @ matrix).reshape(n, c, h, w)


def _as_matrix(features: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(N, HW, C)`` view of channels_last features, else ``(N, C, HW)``."""
    n, c, h, w = features.shape
    if features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous():
        return features.permute(0, 2, 3, 1).reshape(n, h * w, c), True
    return features.reshape(n, c, h * w), False


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
