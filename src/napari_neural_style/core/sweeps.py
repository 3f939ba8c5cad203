"""Sweeps: one setting varied over several values, the results stacked for browsing.

* ``content_layers``: reconstruction layer by layer (default conv_1, conv_2, conv_4, conv_8);
* ``style_layers``: texture synthesis over layer groups (conv_1-2, ..., all);
* ``seed``: the same run from several noise seeds;
* ``style_weight`` and ``optimizer``: transfer variants;
* ``steps``: one single-scale run, photographed at each step count (the first k steps of a
  long run are exactly a k-step run).

Targets are computed once per sweep.  Runs are batched through the network together where
that saves time: always on a GPU; on a CPU when they need the network to the same depth (a
CPU gains little from a larger batch, and a shallow run would pay for a deep one).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from .config import Config
from .errors import InputError
from .images import to_numpy
from .result import Result
from .sweep_spec import sweepable
from .tasks import BatchRun, Styles
from .vgg_layers import deepest


@dataclass(frozen=True)
class SweepStep:
    """Progress through a sweep: which group of runs, and which step within it."""

    group: int
    groups: int
    step: int
    total: int
    runs: tuple[int, ...]  # indices of the sweep values in this group
    losses: tuple  # Losses per run in the group


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
    """``Sweep(base, parameter, values)`` runs ``base`` once per value of ``parameter``."""

    def __init__(self, base: Config, parameter: str, values: tuple | list,
                 content: np.ndarray | None = None, style: Styles = None,
                 init_image: np.ndarray | None = None, labels: np.ndarray | None = None):
        sweepable(parameter)
        if len(values) < 1:
            raise InputError("a sweep needs at least one value")
        self.parameter, self.values = parameter, tuple(values)
        if parameter == "steps":
            # one single-scale run: its first k steps are exactly a k-step run
            self.configs = [replace(base, steps=max(int(value) for value in values),
                                    scales=(1.0,))]
        else:
            # Config parses layer specs such as "conv_1-2" itself
            self.configs = [replace(base, **{parameter: value}) for value in values]
        self.groups = self._groups()
        self.runs = [BatchRun([self.configs[i] for i in group], content, style,
                              init_image=init_image, labels=labels) for group in self.groups]
        self.snapshots: dict[int, np.ndarray] = {}  # steps sweep: image after k steps

    def _groups(self) -> list[list[int]]:
        from .device import resolve_device

        indices = list(range(len(self.configs)))
        if resolve_device(self.configs[0].device).type == "cuda":
            return [indices]
        by_depth: dict[int, list[int]] = {}
        for index, config in enumerate(self.configs):
            by_depth.setdefault(deepest(config.layers).index, []).append(index)
        return list(by_depth.values())

    def __iter__(self) -> Iterator[SweepStep]:
        weights = None
        for number, (group, run) in enumerate(zip(self.groups, self.runs, strict=True)):
            run.weights = weights  # resolved once, by the first group
            steps = iter(run)
            try:
                for batch in steps:
                    if self.parameter == "steps" and batch[0].step in self.values:
                        self.snapshots[batch[0].step] = batch[0].image
                    yield SweepStep(number, len(self.groups), batch[0].step, batch[0].total,
                                    tuple(group), tuple(step.losses for step in batch))
            finally:
                steps.close()
            weights = run.weights

    def source_image(self) -> np.ndarray:
        """The image the results overlay, at the working size: float32 ``(H, W, 3)``."""
        return to_numpy(self.runs[0].source)

    @property
    def has_result(self) -> bool:
        """Whether some run completed a step, so that :meth:`result` has something to give."""
        return any(run.outcome is not None for run in self.runs)

    def result(self) -> SweepResult:
        """The results so far (runs not started are left out; a stopped run is cancelled)."""
        by_index: dict[int, Result] = {}
        for group, run in zip(self.groups, self.runs, strict=True):
            if run.outcome is not None:
                by_index.update(zip(group, run.results(), strict=True))
        if not by_index:
            raise InputError("the sweep was stopped before its first step; nothing to show")
        if self.parameter == "steps":
            return SweepResult(self.parameter, self.values,
                               [_at_step(by_index[0], self.snapshots, int(value))
                                for value in self.values])
        done = sorted(by_index)
        return SweepResult(self.parameter, tuple(self.values[i] for i in done),
                           [by_index[i] for i in done])


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
