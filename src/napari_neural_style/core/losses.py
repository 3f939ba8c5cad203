"""The loss terms, each normalized so that weights of order 1 balance each other.

Every term is a *relative* squared error: the squared distance to the target divided by the
target's own mean square.  A term is 0 at the target and about 1 for an unrelated image,
whatever the layer, the image size or the scale of the network's activations (ImageNet or
random weights alike).  That is why the default weights (content weight 1, style weight 0.5)
balance without anyone typing 1e6.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Keeps the relative errors finite for an all-black target.
EPS = 1e-8


def relative_mse(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean((value - target)^2) / (mean(target^2) + eps)``, accumulated in float32, for a
    constant ``target``: :func:`relative` of :func:`mean_squared_error`."""
    return relative(mean_squared_error(value, target), target)


def mean_squared_error(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean((value - target)^2)`` in float32, for a constant ``target``: a mean over
    positions.  One map-sized temporary, not three: ``mse_loss`` squares the difference
    where it makes it (a block-1 map is the largest tensor of a step)."""
    value, target = torch.broadcast_tensors(value.float(), target.detach().float())
    return F.mse_loss(value, target)


def relative(error: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``error / (mean(target^2) + eps)``: a squared error in units of the target's own mean
    square (its norm, not a map-sized square)."""
    target = target.detach().float()
    return relative_to(error, torch.linalg.vector_norm(target).square() / target.numel())


def relative_to(error: torch.Tensor, mean_square: torch.Tensor) -> torch.Tensor:
    """``error / (mean_square + eps)``: :func:`relative` where the target's mean square is
    known without the target (summed over tiles)."""
    return error / (mean_square + EPS)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``G = F F^T / (H W)`` of ``(N, C, H, W)`` features, shape ``(N, C, C)``.

    ``F`` is the ``(C, H W)`` matrix of one image's features; dividing by the number of
    positions makes ``G[i, j]`` the spatial mean of ``f_i * f_j``, so Grams of images of
    different sizes compare directly.  Computed in float32 whatever the input precision.
    """
    return _Gram.apply(features)


class _Gram(torch.autograd.Function):
    """``G = F F^T / n`` (in float32) with the backward pass ``dF = (dG + dG^T) F / n``.

    Autograd's generic matmul backward would multiply by ``F`` twice (once per operand) and add
    the two large results; the symmetric form needs one product.  ``F`` is read in the layout
    the features already have, so channels_last maps need no copy either.  The features are
    kept for the backward pass as they came (bfloat16 under autocast), not as a float32 copy
    twice their size, and the backward
    product runs in bfloat16 when they are, accumulating in float32.
    """

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(features)
        positions = features.shape[-2] * features.shape[-1]
        return sum(map(_outer_sum, float_rows(features))) / positions

    @staticmethod
    def backward(ctx, grad_gram: torch.Tensor) -> torch.Tensor:
        (features,) = ctx.saved_tensors
        # in bfloat16 if the features are (their gradient is bfloat16 anyway); float16 lacks
        # float32's range, and the small entries of dG / (H W) would vanish
        precision = torch.bfloat16 if features.dtype == torch.bfloat16 else torch.float32
        matrix, channels_last = _as_matrix(features.to(precision))
        n, c, h, w = features.shape
        symmetric = ((grad_gram + grad_gram.transpose(1, 2)) / (h * w)).to(precision)
        if channels_last:
            return (matrix @ symmetric).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return (symmetric @ matrix).reshape(n, c, h, w)


#: float32 elements of features converted at a time for a sum over positions: a bf16 map
#: converted whole would be a pass's largest buffer (a tile's interior is a strided view)
FLOAT_CHUNK = 1 << 23


def float_rows(features: torch.Tensor, mask: torch.Tensor | None = None
               ) -> Iterator[torch.Tensor]:
    """``(N, C, H, W)`` features as float32 blocks of rows, each about :data:`FLOAT_CHUNK`
    elements, converted as they are taken (and weighted by the same rows of a ``(N, 1, H,
    W)`` ``mask``): a sum over positions adds the blocks' sums, holding one float32 block at
    a time."""
    rows = max(1, FLOAT_CHUNK // max(1, features.shape[1] * features.shape[-1]))
    if mask is None:
        return (block.float() for block in features.split(rows, dim=-2))
    return (block.float() * weights for block, weights in
            zip(features.split(rows, dim=-2), mask.float().split(rows, dim=-2), strict=True))


def _outer_sum(features: torch.Tensor) -> torch.Tensor:
    """``F F^T`` ``(N, C, C)`` of float32 features, in the layout they have."""
    matrix, channels_last = _as_matrix(features)
    if channels_last:  # matrix is (N, HW, C)
        return matrix.transpose(1, 2) @ matrix
    return matrix @ matrix.transpose(1, 2)


def _as_matrix(features: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(N, HW, C)`` view of channels_last features, else ``(N, C, HW)``."""
    n, c, h, w = features.shape
    # by strides, not contiguity: a tile's interior is a strided view of a channels_last map
    if c > 1 and h * w > 1 and features.stride(1) == 1:
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


@dataclass(frozen=True)
class Moments:
    """The first and second raw moments of features over positions: ``mean = E[f]`` ``(C,)``
    and ``second = E[f f^T]`` ``(C, C)``, which is the Gram matrix.

    Every style statistic is made from these, because they are what blends: each is a mean
    over positions, so the features of a collage whose positions come from style ``i`` in
    proportion ``w_i`` have exactly the moments ``sum_i w_i M_i`` (:func:`blend`).  The
    covariance ``E[f f^T] - mu mu^T`` is not linear in the styles, so it is derived after
    blending, never blended itself.
    """

    mean: torch.Tensor  # (C,)
    second: torch.Tensor  # (C, C)

    @classmethod
    def of(cls, features: torch.Tensor, mask: torch.Tensor | None = None,
           total: torch.Tensor | float | None = None) -> Moments:
        """The moments of ``(1, C, H, W)`` features, in float32; with a ``(1, 1, H, W)``
        ``mask`` ``m``, over positions weighted by it, ``E_m[g] = sum m g / sum m`` (the guided
        moments of Gatys et al. 2017: a binary mask gives the region's own moments).  With
        ``total``, the sums are divided by it instead (the whole image's ``sum m``, or its
        positions): a tile's part of the whole image's moments."""
        sums = sum(block.sum(dim=(0, 2, 3)) for block in float_rows(features, mask))
        if mask is None:
            positions = features.shape[-2] * features.shape[-1] if total is None else total
            return cls(sums / positions, second_moment(features, None, total))
        divisor = mask.sum() if total is None else total
        return cls(sums / divisor, second_moment(features, mask, total))

    @property
    def covariance(self) -> torch.Tensor:
        """``C = E[f f^T] - mu mu^T``."""
        return self.second - torch.outer(self.mean, self.mean)


def second_moment(features: torch.Tensor, mask: torch.Tensor | None = None,
                  total: torch.Tensor | float | None = None) -> torch.Tensor:
    """``E_m[f f^T]`` ``(C, C)``: the Gram matrix, over positions weighted by ``mask`` if
    given, ``G_m = (F m^1/2)(F m^1/2)^T / sum m`` (:func:`gram_matrix` of the masked features,
    rescaled from its mean over all positions to the mask's); with ``total``, the sum divided
    by it instead of by ``sum m`` (or the positions)."""
    positions = features.shape[-2] * features.shape[-1]
    if mask is None:
        gram = gram_matrix(features)[0]
        return gram if total is None else gram * (positions / total)
    # weighted in the features' own precision, as the unmasked Gram takes them
    divisor = mask.sum() if total is None else total
    return gram_matrix(features * mask.sqrt().to(features.dtype))[0] * (positions / divisor)


def blend(moments: list[Moments], proportions: tuple[float, ...] | None = None) -> Moments:
    """``sum_i w_i M_i``: the moments of a mixture of the styles in ``proportions`` (which sum
    to 1; None: equal).  One style of weight 1 gives its own moments exactly."""
    weights = proportions or (1 / len(moments),) * len(moments)
    return Moments(
        sum(weight * each.mean for weight, each in zip(weights, moments, strict=True)),
        sum(weight * each.second for weight, each in zip(weights, moments, strict=True)))


class StyleTarget:
    """A style statistic to match: :meth:`statistic` of features (a mean over the positions
    a mask weighs, so tiles and regions combine), :meth:`score` of it against the target."""

    def statistic(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                  total: torch.Tensor | float | None = None):
        """The statistic of ``features`` over the positions ``mask`` weighs; with ``total``
        (the whole image's weight), the part of the whole image's statistic that these
        positions make."""
        raise NotImplementedError

    def part(self, features: torch.Tensor, box: tuple[slice, slice], positions: int):
        """The part of the whole image's statistic made by ``features``, which stand at
        ``box`` of a map of ``positions`` positions: the parts of a tiling sum to it."""
        return self.statistic(features, None, positions)

    def score(self, statistic) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(self.statistic(features, mask))


@dataclass(frozen=True)
class GramTarget(StyleTarget):
    """Gatys et al.'s style statistic: the Gram matrix of the style's features,
    ``L = mean((G - A)^2) / mean(A^2)`` (:func:`style_loss`)."""

    gram: torch.Tensor

    @classmethod
    def of(cls, moments: Moments) -> GramTarget:
        return cls(moments.second)

    def statistic(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                  total: torch.Tensor | float | None = None) -> torch.Tensor:
        """The Gram matrix, over the positions ``mask`` weighs if given."""
        if mask is None and total is None:
            return gram_matrix(features)
        return second_moment(features, mask, total)

    def score(self, statistic: torch.Tensor) -> torch.Tensor:
        return relative_mse(statistic, self.gram)


@dataclass(frozen=True)
class MeanCovTarget(StyleTarget):
    """Mean ``mu_t`` and covariance ``C_t`` of the style's features (a Gaussian fit), for the
    squared 2-Wasserstein distance between Gaussians, relative to the target's own size:

    ``L = (|mu - mu_t|^2 + tr(C + C_t - 2 (C_t^1/2 C C_t^1/2)^1/2)) / (|mu_t|^2 + tr C_t)``

    (the denominator is the distance of the target from all-zero features, so an unrelated
    image scores about 1, like the other terms).  Unlike the Gram matrix, which mixes the
    means into every entry, it weighs the colour and texture statistics apart (crowsonkb's
    style-transfer-pytorch).  ``C_t^1/2`` is exact (eigh, once); the square root that
    depends on the image is taken by Newton-Schulz iterations, whose gradient is defined even
    when the covariance is singular (fewer positions than channels).
    """

    mean: torch.Tensor  # (C,)
    cov: torch.Tensor  # (C, C)
    cov_sqrt: torch.Tensor  # (C, C)

    @classmethod
    def of(cls, moments: Moments) -> MeanCovTarget:
        cov = moments.covariance
        return cls(moments.mean, cov, symmetric_sqrt(cov.double()).float())

    def statistic(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                  total: torch.Tensor | float | None = None) -> Moments:
        return Moments.of(features, mask, total)

    def score(self, statistic: Moments) -> torch.Tensor:
        cov = statistic.covariance
        cross = sqrtm_newton_schulz(self.cov_sqrt @ cov @ self.cov_sqrt)
        distance = (statistic.mean - self.mean).pow(2).sum() + \
            torch.trace(cov + self.cov - 2 * cross)
        return distance / (self.mean.pow(2).sum() + torch.trace(self.cov) + EPS)


def symmetric_sqrt(matrix: torch.Tensor, inverse: bool = False,
                   floor: float = 0.0) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (or of its
    inverse), exactly, by eigendecomposition; eigenvalues below ``floor`` are raised to it
    (an inverse needs ``floor > 0``).  Not for gradients: see :func:`sqrtm_newton_schulz`."""
    values, vectors = torch.linalg.eigh(matrix)
    roots = values.clamp_min(floor).sqrt()
    return (vectors * (1 / roots if inverse else roots)) @ vectors.T


def sqrtm_newton_schulz(matrix: torch.Tensor, iterations: int = 12) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix by the coupled Newton-Schulz
    iteration ``T = (3 I - Z Y) / 2, Y <- Y T, Z <- T Z`` on ``A / |A|_F`` (which it needs:
    eigenvalues in (0, 1]), then times ``|A|_F^1/2``.  Matrix products only: fast on any
    device, and differentiable through autograd."""
    norm = matrix.norm() + EPS
    identity = torch.eye(len(matrix), dtype=matrix.dtype, device=matrix.device)
    y, z = matrix / norm, identity
    for _ in range(iterations):
        t = (3 * identity - z @ y) / 2
        y, z = y @ t, t @ z
    return y * norm.sqrt()


#: the style statistics ``Config.style_loss`` chooses between, each made from :class:`Moments`
STYLE_TARGETS = {"gram": GramTarget.of, "meancov": MeanCovTarget.of}
