"""A step tile by tile, exactly: the loss and gradient of the whole image, holding one tile's
feature maps at a time.

Every feature term is a mean over positions (:meth:`~.terms.Term.statistic`), so the whole
image's statistic is the sum of the parts its tiles make (:meth:`~.terms.LayerTerm.part`).
A tile's interior is read with a halo of half the receptive field of the deepest layer used,
and tiles stand on the network's stride grid, so the features at a tile's interior positions
are the whole image's (at the image's border the tile pads as the whole image does).  One
step is two passes over the tiles:

1. forward only: each term's statistic, summed over the tiles' interiors; the losses, and
   their gradients ``dL/dS`` with respect to the statistics, follow from the sums;
2. forward and backward: each tile's surrogate ``sum_S <dL/dS, S_tile>`` back to its input,
   whose gradient (halo included) adds into the image's.

The sum is the untiled gradient, up to the order of the sums.  Terms of the pixels (TV, a
movie's temporal term) are computed on the whole image, which is in memory anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .objective import Losses, Objective
from .terms import LayerTerm
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


class TiledObjective:
    """``objective`` evaluated on ``tiling``'s tiles: the same ``(total, Losses)`` as the
    objective on the whole image, the total's gradient the whole image's."""

    def __init__(self, objective: Objective, tiling: Tiling):
        self.objective = objective
        self.tiling = tiling
        self.layer_terms = [term for term in objective.terms if isinstance(term, LayerTerm)]
        self.pixel_terms = [term for term in objective.terms
                            if not isinstance(term, LayerTerm)]

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        image = pixels.detach()
        tiles = self.tiling.tiles(*image.shape[-2:])
        with torch.no_grad():
            sums = [None] * sum(len(term.keys) for term in self.layer_terms)
            for tile in tiles:
                parts = self._parts(self._features(_input(image, tile)), tile, image)
                sums = [_add(a, b) for a, b in zip(sums, parts, strict=True)]
        statistics = [_leaf(statistic) for statistic in sums]
        with torch.enable_grad():
            feature_total, values = self._scores(statistics, pixels)
        total = feature_total.detach()
        if pixels.requires_grad and torch.is_grad_enabled() and self.layer_terms:
            leaves = [_leaves(statistic) for statistic in statistics]
            flat = torch.autograd.grad(feature_total, [leaf for each in leaves for leaf in each],
                                       allow_unused=True)
            found = iter(flat)
            slopes = [[next(found) for _ in each] for each in leaves]
            gradient = self._gradient(image, tiles, slopes)
            total = total + (pixels * gradient).sum() - (pixels * gradient).sum().detach()
        for term in self.pixel_terms:
            values[term.name] = term.values({}, pixels)
            total = total + term.weight * torch.stack(list(values[term.name].values())).mean()
        numbers = iter(torch.stack([total, *(value for each in values.values()
                                             for value in each.values())]).detach().tolist())
        total_value = next(numbers)
        return total, Losses(total_value, {name: {key: next(numbers) for key in each}
                                           for name, each in values.items()})

    def _features(self, crop: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.objective.encoder(crop.contiguous(memory_format=self.objective.memory_format))

    def _parts(self, features: dict[str, torch.Tensor], tile: Tile,
               image: torch.Tensor) -> list:
        """Each (term, key)'s part from ``tile``, in the order of the terms and their keys
        (None where the interior has no position at that layer: the last, thin row or
        column of tiles at a deep layer)."""
        parts = []
        for term in self.layer_terms:
            for key in term.keys:
                own, whole, positions = self.tiling.box(tile, key, *image.shape[-2:])
                empty = any(span.stop <= span.start for span in own)
                parts.append(None if empty else term.part(
                    key, features[key][..., own[0], own[1]], whole, positions))
        return parts

    def _scores(self, statistics: list, pixels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """The feature terms' weighted sum and values from the whole image's statistics."""
        total = pixels.new_zeros((), dtype=torch.float32)
        values, found = {}, iter(statistics)
        for term in self.layer_terms:
            values[term.name] = {key: term.score(key, next(found)) for key in term.keys}
            total = total + term.weight * torch.stack(list(values[term.name].values())).mean()
        return total, values

    def _gradient(self, image: torch.Tensor, tiles: list[Tile],
                  slopes: list[list[torch.Tensor | None]]) -> torch.Tensor:
        """The image's gradient, tile by tile: each tile's surrogate ``<dL/dS, S_tile>``
        (``slopes``: ``dL/dS`` for each tensor of each statistic)."""
        gradient = torch.zeros_like(image, dtype=torch.float32)
        with torch.enable_grad():
            for tile in tiles:
                crop = _input(image, tile).clone().requires_grad_(True)
                parts = self._parts(self._features(crop), tile, image)
                surrogate = sum((slope * leaf).sum()
                                for part, own in zip(parts, slopes, strict=True)
                                if part is not None
                                for slope, leaf in zip(own, _leaves(part), strict=True)
                                if slope is not None)
                if isinstance(surrogate, torch.Tensor):
                    (tile_gradient,) = torch.autograd.grad(surrogate, crop)
                    gradient[..., tile.input_rows, tile.input_cols] += tile_gradient
        return gradient.to(image.dtype)


def _input(image: torch.Tensor, tile: Tile) -> torch.Tensor:
    """What ``tile`` reads of ``image``: its interior and halo."""
    return image[..., tile.input_rows, tile.input_cols]


def _leaves(statistic) -> list[torch.Tensor]:
    """The tensors of a statistic (a tensor, moments, or a tuple or list of them), in order."""
    if isinstance(statistic, torch.Tensor):
        return [statistic]
    if isinstance(statistic, (tuple, list)):
        return [leaf for each in statistic for leaf in _leaves(each)]
    return [leaf for value in vars(statistic).values() for leaf in _leaves(value)]


def _rebuilt(statistic, make):
    """``statistic`` with each tensor replaced by ``make(tensor)``."""
    if isinstance(statistic, torch.Tensor):
        return make(statistic)
    if isinstance(statistic, (tuple, list)):
        return type(statistic)(_rebuilt(each, make) for each in statistic)
    return type(statistic)(**{name: _rebuilt(value, make)
                              for name, value in vars(statistic).items()})


def _add(first, second):
    """The sum of two statistics of the same shape (None: nothing)."""
    if first is None or second is None:
        return second if first is None else first
    found = iter(_leaves(second))
    return _rebuilt(first, lambda leaf: leaf + next(found))


def _leaf(statistic):
    """``statistic`` as fresh leaves that require their gradient."""
    return _rebuilt(statistic, lambda leaf: leaf.detach().requires_grad_(True))
