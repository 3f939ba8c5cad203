"""Tiles on the network's stride grid, read with a halo: which part of each layer's map a
tile's interior makes, and the whole image's maps and moments assembled tile by tile, so
that an image larger than memory allows is only ever held one tile's feature maps at a
time.  Pure geometry and sums; :mod:`.tiling` runs a step on them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .losses import Moments
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
    """Tiles of ``size`` px (interior) on a grid of ``stride`` px, read with ``halo`` px."""

    size: int
    halo: int
    stride: int

    @classmethod
    def for_layers(cls, size: int, names: tuple[str, ...], pooling: str) -> Tiling:
        """The tiling of ``size`` px (rounded up to the stride) that computes ``names``
        exactly: the stride of the deepest, a halo of half the widest receptive field."""
        stride = 2 ** max(layer(name).pools_before for name in names)
        reach = max(receptive_field(name, pooling) for name in names) / 2
        return cls(math.ceil(size / stride) * stride, math.ceil(reach / stride) * stride,
                   stride)

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


def tiled_maps(encoder, image: torch.Tensor, tiling: Tiling, names: tuple[str, ...],
               memory_format: torch.memory_format) -> dict[str, torch.Tensor]:
    """The whole image's feature maps at ``names`` (float32), made tile by tile without
    gradients."""
    height, width = image.shape[-2:]
    maps: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for tile in tiling.tiles(height, width):
            features = encoder(read(image, tile).contiguous(memory_format=memory_format))
            for name in names:
                own, whole, _ = tiling.box(tile, name, height, width)
                if name not in maps:
                    maps[name] = features[name].new_zeros(
                        (1, features[name].shape[1], height >> layer(name).pools_before,
                         width >> layer(name).pools_before), dtype=torch.float32)
                maps[name][..., whole[0], whole[1]] = features[name][..., own[0], own[1]]
    return maps


def tiled_moments(encoder, image: torch.Tensor, tiling: Tiling, names: tuple[str, ...],
                  memory_format: torch.memory_format) -> dict[str, Moments]:
    """The whole image's :class:`~.losses.Moments` at ``names``, summed tile by tile."""
    height, width = image.shape[-2:]
    sums: dict[str, Moments] = {}
    with torch.no_grad():
        for tile in tiling.tiles(height, width):
            features = encoder(read(image, tile).contiguous(memory_format=memory_format))
            for name in names:
                own, _, positions = tiling.box(tile, name, height, width)
                if any(span.stop <= span.start for span in own):
                    continue
                part = Moments.of(features[name][..., own[0], own[1]], None, positions)
                sums[name] = part if name not in sums else Moments(
                    sums[name].mean + part.mean, sums[name].second + part.second)
    return sums


def read(image: torch.Tensor, tile: Tile) -> torch.Tensor:
    """What ``tile`` reads of ``image``: its interior and halo."""
    return image[..., tile.input_rows, tile.input_cols]
