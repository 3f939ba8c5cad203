"""The images of a run: :class:`RunInputs` as the caller gives them (numpy arrays), and
:class:`CheckedInputs`, the same checked against the configs that read them and converted
to tensors at their working sizes, each refused with a one-line message when it is missing,
unwanted or malformed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .errors import InputError, setting
from .estimate import check_fits
from .geometry import own_style_scales, working_shape
from .images import to_tensor
from .regions import checked_labels, checked_style_labels

#: one style image, or several (blended: ``Config.style_blend``)
Styles = np.ndarray | Sequence[np.ndarray] | None


@dataclass(frozen=True)
class RunInputs:
    """What a run reads: the ``content``, the ``style`` (one image or several), the
    ``init_image`` ``init="image"`` starts from, the ``labels`` over the content that
    ``Config.regions`` refers to, and per style image its own label image
    (``style_labels``, None where it has none)."""

    content: np.ndarray | None = None
    style: Styles = None
    init_image: np.ndarray | None = None
    labels: np.ndarray | None = None
    style_labels: list | None = None

    @property
    def styles(self) -> list[np.ndarray]:
        """The style images as a list (empty: none given)."""
        if self.style is None:
            return []
        return [self.style] if isinstance(self.style, np.ndarray) else list(self.style)


def with_own_style_sizes(configs: list[Config], inputs: RunInputs) -> list[Config]:
    """``configs`` with ``style_size="own"`` resolved against ``inputs``' images
    (:func:`~.geometry.own_style_scales`): the record says what scale it came to."""
    if inputs.content is None or not inputs.styles:
        return list(configs)
    # a malformed image is refused when checked, just after
    sides = [max(np.shape(image)[:2], default=1) for image in (inputs.content, *inputs.styles)]
    return [own_style_scales(config, sides[0], sides[1:]) for config in configs]


@dataclass(frozen=True)
class CheckedInputs:
    """:class:`RunInputs` as tensors at their working sizes (the labels as checked arrays)."""

    content: torch.Tensor | None
    styles: list[torch.Tensor]
    init_image: torch.Tensor | None
    labels: np.ndarray | None
    style_labels: list[np.ndarray | None]

    @classmethod
    def of(cls, configs: list[Config], inputs: RunInputs, min_side: int) -> CheckedInputs:
        """``inputs`` checked against ``configs`` (a batch sharing every input setting), each
        image at least ``min_side`` px where the deepest layer needs it."""
        source = inputs.content if inputs.content is not None else next(iter(inputs.styles),
                                                                         None)
        if source is not None and np.ndim(source) >= 2:  # else refused just below
            check_fits(configs[0], *working_shape(*np.shape(source)[:2], configs[0].size))
        content = _image(configs, inputs.content, "content",
                         any(config.needs_content for config in configs), min_side)
        styles = _styles(configs, inputs.styles,
                         any(config.needs_style for config in configs), min_side)
        return cls(content, styles, _start_image(configs, inputs.init_image),
                   _labels(configs[0], inputs.labels, inputs.content, len(styles)),
                   _style_labels(configs[0], inputs.style_labels, styles))


def _image(configs: list[Config], image: np.ndarray | None, role: str, needed: bool,
           min_side: int, index: int = 0, name: str = "") -> torch.Tensor | None:
    """The ``role`` image (style number ``index``) at its working size
    (:meth:`Config.working_size`), called ``name`` in messages."""
    if not needed:
        return None
    if image is None:
        tasks = "/".join(dict.fromkeys(config.task for config in configs))
        raise InputError(f"{tasks} needs a {role} image")
    first = configs[0]
    size = first.working_size(role, index=index)
    name = name or f"{role} image"
    if size != first.size:
        name += f" (at style scale {first.style_factor(index):g})"
    return to_tensor(image, size, name, min_side)


def _styles(configs: list[Config], images: list[np.ndarray], needed: bool,
            min_side: int) -> list[torch.Tensor]:
    """:func:`_image` for each style image given."""
    if not needed:
        return []
    for config in configs:
        config.check_styles(len(images) or 1)
    return [_image(configs, image, "style", needed, min_side, index,
                   "style image" + (f" {index + 1}" if len(images) > 1 else ""))
            for index, image in enumerate(images or [None])]


def _start_image(configs: list[Config], image: np.ndarray | None) -> torch.Tensor | None:
    """``init_image`` exactly when some config starts from it (``init="image"``)."""
    wanted = any(config.init == "image" for config in configs)
    if wanted and image is None:
        raise InputError(f"{setting('init', 'image')} needs the image to start from: "
                         "give init_image (the command line: --init PATH)")
    if image is not None and not wanted:
        raise InputError(f"an image to start from was given, but init is "
                         f"'{configs[0].init}'; set {setting('init', 'image')} to "
                         "start from it, or leave the image out")
    return None if image is None else to_tensor(image, configs[0].size, "start image")


def _labels(config: Config, labels, content: np.ndarray | None,
            styles: int) -> np.ndarray | None:
    """``labels``, checked (:func:`~.regions.checked_labels`), exactly when the config has
    regions."""
    if config.regions and labels is None:
        raise InputError("regions need the label image they refer to: give labels (the "
                         "command line: --regions LABELS)")
    if labels is not None and not config.regions:
        raise InputError("a label image was given, but no region: map its labels to "
                         "styles (regions), or leave it out")
    return None if labels is None else checked_labels(labels, np.shape(content),
                                                      config.regions, styles)


def _style_labels(config: Config, labels: list | None,
                  styles: list[torch.Tensor]) -> list[np.ndarray | None]:
    """``labels`` checked (:func:`~.regions.checked_style_labels`), only with regions."""
    if not labels:
        return []
    if not config.regions:
        raise InputError("style label images were given, but no region: map labels to "
                         "styles (regions), or leave them out")
    return checked_style_labels(list(labels), [tuple(style.shape[-2:]) for style in styles],
                                config.regions)
