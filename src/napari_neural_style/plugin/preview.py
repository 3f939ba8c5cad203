"""Live preview: while it is on, every change of a setting, an input layer (its data, the slice
shown, its contrast) re-runs a small, fast version of the widget's run into one preview layer.

Changes are gathered for :data:`DEBOUNCE_MS`; a new preview first stops the one running (it
ends after its current step, a few tens of milliseconds at this size), so at most one preview
computes at a time and the latest settings always win.  The preview is a real run of the same
engine, only at :data:`SIZE` px, one scale, :data:`STEPS` steps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, replace

from magicgui.widgets import CheckBox
from napari.layers import Image
from napari.qt.threading import thread_worker
from qtpy.QtCore import QTimer

from ..core.errors import NeuralStyleError
from .base import METADATA_KEY
from .inputs import COMPOSITE
from .messages import in_widget_message
from .worker import optimize

SIZE = 128
STEPS = 30
DEBOUNCE_MS = 150
#: the layer events that change what a picked layer shows
SHOWN = ("data", "contrast_limits", "gamma", "colormap")


class Preview:
    """The preview of a task widget; the widget owns it and forwards nothing but changes."""

    def __init__(self, widget):
        self.widget = widget
        self.switch = CheckBox(name="live_preview", text=f"live preview ({SIZE} px, {STEPS} steps)",
                               value=False, tooltip="re-run a small version of this run after "
                               "every change, into one preview layer")
        self.layer: Image | None = None
        self.worker = None
        self._stop = threading.Event()
        self._pending = False
        self._watched: list = []
        self.changed_at: float | None = None  # when the change being previewed happened
        self.first_image_at: float | None = None  # when its first optimized image was shown
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)
        self.switch.changed.connect(self._switched)
        # closed with its viewer: the preview running stops too
        widget.native.destroyed.connect(lambda: self._stop.set())

    def watch(self) -> None:
        """Follow every input of the widget's form (call once the form is built)."""
        for widget in self.widget.form.widgets:
            if widget is not self.switch and hasattr(widget, "changed"):
                widget.changed.connect(self.schedule)
        for picker in self.widget.form.pickers.values():
            picker.changed.connect(self._watch_layers)
        self.widget.viewer.dims.events.current_step.connect(self.schedule)
        self._watch_layers()

    def _watch_layers(self, _value=None) -> None:
        for layer in self._watched:
            for name in SHOWN:
                getattr(layer.events, name).disconnect(self.schedule)
        chosen = [picker.value for picker in self.widget.form.pickers.values()]
        # the composite shows every image layer: any of them changes it
        self._watched = [layer for _, layer in self.widget.image_layers()] \
            if COMPOSITE in chosen else [layer for layer in chosen if isinstance(layer, Image)]
        for layer in self._watched:
            for name in SHOWN:
                getattr(layer.events, name).connect(self.schedule)

    def _switched(self, on: bool) -> None:
        if on:
            self.schedule()
        else:
            self.cancel()

    def cancel(self) -> None:
        """Stop the preview running and forget the one waiting (a full run takes the CPU)."""
        self._timer.stop()
        self._pending = False
        self._stop.set()

    def schedule(self, *_) -> None:
        """A change: preview it once the changes settle (and no full run is going)."""
        if self.switch.value and self.widget.worker is None and self.widget.ui_alive():
            self.changed_at = time.perf_counter()
            self.first_image_at = None
            self._timer.start()

    def _start(self) -> None:
        if self.worker is not None:  # the running preview ends first, then this one starts
            self._pending = True
            self._stop.set()
            return
        try:
            config = self.widget.form.config()
            config = replace(config, size=SIZE, steps=STEPS, scales=(1.0,), coarse_steps=None)
            inputs = self.widget.form.snapshot(self.widget.viewer, SIZE, title=None)
        except NeuralStyleError as error:
            self.widget.status.value = f"preview: {in_widget_message(error)}"
            return
        self._stop = threading.Event()
        self._show_layer(config, inputs)
        worker = thread_worker(optimize, ignore_errors=True)(
            config, inputs.images, self._stop, image_interval=0.1)
        worker.yielded.connect(self._update)
        worker.errored.connect(self._failed)
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()

    def _show_layer(self, config, inputs) -> None:
        name = f"preview: {inputs.result_name(config)}"
        placement = inputs.source.placement(SIZE)
        metadata = {METADATA_KEY: {"status": "preview", "params": asdict(config)}}
        if self.layer is None or self.layer not in self.widget.viewer.layers:
            self.layer = Image(inputs.blank(SIZE), rgb=True, contrast_limits=(0, 1),
                               name=name, metadata=metadata, visible=False, **placement)
            self.widget.viewer.add_layer(self.layer)
        else:
            self.layer.name, self.layer.metadata = name, metadata
            self.layer.scale, self.layer.translate = placement["scale"], placement["translate"]

    def _update(self, update) -> None:
        if update.image is None or self.layer not in self.widget.viewer.layers:
            return
        self.layer.data = update.image
        self.layer.visible = True
        if update.step and self.first_image_at is None:
            self.first_image_at = time.perf_counter()

    def _failed(self, error: Exception) -> None:
        if self.widget.ui_alive():
            self.widget.status.value = f"preview failed: {in_widget_message(error)}"

    def _finished(self) -> None:
        self.worker = None
        if self._pending and self.switch.value:
            self._pending = False
            self._start()
