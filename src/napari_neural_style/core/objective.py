"""The objective: targets computed once, every loss term from one shared forward pass.

``total = sum_t w_t mean_k L_t(k)``

over the terms of :mod:`.terms` (content, style, TV, temporal, and any other registered
there).  The means run over each term's layers, so adding a layer does not change the
balance between content and style.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .regions import RegionPlan
from .terms import TERMS, Style, Temporal, Term, TermSources
from .tile_grid import Tiling
from .vgg import VGGEncoder
from .vgg_layers import layer


@dataclass(frozen=True)
class Losses:
    """The value of every term at one image, as plain floats: ``terms[name][key]`` (a term
    the run does not use is absent)."""

    total: float
    terms: dict[str, dict[str, float]]

    @classmethod
    def of(cls, total: torch.Tensor, values: dict[str, dict[str, torch.Tensor]]) -> Losses:
        """``total`` and each term's ``values`` as floats, in one device sync."""
        numbers = iter(torch.stack([total, *(value for each in values.values()
                                             for value in each.values())]).detach().tolist())
        total_value = next(numbers)
        return cls(total_value, {name: {key: next(numbers) for key in each}
                                 for name, each in values.items()})

    def mean(self, name: str) -> float | None:
        """Term ``name``'s mean over its keys (None: not used)."""
        values = self.terms.get(name)
        return sum(values.values()) / len(values) if values else None

    def record(self, step: int) -> dict:
        """The JSON form: ``{step, total}`` and each registered term's entries
        (:meth:`~.terms.Term.record`)."""
        record = {"step": step, "total": self.total}
        for name, term in TERMS.items():
            record.update(term.record(self.terms.get(name, {})))
        return record


class Objective:
    """``objective(pixels) -> (total tensor, Losses)``: the weighted sum of ``terms``."""

    def __init__(self, encoder: VGGEncoder, terms: list[Term],
                 memory_format: torch.memory_format = torch.contiguous_format):
        self.encoder = encoder
        self.terms = terms
        self.memory_format = memory_format

    @classmethod
    def from_images(cls, encoder: VGGEncoder, content: torch.Tensor | None,
                    styles: list[torch.Tensor], content_layers: tuple[str, ...],
                    style_layers: tuple[str, ...],
                    memory_format: torch.memory_format = torch.contiguous_format,
                    style_loss: str = "gram", style_blend: tuple[float, ...] | None = None,
                    regions: RegionPlan | None = None, style_targets: dict | None = None,
                    temporal: Temporal | None = None, tiling: Tiling | None = None,
                    **weights: float) -> Objective:
        """Every registered term the layers and images call for (:class:`~.terms.TermSources`
        says how their targets are made); ``style_targets`` already computed (another
        frame's) are taken as they are; ``weights``: Config's weight fields (default: its
        defaults); with ``tiling``, the targets are made tile by tile."""
        sources = TermSources(encoder, content, styles, content_layers, style_layers,
                              memory_format, style_loss, style_blend, regions, style_targets,
                              temporal, weights, tiling)
        with torch.no_grad():
            terms = [term for kind in TERMS.values() if (term := kind.of(sources)) is not None]
        return cls(encoder, terms, memory_format)

    @property
    def style_targets(self) -> dict:
        """The style term's target per layer (empty: no style term)."""
        return next((term.targets for term in self.terms if isinstance(term, Style)), {})

    def select(self, config) -> Objective:
        """The objective of one :class:`~.config.Config`, sharing this one's targets."""
        return Objective(self.encoder, [selected for term in self.terms
                                        if (selected := term.select(config)) is not None],
                         self.memory_format)

    @property
    def layers(self) -> tuple[str, ...]:
        """Every layer a term reads."""
        return tuple(dict.fromkeys(key for term in self.terms
                                   for key in getattr(term, "targets", ())))

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        return self.terms_of(self.encoder(pixels.contiguous(memory_format=self.memory_format)),
                             pixels)

    def terms_of(self, features: dict[str, torch.Tensor],
                 pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        """The loss of ``pixels`` from its already computed ``features`` (batch of one)."""
        total = pixels.new_zeros((), dtype=torch.float32)
        values = {}
        for term in self.terms:
            values[term.name] = term.values(features, pixels)
            total = total + term.weighted(values[term.name])
        return total, Losses.of(total, values)


class BatchObjective:
    """Objectives sharing one encoder, evaluated from one forward pass over all their images.

    The images go through the network deepest-first, and each leaves the batch after the
    deepest layer its own losses need, so a shallow run costs what it would alone; what the
    batch saves is the per-layer overhead of separate passes.
    """

    def __init__(self, objectives: list[Objective]):
        self.objectives = objectives
        depths = [max((layer(name).index for name in objective.layers), default=0)
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
            evaluated[index] = self.objectives[index].terms_of(mine, pixels[index])
        return evaluated
