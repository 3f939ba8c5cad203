"""Where each run of a batch starts: at the first scale, from its ``init``; at every finer
scale, from the coarser scale's result."""

from __future__ import annotations

import torch

from .config import Config
from .images import resize
from .parametrization import basis


def first_start(config: Config, setup, content: torch.Tensor | None,
                shape: tuple[int, int]) -> torch.Tensor:
    """Where a config starts at the first scale (``setup``: the batch's
    :class:`~.batch.RunSetup`): the content (already at ``shape``), the
    (first) style or the start image resized to ``shape``, or seeded noise (of the
    parametrization the optimizer steps in)."""
    if config.init == "content":
        return content
    if config.init in ("style", "image"):
        return resize(setup.styles[0] if config.init == "style" else setup.start, shape)
    generator = torch.Generator().manual_seed(config.seed)
    return basis(config.resolved_parametrization).noise(generator, shape).to(setup.device)


def next_start(config: Config, pixels: torch.Tensor, shape: tuple[int, int],
               coarse_content: torch.Tensor | None,
               content: torch.Tensor | None) -> torch.Tensor:
    """The start of the next scale: the coarse result resized to ``shape``.

    A run that started from the content image carries over only what it changed,
    ``content + resize(pixels - coarse_content)``: resizing the whole image would blur away
    the content's fine detail, which the coarse scale never saw and the fine scale would
    spend its steps restoring.
    """
    if config.init == "content":
        return content + resize(pixels - coarse_content, shape)
    return resize(pixels, shape)
