"""A step tile by tile, exactly: the loss and gradient of the whole image, holding one tile's
feature maps at a time.

Every feature term is a mean over positions (:meth:`~.terms.Term.statistic`), so the whole
image's statistic is the sum of the parts its tiles make (:meth:`~.terms.LayerTerm.part`).
A tile's interior is read with a halo of half the receptive field of the deepest layer used,
and tiles stand on the network's stride grid, so the features at a tile's interior positions
are the whole image's (at the image's border the tile pads as the whole image does).  One
step is two passes over the tiles:

1. forward only: each term's statistic, summed over the interiors of tiles twice as wide
   (:meth:`~.tile_grid.Tiling.forward_only`); the losses, and their gradients ``dL/dS``
   with respect to the statistics, follow from the sums;
2. forward and backward: each tile's surrogate ``sum_S <dL/dS, S_tile>`` back to its input,
   whose gradient (halo included) adds into the image's.

The sum is the untiled gradient, up to the order of the sums.  Terms of the pixels (TV, a
movie's temporal term) are computed on the whole image, which is in memory anyway.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .objective import Losses, Objective
from .terms import LayerTerm
from .tile_grid import Tile, Tiling, empty
from .tiled_targets import read
from .vgg import cropped


class StepStopped(Exception):
    """Stop was heard between two tiles of a step: the step is not taken."""


class TiledObjective:
    """``objective`` evaluated on ``tiling``'s tiles: the same ``(total, Losses)`` as the
    objective on the whole image, the total's gradient the whole image's.  With ``stop``
    (a ``threading.Event``), a step set to stop ends at the next tile (:class:`StepStopped`),
    before the image moves."""

    def __init__(self, objective: Objective, tiling: Tiling, stop=None):
        self.objective = objective
        self.tiling = tiling
        self.stop = stop
        #: where the network runs (a tile read of an image elsewhere is moved here)
        self.device = objective.encoder.mean.device
        self.layer_terms = [term for term in objective.terms if isinstance(term, LayerTerm)]
        self.pixel_terms = [term for term in objective.terms
                            if not isinstance(term, LayerTerm)]
        #: each (term, key) a statistic is made for, in the order of the terms and their keys
        self.keyed = [(term, key) for term in self.layer_terms for key in term.keys]

    def __call__(self, pixels: torch.Tensor) -> tuple[torch.Tensor, Losses]:
        image = pixels.detach()
        sums = [None] * len(self.keyed)
        for parts in self._map("tile_parts", image,
                               self.tiling.forward_only().tiles(*image.shape[-2:])):
            sums = [_add(a, b) for a, b in zip(sums, parts, strict=True)]
        statistics = [_leaf(statistic) for statistic in sums]
        with torch.enable_grad():
            feature_total, values = self._scores(statistics, pixels)
        total = feature_total.detach()
        if pixels.requires_grad and torch.is_grad_enabled() and self.layer_terms:
            leaves = [_leaves(statistic) for statistic in statistics]
            flat = torch.autograd.grad(feature_total, [leaf for each in leaves for leaf in each],
                                       allow_unused=True)
            found = iter(flat)
            slopes = [[next(found) for _ in each] for each in leaves]
            gradient = self._gradient(image, self.tiling.tiles(*image.shape[-2:]), slopes)
            total = _KnownGradient.apply(total, pixels, gradient)
        for term in self.pixel_terms:
            values[term.name] = term.values({}, pixels)
            total = total + term.weighted(values[term.name])
        return total, Losses.of(total, values)

    def _map(self, work: str, image: torch.Tensor, tiles: list[Tile], *args) -> Iterator:
        """``self.<work>(image, tile, *args)`` for each of ``tiles``, in their order (the
        sums' order, so the result does not depend on where the tiles ran)."""
        for tile in tiles:
            self.check_stop()
            yield getattr(self, work)(image, tile, *args)

    def check_stop(self) -> None:
        """Raise :class:`StepStopped` if Stop was asked for."""
        if self.stop is not None and self.stop.is_set():
            raise StepStopped

    def tile_parts(self, image: torch.Tensor, tile: Tile) -> list:
        """Pass 1 on one tile: each statistic's part from its interior, without gradients."""
        return self._forward_parts(read(image, tile).to(self.device), tile, image)

    def tile_gradient(self, image: torch.Tensor, tile: Tile,
                      slopes: list[list[torch.Tensor | None]]) -> torch.Tensor | None:
        """Pass 2 on one tile: the gradient of its surrogate ``<dL/dS, S_tile>`` with respect
        to its input, halo included (None: no statistic has a position in it)."""
        with torch.enable_grad():
            crop = read(image, tile).to(self.device, copy=True).requires_grad_(True)
            parts = self._parts(self._features(crop, tile, image), tile, image)
            surrogate = sum((slope * leaf).sum()
                            for part, own in zip(parts, slopes, strict=True)
                            if part is not None
                            for slope, leaf in zip(own, _leaves(part), strict=True)
                            if slope is not None)
            if not isinstance(surrogate, torch.Tensor):
                return None
            return torch.autograd.grad(surrogate, crop)[0]

    def _features(self, crop: torch.Tensor, tile: Tile,
                  image: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.objective.encoder(crop.contiguous(memory_format=self.objective.memory_format),
                                      crops=self.tiling.crops(tile, *image.shape[-2:]))

    def _forward_parts(self, crop: torch.Tensor, tile: Tile, image: torch.Tensor) -> list:
        """:meth:`_parts` without gradients, in a pass that holds one layer's maps at a time."""
        parts: dict[int, object] = {}
        self.objective.encoder.reduced(
            crop.contiguous(memory_format=self.objective.memory_format),
            lambda name, features: parts.update(self._layer_parts(name, features, tile, image)),
            self.tiling.crops(tile, *image.shape[-2:]))
        return [parts[index] for index in range(len(self.keyed))]

    def _parts(self, features: dict[str, torch.Tensor], tile: Tile,
               image: torch.Tensor) -> list:
        """Each (term, key)'s part from ``tile``, in the order of :attr:`keyed`."""
        parts: dict[int, object] = {}
        for name, each in features.items():
            parts.update(self._layer_parts(name, each, tile, image))
        return [parts[index] for index in range(len(self.keyed))]

    def _layer_parts(self, name: str, features: torch.Tensor, tile: Tile,
                     image: torch.Tensor) -> dict[int, object]:
        """The parts the terms take from layer ``name``'s features on ``tile``, by their
        index in :attr:`keyed` (None where the interior has no position at that layer: the
        last, thin row or column of tiles at a deep layer)."""
        parts = {}
        for index, (term, key) in enumerate(self.keyed):
            if key == name:
                own, whole, positions = self.tiling.box(tile, key, *image.shape[-2:])
                parts[index] = None if empty(own) else term.part(
                    key, cropped(features, own), whole, positions)
        return parts

    def _scores(self, statistics: list, pixels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """The feature terms' weighted sum and values from the whole image's statistics."""
        total = pixels.new_zeros((), dtype=torch.float32)
        values, found = {}, iter(statistics)
        for term in self.layer_terms:
            values[term.name] = {key: term.score(key, next(found)) for key in term.keys}
            total = total + term.weighted(values[term.name])
        return total, values

    def _gradient(self, image: torch.Tensor, tiles: list[Tile],
                  slopes: list[list[torch.Tensor | None]]) -> torch.Tensor:
        """The image's gradient: the tiles' (:meth:`tile_gradient`) added where they read
        (``slopes``: ``dL/dS`` for each tensor of each statistic)."""
        gradient = torch.zeros_like(image, dtype=torch.float32)
        for tile, found in zip(tiles, self._map("tile_gradient", image, tiles, slopes),
                               strict=True):
            if found is not None:
                gradient[..., tile.input_rows, tile.input_cols] += found.to(gradient.device)
        return gradient.to(image.dtype)


class _KnownGradient(torch.autograd.Function):
    """``total``, whose gradient with respect to ``pixels`` is ``gradient``, handed back as it
    is: no image-sized product or copy of it, which at these sizes is memory."""

    @staticmethod
    def forward(ctx, total: torch.Tensor, pixels: torch.Tensor,
                gradient: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(gradient)
        return total.clone()

    @staticmethod
    def backward(ctx, upstream: torch.Tensor) -> tuple:
        (gradient,) = ctx.saved_tensors
        return None, gradient if bool(upstream == 1) else gradient * upstream, None


def _leaves(statistic) -> list[torch.Tensor]:
    """The tensors of a statistic (a tensor, moments, or a tuple or list of them), in order."""
    if isinstance(statistic, torch.Tensor):
        return [statistic]
    if isinstance(statistic, (tuple, list)):
        return [leaf for each in statistic for leaf in _leaves(each)]
    return [leaf for value in vars(statistic).values() for leaf in _leaves(value)]


def _rebuilt(statistic, make):
    """``statistic`` with each tensor replaced by ``make(tensor)``."""
    if isinstance(statistic, torch.Tensor):
        return make(statistic)
    if isinstance(statistic, (tuple, list)):
        return type(statistic)(_rebuilt(each, make) for each in statistic)
    return type(statistic)(**{name: _rebuilt(value, make)
                              for name, value in vars(statistic).items()})


def moved(value, device):
    """``value`` (a statistic's part, a gradient, a list of them, or None) on ``device``."""
    if value is None:
        return None
    if isinstance(value, list):
        return [moved(each, device) for each in value]
    return _rebuilt(value, lambda leaf: leaf.to(device))


def _add(first, second):
    """The sum of two statistics of the same shape (None: nothing)."""
    if first is None or second is None:
        return second if first is None else first
    found = iter(_leaves(second))
    return _rebuilt(first, lambda leaf: leaf + next(found))


def _leaf(statistic):
    """``statistic`` as fresh leaves that require their gradient."""
    return _rebuilt(statistic, lambda leaf: leaf.detach().requires_grad_(True))


class TiledBatch:
    """Objectives evaluated image by image, each tile by tile (:class:`TiledObjective`): what
    :class:`~.objective.BatchObjective` is for untiled images; with ``client``, each step's
    tiles run on its dask cluster (:mod:`.cluster_tiles`); ``stop`` as
    :class:`TiledObjective`'s."""

    def __init__(self, objectives: list[Objective], tiling: Tiling, client=None, stop=None):
        if client is None:
            self.tiled = [TiledObjective(objective, tiling, stop) for objective in objectives]
        else:  # each step's tiles as tasks on a dask cluster
            from .cluster_tiles import ClusterTiledObjective

            self.tiled = [ClusterTiledObjective(objective, tiling, client, stop)
                          for objective in objectives]

    def __call__(self, pixels: list[torch.Tensor]) -> list[tuple[torch.Tensor, Losses]]:
        return [tiled(image) for tiled, image in zip(self.tiled, pixels, strict=True)]
