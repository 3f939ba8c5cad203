"""The one optimization loop: pixels against a weighted sum of feature losses, as a generator.

``optimize_batch(evaluate, images, steps)`` optimizes several images at once: each step is one
forward and backward pass for all of them (``evaluate``), then one optimizer step per image,
so every image follows the trajectory it would follow alone.  It yields the list of
:class:`Step` s after every evaluation; closing the generator cancels the run.  A step is one
evaluation of the loss and its gradient, so ``steps`` is what the user pays for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import DEFAULT_LEARNING_RATES, OPTIMIZERS
from .objective import Losses

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
                   lbfgs_history: int) -> torch.optim.Optimizer:
    """L-BFGS with zero tolerances and one evaluation per step, or Adam."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")
    rate = DEFAULT_LEARNING_RATES[optimizer] if learning_rate is None else learning_rate
    if optimizer == "lbfgs":
        # zero tolerances: never stop early on a small loss; max_iter=1: no line search, so
        # one optimizer step costs exactly one evaluation
        return torch.optim.LBFGS([pixels], lr=rate, max_iter=1, history_size=lbfgs_history,
                                 tolerance_grad=0.0, tolerance_change=0.0)
    return torch.optim.Adam([pixels], lr=rate)


def optimize_batch(evaluate: Evaluate, images: Sequence[torch.Tensor], steps: int,
                   optimizers: Sequence[str], learning_rates: Sequence[float | None],
                   lbfgs_history: int = 20) -> Iterator[list[Step]]:
    """Minimize each image's loss over its pixels (``images`` are left untouched).

    Yields ``steps + 1`` lists: step 0 holds the starting images, step ``k`` the images after
    ``k`` gradient evaluations.
    """
    # L-BFGS flattens gradients with .view(-1), which needs standard strides
    pixels = [image.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
              for image in images]
    solvers = [make_optimizer(p, name, rate, lbfgs_history)
               for p, name, rate in zip(pixels, optimizers, learning_rates, strict=True)]
    start = time.perf_counter()
    with torch.enable_grad():  # grad mode is thread-local: a worker thread may have it off
        for step in range(steps):
            for p in pixels:
                p.grad = None
            evaluated = evaluate(pixels)
            torch.stack([total for total, _ in evaluated]).sum().backward()
            before = [p.detach().clone() for p in pixels]
            for solver, (total, _) in zip(solvers, evaluated, strict=True):
                # the gradient is in place already; the closure only reports the loss
                solver.step(lambda total=total: total.detach())
            elapsed = time.perf_counter() - start
            yield [Step(step, steps, losses, elapsed, evaluated_pixels)
                   for (_, losses), evaluated_pixels in zip(evaluated, before, strict=True)]
        with torch.no_grad():
            evaluated = evaluate(pixels)
    elapsed = time.perf_counter() - start
    yield [Step(steps, steps, losses, elapsed, p.detach().clone())
           for (_, losses), p in zip(evaluated, pixels, strict=True)]

