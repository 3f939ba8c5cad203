"""The three experiments of Gatys et al. as one configurable run.

* ``reconstruct``: match the features of one (or more) layers of an image, from noise;
* ``texture``: match Gram matrices of an image at chosen layers, from noise;
* ``transfer``: content features of one image plus Grams of another.

:class:`Run` is the engine every caller shares: iterate it for :class:`~.optimize.Step` s
(closing the iterator cancels), then ask it for the :class:`Result`.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_RECONSTRUCT_LAYER,
    DEFAULT_STYLE_LAYERS,
    Config,
)
from .device import preferred_memory_format, resolve_device
from .errors import InputError, NeuralStyleError
from .images import to_tensor
from .layers import min_image_side
from .objective import Objective
from .optimize import Step, optimize
from .vgg import VGGEncoder
from .weights import Weights, resolve_weights


@dataclass
class Result:
    """A finished (or cancelled) run: the image and everything needed to reproduce it."""

    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    config: Config
    history: list[dict]  # Losses.record for every evaluated step
    steps_done: int
    seconds: float  # optimisation loop only
    setup_seconds: float  # weights, network, targets
    device: str
    weights: dict
    cancelled: bool
    versions: dict = field(default_factory=lambda: _versions())

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / self.steps_done if self.steps_done else 0.0

    def provenance(self, full_history: bool = True) -> dict:
        """Every fact about the run, JSON-ready (layer metadata and ``--json`` both use it)."""
        history = self.history if full_history else _first_and_last(self.history)
        return {
            "task": self.config.task,
            "params": asdict(self.config),
            "steps": self.steps_done,
            "seconds": self.seconds,
            "setup_seconds": self.setup_seconds,
            "seconds_per_step": self.seconds_per_step,
            "device": self.device,
            "weights": self.weights,
            "cancelled": self.cancelled,
            "history": history,
            "versions": self.versions,
        }


def _first_and_last(history: list[dict]) -> list[dict]:
    return history[:1] + history[-1:] if len(history) > 1 else list(history)


def _versions() -> dict:
    from importlib.metadata import version

    from .. import __version__

    # torchvision's version from its metadata: importing it would hold the GIL for ~0.3 s
    return {"napari_neural_style": __version__, "torch": torch.__version__,
            "torchvision": version("torchvision"), "numpy": np.__version__,
            "python": platform.python_version()}


class Run:
    """One run of ``config`` on numpy images.  Inputs are converted (and checked) at once.

    ``for step in run: ...`` optimises; breaking out and closing the iterator cancels, and
    :meth:`result` then reports the partial image as cancelled.
    """

    def __init__(self, config: Config, content: np.ndarray | None = None,
                 style: np.ndarray | None = None, weights: Weights | None = None):
        self.config = config
        min_side = min_image_side(config.layers)
        self.content = self._input(content, "content image", config.needs_content, min_side)
        self.style = self._input(style, "style image", config.needs_style, min_side)
        self.weights = weights
        self.device: torch.device | None = None
        self.history: list[dict] = []
        self.last: Step | None = None
        self.finished = False
        self.seconds = 0.0
        self.setup_seconds = 0.0

    def _input(self, image: np.ndarray | None, name: str, needed: bool,
               min_side: int) -> torch.Tensor | None:
        if not needed:
            return None
        if image is None:
            raise InputError(f"{self.config.task} needs a {name}")
        return to_tensor(image, self.config.size, name, min_side)

    @property
    def output_shape(self) -> tuple[int, int]:
        source = self.content if self.config.needs_content else self.style
        return tuple(source.shape[-2:])

    def __iter__(self) -> Iterator[Step]:
        config = self.config
        start = time.perf_counter()
        self.device = resolve_device(config.device)
        if self.weights is None:
            self.weights = resolve_weights(config.weights)
        memory_format = preferred_memory_format(self.device)
        encoder = VGGEncoder(self.weights, config.layers, config.pooling).to(
            self.device, memory_format=memory_format)
        content = None if self.content is None else self.content.to(self.device)
        style = None if self.style is None else self.style.to(self.device)
        objective = Objective.from_images(
            encoder, content, style, config.content_layers, config.style_layers,
            memory_format=memory_format, content_weight=config.content_weight,
            style_weight=config.style_weight, tv_weight=config.tv_weight)
        if config.init == "content":
            initial = content
        else:
            generator = torch.Generator().manual_seed(config.seed)
            initial = torch.rand((1, 3, *self.output_shape), generator=generator).to(self.device)
        self.setup_seconds = time.perf_counter() - start
        try:
            for step in optimize(objective, initial, config.steps, config.optimizer,
                                 config.learning_rate, config.lbfgs_history):
                self.history.append(step.losses.record(step.step))
                self.last = step
                self.seconds = step.elapsed
                yield step
            self.finished = True
        finally:
            del objective, encoder, content, style, initial
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def complete(self) -> Result:
        """Run to the end (if not yet run) and return the result."""
        if self.last is None:
            for _ in self:
                pass
        return self.result()

    def result(self) -> Result:
        if self.last is None:
            raise NeuralStyleError("the run was stopped before its first step; nothing to show")
        return Result(
            image=self.last.image, config=self.config, history=list(self.history),
            steps_done=self.last.step, seconds=self.seconds, setup_seconds=self.setup_seconds,
            device=str(self.device), weights=self.weights.describe(),
            cancelled=not self.finished,
        )


def run(config: Config, content: np.ndarray | None = None,
        style: np.ndarray | None = None) -> Run:
    """A :class:`Run`; iterate it for steps, or call ``.complete()`` for the result."""
    return Run(config, content, style)


def reconstruct(image: np.ndarray, layer: str | tuple[str, ...] = DEFAULT_RECONSTRUCT_LAYER,
                **options) -> Result:
    """Content reconstruction: an image from noise whose ``layer`` features match ``image``'s."""
    return Run(Config("reconstruct", content_layers=layer, **options), content=image).complete()


def synthesize_texture(image: np.ndarray,
                       layers: str | tuple[str, ...] = DEFAULT_STYLE_LAYERS,
                       **options) -> Result:
    """Texture synthesis: an image from noise whose Gram matrices at ``layers`` match."""
    return Run(Config("texture", style_layers=layers, **options), style=image).complete()


def transfer(content: np.ndarray, style: np.ndarray,
             content_layers: str | tuple[str, ...] = DEFAULT_CONTENT_LAYERS,
             style_layers: str | tuple[str, ...] = DEFAULT_STYLE_LAYERS,
             **options) -> Result:
    """Style transfer: ``content``'s features at ``content_layers``, ``style``'s Grams."""
    options.setdefault("init", "content")
    config = Config("transfer", content_layers=content_layers, style_layers=style_layers,
                    **options)
    return Run(config, content=content, style=style).complete()

