"""Pixels stay in [0, 1] while they are optimized (``pixel_range="bounded"``, core/optimize.py)."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.optimize import hold_at_bounds
from napari_neural_style.core.tasks import Run

FAST = {"weights": "random-single", "device": "cpu", "precision": "fp32", "size": 48}
STYLE_LAYERS = ("conv_2", "conv_4", "conv_8")


def _dark_transfer(photo, pixel_range: str, **options) -> tuple[list, object]:
    """A transfer whose style is the photo at a twentieth of its brightness: unbounded, the
    optimizer reaches for pixels below 0 to match it."""
    dark = (photo * 0.05).astype(np.uint8)
    run = Run(Config.for_task("transfer", steps=30, style_weight=5, pixel_range=pixel_range,
                              **FAST, **options), content=photo, style=dark)
    extremes = [(float(step.pixels.min()), float(step.pixels.max())) for step in run]
    return extremes, run.result()


def test_free_pixels_leave_the_range_and_lose_style_when_shown_bounded_ones_never_do(photo):
    """The free result's style is partly outside [0, 1] and lost when it is shown; the quality
    numbers measure the image shown, so the bounded one is nearer the style."""
    free, free_result = _dark_transfer(photo, "free")
    bounded, result = _dark_transfer(photo, "bounded")
    assert min(low for low, _ in free) < -0.1  # what the projection has to hold back
    assert all(low >= 0 and high <= 1 for low, high in bounded)
    assert result.config.pixel_range == "bounded"

    def distance(result):
        return sum(result.quality["gram_distance"][name] for name in STYLE_LAYERS)

    assert distance(result) < 0.8 * distance(free_result)


@pytest.mark.parametrize("options", [{"optimizer": "adam"},
                                     {"parametrization": "decorrelated"}], ids=str)
def test_adam_and_decorrelated_colour_are_bounded_too(photo, options):
    extremes, result = _dark_transfer(photo, "bounded", **options)
    assert all(low >= 0 and high <= 1 for low, high in extremes)
    assert result.history[-1]["total"] < result.history[0]["total"]


def test_a_pixel_is_held_only_where_descent_leaves_the_range():
    pixels = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.5])
    pixels.grad = torch.tensor([2.0, -2.0, -3.0, 3.0, 4.0])  # descent moves against it
    hold_at_bounds([pixels])
    # at 0 descending would go below (grad > 0): held; at 1 above (grad < 0): held
    assert pixels.grad.tolist() == [0.0, -2.0, 0.0, 3.0, 4.0]


def test_an_unknown_pixel_range_is_refused():
    with pytest.raises(InputError, match="pixel_range"):
        Config.for_task("transfer", pixel_range="clipped")
