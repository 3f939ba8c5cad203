"""The loop: one evaluation a step, every image on its own trajectory, pixels kept in range,
closing the generator stops it."""

import pytest
import torch

from napari_neural_style.core.objective import Losses
from napari_neural_style.core.optimize import hold_at_bounds, optimize_batch


def _towards(targets):
    """An evaluation: each image's squared distance to its target."""
    def evaluate(pixels):
        evaluated = []
        for image, target in zip(pixels, targets, strict=True):
            total = (image - target).pow(2).mean()
            value = total.item()
            evaluated.append((total, Losses(value, {"toy": {"toy": value}})))
        return evaluated
    return evaluate


def _start(value: float) -> torch.Tensor:
    return torch.full((1, 3, 8, 8), value)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_each_image_goes_its_own_way_and_steps_count_evaluations(optimizer):
    targets = [_start(0.2), _start(0.9)]
    steps = list(optimize_batch(_towards(targets), [_start(0.5), _start(0.5)], 6,
                                [optimizer] * 2, [None, None]))
    assert [batch[0].step for batch in steps] == list(range(7))
    for index, target in enumerate(targets):
        first, last = steps[0][index], steps[-1][index]
        assert last.losses.total < first.losses.total
        assert (last.pixels - target).abs().mean() < (first.pixels - target).abs().mean()


def test_bounded_pixels_stay_in_range_and_free_ones_do_not():
    beyond = [_start(1.5)]
    bounded = list(optimize_batch(_towards(beyond), [_start(0.5)], 5, ["lbfgs"], [None]))
    free = list(optimize_batch(_towards(beyond), [_start(0.5)], 5, ["lbfgs"], [None],
                               bounded=False))
    assert all(step.pixels.min() >= 0 and step.pixels.max() <= 1
               for batch in bounded for step in batch)
    assert free[-1][0].pixels.max() > 1


def test_the_starting_images_are_left_alone_and_closing_stops():
    start = _start(0.5)
    loop = optimize_batch(_towards([_start(0.1)]), [start], 100, ["adam"], [None])
    next(loop), next(loop)
    loop.close()
    assert torch.equal(start, _start(0.5))
    with pytest.raises(StopIteration):
        next(loop)


def test_a_bound_holds_the_pixels_pushed_out_of_range():
    pixels = torch.tensor([[0.0, 1.0, 0.0, 0.5]], requires_grad=True)
    pixels.grad = torch.tensor([[1.0, -1.0, -1.0, 1.0]])
    (held,) = hold_at_bounds([pixels])
    assert held.tolist() == [[True, True, False, False]]
    assert pixels.grad.tolist() == [[0.0, 0.0, -1.0, 1.0]]
