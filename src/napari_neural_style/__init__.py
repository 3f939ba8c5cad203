"""Gatys-style neural style transfer, texture synthesis and content reconstruction on VGG-19.

The engine lives in :mod:`napari_neural_style.core` (pure torch, no Qt); the napari widgets in
:mod:`napari_neural_style.plugin`.  The task functions are re-exported here and imported on first
use, so ``import napari_neural_style`` (and napari's plugin discovery) does not import torch.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "Config": "core.config",
    "Result": "core.result",
    "Step": "core.optimize",
    "reconstruct": "core.tasks",
    "synthesize_texture": "core.tasks",
    "transfer": "core.tasks",
    "run": "core.tasks",
    "feature_maps": "core.features",
    "gram_matrix": "core.losses",
    "resolve_weights": "core.weights",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
