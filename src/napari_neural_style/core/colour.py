"""Colour control (Gatys et al. 2017, "Controlling perceptual factors in neural style
transfer"): whose colours a transfer's result takes.

* ``style`` (the default): no control; the result takes the style's colours with its texture.
* ``luminance``: the transfer runs on luminance alone.  The style's luminance is first given
  the content's mean and spread, ``Y_s' = (Y_s - mean Y_s) / std Y_s * std Y_c + mean Y_c``;
  the result's luminance is then joined to the content's chrominance (I, Q of YIQ).
* ``match``: before the transfer, the style's pixels are mapped linearly to the content's
  colour mean and covariance, ``x' = C_c^(1/2) C_s^(-1/2) (x - mu_s) + mu_c`` with symmetric
  matrix square roots (the "PCA" form of the paper; Cholesky factors would do too, with a
  rotation between them).
* ``original``: the transfer as usual, then the result's luminance joined to the content's
  chrominance: cheap, after the fact (jcjohnson/neural-style's ``-original_colors``).

YIQ is scikit-image's (``skimage.color``); images are ``(1, 3, H, W)`` tensors in [0, 1].
"""

from __future__ import annotations

import torch

from .images import resize
from .losses import symmetric_sqrt

#: below this, a colour channel's spread is taken as none (a flat or grey image)
EPS = 1e-5


def _yiq_from_rgb(image: torch.Tensor) -> torch.Tensor:
    from skimage.color.colorconv import yiq_from_rgb

    matrix = torch.tensor(yiq_from_rgb, dtype=image.dtype, device=image.device)
    return torch.einsum("ij,njhw->nihw", matrix, image)


def _rgb_from_yiq(image: torch.Tensor) -> torch.Tensor:
    from skimage.color.colorconv import rgb_from_yiq

    matrix = torch.tensor(rgb_from_yiq, dtype=image.dtype, device=image.device)
    return torch.einsum("ij,njhw->nihw", matrix, image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """The ``(N, 1, H, W)`` luminance Y."""
    return _yiq_from_rgb(image)[:, :1]


def network_inputs(colour: str, content: torch.Tensor | None, styles: list[torch.Tensor]
                   ) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
    """The content and style images the network sees under ``colour``."""
    if content is None or colour not in ("luminance", "match"):
        return content, styles
    if colour == "match":
        return content, [match_colours(style, content) for style in styles]
    content_y = luminance(content)
    return content_y.expand(-1, 3, -1, -1), [
        _matched_luminance(luminance(style), content_y).expand(-1, 3, -1, -1)
        for style in styles]


def _matched_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """``style_y`` given ``content_y``'s mean and spread."""
    return (style_y - style_y.mean()) / (style_y.std() + EPS) * content_y.std() + \
        content_y.mean()


def match_colours(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``image`` mapped linearly to ``reference``'s colour mean and covariance (see the module
    docstring); computed in float64, not clipped (values may leave [0, 1] a little)."""
    pixels = image.double().flatten(2)[0]  # (3, HW)
    target = reference.double().flatten(2)[0]
    mean, target_mean = pixels.mean(1, keepdim=True), target.mean(1, keepdim=True)
    transform = symmetric_sqrt(torch.cov(target), floor=EPS) @ \
        symmetric_sqrt(torch.cov(pixels), inverse=True, floor=EPS)
    mapped = transform @ (pixels - mean) + target_mean
    return mapped.reshape(image.shape).to(image.dtype)


def result_colours(colour: str, result: torch.Tensor, content: torch.Tensor | None
                   ) -> torch.Tensor:
    """The result as the user sees it: under ``luminance`` and ``original`` its luminance
    joined to ``content``'s chrominance (``content`` resized to the result's shape)."""
    if colour not in ("luminance", "original") or content is None:
        return result
    joined = _yiq_from_rgb(resize(content, tuple(result.shape[-2:])).to(result.device))
    joined[:, :1] = luminance(result)
    return _rgb_from_yiq(joined).clamp(0, 1)
