import pytest

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError, LayerNameError


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"task": "transfer", "content_layers": "conv_99", "style_layers": "conv_1"},
         LayerNameError, "conv_1..conv_16"),
        ({"task": "texture"}, InputError, "style layer"),
        ({"task": "reconstruct", "content_layers": "conv_1", "init": "content"}, InputError,
         "starts from noise"),
        ({"task": "reconstruct", "content_layers": "conv_1", "steps": -1}, InputError, "steps"),
        ({"task": "reconstruct", "content_layers": "conv_1", "content_weight": float("nan")},
         InputError, "content_weight"),
        ({"task": "reconstruct", "content_layers": "conv_1", "optimizer": "sgd"}, InputError,
         "optimizer"),
        ({"task": "paint"}, InputError, "task"),
        ({"task": "reconstruct", "content_layers": "conv_1", "memory": "tiny"}, InputError,
         "memory must be one of auto, fast, lean"),
    ],
)
def test_bad_configs_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        Config(**kwargs)


def test_bad_scales_are_refused():
    for scales in ((0.5,), (1.0, 0.5), (0.0, 1.0), ()):
        with pytest.raises(InputError, match="scales"):
            Config("reconstruct", "conv_1", scales=scales)
