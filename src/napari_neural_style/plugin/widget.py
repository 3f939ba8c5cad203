"""The task widgets: style transfer, texture synthesis and content reconstruction.

Each owns a :class:`~.form.RunForm`.  Parameters and a copy of the input images are taken on
the main thread, the engine runs in a ``thread_worker`` (see :mod:`.worker`), and what it
yields comes back as one result layer that appears at once, updates live (its loss history
too, for the loss curves), and carries the run's provenance when done.  A large result, or
one over a multiscale content, is a multiscale layer (:mod:`.result_levels`), live at a
coarse level.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Container, Label, PushButton
from napari.layers import Image
from napari.utils.notifications import show_warning
from qtpy.QtWidgets import QApplication

from ..core.command_line import command_line
from ..core.config import Config
from ..core.errors import NeuralStyleError, reword
from ..core.estimate import cached_calibration, estimate
from ..core.result import recorded_config
from .base import METADATA_KEY, Job, PluginWidget, cluster_field, same
from .folds import Fold
from .form import RunForm
from .inputs import Inputs
from .messages import in_widget_words
from .preview import Preview
from .result_levels import ResultLevels
from .settings import remember
from .worker import Update, calibrate, optimize_in_levels


class TaskWidget(PluginWidget):
    """Shared widget for the three tasks; subclasses set :attr:`task`."""

    task = "transfer"
    title = "Style transfer"
    labelled = False

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self._inputs: Inputs | None = None
        self._last_update: Update | None = None
        self._levels = ResultLevels((1, 1), 1, 0)  # of the run started last
        self.preview: Preview | None = None
        self.form = RunForm(self.task, self.input_choices, self.labels_layers)
        self.from_result = PushButton(
            name="from_result", text="Settings of the selected result",
            tooltip="fill this widget from the selected result layer's provenance, inputs "
                    "too, to run it again or vary it")
        self.copy_command = PushButton(
            name="copy_command", text="Copy as command line",
            tooltip="copy the napari-neural-style command that runs these settings")
        self.from_result.changed.connect(self.use_selected_result)
        self.copy_command.changed.connect(self.copy_command_line)
        self.preview = Preview(self)
        self.estimate = Label(name="estimate", value="")
        self.estimate_button = PushButton(
            name="estimate_button", text="Estimate time and memory",
            tooltip="measure this machine once (a probe of about 30 s, kept for next time); "
                    "then the estimate follows every change")
        self.estimate_button.changed.connect(self.calibrate)
        self.cluster = cluster_field("the tiles of each step of a run that goes tile by tile "
                                     "(a run in one piece runs here)")
        tools = Fold("Tools", [self.preview.switch, self.from_result, self.copy_command,
                               self.cluster])
        run = Container(name="run_row", layout="horizontal",
                        widgets=[self.run_button, self.stop_button])
        self.extend([*self.parts(self.form.basics), *self.form.folds, tools,
                     self.estimate, self.estimate_button, run, self.status])
        self.follow(self.form.pickers, (self.form.regions.labels,))
        self.preview.watch()
        for widget in self.form.widgets:
            if hasattr(widget, "changed"):
                widget.changed.connect(self.update_estimate)
        self.update_estimate()

    def update_estimate(self, _value=None) -> None:
        """The run's time and memory from the cached calibration (core/estimate.py); nothing
        until the machine is calibrated or while the settings do not make a run."""
        try:
            config = self.form.config()
            shapes = [_picture_shape(picker.value) for picker in self.form.pickers.values()
                      if isinstance(picker.value, Image)]
        except NeuralStyleError:
            shapes = []
        calibration = cached_calibration(config) if shapes else None
        self.estimate_button.visible = bool(shapes) and calibration is None
        self.estimate.value = "" if calibration is None else reword(
            estimate(config, calibration, *shapes).describe(), in_widget_words)

    def calibrate(self) -> None:
        """Probe the machine in a worker, then show the estimate."""
        config = self._shown_config()
        if config is not None:
            self.start_job(Job(calibrate, (config,), self._say,
                               lambda _: self.update_estimate(), "calibrating..."))

    def is_own_output(self, layer) -> bool:
        return same(layer, self.result_layer) or (self.preview is not None and
                                                  same(layer, self.preview.layer))

    def prepare(self) -> Job:
        config = self.form.config()
        inputs = self._inputs = self.form.snapshot(self.viewer, config.size, self.title)
        self.preview.cancel()  # the run gets the CPU; the preview resumes at the next change
        self._last_update = None
        self._levels = ResultLevels.of(inputs.result_shape(config.size), inputs.source.levels)
        self._placeholder(config, inputs)
        remember(self.form.remembered())
        return Job(optimize_in_levels, (config, inputs.images, self._levels.count,
                                        self._levels.live, self.cluster.value.strip()),
                   self._on_update, self._on_result,
                   "starting (loading weights and computing targets)...",
                   total=config.total_steps(*inputs.shapes) + 1)

    def _shown_config(self) -> Config | None:
        """The settings shown as a Config; None, said, when they do not make one."""
        try:
            return self.form.config()
        except NeuralStyleError as error:
            self.refuse(error)
            return None

    def use_selected_result(self) -> None:
        """Fill the form from the selected result layer's ``metadata["neural_style"]``."""
        layer = self.viewer.layers.selection.active
        record = layer.metadata.get(METADATA_KEY) if layer is not None else None
        try:
            if not record or record.get("status") == "preview":
                raise NeuralStyleError("select a result layer (one this plugin made, not the "
                                       "preview) first")
            config = recorded_config(record)
            if config.task != self.task:
                raise NeuralStyleError(f"{layer.name!r} is a {config.task} result: fill the "
                                       f"{config.task} widget from it")
        except NeuralStyleError as error:
            self.refuse(error)
            return
        self.form.show(config)
        inputs = {role: entry["layer"] for role, entry in record.get("inputs", {}).items()}
        found = {role: next((layer for _, layer in self.image_layers() if layer.name == name),
                            None) for role, name in inputs.items() if role != "labels"}
        for role, chosen in found.items():
            if chosen is not None:
                self.form.pickers[role].value = chosen
        painted = next((layer for _, layer in self.labels_layers()
                        if layer.name == inputs.get("labels")), None)
        if config.regions and painted is not None:
            self.form.regions.labels.value = painted
            self.form.regions.show(config.regions, [found.get(
                "style" if index == 0 else f"style_{index + 1}") for index in
                range(max(style or 0 for _, style, _ in config.regions) + 1)])
        self.status.value = f"settings of {layer.name!r}"

    def copy_command_line(self) -> None:
        """Copy the command line of the settings shown (input files where layers have one)."""
        config = self._shown_config()
        if config is None:
            return
        files = {role: _file_of(picker.value, role) for role, picker in self.form.pickers.items()}
        files["style"] = [files[role] for role in self.form.styles.roles()]
        line = command_line(config, files)
        QApplication.clipboard().setText(line)
        self.status.value = f"copied: {line}"

    def _placeholder(self, config: Config, inputs: Inputs) -> None:
        """The result layer, shown at once and filled as the run goes.  It is this widget's
        own output before it enters the layer list, so no picker ever offers it."""
        # hidden until its first image: a black rectangle would hide the content meanwhile
        live = self._levels.live
        layer = Image(np.zeros((*self._levels.level_shape(live), 3), np.float32), rgb=True,
                      visible=False, contrast_limits=(0, 1),
                      name=f"{inputs.result_name(config)} (running)",
                      metadata={METADATA_KEY: {"status": "running", "task": config.task,
                                               "history": []}},
                      **self._levels.placement(inputs.source.placement(config.size), live))
        self.result_layer = layer  # the layer itself: the viewer napari gives plugins wraps it
        self.viewer.add_layer(layer)

    def _on_update(self, update: Update) -> None:
        first, self._last_update = self._last_update is None, update
        if not self.ui_alive():
            return
        losses = update.losses
        parts = [f"step {update.step}/{update.total}", f"loss {losses.total:.4g}",
                 *(f"{name} {losses.mean(name):.3g}" for name in losses.terms)]
        if update.step:
            parts.append(f"{update.elapsed / update.step:.2f} s/step")
        self.status.value = " | ".join(parts)
        if self._layer_alive():
            # in place, without an event: the loss curves widget polls it
            self.result_layer.metadata[METADATA_KEY]["history"].append(
                losses.record(update.step))
            if update.image is not None:
                self.result_layer.data = update.image
                if first:
                    self.result_layer.visible = True

    def _on_result(self, finished: tuple) -> None:
        result, levels = finished
        if not self._layer_alive():
            show_warning(f"{self.title}: the result layer was removed; result not shown")
            return
        layer = self.result_layer
        if len(levels) > 1:  # the finest level's placement, and every level
            layer.multiscale = True
            layer.data = levels
            placement = self._inputs.source.placement(result.config.size)
            layer.scale, layer.translate = placement["scale"], placement["translate"]
        else:
            layer.data = result.image
        layer.metadata = {**layer.metadata,
                          METADATA_KEY: provenance(result, self._inputs)}
        name = self._inputs.result_name(result.config)
        if result.cancelled:
            name += f" (cancelled at {result.steps_done}/{result.config.steps})"
        layer.name = name
        self.status.value = summary(result)
        self.report_failure([result])

    def on_failed(self) -> None:
        if self._layer_alive():
            if self._last_update is None:  # nothing computed: the placeholder goes
                self.viewer.layers.remove(self.result_layer)
            else:
                self.result_layer.name += f" (failed at step {self._last_update.step})"


def _file_of(layer, role: str) -> str:
    """The file a layer was opened from, else a stand-in named after it (or its role)."""
    if not isinstance(layer, Image):  # none chosen, or the on-screen composite
        return f"{role.upper()}.png"
    return str(layer.source.path) if layer.source.path else f"{layer.name}.png"


def provenance(result, inputs: Inputs) -> dict:
    """A result layer's ``metadata["neural_style"]``: the run's, its status and its inputs."""
    record = result.provenance()
    record["status"] = "cancelled" if result.cancelled else "done"
    record["inputs"] = inputs.record()
    return record


def summary(result) -> str:
    """Status line: outcome, steps, time, loss and the quality numbers at a glance."""
    status = "cancelled" if result.cancelled else "done"
    if result.stopped_by == "converged":
        status += " (converged)"
    quality = result.quality
    numbers = [f"{layer} c{value:.2g}" for layer, value in
               quality.get("content_error", {}).items()][:3]
    numbers += [f"{layer} g{value:.2g}" for layer, value in
                quality.get("gram_distance", {}).items()][:3]
    return (f"{status}: {result.steps_done} steps in {result.seconds:.1f} s, loss "
            f"{result.history[-1]['total']:.4g} ({result.weights['label']}, "
            f"{result.device})" + (f"\nquality: {', '.join(numbers)}" if numbers else ""))


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


def _picture_shape(layer: Image) -> tuple[int, ...]:
    """The shape of one picture of ``layer``, as a run takes it: ``(H, W[, C])``."""
    return tuple(layer.data.shape[-3:] if layer.rgb else layer.data.shape[-2:])
