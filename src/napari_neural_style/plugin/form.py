"""The settings of a run as widgets, built from :class:`~..core.config.Config`'s own options.

Each widget takes its label, tooltip, choices, range and default from the Config field it
stands for (the command line reads the same), so a widget only adds what is Qt's: its kind.
:class:`RunForm` is the whole form of a task (input pickers, VGG layers, every setting); the
task widgets and the sweep widget each own one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    LineEdit,
    PushButton,
    Select,
    SpinBox,
    Widget,
)
from napari.layers import Image
from napari.utils.notifications import show_info
from qtpy.QtWidgets import QAbstractItemView, QSizePolicy

from ..core.config import (
    OPTIONS,
    TASK_INPUTS,
    TASK_LAYERS,
    TEXT_FIELDS,
    Config,
)
from ..core.device import available_devices
from ..core.errors import NeuralStyleError, reword
from ..core.sweep_spec import SWEEPS
from ..core.vgg_layers import LAYERS, layer, parse_layers
from .inputs import COLOURS, COMPOSITE, Inputs, Snapshot, composite, snapshot
from .regions import RegionTable
from .settings import REMEMBERED, defaults_note, starting_values

LAYER_CHOICES = [(entry.label, entry.name) for entry in LAYERS]
WEIGHT_SOURCES = [
    ("ImageNet (torchvision VGG-19)", "imagenet"),
    ("weights file...", "file"),
    ("untrained (random weights)", "random"),
    ("untrained, one network (faster)", "random-single"),
    ("untrained, as in 0.1 (Kaiming, max pooling)", "random-kaiming"),
]
#: the settings a task widget shows, in order
RUN_SETTINGS = ("content_layers", "style_layers", "content_weight", "style_weight",
                "tv_weight", "style_loss", "style_scale", "region_mask", "feather", "init",
                "colour", "steps", "seed", "optimizer", "learning_rate", "lbfgs_history",
                "pixel_range", "parametrization", "precision", "memory", "scales",
                "coarse_steps")
#: settings shown only while a Labels layer gives the regions
REGION_SETTINGS = ("region_mask", "feather")
#: settings whose default is None ("default": the engine decides), as text, and their type
OPTIONAL_NUMBERS = {"learning_rate": float, "coarse_steps": int}
#: what every widget that runs the network shows
ENGINE_SETTINGS = ("size", "pooling", "device")
#: steps of the spin boxes, where one unit is too fine
INCREMENTS = {"size": 16, "content_weight": 0.1, "style_weight": 0.1, "tv_weight": 0.01}


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


def in_widget_words(name: str, value: str) -> str:
    """A setting named in a core message (``weights='random'``), as this form shows it."""
    if name == "weights":
        sources = {source: label for label, source in WEIGHT_SOURCES}
        value = sources.get(value, sources["file"])
    label = OPTIONS[name].label if name in OPTIONS else name
    return f"'{label}: {value}'"


#: no label beside a widget (magicgui shows the widget's name for an empty one)
UNLABELLED = " "


def in_widget_message(error: Exception) -> str:
    """An error as the widgets say it: ours in their words, anything else by its type."""
    if isinstance(error, NeuralStyleError):
        return reword(str(error), in_widget_words)
    return f"{type(error).__name__}: {error}"


def wrapping_label(name: str, value: str, **options) -> Label:
    """A Label whose text wraps at the dock's width instead of widening the dock (a long
    error message once made it 2787 px wide and left the canvas none); unlabelled unless
    given a ``label``."""
    label = Label(name=name, value=value, **{"label": UNLABELLED, **options})
    label.native.setWordWrap(True)
    label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def layer_presets(name: str) -> list[tuple[str, tuple[str, ...] | None]]:
    """One-click VGG layer choices for ``content_layers`` or ``style_layers``: the seed's
    sets, then each value a sweep of that setting visits (the paper's layers and groups)."""
    presets = {layers[name]: f"the seed's {task}: {', '.join(layers[name])}"
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
                                tooltip="the seed's layers, and the paper's layer groups")
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
        self.source = ComboBox(name="weights", label="weights", choices=WEIGHT_SOURCES,
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
        known = {source for _, source in WEIGHT_SOURCES}
        self.source.value = spec if spec in known else "file"
        if spec not in known or file:
            self.file.value = file or spec
        self.format.value = weights_format


def image_picker(name: str, label: str, choices: Callable, **options) -> ComboBox:
    """A picker of napari Image layers; napari refreshes it as layers come, go and change
    name (for any docked widget with ``reset_choices``), ``choices`` filters the list.  It may
    show nothing: when its layer is removed it goes empty instead of jumping to another."""
    return ComboBox(name=name, label=label, annotation=Image, choices=choices, nullable=True,
                    **options)


def colours_choice() -> ComboBox:
    """How single-channel layers are taken: with their colormap as shown, or in grey."""
    return ComboBox(name="colours", label="single-channel layers", choices=COLOURS,
                    value="colormap", tooltip="Images are taken as displayed (contrast limits "
                    "and gamma applied); a single-channel layer with its colormap, or in grey")


def picked(picker: ComboBox) -> Image:
    """The layer ``picker`` shows; refuses, saying what to do, when there is none."""
    if picker.value is None:
        what = picker.label if picker.label.endswith("image") else f"{picker.label} image"
        raise NeuralStyleError(f"no {what}: choose one, or add an image layer")
    return picker.value


#: style pickers the widget can show (the command line and the engine take any number)
MAX_STYLES = 4


class StylePickers:
    """The style images: one picker, and up to :data:`MAX_STYLES` with "+ style", each
    beside its blend weight (``Config.style_blend``; shown when there are several)."""

    def __init__(self, choices: Callable):
        tooltip = ("the image whose Gram matrices (its style, its texture) are matched, taken "
                   "as displayed; '+ style' adds another, blended by the weights")
        self.pickers = [image_picker("style" if index == 0 else f"style_{index + 1}",
                                     "style", choices, tooltip=tooltip)
                        for index in range(MAX_STYLES)]
        self.weights = [FloatSpinBox(name=f"blend_{index + 1}", value=1.0, min=0.0, max=1000.0,
                                     step=0.5, label="   weight", visible=False,
                                     tooltip=OPTIONS["style_blend"].help)
                        for index in range(MAX_STYLES)]
        self.add = PushButton(name="add_style", text="+ style", tooltip="blend another style")
        self.remove = PushButton(name="remove_style", text="- style",
                                 tooltip="leave the last style out")
        self.buttons = Container(name="style_buttons", layout="horizontal", label=UNLABELLED,
                                 widgets=[self.add, self.remove], labels=False,
                                 tooltip="blend several styles, each by its weight")
        self.buttons.margins = (0, 0, 0, 0)
        self.add.changed.connect(lambda: self.show_count(self.count + 1))
        self.remove.changed.connect(lambda: self.show_count(self.count - 1))
        self.count, self.visible = 1, True
        self.show_count(1)

    @property
    def widgets(self) -> list[Widget]:
        return [widget for pair in zip(self.pickers, self.weights, strict=True)
                for widget in pair] + [self.buttons]

    def roles(self) -> list[str]:
        """The pickers in use: ``style``, ``style_2``..."""
        return [picker.name for picker in self.pickers[:self.count]]

    def show_count(self, count: int) -> None:
        """Use ``count`` styles (1 to :data:`MAX_STYLES`)."""
        self.count = min(max(count, 1), MAX_STYLES)
        self.set_visible(self.visible)

    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        for index, (picker, weight) in enumerate(zip(self.pickers, self.weights, strict=True)):
            picker.visible = shown = visible and index < self.count
            weight.visible = shown and self.count > 1
        self.buttons.visible = visible
        self.add.enabled, self.remove.enabled = self.count < MAX_STYLES, self.count > 1

    def label(self, text: str) -> None:
        for index, picker in enumerate(self.pickers):
            picker.label = text if index == 0 else f"{text} {index + 1}"

    def blend(self) -> tuple[float, ...] | None:
        """``style_blend``: the weights shown, when there are several styles."""
        return tuple(weight.value for weight in self.weights[:self.count]) \
            if self.count > 1 else None

    def show_blend(self, blend: tuple[float, ...] | None) -> None:
        self.show_count(len(blend or (1,)))
        for weight, value in zip(self.weights, blend or (), strict=False):
            weight.value = value


class RunForm:
    """Input pickers and every setting of a run of ``task``; :meth:`config` reads them."""

    def __init__(self, task: str, choices: Callable, labels_choices: Callable):
        self._choices = choices
        self.content = image_picker(
            "content", "content", choices,
            tooltip="the image whose features are matched, taken as displayed (the slice on "
                    "screen, its contrast limits and gamma)")
        self.styles = StylePickers(choices)
        self.style = self.styles.pickers[0]
        self.regions = RegionTable(choices, labels_choices)
        self.start_image = image_picker(
            "start_image", "start image", choices,
            tooltip="the image the run starts from (start from: image), taken as displayed "
                    "and resized to the working shape")
        self.colours = colours_choice()
        defaults = Config.for_task(task)
        # layers of inputs the task does not read start at the transfer's (a sweep may switch)
        layers = {**TASK_LAYERS["transfer"], **TASK_LAYERS[task]}
        self.settings = {name: setting_widget(name, layers.get(name, getattr(defaults, name)))
                         for name in (*RUN_SETTINGS, *ENGINE_SETTINGS)}
        self.choosers = {name: LayerChooser(self.settings[name])
                         for name in ("content_layers", "style_layers")}
        self.weights = WeightsChooser()
        self.defaults_note = wrapping_label("defaults_note", defaults_note())
        self._task = task
        self.task = task
        self.settings["init"].changed.connect(self._show_start_image)
        self.regions.labels.changed.connect(self._show_styles)
        self.apply(starting_values())

    @property
    def widgets(self) -> list[Widget]:
        settings = [self.choosers[name].widgets if name in self.choosers else [widget]
                    for name, widget in self.settings.items()]
        return [self.content, *self.styles.widgets, *self.regions.widgets, self.start_image,
                self.colours,
                *(widget for group in settings for widget in group), *self.weights.widgets,
                self.defaults_note]

    @property
    def pickers(self) -> dict[str, ComboBox]:
        return {"content": self.content, **{picker.name: picker for picker in
                                            self.styles.pickers}, "init": self.start_image}

    def roles(self) -> list[str]:
        """The pickers a run reads now: the task's inputs (every style shown), and the start
        image if chosen."""
        inputs = [name for role in TASK_INPUTS[self.task]
                  for name in (self.styles.roles() if role == "style" else [role])]
        return [*inputs, *(["init"] if self.settings["init"].value == "image" else [])]

    def _show_start_image(self) -> None:
        self.start_image.visible = "init" in self.roles()

    def _show_styles(self) -> None:
        """The style pickers, unless the regions table chooses the styles."""
        self.styles.set_visible("style" in self.roles() and not self.regions.active)
        regions = self.task == "transfer" and self.regions.active
        self.settings["style_scale"].visible = self.task == "transfer" and not regions
        for name in REGION_SETTINGS:
            self.settings[name].visible = regions

    def chosen(self) -> dict[str, object]:
        """The layer each role of a run reads now (``labels``: the regions' Labels layer);
        refuses, saying what to do, where one is missing."""
        if self.task == "transfer" and self.regions.active:
            layers, _ = self.regions.mapping()
            chosen = {"content": picked(self.content), "labels": self.regions.labels.value,
                      **{"style" if index == 0 else f"style_{index + 1}": layer
                         for index, layer in enumerate(layers)}}
        else:
            chosen = {role: picked(self.pickers[role]) for role in self.roles() if role != "init"}
        if "init" in self.roles():
            chosen["init"] = picked(self.start_image)
        return chosen

    @property
    def task(self) -> str:
        return self._task

    @task.setter
    def task(self, task: str) -> None:
        """Show the inputs and settings ``task`` uses, and its defaults where they differ."""
        self._task = task
        transfer = task == "transfer"
        self.content.label = "content" if transfer else "image"
        self.styles.label("style" if transfer else "texture source")
        for name, widget in self.settings.items():
            (self.choosers.get(name) or widget).visible = task in OPTIONS[name].tasks
        self.settings["init"].value = Config.for_task(task).init
        self.content.visible = "content" in self.roles()
        self.start_image.visible = "init" in self.roles()
        self.regions.set_visible(transfer)
        self._show_styles()

    def set(self, **values) -> None:
        """Show ``values`` (Config field names)."""
        for name, value in values.items():
            self.settings[name].value = value

    def show(self, config: Config) -> None:
        """Show every setting of ``config`` (a recorded run's, to run it again)."""
        self.set(**{name: shown(name, getattr(config, name)) for name in self.settings})
        self.styles.show_blend(config.style_blend)
        self.weights.show(config.weights, weights_format=config.weights_format)

    def apply(self, values: dict) -> None:
        """Show stored settings (:mod:`.settings`): Config fields and the weights file."""
        values = dict(values)
        if "weights" in values:
            self.weights.show(values.pop("weights"), values.pop("weights_file", ""),
                              values.pop("weights_format", "auto"))
        values.pop("weights_file", None)
        values.pop("weights_format", None)
        self.set(**{name: value for name, value in values.items() if name in self.settings})

    def remembered(self) -> dict:
        """The settings a run started with, as :func:`.settings.remember` keeps them."""
        values = {name: setting_value(self.settings[name]) for name in REMEMBERED
                  if name in self.settings}
        file = self.weights.source.value == "file"
        return {**values, "weights": self.weights.source.value,
                "weights_file": str(self.weights.file.value) if file else "",
                "weights_format": self.weights.format.value if file else "auto"}

    def snapshot(self, viewer, size: int, title: str | None) -> Inputs:
        """Copies of the images the task reads, as displayed now (main thread); how they
        were taken is notified under ``title`` (None: quietly)."""
        inputs = Inputs({role: self._take(layer, viewer, size, role == "labels")
                         for role, layer in self.chosen().items()})
        for note in inputs.notes if title else ():
            show_info(f"{title}: using {note}")
        return inputs

    def _take(self, choice, viewer, size: int, labels: bool = False) -> Snapshot:
        if choice is COMPOSITE:
            return composite([layer for _, layer in self._choices() if layer is not COMPOSITE],
                             viewer.dims.point, size)
        return snapshot(choice, viewer.dims.point, size,
                        "labels" if labels else self.colours.value)

    def config(self) -> Config:
        """The configuration the form shows now (validated)."""
        given = {name: setting_value(widget) for name, widget in self.settings.items()
                 if self.task in OPTIONS[name].tasks}
        if self.task in OPTIONS["style_blend"].tasks:
            given["style_blend"] = self.styles.blend()
        if self.task == "transfer" and self.regions.active:
            given.update(style_blend=None, style_scale=(1.0,), regions=self.regions.mapping()[1])
        return Config(self.task, **self.weights.options(), **given)

