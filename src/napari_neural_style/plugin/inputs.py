"""What a run reads from napari: the 2D image a layer shows now, as shown, and where it sits.

n-D layers give the slice shown by ``viewer.dims``; multiscale layers the coarsest level that
still covers the working size; a lazy (dask, zarr) image twice the working size or more is
first averaged over blocks chunk by chunk, so the whole layer never enters memory.  The
values are taken as displayed: the layer's contrast limits and gamma applied, and a
single-channel layer's colormap (or grey), so a 12-bit image shown with limits (0, 4095)
reaches the network as bright as it looks.  The copy is taken on the main thread, so the
worker never touches a layer, and the layer is never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.config import MIN_SOURCE_SIDE
from ..core.errors import InputError
from ..core.geometry import upsampling, working_shape


@dataclass(frozen=True)
class Snapshot:
    """A copy of one layer's displayed 2D image, with its placement in world coordinates."""

    data: np.ndarray  # (H, W) or (H, W, C), a copy
    name: str  # the layer's name when the run started
    note: str  # how the 2D image was taken ("" for a plain 2D layer)
    display: str  # how its values were mapped to what the network sees
    scale: tuple[float, float]  # world units per pixel of ``data`` (y, x)
    translate: tuple[float, float]  # world position of data[0, 0] (y, x)
    levels: int = 1  # how many levels the layer has (multiscale layers)

    def placement(self, size: int, downsampling: int = 1,
                  stacked: bool = False) -> dict[str, tuple[float, ...]]:
        """``scale`` and ``translate`` that lay an image computed at working ``size`` (and
        ``downsampling`` times coarser still, for a feature map) over this image; ``stacked``
        adds a leading axis of unit scale (channels, sweep values)."""
        height, width = self.data.shape[:2]
        out_height, out_width = working_shape(height, width, size)
        factors = (height / out_height * downsampling, width / out_width * downsampling)
        lead = (1.0,) if stacked else ()
        return {
            "scale": (*lead, *(s * f for s, f in zip(self.scale, factors, strict=True))),
            "translate": (*(0.0 for _ in lead),
                          *(t + s * (f - 1) / 2 for t, s, f in
                            zip(self.translate, self.scale, factors, strict=True))),
        }


#: how a single-channel layer's values become colours
COLOURS = (("as shown (contrast, gamma, colormap)", "colormap"),
           ("as shown, in grey (contrast, gamma)", "grey"))


def as_displayed(image: np.ndarray, layer, colours: str = "colormap") -> tuple[np.ndarray, str]:
    """``image`` (a slice of ``layer``) as napari shows it: float32 in [0, 1], contrast limits
    and gamma applied, and for a single-channel layer its colormap (``colours="colormap"``)
    or grey; with a description of what was done, for the provenance."""
    low, high = (float(limit) for limit in layer.contrast_limits)
    values = np.clip((image.astype(np.float32) - low) / ((high - low) or 1.0), 0, 1)
    values = values ** np.float32(layer.gamma)
    done = f"contrast limits ({low:g}, {high:g}), gamma {layer.gamma:g}"
    if getattr(layer, "rgb", False):
        return values, done
    if colours == "colormap":
        mapped = layer.colormap.map(values.ravel())[:, :3].reshape(*values.shape, 3)
        return mapped.astype(np.float32), f"{done}, colormap {layer.colormap.name}"
    return values, f"{done}, grey"


def snapshot(layer, world_point: tuple[float, ...], size: int,
             colours: str = "colormap") -> Snapshot:
    """Copy the 2D image ``layer`` shows at ``world_point`` (``viewer.dims.point``), as shown
    (see :func:`as_displayed`); ``colours="labels"``: a Labels layer's values as they are."""
    rgb = bool(getattr(layer, "rgb", False))
    levels = list(layer.data) if layer.multiscale else [layer.data]
    level_index = _level_for_size(levels, rgb, size)
    data = levels[level_index]
    spatial_ndim = data.ndim - (1 if rgb else 0)
    if spatial_ndim < 2:
        raise InputError(f"layer {layer.name!r} is {spatial_ndim}D; choose a 2D (or n-D) image")
    notes = []
    leading = spatial_ndim - 2
    index: tuple[int, ...] = ()
    if leading:
        index = displayed_index(layer, world_point, levels, level_index)
        notes.append(f"slice {index} of the {layer.ndim}D layer (the one on display)")
    if len(levels) > 1:
        notes.append(f"level {level_index} of {len(levels)} "
                     f"({data.shape[leading]}x{data.shape[leading + 1]} px)")
    level_scale = tuple(
        float(layer.scale[axis]) * _level_factor(levels, level_index, axis)
        for axis in range(layer.ndim - 2, layer.ndim))
    # napari draws a level's first pixel where the finest level's is
    translate = tuple(float(value) for value in layer.translate[-2:])
    shown, note, level_scale, translate = _taken(data[index] if index else data, size,
                                                 colours == "labels", level_scale, translate)
    notes += [note] if note else []
    image, display = (shown, "label values") if colours == "labels" else \
        as_displayed(shown, layer, colours)
    _check_shown_image(image, layer)
    factor = upsampling(*image.shape[:2], size)
    if factor > 1:
        notes.append(f"{image.shape[0]}x{image.shape[1]} px upsampled {factor:.3g}x to the "
                     f"working size {size} px")
    return Snapshot(image, layer.name, "; ".join(notes), display, level_scale, translate,
                    len(levels))


def _taken(data, size: int, labels: bool, scale: tuple[float, float],
           translate: tuple[float, float]) -> tuple[np.ndarray, str, tuple, tuple]:
    """``data`` (a 2D picture, maybe RGB, placed at ``scale`` and ``translate``) in memory,
    how it was taken, and where it lies: a lazy array (dask, zarr) at least twice ``size``
    on its longest side is averaged over blocks of ``longest // size`` pixels chunk by chunk
    (a pixel left over at the far edges dropped), or for ``labels`` (whose values are not
    averaged) sampled at every block's first pixel; anything else is copied as it is."""
    block = max(data.shape[:2]) // size
    if isinstance(data, np.ndarray) or block < 2:
        return np.array(data), "", scale, translate
    import dask.array as da

    lazy = da.asarray(data)
    if labels:
        taken, note, shift = lazy[::block, ::block], f"every {block}th pixel", 0.0
    else:
        taken = da.coarsen(np.mean, lazy.astype(np.float32), {0: block, 1: block},
                           trim_excess=True)
        note, shift = f"averaged over blocks of {block}x{block} px", (block - 1) / 2
    return (taken.compute(), f"{note}, chunk by chunk", tuple(s * block for s in scale),
            tuple(t + s * shift for t, s in zip(translate, scale, strict=True)))


@dataclass(frozen=True)
class StackSnapshot:
    """Every frame along one axis of an image layer, the other axes at the displayed slice,
    as displayed; and how a result of one frame per position lies over the layer."""

    frames: np.ndarray  # (T, H, W) or (T, H, W, C) float32 in [0, 1], as displayed
    name: str
    display: str
    axis: int  # the frame axis, among the layer's leading (non-picture) axes
    leading: tuple[int, ...]  # the result's leading shape: T on ``axis``, 1 elsewhere
    scale: tuple[float, ...]  # world units per pixel on every axis of the layer
    translate: tuple[float, ...]  # world position of the result's first pixel, every axis
    axis_labels: tuple[str, ...]  # the layer's

    def position(self, frame: int) -> tuple[int, ...]:
        """The index of frame ``frame`` among the result's leading axes."""
        return tuple(frame if axis == self.axis else 0 for axis in range(len(self.leading)))

    def placement(self, size: int) -> dict[str, tuple]:
        """``scale``, ``translate`` and ``axis_labels`` that lay results computed at working
        ``size`` over the layer, frame for frame (and at the displayed slice of its other
        axes)."""
        lead = len(self.leading)
        picture = Snapshot(self.frames[0], self.name, "", self.display, self.scale[lead:],
                           self.translate[lead:]).placement(size)
        return {"scale": (*self.scale[:lead], *picture["scale"]),
                "translate": (*self.translate[:lead], *picture["translate"]),
                "axis_labels": self.axis_labels}


def stack_snapshot(layer, world_point: tuple[float, ...], axis: int,
                   colours: str = "colormap") -> StackSnapshot:
    """Copy every frame along leading ``axis`` of an image ``layer`` (the other leading axes
    at the slice on display), each as displayed (:func:`as_displayed`)."""
    leading = layer.ndim - 2
    if layer.multiscale or leading < 1 or not 0 <= axis < leading:
        raise InputError(f"layer {layer.name!r} ({layer.ndim} axes) has no frame axis {axis}: "
                         "choose a stack, frames along an axis before y and x")
    index = displayed_index(layer, world_point, [layer.data], 0)
    picked = layer.data[tuple(slice(None) if other == axis else index[other]
                              for other in range(leading))]
    shown = [as_displayed(np.asarray(frame), layer, colours) for frame in picked]
    frames = np.stack([image for image, _ in shown])
    scale = tuple(float(value) for value in layer.scale)
    translate = tuple(float(value) + (0 if other == axis or other >= leading else
                                      index[other] * scale[other])
                      for other, value in enumerate(layer.translate))
    return StackSnapshot(frames.astype(np.float32), layer.name, shown[0][1], axis,
                         tuple(len(frames) if other == axis else 1 for other in range(leading)),
                         scale, translate, tuple(layer.axis_labels))


class OnScreenComposite:
    """A picker's choice that stands for every visible image layer as napari composes them:
    channels shown as separate layers (``channel_axis``) become the one picture on screen."""

    name = "on-screen composite (visible layers)"


#: the one composite choice every picker offers
COMPOSITE = OnScreenComposite()


def composite(layers: list, world_point: tuple[float, ...], size: int) -> Snapshot:
    """The visible ``layers`` (bottom to top) blended as napari shows them: each as displayed
    (with its colormap), weighted by its opacity, added where its blending is additive, laid
    over what is below otherwise."""
    shown = [layer for layer in layers if layer.visible]
    if not shown:
        raise InputError("no visible image layer to take the on-screen composite of")
    taken = [snapshot(layer, world_point, size) for layer in shown]
    first = taken[0]
    for layer, part in zip(shown, taken, strict=True):
        if part.data.shape[:2] != first.data.shape[:2] or part.scale != first.scale or \
                part.translate != first.translate:
            raise InputError(f"layer {layer.name!r} is not laid over {first.name!r} pixel for "
                             "pixel; the composite takes layers of one shape and placement")
    picture = np.zeros((*first.data.shape[:2], 3), np.float32)
    for layer, part in zip(shown, taken, strict=True):
        colours = np.broadcast_to(part.data[..., :3] if part.data.ndim == 3 else
                                  part.data[..., None], picture.shape)
        weight = np.float32(layer.opacity)
        picture = picture + weight * colours if layer.blending == "additive" else \
            picture * (1 - weight) + weight * colours
    names = " + ".join(part.name for part in taken)
    blendings = ", ".join(sorted({layer.blending for layer in shown}))
    return Snapshot(np.clip(picture, 0, 1), f"composite of {names}",
                    f"on-screen composite of {names} ({blendings})",
                    "; ".join(part.display for part in taken), first.scale, first.translate)


def _check_shown_image(image: np.ndarray, layer) -> None:
    """Refuse a displayed slice too thin to style, saying why napari shows it so: an
    ``(y, x, 2)`` array is a stack of ``x`` images of ``(x, 2)`` px to napari, not 2 channels."""
    if min(image.shape[:2]) >= MIN_SOURCE_SIDE or layer.ndim <= 2:
        return
    shape = tuple(np.shape(layer.data[0] if layer.multiscale else layer.data))
    raise InputError(
        f"layer {layer.name!r} shows a {image.shape[0]}x{image.shape[1]} px slice of its "
        f"{shape} array (napari displays its last two axes); if an axis holds channels, split "
        "them into layers (right-click the layer > Split Stack) or choose an RGB layer")


def displayed_index(layer, world_point: tuple[float, ...], levels: list,
                    level_index: int) -> tuple[int, ...]:
    """The index, along each axis before y and x, of the slice of ``layer`` on display at
    ``world_point`` (``viewer.dims.point``), in level ``level_index`` of ``levels``."""
    data = levels[level_index]
    point = layer.world_to_data(tuple(world_point)[-layer.ndim:])
    return tuple(
        int(np.clip(round(float(value) / _level_factor(levels, level_index, axis)), 0,
                    data.shape[axis] - 1))
        for axis, value in enumerate(point[:layer.ndim - 2]))


def _level_for_size(levels: list, rgb: bool, size: int) -> int:
    """The coarsest level whose longest side still reaches ``size`` (else the finest)."""
    def longest(level) -> int:
        shape = level.shape[:-1] if rgb else level.shape
        return max(shape[-2:])

    covering = [index for index, level in enumerate(levels) if longest(level) >= size]
    return covering[-1] if covering else 0


def _level_factor(levels: list, level_index: int, axis: int) -> float:
    """How many finest-level pixels one pixel of ``level_index`` spans along spatial ``axis``."""
    return levels[0].shape[axis] / levels[level_index].shape[axis]


def random_mark(weights: str) -> str:
    """What a layer name carries when the untrained network made it (never chosen silently,
    so never shown silently either)."""
    return " [random]" if weights.startswith("random") else ""


@dataclass(frozen=True)
class Inputs:
    """The images a run reads (``content`` and/or ``style``, and ``init``, the image it
    starts from, when it starts from one), copied when it started."""

    taken: dict[str, Snapshot]

    @property
    def source(self) -> Snapshot:
        """The input a result overlays: the content image, else the texture source."""
        return self.taken["content" if "content" in self.taken else "style"]

    @property
    def inputs(self) -> dict[str, Snapshot]:
        """The content and style (what results are named after and shaped by)."""
        return {role: taken for role, taken in self.taken.items()
                if role not in ("init", "labels")}

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [taken.data.shape for taken in self.inputs.values()]

    @property
    def styles(self) -> list[str]:
        """The roles of the style images taken: ``style``, ``style_2``..."""
        return [role for role in self.taken if role.startswith("style")]

    @property
    def images(self) -> dict[str, np.ndarray | list[np.ndarray] | None]:
        """The engine's image arguments (``Run(config, **images)``): the style, or the styles
        when there are several."""
        styles = [self.data(role) for role in self.styles]
        return {"content": self.data("content"),
                "style": styles if len(styles) > 1 else self.data("style"),
                "init_image": self.data("init"), "labels": self.data("labels")}

    @property
    def notes(self) -> list[str]:
        return [taken.note for taken in self.taken.values() if taken.note]

    def result_shape(self, size: int) -> tuple[int, int]:
        """``(H, W)`` of the results at working ``size``."""
        return working_shape(*self.source.data.shape[:2], size)

    def blank(self, size: int) -> np.ndarray:
        """A black RGB image of the results' shape at working ``size`` (a placeholder)."""
        return np.zeros((*self.result_shape(size), 3), np.float32)

    def data(self, role: str) -> np.ndarray | None:
        return self.taken[role].data if role in self.taken else None

    def record(self) -> dict:
        """Which layer (and how) each input came from, for the provenance."""
        return {role: {"layer": taken.name, "how": taken.note or "2D image",
                       "values": taken.display}
                for role, taken in self.taken.items()}

    @property
    def names(self) -> str:
        """The inputs' layer names: ``astronaut x hubble``, ``astronaut x hubble+coffee`` (two
        styles) or ``astronaut``."""
        styles = "+".join(self.taken[role].name for role in self.styles)
        return " x ".join(name for name in (self.taken["content"].name if "content" in self.taken
                                            else "", styles) if name)

    def result_name(self, config) -> str:
        """A result layer's name: task, layers and inputs, and ``[random]`` weights."""
        random = random_mark(config.weights)
        if config.task == "transfer":
            return f"transfer: {self.names}{random}"
        layers = ",".join(config.content_layers or config.style_layers)
        return f"{config.task} {layers}: {self.names}{random}"
