"""A finished (or cancelled) run and its provenance: everything needed to reproduce it."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field

import numpy as np

from .config import Config
from .errors import InputError, NeuralStyleError
from .machine import package_version

PACKAGES = ("napari-neural-style", "torch", "torchvision", "numpy")
#: ``Result.stopped_by`` of a run that ended by itself: every step, or done early
#: (``Config.tolerance``)
PLANNED_ENDINGS = ("", "converged")
#: ``Result.stopped_by`` of a run that ended as asked: by itself, or stopped by its caller
ORDINARY_ENDINGS = (*PLANNED_ENDINGS, "stop")


@dataclass
class Result:
    """A finished (or cancelled) run: the image and everything needed to reproduce it."""

    image: np.ndarray  # float32 (H, W, 3) in [0, 1]
    config: Config
    history: list[dict]  # Losses.record for every evaluated step
    steps_done: int
    seconds: float  # optimization loop only
    setup_seconds: float  # weights, network, targets
    device: str
    precision: str  # what the network ran in: fp32, bf16 or fp16
    pooling: str  # what the network ran with: max, avg or blur (``auto`` resolved)
    peak_memory: dict  # {"mb": ..., "of": ...}, see device.peak_memory_mb
    weights: dict
    cancelled: bool
    #: why it ended early: "converged" (its last scale's loss stopped falling,
    #: ``Config.tolerance``), "stop" (the caller stopped it), "interrupt" (Ctrl-C, SIGTERM)
    #: or the error that ended it (out of memory); "" when it ran every step
    stopped_by: str = ""
    quality: dict = field(default_factory=dict)  # see core.quality
    #: the tiles of each scale that ran tile by tile (Config.tile), by its working size
    tiling: dict = field(default_factory=dict)
    #: the dask worker that ran it (its address and host), "" in this process
    ran_on: str = ""
    versions: dict = field(default_factory=lambda: versions())

    @property
    def failed(self) -> bool:
        """Whether an error (out of memory) ended the run after a step; ``stopped_by`` says
        which."""
        return self.stopped_by not in (*ORDINARY_ENDINGS, "interrupt")

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
            "pooling": self.pooling,
            "parametrization": self.config.resolved_parametrization,
            # the scales that ran (what scales="auto" chose), coarse to fine
            "scale_sizes": list(dict.fromkeys(record["size"] for record in self.history)),
            "peak_memory": self.peak_memory,
            "weights": self.weights,
            "cancelled": self.cancelled,
            "stopped_by": self.stopped_by,
            "quality": self.quality,
            "tiling": self.tiling,
            "ran_on": self.ran_on or "this process",
            "history": history,
            "versions": self.versions,
        }


def _first_and_last(history: list[dict]) -> list[dict]:
    return history[:1] + history[-1:] if len(history) > 1 else list(history)


def versions() -> dict:
    """Versions of the packages a run depends on (None for one not installed: the engine
    never imports torchvision, and reading metadata avoids importing anything) and Python."""
    found = {package.replace("-", "_"): package_version(package) for package in PACKAGES}
    return {**found, "python": platform.python_version()}


def recorded_config(provenance: dict) -> Config:
    """The :class:`Config` a provenance record (:meth:`Result.provenance`, a result layer's
    ``metadata["neural_style"]``, a ``--json`` file) was run with, to run it again."""
    params = provenance.get("params") if isinstance(provenance, dict) else None
    if not isinstance(params, dict) or "task" not in params:
        raise InputError("not a run record: it has no 'params' with a 'task' (write one with "
                         "--json, or save a result from napari)")
    known = {name for name in Config.__dataclass_fields__}
    given = {name: value for name, value in params.items() if name in known}
    try:
        return Config(**given)
    except NeuralStyleError as error:  # refused in its own words, naming the setting
        raise InputError(f"the run record does not make a run: {error}") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as error:
        # a value of the wrong kind (a list for a number...): name the first such setting
        bad = next((name for name, value in given.items() if name != "task"
                    and not _makes_a_config(given["task"], name, value)), "task")
        raise InputError(f"the run record's {bad} ({str(given.get(bad))[:40]!r}) does not "
                         f"make a run: {error}".splitlines()[0]) from None


def _makes_a_config(task, name: str, value) -> bool:
    """Whether ``value`` of setting ``name`` alone, the rest default, makes a config."""
    try:
        Config.for_task(task, **{name: value})
    except NeuralStyleError:
        return True  # refused in its own words: not the setting this looks for
    except (TypeError, ValueError, AttributeError, OverflowError):
        return False
    return True
