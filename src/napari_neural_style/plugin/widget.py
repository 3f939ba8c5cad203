"""The task widgets: style transfer, texture synthesis and content reconstruction.

Parameters and a copy of the input images are taken on the main thread, the engine runs in a
``thread_worker`` (see :mod:`.worker`), and what it yields comes back as one result layer that
appears at once, updates live (its loss history too, for the loss curves), and carries the
run's provenance when done.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, FloatSpinBox, LineEdit, Select, SpinBox
from napari.layers import Image
from napari.utils.notifications import show_info, show_warning

from ..core.config import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_RECONSTRUCT_LAYER,
    DEFAULT_STYLE_LAYERS,
    INITS,
    MAX_STEPS,
    MEMORY_MODES,
    OPTIMIZERS,
    PRECISIONS,
    TASK_INPUTS,
    Config,
    parse_scales,
    working_shape,
)
from ..core.errors import NeuralStyleError
from ..core.vgg_layers import LAYERS
from .base import METADATA_KEY, PluginWidget
from .inputs import Snapshot, snapshot
from .worker import Update, optimize

LAYER_CHOICES = [(entry.label, entry.name) for entry in LAYERS]


class TaskWidget(PluginWidget):
    """Shared widget for the three tasks; subclasses set :attr:`task`."""

    task = "transfer"
    title = "Style transfer"

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.result_layer: Image | None = None
        self._inputs: dict[str, Snapshot] = {}
        self._last_update: Update | None = None
        self._build()
        self.follow_layers()
        self.show_task_fields()

    @property
    def inputs(self) -> tuple[str, ...]:
        """The images the current task reads: ``content`` and/or ``style``."""
        return TASK_INPUTS[self.task]

    def _build(self) -> None:
        self.content = self.image_picker("content", "content")
        self.style = self.image_picker("style", "style")
        content_default = (DEFAULT_RECONSTRUCT_LAYER,) if self.task == "reconstruct" else \
            DEFAULT_CONTENT_LAYERS
        self.content_layers = Select(label="content layers", choices=LAYER_CHOICES,
                                     value=list(content_default))
        self.style_layers = Select(label="style layers", choices=LAYER_CHOICES,
                                   value=list(DEFAULT_STYLE_LAYERS))
        for select in (self.content_layers, self.style_layers):
            select.native.setMaximumHeight(110)
        defaults = Config("transfer", content_default, DEFAULT_STYLE_LAYERS)
        self.content_weight = FloatSpinBox(label="content weight", value=defaults.content_weight,
                                           min=0, max=1e6, step=0.1)
        self.style_weight = FloatSpinBox(label="style weight", value=defaults.style_weight,
                                         min=0, max=1e6, step=0.1)
        self.tv_weight = FloatSpinBox(label="TV weight", value=defaults.tv_weight, min=0,
                                      max=1e6, step=0.01)
        self.init = ComboBox(label="start from", choices=list(INITS),
                             value="content" if self.task == "transfer" else "noise")
        self.steps = SpinBox(label="steps", value=defaults.steps, min=1, max=MAX_STEPS)
        self.seed = SpinBox(label="noise seed", value=defaults.seed, min=0, max=2**31 - 1)
        self.optimizer = ComboBox(label="optimizer", choices=list(OPTIMIZERS),
                                  value=defaults.optimizer)
        self.precision = ComboBox(label="precision", choices=list(PRECISIONS),
                                  value=defaults.precision)
        self.memory = ComboBox(label="memory", choices=list(MEMORY_MODES),
                               value=defaults.memory,
                               tooltip="lean: recompute activations in the backward pass, for "
                                       "large images (2048 px: 8.6 instead of 12.8 GB; "
                                       "1.2-1.4x the time). auto: lean from 2048 px")
        self.scales = LineEdit(label="scales (coarse to fine)", value="auto",
                               tooltip="fractions of the working size, e.g. 0.5, 1; each runs "
                                       "'steps' steps. auto: halve while >= 256 px")
        self.extend([
            self.content, self.style, self.content_layers, self.style_layers,
            self.content_weight, self.style_weight, self.tv_weight, self.init, self.steps,
            self.seed, self.optimizer, self.precision, self.memory, self.scales,
            *self.engine_settings(defaults), *self.run_controls(),
        ])

    def show_task_fields(self) -> None:
        """Show the inputs and settings the current task uses."""
        transfer = self.task == "transfer"
        self.content.label = "content" if transfer else "image"
        self.style.label = "style" if transfer else "texture source"
        self.content.visible = self.content_layers.visible = "content" in self.inputs
        self.style.visible = self.style_layers.visible = "style" in self.inputs
        self.content_weight.visible = self.style_weight.visible = self.init.visible = transfer
        if not transfer:
            self.init.value = "noise"

    def is_own_output(self, layer) -> bool:
        return layer is self.result_layer

    # -- running ---------------------------------------------------------------------------

    def config(self) -> Config:
        """The run configuration the widget shows now (validated)."""
        return Config(
            self.task,
            content_layers=tuple(self.content_layers.value) if "content" in self.inputs else (),
            style_layers=tuple(self.style_layers.value) if "style" in self.inputs else (),
            content_weight=self.content_weight.value, style_weight=self.style_weight.value,
            tv_weight=self.tv_weight.value, steps=self.steps.value, size=self.size.value,
            optimizer=self.optimizer.value, init=self.init.value, seed=self.seed.value,
            device=self.device.value, weights=self.weights_spec(), pooling=self.pooling.value,
            precision=self.precision.value, memory=self.memory.value,
            scales=parse_scales(self.scales.value),
        )

    def snapshot_inputs(self, size: int) -> dict[str, Snapshot]:
        """Copies of the displayed content and style images (main thread)."""
        inputs = {}
        for role, picker in (("content", self.content), ("style", self.style)):
            if role in self.inputs:
                inputs[role] = snapshot(self.picked(picker), self.viewer.dims.point, size)
        for note in (taken.note for taken in inputs.values() if taken.note):
            show_info(f"{self.title}: using {note}")
        return inputs

    def source(self) -> Snapshot:
        """The input a result overlays: the content image, else the texture source."""
        return self._inputs["content" if "content" in self._inputs else "style"]

    def start(self):
        """Start a run from the widget's values; returns the worker (None if refused)."""
        if self.worker is not None:
            return None
        try:
            config = self.config()
            self._inputs = self.snapshot_inputs(config.size)
        except NeuralStyleError as error:
            self.refuse(error)
            return None
        source = self.source()
        height, width = working_shape(*source.data.shape[:2], config.size)
        self._last_update = None
        self.result_layer = self.viewer.add_image(
            np.zeros((height, width, 3), np.float32), rgb=True, contrast_limits=(0, 1),
            name=f"{self.result_name(config)} (running)",
            metadata={METADATA_KEY: {"status": "running", "task": self.task, "history": []}},
            **source.placement(config.size),
        )
        self.status.value = "starting (loading weights and computing targets)..."
        content, style = self._inputs.get("content"), self._inputs.get("style")
        total = config.total_steps(*(taken.data.shape for taken in self._inputs.values()))
        return self.launch(optimize, config, content.data if content else None,
                           style.data if style else None, total=total + 1,
                           on_update=self._on_update, on_result=self._on_result)

    def result_name(self, config: Config) -> str:
        names = {role: taken.name for role, taken in self._inputs.items()}
        random = " [random]" if config.weights.startswith("random") else ""
        if config.task == "transfer":
            return f"transfer: {names['content']} x {names['style']}{random}"
        layers = ",".join(config.content_layers or config.style_layers)
        source = names.get("content") or names.get("style")
        label = "reconstruct" if config.task == "reconstruct" else "texture"
        return f"{label} {layers}: {source}{random}"

    def _layer_alive(self) -> bool:
        return self.result_layer is not None and self.result_layer in self.viewer.layers

    def _on_update(self, update: Update) -> None:
        self._last_update = update
        if not self.ui_alive():
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
        if self._layer_alive():
            # in place, without an event: the loss curves widget polls it
            self.result_layer.metadata[METADATA_KEY]["history"].append(
                losses.record(update.step))
            if update.image is not None:
                self.result_layer.data = update.image

    def _on_result(self, result) -> None:
        if not self._layer_alive():
            show_warning(f"{self.title}: the result layer was removed; result not shown")
            return
        layer = self.result_layer
        layer.data = result.image
        layer.metadata = {**layer.metadata, METADATA_KEY: self.provenance(result)}
        name = self.result_name(result.config)
        if result.cancelled:
            name += f" (cancelled at {result.steps_done}/{result.config.steps})"
        layer.name = name
        self.status.value = self.summary(result)

    def provenance(self, result) -> dict:
        record = result.provenance()
        record["status"] = "cancelled" if result.cancelled else "done"
        record["inputs"] = {role: {"layer": taken.name, "how": taken.note or "2D image"}
                            for role, taken in self._inputs.items()}
        return record

    def summary(self, result) -> str:
        """Status line: outcome, steps, time, loss and the quality numbers at a glance."""
        status = "cancelled" if result.cancelled else "done"
        quality = result.quality
        numbers = [f"{layer} c{value:.2g}" for layer, value in
                   quality.get("content_error", {}).items()][:3]
        numbers += [f"{layer} g{value:.2g}" for layer, value in
                    quality.get("gram_distance", {}).items()][:3]
        return (f"{status}: {result.steps_done} steps in {result.seconds:.1f} s, loss "
                f"{result.history[-1]['total']:.4g} ({result.weights['label']}, "
                f"{result.device})" + (f"\nquality: {', '.join(numbers)}" if numbers else ""))

    def on_failed(self) -> None:
        if self._layer_alive():
            if self._last_update is None:  # nothing computed: the placeholder goes
                self.viewer.layers.remove(self.result_layer)
            else:
                self.result_layer.name += f" (failed at step {self._last_update.step})"


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
