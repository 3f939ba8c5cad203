"""The three experiments of Gatys et al. as one configurable run.

* ``reconstruct``: match the features of one (or more) layers of an image, from noise;
* ``texture``: match Gram matrices of an image at chosen layers, from noise;
* ``transfer``: content features of one image plus Grams of another.

:class:`Run` is the engine every caller shares: iterate it for :class:`~.optimize.Step` s
(closing the iterator cancels), then ask it for the :class:`~.result.Result`.
:class:`BatchRun` is the same for several configs optimized together (sweeps).  A run is set up
once (:class:`Engine`), then optimized scale by scale, then finished (:class:`Outcome`).
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from .colour import network_inputs, result_colours
from .config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_RECONSTRUCT_LAYER,
    DEFAULT_STYLE_LAYERS,
    OPTIONS,
    Config,
)
from .device import (
    is_out_of_memory,
    peak_memory_mb,
    preferred_memory_format,
    prepare_cuda,
    release_freed_memory,
    resolve_device,
    resolve_precision,
)
from .errors import InputError, NeuralStyleError, OutOfMemory, setting
from .geometry import working_shape
from .images import resize, to_numpy, to_tensor
from .objective import BatchObjective, Objective
from .optimize import Step, optimize_batch
from .parametrization import basis
from .quality import quality
from .regions import RegionPlan, checked_labels, checked_style_labels, region_masks
from .result import ORDINARY_ENDINGS, Result
from .terms import Temporal
from .vgg import VGGEncoder
from .vgg_layers import min_image_side
from .weights import Weights, resolve_weights

#: settings every run of a batch must share (``Option.shared``)
SHARED = tuple(name for name, option in OPTIONS.items() if option.shared)
#: one style image, or several (blended: ``Config.style_blend``)
Styles = np.ndarray | Sequence[np.ndarray] | None
PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


@dataclass(frozen=True)
class Engine:
    """What every scale of a run shares, set up once: the device, the weights, the network
    (cut after the deepest layer any config needs, in the chosen precision) and the input
    images on the device.  Targets depend on the scale's size: each scale computes its own."""

    device: torch.device
    weights: Weights
    encoder: VGGEncoder
    precision: str  # what the network runs in: fp32, bf16 or fp16
    memory_format: torch.memory_format
    content: torch.Tensor | None
    styles: list[torch.Tensor]
    start: torch.Tensor | None  # the image ``init="image"`` starts from
    seconds: float  # time the setup took


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the last step of each config at the working size, and its numbers."""

    last: list[Step]
    quality: list[dict]
    stopped_by: str  # "" when it ran to the end, see BatchRun._optimize
    seconds: float  # optimization loop only
    setup_seconds: float
    device: str
    precision: str
    pooling: str  # what the network ran with (``auto`` resolved)
    peak_memory: dict
    weights: dict


class BatchRun:
    """Runs of several configs on the same images, optimized together.

    The configs must share the settings of :data:`SHARED`; they may differ in task, layers,
    loss weights, seed, init, optimizer, learning rate and parametrization.  Targets are
    computed once for all (one forward pass per input image), every step is one forward and
    backward pass for the whole batch, and each image keeps its own optimizer (in its own
    parametrization), so it ends where it would have alone.
    Iterating yields the list of :class:`~.optimize.Step` s per step; closing the iterator
    cancels, and :meth:`results` then reports the partial images as cancelled.
    """

    def __init__(self, configs: list[Config], content: np.ndarray | None = None,
                 style: Styles = None, weights: Weights | None = None,
                 init_image: np.ndarray | None = None, labels: np.ndarray | None = None,
                 temporal: Temporal | None = None, cache: dict | None = None,
                 style_labels: list | None = None):
        if not configs:
            raise InputError("a batch needs at least one configuration")
        for field_name in SHARED:
            if len({getattr(config, field_name) for config in configs}) > 1:
                raise InputError(f"runs batched together must share {field_name}")
        self.configs = list(configs)
        min_side = min_image_side(self.layers("layers"))
        self.content = self._input(content, "content",
                                   any(config.needs_content for config in configs), min_side)
        #: the style images, each at its working size
        self.styles = self._styles(style, any(config.needs_style for config in configs),
                                   min_side)
        #: the image configs with ``init="image"`` start from, at the working size
        self.init_image = self._start_image(init_image)
        #: the label image over the content that ``Config.regions`` refers to
        self.labels = self._labels(labels, content)
        #: per style image, its own label image (or None), for regions
        self.style_labels = self._style_labels(style_labels)
        #: a frame's pull towards the previous frame's result (core/frames.py), at the
        #: working size, and style targets by scale size shared with other frames
        self.temporal, self.cache = temporal, cache
        #: resolved on the first iteration unless given (a sweep hands them on)
        self.weights = weights
        self.sizes = self.scale_sizes()
        self.counts = [configs[0].steps_at(index, len(self.sizes))
                       for index in range(len(self.sizes))]
        self.histories: list[list[dict]] = [[] for _ in configs]
        self.last: list[Step] | None = None  # the latest steps, at their scale's size
        self.engine: Engine | None = None  # while iterating
        self._active: Iterator | None = None  # the latest iteration
        self.outcome: Outcome | None = None  # once iteration ended

    def _input(self, image: np.ndarray | None, role: str, needed: bool, min_side: int,
               index: int = 0, name: str = "") -> torch.Tensor | None:
        """The ``role`` image (style number ``index``) at its working size
        (:meth:`Config.working_size`), called ``name`` in messages."""
        if not needed:
            return None
        if image is None:
            tasks = "/".join(dict.fromkeys(config.task for config in self.configs))
            raise InputError(f"{tasks} needs a {role} image")
        first = self.configs[0]
        size = first.working_size(role, index=index)
        name = name or f"{role} image"
        if size != first.size:
            name += f" (at style scale {first.style_factor(index):g})"
        return to_tensor(image, size, name, min_side)

    def _styles(self, images: Styles, needed: bool, min_side: int) -> list[torch.Tensor]:
        """:meth:`_input` for each style image given (one array, or a sequence of them)."""
        images = [] if images is None else [images] if isinstance(images, np.ndarray) else \
            list(images)
        if not needed:
            return []
        for config in self.configs:
            config.check_styles(len(images) or 1)
        return [self._input(image, "style", needed, min_side, index,
                            "style image" + (f" {index + 1}" if len(images) > 1 else ""))
                for index, image in enumerate(images or [None])]

    def _start_image(self, image: np.ndarray | None) -> torch.Tensor | None:
        """``init_image`` exactly when some config starts from it (``init="image"``)."""
        wanted = any(config.init == "image" for config in self.configs)
        if wanted and image is None:
            raise InputError(f"{setting('init', 'image')} needs the image to start from: "
                             "give init_image (the command line: --init PATH)")
        if image is not None and not wanted:
            raise InputError(f"an image to start from was given, but init is "
                             f"'{self.configs[0].init}'; set {setting('init', 'image')} to "
                             "start from it, or leave the image out")
        return None if image is None else to_tensor(image, self.configs[0].size, "start image")

    def _labels(self, labels, content: np.ndarray | None) -> np.ndarray | None:
        """``labels``, checked (:func:`~.regions.checked_labels`), exactly when the configs
        have regions."""
        regions = self.configs[0].regions
        if regions and labels is None:
            raise InputError("regions need the label image they refer to: give labels (the "
                             "command line: --regions LABELS)")
        if labels is not None and not regions:
            raise InputError("a label image was given, but no region: map its labels to "
                             "styles (regions), or leave it out")
        return None if labels is None else checked_labels(
            labels, np.shape(content), regions, len(self.styles))

    def _style_labels(self, labels: list | None) -> list[np.ndarray | None]:
        """``labels`` checked (:func:`~.regions.checked_style_labels`), only with regions."""
        if not labels:
            return []
        if not self.configs[0].regions:
            raise InputError("style label images were given, but no region: map labels to "
                             "styles (regions), or leave them out")
        return checked_style_labels(list(labels), [tuple(style.shape[-2:])
                                                   for style in self.styles],
                                    self.configs[0].regions)

    def layers(self, kind: str) -> tuple[str, ...]:
        """The union, in order, of the configs' ``layers``, ``content_layers`` or
        ``style_layers``."""
        return tuple(dict.fromkeys(name for config in self.configs
                                   for name in getattr(config, kind)))

    @property
    def output_shape(self) -> tuple[int, int]:
        """(H, W) of the results: the content image's working shape, else the style's."""
        return tuple(self.source.shape[-2:])

    @property
    def source(self) -> torch.Tensor:
        """The image results overlay, at the working size: the content, else the (first)
        style."""
        return self.content if self.content is not None else self.styles[0]

    @property
    def total_steps(self) -> int:
        """Steps over every scale (what a progress bar counts to)."""
        return sum(self.counts)

    def output_image(self, step: Step) -> np.ndarray:
        """``step``'s image at the results' shape (a coarse scale's is upsampled), in the
        colours the user asked for (``Config.colour``)."""
        return to_numpy(self._coloured(resize(step.pixels, self.output_shape)))

    def _coloured(self, pixels: torch.Tensor) -> torch.Tensor:
        return result_colours(self.configs[0].colour, pixels, self.content)

    def scale_sizes(self) -> tuple[int, ...]:
        """Working sizes, coarse to fine, keeping only scales the deepest layer can use."""
        shapes = [tuple(image.shape[-2:]) for image in (self.content, *self.styles)
                  if image is not None]
        return self.configs[0].scale_sizes(*shapes, layers=self.layers("layers"))

    def __iter__(self) -> Iterator[list[Step]]:
        self._active = self._optimize()
        return self._active

    def _optimize(self) -> Iterator[list[Step]]:
        """Set up, then every scale; the outcome says how it ended (:attr:`Outcome.stopped_by`):
        closed early, interrupted (KeyboardInterrupt, re-raised) or out of memory (raised as
        :class:`~.errors.OutOfMemory`).  Whatever ended it, the last completed step is kept."""
        engine, previous, size = None, None, self.sizes[0]
        stopped_by = "stop"  # unless it ends otherwise: the caller closed the iterator
        try:
            self.engine = engine = self._setup()
            start = time.perf_counter()
            for number, size in enumerate(self.sizes):
                previous = yield from self._scale(engine, number, size, previous, start)
            stopped_by = ""
        except KeyboardInterrupt:
            stopped_by = "interrupt"
            raise
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error):
                raise
            failure = self._out_of_memory(engine.device if engine else self.configs[0].device,
                                          size)
            stopped_by = str(failure)
            raise failure from None  # torch's own message and advice would only confuse
        finally:
            self.engine = None  # the network's memory goes with the iteration
            if stopped_by == "stop" and self.last and self.last[0].step == self.total_steps:
                stopped_by = ""  # closed after its last step: it ran to the end
            if engine is not None:
                self.outcome = self._finish(engine, stopped_by)

    def _out_of_memory(self, device, size: int) -> OutOfMemory:
        """What ran out, at which size, and what needs less: lean memory, a smaller size (the
        activations scale with the pixels: half the side, a quarter of the memory), the CPU."""
        config = self.configs[0]
        advice = [] if config.recomputes_at(size) else [setting("memory", "lean")]
        advice.append(f"a smaller {setting('size', str(max(config.size // 2, 1)))}")
        if str(device) != "cpu":
            advice.append(setting("device", "cpu"))
        batch = f" ({len(self.configs)} images at once)" if len(self.configs) > 1 else ""
        return OutOfMemory(f"out of memory on {device} at {size} px{batch}: try "
                           f"{' or '.join(advice)}")

    def _setup(self) -> Engine:
        """Device, weights, network and inputs, once for every scale."""
        first = self.configs[0]
        start = time.perf_counter()
        device = resolve_device(first.device)
        if self.weights is None:
            self.weights = resolve_weights(first.weights, weights_format=first.weights_format)
        memory_format = preferred_memory_format(device)
        autocast = resolve_precision(first.precision, device)
        if device.type == "cuda":
            prepare_cuda(device)
        encoder = VGGEncoder(self.weights, self.layers("layers"), first.pooling,
                             memory_format).to(device)
        encoder.autocast = autocast
        content, styles = network_inputs(
            first.colour, None if self.content is None else self.content.to(device),
            [style.to(device) for style in self.styles])
        start_image = None if self.init_image is None else self.init_image.to(device)
        return Engine(device, self.weights, encoder, PRECISION_NAMES[autocast], memory_format,
                      content, styles, start_image, time.perf_counter() - start)

    def _scale(self, engine: Engine, number: int, size: int,
               previous: tuple[list[torch.Tensor], torch.Tensor | None] | None,
               start: float) -> Iterator[list[Step]]:
        """Optimize at working ``size`` from ``previous`` (the coarser scale's images and
        content) or from the configs' starts; return this scale's images and content."""
        first = self.configs[0]
        content = None if engine.content is None else resize(
            engine.content, working_shape(*engine.content.shape[-2:], size))
        evaluate = self._objective(engine, size, content)
        shape = working_shape(*self.output_shape, size)
        if previous is None:
            starts = [self._initial(config, engine, content, shape) for config in self.configs]
        else:
            starts = [self._upsampled(config, image, shape, previous[1], content)
                      for config, image in zip(self.configs, previous[0], strict=True)]
        offset = sum(self.counts[:number])
        lean = engine.encoder.recompute = first.recomputes_at(size)
        release_freed_memory(engine.device)  # what the targets and the last scale left
        for steps in optimize_batch(evaluate, starts, self.counts[number],
                                    [config.optimizer for config in self.configs],
                                    [config.learning_rate for config in self.configs],
                                    first.lbfgs_history, first.pixel_range == "bounded",
                                    [config.resolved_parametrization for config in self.configs]):
            if lean and engine.device.type == "cpu":
                # lean trades time for memory: what glibc's heap keeps of a step's freed maps
                # goes back (at 512 px the peak is 50 MB lower, a step ~6 % slower, its
                # pages faulting in again)
                release_freed_memory(engine.device)
            if number and not steps[0].step:
                continue  # the previous scale's last image, only resized
            self._record(steps, offset, size, time.perf_counter() - start)
            yield self.last
        return [step.pixels for step in self.last], content

    def _objective(self, engine: Engine, size: int,
                   content: torch.Tensor | None) -> BatchObjective:
        """Every config's objective at working ``size``: targets from ``content`` (at that
        size) and the styles resized to it, or cached by another frame of a movie."""
        first = self.configs[0]
        styles = [resize(style, working_shape(*style.shape[-2:],
                                              first.working_size("style", size, index)))
                  for index, style in enumerate(engine.styles)]
        # a cache serves frames of one movie; regions make targets depend on each frame
        cache = self.cache if self.cache is not None and not first.regions else {}
        shared = Objective.from_images(
            engine.encoder, content, styles, self.layers("content_layers"),
            self.layers("style_layers"), memory_format=engine.memory_format,
            style_loss=first.style_loss, style_blend=first.style_blend,
            regions=self._regions(engine, tuple(content.shape[-2:]), size)
            if first.regions else None, style_targets=cache.get(size),
            temporal=self.temporal and self.temporal.to(engine.device))
        cache[size] = shared.style_targets
        return BatchObjective([shared.select(config) for config in self.configs])

    def _regions(self, engine: Engine, shape: tuple[int, int], size: int) -> RegionPlan:
        """The regions at a scale whose content is ``shape`` (working size ``size``): masks
        resampled to it, the feather scaled with it."""
        config = self.configs[0]
        masks = region_masks(self.labels, shape, [label for label, _, _ in config.regions],
                             config.feather * size / config.size, engine.device)
        style_masks = tuple(
            None if labels is None else region_masks(
                labels, working_shape(*style.shape[-2:], config.working_size("style", size,
                                                                              index)),
                [label for label, used, _ in config.regions if used == index], 0.0,
                engine.device)
            for index, (labels, style) in enumerate(zip(self.style_labels, engine.styles,
                                                        strict=False)))
        return RegionPlan(config.regions, masks, config.region_mask, style_masks,
                          engine.encoder.pooling)

    def _record(self, steps: list[Step], offset: int, size: int, elapsed: float) -> None:
        """Number a scale's steps in the whole run's count and keep their losses."""
        self.last = [replace(step, step=offset + step.step, total=self.total_steps,
                             elapsed=elapsed) for step in steps]
        for history, step in zip(self.histories, self.last, strict=True):
            history.append({**step.losses.record(step.step), "size": size})

    @staticmethod
    def _initial(config: Config, engine: Engine, content: torch.Tensor | None,
                 shape: tuple[int, int]) -> torch.Tensor:
        """Where a config starts at the first scale: the content (already at ``shape``), the
        (first) style or the start image resized to ``shape``, or seeded noise (of the
        parametrization the optimizer steps in)."""
        if config.init == "content":
            return content
        if config.init in ("style", "image"):
            return resize(engine.styles[0] if config.init == "style" else engine.start, shape)
        generator = torch.Generator().manual_seed(config.seed)
        return basis(config.resolved_parametrization).noise(generator, shape).to(engine.device)

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

    def _finish(self, engine: Engine, stopped_by: str) -> Outcome | None:
        """The outcome: the last images at the working size, with their quality numbers (not
        after an interrupt, which asks to end now, nor after running out of memory)."""
        peak_memory = peak_memory_mb(engine.device)
        # an iterator left open until the interpreter exits is closed during shutdown,
        # when torch can no longer run a network (it aborts): nobody is left to ask
        if self.last is None or sys.is_finalizing():
            return None
        # stopped at a coarse scale: the result is still given at the working size
        last = [replace(step, pixels=resize(step.pixels, self.output_shape))
                for step in self.last]
        first = self.configs[0]
        regions = self._regions(engine, self.output_shape, first.size) if first.regions \
            else None
        release_freed_memory(engine.device)  # what the steps left
        # measured on the pixels the result shows (pixel_range="free" leaves some outside
        # [0, 1]), before its colours are changed as asked
        numbers = [quality(engine.weights, first.pooling, step.pixels.clamp(0, 1),
                           engine.content, engine.styles, first.style_blend,
                           engine.memory_format, regions)
                   if stopped_by in ORDINARY_ENDINGS else {} for step in last]
        last = [replace(step, pixels=self._coloured(step.pixels)) for step in last]
        release_freed_memory(engine.device)  # what the quality pass left, for the next run
        return Outcome(last, numbers, stopped_by, last[0].elapsed, engine.seconds,
                       str(engine.device), engine.precision, engine.encoder.pooling, peak_memory,
                       engine.weights.describe())

    def complete(self) -> list[Result]:
        """Run to the end (if not yet run) and return the results.

        Ctrl-C (``KeyboardInterrupt``) ends the run early: the results so far come back,
        cancelled, with a warning, as scikit-learn's iterative estimators do.  Before the first
        step there is nothing to give, and the interrupt goes on.
        """
        if self.outcome is None:
            try:
                for _ in self:
                    pass
            except KeyboardInterrupt:
                if self.outcome is None:
                    raise
                warnings.warn(f"interrupted at step {self.last[0].step} of {self.total_steps}; "
                              "the result so far is kept (cancelled)", RuntimeWarning,
                              stacklevel=3)
        return self.results()

    def results(self) -> list[Result]:
        """The results: final, or so far when the run was stopped, interrupted or failed.  An
        iteration left open (an interrupt in the caller's loop) is closed here."""
        if self.outcome is None and self._active is not None:
            self._active.close()
        outcome = self.outcome
        if outcome is None:
            raise NeuralStyleError("the run was stopped before its first step; nothing to show")
        return [
            Result(image=step.image, config=config, history=list(history),
                   steps_done=step.step, seconds=outcome.seconds,
                   setup_seconds=outcome.setup_seconds, device=outcome.device,
                   precision=outcome.precision, pooling=outcome.pooling,
                   peak_memory=outcome.peak_memory,
                   weights=outcome.weights, cancelled=bool(outcome.stopped_by),
                   stopped_by=outcome.stopped_by, quality=numbers)
            for config, history, step, numbers in
            zip(self.configs, self.histories, outcome.last, outcome.quality, strict=True)
        ]


class Run:
    """One run of ``config`` on numpy images.  Inputs are converted (and checked) at once.

    ``for step in run: ...`` optimizes; breaking out and closing the iterator cancels, and
    :meth:`result` then reports the partial image as cancelled.  A batch of one underneath.
    """

    def __init__(self, config: Config, content: np.ndarray | None = None,
                 style: Styles = None, weights: Weights | None = None,
                 init_image: np.ndarray | None = None, labels: np.ndarray | None = None,
                 temporal: Temporal | None = None, cache: dict | None = None,
                 style_labels: list | None = None):
        self.config = config
        self.batch = BatchRun([config], content, style, weights, init_image, labels, temporal,
                              cache, style_labels)

    def __iter__(self) -> Iterator[Step]:
        batches = iter(self.batch)
        try:
            for steps in batches:
                yield steps[0]
        finally:
            batches.close()

    @property
    def history(self) -> list[dict]:
        return self.batch.histories[0]

    @property
    def engine(self) -> Engine | None:
        """Device, weights and network, while the run goes."""
        return self.batch.engine

    @property
    def total_steps(self) -> int:
        return self.batch.total_steps

    @property
    def output_shape(self) -> tuple[int, int]:
        return self.batch.output_shape

    def output_image(self, step: Step) -> np.ndarray:
        """``step``'s image at the result's shape (a coarse scale's is upsampled)."""
        return self.batch.output_image(step)

    def scale_sizes(self) -> tuple[int, ...]:
        return self.batch.sizes

    @property
    def has_result(self) -> bool:
        """Whether a step completed, so that :meth:`result` has something to give."""
        return self.batch.outcome is not None

    def complete(self) -> Result:
        return self.batch.complete()[0]

    def result(self) -> Result:
        return self.batch.results()[0]


def run(config: Config, content: np.ndarray | None = None, style: Styles = None,
        init_image: np.ndarray | None = None, labels: np.ndarray | None = None) -> Run:
    """A :class:`Run`; iterate it for steps, or call ``.complete()`` for the result."""
    return Run(config, content, style, init_image=init_image, labels=labels)


def _config(task: str, init_image: np.ndarray | None, **options) -> Config:
    """The task functions' Config: an ``init_image`` given means ``init="image"``."""
    if init_image is not None:
        options.setdefault("init", "image")
    return Config(task, **options)


def reconstruct(image: np.ndarray,
                content_layers: str | tuple[str, ...] = DEFAULT_RECONSTRUCT_LAYER,
                init_image: np.ndarray | None = None, **options) -> Result:
    """Content reconstruction: an image from noise (or ``init_image``) whose features at
    ``content_layers`` match ``image``'s."""
    config = _config("reconstruct", init_image, content_layers=content_layers, **options)
    return Run(config, content=image, init_image=init_image).complete()


def synthesize_texture(image: np.ndarray | Sequence[np.ndarray],
                       style_layers: str | tuple[str, ...] = DEFAULT_STYLE_LAYERS,
                       init_image: np.ndarray | None = None, **options) -> Result:
    """Texture synthesis: an image from noise (or ``init_image``) whose Gram matrices at
    ``style_layers`` match ``image``'s (or a blend of several images': ``style_blend``)."""
    config = _config("texture", init_image, style_layers=style_layers, **options)
    return Run(config, style=image, init_image=init_image).complete()


def transfer(content: np.ndarray, style: np.ndarray | Sequence[np.ndarray],
             content_layers: str | tuple[str, ...] = DEFAULT_CONTENT_LAYERS,
             style_layers: str | tuple[str, ...] = DEFAULT_STYLE_LAYERS,
             init_image: np.ndarray | None = None, labels: np.ndarray | None = None,
             style_labels: list | None = None, **options) -> Result:
    """Style transfer: ``content``'s features at ``content_layers``, ``style``'s Grams (or
    a blend of several styles': ``style_blend``; or a style per region of ``labels``:
    ``regions``, each learning from the same label of its style's ``style_labels`` if given),
    from the content image (or noise, the style, ``init_image``: ``init``)."""
    config = _config("transfer", init_image, content_layers=content_layers,
                     style_layers=style_layers, **options)
    return Run(config, content=content, style=style, init_image=init_image,
               labels=labels, style_labels=style_labels).complete()
