"""The whole image's feature maps and moments, made tile by tile (:mod:`.tile_grid`), so
that targets of an image larger than memory allows hold one tile's feature maps at a time."""

from __future__ import annotations

from functools import partial

import torch

from .losses import Moments
from .tile_grid import Tile, Tiling, empty
from .vgg_layers import layer


def tiled_maps(encoder, image: torch.Tensor, tiling: Tiling, names: tuple[str, ...],
               memory_format: torch.memory_format) -> dict[str, torch.Tensor]:
    """The whole image's feature maps at ``names`` (float32), made tile by tile without
    gradients, in a pass that holds one layer's maps of one tile at a time."""
    height, width = image.shape[-2:]
    maps: dict[str, torch.Tensor] = {}

    def add(tile: Tile, name: str, features: torch.Tensor) -> None:
        if name not in names:
            return
        own, whole, _ = tiling.box(tile, name, height, width)
        if name not in maps:
            maps[name] = features.new_zeros(
                (1, features.shape[1], height >> layer(name).pools_before,
                 width >> layer(name).pools_before), dtype=torch.float32)
        maps[name][..., whole[0], whole[1]] = features[..., own[0], own[1]]

    for tile in tiling.forward_only().tiles(height, width):
        encoder.reduced(read(image, tile).contiguous(memory_format=memory_format),
                        partial(add, tile), tiling.crops(tile, height, width))
    return maps


def tiled_moments(encoder, image: torch.Tensor, tiling: Tiling, names: tuple[str, ...],
                  memory_format: torch.memory_format,
                  masks: dict | None = None) -> dict[str, dict]:
    """The whole image's :class:`~.losses.Moments` at ``names``, summed tile by tile (a
    pass that holds one layer's maps of one tile at a time): ``{layer: {key: Moments}}``,
    one per key of ``masks`` (by layer, a mask over the whole image's map to take the
    moments over; default ``{None: None}``, the whole image).  A mask that holds nothing at
    a layer (a small region, deep in the network) gives none there."""
    height, width = image.shape[-2:]
    masks = masks or {None: None}
    totals = {key: None if carried is None else {name: carried[name].sum() for name in names}
              for key, carried in masks.items()}
    sums: dict[str, dict] = {name: {} for name in names}

    def add(tile: Tile, name: str, features: torch.Tensor) -> None:
        if name not in names:
            return
        own, whole, positions = tiling.box(tile, name, height, width)
        if empty(own):
            return
        mine = features[..., own[0], own[1]]
        for key, carried in masks.items():
            if carried is not None and float(totals[key][name]) <= 1e-6:
                continue
            part = Moments.of(mine, None, positions) if carried is None else Moments.of(
                mine, carried[name][..., whole[0], whole[1]], totals[key][name])
            found = sums[name].get(key)
            sums[name][key] = part if found is None else Moments(
                found.mean + part.mean, found.second + part.second)

    for tile in tiling.forward_only().tiles(height, width):
        encoder.reduced(read(image, tile).contiguous(memory_format=memory_format),
                        partial(add, tile), tiling.crops(tile, height, width))
    return sums


def read(image: torch.Tensor, tile: Tile) -> torch.Tensor:
    """What ``tile`` reads of ``image``: its interior and halo."""
    return image[..., tile.input_rows, tile.input_cols]
