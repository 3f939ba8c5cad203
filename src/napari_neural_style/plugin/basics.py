"""The two choices a first run makes beside its images, each standing for several settings
that stay in the folded groups: how strongly the style shows (the style weight, on a log
slider) and a preset by purpose (size, steps, scales, precision, memory, when to stop).
Both follow the fields they stand for: a hand change there shows here.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label, Slider, Widget

from ..core.errors import NeuralStyleError
from ..core.presets import CUSTOM, PRESET_FIELDS, PRESETS, preset_of
from .fields import setting_value, shown

#: the style weights the slider spans (the field takes any weight), and its positions: a
#: hundredth of a decade apart
STRENGTH_RANGE = (0.01, 100.0)
POSITIONS = 400


class StyleStrength:
    """A slider over the style weight field on a log scale, the weight's number beside it; a
    weight outside the slider's span (0, say) puts it at the nearest end while the field
    keeps it."""

    def __init__(self, weight: FloatSpinBox):
        self.weight = weight
        tooltip = ("how strongly the style shows: the style weight (Loss weights), against "
                   "a content weight of 1")
        self.slider = Slider(name="style_strength", min=0, max=POSITIONS, readout=False,
                             value=self._position(weight.value), tooltip=tooltip)
        self.number = Label(name="style_strength_value")
        self.row = Container(
            name="style_strength_row", label="style strength", layout="horizontal",
            labels=False, widgets=[self.slider, self.number], tooltip=tooltip)
        self.row.margins = (0, 0, 0, 0)
        self._show_number(weight.value)
        self.slider.changed.connect(self._to_weight)
        weight.changed.connect(self._to_slider)

    @property
    def value(self) -> float:
        """The style weight the slider stands at: ``low * (high / low) ** (p / POSITIONS)``."""
        low, high = STRENGTH_RANGE
        return low * (high / low) ** (self.slider.value / POSITIONS)

    @value.setter
    def value(self, weight: float) -> None:
        self.slider.value = self._position(weight)

    def _position(self, weight: float) -> int:
        low, high = STRENGTH_RANGE
        weight = min(max(weight, low), high)
        return round(POSITIONS * math.log(weight / low) / math.log(high / low))

    def _to_weight(self, position: int) -> None:
        if position != self._position(self.weight.value):
            self.weight.value = float(f"{self.value:.2g}")

    def _to_slider(self, weight: float) -> None:
        self._show_number(weight)
        if self.slider.value != self._position(weight):
            self.slider.value = self._position(weight)

    def _show_number(self, weight: float) -> None:
        self.number.value = f"{weight:g}"


class PresetChoice:
    """A preset by purpose (:data:`~..core.presets.PRESETS`): choosing one sets its fields,
    and a hand change of one of them shows "custom"."""

    def __init__(self, settings: dict[str, Widget]):
        self.settings = settings
        self.combo = ComboBox(
            name="preset", label="quality", choices=[*PRESETS, CUSTOM],
            tooltip="; ".join(f"{name}: {preset.purpose} ({preset.size} px, up to "
                              f"{preset.steps} steps)" for name, preset in PRESETS.items())
            + "; custom: the fields in the groups below, set by hand")
        self.follow()
        self.combo.changed.connect(self._chosen)
        for name in PRESET_FIELDS:
            settings[name].changed.connect(self.follow)

    def _chosen(self, name: str) -> None:
        if name in PRESETS:
            for field, value in PRESETS[name].values().items():
                self.settings[field].value = shown(field, value)

    def follow(self, _value=None) -> None:
        """Show the preset the fields now match (or "custom")."""
        try:
            found = preset_of(SimpleNamespace(**{name: setting_value(self.settings[name])
                                                 for name in PRESET_FIELDS}))
        except NeuralStyleError:  # a field mid-edit (text that is no number yet)
            found = CUSTOM
        if found != self.combo.value:
            with self.combo.changed.blocked():
                self.combo.value = found
