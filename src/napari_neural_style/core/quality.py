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

import numpy as np
import torch

from .losses import Moments, blend, content_loss, relative_mse, second_moment
from .regions import RegionPlan, layer_masks, region_masks
from .vgg import VGGEncoder
from .vgg_layers import min_image_side
from .weights import Weights

QUALITY_LAYERS = ("conv_1", "conv_2", "conv_3", "conv_4", "conv_5", "conv_8", "conv_9",
                  "conv_13", "conv_16")


def quality(weights: Weights, pooling: str, pixels: torch.Tensor, content: torch.Tensor | None,
            styles: list[torch.Tensor], style_blend: tuple[float, ...] | None = None,
            memory_format: torch.memory_format = torch.contiguous_format,
            regions: RegionPlan | None = None) -> dict:
    """``{"layers", "content_error": {layer: e}, "gram_distance": {layer: d}}`` of ``pixels``
    (``style_blend``: the styles' proportions, default equal; ``regions``: at the result's
    shape)."""
    images = [image for image in (pixels, content, *styles) if image is not None]
    smallest = min(min(image.shape[-2:]) for image in images)
    layers = tuple(name for name in QUALITY_LAYERS if smallest >= min_image_side([name]))
    if not layers:
        return {"layers": [], "content_error": {}, "gram_distance": {}}
    encoder = VGGEncoder(weights, layers, pooling, memory_format).to(pixels.device)
    content_error: dict[str, float] = {}
    gram_distance: dict[str, float] = {}
    region_distance: dict[str, dict[str, float]] = {}
    # tap by tap, the result beside the content in one batch, so that no layer's features
    # outlive its comparison (holding them all, a large image's pass peaks far higher)
    moments = _style_moments(encoder, styles, memory_format)
    masks = _region_masks(regions, layers)
    targets = {} if masks else {name: blend(each, style_blend).second
                                for name, each in moments.items()}

    def measure(name: str, features: torch.Tensor) -> None:
        if content is not None:
            content_error[name] = float(content_loss(features[:1], features[1:]))
        for label, (style, carried) in masks.items():
            region_distance.setdefault(label, {})[name] = float(relative_mse(
                second_moment(features[:1], carried[name]), moments[name][style].second))
        if styles and not masks:
            gram_distance[name] = float(relative_mse(second_moment(features[:1]),
                                                     targets[name]))

    batch = pixels if content is None else torch.cat([pixels, content])
    encoder.reduced(batch.contiguous(memory_format=memory_format), measure)
    regional = {"region_gram_distance": region_distance} if regions else {}
    return {"layers": list(layers), "content_error": content_error,
            "gram_distance": gram_distance, **regional}


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
    moments = _style_moments(encoder, styles, torch.contiguous_format)
    return {label: [float(np.mean([float(relative_mse(guided[name][label],
                                                      moments[name][style].second))
                                   for name in layers]))
                    for style in range(len(styles))]
            for label in masks}


def _style_moments(encoder: VGGEncoder, styles: list[torch.Tensor],
                   memory_format: torch.memory_format) -> dict[str, list[Moments]]:
    """``{layer: [each style's moments]}``."""
    moments: dict[str, list[Moments]] = {}
    for style in styles:
        found = encoder.reduced(style.contiguous(memory_format=memory_format),
                                lambda _, features: Moments.of(features))
        for name, each in found.items():
            moments.setdefault(name, []).append(each)
    return moments


def _region_masks(regions: RegionPlan | None,
                  layers: tuple[str, ...]) -> dict[str, tuple[int, dict[str, torch.Tensor]]]:
    """``{label: (style, {layer: mask})}`` of each styled region present."""
    if regions is None:
        return {}
    return {str(label): (style, layer_masks(regions.masks[label], layers, regions.how,
                                                regions.pooling))
            for label, style, _ in regions.regions
            if style is not None and label in regions.masks}
