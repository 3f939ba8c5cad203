"""The plugin's writer and reader with an OME-TIFF pyramid: saved from a layer, reopened as a
multiscale layer with its provenance, saved again from there."""

import numpy as np
import pytest

from napari_neural_style.plugin.base import METADATA_KEY

pytestmark = pytest.mark.slow

PLUGIN = "napari-neural-style"


def test_a_result_saved_as_ome_tiff_reopens_as_a_multiscale_layer(make_napari_viewer,
                                                                   tmp_path):
    viewer = make_napari_viewer()
    image = np.random.default_rng(0).random((1200, 900, 3)).astype(np.float32)
    record = {"task": "transfer", "steps": 3}
    layer = viewer.add_image(image, name="big result", metadata={METADATA_KEY: record},
                             scale=(0.5, 0.5))
    layer.save(str(tmp_path / "big.ome.tif"), plugin=PLUGIN)
    (reopened,) = viewer.open(str(tmp_path / "big.ome.tif"), plugin=PLUGIN)
    assert reopened.multiscale and reopened.rgb and reopened.name.startswith("big result")
    assert [level.shape for level in reopened.data] == [(1200, 900, 3), (600, 450, 3),
                                                        (300, 225, 3)]
    np.testing.assert_array_equal(reopened.data[0], image)
    assert reopened.metadata[METADATA_KEY] == record
    np.testing.assert_allclose(reopened.scale, (0.5, 0.5))
    reopened.save(str(tmp_path / "again.ome.tif"), plugin=PLUGIN)  # its finest level
    (again,) = viewer.open(str(tmp_path / "again.ome.tif"), plugin=PLUGIN)
    np.testing.assert_array_equal(again.data[0], image)


def test_a_record_with_layer_attributes_napari_cannot_take_still_opens(make_napari_viewer,
                                                                      tmp_path):
    from napari_neural_style.core.image_files import write_image

    hostile = {"name": 5, "scale": ["a", None], "translate": [1e308, -1e308, 3],
               "rgb": "yes", "axis_labels": 7, "colormap": "no such map",
               "contrast_limits": [1, 0], "blending": "opaque"}
    path = write_image(tmp_path / "edited.tif", np.zeros((8, 6, 3), np.float32),
                       {"task": "transfer"}, hostile)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin=PLUGIN)
    assert layer.data.shape == (8, 6, 3) and layer.metadata[METADATA_KEY] == {"task": "transfer"}
