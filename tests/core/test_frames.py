"""Every frame of a stack: shared targets, warm starts by optical flow, flicker measured."""

import numpy as np
import pytest

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.frame_settings import FrameSettings
from napari_neural_style.core.frames import (
    FrameRun,
    frames_along,
    optical_flow,
    reliable,
    warp,
)
from napari_neural_style.core.objective import Objective
from napari_neural_style.core.samples import moving_sample

CONFIG = Config.for_task("transfer", size=48, steps=6, weights="random", device="cpu",
                         scales=(1.0,), style_layers="conv_1,conv_3", content_layers="conv_4")


@pytest.fixture(scope="module")
def movie():
    return moving_sample("astronaut", 3, 48)


def test_a_three_frame_stack_gives_a_result_per_frame(movie, texture, monkeypatch):
    computed = []
    build = Objective.from_images.__func__

    def spy(cls, *args, style_targets=None, **kwargs):
        computed.append(style_targets is None)
        return build(cls, *args, style_targets=style_targets, **kwargs)

    monkeypatch.setattr(Objective, "from_images", classmethod(spy))
    runs = FrameRun(CONFIG, movie, texture, FrameSettings(frame_steps=3))
    seen = [index for index, _ in runs]
    assert runs.stack().shape == (3, 48, 48, 3)
    assert seen[0] == 0 and seen[-1] == 2
    assert computed == [True, False, False]  # the style targets once, for every frame
    record = runs.provenance()["frames"]
    assert record["done"] == [0, 1, 2] and record["steps"] == [6, 3, 3]
    assert record["flicker"] > 0 and record["temporal"] == "flow"


def test_stopping_in_frame_2_keeps_frame_1_and_marks_the_others(movie, texture):
    runs = FrameRun(CONFIG, movie, texture)
    iterator = iter(runs)
    for index, step in iterator:
        if index == 1 and step.step == 2:
            break
    iterator.close()
    record = runs.provenance()["frames"]
    assert record["done"] == [0] and record["cancelled"] == [1] and record["not_done"] == [2]
    stack = runs.stack()
    assert stack[0].any() and not stack[2].any()
    np.testing.assert_array_equal(stack[0], runs.results[0].image)


def test_a_known_translation_is_warped_and_found(movie):
    image = movie[0]
    shifted = np.roll(image, (3, 5), axis=(0, 1))  # the content moved down 3, right 5
    flow = np.broadcast_to(np.array([-3.0, -5.0], np.float32)[:, None, None],
                           (2, *image.shape[:2]))
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(warp(image, flow)[inner], shifted[inner], atol=1e-5)
    found = optical_flow(shifted, image)
    np.testing.assert_allclose(np.median(found[:, 12:-12, 12:-12], axis=(1, 2)), [-3, -5],
                               atol=0.3)


def test_the_occlusion_mask_flags_pixels_entering_the_frame():
    forward = np.zeros((2, 20, 20), np.float32)
    forward[1] = -4  # everything moved right by 4: the left 4 columns are new
    mask = reliable(forward, -forward)
    assert not mask[:, :4].any() and mask[:, 4:].all()
    wrong = reliable(forward, np.zeros_like(forward))  # the way back does not lead back
    assert not wrong.any()


def test_temporal_frames_flicker_less_than_independent_ones(texture):
    movie = moving_sample("astronaut", 3, 64)
    flicker = {}
    for mode in ("none", "flow"):
        runs = FrameRun(Config.for_task("transfer", size=64, steps=30, weights="random",
                                        device="cpu", scales=(1.0,)), movie, texture,
                        FrameSettings(mode, frame_steps=15))
        for _ in runs:
            pass
        flicker[mode] = runs.provenance()["frames"]["flicker"]
    assert flicker["flow"] < 0.5 * flicker["none"], flicker


def test_frames_along_any_axis_and_bad_stacks(movie):
    grey = (movie[..., 0] * 4000 - 1000).astype(np.float32)  # beyond [0, 1]
    along_last = frames_along(np.moveaxis(grey, 0, -1), axis=-1)
    assert along_last.shape == (3, 48, 48, 3)
    assert along_last.min() == 0 and along_last.max() == 1  # the whole stack's range
    with pytest.raises(InputError, match="are not pictures"):
        frames_along(np.zeros((2, 3, 8, 8)), 0)
    with pytest.raises(InputError, match="does not exist"):
        frames_along(grey, 5)
    for bad, message in [({"temporal": "warp"}, "temporal must be one of"),
                         ({"temporal_weight": -1}, ">= 0"), ({"frame_steps": 0}, ">= 1")]:
        with pytest.raises(InputError, match=message):
            FrameSettings(**bad)


def test_each_frame_takes_its_own_regions(movie, texture):
    labels = np.zeros((3, 48, 48), np.int32)
    for index in range(3):
        labels[index, :, : 16 * (index + 1)] = 1  # the styled region grows frame by frame
    config = Config.for_task("transfer", size=48, steps=4, weights="random", device="cpu",
                             scales=(1.0,), style_layers="conv_1", content_layers="conv_4",
                             regions=((1, 0, 1.0),))
    runs = FrameRun(config, movie, texture, FrameSettings("none"), labels=labels)
    for _ in runs:
        pass
    assert runs.provenance()["frames"]["done"] == [0, 1, 2]
    with pytest.raises(InputError, match="2 frames for 3 content frames"):
        FrameRun(config, movie, texture, labels=labels[:2])
