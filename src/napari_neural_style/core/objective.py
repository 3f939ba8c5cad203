"""The objective: targets computed once, every loss term from one shared forward pass.

``total = w_content * mean_l L_content(l) + w_style * mean_l L_style(l) + w_tv * L_tv``

with the relative terms of :mod:`.losses`.  The means run over the chosen content and style
layers, so adding a layer does not change the balance between content and style.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .losses import EPS, STYLE_TARGETS, Moments, blend, content_loss, tv_loss
from .regions import RegionPlan
from .vgg import VGGEncoder
from .vgg_layers import layer


@dataclass(frozen=True)
class Losses:
    """The value of every term at one image, as plain floats."""

    total: float
    content: dict[str, float]  # per content layer
    style: dict[str, float]  # per style layer
    tv: float
    temporal: float = 0.0  # against the previous frame, warped (core/frames.py)

    @property
    def content_mean(self) -> float:
        return sum(self.content.values()) / len(self.content) if self.content else 0.0

    @property
    def style_mean(self) -> float:
        return sum(self.style.values()) / len(self.style) if self.style else 0.0

    def record(self, step: int) -> dict:
        """The JSON form: ``{step, total, content, style: {layer: value}, tv}``."""
        record = {"step": step, "total": self.total, "content": self.content_mean,
                  "style": dict(self.style), "tv": self.tv,
                  "content_per_layer": dict(self.content)}
        return {**record, "temporal": self.temporal} if self.temporal else record


class Objective:
    """``objective(pixels) -> (total tensor, Losses)`` against fixed targets."""

    def __init__(self, encoder: VGGEncoder, content_targets: dict[str, torch.Tensor],
                 style_targets: dict[str, object], content_weight: float = 1.0,
                 style_weight: float = 0.5, tv_weight: float = 0.0,
                 memory_format: torch.memory_format = torch.contiguous_format,
                 temporal: Temporal | None = None):
        self.encoder = encoder
        self.temporal = temporal
        self.content_targets = content_targets
        self.style_targets = style_targets
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.memory_format = memory_format

    @classmethod
    def from_images(cls, encoder: VGGEncoder, content: torch.Tensor | None,
                    styles: list[torch.Tensor], content_layers: tuple[str, ...],
                    style_layers: tuple[str, ...],
                    memory_format: torch.memory_format = torch.contiguous_format,
                    style_loss: str = "gram", style_blend: tuple[float, ...] | None = None,
                    regions: RegionPlan | None = None, style_targets: dict | None = None,
                    **weights: float) -> Objective:
        """Targets: features of ``content`` at the content layers; at the style layers, the
        style statistic ``style_loss`` (:data:`~.losses.STYLE_TARGETS`) of the ``styles``'
        moments blended in proportions ``style_blend`` (default: equal), or each style's in
        its own ``regions`` (:mod:`.regions`); ``style_targets`` already computed (another
        frame's) are taken as they are."""
        with torch.no_grad():
            content_targets = {}
            if content_layers:
                features = encoder(content.contiguous(memory_format=memory_format))
                content_targets = {name: features[name].float() for name in content_layers}
            if style_targets is None and style_layers:
                per_style = []
                for index, style in enumerate(styles):  # one pass each: sizes may differ
                    features = encoder(style.contiguous(memory_format=memory_format))
                    per_style.append(
                        regions.style_moments(index, features, style_layers) if regions else
                        {name: Moments.of(features[name]) for name in style_layers})
                target = STYLE_TARGETS[style_loss]
                style_targets = regions.targets(per_style, style_loss) if regions else {
                    name: target(blend([each[name] for each in per_style], style_blend))
                    for name in style_layers}
        style_targets = style_targets or {}
        return cls(encoder, content_targets, style_targets, memory_format=memory_format,
                   **weights)

    def select(self, config) -> Objective:
        """The objective of one :class:`~.config.Config`, sharing this one's targets."""
        return Objective(
            self.encoder, {name: self.content_targets[name] for name in config.content_layers},
            {name: self.style_targets[name] for name in config.style_layers},
            config.content_weight, config.style_weight, config.tv_weight, self.memory_format,
            self.temporal)

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        return self.terms(self.encoder(pixels.contiguous(memory_format=self.memory_format)),
                          pixels)

    def terms(self, features: dict[str, torch.Tensor],
              pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        """The loss of ``pixels`` from its already computed ``features`` (batch of one)."""
        content = [content_loss(features[name], target)
                   for name, target in self.content_targets.items()]
        style = [target.loss(features[name]) for name, target in self.style_targets.items()]
        zero = pixels.new_zeros((), dtype=torch.float32)
        tv = tv_loss(pixels) if self.tv_weight else zero
        temporal = self.temporal.loss(pixels) if self.temporal else zero
        total = (self.content_weight * (torch.stack(content).mean() if content else zero)
                 + self.style_weight * (torch.stack(style).mean() if style else zero)
                 + self.tv_weight * tv + (self.temporal.weight * temporal if self.temporal
                                          else zero))
        # one device sync for every number
        values = torch.stack([total, tv, temporal, *content, *style]).detach().tolist()
        n_content = len(content)
        losses = Losses(
            total=values[0],
            content=dict(zip(self.content_targets, values[3:3 + n_content], strict=True)),
            style=dict(zip(self.style_targets, values[3 + n_content:], strict=True)),
            tv=values[1], temporal=values[2],
        )
        return total, losses


@dataclass(frozen=True)
class Temporal:
    """The temporal term of a frame (Ruder et al. 2016): the previous frame's result warped
    onto this one, ``w``, and where that warp is reliable, ``c`` (1 or 0):

    ``L_temporal = sum_p c_p |x_p - w_p|^2 / (3 sum_p c_p)``, weighted by ``weight``.
    """

    warped: torch.Tensor  # (1, 3, H, W)
    reliable: torch.Tensor  # (1, 1, H, W)
    weight: float

    def loss(self, pixels: torch.Tensor) -> torch.Tensor:
        squared = (pixels.float() - self.warped).pow(2) * self.reliable
        return squared.sum() / (3 * self.reliable.sum() + EPS)

    def to(self, device: torch.device) -> Temporal:
        return Temporal(self.warped.to(device), self.reliable.to(device), self.weight)


class BatchObjective:
    """Objectives sharing one encoder, evaluated from one forward pass over all their images.

    The images go through the network deepest-first, and each leaves the batch after the
    deepest layer its own losses need, so a shallow run costs what it would alone; what the
    batch saves is the per-layer overhead of separate passes.
    """

    def __init__(self, objectives: list[Objective]):
        self.objectives = objectives
        depths = [max((layer(name).index for name in (*objective.content_targets,
                                                      *objective.style_targets)), default=0)
                  for objective in objectives]
        self.order = sorted(range(len(objectives)), key=lambda index: -depths[index])
        self.depths = [depths[index] for index in self.order]

    def __call__(self, pixels: list[torch.Tensor]) -> list[tuple[torch.Tensor, Losses]]:
        if len(pixels) == 1:
            return [self.objectives[0](pixels[0])]
        first = self.objectives[0]
        batch = torch.cat([pixels[index] for index in self.order])
        features = first.encoder(batch.contiguous(memory_format=first.memory_format),
                                 depths=self.depths)
        evaluated: list[tuple[torch.Tensor, Losses] | None] = [None] * len(pixels)
        for position, index in enumerate(self.order):
            # an image's rows exist in every layer it needs (it left the batch after those)
            mine = {name: value[position:position + 1] for name, value in features.items()
                    if position < value.shape[0]}
            evaluated[index] = self.objectives[index].terms(mine, pixels[index])
        return evaluated
