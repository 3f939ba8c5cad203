import pytest

from napari_neural_style.core.errors import LayerNameError
from napari_neural_style.core.vgg_layers import (
    CONV_LAYERS,
    deepest,
    layer,
    min_image_side,
    parse_layers,
)


def test_sequential_and_block_names_agree():
    assert layer("conv_9") == layer("conv4_1")
    assert layer("conv_9").index == 19
    assert layer("conv_1").index == 0 and layer("conv_16").index == 34
    assert layer("relu4_1").index == 20
    assert [layer(f"pool{b}").index for b in range(1, 6)] == [4, 9, 18, 27, 36]
    assert [c.index for c in CONV_LAYERS] == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28,
                                              30, 32, 34]


def test_labels_show_both_names():
    assert layer("conv4_1").label == "conv_9 (conv4_1)"
    assert layer("relu1_1").label == "relu1_1"


def test_parse_lists_ranges_and_all():
    assert parse_layers("conv_2, conv4_1,conv_2") == ("conv_2", "conv_9")
    assert parse_layers("conv_5-8") == ("conv_5", "conv_6", "conv_7", "conv_8")
    assert parse_layers("conv_1-2") == ("conv_1", "conv_2")
    assert len(parse_layers("all")) == 16
    assert parse_layers(["CONV1_1", "relu2_1"]) == ("conv_1", "relu2_1")


@pytest.mark.parametrize("spec", ["conv_17", "fc7", "conv_8-5", "", "relu1_1-conv_4"])
def test_bad_names_list_valid_ones(spec):
    with pytest.raises(LayerNameError, match=r"conv_1\.\.conv_16"):
        parse_layers(spec)


def test_minimum_side_follows_pooling_depth():
    assert deepest(["conv_2", "conv_16", "conv_9"]).name == "conv_16"
    assert min_image_side(["conv_1"]) == 2
    assert min_image_side(["conv_16"]) == 32
    assert min_image_side(["pool5"]) == 64


def test_after_relu():
    from napari_neural_style.core.vgg_layers import after_relu

    assert after_relu("conv_9") == "relu4_1" and after_relu("conv1_1") == "relu1_1"
    assert after_relu("pool2") == "pool2" and after_relu("relu2_2") == "relu2_2"
