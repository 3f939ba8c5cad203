"""Runs of several configs on the same images, optimized together: set up once
(:class:`RunSetup`), optimized scale by scale, finished (:class:`Outcome`).  A
:class:`~.tasks.Run` is a batch of one; a sweep on a GPU batches its values.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace

import numpy as np
import torch

from .cluster_backend import tiles_ran_on
from .colour import network_inputs, result_colours
from .config import OPTIONS, Config
from .device import (
    is_out_of_memory,
    peak_memory_mb,
    preferred_memory_format,
    prepare_cuda,
    release_freed_memory,
    resolve_device,
    resolve_precision,
    reused_memory,
)
from .errors import InputError, NeuralStyleError, out_of_memory
from .estimate import lbfgs_pairs, recomputes, runs_tiled, tiling_for
from .geometry import working_shape
from .images import resize, to_numpy
from .objective import BatchObjective, Objective
from .optimize import Step, optimize_batch
from .quality import quality
from .regions import RegionPlan, region_masks
from .result import ORDINARY_ENDINGS, PLANNED_ENDINGS, Result
from .run_inputs import CheckedInputs, RunInputs, with_own_style_sizes
from .starts import first_start, next_start
from .stopping import scale_done
from .terms import TERMS, Temporal
from .tile_grid import Tiling
from .tiling import StepStopped, TiledBatch
from .vgg import VGGEncoder
from .vgg_layers import min_image_side
from .weights import Weights, resolve_weights

#: settings every run of a batch must share (``Option.shared``)
SHARED = tuple(name for name, option in OPTIONS.items() if option.shared)
PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


@dataclass(frozen=True)
class RunSetup:
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
    tiling: dict  # the tiles of each scale that ran tile by tile, by its working size


class BatchRun:
    """Runs of several configs on the same images, optimized together.

    The configs must share the settings of :data:`SHARED`; they may differ in task, layers,
    loss weights, seed, init, optimizer, learning rate and parametrization.  Targets are
    computed once for all, every step is one forward and backward pass for the whole batch,
    and each image keeps its own optimizer (and parametrization): it ends where it would
    alone.  Iterating yields the list of :class:`~.optimize.Step` s per step; closing the
    iterator cancels, and :meth:`results` then reports the partial images as cancelled."""

    def __init__(self, configs: list[Config], inputs: RunInputs | None = None, *,
                 weights: Weights | None = None, temporal: Temporal | None = None,
                 cache: dict | None = None, client=None, stop=None):
        if not configs:
            raise InputError("a batch needs at least one configuration")
        for field_name in SHARED:
            if len({getattr(config, field_name) for config in configs}) > 1:
                raise InputError(f"runs batched together must share {field_name}")
        self.configs = with_own_style_sizes(configs, inputs or RunInputs())
        checked = CheckedInputs.of(self.configs, inputs or RunInputs(),
                                   min_image_side(self.layers("layers")))
        self.content, self.styles = checked.content, checked.styles
        #: the image configs with ``init="image"`` start from, at the working size
        self.init_image = checked.init_image
        #: the label image over the content that ``Config.regions`` refers to, and per style
        #: image its own label image (or None)
        self.labels, self.style_labels = checked.labels, checked.style_labels
        #: a frame's pull to the previous frame's result (core/frames.py), style targets by
        #: scale size shared with other frames, the dask client a tiled scale's tiles run on
        #: (core/cluster_tiles.py), and the event that stops a tiled step between tiles
        self.temporal, self.cache, self.client, self.stop = temporal, cache, client, stop
        #: resolved on the first iteration unless given (a sweep hands them on)
        self.weights = weights
        self.sizes = self.scale_sizes()
        self.counts = [configs[0].steps_at(index, len(self.sizes))
                       for index in range(len(self.sizes))]
        self.histories: list[list[dict]] = [[] for _ in configs]
        #: the tiles of each scale that ran tile by tile, by its working size
        self.tilings: dict[int, dict] = {}
        #: the working sizes of the scales that ended converged (Config.tolerance)
        self.converged: list[int] = []
        self.last: list[Step] | None = None  # the latest steps, at their scale's size
        self.setup: RunSetup | None = None  # while iterating
        self._active: Iterator | None = None  # the latest iteration
        self.outcome: Outcome | None = None  # once iteration ended

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
        """What results overlay at the working size: the content, else the (first) style."""
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
        setup, previous, size = None, None, self.sizes[0]
        stopped_by = "stop"  # unless it ends otherwise: the caller closed the iterator
        try:
            self.setup = setup = self._set_up()
            start = time.perf_counter()
            for number, size in enumerate(self.sizes):
                previous = yield from self._scale(setup, number, size, previous, start)
            stopped_by = "converged" if self.sizes[-1] in self.converged else ""
        except StepStopped:  # Stop, heard within a step: the steps before it are the result
            pass
        except KeyboardInterrupt:
            stopped_by = "interrupt"
            raise
        except (RuntimeError, MemoryError) as error:
            if not is_out_of_memory(error):
                raise
            failure = out_of_memory(self.configs[0], setup, size, len(self.configs))
            stopped_by = str(failure)
            raise failure from None  # torch's own message and advice would only confuse
        finally:
            self.setup = None  # the network's memory goes with the iteration
            if stopped_by == "stop" and self.last and self.last[0].step == self.total_steps:
                stopped_by = ""  # closed after its last step: it ran to the end
            if setup is not None:
                self.outcome = self._finish(setup, stopped_by)

    def _set_up(self) -> RunSetup:
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
        return RunSetup(device, self.weights, encoder, PRECISION_NAMES[autocast], memory_format,
                        content, styles, start_image, time.perf_counter() - start)

    def _scale(self, setup: RunSetup, number: int, size: int,
               previous: tuple[list[torch.Tensor], torch.Tensor | None] | None,
               start: float) -> Iterator[list[Step]]:
        """Optimize at working ``size`` from ``previous`` (the coarser scale's images and
        content) or from the configs' starts; return this scale's images and content."""
        first = self.configs[0]
        content = None if setup.content is None else resize(
            setup.content, working_shape(*setup.content.shape[-2:], size))
        evaluate = self._objective(setup, size, content)
        shape = working_shape(*self.output_shape, size)
        if previous is None:
            starts = [first_start(config, setup, content, shape) for config in self.configs]
        else:
            starts = [next_start(config, image, shape, previous[1], content)
                      for config, image in zip(self.configs, previous[0], strict=True)]
        offset = self.last[0].step if number else 0  # a converged scale ran fewer steps
        lean = setup.encoder.recompute = recomputes(first, *shape)
        release_freed_memory(setup.device)  # what the targets and the last scale left
        losses = [[] for _ in self.configs]
        with closing(optimize_batch(
                evaluate, starts, self.counts[number],
                [config.optimizer for config in self.configs],
                [config.learning_rate for config in self.configs], lbfgs_pairs(first, *shape),
                first.pixel_range == "bounded",
                [config.resolved_parametrization for config in self.configs])) as scale, \
                reused_memory(first.memory == "reuse" and setup.device.type == "cpu"):
            for steps in scale:
                if lean and setup.device.type == "cpu":
                    # lean trades time for memory: what glibc's heap keeps of a step's freed
                    # maps goes back, at the cost of its pages faulting in again
                    release_freed_memory(setup.device)
                if number and not steps[0].step:
                    continue  # the previous scale's last image, only resized
                self._record(steps, offset, size, time.perf_counter() - start)
                yield self.last
                if scale_done(losses, [step.losses.total for step in steps], self.configs):
                    self.converged.append(size)
                    break
        return [step.pixels for step in self.last], content

    def _objective(self, setup: RunSetup, size: int,
                   content: torch.Tensor | None) -> BatchObjective:
        """Every config's objective at working ``size``: targets from ``content`` (at that
        size) and the styles resized to it, or cached by another frame of a movie."""
        first = self.configs[0]
        styles = [resize(style, working_shape(*style.shape[-2:],
                                              first.working_size("style", size, index)))
                  for index, style in enumerate(setup.styles)]
        # a cache serves frames of one movie; regions make targets depend on each frame
        cache = self.cache if self.cache is not None and not first.regions else {}
        shape = working_shape(*self.output_shape, size)
        tiling = self._tiling(setup, shape)
        if tiling is not None:  # for the record
            self.tilings[size] = {"tile": tiling.size, "forward_tile": tiling.forward,
                                  "halo": tiling.halo, "tiles": len(tiling.tiles(*shape)),
                                  "lbfgs_history": lbfgs_pairs(first, *shape),
                                  "tiles_ran_on": tiles_ran_on(self.client)}
        shared = Objective.from_images(
            setup.encoder, content, styles, self.layers("content_layers"),
            self.layers("style_layers"), memory_format=setup.memory_format,
            style_loss=first.style_loss, style_blend=first.style_blend,
            regions=self._regions(setup, tuple(content.shape[-2:]), size)
            if first.regions else None, style_targets=cache.get(size),
            temporal=self.temporal and self.temporal.to(setup.device), tiling=tiling,
            **self._weights())
        cache[size] = shared.style_targets
        objectives = [shared.select(config) for config in self.configs]
        return BatchObjective(objectives) if tiling is None else \
            TiledBatch(objectives, tiling, self.client, self.stop)

    def _tiling(self, setup: RunSetup, shape: tuple[int, int]) -> Tiling | None:
        """The tiles of a scale whose results are ``shape`` (None: no tiles, or one)."""
        if not runs_tiled(self.configs[0], *shape):
            return None
        planned = tiling_for(self.configs[0], *shape)
        return Tiling.for_layers(planned.size, self.layers("layers"), setup.encoder.pooling,
                                 planned.forward)

    def _weights(self) -> dict[str, float]:
        """Each term's weight field, the largest over the configs: a term one config uses
        is built once for the batch (:meth:`~.terms.Term.select` gives each its own)."""
        return {term.weight_field: max(getattr(config, term.weight_field)
                                       for config in self.configs)
                for term in TERMS.values() if term.weight_field}

    def _regions(self, setup: RunSetup, shape: tuple[int, int], size: int) -> RegionPlan:
        """The regions at a scale whose content is ``shape`` (working size ``size``): masks
        resampled to it, the feather scaled with it."""
        config = self.configs[0]
        masks = region_masks(self.labels, shape, [label for label, _, _ in config.regions],
                             config.feather * size / config.size, setup.device)
        style_masks = tuple(
            None if labels is None else region_masks(
                labels, working_shape(*style.shape[-2:], config.working_size("style", size,
                                                                              index)),
                [label for label, used, _ in config.regions if used == index], 0.0,
                setup.device)
            for index, (labels, style) in enumerate(zip(self.style_labels, setup.styles,
                                                        strict=False)))
        return RegionPlan(config.regions, masks, config.region_mask, style_masks,
                          setup.encoder.pooling)

    def _record(self, steps: list[Step], offset: int, size: int, elapsed: float) -> None:
        """Number a scale's steps in the whole run's count and keep their losses."""
        self.last = [replace(step, step=offset + step.step, total=self.total_steps,
                             elapsed=elapsed) for step in steps]
        for history, step in zip(self.histories, self.last, strict=True):
            history.append({**step.losses.record(step.step), "size": size})

    def _finish(self, setup: RunSetup, stopped_by: str) -> Outcome | None:
        """The outcome: the last images at the working size, with their quality numbers (not
        after an interrupt, which asks to end now, nor after running out of memory)."""
        peak_memory = peak_memory_mb(setup.device)
        # an iterator left open until the interpreter exits is closed during shutdown,
        # when torch can no longer run a network (it aborts): nobody is left to ask
        if self.last is None or sys.is_finalizing():
            return None
        # stopped at a coarse scale: the result is still given at the working size
        last = [replace(step, pixels=resize(step.pixels, self.output_shape))
                for step in self.last]
        first = self.configs[0]
        regions = self._regions(setup, self.output_shape, first.size) if first.regions \
            else None
        release_freed_memory(setup.device)  # what the steps left
        # measured on the pixels the result shows (pixel_range="free" leaves some outside
        # [0, 1]), before its colours are changed as asked; in the run's tiles if it had some
        tiling = self._tiling(setup, self.output_shape)
        numbers = [quality(setup.weights, first.pooling, step.pixels.clamp(0, 1),
                           setup.content, setup.styles, first.style_blend,
                           setup.memory_format, regions, tiling.size if tiling else 0)
                   if stopped_by in ORDINARY_ENDINGS else {} for step in last]
        last = [replace(step, pixels=self._coloured(step.pixels)) for step in last]
        release_freed_memory(setup.device)  # what the quality pass left, for the next run
        return Outcome(last, numbers, stopped_by, last[0].elapsed, setup.seconds,
                       str(setup.device), setup.precision, setup.encoder.pooling, peak_memory,
                       setup.weights.describe(), dict(self.tilings))

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
                   weights=outcome.weights,
                   cancelled=outcome.stopped_by not in PLANNED_ENDINGS,
                   stopped_by=outcome.stopped_by, quality=numbers, tiling=outcome.tiling)
            for config, history, step, numbers in
            zip(self.configs, self.histories, outcome.last, outcome.quality, strict=True)
        ]
