"""What a sweep can vary: the one table of sweepable settings, their default values, the task
each belongs to, and how their values are written; and what a running sweep reports.  Pure
Python (no torch), for the widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InputError
from .result import Result


@dataclass(frozen=True)
class Sweepable:
    """A setting a sweep can vary."""

    label: str  # as a menu shows it
    values: tuple  # varied over these by default
    task: str | None = None  # the task it belongs to (None: any)
    #: other settings the sweep needs (noise seeds only matter when starting from noise)
    overrides: dict = field(default_factory=dict)
    kind: type = str  # type of one value


SWEEPS: dict[str, Sweepable] = {
    "content_layers": Sweepable("reconstruction, layer by layer",
                                ("conv_1", "conv_2", "conv_4", "conv_8"), "reconstruct"),
    "style_layers": Sweepable("texture, by layer group",
                              ("conv_1-2", "conv_3-4", "conv_5-8", "conv_9-12", "all"),
                              "texture"),
    "seed": Sweepable("noise seeds (with differences)", (0, 1), overrides={"init": "noise"},
                      kind=int),
    "style_weight": Sweepable("style weight", (0.1, 0.5, 2.5), "transfer", kind=float),
    "steps": Sweepable("steps (one run, photographed)", (50, 100, 200), kind=int),
    "optimizer": Sweepable("optimizer: L-BFGS vs Adam", ("lbfgs", "adam")),
}


def sweepable(parameter: str) -> Sweepable:
    if parameter not in SWEEPS:
        raise InputError(f"cannot sweep {parameter!r}; choose one of {', '.join(SWEEPS)}")
    return SWEEPS[parameter]


def parse_values(parameter: str, text: str) -> tuple:
    """Values for ``parameter`` from text: comma-separated, or ``;``-separated when a value
    is itself a list of layers (``conv_1,conv_2; conv_3-4``)."""
    kind = sweepable(parameter).kind
    separator = ";" if ";" in text else ","
    items = [item.strip() for item in text.split(separator) if item.strip()]
    try:
        return tuple(kind(item) for item in items)
    except ValueError:
        raise InputError(f"bad value in {text!r} for {parameter}") from None


def format_values(values: tuple) -> str:
    """The text :func:`parse_values` reads back into ``values``."""
    return ("; " if any("," in str(value) or "-" in str(value) for value in values)
            else ", ").join(str(value) for value in values)


@dataclass(frozen=True)
class SweepStep:
    """Progress through a sweep: which group of runs, and which step within it."""

    group: int
    groups: int
    step: int
    total: int
    runs: tuple[int, ...]  # indices of the sweep values in this group
    losses: tuple  # Losses per run in the group


@dataclass(frozen=True)
class SweepWaiting:
    """On a cluster, while no value finishes: how many have, and the step each running one
    last said it was at (index of the value -> ``(step, total)``)."""

    done: int
    total: int
    running: dict = field(default_factory=dict)

    def describe(self) -> str:
        return cluster_progress("value", self.done, self.total, self.running)


def cluster_progress(unit: str, done: int, total: int, running: dict) -> str:
    """``"2 of 4 values done on the cluster; value 3 at step 37/100"``: runs (``unit`` s,
    values or frames) done, and the step each running one (index -> ``(step, total)``) last
    said it was at."""
    steps = "; ".join(f"{unit} {index + 1} at step {step}/{of}"
                      for index, (step, of) in sorted(running.items()))
    return f"{done} of {total} {unit}s done on the cluster" + (f"; {steps}" if steps else "")


@dataclass(frozen=True)
class SweepSlice:
    """A value of the sweep finished (or was stopped): its index in the values and its
    result, as soon as it is known."""

    index: int
    result: Result
