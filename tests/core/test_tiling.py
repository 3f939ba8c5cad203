"""A step tile by tile is the step on the whole image: the same loss and the same gradient
(relative difference <= 1e-5 in float32), at sizes that are not multiples of the tile, at
the border, for every kind of term."""

import numpy as np
import pytest
import torch

from napari_neural_style.core.objective import Objective
from napari_neural_style.core.regions import RegionPlan, region_masks
from napari_neural_style.core.terms import Temporal
from napari_neural_style.core.tile_grid import Tiling, margins, receptive_field
from napari_neural_style.core.tiling import TiledObjective
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import random_weights

SEED_CONTENT, SEED_STYLE = ("conv_9",), ("conv_2", "conv_4", "conv_8", "conv_16")
#: as the engine runs on a CPU: oneDNN's float32 convolutions in the contiguous layout round
#: differently from one map width to another (up to 2e-4 of a gradient), channels_last's not
LAYOUT = {"memory_format": torch.channels_last}


def _image(seed: int, height: int, width: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((1, 3, height, width), generator=generator, dtype=torch.float64).float()


def _encoder(layers, pooling="avg"):
    return VGGEncoder(random_weights(0, "random-single"), tuple(layers), pooling)


def _loss_and_gradient(evaluate, pixels):
    pixels = pixels.clone().requires_grad_(True)
    total, losses = evaluate(pixels)
    total.backward()
    return total.item(), losses, pixels.grad


def _assert_same(objective, pixels, tile):
    names = tuple(dict.fromkeys(key for term in objective.terms
                                for key in getattr(term, "targets", ())))
    tiling = Tiling.for_layers(tile, names, objective.encoder.pooling)
    assert len(tiling.forward_only().tiles(*pixels.shape[-2:])) > 1  # both passes in tiles
    whole_total, whole, whole_gradient = _loss_and_gradient(objective, pixels)
    tiled_total, tiled, tiled_gradient = _loss_and_gradient(
        TiledObjective(objective, tiling), pixels)
    assert tiled_total == pytest.approx(whole_total, rel=1e-5)
    assert tiled.terms.keys() == whole.terms.keys()
    for name, values in whole.terms.items():
        for key, value in values.items():
            # a term near its target (meancov's trace difference) cancels digits: each term
            # to 1e-5 of the total
            assert tiled.terms[name][key] == pytest.approx(value, abs=1e-5 * whole_total), \
                (name, key)
    error = (tiled_gradient - whole_gradient).norm() / whole_gradient.norm()
    assert error <= 1e-5, float(error)


def test_the_receptive_fields_are_vggs():
    assert [receptive_field(name) for name in ("conv_1", "conv_9", "conv_12", "conv_16")] == \
        [3, 68, 116, 252]
    assert receptive_field("conv_9", "blur") > 68


def test_tiles_cover_the_image_once_on_the_stride_grid():
    tiling = Tiling.for_layers(100, SEED_STYLE, "avg")
    assert tiling.size == 112 and tiling.stride == 16 and tiling.halo == 128
    tiles = tiling.tiles(250, 130)
    covered = np.zeros((250, 130), int)
    for tile in tiles:
        covered[tile.rows, tile.cols] += 1
        assert tile.rows.start % 16 == 0 and tile.input_rows.start % 16 == 0
    assert (covered == 1).all()


def test_each_map_keeps_the_margin_the_layers_after_it_reach():
    """conv_16's interior needs 118 px of the input (the convolutions' reach: 2 x 1 + 2 x 2
    + 4 x 4 + 4 x 8 + 4 x 16 px), less at each layer after; a blur pooling reaches one
    position of its input further, counted as two to keep the pooling's phase."""
    found = margins(("conv_16",))
    assert len(found) == 35 and found[-1] == 0
    assert (found[0], found[16], found[18], found[19], found[27]) == (117, 96, 96, 88, 64)
    blur = margins(("conv_16",), "blur")
    assert blur[0] == 117 + 2 * (1 + 2 + 4 + 8)  # more than the 144 px read: kept whole
    assert margins(("conv_2", "conv_4")) == margins(("conv_4",))


def test_a_tile_keeps_only_what_the_layers_after_it_read():
    tiling = Tiling.for_layers(512, SEED_CONTENT + SEED_STYLE, "max")
    middle = tiling.tiles(1536, 1536)[4]  # halo on every side
    crops = tiling.crops(middle, 1536, 1536)
    rows, cols = crops[34]  # conv_16: the interior alone, 512 / 16 positions
    assert (rows.stop - rows.start, cols.stop - cols.start) == (32, 32)
    assert rows == cols == slice(1, 33)  # its convolution's input kept one more a side
    assert crops[0] == (slice(11, 757), slice(11, 757))  # 128 px of halo read, 117 kept
    assert 1 not in crops  # a ReLU keeps its convolution's map
    sides = tiling.map_sides(middle, 1536, 1536)  # as made: what the estimate counts
    assert sides[0] == (768, 768) and sides[2] == (746, 746) and sides[34] == (34, 34)
    own, whole, _ = tiling.box(middle, "conv_16", 1536, 1536)
    assert own == (slice(0, 32), slice(0, 32)) and whole == (slice(32, 64), slice(32, 64))
    assert Tiling(512, 128, 16).crops(middle, 1536, 1536) == {}  # no margins: whole maps


def test_blur_pooling_tiled_is_blur_pooling():
    names = ("conv_4", "conv_9")
    objective = Objective.from_images(_encoder(names, "blur"), _image(0, 80, 90),
                                      [_image(1, 64, 64)], ("conv_9",), names, **LAYOUT)
    _assert_same(objective, _image(3, 80, 90), 32)


@pytest.mark.parametrize("style_loss", ["gram", "meancov"])
def test_the_seed_transfer_tiled_is_the_transfer(style_loss):
    layers = SEED_CONTENT + SEED_STYLE
    encoder = _encoder(layers)
    content, style = _image(0, 150, 137), _image(1, 96, 112)
    objective = Objective.from_images(encoder, content, [style], SEED_CONTENT, SEED_STYLE,
                                      style_loss=style_loss, tv_weight=0.3, **LAYOUT)
    _assert_same(objective, _image(2, 150, 137), 64)


def test_max_pooling_and_a_texture_of_shallow_layers_tiled():
    names = ("conv_1", "conv_3", "conv_5")
    objective = Objective.from_images(_encoder(names, "max"), None, [_image(1, 64, 64)], (),
                                      names, **LAYOUT)
    _assert_same(objective, _image(3, 90, 77), 20)


def test_a_reconstruction_from_conv_12_at_the_border():
    objective = Objective.from_images(_encoder(("conv_12",)), _image(0, 70, 200), [],
                                      ("conv_12",), (), **LAYOUT)
    _assert_same(objective, _image(4, 70, 200), 48)


def test_regions_tiled():
    names = ("conv_4", "conv_8")
    encoder = _encoder(("conv_2", *names))
    content = _image(0, 96, 130)
    labels = np.ones((96, 130), np.int32)
    labels[:, 70:] = 2
    labels[:20, :30] = 0
    regions = ((1, 0, 1.0), (2, 1, 2.0))
    plan = RegionPlan(regions, region_masks(labels, (96, 130), [1, 2], 0.0,
                                            torch.device("cpu")), "simple", (), "avg")
    objective = Objective.from_images(encoder, content, [_image(1, 64, 64), _image(5, 80, 64)],
                                      ("conv_2",), names, regions=plan, **LAYOUT)
    _assert_same(objective, _image(2, 96, 130), 32)


def test_the_temporal_term_tiled():
    names = ("conv_4",)
    warped = _image(7, 60, 75)
    reliable = (torch.rand((1, 1, 60, 75), generator=torch.Generator().manual_seed(8)) > 0.3)
    objective = Objective.from_images(
        _encoder(names), _image(0, 60, 75), [], names, (),
        temporal=Temporal(weight=20.0, warped=warped, reliable=reliable.float()), **LAYOUT)
    _assert_same(objective, _image(2, 60, 75), 24)


def test_a_final_evaluation_without_gradients_gives_the_losses():
    names = ("conv_2", "conv_4")
    objective = Objective.from_images(_encoder(names), _image(0, 64, 70), [_image(1, 48, 48)],
                                      ("conv_4",), names, **LAYOUT)
    tiled = TiledObjective(objective, Tiling.for_layers(16, names, "avg"))
    pixels = _image(2, 64, 70)
    with torch.no_grad():
        total, _ = tiled(pixels)
    assert total.item() == pytest.approx(objective(pixels)[0].item(), rel=1e-5)


def test_targets_made_tile_by_tile_are_the_whole_images():
    layers = SEED_CONTENT + SEED_STYLE
    encoder = _encoder(layers)
    content, style = _image(0, 150, 137), _image(1, 180, 160)
    tiling = Tiling.for_layers(48, layers, "avg")
    whole, tiled = (Objective.from_images(encoder, content, [style], SEED_CONTENT, SEED_STYLE,
                                          style_loss="meancov", tiling=each, **LAYOUT)
                    for each in (None, tiling))
    content_terms = [next(term for term in objective.terms if term.name == "content")
                     for objective in (whole, tiled)]
    torch.testing.assert_close(content_terms[1].targets["conv_9"],
                               content_terms[0].targets["conv_9"], rtol=1e-5, atol=1e-6)
    for name in SEED_STYLE:
        expected, found = whole.style_targets[name], tiled.style_targets[name]
        torch.testing.assert_close(found.mean, expected.mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(found.cov, expected.cov, rtol=1e-4, atol=1e-6)


def test_regions_style_targets_made_tile_by_tile_are_the_whole_images():
    names = ("conv_2", "conv_8")
    encoder = _encoder(names)
    labels = np.ones((96, 130), np.int32)
    labels[:, 70:] = 2
    style_labels = np.ones((150, 137), np.int32)
    style_labels[90:] = 2
    plan = RegionPlan(((1, 0, 1.0), (2, 0, 2.0)), region_masks(
        labels, (96, 130), [1, 2], 0.0, torch.device("cpu")), "simple",
        (region_masks(style_labels, (150, 137), [1, 2], 0.0, torch.device("cpu")),), "avg")
    whole, tiled = (Objective.from_images(encoder, _image(0, 96, 130), [_image(1, 150, 137)],
                                          (), names, regions=plan, tiling=each, **LAYOUT)
                    for each in (None, Tiling.for_layers(32, names, "avg")))
    for name in names:
        pairs = zip(whole.style_targets[name].parts, tiled.style_targets[name].parts,
                    strict=True)
        for (_, share, expected), (_, tiled_share, found) in pairs:
            assert tiled_share == share
            torch.testing.assert_close(found.gram, expected.gram, rtol=1e-5, atol=1e-7)


def test_quality_measured_tile_by_tile_is_the_whole_images():
    from napari_neural_style.core.quality import quality

    weights = random_weights(0, "random-single")
    pixels, content = _image(2, 150, 137), _image(0, 150, 137)
    styles = [_image(1, 100, 90), _image(5, 80, 96)]
    labels = np.ones((150, 137), np.int32)
    labels[:, 70:] = 2
    plan = RegionPlan(((1, 0, 1.0), (2, 1, 1.0)), region_masks(
        labels, (150, 137), [1, 2], 0.0, torch.device("cpu")), "simple", (), "avg")
    for regions in (None, plan):
        whole, tiled = (quality(weights, "avg", pixels, content, styles, (0.3, 0.7),
                                torch.channels_last, regions, tile) for tile in (0, 48))
        assert tiled["layers"] == whole["layers"] and len(whole["layers"]) == 9
        for kind in ("content_error", "gram_distance"):
            assert tiled[kind] == pytest.approx(whole[kind], rel=1e-4), kind
        for label, distances in whole.get("region_gram_distance", {}).items():
            assert tiled["region_gram_distance"][label] == pytest.approx(distances, rel=1e-4)
    assert whole["region_gram_distance"].keys() == {"1", "2"}


def test_a_tiled_run_ends_where_the_untiled_run_does():
    from napari_neural_style.core.config import Config
    from napari_neural_style.core.tasks import Run

    content, style = (np.moveaxis(_image(seed, 96, 80)[0].numpy(), 0, -1) for seed in (0, 1))
    results = {}
    for tile in (0, 32):
        config = Config.for_task("transfer", size=96, steps=8, tile=tile, weights="random",
                                 device="cpu", precision="fp32", scales=(0.5, 1.0))
        results[tile] = Run(config, content, style).complete()
    untiled, tiled = results[0], results[32]
    assert tiled.history[-1]["total"] == pytest.approx(untiled.history[-1]["total"], rel=5e-3)
    assert np.abs(tiled.image - untiled.image).max() < 0.02
    assert tiled.provenance()["params"]["tile"] == 32
    assert tiled.provenance()["tiling"] == {
        48: {"tile": 32, "forward_tile": 64, "halo": 128, "tiles": 4, "lbfgs_history": 20,
             "tiles_ran_on": "this process"},
        96: {"tile": 32, "forward_tile": 64, "halo": 128, "tiles": 9, "lbfgs_history": 20,
             "tiles_ran_on": "this process"}}
    assert untiled.provenance()["tiling"] == {}
    # the quality numbers are measured tile by tile too
    for kind in ("content_error", "gram_distance"):
        assert tiled.quality[kind] == pytest.approx(untiled.quality[kind], rel=0.05)


def test_by_default_a_scale_runs_tile_by_tile_where_its_maps_would_not_fit(monkeypatch):
    from napari_neural_style.core import estimate, machine
    from napari_neural_style.core.config import Config

    config = Config.for_task("transfer", size=2048)
    assert config.tile is None
    monkeypatch.setattr(machine, "available_memory_mb", lambda: 64_000.0)
    assert estimate.tile_for(config, 2048, 2048) == 0
    monkeypatch.setattr(machine, "available_memory_mb", lambda: 4_000.0)
    assert estimate.tile_for(config, 2048, 2048) in estimate.AUTO_TILES
    assert estimate.tile_for(config, 256, 256) == 0
    assert estimate.tile_for(Config.for_task("transfer", tile=0), 2048, 2048) == 0


def test_a_tiles_interior_hands_its_gradient_back_in_the_maps_layout():
    """Autograd's slicing gives the default layout back, and adding that to a channels_last
    map's other gradient was a third of a tiled step's backward pass."""
    from napari_neural_style.core.losses import gram_matrix
    from napari_neural_style.core.vgg import Cropped

    maps = torch.randn(1, 8, 12, 10).contiguous(memory_format=torch.channels_last)
    rows, cols = slice(2, 9), slice(3, 7)
    found = maps.clone().requires_grad_(True)
    gram_matrix(Cropped.apply(found, rows, cols)).square().sum().backward()
    expected = maps.clone().requires_grad_(True)
    gram_matrix(expected[..., rows, cols].contiguous()).square().sum().backward()
    assert found.grad.stride() == maps.stride()
    torch.testing.assert_close(found.grad, expected.grad)


def test_stop_is_heard_between_two_tiles_of_a_step_and_keeps_the_steps_before(monkeypatch):
    """Stop set while a step's tiles run ends the run at the next tile: that step is not
    taken, and the result is the image after the steps before it, as a stop between steps
    gives."""
    import threading

    from helpers import stop_when
    from napari_neural_style.core.config import Config
    from napari_neural_style.core.tasks import Run

    content, style = (np.moveaxis(_image(seed, 64, 64)[0].numpy(), 0, -1) for seed in (0, 1))
    config = Config.for_task("transfer", size=64, steps=6, tile=32, weights="random",
                             device="cpu", precision="fp32", scales=(1.0,))
    between = Run(config, content, style)
    stop_when(between, lambda step: step.step == 2)
    expected = between.result()

    stop, tiles_done = threading.Event(), []
    gradient = TiledObjective.tile_gradient

    def counted(self, *args):
        tiles_done.append(None)
        if len(tiles_done) == 4 * 3 + 2:  # the second tile of the fourth step's pass 2
            stop.set()
        return gradient(self, *args)

    monkeypatch.setattr(TiledObjective, "tile_gradient", counted)
    within = Run(config, content, style, stop=stop)
    steps = [step.step for step in within]
    result = within.result()
    assert steps == [0, 1, 2] and len(tiles_done) == 4 * 3 + 2
    assert result.cancelled and result.steps_done == 2
    np.testing.assert_array_equal(result.image, expected.image)
