"""The objective: targets computed once, every loss term from one shared forward pass.

``total = w_content * mean_l L_content(l) + w_style * mean_l L_style(l) + w_tv * L_tv``

with the relative terms of :mod:`.losses`.  The means run over the chosen content and style
layers, so adding a layer does not change the balance between content and style.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .vgg import VGGEncoder


@dataclass(frozen=True)
class Losses:
    """The value of every term at one image, as plain floats."""

    total: float
    content: dict[str, float]  # per content layer
    style: dict[str, float]  # per style layer
    tv: float

    @property
    def content_mean(self) -> float:
        return sum(self.content.values()) / len(self.content) if self.content else 0.0

    @property
    def style_mean(self) -> float:
        return sum(self.style.values()) / len(self.style) if self.style else 0.0

    def record(self, step: int) -> dict:
        """The JSON form: ``{step, total, content, style: {layer: value}, tv}``."""
        return {"step": step, "total": self.total, "content": self.content_mean,
                "style": dict(self.style), "tv": self.tv,
                "content_per_layer": dict(self.content)}


class Objective:
    """``objective(pixels) -> (total tensor, Losses)`` against fixed targets."""

    def __init__(self, encoder: VGGEncoder, content_targets: dict[str, torch.Tensor],
                 style_targets: dict[str, torch.Tensor], content_weight: float = 1.0,
                 style_weight: float = 0.5, tv_weight: float = 0.0,
                 memory_format: torch.memory_format = torch.contiguous_format):
        self.encoder = encoder
        self.content_targets = content_targets
        self.style_targets = style_targets
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.memory_format = memory_format

    @classmethod
    def from_images(cls, encoder: VGGEncoder, content: torch.Tensor | None,
                    style: torch.Tensor | None, content_layers: tuple[str, ...],
                    style_layers: tuple[str, ...],
                    memory_format: torch.memory_format = torch.contiguous_format,
                    **weights: float) -> Objective:
        """Targets: features of ``content`` at the content layers, Grams of ``style``."""
        with torch.no_grad():
            content_targets = {}
            if content_layers:
                features = encoder(content.contiguous(memory_format=memory_format))
                content_targets = {name: features[name].float() for name in content_layers}
            style_targets = {}
            if style_layers:
                features = encoder(style.contiguous(memory_format=memory_format))
                style_targets = {name: gram_matrix(features[name]) for name in style_layers}
        return cls(encoder, content_targets, style_targets, memory_format=memory_format,
                   **weights)

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        features = self.encoder(pixels.contiguous(memory_format=self.memory_format))
        content = [content_loss(features[name], target)
                   for name, target in self.content_targets.items()]
        style = [style_loss(features[name], target)
                 for name, target in self.style_targets.items()]
        zero = pixels.new_zeros((), dtype=torch.float32)
        tv = tv_loss(pixels) if self.tv_weight else zero
        total = (self.content_weight * (torch.stack(content).mean() if content else zero)
                 + self.style_weight * (torch.stack(style).mean() if style else zero)
                 + self.tv_weight * tv)
        values = torch.stack([total, tv, *content, *style]).detach().tolist()  # one device sync
        n_content = len(content)
        losses = Losses(
            total=values[0],
            content=dict(zip(self.content_targets, values[2:2 + n_content], strict=True)),
            style=dict(zip(self.style_targets, values[2 + n_content:], strict=True)),
            tv=values[1],
        )
        return total, losses
