"""What every widget of the plugin shares: image pickers that follow the layer list, engine
settings (size, pooling, device, weights), and a Run/Stop pair around a ``thread_worker``.

Long work runs in a worker; errors come back as napari notifications and leave the widget
usable; closing the viewer stops the work (napari quits the worker, and the widget's own
stop flag is set when Qt deletes it).
"""

from __future__ import annotations

import os
import platform
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton, SpinBox
from napari.layers import Image
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error

from ..core.config import MAX_SIZE, POOLINGS, Config
from ..core.errors import NeuralStyleError
from ..samples import SAMPLES

WEIGHT_SOURCES = [
    ("ImageNet (torchvision VGG-19)", "imagenet"),
    ("weights file...", "file"),
    ("untrained (random weights)", "random"),
]
METADATA_KEY = "neural_style"
#: colormap of signed differences, centred on zero
DIVERGING = "PiYG"


def device_choices() -> list[str]:
    """Devices that exist here, without importing torch unless something already did."""
    if "torch" in sys.modules:
        from ..core.device import available_devices

        return available_devices()
    gpus = sorted(Path("/proc/driver/nvidia/gpus").glob("*")) if sys.platform == "linux" else []
    devices = ["auto", *(f"cuda:{index}" for index in range(len(gpus)))]
    if sys.platform == "darwin" and platform.machine() == "arm64":
        devices.append("mps")
    return [*devices, "cpu"]


class PluginWidget(Container):
    """Base of the dock widgets: pickers, engine settings, Run/Stop, status and a worker."""

    title = "Neural Style"
    run_text = "Run"

    def __init__(self, napari_viewer):
        super().__init__(labels=True)
        self.viewer = napari_viewer
        self.worker = None
        self._pickers: list[tuple[ComboBox, str]] = []
        self._stop = threading.Event()
        # a widget closed with its viewer stops its work; napari also quits the worker itself
        self.native.destroyed.connect(self._stop.set)

    # -- building blocks -------------------------------------------------------------------

    def image_picker(self, label: str, role: str = "content", **options) -> ComboBox:
        """A picker listing Image layers only, kept in step with the layer list."""
        picker = ComboBox(label=label, choices=self._image_layers, **options)
        self._pickers.append((picker, role))
        return picker

    def engine_settings(self, defaults: Config) -> list:
        """Working size, pooling, device and weights source, with their defaults."""
        self.size = SpinBox(label="working size (px)", value=defaults.size, min=16,
                            max=MAX_SIZE, step=16)
        self.pooling = ComboBox(label="pooling", choices=list(POOLINGS), value=defaults.pooling)
        self.device = ComboBox(label="device", choices=device_choices(), value="auto")
        self.weights = ComboBox(label="weights", choices=WEIGHT_SOURCES, value="imagenet")
        self.weights_file = FileEdit(label="weights file", mode="r",
                                     filter="PyTorch state dict (*.pth *.pt)", visible=False)
        self.weights_warning = Label(
            value="Untrained VGG-19: results are labelled 'random' (He et al. 2016).",
            visible=False)
        self.weights.changed.connect(self._weights_changed)
        return [self.size, self.pooling, self.device, self.weights, self.weights_file,
                self.weights_warning]

    def run_controls(self) -> list:
        self.run_button = PushButton(text=self.run_text)
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.status = Label(value="ready")
        self.run_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.stop)
        return [self.run_button, self.stop_button, self.status]

    def follow_layers(self) -> None:
        """Keep the pickers in step with layers added, removed, moved and renamed."""
        events = self.viewer.layers.events
        for event in (events.inserted, events.removed, events.moved):
            event.connect(self._layers_changed)
        for layer in self.viewer.layers:
            layer.events.name.connect(self._refresh_pickers)
        layers = [layer for _, layer in self._image_layers()]
        for picker, role in self._pickers:  # content from a content sample, style likewise
            preferred = [layer for layer in layers if SAMPLES.get(layer.name, ("",))[0] == role]
            if preferred:
                picker.value = preferred[0]

    def _weights_changed(self) -> None:
        self.weights_file.visible = self.weights.value == "file"
        self.weights_warning.visible = self.weights.value == "random"

    def weights_spec(self) -> str:
        """``imagenet``, ``random`` or the chosen file's path."""
        if self.weights.value != "file":
            return self.weights.value
        path = Path(self.weights_file.value)
        if not path.is_file():
            raise NeuralStyleError("choose an existing weights file (.pth) first")
        return os.fspath(path)

    def _image_layers(self, _widget=None) -> list[tuple[str, Image]]:
        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, Image) and not self.is_own_output(layer)]

    def is_own_output(self, layer) -> bool:
        """Layers this widget is filling right now are not offered as inputs."""
        return False

    def _layers_changed(self, event) -> None:
        if event.type == "inserted":
            event.value.events.name.connect(self._refresh_pickers)
        self._refresh_pickers()

    def _refresh_pickers(self, _event=None) -> None:
        for picker, _ in self._pickers:
            picker.reset_choices()

    def picked(self, picker: ComboBox) -> Image:
        if picker.value is None:
            raise NeuralStyleError(f"no {picker.label} image: add or open an image layer")
        return picker.value

    # -- running -------------------------------------------------------------------------

    def launch(self, function: Callable, *args, total: int | None,
               on_update: Callable, on_result: Callable):
        """Run ``function(*args, stop_event)`` (a generator) in a napari ``thread_worker``.

        With ``total``, napari's progress bar advances one unit per value yielded; widgets
        whose yields cover several units pass None and drive their own bar.
        """
        self._stop.clear()
        progress = {"total": total, "desc": self.title} if total is not None else None
        # errors are ours to report (_on_error), not re-raised into the event loop
        worker = thread_worker(function, ignore_errors=True, progress=progress)(
            *args, self._stop)
        worker.yielded.connect(on_update)
        worker.returned.connect(lambda result: self.ui_alive() and on_result(result))
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.run_button.enabled, self.stop_button.enabled = False, True
        worker.start()
        return worker

    def start(self):  # pragma: no cover - each widget defines its own
        raise NotImplementedError

    def stop(self) -> None:
        """Stop after the current step; what was computed stays, marked cancelled."""
        if self.worker is not None:
            self._stop.set()
            self.status.value = "stopping after this step..."

    def add_signed(self, data, **options):
        """An image layer of signed values: diverging colormap, limits symmetric about 0."""
        limit = float(abs(data).max()) or 1.0
        return self.viewer.add_image(data, colormap=DIVERGING, contrast_limits=(-limit, limit),
                                     **options)

    def refuse(self, error: Exception) -> None:
        show_error(f"{self.title}: {error}")

    def ui_alive(self) -> bool:
        """False once Qt has deleted this widget (its viewer was closed)."""
        try:
            self.native.objectName()
        except RuntimeError:
            return False
        return True

    def _on_error(self, error: Exception) -> None:
        message = str(error) if isinstance(error, NeuralStyleError) else \
            f"{type(error).__name__}: {error}"
        show_error(f"{self.title} failed: {message}")
        if self.ui_alive():
            self.status.value = f"failed: {message}"
            self.on_failed()

    def on_failed(self) -> None:
        """Tidy up after an error (the widget's outputs)."""

    def _on_finished(self) -> None:
        self.worker = None
        if self.ui_alive():
            self.run_button.enabled, self.stop_button.enabled = True, False
