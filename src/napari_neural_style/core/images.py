"""Images in and out: any napari-like array to a float RGB tensor in [0, 1], and back.

Accepted: ``(H, W)`` grayscale, ``(H, W, 1)``, ``(H, W, 3)`` RGB and ``(H, W, 4)`` RGBA (alpha is
dropped), of any integer dtype (scaled by the dtype's range), bool, or float of any range
(kept if already in [0, 1], otherwise min-max scaled).  Nothing is modified in place.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .config import MIN_SOURCE_SIDE
from .errors import InputError
from .geometry import working_shape


def to_rgb_float(array: np.ndarray, name: str = "image") -> np.ndarray:
    """A new float32 ``(H, W, 3)`` array in [0, 1] from any supported image array."""
    data = np.asarray(array)
    if data.dtype.kind not in "biuf":
        raise InputError(f"{name} has dtype {data.dtype}; give a numeric image (uint8, float...)")
    if data.ndim == 3 and data.shape[-1] in (1, 3, 4):
        channels = data[..., :3] if data.shape[-1] == 4 else data
    elif data.ndim == 2:
        channels = data[..., None]
    else:
        raise InputError(
            f"{name} has shape {data.shape}; expected (H, W) grayscale or (H, W, 3|4) RGB(A)"
        )
    if channels.shape[0] < 1 or channels.shape[1] < 1:
        raise InputError(f"{name} is empty (shape {data.shape})")
    rgb = np.broadcast_to(channels, (*channels.shape[:2], 3))
    if data.dtype.kind == "b":
        return rgb.astype(np.float32)
    if data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        return ((rgb.astype(np.float64) - info.min) / (info.max - info.min)).astype(np.float32)
    finite = np.isfinite(rgb)
    if not finite.all():
        raise InputError(
            f"{name} contains {int((~finite).sum())} NaN or inf values; "
            "replace them (e.g. numpy.nan_to_num) before running"
        )
    rgb = rgb.astype(np.float32)
    low, high = float(rgb.min()), float(rgb.max())
    if low >= 0.0 and high <= 1.0:
        return rgb.copy()
    if high == low:
        return np.zeros_like(rgb)
    return (rgb - low) / (high - low)


def to_tensor(
    array: np.ndarray, size: int | None = None, name: str = "image", min_side: int = 1
) -> torch.Tensor:
    """A ``(1, 3, H, W)`` float32 tensor in [0, 1], resized so its longest side is ``size``.

    ``min_side`` is the smallest side the caller's deepest layer needs; a smaller working image
    raises :class:`InputError` that says which size would work.
    """
    rgb = to_rgb_float(array, name)
    if min(rgb.shape[:2]) < MIN_SOURCE_SIDE:
        raise InputError(f"{name} is {rgb.shape[0]}x{rgb.shape[1]} px: too small to take "
                         f"features from; give an image of at least {MIN_SOURCE_SIDE} px a side")
    tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous()
    if size is not None:
        tensor = resize(tensor, working_shape(*rgb.shape[:2], size))
    if min(tensor.shape[-2:]) < min_side:
        raise InputError(
            f"{name} is {tensor.shape[-2]}x{tensor.shape[-1]} px at the working size, too small "
            f"for the deepest layer chosen (needs a side of at least {min_side} px); "
            "raise the working size or use shallower layers"
        )
    return tensor


def resize(tensor: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a ``(N, C, H, W)`` tensor, antialiased when shrinking."""
    if tuple(tensor.shape[-2:]) == tuple(shape):
        return tensor
    shrinking = shape[0] < tensor.shape[-2] or shape[1] < tensor.shape[-1]
    return F.interpolate(tensor, size=shape, mode="bilinear", align_corners=False,
                         antialias=shrinking)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 ``(H, W, 3)`` array in [0, 1] from a ``(1, 3, H, W)`` tensor."""
    return tensor.detach()[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
