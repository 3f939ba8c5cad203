"""Sweeps in one click: a setting varied over values, the results stacked for the slider.

The widget owns a :class:`~.form.RunForm` for the run being swept.  The stack layer appears
with the first finished value and fills as the others finish (in this process, or as tasks on
a dask cluster: the "dask cluster" field).  Its first axis is labelled with the swept setting
and each slice's provenance, where it ran too, sits in ``metadata["neural_style"]["slices"]``.
A seed sweep adds signed difference layers (result vs result, result vs original) with a
diverging colormap.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, LineEdit
from napari.utils import progress

from ..core.config import TASKS
from ..core.sweep_spec import (
    SWEEPS,
    SweepSlice,
    SweepStep,
    SweepWaiting,
    format_values,
    parse_values,
)
from .base import METADATA_KEY, Job, PluginWidget, cluster_field, same
from .form import RunForm
from .inputs import Inputs, random_mark
from .settings import remember
from .widget import provenance
from .worker import sweep

FIRST_SWEEP = "content_layers"


class SweepWidget(PluginWidget):
    """One click, one stacked layer: the same run over several values of one setting."""

    title = "Sweeps"
    run_text = "Run sweep"
    labelled = False

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.outputs: list = []
        self._progress = None
        self._inputs: Inputs | None = None
        self._parameter, self._values = FIRST_SWEEP, ()  # of the sweep running
        self._counting_values = False
        first = SWEEPS[FIRST_SWEEP]
        self.parameter = ComboBox(name="parameter", label="sweep", value=FIRST_SWEEP,
                                  choices=[(entry.label, key) for key, entry in SWEEPS.items()])
        self.task_choice = ComboBox(name="task_choice", label="task", choices=list(TASKS),
                                    value=first.task)
        self.values = LineEdit(name="values", label="values", value=format_values(first.values))
        self.cluster = cluster_field("every value")
        self.form = RunForm(first.task, self.input_choices, self.labels_layers)
        self.form.set(steps=100)
        self.extend([*self.parts([self.parameter, self.task_choice, self.values,
                                  *self.form.basics]), *self.form.folds,
                     *self.parts([self.cluster]), self.run_button, self.stop_button,
                     self.status])
        self.parameter.changed.connect(self._parameter_changed)
        self.task_choice.changed.connect(self._task_changed)
        self.follow(self.form.pickers, (self.form.regions.labels,))

    def _parameter_changed(self) -> None:
        """The swept setting's default values, the task it belongs to, what it needs."""
        sweepable = SWEEPS[self.parameter.value]
        self.values.value = format_values(sweepable.values)
        if sweepable.task:
            self.task_choice.value = sweepable.task
        self._task_changed()

    def _task_changed(self) -> None:
        self.form.task = self.task_choice.value
        self.form.set(**SWEEPS[self.parameter.value].overrides)

    def forget_removed(self, event=None) -> None:
        """Its outputs too: holding them would keep every sweep's stacks in memory."""
        super().forget_removed(event)
        self.outputs = [layer for layer in self.outputs if layer in self.viewer.layers]

    def is_own_output(self, layer) -> bool:
        return any(same(layer, output) for output in self.outputs)

    def prepare(self) -> Job:
        config = self.form.config()
        parameter = self.parameter.value
        values = parse_values(parameter, self.values.value)
        inputs = self._inputs = self.form.snapshot(self.viewer, config.size, self.title)
        cluster = self.cluster.value.strip()
        #: on a cluster the bar counts values (a task says when it ends), here steps
        self._counting_values = bool(cluster)
        if cluster:
            total = len(values)
        elif parameter == "steps":  # one run, photographed along the way
            total = max(values) + 1
        else:
            total = len(values) * (config.total_steps(*inputs.shapes) + 1)
        self._progress = progress(total=total, desc=self.title)
        self.result_layer, self._parameter, self._values = None, parameter, values
        remember(self.form.remembered())
        return Job(sweep, (config, parameter, values, inputs.images, cluster),
                   self._on_event, self._on_sweep_result,
                   f"sweeping {parameter} over {len(values)} values...")

    def start(self):
        worker = super().start()
        if worker is not None:
            worker.finished.connect(self._close_progress)
        return worker

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    def _on_event(self, event) -> None:
        """A step (progress), a finished value (its slice, shown at once), a wait on the
        cluster or a word from the worker (the status line)."""
        if isinstance(event, SweepSlice):
            self._show_slice(event)
        elif self._progress is not None and isinstance(event, SweepStep):
            self._progress.update(len(event.runs))
        if not self.ui_alive():
            return
        if isinstance(event, SweepStep):
            self.status.value = (f"value {event.runs[0] + 1} of {len(self._values)}"
                                 f"{' (with the others)' if len(event.runs) > 1 else ''}, "
                                 f"step {event.step}/{event.total}, loss "
                                 f"{min(losses.total for losses in event.losses):.4g}")
        elif isinstance(event, SweepWaiting):
            self.status.value = event.describe()
        elif isinstance(event, str):
            self.status.value = event

    def _show_slice(self, event: SweepSlice) -> None:
        """Value ``event.index``'s image into its slice of the stack layer, made on the first
        (the other slices black until they finish)."""
        if self._progress is not None and self._counting_values:
            self._progress.update(1)
        if self.result_layer is None:
            image = event.result.image
            self.result_layer = self.viewer.add_image(
                np.zeros((len(self._values), *image.shape), np.float32), rgb=True,
                contrast_limits=(0, 1), name=f"sweep {self._parameter} (running)",
                axis_labels=(f"{self._parameter}: "
                             f"{' | '.join(map(str, self._values))}", "y", "x"),
                metadata={METADATA_KEY: {"status": "running"}},
                **self._inputs.source.placement(event.result.config.size, stacked=True))
            self.outputs.append(self.result_layer)
        if self._layer_alive():
            self.result_layer.data[event.index] = event.result.image
            self.result_layer.refresh()

    def _on_sweep_result(self, found: dict) -> None:
        result = found["result"]
        config, parameter = result.results[0].config, result.parameter
        stacked = self._inputs.source.placement(config.size, stacked=True)
        values = " | ".join(map(str, result.values))
        random = random_mark(config.weights)
        name = f"sweep {parameter} = {values}: {config.task} of {self._inputs.names}{random}"
        if result.cancelled:
            name += " (cancelled)"
        # the slider shows an index: the axis label says which value each index is
        shown = {"name": name, "axis_labels": (f"{parameter}: {values}", "y", "x"),
                 "metadata": {METADATA_KEY: {
                     "sweep": parameter, "values": list(result.values),
                     "slices": [provenance(run, self._inputs) for run in result.results],
                     "status": "cancelled" if result.cancelled else "done"}}}
        if self._layer_alive():  # the values done, in order (a stopped sweep has fewer)
            self.result_layer.data = result.stack
            for key, value in shown.items():
                setattr(self.result_layer, key, value)
        else:
            self.outputs.append(self.viewer.add_image(result.stack, rgb=True,
                                                      contrast_limits=(0, 1), **shown,
                                                      **stacked))
        for kind, stack in found["differences"].items():
            self._add_difference(kind, stack, result.values, self._inputs.names + random,
                                 stacked)
        self.status.value = (f"{'cancelled' if result.cancelled else 'done'}: "
                             f"{len(result.results)} runs of {parameter} = "
                             f"{', '.join(map(str, result.values))}")
        self.report_failure(result.results)

    def on_failed(self) -> None:
        """The stack so far stays, named as failed (its finished slices are results)."""
        if self._layer_alive():
            self.result_layer.name = self.result_layer.name.replace(" (running)", " (failed)")

    def _add_difference(self, kind: str, stack: np.ndarray, values: tuple, name: str,
                        placement: dict) -> None:
        """Signed differences of the seeds' results, named by what they compare first (the
        layer list cuts long names at the end)."""
        if kind == "between":
            labels = [f"{parameter_value} - {values[0]}" for parameter_value in values[1:]]
            title = f"seeds minus seed {values[0]}: {name}"
        else:
            labels = [f"{parameter_value} - original" for parameter_value in values]
            title = f"seeds minus the original: {name}"
        layer = self.add_signed(
            stack, name=title,
            axis_labels=(f"seed: {' | '.join(labels)}", "y", "x"),
            metadata={METADATA_KEY: {"differences": kind, "pairs": labels}}, **placement)
        self.outputs.append(layer)
