"""Image files in and out, with a run's provenance inside (no torch: the plugin's reader and
writer use this too).

A result written here carries its provenance (``Result.provenance()``, or a layer's
``metadata["neural_style"]``) as JSON: in a TIFF's image description (an OME-TIFF's image
``Description``), in a PNG's text chunk.  :func:`read_provenance` gives it back, so a saved
result can be reproduced.  A name ending in ``.ome.tif`` (or a pyramid's levels written to a
``.tif``) gives a tiled, pyramidal OME-TIFF, which viewers (napari with this plugin, QuPath,
OMERO) open level by level.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from . import machine
from .errors import InputError, OutputError
from .pyramid import levels_to, pyramid

#: the keys under which files carry the provenance, and the napari layer's attributes
PROVENANCE_KEY = "napari_neural_style"
LAYER_KEY = "napari_layer"
TIFF_SUFFIXES = (".tif", ".tiff")
OME_SUFFIXES = (".ome.tif", ".ome.tiff")
#: the side of an OME-TIFF's tiles
OME_TILE = 512
#: past this many bytes a TIFF needs 64-bit offsets (BigTIFF); a margin for the tags
BIGTIFF_BYTES = 2**32 - 2**25
#: extensions of Pillow formats that store an 8-bit RGB image as it is (others want a
#: palette, one bit, grey levels...)
RGB_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tga")


def read_image(path: str | Path, labels: bool = False, size: int | None = None) -> np.ndarray:
    """Read an image file (TIFF through tifffile, anything else through Pillow); a palette
    image gives its colours, or with ``labels`` its indices (a label image's values).  A
    TIFF pyramid gives the smallest of its levels whose longest side is at least ``size``
    (default: the full resolution).  A file too large to decode in the memory available, or
    one that is not a readable image (truncated, malformed), is refused in one line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot read {path}: no such file")
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            return _read_tiff(path, size)
        return _read_pillow(path, labels)
    except InputError:
        raise
    except Exception as error:  # whatever a decoder raises on a malformed or hostile file
        raise InputError(f"cannot read {path} as an image: {error}") from None


def image_side(path: str | Path) -> int:
    """The longest side of a file's full-resolution image, read from its header (a TIFF
    stack's planes'); refused in one line as :func:`read_image` refuses."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"cannot read {path}: no such file")
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            import tifffile

            with _tifffile_quiet(), tifffile.TiffFile(path) as tiff:
                series = tiff.series[0]
                return max(series.shape[series.axes.index(axis)] for axis in "YX"
                           if axis in series.axes)
        with _pillow_opened(path) as image:
            return max(image.size)
    except Exception as error:  # as read_image: whatever the decoder raises
        raise InputError(f"cannot read {path} as an image: {error}") from None


@contextlib.contextmanager
def _tifffile_quiet():
    """tifffile logs what it finds wrong in a file (ERROR lines on stderr); the one-line
    error raised instead says it."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _read_tiff(path: Path, size: int | None) -> np.ndarray:
    import tifffile

    with _tifffile_quiet(), tifffile.TiffFile(path) as tiff:
        series = tiff.series[0]
        levels = list(series.levels)
        level = levels[0]
        if size is not None and "Y" in series.axes and "X" in series.axes:
            rows, cols = series.axes.index("Y"), series.axes.index("X")
            fitting = [each for each in levels
                       if max(each.shape[rows], each.shape[cols]) >= size]
            level = fitting[-1] if fitting else levels[0]
            factor = max(level.shape[rows], level.shape[cols]) // size
            if series.axes in ("YX", "YXS") and factor >= 2:
                return _read_reduced(path, level.keyframe, factor)
        _check_size(path, level.shape, level.dtype.itemsize)
        return level.asarray()


def _read_reduced(path: Path, page, factor: int) -> np.ndarray:
    """One image plane (``page``, YX or YXS) averaged over ``factor`` x ``factor`` blocks,
    strip by strip (or tile by tile) as the file stores it: the whole plane is never held."""
    _, _, height, width, samples = page.shaped  # separate samples and depth are 1 here
    reduced = (-(-height // factor), -(-width // factor), samples)
    _check_size(path, (*reduced, 2), 8)  # float64 sums, and a strip or tile beside them
    _check_size(path, page.chunks, page.dtype.itemsize)
    sums = np.zeros(reduced, np.float64)
    try:
        for segment, (_, _, top, left, _), _ in page.segments():
            if segment is None:  # an empty segment: zeros
                continue
            block = segment[0, :height - top, :width - left].astype(np.float64)
            rows, cols = (np.arange(start, start + length) // factor for start, length in
                          ((top, block.shape[0]), (left, block.shape[1])))
            for axis, positions in ((0, rows), (1, cols)):
                block = np.add.reduceat(block, np.flatnonzero(np.diff(positions, prepend=-1)),
                                        axis=axis)
            sums[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] += block
    except Exception as error:  # as read_image: whatever the decoder raises
        raise InputError(f"cannot read {path} as an image ({height} x {width} px): "
                         f"{error}") from None
    counts = np.outer(*(np.bincount(np.arange(length) // factor) for length in (height, width)))
    mean = sums / counts[..., None]
    image = (mean.round() if page.dtype.kind in "iu" else mean).astype(page.dtype)
    return image[..., 0] if page.samplesperpixel == 1 else image


def read_levels(path: str | Path) -> list[np.ndarray]:
    """Every level of a TIFF pyramid, finest first (one level for any other image): what a
    multiscale napari layer shows.  Refused in one line as :func:`read_image` refuses."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        return [read_image(path)]
    import tifffile

    try:
        with _tifffile_quiet(), tifffile.TiffFile(path) as tiff:
            levels = tiff.series[0].levels
            _check_size(path, levels[0].shape, levels[0].dtype.itemsize)
            return [level.asarray() for level in levels]
    except InputError:
        raise
    except Exception as error:  # as read_image: whatever the decoder raises
        raise InputError(f"cannot read {path} as an image: {error}") from None


@contextlib.contextmanager
def _pillow_opened(path: Path):
    """``PIL.Image.open(path)``: the user's own file, checked against the memory available,
    not Pillow's limit for images from the web (its "decompression bomb"), whose warning
    says nothing more."""
    import warnings

    from PIL import Image

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _read_pillow(path: Path, labels: bool) -> np.ndarray:
    with _pillow_opened(path) as image:
        channels = len(image.getbands()) if image.mode != "P" or labels else 4
        depth = 1 if image.mode in ("1", "L", "P", "RGB", "RGBA", "LA") else 4
        _check_size(path, (image.height, image.width, channels), depth)
        return np.asarray(image.convert("RGBA") if image.mode == "P" and not labels
                          else image)


#: what reading takes beside the decoded pixels: the engine's float32 copy of them
READ_OVERHEAD = 5


def _check_size(path: Path, shape: tuple[int, ...], item_bytes: int) -> None:
    """Refuse, in one line, an image whose pixels would not fit in the memory available."""
    needed_mb = math.prod(shape) * item_bytes * READ_OVERHEAD / 2**20
    available = machine.available_memory_mb()
    if available is not None and needed_mb > available:
        size = " x ".join(str(side) for side in shape[:2])
        raise InputError(f"{path} is {size} px: reading it needs about {needed_mb / 1024:.1f} "
                         f"GB and {available / 1024:.1f} GB are available; save it as a "
                         "TIFF (read at the working size strip by strip) or a smaller image")


def write_image(path: str | Path, image: np.ndarray | list[np.ndarray],
                provenance: dict | None = None, layer: dict | None = None) -> Path:
    """Write an image: to a TIFF as float32 if float (any shape napari shows: ``(H, W, 3)``, a
    stack of them, signed values too), else in its own integer type; to other formats
    through Pillow, 8-bit (float data taken as [0, 1]).  A list of levels (a multiscale
    layer's, finest first) goes to a TIFF as they are, as an OME-TIFF pyramid; to other
    formats, its finest.  ``provenance`` goes inside, and ``layer``, the napari layer's name
    and placement, when saved from napari.  It is written beside ``path`` first and renamed
    when whole: a write that fails (a full disk) leaves nothing half-written under ``path``,
    and a file there before stays as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {key: value for key, value in ((PROVENANCE_KEY, provenance), (LAYER_KEY, layer))
              if value is not None}
    text = json.dumps(record) if record else None
    machine.written_whole(path, lambda partial: _write_as(path.name.lower(), partial,
                                                          image, text))
    return path


def _write_as(name: str, path: Path, image: np.ndarray | list[np.ndarray],
              text: str | None) -> None:
    """Write ``image`` (or levels) to ``path`` in the format a file called ``name`` has."""
    levels = list(image) if isinstance(image, list | tuple) else None
    image = np.asarray(levels[0] if levels else image)
    if name.endswith(OME_SUFFIXES) or (levels and Path(name).suffix in TIFF_SUFFIXES):
        _write_pyramid(path, levels or pyramid(image, levels_to(image.shape)), text)
    elif Path(name).suffix in TIFF_SUFFIXES:
        import tifffile

        data = image.astype(np.float32) if image.dtype.kind in "fb" else image
        tifffile.imwrite(path, data, photometric="rgb" if data.shape[-1] == 3 else None,
                         description=text, metadata=None)
    else:
        from PIL import Image, PngImagePlugin

        suffix = Path(name).suffix
        info = None
        if text is not None and suffix == ".png":
            info = PngImagePlugin.PngInfo()
            info.add_text(PROVENANCE_KEY, text)
        pixels = image if image.dtype == np.uint8 else \
            np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(path, format=Image.registered_extensions()[suffix],
                                     **({"pnginfo": info} if info else {}))


def _write_pyramid(path: Path, levels: list[np.ndarray], text: str | None) -> None:
    """A tiled OME-TIFF of ``levels`` (each ``(H, W)`` or ``(H, W, C)``, finest first: by
    default :func:`.pyramid.pyramid`'s down to one tile), float32 if float.  Written tile by
    tile, each tile converted as it goes (no whole converted copy); BigTIFF when the levels
    pass :data:`BIGTIFF_BYTES`; ``text`` is the OME image's ``Description``."""
    import tifffile

    image = np.asarray(levels[0])
    if image.ndim not in (2, 3):
        raise OutputError(f"cannot write {path}: an OME-TIFF pyramid holds one image, not "
                          f"an array of shape {image.shape}; write a stack as .tif")
    dtype = np.dtype(np.float32) if image.dtype.kind in "fb" else image.dtype
    rgb = image.ndim == 3 and image.shape[2] == 3
    nbytes = sum(level.size for level in levels) * dtype.itemsize
    metadata = {"axes": "YXS" if image.ndim == 3 else "YX"}
    if text is not None:
        metadata["Description"] = text
    with tifffile.TiffWriter(path, bigtiff=nbytes > BIGTIFF_BYTES, ome=True) as tiff:
        for index, level in enumerate(levels):
            tiff.write(_tiles(level, dtype), shape=level.shape, dtype=dtype,
                       tile=(OME_TILE, OME_TILE), photometric="rgb" if rgb else None,
                       **({"subifds": len(levels) - 1, "metadata": metadata} if index == 0
                          else {"subfiletype": 1}))


def _tiles(image: np.ndarray, dtype: np.dtype):
    """The tiles of ``image``, row by row, each as ``dtype``."""
    for top in range(0, image.shape[0], OME_TILE):
        for left in range(0, image.shape[1], OME_TILE):
            yield np.asarray(image[top:top + OME_TILE, left:left + OME_TILE], dtype=dtype)


def image_suffixes() -> tuple[str, ...]:
    """File extensions :func:`write_image` writes (TIFF, and what this Pillow saves as RGB)."""
    from PIL import Image

    formats = Image.registered_extensions()
    return TIFF_SUFFIXES + tuple(suffix for suffix in RGB_SUFFIXES
                                 if formats.get(suffix) in Image.SAVE)


def check_writable(path: str | Path, suffixes: tuple[str, ...] | None = None) -> Path:
    """``path``, if a file can be written there: its extension one of ``suffixes`` (when
    given), its folder existing or creatable, and writable.  Else an :class:`OutputError`
    that says why, before any work depends on it."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; name a file in it")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        known = ", ".join(suffixes)
        raise OutputError(f"cannot write {path}: unknown file type "
                          f"{path.suffix or '(no extension)'}; use one of {known}")
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is a file, not a folder")
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {path}: {target} is not writable (permission denied)")
    return path


def read_record(path: str | Path) -> dict:
    """What a file written by :func:`write_image` carries: ``{PROVENANCE_KEY: ..., LAYER_KEY:
    ...}`` as far as given; ``{}`` for any other file."""
    path = Path(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            import tifffile

            with _tifffile_quiet(), tifffile.TiffFile(path) as tiff:
                text = (tifffile.xml2dict(tiff.ome_metadata)["OME"]["Image"]
                        .get("Description", "") if tiff.is_ome else tiff.pages[0].description)
        else:
            from PIL import Image

            with Image.open(path) as image:
                text = image.info.get(PROVENANCE_KEY, "")
        record = json.loads(text) if PROVENANCE_KEY in text or LAYER_KEY in text else {}
    except (OSError, ValueError, IndexError, KeyError, TypeError, AttributeError):
        return {}
    return record if isinstance(record, dict) else {}


def read_provenance(path: str | Path) -> dict | None:
    """The provenance a file written by :func:`write_image` carries (None if it has none)."""
    return read_record(path).get(PROVENANCE_KEY)
