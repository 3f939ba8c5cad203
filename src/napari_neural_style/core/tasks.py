"""The three experiments of Gatys et al. as one configurable run.

* ``reconstruct``: match the features of one (or more) layers of an image, from noise;
* ``texture``: match Gram matrices of an image at chosen layers, from noise;
* ``transfer``: content features of one image plus Grams of another.

:class:`Run` is the engine every caller shares: iterate it for :class:`~.optimize.Step` s
(closing the iterator cancels), then ask it for the :class:`~.result.Result`.
:class:`~.batch.BatchRun` is the same for several configs optimized together (sweeps).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .batch import BatchRun, RunSetup
from .config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_RECONSTRUCT_LAYER,
    DEFAULT_STYLE_LAYERS,
    Config,
)
from .optimize import Step
from .result import Result
from .run_inputs import RunInputs, Styles
from .terms import Temporal
from .weights import Weights


class Run:
    """One run of ``config`` on numpy images.  Inputs are converted (and checked) at once.

    ``for step in run: ...`` optimizes; breaking out and closing the iterator cancels, and
    :meth:`result` then reports the partial image as cancelled.  A batch of one underneath.
    """

    def __init__(self, config: Config, content: np.ndarray | None = None,
                 style: Styles = None, *, weights: Weights | None = None,
                 temporal: Temporal | None = None, cache: dict | None = None, client=None,
                 stop=None, **images):
        """``images``: the other :class:`~.run_inputs.RunInputs` (``init_image``,
        ``labels``, ``style_labels``); ``weights`` already resolved, a frame's ``temporal``
        term and its movie's ``cache`` of style targets are handed on by callers above runs
        (sweeps, frames); with a dask ``client`` the tiles of each tiled step run on its
        cluster (the optimizer here); ``stop`` (a ``threading.Event``), once set, ends a
        tiled step at its next tile, the steps before it kept (as closing the iteration
        does between steps)."""
        self.config = config
        self.batch = BatchRun([config], RunInputs(content, style, **images), weights=weights,
                              temporal=temporal, cache=cache, client=client, stop=stop)

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
    def setup(self) -> RunSetup | None:
        """Device, weights and network, while the run goes."""
        return self.batch.setup

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
        **images) -> Run:
    """A :class:`Run` (``images``: ``init_image``, ``labels``, ``style_labels``); iterate it
    for steps, or call ``.complete()`` for the result."""
    return Run(config, content, style, **images)


def _config(task: str, init_image: np.ndarray | None, **options) -> Config:
    """The task functions' Config (``preset=`` as :meth:`Config.for_task` takes it): an
    ``init_image`` given means ``init="image"``."""
    if init_image is not None:
        options.setdefault("init", "image")
    return Config.for_task(task, **options)


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
