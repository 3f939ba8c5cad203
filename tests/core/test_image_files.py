import numpy as np
import pytest

from napari_neural_style.core.errors import InputError
from napari_neural_style.core.image_files import read_image, read_provenance, write_image


def test_round_trip_through_files(tmp_path):
    image = np.random.default_rng(1).random((16, 12, 3)).astype(np.float32)
    write_image(tmp_path / "a.tif", image)
    np.testing.assert_array_equal(read_image(tmp_path / "a.tif"), image)
    write_image(tmp_path / "a.png", image)
    assert np.abs(read_image(tmp_path / "a.png") / 255 - image).max() <= 0.5 / 255 + 1e-6


def test_unreadable_files_raise_input_errors(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot read"):
        read_image(tmp_path / "junk.png")
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "missing.png")


def test_results_carry_their_provenance_in_tiff_and_png(tmp_path):
    image = np.random.default_rng(2).random((16, 12, 3)).astype(np.float32)
    record = {"task": "transfer", "params": {"size": 16, "style_layers": ["conv_2"]},
              "history": [{"step": 0, "total": 1.0}]}
    for name in ("r.tif", "r.png"):
        write_image(tmp_path / name, image, record)
        assert read_provenance(tmp_path / name) == record
    stack = np.stack([image - 0.5, image])  # a sweep's stack, signed values kept
    write_image(tmp_path / "s.tif", stack, record)
    np.testing.assert_array_equal(read_image(tmp_path / "s.tif"), stack)
    write_image(tmp_path / "plain.tif", image)
    write_image(tmp_path / "plain.png", image)
    assert read_provenance(tmp_path / "plain.tif") is None
    assert read_provenance(tmp_path / "plain.png") is None
    (tmp_path / "junk.tif").write_bytes(b"junk")
    assert read_provenance(tmp_path / "junk.tif") is None


def test_integer_images_are_written_as_they_are(tmp_path):
    image = np.random.default_rng(3).integers(0, 255, (16, 12, 3), dtype=np.uint8)
    for name in ("i.png", "i.tif"):
        write_image(tmp_path / name, image, {"task": "texture"})
        np.testing.assert_array_equal(read_image(tmp_path / name), image)
    deep = np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) * 300
    write_image(tmp_path / "d.tif", deep)
    np.testing.assert_array_equal(read_image(tmp_path / "d.tif"), deep)
