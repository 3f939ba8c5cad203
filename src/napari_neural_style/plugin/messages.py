"""How the widgets speak: core messages in the widgets' words, labels that wrap."""

from __future__ import annotations

from magicgui.widgets import Label
from qtpy.QtWidgets import QSizePolicy

from ..core.config import OPTIONS
from ..core.errors import NeuralStyleError, reword
from ..core.weight_kinds import WEIGHT_CHOICES


def in_widget_words(name: str, value: str) -> str:
    """A setting named in a core message (``weights='random'``), as the widgets show it."""
    if name == "weights":
        sources = {source: label for label, source in WEIGHT_CHOICES}
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
    message would leave the canvas no room); unlabelled unless given a ``label``."""
    label = Label(name=name, value=value, **{"label": UNLABELLED, **options})
    label.native.setWordWrap(True)
    label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
