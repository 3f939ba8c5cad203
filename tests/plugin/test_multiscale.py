"""Large pictures in napari: a multiscale content gives a multiscale result laid over it level
by level, live at a coarse level, kept when stopped, saved and reopened as the same pyramid;
a lazy layer far larger than the working size is read block by block."""

import numpy as np
import pytest
from napari_helpers import PLUGIN, dock, run_to_end

from helpers import centred_half
from napari_neural_style.plugin.base import METADATA_KEY

pytestmark = pytest.mark.slow

CONTENT_SCALE, CONTENT_TRANSLATE = (0.5, 0.5), (10.0, -4.0)


@pytest.fixture
def pyramid_viewer(make_napari_viewer, photo, texture):
    """A 2-level multiscale content (128 and 64 px), placed off the origin, and a style."""
    viewer = make_napari_viewer(show=True)  # drawn: napari picks the level on display
    finest = np.repeat(np.repeat(photo, 4, 0), 4, 1)[::3, ::3]  # 128 px
    viewer.add_image([finest, finest[::2, ::2]], name="slide", multiscale=True, rgb=True,
                     scale=CONTENT_SCALE, translate=CONTENT_TRANSLATE)
    viewer.add_image(texture, name="coffee")
    return viewer


def world_of(layer, level: int, pixel: float) -> np.ndarray:
    """Where napari draws pixel ``(pixel, pixel)`` of ``level`` of ``layer``, in the world."""
    factors = layer.downsample_factors[level] if layer.multiscale else np.ones(2)
    return np.asarray(layer.data_to_world(np.array([pixel, pixel]) * factors))


def content_world(pixel: float) -> np.ndarray:
    """The world position of a (fractional) pixel of the content's finest level."""
    return np.array(CONTENT_TRANSLATE) + np.array(CONTENT_SCALE) * pixel


def test_a_multiscale_content_gives_a_multiscale_result_over_it(qtbot, pyramid_viewer,
                                                                tmp_path):
    viewer = pyramid_viewer
    viewer.scene.camera.zoom = 0.05  # zoomed out: napari shows the coarse level (64 px)
    qtbot.waitUntil(lambda: viewer.layers["slide"].data_level == 1, timeout=10_000)
    widget = dock(viewer, "transfer", size=96, steps=3)
    widget.content.value, widget.style.value = viewer.layers["slide"], viewer.layers["coffee"]
    seen = []
    widget.start()
    qtbot.waitUntil(lambda: widget._last_update is not None, timeout=120_000)
    running = widget.result_layer
    seen.append((running.multiscale, running.data.shape, tuple(running.scale)))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    # live: the coarse level alone, where napari draws that level of the pyramid
    assert seen[0][:2] == (False, (48, 48, 3))
    np.testing.assert_allclose(seen[0][2], np.array(CONTENT_SCALE) * 128 / 96 * 2)
    layer = widget.result_layer
    record = layer.metadata[METADATA_KEY]
    assert record["status"] == "done"
    assert "level 0 of 2" in record["inputs"]["content"]["how"]
    assert layer.multiscale and [level.shape for level in layer.data] == [(96, 96, 3),
                                                                          (48, 48, 3)]
    np.testing.assert_allclose(layer.data[1], centred_half(layer.data[0]), rtol=1e-5,
                               atol=1e-6)
    ratio = 128 / 96  # content pixels per result pixel
    for level in (0, 1):
        for pixel in (0, 5, 47):  # pixel i of the level sits on the finest level's i * 2**level
            finest = pixel * 2 ** level
            np.testing.assert_allclose(world_of(layer, level, pixel),
                                       content_world((finest + 0.5) * ratio - 0.5), atol=1e-9)
    # saved and reopened: the same pyramid, provenance and placement
    layer.save(str(tmp_path / "result.tif"), plugin=PLUGIN)
    (reopened,) = viewer.open(str(tmp_path / "result.tif"), plugin=PLUGIN)
    assert reopened.multiscale
    for mine, theirs in zip(layer.data, reopened.data, strict=True):
        np.testing.assert_array_equal(np.asarray(theirs), mine)
    assert reopened.metadata[METADATA_KEY] == json_round_trip(record)
    np.testing.assert_allclose(reopened.scale, layer.scale)
    np.testing.assert_allclose(reopened.translate, layer.translate)


def json_round_trip(record: dict) -> dict:
    import json

    return json.loads(json.dumps(record))


def test_stop_keeps_the_last_step_as_a_pyramid(qtbot, pyramid_viewer):
    viewer = pyramid_viewer
    widget = dock(viewer, "transfer", size=96, steps=10_000)
    widget.content.value, widget.style.value = viewer.layers["slide"], viewer.layers["coffee"]
    widget.start()
    qtbot.waitUntil(lambda: widget._last_update is not None and widget._last_update.step >= 2,
                    timeout=120_000)
    widget.stop()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    layer = widget.result_layer
    assert layer.metadata[METADATA_KEY]["status"] == "cancelled"
    assert layer.multiscale and layer.data[0].shape == (96, 96, 3) and layer.data[0].any()


def test_a_lazy_layer_far_larger_than_the_working_size_is_read_block_by_block(qtbot,
                                                                              make_napari_viewer,
                                                                              photo):
    import dask.array as da

    viewer = make_napari_viewer()
    big = np.repeat(np.repeat(photo, 4, 0), 4, 1)  # 384 px
    reads = []
    lazy = da.from_array(big, chunks=(96, 96, 3)).map_blocks(
        lambda block: reads.append(block.shape) or block, dtype=big.dtype)
    viewer.add_image(lazy, name="mosaic", rgb=True, contrast_limits=(0, 255))
    widget = dock(viewer, "reconstruct", size=96, steps=2)
    widget.content.value = viewer.layers["mosaic"]
    layer = run_to_end(qtbot, widget)
    how = layer.metadata[METADATA_KEY]["inputs"]["content"]["how"]
    assert "averaged over blocks of 4x4 px" in how
    assert reads and max(np.prod(shape) for shape in reads) <= 96 * 96 * 3
    # the result (96 px) lies over the layer: its pixel i covers the layer's 4i..4i+3
    np.testing.assert_allclose(world_of(layer, 0, 0), [1.5, 1.5])
    np.testing.assert_allclose(layer.scale, [4, 4])


def test_stop_is_heard_within_a_tiled_step(qtbot, viewer_with_images, monkeypatch):
    from napari_neural_style.core.tiling import TiledObjective

    widget = dock(viewer_with_images, "transfer", size=64, steps=10_000, tile=32)
    gradient, tiles = TiledObjective.tile_gradient, []

    def stopping(self, *args):  # Stop pressed while the fourth step's tiles run
        tiles.append(None)
        if len(tiles) == 4 * 3 + 2:
            widget._stop.set()
        return gradient(self, *args)

    monkeypatch.setattr(TiledObjective, "tile_gradient", stopping)
    run_to_end(qtbot, widget)
    record = widget.result_layer.metadata[METADATA_KEY]
    assert record["status"] == "cancelled" and record["steps"] == 2
    assert len(tiles) == 4 * 3 + 2  # no tile ran after it


def test_the_cluster_field_sends_a_tiled_runs_tiles_to_the_cluster(qtbot, viewer_with_images):
    pytest.importorskip("distributed")
    widget = dock(viewer_with_images, "transfer", size=64, steps=2, tile=32)
    widget.cluster.value = "local:2"
    layer = run_to_end(qtbot, widget, timeout=240_000)
    record = layer.metadata[METADATA_KEY]
    assert record["status"] == "done"
    assert record["tiling"] and all(scale["tiles_ran_on"].startswith("dask cluster tcp://")
                                    for scale in record["tiling"].values())


def test_a_lazy_labels_layer_is_sampled_not_averaged():
    import dask.array as da
    from napari.layers import Labels

    from napari_neural_style.plugin.inputs import snapshot

    painted = np.zeros((400, 400), np.int32)
    painted[:, 200:] = 3
    layer = Labels(da.from_array(painted, chunks=100), name="regions", translate=(2, 2))
    taken = snapshot(layer, (0, 0), 100, colours="labels")
    assert taken.data.shape == (100, 100) and set(np.unique(taken.data)) == {0, 3}
    assert "every 4th pixel" in taken.note
    assert taken.scale == (4.0, 4.0) and taken.translate == (2.0, 2.0)
