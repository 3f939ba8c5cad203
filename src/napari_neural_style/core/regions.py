"""A style per region (Gatys et al. 2017, "Controlling perceptual factors", spatial control).

A label image over the content assigns each pixel a region.  ``Config.regions`` maps a label
to one of the style images with a weight, ``(label, style, weight)``; a label mapped to no
style (``style=None``), and every label not mapped at all (0, "unlabelled", included), is
*content only*: no style loss there, the content loss alone.

At each style layer ``l`` the style term is

``L_l = sum_r a_r w_r L(M_{m_r}(F_l), T_r)``

where ``m_r`` is region ``r``'s mask carried to layer ``l``'s grid, ``M_m`` the moments of the
features over the positions ``m`` weighs (:meth:`~.losses.Moments.of`: for a binary mask the
region's own average; the guided Gram matrix of Gatys et al.), ``T_r`` the target of the
region's style (its whole image, or with style labels the part of it with the same label),
``w_r`` the region's weight and ``a_r`` its share of the image.  The share makes every region
weigh as its part of the image does, so within a region content and style balance as in a
one-style transfer with style weight ``w_r`` times the style weight, and one region covering
everything is exactly a one-style transfer.

Masks reach a layer's grid one of two ways (``Config.region_mask``):

* ``simple``: averaged down at each pooling (a resampling to the layer's grid);
* ``inside``: eroded at each convolution (3x3) and pooling (2x2), keeping only positions whose
  receptive field lies inside the region (Gatys' notebooks; pystiche's ``propagate_guide``).

Soft edges: ``Config.feather`` blurs each region's mask with a Gaussian of that many working
pixels (scikit-image), the masks then summing to 1 at every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InputError
from .losses import STYLE_TARGETS, Moments, StyleTarget
from .vgg import BlurPool
from .vgg_layers import LAYERS, deepest, layer

#: how far a label image's aspect ratio may differ from the content's and still be resampled
ASPECT_TOLERANCE = 0.02


def checked_labels(labels, content_shape: tuple[int, ...], regions: tuple,
                   styles: int) -> np.ndarray:
    """``labels`` as a 2-D integer array over the content, or a one-line error: not whole
    numbers, not 2-D, another aspect than the content's, a mapped label no pixel has, a style
    no region uses or a region whose style is not given."""
    array = label_array(labels, content_shape, "the label image", "the content's")
    present = set(np.unique(array).tolist())
    for label, style, _ in regions:
        if label not in present and style is not None:
            raise InputError(f"label {label} is given a style but no pixel of the label "
                             "image has it: paint it, or leave it out")
        if style is not None and style >= styles:
            raise InputError(f"label {label} is given style {style + 1}, but only {styles} "
                             "style image(s) were given")
    unused = set(range(styles)) - {style for _, style, _ in regions}
    if unused:
        raise InputError(f"style image {min(unused) + 1} is not given to any region: give it "
                         "a label, or leave it out")
    return array


def checked_style_labels(labels: list, shapes: list[tuple[int, ...]],
                         regions: tuple) -> list[np.ndarray | None]:
    """A label image (or None) per style image, each over its style (``shapes``), holding
    every label whose region learns from that style: that region then learns from the part
    of the style with the same label."""
    if len(labels) != len(shapes):
        raise InputError(f"{len(labels)} style label images for {len(shapes)} style images: "
                         "give one per style (None for a style used whole)")
    checked = []
    for index, (given, shape) in enumerate(zip(labels, shapes, strict=True)):
        if given is None:
            checked.append(None)
            continue
        what = f"style image {index + 1}'s labels"
        array = label_array(given, shape, what, f"style image {index + 1}'s")
        present = set(np.unique(array).tolist())
        for label, style, _ in regions:
            if style == index and label not in present:
                raise InputError(f"label {label} learns from style image {index + 1}, but "
                                 f"{what} do not have it: paint it there too")
        checked.append(array)
    return checked


def label_array(labels, shape: tuple[int, ...], what: str, whose: str) -> np.ndarray:
    """``labels`` as a 2-D integer array of ``shape``'s aspect, or a one-line error about
    ``what`` (compared with ``whose`` shape)."""
    array = np.asarray(labels)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise InputError(f"{what}: a label image is 2-D (one label per pixel); got shape "
                         f"{array.shape}")
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)) \
                or not np.all(array == np.round(array)):
            raise InputError(f"{what}: a label image holds whole numbers (a napari Labels "
                             f"layer, an integer TIFF or PNG); got {array.dtype} values")
        array = array.astype(np.int64)
    _check_aspect(array.shape, shape[:2], what, whose)
    return array


def _check_aspect(shape: tuple[int, int], image: tuple[int, int], what: str,
                  whose: str) -> None:
    ratio = (shape[1] / shape[0]) / (image[1] / image[0])
    if abs(ratio - 1) > ASPECT_TOLERANCE:
        raise InputError(f"{what}, {shape[0]}x{shape[1]} px, does not have {whose} shape or "
                         f"aspect ({image[0]}x{image[1]} px): paint the labels over that "
                         "image")


def resized_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``labels`` resampled to ``shape`` by nearest neighbour (pixel centres)."""
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * labels.shape[0] / shape[0]).astype(int),
                      labels.shape[0] - 1)
    columns = np.minimum(((np.arange(shape[1]) + 0.5) * labels.shape[1] / shape[1])
                         .astype(int), labels.shape[1] - 1)
    return labels[np.ix_(rows, columns)]


def region_masks(labels: np.ndarray, shape: tuple[int, int], wanted: list[int],
                 feather: float, device: torch.device) -> dict[int, torch.Tensor]:
    """A ``(1, 1, H, W)`` mask of ``shape`` for each ``wanted`` label that is present at that
    shape; with ``feather`` (a Gaussian's sigma in px at ``shape``) every label present is
    blurred and the masks of each pixel then sum to 1."""
    resized = resized_labels(labels, shape)
    present = np.unique(resized).tolist()
    masks = {label: (resized == label).astype(np.float32) for label in present}
    if feather > 0:
        from skimage.filters import gaussian

        masks = {label: gaussian(mask, sigma=feather) for label, mask in masks.items()}
        total = sum(masks.values())
        masks = {label: mask / total for label, mask in masks.items()}
    return {label: torch.as_tensor(np.ascontiguousarray(masks[label]),
                                   dtype=torch.float32).to(device)[None, None]
            for label in wanted if label in masks}


def layer_masks(mask: torch.Tensor, names: tuple[str, ...], how: str,
                pooling: str = "avg") -> dict[str, torch.Tensor]:
    """``mask`` carried to the grid of each layer of ``names``: ``simple`` pools it as the
    network pools (averages, for max pooling too); ``inside`` also erodes it at each
    convolution and pooling, keeping the positions whose receptive field lies inside it (the
    image's border counts as inside)."""
    taps: dict[int, list[str]] = {}
    for name in names:
        taps.setdefault(layer(name).index, []).append(name)
    carried = {}
    for entry in LAYERS[:deepest(names).index + 1]:
        if entry.kind == "pool":
            mask = _pooled_mask(mask, how, pooling)
        elif entry.kind == "conv" and how == "inside":
            mask = _eroded(mask, 3, stride=1)
        for name in taps.get(entry.index, ()):
            carried[name] = mask
    return carried


def _pooled_mask(mask: torch.Tensor, how: str, pooling: str) -> torch.Tensor:
    """A mask through one pooling: a blur pooling's window is 4x4 (core/vgg.py), the others'
    2x2."""
    if pooling == "blur":
        return BlurPool()(mask) if how == "simple" else _eroded(mask, 4, stride=2)
    return F.avg_pool2d(mask, 2) if how == "simple" else -F.max_pool2d(-mask, 2)


def _eroded(mask: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """The minimum over each ``window`` from one position before it (the border replicated),
    at ``stride``: where a 3x3 convolution or a blur pooling reads."""
    return -F.max_pool2d(-F.pad(mask, (1, 1, 1, 1), mode="replicate"), window, stride=stride)


@dataclass(frozen=True)
class GuidedTarget(StyleTarget):
    """The style target of one layer with regions: ``sum_r s_r L(T_r, features over m_r)``,
    ``parts`` holding ``(m_r, s_r = a_r w_r, T_r)`` (see the module docstring)."""

    parts: tuple[tuple[torch.Tensor, float, StyleTarget], ...]
    device: torch.device  # where a layer every region vanished from scores its zero

    def statistic(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                  total=None) -> tuple:
        """Each region's statistic, over its mask."""
        return tuple(target.statistic(features, part_mask)
                     for part_mask, _, target in self.parts)

    def part(self, features: torch.Tensor, box: tuple[slice, slice], positions: int) -> tuple:
        """Each region's part of its statistic from ``features`` at ``box``: over its mask
        there, divided by the whole mask's weight."""
        return tuple(target.statistic(features, part_mask[..., box[0], box[1]],
                                      part_mask.sum())
                     for part_mask, _, target in self.parts)

    def score(self, statistic: tuple) -> torch.Tensor:
        zero = torch.zeros((), dtype=torch.float32, device=self.device)
        return sum((scale * target.score(each) for (_, scale, target), each
                    in zip(self.parts, statistic, strict=True)), zero)


@dataclass(frozen=True)
class RegionPlan:
    """The regions of one scale: ``Config.regions`` and their masks at the content's working
    shape there (:func:`region_masks`), carried to layers ``how``; ``style_masks``, per style
    image, the masks of its own labels at its working shape (None: a region learns from the
    whole style)."""

    regions: tuple[tuple[int, int | None, float], ...]
    masks: dict[int, torch.Tensor]
    how: str
    style_masks: tuple[dict[int, torch.Tensor] | None, ...] = ()
    pooling: str = "avg"  # the network's, which the masks follow through its poolings

    def style_layer_masks(self, index: int, names: tuple[str, ...]) -> dict:
        """What style ``index``'s moments are taken over (:func:`~.tiled_targets.tiled_moments`'s
        ``masks``): each of its labelled regions' masks carried to ``names`` (key: the label),
        or the whole image (``{None: None}``)."""
        masks = self.style_masks[index] if index < len(self.style_masks) else None
        if not masks:
            return {None: None}
        return {label: layer_masks(mask, names, self.how, self.pooling)
                for label, mask in masks.items()}

    def targets(self, moments: list[dict[str, dict[int | None, Moments]]],
                style_loss: str) -> dict[str, GuidedTarget]:
        """``{layer: GuidedTarget}`` from each style's moments over its
        :meth:`style_layer_masks` (``{layer: {key: Moments}}``)."""
        make = STYLE_TARGETS[style_loss]
        names = tuple(moments[0]) if moments else ()
        parts: dict[str, list] = {name: [] for name in names}
        for label, style, weight in self.regions:
            mask = self.masks.get(label)
            if style is None or mask is None:  # content only, or gone at this scale
                continue
            share = float(mask.mean())
            key = label if style < len(self.style_masks) and self.style_masks[style] else None
            for name, carried in layer_masks(mask, names, self.how, self.pooling).items():
                statistic = moments[style][name].get(key)
                # a small region vanishes in deep layers, in the content or in the style
                if statistic is not None and float(carried.sum()) > 1e-6:
                    parts[name].append((carried, share * weight, make(statistic)))
        device = next(iter(self.masks.values())).device if self.masks else torch.device("cpu")
        return {name: GuidedTarget(tuple(each), device) for name, each in parts.items()}
