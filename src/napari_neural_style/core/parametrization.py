"""What the optimizer steps in: the pixels themselves, or decorrelated colour.

The loss is a function of the pixels ``x`` whichever it is; the parametrization only changes
the variables ``z`` the optimizer moves, ``x = M z`` per pixel, and so the path it takes (for
L-BFGS with a short history and a few hundred steps, which image it stops at; Olah et al.
2017, "Feature Visualization", Mordvintsev et al. 2018, "Differentiable Image
Parameterizations").  With ``M`` the square root of natural images' colour covariance, a step
of a given length in ``z`` changes luminance most and the two chroma directions several times
less, as photographs vary.  An untrained network's deep layers do not tell a pixel-scale
colour noise from the texture's own fine grain, so in ``rgb`` the optimizer leaves that noise
in a texture; in ``decorrelated`` colour it rarely gets there (docs/performance.md).

Each basis gives the optimizer's variable for starting pixels (:meth:`variable`), the pixels
the loss sees for that variable (:meth:`pixels`), the variable's gradient from the pixels'
(:meth:`pull_gradient`) and the projection that keeps the pixels in [0, 1] (:meth:`project`).
"""

from __future__ import annotations

import torch

from .config import PARAMETRIZATIONS

#: Square root of the colour covariance of ImageNet's photographs, ``C^1/2 = U S^1/2``: its
#: columns are the principal colour directions (luminance, then two chroma axes) scaled by the
#: square roots of their variances (Olah et al. 2017; lucid/optvis/param/color.py)
COLOUR_COVARIANCE_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))


class RGB:
    """The pixels are the variable: every method is the identity, the projection a clamp."""

    def noise(self, generator: torch.Generator, shape: tuple[int, int]) -> torch.Tensor:
        """Where a run from noise starts: uniform in [0, 1] in each channel."""
        return torch.rand((1, 3, *shape), generator=generator)

    def variable(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels

    def pixels(self, variable: torch.Tensor, bounded: bool = False) -> torch.Tensor:
        """The pixels the loss sees for ``variable`` (in [0, 1] if ``bounded``, as
        :meth:`project` left them)."""
        return variable

    def pull_gradient(self, variable: torch.Tensor, pixels: torch.Tensor,
                      held: torch.Tensor | None) -> None:
        """Nothing to do: the pixels' gradient is the variable's, ``held`` pixels' already 0."""

    @torch.no_grad()
    def project(self, variable: torch.Tensor) -> None:
        variable.clamp_(0, 1)


class DecorrelatedColour(RGB):
    """``x = M z`` at every pixel, ``M`` the colour covariance's square root scaled so that
    its luminance column has unit length (a step of the optimizer's length moves luminance as
    far as it would in ``rgb``, the two chroma axes several times less)."""

    def __init__(self):
        matrix = torch.tensor(COLOUR_COVARIANCE_SQRT)
        self.matrix = matrix / torch.linalg.vector_norm(matrix, dim=0).max()
        self.inverse = torch.linalg.inv(self.matrix)
        self._placed: dict[tuple, torch.Tensor] = {}

    def _apply(self, which: str, image: torch.Tensor, transposed: bool = False) -> torch.Tensor:
        """``self.matrix`` or ``self.inverse`` (``which``), or its transpose, times every
        pixel's colour of an ``(N, 3, H, W)`` image.  The matrix is copied to the image's
        device once: a copy from the host at every step would make a GPU wait for its queue,
        as L-BFGS's factors did (core/solvers.py)."""
        key = (which, image.device, image.dtype)
        if key not in self._placed:
            self._placed[key] = getattr(self, which).to(image)
        return torch.einsum("dc,ndhw->nchw" if transposed else "cd,ndhw->nchw",
                            self._placed[key], image)

    def noise(self, generator: torch.Generator, shape: tuple[int, int]) -> torch.Tensor:
        """Grey noise, ``0.5 + M (u, 0, 0)`` for ``u`` uniform in [-0.5, 0.5]: the optimizer
        takes out chroma in steps several times shorter than luminance, slowest at the
        border, where fewer of the network's windows see a pixel; an rgb noise's chroma
        stayed there (a gravel texture from conv_5-8 kept a frame of colour specks: chroma
        0.042 within 6 px of the border against 0.014 inside; from grey noise 0.006 and
        0.008).  A coloured style's colours come in as they do anywhere."""
        luminance = torch.rand((1, 1, *shape), generator=generator) - 0.5
        return 0.5 + luminance * self.matrix[:, 0, None, None]

    def variable(self, pixels: torch.Tensor) -> torch.Tensor:
        return self._apply("inverse", pixels.detach())

    def pixels(self, variable: torch.Tensor, bounded: bool = False) -> torch.Tensor:
        """``M z``, a leaf of its own: :meth:`pull_gradient` carries its gradient back.
        Bounded, clamped too: :meth:`project` went back through ``M^-1``, which rounds."""
        pixels = self._apply("matrix", variable.detach())
        return (pixels.clamp(0, 1) if bounded else pixels).requires_grad_(True)

    def pull_gradient(self, variable: torch.Tensor, pixels: torch.Tensor,
                      held: torch.Tensor | None) -> None:
        """``dL/dz = M^T dL/dx``, and 0 at every pixel with a channel ``held`` at a bound:
        each ``z`` moves all three channels, and a held channel pushed out again and again
        by steps that the projection undoes makes L-BFGS's memory of its steps wrong, and
        the loss jumps."""
        gradient = self._apply("matrix", pixels.grad, transposed=True)
        if held is not None:
            gradient.masked_fill_(held.any(1, keepdim=True), 0)
        variable.grad = gradient

    @torch.no_grad()
    def project(self, variable: torch.Tensor) -> None:
        """``z <- M^-1 clamp(M z, 0, 1)``: the nearest pixels in range, in the variable."""
        variable.copy_(self._apply("inverse", self._apply("matrix", variable).clamp(0, 1)))


def basis(name: str) -> RGB:
    """The basis a ``parametrization`` name (:data:`PARAMETRIZATIONS`, ``auto`` resolved)
    stands for."""
    if name not in PARAMETRIZATIONS[1:]:
        raise ValueError(f"parametrization must be one of {PARAMETRIZATIONS[1:]}, not {name!r}")
    return DecorrelatedColour() if name == "decorrelated" else RGB()
