"""The one optimization loop: pixels against a weighted sum of feature losses, as a generator.

``optimize_batch(evaluate, images, steps)`` optimizes several images at once: each step is one
forward and backward pass for all of them (``evaluate``), then one optimizer step per image,
so every image follows the trajectory it would follow alone.  It yields the list of
:class:`Step` s after every evaluation; closing the generator cancels the run.  A step is one
evaluation of the loss and its gradient, so ``steps`` is what the user pays for.

Pixels stay in the range an image can show, [0, 1] (``bounded``): the optimization is
projected, as L-BFGS-B bounds it.  A pixel at a bound whose gradient points out of the range
is held (its gradient zeroed, so the optimizer's direction leaves it alone), and each step's
image is clamped to the range (in the variables of the :mod:`.parametrization` the optimizer
steps in).  Unbounded, the optimizer pushes pixels far outside it (to -11
in a transfer with a dark style) and the image a user sees, clipped, is not the one optimized.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import DEFAULT_LEARNING_RATES, OPTIMIZERS
from .objective import Losses
from .parametrization import RGB, basis
from .solvers import LBFGS, Adam

#: pixels of every image -> (loss tensor, Losses) for every image, from one shared pass
Evaluate = Callable[[list[torch.Tensor]], list[tuple[torch.Tensor, Losses]]]


@dataclass
class Step:
    """One evaluated image: step ``step`` of ``total``, its losses and the pixels evaluated."""

    step: int
    total: int
    losses: Losses
    elapsed: float  # seconds since the loop started
    pixels: torch.Tensor = field(repr=False)  # (1, 3, H, W), detached, on the run's device

    @property
    def image(self) -> np.ndarray:
        """The evaluated image as float32 ``(H, W, 3)`` in [0, 1]."""
        from .images import to_numpy

        return to_numpy(self.pixels)


def make_optimizer(pixels: torch.Tensor, optimizer: str, learning_rate: float | None,
                   lbfgs_history: int) -> LBFGS | Adam:
    """L-BFGS, one evaluation a step and no stopping on small changes (:mod:`.solvers`), or
    Adam."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")
    rate = DEFAULT_LEARNING_RATES[optimizer] if learning_rate is None else learning_rate
    if optimizer == "lbfgs":
        return LBFGS(pixels, rate, lbfgs_history)
    return Adam(pixels, rate)


def optimize_batch(evaluate: Evaluate, images: Sequence[torch.Tensor], steps: int,
                   optimizers: Sequence[str], learning_rates: Sequence[float | None],
                   lbfgs_history: int = 20, bounded: bool = True,
                   parametrizations: Sequence[str] | None = None) -> Iterator[list[Step]]:
    """Minimize each image's loss over its pixels (``images`` are left untouched), within
    [0, 1] if ``bounded`` (the starting images clamped to it first), each stepping in the
    variables of its parametrization (:mod:`.parametrization`; None: rgb for every image).

    Yields ``steps + 1`` lists: step 0 holds the starting images, step ``k`` the images after
    ``k`` gradient evaluations.
    """
    spaces = [basis(name) for name in parametrizations or ["rgb"] * len(images)]
    variables = [starting_variable(space, image, bounded)
                 for space, image in zip(spaces, images, strict=True)]
    solvers = [make_optimizer(variable, name, rate, lbfgs_history)
               for variable, name, rate in zip(variables, optimizers, learning_rates, strict=True)]
    start = time.perf_counter()
    with torch.enable_grad():  # grad mode is thread-local: a worker thread may have it off
        for step in range(steps):
            pixels = [space.pixels(variable, bounded)
                      for space, variable in zip(spaces, variables, strict=True)]
            for p in pixels:
                p.grad = None
            evaluated = evaluate(pixels)
            torch.stack([total for total, _ in evaluated]).sum().backward()
            before = [p.detach().clone() for p in pixels]
            descend(spaces, variables, pixels, solvers, bounded)
            elapsed = time.perf_counter() - start
            yield [Step(step, steps, losses, elapsed, evaluated_pixels)
                   for (_, losses), evaluated_pixels in zip(evaluated, before, strict=True)]
        with torch.no_grad():
            pixels = [space.pixels(variable, bounded).detach()
                      for space, variable in zip(spaces, variables, strict=True)]
            evaluated = evaluate(pixels)
    elapsed = time.perf_counter() - start
    yield [Step(steps, steps, losses, elapsed, p.detach().clone())
           for (_, losses), p in zip(evaluated, pixels, strict=True)]


def descend(spaces: Sequence[RGB], variables: Sequence[torch.Tensor],
            pixels: Sequence[torch.Tensor], solvers: Sequence[LBFGS | Adam],
            bounded: bool) -> None:
    """One optimizer step for every image, from the gradient its pixels were left with:
    held at the bounds, carried back to its variable, and projected into range after."""
    held = hold_at_bounds(pixels) if bounded else [None] * len(pixels)
    for space, variable, p, mask, solver in zip(spaces, variables, pixels, held, solvers,
                                                strict=True):
        space.pull_gradient(variable, p, mask)
        solver.step()
        if bounded:
            space.project(variable)


def starting_variable(space: RGB, image: torch.Tensor, bounded: bool) -> torch.Tensor:
    """The optimizer's variable for a starting ``image`` (a copy, in range if ``bounded``)."""
    # L-BFGS moves the flattened image along a flat direction: standard strides
    variable = space.variable(image.detach().clone(memory_format=torch.contiguous_format))
    if bounded:
        space.project(variable)
    return variable.requires_grad_(True)


def hold_at_bounds(pixels: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Zero the gradient of every pixel at 0 that descent would lower and at 1 that it would
    raise: the bounds active there (L-BFGS-B's active set), so the next direction keeps them.
    Returns where they are held."""
    masks = []
    with torch.no_grad():
        for p in pixels:
            held = ((p <= 0) & (p.grad > 0)) | ((p >= 1) & (p.grad < 0))
            p.grad.masked_fill_(held, 0)
            masks.append(held)
    return masks
