"""Style a stack: every frame along one axis of an image layer (a z-stack, a time-lapse; its
other axes at the slice on display), one result layer laid over it on every axis, filled frame
by frame as frames finish (core/frames.py).

The widget owns a transfer :class:`~.form.RunForm` (the content picker takes the stack; the
style images are taken as displayed, as in the transfer widget) and the movie's settings
(``config.FrameSettings``).  Stop keeps every finished frame; the result's provenance says
which frames are done, cancelled or not done.  Frames on their own can go out as tasks on a
dask cluster (the "dask cluster" field).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, FloatSpinBox, SpinBox
from napari.layers import Image
from napari.utils.notifications import show_warning

from ..core.errors import NeuralStyleError
from ..core.frame_settings import FRAME_OPTIONS, FrameSettings
from ..core.geometry import working_shape
from .base import METADATA_KEY, Job, PluginWidget, cluster_field, same
from .folds import Fold
from .form import RunForm, picked
from .inputs import StackSnapshot, random_mark, stack_snapshot
from .worker import FrameUpdate, style_frames


class StackWidget(PluginWidget):
    """Style transfer on every frame of a stack, without flicker (temporal consistency)."""

    title = "Style a stack"
    run_text = "Run on every frame"
    labelled = False

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self._stack: StackSnapshot | None = None
        self.form = RunForm("transfer", self.image_layers, self.labels_layers)
        self.form.content.label = "stack"
        defaults = FrameSettings()
        self.axis = ComboBox(name="frame_axis", label="frames along", choices=self._axes,
                             tooltip="the axis whose frames are styled; the stack's other "
                                     "axes stay at the slice on display")
        self.form.content.changed.connect(self.axis.reset_choices)
        temporal, weight, steps = FRAME_OPTIONS.values()
        self.temporal = ComboBox(name="temporal", label=temporal.label,
                                 choices=list(temporal.choices), value=defaults.temporal,
                                 tooltip=temporal.help)
        self.temporal_weight = FloatSpinBox(
            name="temporal_weight", label=weight.label, value=defaults.temporal_weight,
            min=weight.low, max=weight.high, tooltip=weight.help)
        self.frame_steps = SpinBox(name="frame_steps", label=steps.label, value=0, min=0,
                                   max=steps.high, tooltip=f"{steps.help}; 0: as steps")
        self.cluster = cluster_field("every frame (with frames: none)")
        self.extend([*self.parts([*self.form.basics, self.axis]), *self.form.folds,
                     Fold("Frames", [self.temporal, self.temporal_weight, self.frame_steps,
                                     self.cluster]),
                     self.run_button, self.stop_button, self.status])
        self.follow(self.form.pickers, (self.form.regions.labels,))

    def is_own_output(self, layer) -> bool:
        return same(layer, self.result_layer)

    def _axes(self, _widget=None) -> list[tuple[str, int]]:
        """The chosen stack's axes before y and x, by the layer's labels for them."""
        layer = self.form.content.value
        if not isinstance(layer, Image) or layer.ndim < 3:
            return []
        return [(f"{layer.axis_labels[axis]}: {layer.data.shape[axis]} frames", axis)
                for axis in range(layer.ndim - 2)]

    def settings(self) -> FrameSettings:
        return FrameSettings(self.temporal.value, self.temporal_weight.value,
                             self.frame_steps.value or None)

    def prepare(self) -> Job:
        config = self.form.config()
        settings = self.settings()
        if self.axis.value is None:
            raise NeuralStyleError("choose a stack: an image layer with an axis of frames "
                                   "before y and x")
        cluster = self.cluster.value.strip()
        if cluster and settings.temporal != "none":
            raise NeuralStyleError("on a dask cluster every frame is styled on its own: set "
                                   "frames to none, or leave the cluster empty")
        stack = self._stack = stack_snapshot(picked(self.form.content), self.viewer.dims.point,
                                             self.axis.value, self.form.colours.value)
        images = self.form.snapshot(self.viewer, config.size, None).images
        labels = self._label_stack(len(stack.frames)) if config.regions else None
        self._placeholder(config, stack)
        frames = len(stack.frames)
        later = settings.frame_steps or config.steps
        return Job(style_frames, (config, stack.frames, images["style"], settings, labels,
                                  cluster), self._on_update, self._on_result,
                   "starting (loading weights and computing targets)...",
                   # tasks on a cluster report when they end, not every step
                   total=None if cluster else
                   config.total_steps(stack.frames.shape[1:3]) + later * (frames - 1))

    def _label_stack(self, frames: int) -> np.ndarray:
        """A copy of the regions' Labels layer, one label image per frame."""
        layer = self.form.regions.labels.value
        if layer.ndim != 3 or len(layer.data) != frames or layer.multiscale:
            raise NeuralStyleError(f"the Labels layer {layer.name!r} must hold a label image "
                                   f"per frame: shape ({frames}, y, x), as the stack")
        return np.array(layer.data)

    def _placeholder(self, config, stack: StackSnapshot) -> None:
        """The result layer at once, black frames filled as they finish, laid over the
        stack on every axis."""
        height, width = working_shape(*stack.frames.shape[1:3], config.size)
        name = f"frames: {stack.name}{random_mark(config.weights)}"
        layer = Image(np.zeros((*stack.leading, height, width, 3), np.float32), rgb=True,
                      contrast_limits=(0, 1), name=f"{name} (running)",
                      metadata={METADATA_KEY: {"status": "running", "task": "frames"}},
                      **stack.placement(config.size))
        self.result_layer = layer
        self.viewer.add_layer(layer)

    def _on_update(self, update: FrameUpdate | str) -> None:
        if not self.ui_alive():
            return
        if isinstance(update, str):  # waiting on the cluster
            self.status.value = update
            return
        self.status.value = (f"frame {update.frame + 1}/{len(self._stack.frames)}: step "
                             f"{update.step}/{update.total}")
        if update.image is not None and self._layer_alive():
            self.result_layer.data[self._stack.position(update.frame)] = update.image
            self.result_layer.refresh()

    def _on_result(self, outcome: dict) -> None:
        if not self._layer_alive():
            show_warning(f"{self.title}: the result layer was removed; result not shown")
            return
        layer, record = self.result_layer, outcome["provenance"]
        frames = record.get("frames", {})
        layer.data = outcome["stack"].reshape(layer.data.shape)
        stopped = len(frames.get("done", [])) < frames.get("count", 0)
        layer.metadata = {**layer.metadata, METADATA_KEY: {
            **record, "status": "cancelled" if stopped else "done",
            "inputs": {"stack": {"layer": self._stack.name, "values": self._stack.display}}}}
        done = f"{len(frames.get('done', []))} of {frames.get('count', 0)} frames"
        layer.name = layer.name.replace(" (running)", f" (stopped: {done})" if stopped else "")
        flicker = frames.get("flicker")
        self.status.value = f"{'stopped' if stopped else 'done'}: {done}" + (
            f", flicker {flicker:.2f}" if flicker is not None else "")

    def on_failed(self) -> None:
        if self._layer_alive():
            self.result_layer.name = self.result_layer.name.replace(" (running)", " (failed)")
