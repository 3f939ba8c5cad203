"""A run stops when its picture is done (Config.tolerance), and says so."""

import math

import pytest

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.stopping import WINDOW, converged
from napari_neural_style.core.tasks import Run


def test_converged_measures_the_fall_over_the_window():
    falling = [1.0 * 0.9 ** step for step in range(WINDOW + 1)]
    assert not converged(falling, 1e-3)
    flat = [1.0] * (WINDOW + 1)
    assert converged(flat, 1e-3)
    assert not converged(flat[:WINDOW], 1e-3)  # never before a whole window
    assert not converged(flat, 0.0)  # 0: every step
    # one noisy step up at the end neither stops a falling run nor holds up a flat one
    assert not converged([*falling[:-1], 2.0], 1e-3)
    assert converged([*flat[:-1], 1.5], 1e-3)
    # a fall of 0.05 % over the window is under 1e-3, one of 0.5 % is not
    assert converged([1.0] + [0.9995] * WINDOW, 1e-3)
    assert not converged([1.0] + [0.995] * WINDOW, 1e-3)


@pytest.mark.parametrize("tolerance", [-0.1, 0.6, math.nan])
def test_a_tolerance_out_of_range_is_refused(tolerance):
    with pytest.raises(InputError, match="tolerance"):
        Config.for_task("texture", tolerance=tolerance)


def first_stop(losses: list[float], tolerance: float) -> int:
    """The step at which a scale with ``losses`` converges."""
    return next(step for step in range(len(losses)) if converged(losses[:step + 1], tolerance))


def fall(losses: list[float], step: int) -> float:
    """The loss's relative fall over the window that ends at ``step``."""
    before = losses[step - WINDOW]
    return (before - min(losses[step - WINDOW + 1:step + 1])) / before


def tolerance_before_the_end(losses: list[float]) -> float:
    """A tolerance the scale with ``losses`` meets before its last step."""
    step = min(range(2 * WINDOW, len(losses) - 1), key=lambda step: fall(losses, step))
    return 1.01 * fall(losses, step)


def test_a_run_that_converges_ends_early_and_says_so(texture):
    steps = 4 * WINDOW
    common = {"size": 48, "weights": "random", "device": "cpu", "scales": (1.0,),
              "steps": steps, "precision": "fp32", "style_layers": ("conv_1", "conv_3")}
    full = Run(Config.for_task("texture", tolerance=0.0, **common), style=texture).complete()
    assert (full.steps_done, full.stopped_by, full.cancelled) == (steps, "", False)
    losses = [record["total"] for record in full.history]
    tolerance = tolerance_before_the_end(losses)
    stop = first_stop(losses, tolerance)
    assert WINDOW <= stop < steps
    early = Run(Config.for_task("texture", tolerance=tolerance, **common),
                style=texture).complete()
    assert (early.steps_done, early.stopped_by, early.cancelled) == (stop, "converged", False)
    assert early.provenance()["stopped_by"] == "converged"
    # it stopped where the full run then was
    assert [record["total"] for record in early.history] == pytest.approx(losses[:stop + 1])


def test_a_coarse_scale_that_converges_hands_on_to_the_next(texture):
    common = {"size": 64, "weights": "random", "device": "cpu", "scales": (0.5, 1.0),
              "steps": 3, "coarse_steps": 4 * WINDOW, "precision": "fp32",
              "style_layers": ("conv_1", "conv_3")}
    full = Run(Config.for_task("texture", tolerance=0.0, **common), style=texture).complete()
    coarse = [record["total"] for record in full.history if record["size"] == 32]
    tolerance = tolerance_before_the_end(coarse)
    stop = first_stop(coarse, tolerance)
    result = Run(Config.for_task("texture", tolerance=tolerance, **common),
                 style=texture).complete()
    sizes = [record["size"] for record in result.history]
    assert sizes.count(32) == stop + 1 and sizes.count(64) == 3
    # numbered as they ran: the last step is the count of steps taken
    assert result.steps_done == stop + 3 == result.history[-1]["step"]
    assert result.stopped_by == ""  # the last scale ran every step it was given
