"""Sweeps in one click: a setting varied over values, the results stacked for the slider.

The stack's first axis is labelled with the swept setting and each slice's provenance sits in
``metadata["neural_style"]["slices"]``.  A seed sweep adds signed difference layers (result
vs result, result vs original) with a diverging colormap.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, LineEdit
from napari.utils import progress

from ..core.errors import NeuralStyleError
from ..core.sweep_spec import SWEEPS as TABLE
from ..core.sweep_spec import format_values, parse_values
from .base import METADATA_KEY
from .widget import TaskWidget
from .worker import sweep

#: swept setting -> (menu text, the task it naturally belongs to, or None to keep the task)
SWEEPS = {
    "content_layers": ("reconstruction, layer by layer", "reconstruct"),
    "style_layers": ("texture, by layer group", "texture"),
    "seed": ("noise seeds (with differences)", None),
    "style_weight": ("style weight", "transfer"),
    "steps": ("steps (one run, photographed)", None),
    "optimizer": ("optimizer: L-BFGS vs Adam", None),
}


class SweepWidget(TaskWidget):
    """One click, one stacked layer: the same run over several values of one setting."""

    task = "reconstruct"
    title = "Sweeps"
    run_text = "Run sweep"

    def __init__(self, napari_viewer):
        self.outputs: list = []
        self._progress = None
        super().__init__(napari_viewer)
        self.parameter = ComboBox(label="sweep", choices=[(text, key) for key, (text, _) in
                                                          SWEEPS.items()],
                                  value="content_layers")
        self.task_choice = ComboBox(label="task", choices=["reconstruct", "texture", "transfer"],
                                    value=self.task)
        self.values = LineEdit(label="values",
                               value=format_values(TABLE["content_layers"].values))
        self.insert(0, self.values)
        self.insert(0, self.task_choice)
        self.insert(0, self.parameter)
        self.parameter.changed.connect(self._parameter_changed)
        self.task_choice.changed.connect(self._task_changed)
        self.steps.value = 100

    def _parameter_changed(self) -> None:
        key = self.parameter.value
        self.values.value = format_values(TABLE[key].values)
        natural = SWEEPS[key][1]
        if natural:
            self.task_choice.value = natural
        self._task_changed()

    def _task_changed(self) -> None:
        self.task = self.task_choice.value
        self.show_task_fields()
        seeds = self.parameter.value == "seed"  # seeds only matter when starting from noise
        self.init.value = "content" if self.task == "transfer" and not seeds else "noise"

    def is_own_output(self, layer) -> bool:
        return layer in self.outputs

    def start(self):
        if self.worker is not None:
            return None
        try:
            config = self.config()
            values = parse_values(self.parameter.value, self.values.value)
            self._inputs = self.snapshot_inputs(config.size)
        except NeuralStyleError as error:
            self.refuse(error)
            return None
        if self.parameter.value == "steps":
            runs, steps = 1, max(values)
        else:
            runs = len(values)
            steps = config.total_steps(*(taken.data.shape for taken in self._inputs.values()))
        self._progress = progress(total=runs * (steps + 1), desc=self.title)
        self.status.value = f"sweeping {self.parameter.value} over {len(values)} values..."
        content, style = self._inputs.get("content"), self._inputs.get("style")
        worker = self.launch(sweep, config, self.parameter.value, values,
                             content.data if content else None, style.data if style else None,
                             total=None, on_update=self._on_sweep_step,
                             on_result=self._on_sweep_result)
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
        config = result.results[0].config
        parameter = result.parameter
        stacked = self.source().placement(config.size, stacked=True)
        name = f"sweep {parameter}: {self.result_name(config)}"
        if result.cancelled:
            name += " (cancelled)"
        slices = [self.provenance(run) for run in result.results]
        layer = self.viewer.add_image(
            result.stack, rgb=True, contrast_limits=(0, 1), name=name,
            axis_labels=(parameter, "y", "x"),
            metadata={METADATA_KEY: {"sweep": parameter, "values": list(result.values),
                                     "slices": slices,
                                     "status": "cancelled" if result.cancelled else "done"}},
            **stacked)
        self.outputs.append(layer)
        for kind, stack in found["differences"].items():
            self._add_difference(kind, stack, result.values, name, stacked)
        self.status.value = (f"{'cancelled' if result.cancelled else 'done'}: "
                             f"{len(result.results)} runs of {parameter} = "
                             f"{', '.join(map(str, result.values))}")

    def _add_difference(self, kind: str, stack: np.ndarray, values: tuple, name: str,
                        placement: dict) -> None:
        if kind == "between":
            labels = [f"{parameter_value} - {values[0]}" for parameter_value in values[1:]]
            title = f"differences result - result: {name}"
        else:
            labels = [f"{parameter_value} - original" for parameter_value in values]
            title = f"differences result - original: {name}"
        layer = self.add_signed(
            stack, name=title,
            axis_labels=("difference", "y", "x"),
            metadata={METADATA_KEY: {"differences": kind, "pairs": labels}}, **placement)
        self.outputs.append(layer)
