"""Looking inside the network: feature maps and Gram matrices of any image."""

from __future__ import annotations

import numpy as np
import torch

from .device import resolve_device
from .images import to_tensor
from .losses import gram_matrix
from .vgg import VGGEncoder
from .vgg_layers import min_image_side, parse_layers
from .weights import Weights, resolve_weights


def _features(image: np.ndarray, layers: tuple[str, ...], weights: str | Weights, size: int | None,
              pooling: str, device: str, weights_format: str) -> dict[str, torch.Tensor]:
    resolved = weights if isinstance(weights, Weights) else resolve_weights(
        weights, weights_format=weights_format)
    target = resolve_device(device)
    pixels = to_tensor(image, size, "image", min_image_side(layers)).to(target)
    encoder = VGGEncoder(resolved, layers, pooling).to(target)
    with torch.no_grad():
        return encoder(pixels)


def feature_maps(image: np.ndarray, layers: str | tuple[str, ...] = ("conv_4",),
                 weights: str | Weights = "imagenet", size: int | None = 512,
                 pooling: str = "auto", device: str = "auto",
                 weights_format: str = "auto") -> dict[str, np.ndarray]:
    """``{layer: float32 (C, H, W) array}`` of ``image``'s activations at each layer.

    ``conv_N`` / ``convB_D`` names give the map before its ReLU, ``reluB_D`` after it.
    """
    names = parse_layers(layers)
    features = _features(image, names, weights, size, pooling, device, weights_format)
    return {name: features[name][0].float().cpu().numpy() for name in names}


def gram_matrices(image: np.ndarray, layers: str | tuple[str, ...] = ("conv_4",),
                  weights: str | Weights = "imagenet", size: int | None = 512,
                  pooling: str = "auto", device: str = "auto",
                 weights_format: str = "auto") -> dict[str, np.ndarray]:
    """``{layer: float32 (C, C) Gram matrix}`` (:func:`~.losses.gram_matrix`) of ``image``."""
    names = parse_layers(layers)
    features = _features(image, names, weights, size, pooling, device, weights_format)
    return {name: gram_matrix(features[name])[0].cpu().numpy() for name in names}


def normalize_channels(stack: np.ndarray) -> np.ndarray:
    """Each channel of a ``(C, H, W)`` stack min-max scaled to [0, 1] (flat channels give 0)."""
    low = stack.min(axis=(1, 2), keepdims=True)
    span = stack.max(axis=(1, 2), keepdims=True) - low
    return np.divide(stack - low, span, out=np.zeros_like(stack), where=span > 0)


def strongest_channels(stack: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` channels with the largest mean square activation, strongest
    first."""
    energy = np.square(stack, dtype=np.float64).mean(axis=(1, 2))
    return np.argsort(-energy, kind="stable")[:count]


def mosaic(stack: np.ndarray, count: int = 16, gap: int = 1) -> np.ndarray:
    """The ``count`` strongest channels, each scaled to [0, 1], tiled row by row in a square
    grid with ``gap`` px of NaN between tiles (drawn transparent by napari)."""
    channels = normalize_channels(stack[strongest_channels(stack, count)])
    n, height, width = channels.shape
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    sheet = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan,
                    np.float32)
    for index, channel in enumerate(channels):
        row, column = divmod(index, columns)
        sheet[row * (height + gap):row * (height + gap) + height,
              column * (width + gap):column * (width + gap) + width] = channel
    return sheet
