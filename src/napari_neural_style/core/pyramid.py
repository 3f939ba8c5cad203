"""Image pyramids as napari draws them (no torch: the plugin and the file writer use this).

napari draws pixel ``i`` of a multiscale layer's level ``k`` centred on pixel ``i * f`` of
its finest level (``f`` the level's downsampling), with the layer's one ``scale`` and
``translate``.  So each level here is centred there too: a pixel is the mean of the
pixels around the finer one it sits on, weighted ``[1, 2, 1] / 4`` along each axis, the
edge mirrored.  A block mean over two by two pixels would sit half a pixel of the level
off where napari shows it.
"""

from __future__ import annotations

import numpy as np

#: the side of the coarsest level of a pyramid, at most
COARSEST_SIDE = 512
#: rows of a level made at a time
BAND = 64


def halved(image: np.ndarray) -> np.ndarray:
    """The next level of ``image`` (``(H, W)`` or ``(H, W, C)``): ``ceil(H / 2)`` by
    ``ceil(W / 2)`` pixels, pixel ``i`` = ``(x[2i - 1] + 2 * x[2i] + x[2i + 1]) / 4`` along
    each axis (the edge mirrored); float32 for float images, integers rounded.  Made
    :data:`BAND` rows at a time: no temporary of the image's size."""
    image = np.asarray(image)
    height = image.shape[0]
    out = np.empty(((height + 1) // 2, (image.shape[1] + 1) // 2, *image.shape[2:]),
                   np.float32)
    columns = np.arange(out.shape[1]) * 2
    left, right = (_mirrored(columns + offset, image.shape[1]) for offset in (-1, 1))
    for top in range(0, len(out), BAND):
        rows = np.arange(top, min(top + BAND, len(out))) * 2
        band = image[rows].astype(np.float32)
        band *= 2
        band += image[_mirrored(rows - 1, height)]
        band += image[_mirrored(rows + 1, height)]
        out[top:top + len(rows)] = (2 * band[:, columns] + band[:, left] + band[:, right]) / 16
    return out if image.dtype.kind == "f" else np.round(out).astype(image.dtype)


def _mirrored(index: np.ndarray, length: int) -> np.ndarray:
    """``index`` reflected into ``range(length)`` at both ends (-1 is 1, ``length`` is
    ``length - 2``)."""
    index = np.abs(index)
    return np.clip(np.where(index > length - 1, 2 * (length - 1) - index, index), 0, length - 1)


def pyramid(image: np.ndarray, count: int) -> list[np.ndarray]:
    """``image`` and its next ``count - 1`` levels (:func:`halved`), finest first; the first
    is ``image`` itself, not a copy."""
    levels = [image]
    while len(levels) < count:
        levels.append(halved(levels[-1]))
    return levels


def level_shape(shape: tuple[int, ...], level: int) -> tuple[int, int]:
    """``(H, W)`` of level ``level`` of a pyramid of an image of ``shape`` (``(H, W,
    ...)``): each level :func:`halved`, rounding up."""
    height, width = shape[0], shape[1]
    for _ in range(level):
        height, width = (height + 1) // 2, (width + 1) // 2
    return height, width


def levels_to(shape: tuple[int, ...], side: int = COARSEST_SIDE) -> int:
    """How many levels a pyramid of an image of ``shape`` (``(H, W, ...)``) has when it is
    halved until its longest side is at most ``side``."""
    count = 1
    while max(level_shape(shape, count - 1)) > side:
        count += 1
    return count


def reduced(image: np.ndarray, halvings: int) -> np.ndarray:
    """``image`` halved ``halvings`` times (the last of :func:`pyramid`)."""
    return pyramid(image, halvings + 1)[-1]
