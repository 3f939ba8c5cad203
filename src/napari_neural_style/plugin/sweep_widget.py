"""Sweeps in one click: a setting varied over values, the results stacked for the slider.

The widget owns a :class:`~.form.RunForm` for the run being swept.  The stack's first axis is
labelled with the swept setting and each slice's provenance sits in
``metadata["neural_style"]["slices"]``.  A seed sweep adds signed difference layers (result
vs result, result vs original) with a diverging colormap.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, LineEdit
from napari.utils import progress

from ..core.config import TASKS
from ..core.sweep_spec import SWEEPS, format_values, parse_values
from .base import METADATA_KEY, Job, PluginWidget, same
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

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.outputs: list = []
        self._progress = None
        self._inputs: Inputs | None = None
        first = SWEEPS[FIRST_SWEEP]
        self.parameter = ComboBox(name="parameter", label="sweep", value=FIRST_SWEEP,
                                  choices=[(entry.label, key) for key, entry in SWEEPS.items()])
        self.task_choice = ComboBox(name="task_choice", label="task", choices=list(TASKS),
                                    value=first.task)
        self.values = LineEdit(name="values", label="values", value=format_values(first.values))
        self.form = RunForm(first.task, self.input_choices, self.labels_layers)
        self.form.set(steps=100)
        self.extend([self.parameter, self.task_choice, self.values, *self.form.widgets,
                     *self.run_controls])
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

    def is_own_output(self, layer) -> bool:
        return any(same(layer, output) for output in self.outputs)

    def prepare(self) -> Job:
        config = self.form.config()
        parameter = self.parameter.value
        values = parse_values(parameter, self.values.value)
        inputs = self._inputs = self.form.snapshot(self.viewer, config.size, self.title)
        if parameter == "steps":  # one run, photographed along the way
            runs, steps = 1, max(values)
        else:
            runs, steps = len(values), config.total_steps(*inputs.shapes)
        self._progress = progress(total=runs * (steps + 1), desc=self.title)
        remember(self.form.remembered())
        return Job(sweep, (config, parameter, values, inputs.images),
                   self._on_sweep_step, self._on_sweep_result,
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

    def _on_sweep_step(self, step) -> None:
        if self._progress is not None:
            self._progress.update(len(step.runs))
        if self.ui_alive():
            self.status.value = (f"group {step.group + 1}/{step.groups} (runs "
                                 f"{', '.join(str(i + 1) for i in step.runs)}), step "
                                 f"{step.step}/{step.total}, loss "
                                 f"{min(losses.total for losses in step.losses):.4g}")

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
        layer = self.viewer.add_image(
            result.stack, rgb=True, contrast_limits=(0, 1), name=name,
            axis_labels=(f"{parameter}: {values}", "y", "x"),
            metadata={METADATA_KEY: {
                "sweep": parameter, "values": list(result.values),
                "slices": [provenance(run, self._inputs) for run in result.results],
                "status": "cancelled" if result.cancelled else "done"}},
            **stacked)
        self.outputs.append(layer)
        for kind, stack in found["differences"].items():
            self._add_difference(kind, stack, result.values, self._inputs.names + random,
                                 stacked)
        self.status.value = (f"{'cancelled' if result.cancelled else 'done'}: "
                             f"{len(result.results)} runs of {parameter} = "
                             f"{', '.join(map(str, result.values))}")
        self.report_failure(result.results)

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
