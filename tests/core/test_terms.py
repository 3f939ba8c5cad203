"""Loss terms as one class each: a new term touches nothing else, and every statistic is a
mean over positions (what a tiling or a mask combines)."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.losses import GramTarget, MeanCovTarget, Moments
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.terms import TERMS, Content, Style, Term
from napari_neural_style.plugin.loss_plot import terms as curves


@pytest.fixture
def brightness_term():
    """A toy term, defined as a user would add one: the image's mean brightness against 0.8."""

    @dataclass(frozen=True)
    class Brightness(Term):
        name = "brightness"

        target: float = 0.8

        @classmethod
        def of(cls, sources):
            return cls(weight=5.0)

        def statistic(self, key, features, pixels):
            return pixels.float().mean()

        def score(self, key, statistic):
            return (statistic - self.target) ** 2

    yield Brightness
    TERMS.pop("brightness")


def test_a_new_term_is_one_class_and_reaches_records_and_curves(brightness_term):
    dark = np.full((48, 48, 3), 0.1, np.float32)
    config = Config.for_task("reconstruct", size=48, steps=15, weights="random",
                             device="cpu", init="noise", scales=(1.0,))
    result = Run(config, content=dark).complete()
    first, last = result.history[0], result.history[-1]
    assert {"brightness", "content", "style", "tv"} <= set(last)
    assert last["brightness"] < first["brightness"]
    plotted = curves(result.history)
    assert {"total", "brightness", "content conv_4"} <= set(plotted)
    assert len(plotted["brightness"][0]) == len(result.history)


def _halves(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The top and bottom rows of ``(1, C, H, W)`` features, of unequal heights."""
    return features[..., :5, :], features[..., 5:, :]


def _combined(statistics, weights):
    if isinstance(statistics[0], Moments):
        return Moments(sum(w * s.mean for w, s in zip(weights, statistics, strict=True)),
                       sum(w * s.second for w, s in zip(weights, statistics, strict=True)))
    return sum(w * s for w, s in zip(weights, statistics, strict=True))


@pytest.mark.parametrize("kind", ["content", "gram", "meancov"])
def test_each_statistic_is_a_mean_over_positions(kind):
    """The statistic of the whole is the position-weighted mean of its parts', so the score
    of the combined parts is the whole image's loss."""
    generator = torch.Generator().manual_seed(0)
    features = torch.rand((1, 6, 12, 7), generator=generator)
    target = torch.rand((1, 6, 12, 7), generator=generator)
    if kind == "content":
        term, parts_of_target = Content(1.0, {"l": target}), _halves(target)
        statistics = [Content(1.0, {"l": part}).statistic("l", {"l": feats}, None)
                      for feats, part in zip(_halves(features), parts_of_target, strict=True)]
    else:
        make = GramTarget.of if kind == "gram" else MeanCovTarget.of
        term = Style(1.0, {"l": make(Moments.of(target))})
        statistics = [term.statistic("l", {"l": part}, None) for part in _halves(features)]
    weights = [5 / 12, 7 / 12]
    whole = term.values({"l": features}, None)["l"]
    torch.testing.assert_close(term.score("l", _combined(statistics, weights)), whole,
                               rtol=1e-5, atol=0)


def test_a_batch_member_takes_its_own_weights_and_layers():
    style = Style(0.5, {"conv_2": None, "conv_4": None})
    config = Config.for_task("texture", style_layers="conv_4", style_weight=2.0)
    selected = style.select(config)
    assert selected.weight == 2.0 and selected.keys == ("conv_4",)
    assert Content(1.0, {"conv_9": None}).select(config) is None
