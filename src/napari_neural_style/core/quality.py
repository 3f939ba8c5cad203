"""Quality numbers beside every result, so runs compare by more than eye.

At a fixed set of layers (whatever the run optimized), a result's

* ``content_error[l] = mean((F_l - P_l)^2) / mean(P_l^2)`` against the content image, and
* ``gram_distance[l] = mean((G_l - A_l)^2) / mean(A_l^2)`` against the style image (several
  styles: their Grams blended as the run blended them), or with regions
  ``region_gram_distance[label][l]``: the guided Gram of the result over the region against
  its own style's,

the same relative errors as the losses (:mod:`.losses`).  Layers too deep for the image
size are left out.  :func:`region_style_distances` measures each region against every
style, to tell whether it took its own.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from .losses import Moments, blend, relative_mse, relative_to, second_moment
from .regions import RegionPlan, layer_masks, region_masks
from .tile_grid import Tile, Tiling, empty
from .tiled_targets import read, tiled_moments
from .vgg import VGGEncoder
from .vgg_layers import min_image_side
from .weights import Weights

QUALITY_LAYERS = ("conv_1", "conv_2", "conv_3", "conv_4", "conv_5", "conv_8", "conv_9",
                  "conv_13", "conv_16")


def quality(weights: Weights, pooling: str, pixels: torch.Tensor, content: torch.Tensor | None,
            styles: list[torch.Tensor], style_blend: tuple[float, ...] | None = None,
            memory_format: torch.memory_format = torch.contiguous_format,
            regions: RegionPlan | None = None, tile: int = 0) -> dict:
    """``{"layers", "content_error": {layer: e}, "gram_distance": {layer: d}}`` of ``pixels``
    (``style_blend``: the styles' proportions, default equal; ``regions``: at the result's
    shape); with ``tile`` (px), measured tile by tile (:mod:`.tile_grid`), the same numbers
    for a pass that holds one tile's maps."""
    images = [image for image in (pixels, content, *styles) if image is not None]
    smallest = min(min(image.shape[-2:]) for image in images)
    layers = tuple(name for name in QUALITY_LAYERS if smallest >= min_image_side([name]))
    if not layers:
        return {"layers": [], "content_error": {}, "gram_distance": {}}
    encoder = VGGEncoder(weights, layers, pooling, memory_format).to(pixels.device)
    # one tile holding the whole image unless tiles are asked for
    tiling = Tiling.for_layers(tile or max(max(image.shape[-2:]) for image in images), layers,
                               encoder.pooling)
    moments = _style_moments(encoder, styles, memory_format, layers, tiling)
    masks = _region_masks(regions, layers)
    sums = _summed_parts(encoder, tiling, pixels, content, masks, memory_format)
    content_error = {name: float(relative_to(error, reference))
                     for name, (error, reference) in sums["content"].items()}
    gram_distance = {} if masks or not styles else {
        name: float(relative_mse(gram, blend(moments[name], style_blend).second))
        for name, gram in sums["gram"].items()}
    region_distance = {label: {name: float(relative_mse(gram, moments[name][style].second))
                               for name, gram in sums[label].items()}
                       for label, (style, _) in masks.items()}
    regional = {"region_gram_distance": region_distance} if regions else {}
    return {"layers": list(layers), "content_error": content_error,
            "gram_distance": gram_distance, **regional}


def _summed_parts(encoder: VGGEncoder, tiling: Tiling, pixels: torch.Tensor,
                  content: torch.Tensor | None, masks: dict,
                  memory_format: torch.memory_format) -> dict[str, dict]:
    """Over ``tiling``'s tiles, at each layer: ``"content"``: the mean squared error of
    ``pixels``' features against ``content``'s and their mean square, ``"gram"``: the Gram
    matrix of ``pixels``, and per region label of ``masks`` its guided Gram (each a sum of
    the tiles' parts)."""
    height, width = pixels.shape[-2:]
    sums: dict[str, dict] = {"content": {}, "gram": {}, **{label: {} for label in masks}}

    def add(tile: Tile, name: str, features: torch.Tensor) -> None:
        own, whole, positions = tiling.box(tile, name, height, width)
        if empty(own):
            return
        mine = features[:1, :, own[0], own[1]]
        parts = {"gram": second_moment(mine, None, positions)}
        if content is not None:
            reference = features[1:, :, own[0], own[1]].float()
            count = positions * features.shape[1]
            parts["content"] = torch.stack([(mine.float() - reference).square().sum() / count,
                                            reference.square().sum() / count])
        for label, (_, carried) in masks.items():
            mask = carried[name]
            parts[label] = second_moment(mine, mask[..., whole[0], whole[1]], mask.sum())
        for key, part in parts.items():
            sums[key][name] = part + sums[key][name] if name in sums[key] else part

    for tile in tiling.tiles(height, width):
        batch = torch.cat([read(image, tile) for image in (pixels, content)
                           if image is not None])
        encoder.reduced(batch.contiguous(memory_format=memory_format), partial(add, tile),
                        tiling.crops(tile, height, width))
    return sums


def region_style_distances(weights: Weights, pixels: torch.Tensor, labels: np.ndarray,
                           styles: list[torch.Tensor],
                           layers: tuple[str, ...]) -> dict[int, list[float]]:
    """How much each region took each style: ``{label: [d_s for each style s]}`` for the
    labels 1, 2, ... present in ``labels``, ``d_s`` the mean over ``layers`` of the guided
    Gram of ``pixels`` over the region against style ``s``'s Gram (``region_gram_distance``
    against every style, not only the region's own), on ``weights`` with their own pooling.
    A region that took its own style is near it and far from the others'.  One pass over
    ``pixels`` and each style."""
    present = [int(label) for label in np.unique(labels) if label > 0]
    masks = region_masks(labels, tuple(pixels.shape[-2:]), present, 0, pixels.device)
    encoder = VGGEncoder(weights, layers, "auto").to(pixels.device)
    carried = {label: layer_masks(mask, layers, "simple", encoder.pooling)
               for label, mask in masks.items()}
    guided = encoder.reduced(pixels, lambda name, features: {
        label: second_moment(features, each[name]) for label, each in carried.items()})
    moments = _style_moments(encoder, styles, torch.contiguous_format, layers)
    return {label: [float(np.mean([float(relative_mse(guided[name][label],
                                                      moments[name][style].second))
                                   for name in layers]))
                    for style in range(len(styles))]
            for label in masks}


def _style_moments(encoder: VGGEncoder, styles: list[torch.Tensor],
                   memory_format: torch.memory_format, layers: tuple[str, ...],
                   tiling: Tiling | None = None) -> dict[str, list[Moments]]:
    """``{layer: [each style's moments]}``, made in ``tiling``'s tiles (default: whole)."""
    found = [tiled_moments(encoder, style, tiling or Tiling.for_layers(
        max(style.shape[-2:]), layers, encoder.pooling), layers, memory_format)
        for style in styles]
    return {name: [each[name][None] for each in found] for name in layers}


def _region_masks(regions: RegionPlan | None,
                  layers: tuple[str, ...]) -> dict[str, tuple[int, dict[str, torch.Tensor]]]:
    """``{label: (style, {layer: mask})}`` of each styled region present."""
    if regions is None:
        return {}
    return {str(label): (style, layer_masks(regions.masks[label], layers, regions.how,
                                                regions.pooling))
            for label, style, _ in regions.regions
            if style is not None and label in regions.masks}
