"""Live loss curves: every term of every selected run against the step, on a log scale.

The curves are read from the result layers' ``metadata["neural_style"]["history"]``, which the
task widgets fill while a run goes (and a sweep's ``slices``), so any finished or running
result can be plotted and several compared: select their layers.  With none selected, every
result in the viewer is shown.  Colour names the term (total, content per layer, style per
layer, TV); the line style names the run.

pyqtgraph draws it: a Qt-native plotting library (no second GUI toolkit, no image round-trip
as with a matplotlib canvas) that redraws thousands of points per curve in milliseconds, with
log axes and legends built in.
"""

from __future__ import annotations

import pyqtgraph as pg
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from .base import METADATA_KEY

RUN_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
              Qt.PenStyle.DashDotLine)


def histories(layers) -> list[tuple[str, list[dict]]]:
    """(run name, loss history) for each run held by ``layers`` (results and sweep slices)."""
    runs = []
    for layer in layers:
        record = layer.metadata.get(METADATA_KEY, {})
        if record.get("history"):
            runs.append((layer.name, record["history"]))
        for value, entry in zip(record.get("values", ()), record.get("slices", ()),
                                strict=False):
            runs.append((f"{layer.name} [{value}]", entry["history"]))
    return runs


def terms(history: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """``{curve: (steps, values)}`` of every term a loss record holds (core/terms.py writes
    them): ``total``; a number, one curve by its name (``tv``); numbers per layer, one curve
    each (``style conv_2``), where ``content_per_layer`` stands for ``content`` and replaces
    its mean.  A value of exactly 0 (a term at its target, e.g. the content loss of a run
    that starts from the content image, or a term not used) has no place on a log axis and
    is left out."""
    curves: dict[str, tuple[list[int], list[float]]] = {}
    for record in history:
        for curve, value in _curve_values(record):
            if value > 0:
                steps, values = curves.setdefault(curve, ([], []))
                steps.append(record["step"])
                values.append(value)
    return curves


def _curve_values(record: dict):
    """(curve, value) of each term in one loss record."""
    for key, value in record.items():
        if key in NOT_TERMS or f"{key}{PER_LAYER}" in record:
            continue
        if isinstance(value, dict):
            for name, each in value.items():
                yield f"{key.removesuffix(PER_LAYER)} {name}", each
        else:
            yield key, value


#: a loss record's entries that are not terms
NOT_TERMS = ("step", "size")
#: the suffix of a term's layers recorded beside its mean
PER_LAYER = "_per_layer"


class LossCurvesWidget(QWidget):
    """Dock plot of the loss terms of the selected (or all) result layers, refreshed live."""

    def __init__(self, napari_viewer, refresh_ms: int = 300):
        super().__init__()
        self.viewer = napari_viewer
        self.plot = pg.PlotWidget(background="k")
        self.plot.setMinimumHeight(280)
        self.plot.setLogMode(y=True)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss (relative, log)")
        self.plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.all_runs = QCheckBox("show every result, not only the selected ones")
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot)
        layout.addWidget(self.all_runs)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._term_colours: dict[str, int] = {}
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(refresh_ms)
        self.all_runs.toggled.connect(self.refresh)

    def runs(self) -> list[tuple[str, list[dict]]]:
        selected = histories(self.viewer.layers.selection)
        if selected and not self.all_runs.isChecked():
            return selected
        return histories(self.viewer.layers)

    def refresh(self) -> None:
        """Redraw: new points on existing curves, new curves for new runs and terms."""
        wanted: dict[str, tuple[list[int], list[float], int, int]] = {}
        for run_index, (run, history) in enumerate(self.runs()):
            for term, (steps, values) in terms(history).items():
                colour = self._term_colours.setdefault(term, len(self._term_colours))
                wanted[f"{run} | {term}"] = (steps, values, colour, run_index)
        for key in set(self.curves) - set(wanted):
            self.plot.removeItem(self.curves.pop(key))
        for key, (steps, values, colour, run_index) in wanted.items():
            if key not in self.curves:
                pen = pg.mkPen(pg.intColor(colour, hues=9), width=2 if key.endswith("total")
                               else 1, style=RUN_STYLES[run_index % len(RUN_STYLES)])
                self.curves[key] = self.plot.plot(name=key, pen=pen)
            self.curves[key].setData(steps, values)
