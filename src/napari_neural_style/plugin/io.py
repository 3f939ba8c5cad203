"""File > Save and File > Open for results: their provenance travels inside the file.

The writer saves an image layer as a float32 TIFF (any result, a sweep's stack, signed
differences) or an 8-bit PNG (what napari's own PNG writer refuses for float data), with the
layer's ``metadata["neural_style"]`` and its name and placement inside; a name ending in
``.ome.tif`` gives a tiled, pyramidal OME-TIFF, and so does a multiscale layer saved to a
TIFF: its levels as they are.  The reader claims only files that carry them,
and opens them as the layer they were: provenance, overlay and all; a pyramid as a multiscale
layer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..core.image_files import (
    LAYER_KEY,
    PROVENANCE_KEY,
    TIFF_SUFFIXES,
    read_levels,
    read_record,
    write_image,
)
from .base import METADATA_KEY

#: the layer attributes a file keeps, so the layer reopens where it was
KEPT = ("name", "scale", "translate", "rgb", "axis_labels", "colormap", "contrast_limits")


def write_layer(path: str, data, attributes: dict) -> list[str]:
    """npe2 single-layer writer: ``data`` with its provenance and placement."""
    if Path(path).suffix.lower() not in TIFF_SUFFIXES and np.ndim(data) > 3:
        raise ValueError(f"{Path(path).name}: a stack of {len(data)} images needs a TIFF "
                         "(.tif), or save one slice")
    layer = {key: _plain(attributes[key]) for key in KEPT if key in attributes}
    provenance = attributes.get("metadata", {}).get(METADATA_KEY)
    image = list(data) if attributes.get("multiscale") else np.asarray(data)
    return [str(write_image(path, image, provenance, layer))]


def _plain(value):
    """A layer attribute as JSON keeps it (colormaps by name)."""
    if isinstance(value, dict) and "name" in value:  # a colormap's state
        return value["name"]
    if hasattr(value, "name") and not isinstance(value, str):
        return value.name
    if isinstance(value, np.ndarray | tuple | list):
        return [_plain(item) for item in value]
    return value.item() if isinstance(value, np.generic) else value


def get_reader(path: str | list[str]) -> Callable | None:
    """npe2 reader: the results this plugin saved (other files are left to other readers)."""
    if isinstance(path, list) or not read_record(path):
        return None
    return read_layer


def read_layer(path: str) -> list[tuple]:
    record = read_record(path)
    levels = read_levels(path)
    saved = record.get(LAYER_KEY)
    attributes = accepted(levels[0], saved if isinstance(saved, dict) else {})
    if PROVENANCE_KEY in record:
        attributes["metadata"] = {METADATA_KEY: record[PROVENANCE_KEY]}
    if len(levels) > 1:
        return [(levels, {**attributes, "multiscale": True}, "image")]
    return [(levels[0], attributes, "image")]


def accepted(data: np.ndarray, saved: dict) -> dict:
    """The saved layer attributes napari takes for ``data``, each tried on a small image of
    its shape: a file edited by hand, or by another program, may hold others, which are
    left out rather than fail the whole file."""
    from napari.layers import Image

    proxy = np.zeros((2,) * (data.ndim - 1) + (data.shape[-1],), dtype=np.float32)
    kept = {}
    for key, value in saved.items():
        if key not in KEPT:
            continue
        try:
            Image(proxy, **kept, **{key: value})
        except Exception:  # whatever napari's validation raises on a value it cannot take
            continue
        kept[key] = value
    return kept
