"""The one optimisation loop: pixels against a weighted sum of feature losses, as a generator.

``optimize(objective, image, steps)`` yields a :class:`Step` after every evaluation of the
objective; closing the generator cancels the run.  A step is one evaluation of the loss and its
gradient (for L-BFGS, one closure call), so ``steps`` is what the user pays for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import OPTIMIZERS
from .objective import Losses

DEFAULT_LEARNING_RATES = {"lbfgs": 1.0, "adam": 0.02}

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, Losses]]


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


def optimize(objective: Objective, image: torch.Tensor, steps: int, optimizer: str = "lbfgs",
             learning_rate: float | None = None, lbfgs_history: int = 20) -> Iterator[Step]:
    """Minimise ``objective`` over the pixels of ``image`` (left untouched) for ``steps`` steps.

    Yields ``steps + 1`` :class:`Step` s: step 0 is the starting image, step ``k`` the image
    after ``k`` gradient evaluations.  L-BFGS runs with zero tolerances so it never stops early
    on a small loss, and without a line search so one iteration costs one evaluation.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")
    rate = DEFAULT_LEARNING_RATES[optimizer] if learning_rate is None else learning_rate
    # L-BFGS flattens gradients with .view(-1), which needs standard strides
    pixels = image.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if optimizer == "lbfgs":
        solver: torch.optim.Optimizer = torch.optim.LBFGS(
            [pixels], lr=rate, max_iter=1, history_size=lbfgs_history,
            tolerance_grad=0.0, tolerance_change=0.0,
        )
    else:
        solver = torch.optim.Adam([pixels], lr=rate)
    evaluated: list[tuple[torch.Tensor, Losses]] = []

    def closure() -> torch.Tensor:
        solver.zero_grad()
        total, losses = objective(pixels)
        total.backward()
        evaluated.append((pixels.detach().clone(), losses))
        return total

    start = time.perf_counter()
    with torch.enable_grad():  # grad mode is thread-local: a worker thread may have it off
        for step in range(steps):
            solver.step(closure)
            evaluated_pixels, losses = evaluated.pop()
            yield Step(step, steps, losses, time.perf_counter() - start, evaluated_pixels)
    with torch.no_grad():
        _, losses = objective(pixels)
    yield Step(steps, steps, losses, time.perf_counter() - start, pixels.detach().clone())
