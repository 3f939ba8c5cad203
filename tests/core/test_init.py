"""Start from any image: the content, noise, the style, or an image given beside the inputs."""

import numpy as np
import pytest

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.tasks import Run, synthesize_texture, transfer

FAST = {"weights": "random", "device": "cpu", "size": 48}


def _first_image(run) -> np.ndarray:
    for step in run:
        return step.image


@pytest.mark.parametrize("start", ["style", "image"])
def test_a_run_starts_from_the_style_or_any_image_resized_to_the_working_shape(
        photo, texture, start):
    other = np.flipud(photo).copy()
    run = Run(Config.for_task("transfer", init=start, steps=2, **FAST), content=photo,
              style=texture, init_image=other if start == "image" else None)
    expected = texture if start == "style" else other
    from napari_neural_style.core.images import resize

    wanted = resize(to_tensor(expected, 48), (48, 48))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(_first_image(run), wanted, atol=1e-6)


def test_giving_an_init_image_means_starting_from_it(photo, texture):
    result = transfer(photo, texture, init_image=texture, steps=2, **FAST)
    assert result.config.init == "image"
    texture_result = synthesize_texture(texture, init_image=photo, steps=2, **FAST)
    assert texture_result.config.init == "image"


def test_impossible_combinations_are_refused(photo, texture):
    with pytest.raises(InputError, match="init='image' needs the image to start from"):
        Run(Config.for_task("transfer", init="image", **FAST), content=photo, style=texture)
    with pytest.raises(InputError, match="an image to start from was given, but init is "
                                         "'content'"):
        Run(Config.for_task("transfer", **FAST), content=photo, style=texture,
            init_image=photo)
    with pytest.raises(InputError, match="reconstruct has no style image to start from"):
        Config.for_task("reconstruct", init="style")
