"""How a task widget shows its result: one image, or a pyramid (a multiscale layer) over a
large or multiscale input, shown live at a coarse level while the run goes.

The finest level is the result itself (the engine's array, not a copy); the others are
:func:`~..core.pyramid.halved` from it, centred where napari draws them, so every level lies
over the content as napari lays that layer's own levels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.pyramid import level_shape, levels_to

#: results longer than this (px) are shown as a pyramid, as are the results of a
#: multiscale input
PYRAMID_FROM = 2048
#: while a pyramid's run goes it shows the finest level no longer than this (never level 0)
LIVE_SIDE = 1024


@dataclass(frozen=True)
class ResultLevels:
    """The levels of a result layer of ``shape`` (``(H, W)``, the working shape)."""

    shape: tuple[int, int]
    count: int  # 1: a plain image
    live: int  # the level shown while the run goes

    @classmethod
    def of(cls, shape: tuple[int, int], source_levels: int) -> ResultLevels:
        """A pyramid where the result passes :data:`PYRAMID_FROM` or its source (the content)
        is multiscale: halved down to one OME-TIFF tile, and at least as deep as the source."""
        if source_levels < 2 and max(shape) <= PYRAMID_FROM:
            return cls(shape, 1, 0)
        count = max(levels_to(shape), source_levels, 2)
        fitting = [level for level in range(1, count)
                   if max(level_shape(shape, level)) <= LIVE_SIDE]
        return cls(shape, count, fitting[0] if fitting else count - 1)

    def level_shape(self, level: int) -> tuple[int, int]:
        return level_shape(self.shape, level)

    def placement(self, finest: dict[str, tuple], level: int) -> dict[str, tuple]:
        """``scale`` and ``translate`` that lay ``level`` alone where napari draws it in the
        pyramid placed at ``finest`` (a layer's first pixel stays where the finest's is)."""
        factors = [whole / part for whole, part in zip(self.shape, self.level_shape(level),
                                                        strict=True)]
        return {"scale": tuple(s * f for s, f in zip(finest["scale"], factors, strict=True)),
                "translate": tuple(finest["translate"])}
