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
    gradients."""
    height, width = image.shape[-2:]
    maps: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for tile in tiling.forward_only().tiles(height, width):
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
    """The whole image's :class:`~.losses.Moments` at ``names``, summed tile by tile (a
    pass that holds one layer's maps of one tile at a time)."""
    height, width = image.shape[-2:]
    sums: dict[str, Moments] = {}

    def add(tile: Tile, name: str, features: torch.Tensor) -> None:
        own, _, positions = tiling.box(tile, name, height, width)
        if name not in names or empty(own):
            return
        part = Moments.of(features[..., own[0], own[1]], None, positions)
        sums[name] = part if name not in sums else Moments(
            sums[name].mean + part.mean, sums[name].second + part.second)

    for tile in tiling.forward_only().tiles(height, width):
        encoder.reduced(read(image, tile).contiguous(memory_format=memory_format),
                        partial(add, tile))
    return sums


def read(image: torch.Tensor, tile: Tile) -> torch.Tensor:
    """What ``tile`` reads of ``image``: its interior and halo."""
    return image[..., tile.input_rows, tile.input_cols]
