"""How the frames of a movie hold together: settings of the movie, above each frame's run
(core/frames.py).  Pure Python (no torch), so the command line and the stack widget build
their fields from the :class:`~.config.Option` of each field, as they do for ``Config``."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .config import MAX_STEPS, option
from .errors import InputError

#: how the frames of a movie hold together
TEMPORAL_MODES = ("flow", "none")


@dataclass(frozen=True)
class FrameSettings:
    """How the frames of a movie hold together (above one run's :class:`~.config.Config`)."""

    temporal: str = option(
        "flow", "frames", "flow (each frame starts from the previous result, warped by the "
        "optical flow, and keeps close to it: no flicker) or none (each frame on its own)",
        choices=TEMPORAL_MODES)
    temporal_weight: float = option(
        50.0, "temporal weight", "weight of the pull towards the previous frame, warped (a "
        "mean squared pixel error beside the content and style terms)", low=0, high=1e6)
    frame_steps: int | None = option(
        None, "steps of later frames", "steps of each frame after the first, with flow "
        "(default: steps)", low=1, high=MAX_STEPS)

    def __post_init__(self):
        if self.temporal not in TEMPORAL_MODES:
            raise InputError(f"temporal must be one of {', '.join(TEMPORAL_MODES)}, not "
                             f"{self.temporal!r}")
        if not (math.isfinite(self.temporal_weight) and self.temporal_weight >= 0):
            raise InputError(f"temporal_weight must be a number >= 0, not "
                             f"{self.temporal_weight}")
        if self.frame_steps is not None and self.frame_steps < 1:
            raise InputError(f"frame_steps must be >= 1, not {self.frame_steps}")


#: ``{field name: Option}`` of the frame settings, in order
FRAME_OPTIONS = {item.name: item.metadata["option"] for item in fields(FrameSettings)}
