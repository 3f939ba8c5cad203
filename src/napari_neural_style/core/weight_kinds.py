"""The kinds of weights a run can ask for, in one table: ImageNet's, a file, and the
untrained networks (``random[:SEED]`` and its variants).  Pure Python (no torch): the spec,
the command line's help and the widgets' choices are all read from here."""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import COARSEST

#: ... but the untrained network starting from noise halves down to this: its deep layers
#: find their structure only coarse to fine
COARSEST_UNTRAINED_FROM_NOISE = 32


@dataclass(frozen=True)
class RandomKind:
    """An untrained network (``weights`` spec before ``:SEED``): how its kernels are drawn
    (core/weights.py), its pooling, what the optimizer steps in (core/parametrization.py),
    how many VGG-19s run side by side (their features concatenated, core/vgg.py), the
    coarsest scale ``scales="auto"`` goes down to when a run starts from noise, its label
    in results, and how the widgets and ``--help`` describe it."""

    init: str  # "orthogonal" or "kaiming"
    pooling: str
    parametrization: str
    networks: int
    coarsest_from_noise: int
    label: str
    description: str


#: every untrained network by its spec; ``random`` synthesises best, the others reproduce
#: earlier releases' results
RANDOM_KINDS = {
    "random": RandomKind("orthogonal", "avg", "decorrelated", 2,
                         COARSEST_UNTRAINED_FROM_NOISE, "random",
                         "untrained (random weights)"),
    "random-single": RandomKind("orthogonal", "avg", "decorrelated", 1,
                                COARSEST_UNTRAINED_FROM_NOISE, "random, one network",
                                "untrained, one network (faster)"),
    "random-kaiming": RandomKind("kaiming", "max", "rgb", 1, COARSEST, "random, Kaiming",
                                 "untrained, Kaiming kernels and max pooling"),
}

#: the trained weights, beside the untrained kinds: ``(spec, description)``
IMAGENET = ("imagenet", "ImageNet (torchvision VGG-19)")

#: every kind, as the widgets offer it (``file``: a file picker): ``(description, spec)``
WEIGHT_CHOICES = [(IMAGENET[1], IMAGENET[0]), ("weights file...", "file"),
                  *((kind.description, spec) for spec, kind in RANDOM_KINDS.items())]

#: what ``weights=`` and ``--weights`` take
WEIGHTS_HELP = "; ".join([f"{IMAGENET[0]}: {IMAGENET[1]}",
                          *(f"{spec}[:SEED]: {kind.description}" + (
                              f", {kind.networks} networks side by side"
                              if kind.networks > 1 else "")
                            for spec, kind in RANDOM_KINDS.items()),
                          "or the path of a .pth file"])


def random_kind(weights: str) -> RandomKind | None:
    """The untrained network a ``weights`` spec names (None: trained weights)."""
    return RANDOM_KINDS.get(str(weights).lower().partition(":")[0])
