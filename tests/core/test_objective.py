"""The objective: targets once, the weighted sum of the terms, batches that give each image
what it would get alone."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.objective import BatchObjective, Losses, Objective
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import random_weights

LAYERS = ("conv_2", "conv_4")


@pytest.fixture(scope="module")
def encoder():
    return VGGEncoder(random_weights(0, "random-single"), ("conv_1", *LAYERS), "avg")


def _image(seed: int, size: int = 32) -> torch.Tensor:
    return torch.rand((1, 3, size, size), generator=torch.Generator().manual_seed(seed))


def test_the_total_is_the_weighted_sum_of_each_terms_mean(encoder):
    objective = Objective.from_images(encoder, _image(0), [_image(1)], ("conv_4",), LAYERS,
                                      content_weight=2.0, style_weight=0.25, tv_weight=3.0)
    total, losses = objective(_image(2))
    assert set(losses.terms) == {"content", "style", "tv"}
    expected = 2.0 * losses.mean("content") + 0.25 * losses.mean("style") + \
        3.0 * losses.mean("tv")
    assert total.item() == pytest.approx(expected, rel=1e-6)
    assert losses.mean("temporal") is None


def test_a_term_at_its_target_scores_zero(encoder):
    content = _image(0)
    objective = Objective.from_images(encoder, content, [content], ("conv_4",), LAYERS)
    _, losses = objective(content)
    assert losses.mean("content") == 0 and losses.mean("style") == pytest.approx(0, abs=1e-6)


def test_select_shares_the_targets_and_takes_each_configs_weights(encoder):
    shared = Objective.from_images(encoder, _image(0), [_image(1)], ("conv_4",), LAYERS)
    config = Config.for_task("transfer", content_layers="conv_4", style_layers="conv_2",
                             style_weight=3.0)
    selected = shared.select(config)
    style = next(term for term in selected.terms if term.name == "style")
    assert style.weight == 3.0 and style.keys == ("conv_2",)
    assert style.targets["conv_2"] is shared.style_targets["conv_2"]
    assert "tv" not in {term.name for term in selected.terms}  # tv_weight 0: not computed


def test_a_batch_gives_each_image_its_own_losses(encoder):
    shared = Objective.from_images(encoder, _image(0), [_image(1)], ("conv_1", "conv_4"),
                                   LAYERS)
    configs = [Config.for_task("reconstruct", content_layers="conv_1"),
               Config.for_task("transfer", content_layers="conv_4", style_layers=LAYERS)]
    objectives = [shared.select(config) for config in configs]
    images = [_image(5), _image(6)]
    batched = BatchObjective(objectives)(images)
    for objective, image, (total, losses) in zip(objectives, images, batched, strict=True):
        alone_total, alone = objective(image)
        assert total.item() == pytest.approx(alone_total.item(), rel=1e-5)
        assert losses.terms.keys() == alone.terms.keys()


def test_a_record_lists_every_registered_term():
    losses = Losses(1.5, {"content": {"conv_9": 0.5}, "style": {"conv_2": 2.0}})
    record = losses.record(7)
    assert record == {"step": 7, "total": 1.5, "content": 0.5,
                      "content_per_layer": {"conv_9": 0.5}, "style": {"conv_2": 2.0},
                      "tv": 0.0}
    assert np.isclose(losses.mean("style"), 2.0)


def test_a_term_with_no_weight_in_any_run_is_not_computed(encoder):
    unused = Objective.from_images(encoder, _image(0), [], ("conv_4",), ())
    assert [term.name for term in unused.terms] == ["content"]
    shared = Objective.from_images(encoder, _image(0), [], ("conv_4",), (), tv_weight=2.0)
    smooth, plain = (shared.select(Config.for_task("reconstruct", tv_weight=weight))
                     for weight in (2.0, 0.0))
    assert {term.name: term.weight for term in smooth.terms}["tv"] == 2.0
    assert "tv" not in {term.name for term in plain.terms}
