"""The dock widgets: one per experiment, sharing one implementation.

Parameters and a copy of the input images are taken on the main thread, the engine runs in a
``thread_worker`` (see :mod:`.worker`), and what it yields comes back as one result layer that
appears at once, updates live, and carries the run's provenance when done.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
from pathlib import Path

import numpy as np
from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    PushButton,
    Select,
    SpinBox,
)
from napari.layers import Image
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info, show_warning

from ..core.config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_RECONSTRUCT_LAYER,
    DEFAULT_STYLE_LAYERS,
    INITS,
    MAX_SIZE,
    MAX_STEPS,
    OPTIMIZERS,
    POOLINGS,
    Config,
    working_shape,
)
from ..core.errors import NeuralStyleError
from ..core.layers import LAYERS
from ..samples import SAMPLES
from .inputs import Snapshot, snapshot
from .worker import Update, optimise

WEIGHT_SOURCES = [
    ("ImageNet (torchvision VGG-19)", "imagenet"),
    ("weights file...", "file"),
    ("untrained (random weights)", "random"),
]
LAYER_CHOICES = [(entry.label, entry.name) for entry in LAYERS]
METADATA_KEY = "neural_style"


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


class TaskWidget(Container):
    """Shared widget for the three tasks; subclasses set :attr:`task`."""

    task = "transfer"
    title = "Style transfer"

    def __init__(self, napari_viewer):
        super().__init__(labels=True)
        self.viewer = napari_viewer
        self.worker = None
        self.result_layer: Image | None = None
        self._stop = threading.Event()
        self._inputs: dict[str, Snapshot] = {}
        self._last_update: Update | None = None
        self._needs_content = self.task in ("reconstruct", "transfer")
        self._needs_style = self.task in ("texture", "transfer")
        self._build()
        # a widget closed with its viewer stops its run; napari also quits the worker itself
        self.native.destroyed.connect(self._stop.set)
        self._follow_layers()
        self._update_visibility()

    # -- building --------------------------------------------------------------------------

    def _build(self) -> None:
        needs_content, needs_style = self._needs_content, self._needs_style
        self.content = ComboBox(label="content" if self.task == "transfer" else "image",
                                choices=self._image_layers, visible=needs_content)
        self.style = ComboBox(label="style" if self.task == "transfer" else "texture source",
                              choices=self._image_layers, visible=needs_style)
        content_default = (DEFAULT_RECONSTRUCT_LAYER,) if self.task == "reconstruct" else \
            DEFAULT_CONTENT_LAYERS
        self.content_layers = Select(label="content layers", choices=LAYER_CHOICES,
                                     value=list(content_default), visible=needs_content)
        self.style_layers = Select(label="style layers", choices=LAYER_CHOICES,
                                   value=list(DEFAULT_STYLE_LAYERS), visible=needs_style)
        for select in (self.content_layers, self.style_layers):
            select.native.setMaximumHeight(110)
        defaults = Config(self.task, content_default if needs_content else (),
                          DEFAULT_STYLE_LAYERS if needs_style else ())
        self.content_weight = FloatSpinBox(label="content weight", value=defaults.content_weight,
                                           min=0, max=1e6, step=0.1,
                                           visible=self.task == "transfer")
        self.style_weight = FloatSpinBox(label="style weight", value=defaults.style_weight,
                                         min=0, max=1e6, step=0.1,
                                         visible=self.task == "transfer")
        self.tv_weight = FloatSpinBox(label="TV weight", value=defaults.tv_weight, min=0,
                                      max=1e6, step=0.01)
        self.init = ComboBox(label="start from", choices=list(INITS),
                             value="content" if self.task == "transfer" else "noise",
                             visible=self.task == "transfer")
        self.steps = SpinBox(label="steps", value=defaults.steps, min=1, max=MAX_STEPS)
        self.size = SpinBox(label="working size (px)", value=defaults.size, min=16,
                            max=MAX_SIZE, step=16)
        self.seed = SpinBox(label="noise seed", value=defaults.seed, min=0, max=2**31 - 1)
        self.optimizer = ComboBox(label="optimizer", choices=list(OPTIMIZERS),
                                  value=defaults.optimizer)
        self.pooling = ComboBox(label="pooling", choices=list(POOLINGS), value=defaults.pooling)
        self.device = ComboBox(label="device", choices=device_choices(), value="auto")
        self.weights = ComboBox(label="weights", choices=WEIGHT_SOURCES, value="imagenet")
        self.weights_file = FileEdit(label="weights file", mode="r",
                                     filter="PyTorch state dict (*.pth *.pt)")
        self.weights_warning = Label(
            value="Untrained VGG-19: results are labelled 'random' (He et al. 2016).")
        self.run_button = PushButton(text="Run")
        self.stop_button = PushButton(text="Stop", enabled=False)
        self.status = Label(value="ready")
        self.extend([
            self.content, self.style, self.content_layers, self.style_layers,
            self.content_weight, self.style_weight, self.tv_weight, self.init, self.steps,
            self.size, self.seed, self.optimizer, self.pooling, self.device, self.weights,
            self.weights_file, self.weights_warning, self.run_button, self.stop_button,
            self.status,
        ])
        self.weights.changed.connect(self._update_visibility)
        self.run_button.changed.connect(self.start)
        self.stop_button.changed.connect(self.stop)

    def _update_visibility(self) -> None:
        self.weights_file.visible = self.weights.value == "file"
        self.weights_warning.visible = self.weights.value == "random"

    def _image_layers(self, _widget=None) -> list[tuple[str, Image]]:
        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, Image) and layer is not self.result_layer]

    def _follow_layers(self) -> None:
        """Keep the layer pickers in step with layers added, removed, moved and renamed."""
        events = self.viewer.layers.events
        for event in (events.inserted, events.removed, events.moved):
            event.connect(self._layers_changed)
        for layer in self.viewer.layers:
            layer.events.name.connect(self._refresh_choices)
        self._pick_defaults()

    def _layers_changed(self, event) -> None:
        if event.type == "inserted":
            event.value.events.name.connect(self._refresh_choices)
        self._refresh_choices()

    def _refresh_choices(self, _event=None) -> None:
        for combo in (self.content, self.style):
            combo.reset_choices()

    def _pick_defaults(self) -> None:
        """Content from a layer named like a content sample, style from a style sample."""
        layers = [layer for _, layer in self._image_layers()]
        for combo, role in ((self.content, "content"), (self.style, "style")):
            preferred = [layer for layer in layers if SAMPLES.get(layer.name, ("",))[0] == role]
            if preferred:
                combo.value = preferred[0]

    # -- running ---------------------------------------------------------------------------

    def config(self) -> Config:
        """The run configuration the widget shows now (validated)."""
        weights = self.weights.value
        if weights == "file":
            path = Path(self.weights_file.value)
            if not path.is_file():
                raise NeuralStyleError("choose an existing weights file (.pth) first")
            weights = os.fspath(path)
        return Config(
            self.task,
            content_layers=tuple(self.content_layers.value) if self._needs_content else (),
            style_layers=tuple(self.style_layers.value) if self._needs_style else (),
            content_weight=self.content_weight.value, style_weight=self.style_weight.value,
            tv_weight=self.tv_weight.value, steps=self.steps.value, size=self.size.value,
            optimizer=self.optimizer.value, init=self.init.value, seed=self.seed.value,
            device=self.device.value, weights=weights, pooling=self.pooling.value,
        )

    def _snapshot_inputs(self, size: int) -> dict[str, Snapshot]:
        inputs = {}
        for role, combo, needed in (("content", self.content, self._needs_content),
                                    ("style", self.style, self._needs_style)):
            if not needed:
                continue
            if combo.value is None:
                raise NeuralStyleError(f"no {combo.label} image: add or open an image layer")
            inputs[role] = snapshot(combo.value, self.viewer.dims.point, size)
        return inputs

    def start(self):
        """Start a run from the widget's values; returns the worker (None if refused)."""
        if self.worker is not None:
            return None
        try:
            config = self.config()
            self._inputs = self._snapshot_inputs(config.size)
        except NeuralStyleError as error:
            show_error(f"{self.title}: {error}")
            return None
        source = self._inputs["content" if "content" in self._inputs else "style"]
        height, width = working_shape(*source.data.shape[:2], config.size)
        self.result_layer = self.viewer.add_image(
            np.zeros((height, width, 3), np.float32), rgb=True, contrast_limits=(0, 1),
            name=f"{self._result_name(config)} (running)",
            metadata={METADATA_KEY: {"status": "running", "task": self.task}},
            **source.placement(config.size),
        )
        for note in (taken.note for taken in self._inputs.values() if taken.note):
            show_info(f"{self.title}: using {note}")
        self._stop.clear()
        self._last_update = None
        content = self._inputs.get("content")
        style = self._inputs.get("style")
        # errors are ours to report (_on_error), not re-raised into the event loop
        worker = thread_worker(optimise, ignore_errors=True,
                               progress={"total": config.steps + 1, "desc": self.title})(
            config, content.data if content else None, style.data if style else None,
            self._stop)
        worker.yielded.connect(self._on_update)
        worker.returned.connect(self._on_result)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self._set_running(True)
        self.status.value = "starting (loading weights and computing targets)..."
        worker.start()
        return worker

    def stop(self) -> None:
        """Stop after the current step; the partial result stays, marked cancelled."""
        if self.worker is not None:
            self._stop.set()
            self.status.value = "stopping after this step..."

    def _set_running(self, running: bool) -> None:
        self.run_button.enabled = not running
        self.stop_button.enabled = running

    def _result_name(self, config: Config) -> str:
        names = {role: snap.name for role, snap in self._inputs.items()}
        random = " [random]" if config.weights.startswith("random") else ""
        if self.task == "transfer":
            return f"transfer: {names['content']} x {names['style']}{random}"
        layers = ",".join(config.content_layers or config.style_layers)
        source = names.get("content") or names.get("style")
        label = "reconstruct" if self.task == "reconstruct" else "texture"
        return f"{label} {layers}: {source}{random}"

    def _layer_alive(self) -> bool:
        return self.result_layer is not None and self.result_layer in self.viewer.layers

    def _ui_alive(self) -> bool:
        """False once Qt has deleted this widget (its viewer was closed)."""
        try:
            self.native.objectName()
        except RuntimeError:
            return False
        return True

    def _on_update(self, update: Update) -> None:
        self._last_update = update
        if not self._ui_alive():
            return
        losses = update.losses
        parts = [f"step {update.step}/{update.total}", f"loss {losses.total:.4g}"]
        if losses.content:
            parts.append(f"content {losses.content_mean:.3g}")
        if losses.style:
            parts.append(f"style {losses.style_mean:.3g}")
        if update.step:
            parts.append(f"{update.elapsed / update.step:.2f} s/step")
        self.status.value = " | ".join(parts)
        if update.image is not None and self._layer_alive():
            self.result_layer.data = update.image

    def _on_result(self, result) -> None:
        if not self._ui_alive():
            return
        if not self._layer_alive():
            show_warning(f"{self.title}: the result layer was removed; result not shown")
            return
        provenance = result.provenance()
        provenance["status"] = "cancelled" if result.cancelled else "done"
        provenance["inputs"] = {role: {"layer": snap.name, "how": snap.note or "2D image"}
                                for role, snap in self._inputs.items()}
        layer = self.result_layer
        layer.data = result.image
        layer.metadata = {**layer.metadata, METADATA_KEY: provenance}
        name = self._result_name(result.config)
        if result.cancelled:
            name += f" (cancelled at {result.steps_done}/{result.config.steps})"
        layer.name = name
        last = result.history[-1]
        self.status.value = (f"{provenance['status']}: {result.steps_done} steps in "
                             f"{result.seconds:.1f} s, loss {last['total']:.4g} "
                             f"({result.weights['label']}, {result.device})")

    def _on_error(self, error: Exception) -> None:
        message = str(error) if isinstance(error, NeuralStyleError) else \
            f"{type(error).__name__}: {error}"
        show_error(f"{self.title} failed: {message}")
        if not self._ui_alive():
            return
        self.status.value = f"failed: {message}"
        if self._layer_alive():
            if self._last_update is None:  # nothing computed: the placeholder goes
                self.viewer.layers.remove(self.result_layer)
            else:
                self.result_layer.name += f" (failed at step {self._last_update.step})"

    def _on_finished(self) -> None:
        self.worker = None
        if self._ui_alive():
            self._set_running(False)


class TransferWidget(TaskWidget):
    """Style transfer: content features of one image, Gram matrices of another."""

    task = "transfer"
    title = "Style transfer"


class TextureWidget(TaskWidget):
    """Texture synthesis: match Gram matrices at chosen layers, from noise."""

    task = "texture"
    title = "Texture synthesis"


class ReconstructWidget(TaskWidget):
    """Content reconstruction: match one layer's feature maps, from noise."""

    task = "reconstruct"
    title = "Content reconstruction"
