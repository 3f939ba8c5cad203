"""Sweeps: one setting varied over several values, the results stacked for browsing.

* ``content_layers``: reconstruction layer by layer (default conv_1, conv_2, conv_4, conv_8);
* ``style_layers``: texture synthesis over layer groups (conv_1-2, ..., all);
* ``seed``: the same run from several noise seeds;
* ``style_weight`` and ``optimizer``: transfer variants;
* ``steps``: one single-scale run, photographed at each step count (the first k steps of a
  long run are exactly a k-step run).

Every value is one work item, run in this process or, given a dask ``client``, as one task
on a cluster (core/cluster.py); a finished value comes back as a :class:`SweepSlice` at once.
On a GPU in this process the runs go through the network together, one batch (a GPU gains
from a larger batch); a batch that runs out of memory is run again as two halves, down to one
run at a time.  On a CPU each runs alone: a CPU gains little from a batch, and a run
alone gives exactly the image it gives as a cluster task or a separate run (batched images
differ in the last bits, which L-BFGS amplifies).  The weights are resolved once.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from .batch import BatchRun
from .config import Config
from .errors import InputError, OutOfMemory, setting
from .images import to_numpy
from .optimize import Step
from .result import Result
from .run_inputs import RunInputs, Styles
from .sweep_spec import SweepSlice, SweepStep, SweepWaiting, sweepable


@dataclass
class SweepResult:
    parameter: str
    values: tuple
    results: list[Result]

    @property
    def stack(self) -> np.ndarray:
        """``(n_values, H, W, 3)`` float32 results, in the order of :attr:`values`."""
        return np.stack([result.image for result in self.results])

    @property
    def cancelled(self) -> bool:
        return any(result.cancelled for result in self.results)


class Sweep:
    """``Sweep(base, parameter, values)`` runs ``base`` once per value of ``parameter``.

    Iterating yields :class:`SweepStep` s (in this process; on a cluster,
    :class:`SweepWaiting` while no value finishes) and a :class:`SweepSlice` per finished
    value; closing the iterator stops, keeping finished values and the stopped ones
    so far.  ``client``: a ``distributed.Client`` to run every value as a task on its cluster.
    """

    def __init__(self, base: Config, parameter: str, values: tuple | list,
                 content: np.ndarray | None = None, style: Styles = None, client=None,
                 **images):
        for name, needed in sweepable(parameter).overrides.items():
            if getattr(base, name) != needed:
                raise InputError(f"a {parameter} sweep needs {setting(name, needed)} (the "
                                 f"runs would not differ otherwise)")
        if len(values) < 1:
            raise InputError("a sweep needs at least one value")
        self.parameter, self.values, self.client = parameter, tuple(values), client
        if parameter == "steps":
            # one single-scale run: its first k steps are exactly a k-step run
            self.configs = [replace(base, steps=max(int(value) for value in values),
                                    scales=(1.0,))]
        else:
            # Config parses layer specs such as "conv_1-2" itself
            self.configs = [replace(base, **{parameter: value}) for value in values]
        #: the inputs as given (:class:`~.run_inputs.RunInputs`), for tasks on a cluster
        self.images = vars(RunInputs(content, style, **images))
        self.groups = self._groups()
        # made here so that bad inputs fail before anything runs
        self.runs = [self._batch(group) for group in self.groups]
        self.weights = None  # the first group resolves them for every group
        self.snapshots: dict[int, np.ndarray] = {}  # steps sweep: image after k steps
        self.finished: dict[int, Result] = {}  # by index of the value, as they end

    @property
    def photographed(self) -> tuple[int, ...]:
        """The steps whose images a ``steps`` sweep keeps."""
        return tuple(int(value) for value in self.values) if self.parameter == "steps" else ()

    def _groups(self) -> list[list[int]]:
        """The runs optimized together: all of them on a GPU in this process, else each
        alone."""
        from .device import resolve_device

        indices = list(range(len(self.configs)))
        if self.client is None and resolve_device(self.configs[0].device).type == "cuda":
            return [indices]
        return [[index] for index in indices]

    def __iter__(self) -> Iterator[SweepStep | SweepSlice | SweepWaiting]:
        if self.client is not None:
            from .cluster_backend import cluster_backend

            jobs = [(config, self.images) for config in self.configs]
            running: dict[int, tuple[int, int]] = {}
            for index in cluster_backend().run_tasks(self.client, jobs, self.keep,
                                                     self.photographed, running):
                if index is None:
                    yield SweepWaiting(len(self.finished), len(self.values), dict(running))
                else:
                    yield from self._slices([index])
            return
        number = 0
        while number < len(self.groups):
            try:
                yield from self._run_group(number)
            except OutOfMemory as error:
                if len(self.groups[number]) == 1:
                    raise
                self._split(number, error)
                continue  # the same number: the group's first half
            number += 1

    def _run_group(self, number: int) -> Iterator[SweepStep | SweepSlice]:
        group, run = self.groups[number], self.runs[number]
        run.weights = self.weights  # resolved once, by the first group
        steps = iter(run)
        try:
            for batch in photographs(steps, self.photographed, self.snapshots):
                yield SweepStep(number, len(self.groups), batch[0].step, batch[0].total,
                                tuple(group), tuple(step.losses for step in batch))
        finally:
            steps.close()
            self.weights = run.weights
            if run.outcome is not None:  # kept even if it ran out of memory: a retry replaces
                for index, result in zip(group, run.results(), strict=True):
                    self.keep(index, result)
        yield from self._slices(group)

    def _split(self, number: int, error: OutOfMemory) -> None:
        """Group ``number`` ran out of memory together: run it again as two halves (each as a
        separate run would), saying so."""
        group = self.groups[number]
        halves = [group[:len(group) // 2], group[len(group) // 2:]]
        warnings.warn(f"{error}; running the sweep's {len(group)} values in groups of "
                      f"{len(halves[1])} instead", RuntimeWarning, stacklevel=4)
        self.groups[number:number + 1] = halves
        self.runs[number:number + 1] = [self._batch(half) for half in halves]

    def _batch(self, group: list[int]) -> BatchRun:
        """One run of the values ``group`` together."""
        return BatchRun([self.configs[i] for i in group], RunInputs(**self.images))

    def keep(self, index: int, result: Result, snapshots: dict | None = None) -> None:
        """Keep run ``index``'s result (and the images it photographed); a ``steps`` sweep's
        one run gives every value's slice."""
        self.snapshots.update(snapshots or {})
        if self.parameter != "steps":
            self.finished[index] = result
            return
        for number, value in enumerate(self.values):
            self.finished[number] = _at_step(result, self.snapshots, int(value))

    def _slices(self, group: list[int]) -> Iterator[SweepSlice]:
        """The slices ``group``'s runs made (a ``steps`` run: every value's)."""
        indices = range(len(self.values)) if self.parameter == "steps" else group
        for index in indices:
            yield SweepSlice(index, self.finished[index])

    def source_image(self) -> np.ndarray:
        """The image the results overlay, at the working size: float32 ``(H, W, 3)``."""
        return to_numpy(self.runs[0].source)

    @property
    def has_result(self) -> bool:
        """Whether some run completed a step, so that :meth:`result` has something to give."""
        return bool(self.finished)

    def result(self) -> SweepResult:
        """The results so far (runs not started are left out; a stopped run is cancelled)."""
        if not self.finished:
            raise InputError("the sweep was stopped before its first step; nothing to show")
        done = sorted(self.finished)
        return SweepResult(self.parameter, tuple(self.values[i] for i in done),
                           [self.finished[i] for i in done])


def photographs(batches: Iterator[list[Step]], wanted: tuple[int, ...],
                snapshots: dict[int, np.ndarray]) -> Iterator[list[Step]]:
    """``batches``, keeping the (first) image after each step in ``wanted`` in
    ``snapshots``."""
    for batch in batches:
        if batch[0].step in wanted:
            snapshots[batch[0].step] = batch[0].image
        yield batch


def _at_step(result: Result, snapshots: dict[int, np.ndarray], steps: int) -> Result:
    """The result a ``steps``-step run gives: the long run's image after ``steps`` steps.

    Quality numbers were measured on the final image only, so earlier slices carry none.
    """
    step = min(steps, result.steps_done)
    final = step == result.steps_done
    return replace(result, image=result.image if final else snapshots[step],
                   history=result.history[:step + 1], steps_done=step,
                   config=replace(result.config, steps=steps),
                   cancelled=result.cancelled and step < steps,
                   quality=result.quality if final else {})


def differences(stack: np.ndarray, original: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Signed grey-level differences of a ``(N, H, W, 3)`` stack, for a diverging colormap.

    ``between``: result ``i`` minus result 0, for ``i >= 1``; ``to_original``: each result
    minus ``original`` (an ``(H, W, 3)`` image of the same size), when given.
    """
    grey = stack.mean(axis=-1)
    found = {"between": grey[1:] - grey[:1]}
    if original is not None and original.shape == stack.shape[1:]:
        found["to_original"] = grey - original.mean(axis=-1)
    return found
