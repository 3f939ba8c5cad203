"""Tiles on the network's stride grid, read with a halo: where each tile's interior stands
in every layer's map, and how much of each map a tile needs.  Pure Python (no torch): the
estimate sees the tiles a run will take; :mod:`.tiled_targets` and :mod:`.tiling` run the
network on them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

from .vgg_layers import LAYERS, deepest, layer

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


def margins(names: tuple[str, ...], pooling: str = "max") -> tuple[int, ...]:
    """For each module of ``vgg19().features`` up to the deepest of ``names``, how many px
    beyond a tile's interior its output must be the whole image's for the features of
    ``names`` at the interior to be: the reach of the modules after it.  A 3x3 convolution
    reaches one position of its map; a 2x2 pooling none; a blur pooling one position of its
    input, counted as two (at a pooling's input the margin is an even number of positions,
    so a map cut there keeps the whole image's pooling phase)."""
    needed = [0] * (deepest(names).index + 1)
    margin = 0
    for entry in reversed(LAYERS[:len(needed)]):
        needed[entry.index] = margin
        jump = 2 ** (entry.pools_before - (entry.kind == "pool"))  # px a position of its input
        if entry.kind == "conv":
            margin += jump
        elif entry.kind == "pool":
            margin += (POOL_WINDOWS[pooling] - 2) * jump
            margin = math.ceil(margin / (2 * jump)) * 2 * jump
    return tuple(needed)


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
    pass without gradients reads tiles of ``forward`` px (0: ``size``).  With ``margins``
    (:func:`margins`), each module's map is cut to what the modules after it read
    (:meth:`crops`): the halo's cost shrinks with depth."""

    size: int
    halo: int
    stride: int
    forward: int = 0
    margins: tuple[int, ...] = ()

    @classmethod
    def for_layers(cls, size: int, names: tuple[str, ...], pooling: str,
                   forward: int = 0) -> Tiling:
        """The tiling of ``size`` px (and ``forward`` px, each rounded up to the stride) that
        computes ``names`` exactly: the stride of the deepest, a halo of half the widest
        receptive field."""
        stride = 2 ** max(layer(name).pools_before for name in names)
        reach = max(receptive_field(name, pooling) for name in names) / 2
        return cls(math.ceil(size / stride) * stride, math.ceil(reach / stride) * stride,
                   stride, math.ceil(forward / stride) * stride, margins(names, pooling))

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

    def box(self, tile: Tile, name: str, height: int,
            width: int) -> tuple[tuple[slice, slice], tuple[slice, slice], int]:
        """Where ``tile``'s interior stands at layer ``name``: in the tile's own map (as
        :meth:`crops` leaves it), in the whole image's map, and the whole map's positions."""
        index = layer(name).index
        step = 2 ** layer(name).pools_before
        spans = []
        for span, inputs, length in ((tile.rows, tile.input_rows, height),
                                     (tile.cols, tile.input_cols, width)):
            start, stop = _interior(span, length, step)
            origin = self._kept(span, inputs, length, index)[0]
            spans.append((slice(start - origin, stop - origin), slice(start, stop)))
        (rows, whole_rows), (cols, whole_cols) = spans
        return (rows, cols), (whole_rows, whole_cols), (height // step) * (width // step)

    def crops(self, tile: Tile, height: int, width: int) -> dict[int, tuple[slice, slice]]:
        """For each module whose map ``tile`` need not keep whole, the rows and columns of
        it to keep, in the map's own positions: the interior and its margin
        (:func:`margins`).  The layers after it then compute no halo they do not need."""
        return {index: tuple(slice(low - first, high - first) for (low, high), (first, _)
                             in zip(kept, made, strict=True))
                for index, made, kept in self._maps(tile, height, width) if kept != made}

    def map_sides(self, tile: Tile, height: int, width: int) -> dict[int, tuple[int, int]]:
        """Each module's map on ``tile`` as it is made (before :meth:`crops` cuts it): rows
        and columns, by ``features`` index (up to the deepest layer of :attr:`margins`)."""
        return {index: tuple(end - first for first, end in made)
                for index, made, _ in self._maps(tile, height, width)}

    def _maps(self, tile: Tile, height: int, width: int) -> Iterator[tuple[int, list, list]]:
        """Each module's index, its map as made and as kept: per axis ``(first, end)`` in
        the whole map's positions."""
        axes = ((tile.rows, tile.input_rows, height), (tile.cols, tile.input_cols, width))
        made = [(inputs.start, inputs.stop) for _, inputs, _ in axes]
        for index in range(len(self.margins)):
            if LAYERS[index].kind == "pool":
                made = [(first // 2, end // 2) for first, end in made]
            kept = [self._kept(span, inputs, length, index) for span, inputs, length in axes]
            yield index, made, kept
            made = kept

    def _kept(self, span: slice, inputs: slice, length: int, index: int) -> tuple[int, int]:
        """The part of module ``index``'s map a tile keeps along one axis, in the whole
        map's positions: the interior and its margin, within what the tile read (all of it
        without :attr:`margins`); never nothing."""
        step = 2 ** LAYERS[index].pools_before
        first, end = inputs.start // step, inputs.stop // step
        if index >= len(self.margins):
            return first, end
        start, stop = _interior(span, length, step)
        margin = math.ceil(self.margins[index] / step)
        low = min(max(first, start - margin), end - 1)
        return low, max(min(end, stop + margin), low + 1)


def _interior(span: slice, length: int, step: int) -> tuple[int, int]:
    """A tile's interior along one axis in a map of ``step`` px a position (the image's
    last tile takes the map's last, partial positions)."""
    return span.start // step, length // step if span.stop == length else span.stop // step

def empty(box: tuple[slice, slice]) -> bool:
    """Whether a :meth:`Tiling.box` holds no position (a thin last row or column of tiles
    at a deep layer)."""
    return any(span.stop <= span.start for span in box)
