"""When a scale's picture is done: its loss has stopped falling (``Config.tolerance``).

Pure Python, so the spec (the widgets' estimate, the command line's help) reads it without
torch.
"""

from __future__ import annotations

from collections.abc import Sequence

#: steps over which the loss's fall is measured
WINDOW = 20


def converged(losses: Sequence[float], tolerance: float) -> bool:
    """Whether a scale whose losses so far are ``losses`` (one per step) is done: over the
    last :data:`WINDOW` steps its loss fell by less than ``tolerance`` of itself,

        (L[t-k] - min(L[t-k+1], ..., L[t])) / L[t-k] < tolerance,    k = WINDOW,

    the minimum so that a noisy step (Adam, bf16) neither stops nor holds up a run.  Never
    before :data:`WINDOW` steps, never with ``tolerance`` 0.
    """
    if tolerance <= 0 or len(losses) <= WINDOW:
        return False
    before = losses[-WINDOW - 1]
    return before > 0 and (before - min(losses[-WINDOW:])) / before < tolerance


def scale_done(losses: list[list[float]], totals: Sequence[float], configs: Sequence) -> bool:
    """Whether every run of a batch is done at this scale: each run's ``totals`` (this step's
    loss) added to its scale's ``losses`` so far, each :func:`converged` by its config's
    ``tolerance``."""
    for history, total in zip(losses, totals, strict=True):
        history.append(total)
    return all(converged(history, config.tolerance)
               for history, config in zip(losses, configs, strict=True))
