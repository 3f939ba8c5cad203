"""Style scale: the style image's working size is style_scale times the working size, at every
scale of a coarse-to-fine run."""

import numpy as np
import pytest

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.objective import Objective
from napari_neural_style.core.tasks import Run

FAST = {"weights": "random", "device": "cpu", "steps": 2}


def test_the_style_is_used_at_style_scale_times_the_working_size(photo, texture, monkeypatch):
    seen = []
    build = Objective.from_images.__func__

    def spy(cls, encoder, content, styles, *args, **kwargs):
        seen.append((tuple(content.shape[-2:]), *(tuple(style.shape[-2:]) for style in styles)))
        return build(cls, encoder, content, styles, *args, **kwargs)

    monkeypatch.setattr(Objective, "from_images", classmethod(spy))
    config = Config.for_task("transfer", size=96, style_scale=0.5, scales=(0.5, 1.0),
                             style_layers="conv_2", content_layers="conv_4", **FAST)
    run = Run(config, content=photo, style=texture)  # texture: 64 x 96
    assert tuple(run.batch.styles[0].shape[-2:]) == (32, 48)
    result = run.complete()
    # each scale keeps the ratio: style longest side = half the scale's working size
    assert seen == [((48, 48), (16, 24)), ((96, 96), (32, 48))]
    assert result.image.shape == (96, 96, 3)
    assert result.provenance()["params"]["style_scale"] == (0.5,)


def test_a_larger_style_scale_upsamples_the_style(photo, texture):
    run = Run(Config.for_task("transfer", size=64, style_scale=2, **FAST), content=photo,
              style=texture)
    assert max(run.batch.styles[0].shape[-2:]) == 128 and max(run.batch.content.shape[-2:]) == 64


def test_a_style_scale_too_small_for_the_deepest_layer_is_a_clear_error(photo, texture):
    with pytest.raises(InputError, match=r"style image \(at style scale 0.1\).*too small"):
        Run(Config.for_task("transfer", size=64, style_scale=0.1, **FAST), content=photo,
            style=texture)
    for bad in (0, -1, float("nan")):
        with pytest.raises(InputError, match="style_scale must be a number > 0"):
            Config.for_task("transfer", style_scale=bad)


def test_coarse_scales_too_small_for_the_scaled_style_are_left_out(photo, texture):
    config = Config.for_task("transfer", size=512, style_scale=0.25, scales=(0.25, 0.5, 1.0))
    # conv_16 needs 32 px a side: at the 128 px scale the style (0.25 x 128 = 32 x 21 px)
    # would be too small
    assert config.scale_sizes((96, 96), (64, 96)) == (256, 512)


def test_a_style_at_its_own_pixel_size_is_resized_as_the_content_is(photo, texture):
    # content 96 px used at 48: everything is halved, the 96 px style to 48 px, whatever the
    # style scale is relative to; the record gives the scale it came to
    config = Config.for_task("transfer", size=48, style_size="own", style_layers="conv_2",
                             content_layers="conv_4", **FAST)
    run = Run(config, content=photo, style=texture)
    assert tuple(run.batch.styles[0].shape[-2:]) == (32, 48)
    params = run.complete().provenance()["params"]
    assert params["style_size"] == "working" and params["style_scale"] == (1.0,)
    # at the content's own size a style is not resized at all; style scale still multiplies
    small_style = texture[:40, :60]
    for scale, side in ((1.0, 60), (2.0, 120)):
        own = Config.for_task("transfer", size=96, style_size="own", style_scale=scale, **FAST)
        styles = Run(own, content=photo, style=small_style).batch.styles
        assert max(styles[0].shape[-2:]) == side


def test_a_style_too_large_at_its_own_pixel_size_is_refused_in_one_line(photo):
    huge = np.zeros((8, 20_000, 3), np.uint8)  # beside a 96 px content used at 4096 px
    config = Config.for_task("transfer", size=4096, style_size="own", **FAST)
    with pytest.raises(InputError, match="own pixel size the style image would be 853333 px"):
        Run(config, content=photo, style=huge)
    with pytest.raises(InputError, match="style_size must be one of"):
        Config.for_task("transfer", style_size="native")
