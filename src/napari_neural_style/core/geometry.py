"""Sizes and scales: the working shape of an image, the coarse-to-fine scales.  Pure Python
(no torch), read by the spec, the estimates and the engine alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .errors import InputError

#: Longest working side the engine accepts (past it, one float32 image alone outgrows any
#: machine); below it, what memory allows is the estimate's to say (``estimate.check_fits``).
MAX_SIZE = 65536
#: the coarsest scale of ``scales="auto"``: runs halve the size while it stays >= this
COARSEST = 256


def auto_scales(size: int, coarsest: int = COARSEST) -> tuple[float, ...]:
    """Coarse-to-fine scales for a working size: halve while the image stays >= ``coarsest``.

    With 256 px, 512 px runs at 256 then 512; 2048 at 256, 512, 1024, 2048; 256 px and below
    at one scale.
    """
    scales = [1.0]
    while size * scales[0] / 2 >= coarsest:
        scales.insert(0, scales[0] / 2)
    return tuple(scales)


def upsampling(height: int, width: int, size: int) -> float:
    """How many times an image of ``height`` x ``width`` px is enlarged to working ``size``
    (1 or less: not enlarged).  Details finer than the source's pixels are invented, so the
    interfaces say so when this is well above 1."""
    return size / max(height, width)


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(H, W) with the longest side equal to ``size`` and the aspect ratio kept."""
    if not 1 <= size <= MAX_SIZE:
        raise InputError(f"working size {size} is out of range; choose 1..{MAX_SIZE} px")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def own_style_scales(config, content_side: int, style_sides: Sequence[int]):
    """``config`` (a :class:`~.config.Config`) with ``style_size="own"`` made ``"working"``:
    style ``i``'s scale becomes ``style_scale[i] * style_sides[i] / content_side``, so that
    the styles are resized by the factor the content is (working size over
    ``content_side``, its longest side).  Refused where a style would outgrow
    :data:`MAX_SIZE`."""
    if config.style_size != "own" or config.task != "transfer":
        return config
    scales = tuple(config.style_factor(index) * side / content_side
                   for index, side in enumerate(style_sides))
    for index, scale in enumerate(scales):
        if round(config.size * scale) > MAX_SIZE:
            raise InputError(
                f"at its own pixel size the style image{f' {index + 1}' if index else ''} "
                f"would be {round(config.size * scale)} px at working size {config.size}, "
                f"more than {MAX_SIZE}: choose a smaller style scale or style size 'working'")
    return replace(config, style_size="working", style_scale=scales)
