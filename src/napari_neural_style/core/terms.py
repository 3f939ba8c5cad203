"""The loss terms, one class each: what a term sums over positions, how it scores that, how
it is recorded.

``total = sum_t w_t mean_k L_t(k)``

over the terms ``t`` a run uses and each term's keys ``k`` (its layers, or its own name for a
term of the pixels).  A term's :meth:`Term.statistic` is a mean over positions (a layer's
feature positions, or the pixels), so a mask, a blend or a tiling combines it; its
:meth:`Term.score` turns the whole image's statistic into the relative error of
:mod:`.losses`.  Every :class:`Term` subclass registers itself in :data:`TERMS` by its name:
the objective builds each run's terms from it (:meth:`Term.of`), and the records
(:meth:`Term.record`), the loss curves and the widgets' status read what it wrote.  Adding a
term is one subclass here (and a ``Config`` field if the user sets its weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import ClassVar

import torch

from .config import Config
from .losses import EPS, STYLE_TARGETS, blend, mean_squared_error, relative, tv_loss
from .regions import RegionPlan
from .tile_grid import Tiling
from .tiled_targets import tiled_maps, tiled_moments
from .vgg import VGGEncoder

#: every term by its name, in the order records list them
TERMS: dict[str, type[Term]] = {}


@dataclass(frozen=True)
class Term:
    """One loss term of a run, weighted by ``weight``, over ``keys``."""

    #: its key in records and curves
    name: ClassVar[str]
    #: the ``Config`` field its weight comes from (None: set by whoever builds it)
    weight_field: ClassVar[str | None] = None

    weight: float

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in vars(cls):  # a kind of term (LayerTerm) names none
            TERMS[cls.name] = cls

    @classmethod
    def of(cls, sources: TermSources) -> Term | None:
        """This term for the runs of ``sources`` (None: they do not use it)."""
        raise NotImplementedError

    @property
    def keys(self) -> tuple[str, ...]:
        """What the term is the mean over: its layers, or its own name."""
        return (self.name,)

    def statistic(self, key: str, features: dict[str, torch.Tensor], pixels: torch.Tensor):
        """The mean over positions that :meth:`score` scores, at ``key``."""
        raise NotImplementedError

    def score(self, key: str, statistic) -> torch.Tensor:
        """The loss at ``key`` from the whole image's :meth:`statistic`."""
        raise NotImplementedError

    def values(self, features: dict[str, torch.Tensor],
               pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{key: L(key)}`` of ``pixels`` from its ``features`` (a batch of one)."""
        return {key: self.score(key, self.statistic(key, features, pixels))
                for key in self.keys}

    def weighted(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """``w mean_k L(k)``: the term's share of the total, from its :meth:`values`."""
        return self.weight * torch.stack(list(values.values())).mean()

    def select(self, config) -> Term | None:
        """The term of one ``config`` of a batch that shares this one's targets: its weight,
        its keys (None: it does not use the term)."""
        if self.weight_field is None:
            return self
        return replace(self, weight=getattr(config, self.weight_field))

    @classmethod
    def record(cls, values: dict[str, float]) -> dict:
        """The term's entries of a loss record (JSON), from its values (empty: unused)."""
        return {cls.name: values.get(cls.name, 0.0)}


@dataclass(frozen=True)
class LayerTerm(Term):
    """A term of feature maps: one target per layer, ``targets``; the mean over layers."""

    #: the ``Config`` field that lists its layers
    layers_field: ClassVar[str]

    targets: dict

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.targets)

    def select(self, config) -> Term | None:
        names = getattr(config, self.layers_field)
        if not names:
            return None
        return replace(self, weight=getattr(config, self.weight_field),
                       targets={name: self.targets[name] for name in names})

    def part(self, key: str, features: torch.Tensor, box: tuple[slice, slice],
             positions: int):
        """The part of :meth:`statistic` at ``key`` that ``features`` make, standing at
        ``box`` of the whole image's map of ``positions`` positions: a tiling's parts sum
        to the whole image's statistic."""
        raise NotImplementedError

    @classmethod
    def record(cls, values: dict[str, float]) -> dict:
        return {cls.name: dict(values)}


@dataclass(frozen=True)
class Content(LayerTerm):
    """``L_content(l) = mean((F_l - P_l)^2) / mean(P_l^2)``: features ``F`` against the
    content's ``P``; the statistic is the mean squared error over positions."""

    name = "content"
    weight_field = "content_weight"
    layers_field = "content_layers"

    @classmethod
    def of(cls, sources: TermSources) -> Content | None:
        if not sources.content_layers:
            return None
        features = sources.content_features
        return cls(sources.weight(cls), {name: features[name].float()
                                         for name in sources.content_layers})

    def statistic(self, key, features, pixels) -> torch.Tensor:
        return mean_squared_error(features[key], self.targets[key])

    def score(self, key, statistic) -> torch.Tensor:
        return relative(statistic, self.targets[key])

    def part(self, key, features, box, positions) -> torch.Tensor:
        share = features.shape[-2] * features.shape[-1] / positions
        return mean_squared_error(features, self.targets[key][..., box[0], box[1]]) * share

    @classmethod
    def record(cls, values: dict[str, float]) -> dict:
        """The mean over layers as ``content``, each layer in ``content_per_layer``."""
        mean = sum(values.values()) / len(values) if values else 0.0
        return {"content": mean, "content_per_layer": dict(values)}


@dataclass(frozen=True)
class Style(LayerTerm):
    """The style statistic of each layer against its target (:class:`~.losses.StyleTarget`:
    the Gram matrix, mean and covariance, or a region's guided ones)."""

    name = "style"
    weight_field = "style_weight"
    layers_field = "style_layers"

    @classmethod
    def of(cls, sources: TermSources) -> Style | None:
        targets = sources.style_targets
        return cls(sources.weight(cls), targets) if targets else None

    def statistic(self, key, features, pixels):
        return self.targets[key].statistic(features[key])

    def score(self, key, statistic) -> torch.Tensor:
        return self.targets[key].score(statistic)

    def part(self, key, features, box, positions):
        return self.targets[key].part(features, box, positions)


@dataclass(frozen=True)
class TotalVariation(Term):
    """``L_tv = mean((x[i+1, j] - x[i, j])^2) + mean((x[i, j+1] - x[i, j])^2)``, only where
    its weight is above 0."""

    name = "tv"
    weight_field = "tv_weight"

    @classmethod
    def of(cls, sources: TermSources) -> TotalVariation | None:
        weight = sources.weight(cls)
        return cls(weight) if weight else None

    def select(self, config) -> TotalVariation | None:
        return replace(self, weight=config.tv_weight) if config.tv_weight else None

    def statistic(self, key, features, pixels) -> torch.Tensor:
        return tv_loss(pixels)

    def score(self, key, statistic) -> torch.Tensor:
        return statistic


@dataclass(frozen=True)
class Temporal(Term):
    """The temporal term of a frame (Ruder et al. 2016): the previous frame's result warped
    onto this one, ``w``, and where that warp is reliable, ``c`` (1 or 0):

    ``L_temporal = sum_p c_p |x_p - w_p|^2 / (3 sum_p c_p)``, weighted by ``weight`` (the
    movie's, :class:`~.frames.FrameSettings`); recorded only where a frame has it.
    """

    name = "temporal"

    warped: torch.Tensor  # (1, 3, H, W)
    reliable: torch.Tensor  # (1, 1, H, W)

    @classmethod
    def of(cls, sources: TermSources) -> Temporal | None:
        return sources.temporal

    def statistic(self, key, features, pixels) -> torch.Tensor:
        squared = (pixels.float() - self.warped).pow(2) * self.reliable
        return squared.sum() / (3 * self.reliable.sum() + EPS)

    def score(self, key, statistic) -> torch.Tensor:
        return statistic

    def to(self, device: torch.device) -> Temporal:
        return replace(self, warped=self.warped.to(device), reliable=self.reliable.to(device))

    @classmethod
    def record(cls, values: dict[str, float]) -> dict:
        return {cls.name: values[cls.name]} if values.get(cls.name) else {}


@dataclass
class TermSources:
    """What terms are built from at one scale: the network, the images on its device, the
    layers (the union over a batch), the style statistic and blend, the regions, the
    weights, and what a frame hands on (style targets already computed, its temporal term).
    The features are computed when a term first asks, under ``torch.no_grad()``."""

    encoder: VGGEncoder
    content: torch.Tensor | None
    styles: list[torch.Tensor]
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    memory_format: torch.memory_format = torch.contiguous_format
    style_loss: str = "gram"
    style_blend: tuple[float, ...] | None = None
    regions: RegionPlan | None = None
    given_style_targets: dict | None = None
    temporal: Temporal | None = None
    weights: dict[str, float] = field(default_factory=dict)
    #: tiles to make the features in, for images larger than memory allows (None: whole)
    tiling: Tiling | None = None

    def weight(self, term: type[Term]) -> float:
        """``term``'s weight: as given, else its ``Config`` field's default."""
        return self.weights.get(term.weight_field, CONFIG_DEFAULTS[term.weight_field])

    def _features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return self.encoder(image.contiguous(memory_format=self.memory_format))

    def _tiled(self, image: torch.Tensor) -> bool:
        return self.tiling is not None and len(self.tiling.tiles(*image.shape[-2:])) > 1

    @cached_property
    def content_features(self) -> dict[str, torch.Tensor]:
        if self._tiled(self.content):
            return tiled_maps(self.encoder, self.content, self.tiling, self.content_layers,
                              self.memory_format)
        return self._features(self.content)

    def _moments(self, index: int, style: torch.Tensor) -> dict[str, dict]:
        """Style ``index``'s moments, ``{layer: {key: Moments}}`` (key None: the whole image;
        with regions, per labelled region of its own), in tiles where it is tiled."""
        tiling = self.tiling if self._tiled(style) else Tiling.for_layers(
            max(style.shape[-2:]), self.style_layers, self.encoder.pooling)
        masks = self.regions.style_layer_masks(index, self.style_layers) if self.regions \
            else None
        return tiled_moments(self.encoder, style, tiling, self.style_layers,
                             self.memory_format, masks)

    @cached_property
    def style_targets(self) -> dict:
        """At each style layer, the statistic ``style_loss`` of the styles' moments blended
        in proportions ``style_blend`` (default: equal), or each style's in its own
        ``regions``; or the targets given."""
        if self.given_style_targets is not None or not self.style_layers:
            return self.given_style_targets or {}
        # one pass each: sizes may differ
        per_style = [self._moments(index, style) for index, style in enumerate(self.styles)]
        if self.regions:
            return self.regions.targets(per_style, self.style_loss)
        target = STYLE_TARGETS[self.style_loss]
        return {name: target(blend([each[name][None] for each in per_style], self.style_blend))
                for name in self.style_layers}


#: the default of each Config field a term reads its weight from
CONFIG_DEFAULTS = {item.name: item.default for item in fields(Config)}
