"""The three experiments of Gatys et al. as one configurable run.

* ``reconstruct``: match the features of one (or more) layers of an image, from noise;
* ``texture``: match Gram matrices of an image at chosen layers, from noise;
* ``transfer``: content features of one image plus Grams of another.

:class:`Run` is the engine every caller shares: iterate it for :class:`~.optimize.Step` s
(closing the iterator cancels), then ask it for the :class:`Result`.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from .config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_RECONSTRUCT_LAYER,
    DEFAULT_STYLE_LAYERS,
    Config,
    working_shape,
)
from .device import peak_memory_mb, preferred_memory_format, resolve_device, resolve_precision
from .errors import InputError, NeuralStyleError
from .images import resize, to_tensor
from .layers import min_image_side
from .objective import BatchObjective, Objective
from .optimize import Step, optimize_batch
from .quality import quality
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
    precision: str  # what the network ran in: fp32, bf16 or fp16
    peak_memory: dict  # {"mb": ..., "of": ...}, see device.peak_memory_mb
    weights: dict
    cancelled: bool
    quality: dict = field(default_factory=dict)  # see core.quality
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
            "precision": self.precision,
            "peak_memory": self.peak_memory,
            "weights": self.weights,
            "cancelled": self.cancelled,
            "quality": self.quality,
            "history": history,
            "versions": self.versions,
        }


def _first_and_last(history: list[dict]) -> list[dict]:
    return history[:1] + history[-1:] if len(history) > 1 else list(history)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    # torchvision's version from its metadata: importing it would hold the GIL for ~0.3 s.  The
    # engine itself never imports it, so a run goes on without it (None).
    try:
        torchvision = version("torchvision")
    except PackageNotFoundError:
        torchvision = None
    return {"napari_neural_style": __version__, "torch": torch.__version__,
            "torchvision": torchvision, "numpy": np.__version__,
            "python": platform.python_version()}


#: settings every run of a batch must share (one network, one image size, one schedule)
SHARED = ("size", "pooling", "weights", "device", "steps", "precision", "memory", "scales",
          "coarse_steps", "lbfgs_history")


class BatchRun:
    """Runs of several configs on the same images, optimised together.

    The configs must share the settings of :data:`SHARED`; they may differ in task, layers,
    loss weights, seed, init, optimizer and learning rate.  Targets are computed once for all (one
    forward pass per input image), every step is one forward and backward pass for the whole
    batch, and each image keeps its own optimiser, so it ends where it would have alone.
    Iterating yields the list of :class:`~.optimize.Step` s per step; closing the iterator
    cancels, and :meth:`results` then reports the partial images as cancelled.
    """

    def __init__(self, configs: list[Config], content: np.ndarray | None = None,
                 style: np.ndarray | None = None, weights: Weights | None = None):
        if not configs:
            raise InputError("a batch needs at least one configuration")
        first = configs[0]
        for field_name in SHARED:
            if len({getattr(config, field_name) for config in configs}) > 1:
                raise InputError(f"runs batched together must share {field_name}")
        self.configs = list(configs)
        min_side = min_image_side(self.layers("layers"))
        self.content = self._input(content, "content image",
                                   any(config.needs_content for config in configs), min_side)
        self.style = self._input(style, "style image",
                                 any(config.needs_style for config in configs), min_side)
        self.weights = weights
        self.device: torch.device | None = None
        self.histories: list[list[dict]] = [[] for _ in configs]
        self.precision = "fp32"
        self.peak_memory: dict = {}
        self.last: list[Step] | None = None
        self.quality: list[dict] = [{} for _ in configs]
        self.finished = False
        self.seconds = 0.0
        self.setup_seconds = 0.0
        self._first = first

    def _input(self, image: np.ndarray | None, name: str, needed: bool,
               min_side: int) -> torch.Tensor | None:
        if not needed:
            return None
        if image is None:
            raise InputError(f"{self._task_names()} needs a {name}")
        return to_tensor(image, self.configs[0].size, name, min_side)

    def layers(self, kind: str) -> tuple[str, ...]:
        """The union, in order, of the configs' ``layers``, ``content_layers`` or
        ``style_layers``."""
        return tuple(dict.fromkeys(name for config in self.configs
                                   for name in getattr(config, kind)))

    def _task_names(self) -> str:
        return "/".join(dict.fromkeys(config.task for config in self.configs))

    @property
    def output_shape(self) -> tuple[int, int]:
        source = self.content if self.content is not None else self.style
        return tuple(source.shape[-2:])

    def _initial(self, config: Config, content: torch.Tensor | None,
                 shape: tuple[int, int]) -> torch.Tensor:
        if config.init == "content":
            return content
        generator = torch.Generator().manual_seed(config.seed)
        return torch.rand((1, 3, *shape), generator=generator).to(self.device)

    @staticmethod
    def _upsampled(config: Config, pixels: torch.Tensor, shape: tuple[int, int],
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

    def scale_sizes(self) -> tuple[int, ...]:
        """Working sizes, coarse to fine, keeping only scales the deepest layer can use."""
        shapes = [tuple(image.shape[-2:]) for image in (self.content, self.style)
                  if image is not None]
        return self._first.scale_sizes(*shapes, layers=self.layers("layers"))

    def __iter__(self) -> Iterator[list[Step]]:
        first = self._first
        start = time.perf_counter()
        self.device = resolve_device(first.device)
        if self.weights is None:
            self.weights = resolve_weights(first.weights)
        memory_format = preferred_memory_format(self.device)
        autocast = resolve_precision(first.precision, self.device)
        self.precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[autocast]
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest
            torch.cuda.reset_peak_memory_stats(self.device)
        encoder = VGGEncoder(self.weights, self.layers("layers"), first.pooling,
                             memory_format).to(self.device)
        encoder.autocast = autocast
        content = None if self.content is None else self.content.to(self.device)
        style = None if self.style is None else self.style.to(self.device)
        sizes = self.scale_sizes()
        counts = [first.steps_at(index, len(sizes)) for index in range(len(sizes))]
        total = sum(counts)
        pixels: list[torch.Tensor] | None = None
        previous_content: torch.Tensor | None = None
        self.setup_seconds = time.perf_counter() - start
        loop_start = time.perf_counter()
        try:
            for number, size in enumerate(sizes):
                encoder.recompute = first.recomputes_at(size)
                scaled_content, scaled_style = (
                    None if image is None else resize(image, working_shape(*image.shape[-2:],
                                                                             size))
                    for image in (content, style))
                shared = Objective.from_images(
                    encoder, scaled_content, scaled_style,
                    self.layers("content_layers"), self.layers("style_layers"),
                    memory_format=memory_format)
                evaluate = BatchObjective([shared.select(config) for config in self.configs])
                shape = working_shape(*self.output_shape, size)
                if pixels is None:
                    initials = [self._initial(config, scaled_content, shape)
                                for config in self.configs]
                else:
                    initials = [self._upsampled(config, image, shape, previous_content,
                                                scaled_content)
                                for config, image in zip(self.configs, pixels, strict=True)]
                previous_content = scaled_content
                offset = sum(counts[:number])
                for steps in optimize_batch(
                        evaluate, initials, counts[number],
                        [config.optimizer for config in self.configs],
                        [config.learning_rate for config in self.configs],
                        first.lbfgs_history):
                    if number and not steps[0].step:
                        continue  # the previous scale's last image, only resized
                    elapsed = time.perf_counter() - loop_start  # targets of each scale too
                    steps = [replace(step, step=offset + step.step, total=total,
                                     elapsed=elapsed) for step in steps]
                    for history, step in zip(self.histories, steps, strict=True):
                        history.append({**step.losses.record(step.step), "size": size})
                    self.last = steps
                    yield steps
                pixels = [step.pixels for step in self.last]
            self.finished = True
        finally:
            self.peak_memory = peak_memory_mb(self.device)
            # an iterator left open until the interpreter exits is closed during shutdown,
            # when torch can no longer run a network (it aborts): nobody is left to ask
            if self.last is not None and not sys.is_finalizing():
                self.seconds = self.last[0].elapsed
                # stopped at a coarse scale: the result is still given at the working size
                self.last = [replace(step, pixels=resize(step.pixels, self.output_shape))
                             for step in self.last]
                self.quality = [quality(self.weights, first.pooling, step.pixels, content, style,
                                        memory_format)
                                for step in self.last]
            del encoder, content, style, pixels
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def complete(self) -> list[Result]:
        """Run to the end (if not yet run) and return the results."""
        if self.last is None:
            for _ in self:
                pass
        return self.results()

    def results(self) -> list[Result]:
        if self.last is None:
            raise NeuralStyleError("the run was stopped before its first step; nothing to show")
        return [
            Result(image=step.image, config=config, history=list(history),
                   steps_done=step.step, seconds=self.seconds, setup_seconds=self.setup_seconds,
                   device=str(self.device), precision=self.precision,
                   peak_memory=self.peak_memory, weights=self.weights.describe(),
                   cancelled=not self.finished, quality=quality_numbers)
            for config, history, step, quality_numbers in
            zip(self.configs, self.histories, self.last, self.quality, strict=True)
        ]


class Run(BatchRun):
    """One run of ``config`` on numpy images.  Inputs are converted (and checked) at once.

    ``for step in run: ...`` optimises; breaking out and closing the iterator cancels, and
    :meth:`result` then reports the partial image as cancelled.
    """

    def __init__(self, config: Config, content: np.ndarray | None = None,
                 style: np.ndarray | None = None, weights: Weights | None = None):
        super().__init__([config], content, style, weights)
        self.config = config

    @property
    def history(self) -> list[dict]:
        return self.histories[0]

    def __iter__(self) -> Iterator[Step]:
        batches = super().__iter__()
        try:
            for steps in batches:
                yield steps[0]
        finally:
            batches.close()

    def complete(self) -> Result:
        return super().complete()[0]

    def result(self) -> Result:
        return self.results()[0]


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

