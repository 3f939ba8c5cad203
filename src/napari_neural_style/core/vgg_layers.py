"""The VGG-19 layer table: the one place that knows layer names.

Two namings are accepted everywhere: the sequential ``conv_1`` .. ``conv_16`` of the PyTorch
tutorial (a tap *after the convolution*, before its ReLU) and the block names of the paper,
``convB_D``, ``reluB_D`` and ``poolB``.  Every name resolves to an index into torchvision's
``vgg19().features``; the tap is that module's output.

This module imports neither torch nor numpy, so the napari widget can list layer names without
paying for torch at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LayerNameError

#: Convolutions per block of VGG-19.
BLOCK_SIZES = (2, 2, 4, 4, 4)
#: Channels of each block's convolutions.
BLOCK_CHANNELS = (64, 128, 256, 512, 512)


@dataclass(frozen=True)
class Layer:
    """One tap point in ``vgg19().features``."""

    name: str  # canonical name: conv_N, reluB_D or poolB
    block_name: str  # paper name: convB_D, reluB_D or poolB
    index: int  # index into torchvision's vgg19().features
    kind: str  # "conv", "relu" or "pool"
    pools_before: int  # how many poolings (each halving the grid) came before this tap

    @property
    def label(self) -> str:
        """Both names, as the UI shows them: ``conv_9 (conv4_1)``."""
        return self.name if self.name == self.block_name else f"{self.name} ({self.block_name})"


def _build_table() -> tuple[Layer, ...]:
    table: list[Layer] = []
    index = 0
    conv_number = 0
    for block, size in enumerate(BLOCK_SIZES, start=1):
        for position in range(1, size + 1):
            conv_number += 1
            suffix = f"{block}_{position}"
            table.append(Layer(f"conv_{conv_number}", f"conv{suffix}", index, "conv", block - 1))
            table.append(Layer(f"relu{suffix}", f"relu{suffix}", index + 1, "relu", block - 1))
            index += 2
        table.append(Layer(f"pool{block}", f"pool{block}", index, "pool", block))
        index += 1
    return tuple(table)


LAYERS: tuple[Layer, ...] = _build_table()
CONV_LAYERS: tuple[Layer, ...] = tuple(layer for layer in LAYERS if layer.kind == "conv")
_BY_NAME: dict[str, Layer] = {
    **{layer.name: layer for layer in LAYERS},
    **{layer.block_name: layer for layer in LAYERS},
}


def valid_names() -> str:
    """A short human list of the accepted names."""
    return "conv_1..conv_16, conv1_1..conv5_4, relu1_1..relu5_4, pool1..pool5"


def layer(name: str) -> Layer:
    """Look a layer up by either name (case and surrounding spaces ignored)."""
    key = name.strip().lower()
    try:
        return _BY_NAME[key]
    except KeyError:
        raise LayerNameError(
            f"unknown VGG-19 layer {name!r}; valid names: {valid_names()}"
        ) from None


def parse_layers(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Canonical names from ``"conv_1,conv_2"``, ``"conv_5-8"``, ``"all"`` or a list of names.

    A range ``conv_A-B`` covers the sequential convolutions A..B; ``all`` is conv_1..conv_16.
    Duplicates are dropped, order kept.
    """
    items = spec.split(",") if isinstance(spec, str) else \
        list(spec) if isinstance(spec, list | tuple) else [spec]
    if not all(isinstance(item, str) for item in items):
        raise LayerNameError(f"layers are names such as conv_9 or conv4_1, not {spec!r}")
    names: list[str] = []
    for item in (item.strip() for item in items):
        if not item:
            continue
        if item.lower() == "all":
            names.extend(conv.name for conv in CONV_LAYERS)
        elif "-" in item:
            names.extend(_conv_range(item))
        else:
            names.append(layer(item).name)
    if not names:
        raise LayerNameError(f"no layer given; valid names: {valid_names()}")
    return tuple(dict.fromkeys(names))


def _conv_range(item: str) -> list[str]:
    first, _, last = item.partition("-")
    start = layer(first)
    end = layer(last if last.startswith(("conv", "relu", "pool")) else f"conv_{last}")
    if start.kind != "conv" or end.kind != "conv" or end.index < start.index:
        raise LayerNameError(f"bad layer range {item!r}: write it as conv_A-B with A <= B, "
                             f"e.g. conv_5-8; valid names: {valid_names()}")
    return [conv.name for conv in CONV_LAYERS if start.index <= conv.index <= end.index]


def after_relu(name: str) -> str:
    """The ReLU tap of a convolution (``conv_9`` -> ``relu4_1``); other names unchanged."""
    entry = layer(name)
    if entry.kind != "conv":
        return entry.name
    return next(candidate.name for candidate in LAYERS if candidate.index == entry.index + 1)


def channel_axis_label(name: str) -> str:
    """Axis label for a feature-map stack, e.g. ``channel of conv_9 (conv4_1)``."""
    return f"channel of {layer(name).label}"


def downsampling(name: str) -> int:
    """How many input pixels one feature-map pixel of layer ``name`` spans, per axis."""
    return 2 ** layer(name).pools_before


def deepest(names: tuple[str, ...] | list[str]) -> Layer:
    """The layer furthest into the network among ``names``."""
    return max((layer(name) for name in names), key=lambda entry: entry.index)


def min_image_side(names: tuple[str, ...] | list[str]) -> int:
    """Smallest image side that still leaves a 2x2 feature map at the deepest named layer."""
    return 2 * 2 ** deepest(names).pools_before
