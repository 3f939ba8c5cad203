"""The whole form of a run: :class:`RunForm` holds the input pickers (content, styles, a
start image, regions) and a widget per setting (:mod:`.fields`); the task widgets and the
sweep widget each own one and read it with :meth:`RunForm.config`.
"""

from __future__ import annotations

from collections.abc import Callable

from magicgui.widgets import ComboBox, Container, FloatSpinBox, PushButton, Widget
from napari.layers import Image
from napari.utils.notifications import show_info

from ..core.config import OPTIONS, TASK_INPUTS, TASK_LAYERS, Config
from ..core.errors import NeuralStyleError
from .basics import PresetChoice, StyleStrength
from .fields import (
    ENGINE_SETTINGS,
    GROUPS,
    REGION_SETTINGS,
    RUN_SETTINGS,
    LayerChooser,
    WeightsChooser,
    setting_value,
    setting_widget,
    shown,
)
from .folds import Fold
from .inputs import COLOURS, COMPOSITE, Inputs, Snapshot, composite, snapshot
from .messages import UNLABELLED, wrapping_label
from .regions import RegionTable
from .settings import REMEMBERED, defaults_note, starting_values


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
        """The pickers, each beside its blend weight (:attr:`buttons` go elsewhere)."""
        return [widget for pair in zip(self.pickers, self.weights, strict=True)
                for widget in pair]

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
        self.strength = StyleStrength(self.settings["style_weight"])
        self.preset = PresetChoice(self.settings)
        # the regions' Labels layer and "+ style" on one row: both are for a second look
        self.input_row = Container(name="input_row", layout="horizontal", label=UNLABELLED,
                                   widgets=[self.regions.labels, self.styles.buttons])
        self.input_row.margins = (0, 0, 0, 0)
        self.folds = [Fold(title, widgets) for title, widgets in self._grouped().items()]
        self._task = task
        self.task = task
        self.settings["init"].changed.connect(self._show_start_image)
        self.regions.labels.changed.connect(self._show_styles)
        self.apply(starting_values())

    @property
    def basics(self) -> list[Widget]:
        """What a first run needs, shown unfolded: the inputs, the style's strength and a
        preset."""
        return [self.content, *self.styles.widgets, self.input_row, self.regions.table,
                self.strength.row, self.preset.combo]

    def _grouped(self) -> dict[str, list[Widget]]:
        """The other widgets, by the fold that shows them (:data:`.fields.GROUPS`)."""
        extra = {"Colour and start": [self.start_image, self.colours],
                 "Machine": [*self.weights.widgets, self.defaults_note]}
        return {title: [widget for name in names for widget in
                        (self.choosers[name].widgets if name in self.choosers
                         else [self.settings[name]])] + extra.get(title, [])
                for title, names in GROUPS.items()}

    @property
    def widgets(self) -> list[Widget]:
        """Every widget of the form (the folds' contents too)."""
        return [*self.basics, *(widget for fold in self.folds for widget in fold)]

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
        for name in ("style_scale", "style_size"):
            self.settings[name].visible = self.task == "transfer" and not regions
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
        self.strength.row.visible = transfer
        self._show_styles()

    def set(self, **values) -> None:
        """Show ``values`` (Config field names)."""
        for name, value in values.items():
            self.settings[name].value = value

    def show(self, config: Config) -> None:
        """Show every setting of ``config`` (a recorded run's, to run it again), and open the
        folds that hold a setting other than the task's default."""
        self.set(**{name: shown(name, getattr(config, name)) for name in self.settings})
        self.styles.show_blend(config.style_blend)
        self.weights.show(config.weights, weights_format=config.weights_format)
        defaults = Config.for_task(config.task)
        changed = {name for name in self.settings
                   if getattr(config, name) != getattr(defaults, name)}
        if config.weights != defaults.weights:
            changed.add("weights")
        for fold in self.folds:
            if any(widget.name in changed for widget in fold):
                fold.opened = True

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
            given.update(style_blend=None, style_scale=(1.0,), style_size="working",
                         regions=self.regions.mapping()[1])
        return Config(self.task, **self.weights.options(), **given)

