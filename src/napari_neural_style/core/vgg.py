"""VGG-19 as a named multi-layer encoder: one forward pass gives every tapped layer at once.

The network is built to mirror torchvision's ``vgg19().features`` index for index (so its state
dicts load unchanged), cut after the deepest layer any loss needs, frozen, and fed RGB images
in [0, 1] that it prepares as its weights want them itself (:class:`~.weights.PixelFormat`:
torchvision's ImageNet mean and standard deviation, or Caffe's BGR in 0-255 less the mean).
ReLUs are not in place: a loss tapped at a convolution output would otherwise see it
overwritten.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

import torch
from torch import nn

from .config import POOLINGS
from .vgg_layers import LAYERS, deepest, layer
from .weights import Weights, conv_shapes

T = TypeVar("T")
#: rows and columns to keep of a module's output, by ``features`` index
Crops = dict[int, tuple[slice, slice]]


def _modules(last: int, pooling: str) -> list[nn.Module]:
    """``vgg19().features`` up to index ``last``, convolutions on the meta device (no memory
    until the weights are assigned), ReLUs not in place, the chosen pooling."""
    shapes = conv_shapes()
    modules: list[nn.Module] = []
    for entry in LAYERS[:last + 1]:
        if entry.kind == "conv":
            out_channels, in_channels = shapes[entry.index]
            modules.append(nn.Conv2d(in_channels, out_channels, 3, padding=1, device="meta"))
        elif entry.kind == "relu":
            modules.append(nn.ReLU(inplace=False))
        else:
            modules.append(POOLS[pooling]())
    return modules


class BlurPool(nn.Module):
    """Anti-aliased 2x2 average pooling (Zhang 2019, "Making convolutional networks
    shift-invariant again"): the 2x2 average, then a ``[1, 2, 1]`` blur before every second
    position is kept, in one depthwise filter ``k k^T`` with ``k = [1, 3, 3, 1] / 8`` at
    stride 2.  At the border the filter's weights that fall inside the map are renormalised
    to 1, as plain average pooling needs no padding.  Same output size as ``AvgPool2d(2)``.

    An untrained network's random kernels see pixel-scale patterns; 2x2 averages alias them
    into the deep layers, and synthesis then uses them to meet deep statistics (colour noise
    in deep-layer textures).  Blurred first, they reach the deep layers less: the untrained
    pair's deep textures come closer to their floor on a judge with average pooling
    (docs/performance.md, "Blur pooling").  The backward pass keeps nothing of its own: the
    filter is a constant and its input is the ReLU's output, which is kept anyway.
    """

    KERNEL = (1.0, 3.0, 3.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = x.new_tensor(self.KERNEL)
        kernel = torch.outer(taps, taps) / taps.sum() ** 2
        channels, (height, width) = x.shape[1], x.shape[-2:]
        blurred = nn.functional.conv2d(x, kernel.expand(channels, 1, 4, 4), stride=2,
                                       padding=1, groups=channels)
        inside = nn.functional.conv2d(x.new_ones(1, 1, height, width), kernel[None, None],
                                      stride=2, padding=1)
        return blurred / inside


class _MaxPool(nn.MaxPool2d):
    """VGG's 2x2 max pooling, whose backward pass keeps only its input
    (:class:`_IndexFreeMaxPool`)."""

    def __init__(self):
        super().__init__(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return _IndexFreeMaxPool.apply(x)
        return super().forward(x)


#: the module of each pooling, by name (``auto`` resolved)
POOLS: dict[str, Callable[[], nn.Module]] = {
    "max": _MaxPool, "avg": partial(nn.AvgPool2d, 2, 2), "blur": BlurPool}


class _IndexFreeMaxPool(torch.autograd.Function):
    """2x2 max pooling that finds its maxima again in the backward pass instead of keeping
    them.

    torch's keeps the argmax of every window as int64: four times the size of a bf16 map.
    The input it needs instead is kept anyway: the ReLU before every VGG pool keeps its
    output, the same tensor.  Same gradient, bit for bit.
    """

    WINDOW = (2, 2)

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return nn.functional.max_pool2d(x, _IndexFreeMaxPool.WINDOW)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        window = _IndexFreeMaxPool.WINDOW
        _, indices = nn.functional.max_pool2d(x, window, return_indices=True)
        return torch.ops.aten.max_pool2d_with_indices_backward(
            grad, x, window, window, (0, 0), (1, 1), False, indices)


class VGGEncoder(nn.Module):
    """``encoder(images) -> {layer name: features}`` for the layers given at construction.

    Args:
        weights: resolved convolution weights (:func:`~.weights.resolve_weights`).
        layers: names in either naming; the network is truncated after the deepest one.
        pooling: ``"max"`` (as trained), ``"avg"`` (smoother gradients, Gatys et al.),
            ``"blur"`` (average pooling anti-aliased, :class:`BlurPool`) or
            ``"auto"``: the one ``weights`` work best with (:attr:`~.weights.Weights.pooling`).
        memory_format: of the kernels (``torch.channels_last`` is faster on CPUs); converted
            once in ``weights`` itself (:meth:`~.weights.Weights.in_memory_format`), since
            the network's parameters are the weights' own tensors.  None: as they are.
    """

    def __init__(self, weights: Weights, layers: tuple[str, ...] | list[str],
                 pooling: str = "max", memory_format: torch.memory_format | None = None):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        #: the pooling the network runs with (``auto`` resolved)
        self.pooling = weights.pooling if pooling == "auto" else pooling
        self.layer_names = tuple(layer(name).name for name in layers)
        last = deepest(self.layer_names).index
        #: one ``vgg19().features`` per network of the weights (an untrained ensemble has
        #: several); their taps are concatenated along the channels
        self.bodies = nn.ModuleList(nn.Sequential(*_modules(last, self.pooling))
                                    for _ in weights.members)
        # assign: the parameters are the weights' own tensors, not a copy of them, so every
        # encoder built from one Weights shares its memory (or its memory-mapped file)
        for body, state in zip(self.bodies, weights.in_memory_format(memory_format),
                               strict=True):
            body.load_state_dict({key: value for key, value in state.items()
                                  if int(key.split(".")[0]) <= last}, assign=True)
        #: ``features`` indices per block, each ending with its pooling (the last may not)
        self.blocks: list[list[int]] = [[]]
        for entry in LAYERS[:last + 1]:
            self.blocks[-1].append(entry.index)
            if entry.kind == "pool" and entry.index < last:
                self.blocks.append([])
        self.taps: dict[int, list[str]] = {}
        for name in self.layer_names:
            self.taps.setdefault(layer(name).index, []).append(name)
        #: per block, its tapped ``features`` indices
        self.tapped = [[index for index in block if index in self.taps] for block in self.blocks]
        self.pixels = weights.pixels  # how the weights want their input
        self.register_buffer("mean", torch.tensor(self.pixels.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(self.pixels.std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        #: autocast dtype for the convolutions (None: float32); see device.resolve_precision
        self.autocast: torch.dtype | None = None
        #: keep only each block's input and taps for the backward pass and recompute the rest
        #: then (``Config.memory``): less memory, one more forward pass per step
        self.recompute = False

    def forward(self, images: torch.Tensor, depths: list[int] | None = None,
                crops: Crops | None = None) -> dict[str, torch.Tensor]:
        """Tapped features of ``images``.  With ``depths`` (one ``features`` index per image,
        deepest first), image ``i`` leaves the batch after layer ``depths[i]``: a tap then
        holds only the images still in the batch there.  With ``crops`` (rows and columns
        by ``features`` index, :meth:`~.tile_grid.Tiling.crops`), that module's output is
        cut to them before the next runs."""
        prepared = self.prepared(images)
        recompute = self.recompute and torch.is_grad_enabled()
        taps: list[dict[str, torch.Tensor]] = []  # per network
        for body in self.bodies:
            x, own = prepared, {}
            for block, tapped in zip(self.blocks, self.tapped, strict=True):
                run = partial(self._block, body, block, depths, crops or {})
                outputs = _recomputed(run, x) if recompute else run(x)
                x = outputs[-1]
                # the taps come first; the output may follow
                for index, tap in zip(tapped, outputs, strict=False):
                    own.update(dict.fromkeys(self.taps[index], tap))
            taps.append(own)
        return self._joined(taps)

    def reduced(self, images: torch.Tensor, reduce: Callable[[str, torch.Tensor], T],
                crops: Crops | None = None) -> dict[str, T]:
        """``{name: reduce(name, features)}`` for each tapped layer, in network order, without
        gradients: each tap is reduced as soon as it is made and let go before the next
        layer runs, so the pass holds one layer's maps at a time (a full ``forward`` holds
        every tap at once).  ``crops`` as :meth:`forward`'s.

        ReLUs run in place here: ``reduce`` must not keep the features it is given.
        """
        found: dict[str, T] = {}
        with torch.no_grad(), self._autocast(images):
            prepared = self.prepared(images)
            streams = [self._stream(body, prepared, crops or {}) for body in self.bodies]
            del prepared  # each stream lets go of it after its first layer
            # not zip: it keeps its last tuple, and with it a tap, while the next layers run
            while (taps := [next(stream, None) for stream in streams])[0] is not None:
                name = taps[0][0]
                found[name] = reduce(name, _concatenated([features for _, features in taps]))
                del taps
        return found

    def _stream(self, body: nn.Sequential, x: torch.Tensor,
                crops: Crops) -> Iterator[tuple[str, torch.Tensor]]:
        for index, module in enumerate(body):
            x = torch.relu_(x) if isinstance(module, nn.ReLU) else cropped(module(x),
                                                                           crops.get(index))
            for name in self.taps.get(index, ()):
                yield name, x

    @staticmethod
    def _joined(taps: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Each tap of every network, concatenated along the channels."""
        return {name: _concatenated([each[name] for each in taps]) for name in taps[0]}

    def prepared(self, images: torch.Tensor) -> torch.Tensor:
        """RGB ``images`` in [0, 1] as the weights want them: ``(rgb[channels] * peak -
        mean) / std`` (:class:`~.weights.PixelFormat`)."""
        if self.pixels.channels != (0, 1, 2):
            images = images[:, list(self.pixels.channels)]
        if self.pixels.peak != 1:
            images = images * self.pixels.peak
        return (images - self.mean) / self.std

    def _autocast(self, images: torch.Tensor) -> torch.autocast:
        return torch.autocast(images.device.type, dtype=self.autocast or torch.float32,
                              enabled=self.autocast is not None)

    def _block(self, body: nn.Sequential, indices: list[int], depths: list[int] | None,
               crops: Crops, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The block's taps in network order, then its output unless that is the last tap."""
        found = []
        with self._autocast(x):
            for index in indices:
                if depths is not None:
                    x = x[:sum(depth >= index for depth in depths)]
                x = cropped(body[index](x), crops.get(index))
                if index in self.taps:
                    found.append(x)
        return tuple(found) if indices[-1] in self.taps else (*found, x)


def _recomputed(run: Callable[[torch.Tensor], tuple[torch.Tensor, ...]],
                x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``run(x)`` keeping nothing for the backward pass but ``x``: the first time the backward
    pass asks for a tensor ``run`` saved, ``run`` runs again and each saved tensor is handed
    over once (checkpointing, Chen et al. 2016, as ``torch.utils.checkpoint`` without
    reentrancy).

    Written here because ``torch.utils.checkpoint``'s first call imports ``torch._dynamo``
    (see :mod:`.solvers`).  ``run`` enters its own autocast: the backward pass runs
    outside the forward pass's.
    """
    saved: list[torch.Tensor | None] = []  # by the order run saves them in

    def unpack(position: int) -> torch.Tensor:
        if not saved:
            with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(
                    lambda tensor: saved.append(tensor) or len(saved) - 1, lambda at: at):
                run(x.detach().requires_grad_(x.requires_grad))
        tensor, saved[position] = saved[position], None  # handed over, not kept
        return tensor

    positions = itertools.count()
    with torch.autograd.graph.saved_tensors_hooks(lambda _: next(positions), unpack):
        return run(x)


def cropped(features: torch.Tensor, box: tuple[slice, slice] | None) -> torch.Tensor:
    """``features[..., rows, cols]`` (``box``; None: all), its gradient laid out as
    ``features`` are (:class:`Cropped`)."""
    if box is None:
        return features
    if features.requires_grad and torch.is_grad_enabled():
        return Cropped.apply(features, *box)
    return features[..., box[0], box[1]]


class Cropped(torch.autograd.Function):
    """``features[..., rows, cols]``, whose gradient comes back laid out as ``features``
    are: autograd's own slicing hands it back in the default layout, and using that beside
    the layer's channels_last gradients on the CPU is a strided copy as slow as a
    convolution's backward."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, rows: slice, cols: slice) -> torch.Tensor:
        ctx.layout = features.shape, features.stride(), features.dtype, features.device
        ctx.box = rows, cols
        return features[..., rows, cols]

    @staticmethod
    def backward(ctx, upstream: torch.Tensor) -> tuple:
        shape, stride, dtype, device = ctx.layout
        gradient = torch.empty_strided(shape, stride, dtype=dtype, device=device).zero_()
        gradient[..., ctx.box[0], ctx.box[1]] = upstream
        return gradient, None, None


def _concatenated(features: list[torch.Tensor]) -> torch.Tensor:
    """One network's features as they are; several networks' side by side (channels)."""
    if len(features) == 1:
        return features[0]
    return torch.cat(features, dim=1)
