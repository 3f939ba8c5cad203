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


def test_every_setting_says_what_it_is():
    from dataclasses import fields

    from napari_neural_style.core.config import OPTIONS

    assert set(OPTIONS) == {item.name for item in fields(Config)} - {"task"}
    for name, option in OPTIONS.items():
        assert option.label and len(option.help) > 10, name
        assert set(option.tasks) <= {"reconstruct", "texture", "transfer"}


def test_each_task_has_the_seed_defaults_and_one_place_decides_the_start():
    transfer = Config.for_task("transfer")
    assert transfer.content_layers == ("conv_9",)
    assert transfer.style_layers == ("conv_2", "conv_4", "conv_8", "conv_16")
    assert (transfer.content_weight, transfer.style_weight) == (1.0, 0.5)
    assert transfer.init == "content"
    assert Config.for_task("reconstruct").content_layers == ("conv_4",)
    assert Config.for_task("texture").init == "noise"
    assert Config.for_task("transfer", init="noise").init == "noise"
    assert Config.for_task("texture", style_layers="conv_1").style_layers == ("conv_1",)
    with pytest.raises(InputError, match="task"):
        Config.for_task("paint")
