"""Tiles on the network's stride grid, read with a halo: where each tile's interior stands
in every layer's map.  Pure Python (no torch): the estimate sees the tiles a run will take;
:mod:`.tiled_targets` and :mod:`.tiling` run the network on them."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .vgg_layers import LAYERS, layer

#: the side of each pooling's window (a blur pool's filter is wider than its stride)
POOL_WINDOWS = {"max": 2, "avg": 2, "blur": 4}


def receptive_field(name: str, pooling: str = "max") -> int:
    """The side in pixels of the input that one feature of layer ``name`` sees."""
    size, jump = 1, 1
    for entry in LAYERS[:LAYERS.index(layer(name)) + 1]:
        if entry.kind == "conv":
            size += 2 * jump  # a 3x3 convolution
        elif entry.kind == "pool":
            size += (POOL_WINDOWS[pooling] - 1) * jump
            jump *= 2
    return size


@dataclass(frozen=True)
class Tile:
    """Rows and columns of a tile's interior in the image, and of its input (the interior
    and its halo, cut at the image's border)."""

    rows: slice
    cols: slice
    input_rows: slice
    input_cols: slice


@dataclass(frozen=True)
class Tiling:
    """Tiles of ``size`` px (interior) on a grid of ``stride`` px, read with ``halo`` px; a
    pass without gradients reads tiles of ``forward`` px (0: ``size``)."""

    size: int
    halo: int
    stride: int
    forward: int = 0

    @classmethod
    def for_layers(cls, size: int, names: tuple[str, ...], pooling: str,
                   forward: int = 0) -> Tiling:
        """The tiling of ``size`` px (and ``forward`` px, each rounded up to the stride) that
        computes ``names`` exactly: the stride of the deepest, a halo of half the widest
        receptive field."""
        stride = 2 ** max(layer(name).pools_before for name in names)
        reach = max(receptive_field(name, pooling) for name in names) / 2
        return cls(math.ceil(size / stride) * stride, math.ceil(reach / stride) * stride,
                   stride, math.ceil(forward / stride) * stride)

    def forward_only(self) -> Tiling:
        """The tiles of a pass without gradients (a step's first pass, the targets): without
        the backward pass's graph a pixel holds fewer maps, so they may be wider, and fewer
        tiles read less halo."""
        return replace(self, size=self.forward or self.size, forward=0)

    def tiles(self, height: int, width: int) -> list[Tile]:
        """The tiles of a ``height`` x ``width`` image, row by row."""
        return [Tile(rows, cols, self._with_halo(rows, height), self._with_halo(cols, width))
                for rows in self._spans(height) for cols in self._spans(width)]

    def _spans(self, length: int) -> list[slice]:
        return [slice(start, min(start + self.size, length))
                for start in range(0, length, self.size)]

    def _with_halo(self, span: slice, length: int) -> slice:
        return slice(max(0, span.start - self.halo), min(length, span.stop + self.halo))

    @staticmethod
    def box(tile: Tile, name: str, height: int, width: int) -> tuple[tuple[slice, slice],
                                                                    tuple[slice, slice], int]:
        """Where ``tile``'s interior stands at layer ``name``: in the tile's own map, in the
        whole image's map, and the whole map's positions."""
        pools = layer(name).pools_before
        whole = (height >> pools, width >> pools)
        step = 2 ** pools
        spans = []
        for span, inputs, length, full in ((tile.rows, tile.input_rows, height, whole[0]),
                                           (tile.cols, tile.input_cols, width, whole[1])):
            start = span.start // step
            stop = full if span.stop == length else span.stop // step
            origin = inputs.start // step
            spans.append((slice(start - origin, stop - origin), slice(start, stop)))
        (rows, whole_rows), (cols, whole_cols) = spans
        return (rows, cols), (whole_rows, whole_cols), whole[0] * whole[1]


def empty(box: tuple[slice, slice]) -> bool:
    """Whether a :meth:`Tiling.box` holds no position (a thin last row or column of tiles
    at a deep layer)."""
    return any(span.stop <= span.start for span in box)
