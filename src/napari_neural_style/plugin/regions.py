"""A style per region, painted: a Labels layer over the content and, for each label it holds,
a style layer (or "content only") and a weight.  The table follows the painting: a label
painted anew gets a row, one erased loses it (its choice is kept should it come back).
Unlisted labels, 0 included, are content only, as the engine has it (core/regions.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label, Widget
from napari.layers import Labels

from ..core.config import OPTIONS
from ..core.errors import NeuralStyleError

#: rows the table shows at most (a Labels layer may hold thousands of labels: segmentations)
MAX_ROWS = 12


class ContentOnly:
    """A row's choice of no style: the content loss alone there."""

    name = "content only"


CONTENT_ONLY = ContentOnly()


class RegionTable:
    """The Labels layer picker and one row per label present: its colour and number, a style
    layer and a weight.  :meth:`mapping` reads it as the engine takes it."""

    def __init__(self, choices: Callable, labels_choices: Callable):
        self._choices = choices
        self.labels = ComboBox(
            name="labels", label="regions", choices=labels_choices, nullable=True, value=None,
            tooltip="a Labels layer painted over the content: each label takes the style "
                    "chosen for it below; unlisted labels (0 too) stay content only")
        self.table = Container(name="region_table", label=" ", labels=True, widgets=[],
                               tooltip=OPTIONS["regions"].help)
        self.table.margins = (0, 0, 0, 0)
        self._rows: dict[int, Container] = {}  # every row made, by label: choices are kept
        self._watched: Labels | None = None
        self.labels.changed.connect(self.refresh)
        self.refresh()

    @property
    def widgets(self) -> list[Widget]:
        return [self.labels, self.table]

    @property
    def active(self) -> bool:
        return self.labels.value is not None and not self.labels.native.isHidden()

    def set_visible(self, visible: bool) -> None:
        self.labels.visible = visible
        self.table.visible = visible and self.labels.value is not None

    def refresh(self, event=None) -> None:
        """Rows for the labels the chosen layer holds now (following its painting)."""
        layer = self.labels.value
        self._watch(layer)
        self.table.clear()
        self.table.visible = layer is not None and not self.labels.native.isHidden()
        for label in self.present()[:MAX_ROWS]:
            self.table.append(self._row(label, layer))

    def present(self) -> list[int]:
        """The labels other than 0 the chosen layer holds, in order."""
        layer = self.labels.value
        if layer is None:
            return []
        data = layer.data[0] if layer.multiscale else layer.data
        return [int(value) for value in np.unique(np.asarray(data)) if value != 0]

    def _watch(self, layer: Labels | None) -> None:
        """Refresh when ``layer`` is painted (and stop following the previous one)."""
        for events in ([] if self._watched is None else [self._watched.events]):
            for name in ("paint", "data"):
                if hasattr(events, name):
                    getattr(events, name).disconnect(self.refresh)
        self._watched = layer
        for name in ("paint", "data"):
            if layer is not None and hasattr(layer.events, name):
                getattr(layer.events, name).connect(self.refresh)

    def _row(self, label: int, layer: Labels) -> Container:
        row = self._rows.get(label)
        if row is None:
            style = ComboBox(name="style", choices=self._style_choices, value=CONTENT_ONLY,
                             tooltip="the style this label's region takes, or none")
            weight = FloatSpinBox(name="weight", value=1.0, min=0.0, max=1000.0, step=0.5,
                                  tooltip="this region's style weight (times the style "
                                          "weight above)")
            row = Container(name=f"label_{label}", layout="horizontal", labels=False,
                            widgets=[Label(name="colour", value=f"\u25a0 label {label}"),
                                     style, weight])
            row.margins = (0, 0, 0, 0)
            style.changed.connect(lambda chosen, weight=weight: setattr(
                weight, "enabled", chosen is not CONTENT_ONLY))
            weight.enabled = False
            self._rows[label] = row
        red, green, blue = (int(255 * value) for value in layer.get_color(label)[:3])
        row[0].native.setStyleSheet(f"color: rgb({red}, {green}, {blue})")
        row.label = " "
        return row

    def _style_choices(self, widget=None) -> list[tuple[str, object]]:
        return [(CONTENT_ONLY.name, CONTENT_ONLY), *self._choices(widget)]

    def mapping(self) -> tuple[list, tuple[tuple[int, int | None, float], ...]]:
        """The style layers the regions use (each once, in table order) and
        ``Config.regions`` over them."""
        layers, regions = [], []
        for row in self.table:
            label, style, weight = int(row.name.removeprefix("label_")), row[1].value, \
                row[2].value
            if style is CONTENT_ONLY or style is None:
                regions.append((label, None, 0.0))
                continue
            if not any(style is known for known in layers):
                layers.append(style)
            regions.append((label, next(index for index, known in enumerate(layers)
                                        if known is style), weight))
        if not layers:
            raise NeuralStyleError("no label has a style: choose a style layer for at least "
                                   "one label in the regions table")
        return layers, tuple(regions)

    def show(self, regions: tuple, styles: list) -> None:
        """Show ``Config.regions`` over ``styles`` (layers by style index; None: not found,
        left as it is)."""
        rows = {row.name: row for row in self.table}
        for label, style, weight in regions:
            row = rows.get(f"label_{label}")
            chosen = CONTENT_ONLY if style is None else styles[style]
            if row is not None and chosen is not None:
                row[1].value, row[2].value = chosen, weight
