"""One widget per Config setting, built from its :class:`~..core.config.Option`: the widget
kind is all a field adds (label, tooltip, choices, range and default come from the Option),
and choosers for what needs more than one widget (VGG layers, weights)."""

from __future__ import annotations

import os
from pathlib import Path

from magicgui.widgets import ComboBox, FileEdit, FloatSpinBox, LineEdit, Select, SpinBox, Widget
from qtpy.QtWidgets import QAbstractItemView

from ..core.config import OPTIONS, TASK_LAYERS
from ..core.device import available_devices
from ..core.errors import NeuralStyleError
from ..core.sweep_spec import SWEEPS
from ..core.text_fields import TEXT_FIELDS
from ..core.vgg_layers import LAYERS, layer, parse_layers
from ..core.weight_kinds import WEIGHT_CHOICES
from .messages import UNLABELLED, wrapping_label

LAYER_CHOICES = [(entry.label, entry.name) for entry in LAYERS]
#: the settings a task widget shows, in order (``Option.widget``)
RUN_SETTINGS = tuple(name for name, option in OPTIONS.items() if option.widget == "run")
#: settings shown only while a Labels layer gives the regions
REGION_SETTINGS = ("region_mask", "feather")
#: settings whose default is None ("default": the engine decides), as text, and their type
OPTIONAL_NUMBERS = {"learning_rate": float, "coarse_steps": int, "tile": int,
                    "memory_limit": int}
#: what every widget that runs the network shows
ENGINE_SETTINGS = tuple(name for name, option in OPTIONS.items() if option.widget == "engine")
#: the folds of a run's settings, in order, and the settings each holds (every one of
#: RUN_SETTINGS and ENGINE_SETTINGS in one; the form adds its pickers and the weights)
GROUPS = {
    "Size and steps": ("size", "steps", "tolerance", "scales", "coarse_steps", "tile"),
    "Layers of the network": ("content_layers", "style_layers", "style_loss", "pooling"),
    "Loss weights": ("content_weight", "style_weight", "tv_weight", "style_scale", "style_size",
                     "region_mask", "feather"),
    "Optimizer": ("optimizer", "learning_rate", "lbfgs_history", "pixel_range",
                  "parametrization", "seed"),
    "Colour and start": ("init", "colour"),
    "Machine": ("device", "precision", "memory", "memory_limit"),
}
#: steps of the spin boxes, where one unit is too fine
INCREMENTS = {"size": 16, "content_weight": 0.1, "style_weight": 0.1, "tv_weight": 0.01,
              "tolerance": 0.0005}


def shown(name: str, value):
    """Config field ``name``'s ``value`` as its widget shows it (:func:`setting_value` reads
    it back)."""
    if name.endswith("_layers"):
        return list(value)
    if name in OPTIONAL_NUMBERS:
        return "default" if value is None else str(value)
    return TEXT_FIELDS[name][1](value) if name in TEXT_FIELDS else value


def setting_widget(name: str, value) -> Widget:
    """A widget for Config field ``name`` showing ``value``."""
    option = OPTIONS[name]
    common = {"name": name, "label": option.label, "tooltip": option.help}
    value = shown(name, value)
    if name.endswith("_layers"):
        select = Select(choices=LAYER_CHOICES, value=value, **common)
        select.native.setMinimumHeight(80)  # five rows, however tall the dock
        select.native.setMaximumHeight(110)
        return select
    if name == "device":
        return ComboBox(choices=available_devices(), value=value, **common)
    if option.choices is not None:
        return ComboBox(choices=list(option.choices), value=value, **common)
    if name in TEXT_FIELDS or name in OPTIONAL_NUMBERS:
        return LineEdit(value=value, **common)
    kind = SpinBox if isinstance(value, int) else FloatSpinBox
    return kind(value=value, min=option.low, max=option.high,
                step=INCREMENTS.get(name, 1), **common)


def setting_value(widget: Widget):
    """The Config value a widget from :func:`setting_widget` shows."""
    if widget.name.endswith("_layers"):
        return tuple(widget.value)
    if widget.name in TEXT_FIELDS:
        return TEXT_FIELDS[widget.name][0](widget.value)
    if widget.name in OPTIONAL_NUMBERS:
        return _optional_number(widget.name, widget.value)
    return widget.value


def _optional_number(name: str, text: str):
    """``"default"`` (or nothing) -> None, else the number ``text`` says."""
    text = text.strip().lower()
    if text in ("", "default"):
        return None
    try:
        return OPTIONAL_NUMBERS[name](text)
    except ValueError:
        raise NeuralStyleError(f"{OPTIONS[name].label}: write a number or 'default', not "
                               f"{text!r}") from None


def layer_presets(name: str) -> list[tuple[str, tuple[str, ...] | None]]:
    """One-click VGG layer choices for ``content_layers`` or ``style_layers``: each task's
    default, then each value a sweep of that setting visits (the paper's layers and groups)."""
    presets = {layers[name]: f"{task} default: {', '.join(layers[name])}"
               for task, layers in TASK_LAYERS.items() if name in layers}
    for value in SWEEPS[name].values:
        presets.setdefault(parse_layers(value), value)
    return [("presets...", None), *((label, layers) for layers, label in presets.items())]


class LayerChooser:
    """What a VGG layer list needs beside it: the choice spelled out in both namings (the list
    shows 8 of 37 rows, so a choice can sit out of sight) and presets one click away."""

    def __init__(self, select: Select):
        self.select = select
        self.presets = ComboBox(name=f"{select.name}_presets", label=UNLABELLED, value=None,
                                choices=layer_presets(select.name),
                                tooltip="the default layers, and the paper's layer groups")
        self.summary = wrapping_label(f"{select.name}_chosen", "")
        self.presets.changed.connect(self._preset_chosen)
        select.changed.connect(self._show_choice)
        self._show_choice()

    @property
    def widgets(self) -> list[Widget]:
        return [self.presets, self.select, self.summary]

    @property
    def visible(self) -> bool:
        return self.select.visible

    @visible.setter
    def visible(self, visible: bool) -> None:
        for widget in self.widgets:
            widget.visible = visible

    def _preset_chosen(self) -> None:
        if self.presets.value is not None:
            self.select.value = list(self.presets.value)
            self.presets.value = None

    def _show_choice(self) -> None:
        chosen = [layer(name) for name in self.select.value]
        self.summary.value = "chosen: " + (", ".join(entry.label for entry in chosen)
                                           or "none")
        if chosen:  # the first chosen row in view
            row = next(index for index, (_, name) in enumerate(LAYER_CHOICES)
                       if name == chosen[0].name)
            self.select.native.scrollToItem(self.select.native.item(row),
                                            QAbstractItemView.ScrollHint.PositionAtTop)


class WeightsChooser:
    """Where the VGG-19 weights come from: ImageNet, a file, or the untrained network."""

    def __init__(self):
        self.source = ComboBox(name="weights", label="weights", choices=WEIGHT_CHOICES,
                               value="imagenet", tooltip=OPTIONS["weights"].help)
        self.file = FileEdit(name="weights_file", label="weights file", mode="r",
                             filter="PyTorch state dict (*.pth *.pt)", visible=False)
        option = OPTIONS["weights_format"]
        self.format = ComboBox(name="weights_format", label=option.label, visible=False,
                               choices=list(option.choices), value="auto", tooltip=option.help)
        self.warning = wrapping_label(
            "weights_warning",
            "Untrained VGG-19: results are labelled 'random' (He et al. 2016).",
            visible=False)
        self.source.changed.connect(self._changed)

    @property
    def widgets(self) -> list[Widget]:
        return [self.source, self.file, self.format, self.warning]

    def _changed(self) -> None:
        self.file.visible = self.format.visible = self.source.value == "file"
        self.warning.visible = self.source.value.startswith("random")

    def spec(self) -> str:
        """``imagenet``, ``random`` or the chosen file's path."""
        if self.source.value != "file":
            return self.source.value
        path = Path(self.file.value)
        if not path.is_file():
            raise NeuralStyleError("choose an existing weights file (.pth) first")
        return os.fspath(path)

    def options(self) -> dict[str, str]:
        """``weights`` (:meth:`spec`) and ``weights_format``, as Config and the engine take
        them."""
        return {"weights": self.spec(),
                "weights_format": self.format.value if self.source.value == "file" else "auto"}

    def show(self, spec: str, file: str = "", weights_format: str = "auto") -> None:
        """Show weights ``spec`` (``imagenet``, ``random``, ``file`` with ``file``, or a
        path) and the file's ``weights_format``."""
        known = {source for _, source in WEIGHT_CHOICES}
        self.source.value = spec if spec in known else "file"
        if spec not in known or file:
            self.file.value = file or spec
        self.format.value = weights_format
