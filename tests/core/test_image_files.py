import numpy as np
import pytest

from helpers import centred_half, png_declaring
from napari_neural_style.core import image_files
from napari_neural_style.core.errors import InputError, OutputError
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


def _tiff_declaring(path, width: int, height: int) -> None:
    """A small TIFF whose header is rewritten to declare ``width`` x ``height`` pixels."""
    import struct

    import tifffile

    tifffile.imwrite(path, np.zeros((16, 16), np.uint8))
    with tifffile.TiffFile(path) as tiff:
        tags = tiff.pages[0].tags
        places = [(tags[name].valueoffset, tags[name].dtype) for name in
                  ("ImageWidth", "ImageLength")]
    data = bytearray(path.read_bytes())
    for (offset, dtype), value in zip(places, (width, height), strict=True):
        assert dtype == 4  # LONG: room for the value
        data[offset:offset + 4] = struct.pack("<I", value)
    path.write_bytes(bytes(data))


def test_huge_or_broken_files_are_refused_in_one_line(tmp_path, monkeypatch):
    from napari_neural_style.core import machine

    monkeypatch.setattr(machine, "available_memory_mb", lambda: 16_000.0)
    png_declaring(tmp_path / "big.png", 40_000, 40_000)
    with pytest.raises(InputError, match=r"big.png is 40000 x 40000 px: reading it needs "
                                         r"about 22.4 GB and 15.6 GB are available"):
        read_image(tmp_path / "big.png")
    _tiff_declaring(tmp_path / "big.tif", 10**6, 10**6)
    with pytest.raises(InputError, match="1000000 x 1000000 px"):
        read_image(tmp_path / "big.tif")
    import tifffile

    tifffile.imwrite(tmp_path / "cut.ome.tif", np.zeros((3, 256, 256), np.uint16), ome=True)
    (tmp_path / "cut.ome.tif").write_bytes((tmp_path / "cut.ome.tif").read_bytes()[:40_000])
    with pytest.raises(InputError, match=r"cannot read .*cut\.ome\.tif as an image"):
        read_image(tmp_path / "cut.ome.tif")


def test_a_large_png_within_memory_is_read(tmp_path):
    """Past Pillow's limit for images from the web (its 'decompression bomb'), a user's own
    file is read when it fits."""
    from PIL import Image

    width, height = 2, Image.MAX_IMAGE_PIXELS + 10
    Image.fromarray(np.zeros((height, width), np.uint8)).save(tmp_path / "tall.png")
    assert read_image(tmp_path / "tall.png").shape == (height, width)


def test_a_tiff_pyramid_gives_its_fitting_level(tmp_path):
    import tifffile

    image = np.random.default_rng(0).random((512, 384, 3)).astype(np.float32)
    with tifffile.TiffWriter(tmp_path / "pyramid.ome.tif") as tiff:
        tiff.write(image, subifds=2, photometric="rgb", metadata={"axes": "YXS"})
        tiff.write(image[::2, ::2], subfiletype=1, photometric="rgb")
        tiff.write(image[::4, ::4], subfiletype=1, photometric="rgb")
    assert read_image(tmp_path / "pyramid.ome.tif").shape == (512, 384, 3)
    assert read_image(tmp_path / "pyramid.ome.tif", size=200).shape == (256, 192, 3)
    assert read_image(tmp_path / "pyramid.ome.tif", size=100).shape == (128, 96, 3)
    assert read_image(tmp_path / "pyramid.ome.tif", size=600).shape == (512, 384, 3)
    # the full resolution's side, from the header (what a style at its own size needs)
    assert image_files.image_side(tmp_path / "pyramid.ome.tif") == 512


@pytest.mark.parametrize("layout", [{"rowsperstrip": 100}, {"tile": (256, 256)}])
def test_a_large_flat_tiff_is_averaged_down_strip_by_strip(tmp_path, monkeypatch, layout):
    """A TIFF without a pyramid, larger than memory allows to hold, is read at the working
    size: each strip or tile averaged into blocks as it is decoded."""
    import tifffile

    from napari_neural_style.core import machine

    image = np.random.default_rng(0).integers(0, 65535, (3000, 2100), np.uint16)
    tifffile.imwrite(tmp_path / "flat.tif", image, compression="zlib", **layout)
    monkeypatch.setattr(machine, "available_memory_mb", lambda: 40.0)  # the whole needs 60
    with pytest.raises(InputError, match="3000 x 2100 px: reading it needs"):
        read_image(tmp_path / "flat.tif")
    found = read_image(tmp_path / "flat.tif", size=700)  # blocks of 4 x 4
    expected = image.reshape(750, 4, 525, 4).mean(axis=(1, 3)).round().astype(np.uint16)
    assert found.dtype == np.uint16 and np.array_equal(found, expected)


def test_image_side_reads_headers_only(tmp_path):
    import tifffile

    png_declaring(tmp_path / "big.png", 30_000, 40_000)
    assert image_files.image_side(tmp_path / "big.png") == 40_000
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((5, 30, 70), np.uint8),
                     metadata={"axes": "TYX"})
    assert image_files.image_side(tmp_path / "stack.tif") == 70
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(InputError, match=r"cannot read .*broken\.tif as an image"):
        image_files.image_side(tmp_path / "broken.tif")


def test_an_ome_tiff_is_written_tiled_with_a_pyramid_and_the_provenance(tmp_path):
    import tifffile

    image = np.random.default_rng(0).random((1100, 700, 3))  # float64: written as float32
    path = write_image(tmp_path / "big.ome.tif", image, {"steps": 3})
    with tifffile.TiffFile(path) as tiff:
        levels = [level.shape for level in tiff.series[0].levels]
        assert tiff.is_ome and not tiff.is_bigtiff and tiff.pages[0].is_tiled
        assert tiff.pages[0].tilewidth == image_files.OME_TILE
        assert tiff.series[0].dtype == np.float32
    assert levels == [(1100, 700, 3), (550, 350, 3), (275, 175, 3)]
    np.testing.assert_array_equal(read_image(path), image.astype(np.float32))
    np.testing.assert_allclose(read_image(path, size=500),
                               centred_half(image.astype(np.float32)), rtol=1e-6)
    assert read_provenance(path) == {"steps": 3}


def test_an_ome_tiff_of_integers_keeps_its_type_and_past_4_gb_is_bigtiff(tmp_path, monkeypatch):
    import tifffile

    monkeypatch.setattr(image_files, "BIGTIFF_BYTES", 1000)
    image = np.arange(600 * 520, dtype=np.uint16).reshape(600, 520) % 4096
    path = write_image(tmp_path / "grey.ome.tiff", image)
    with tifffile.TiffFile(path) as tiff:
        assert tiff.is_bigtiff and [level.dtype for level in tiff.series[0].levels] == \
            [np.uint16, np.uint16]
    np.testing.assert_array_equal(read_image(path), image)
    assert read_provenance(path) is None


def test_an_ome_tiff_is_written_without_a_whole_converted_copy(tmp_path):
    import tracemalloc

    image = np.random.default_rng(0).random((2048, 2048, 3))  # float64, 100 MB
    tracemalloc.start()
    try:
        write_image(tmp_path / "big.ome.tif", image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < image.size * 4 / 2  # half a float32 copy: the levels and a tile or two


def test_a_stack_is_refused_as_an_ome_pyramid_in_one_line(tmp_path):
    with pytest.raises(OutputError, match=r"write a stack as \.tif"):
        write_image(tmp_path / "stack.ome.tif", np.zeros((2, 8, 8, 3), np.float32))
