"""Folded groups of settings: a magicgui container inside superqt's ``QCollapsible`` (napari
ships superqt), so a dock starts with what a first run needs and keeps the rest one click
away.  magicgui has no collapsible container; this gives its Qt container a collapsible
frame, as magic-class's ``CollapsibleContainer`` does.
"""

from __future__ import annotations

from collections.abc import Iterable

from magicgui.backends._qtpy.widgets import Container as QtContainer
from magicgui.widgets import Widget
from magicgui.widgets.bases import ContainerWidget
from superqt import QCollapsible

from .settings import open_folds, remember_fold


class _CollapsibleQtContainer(QtContainer):
    """magicgui's Qt container (its layout holds the fields) inside a ``QCollapsible``, which
    is what the dock shows."""

    def __init__(self, layout: str = "vertical", scrollable: bool = False, **kwargs):
        super().__init__(layout=layout, scrollable=False, **kwargs)
        fields = self._qwidget
        self._qwidget = QCollapsible()
        self._qwidget.addWidget(fields)
        self._qwidget.layout().setContentsMargins(0, 0, 0, 0)


class Fold(ContainerWidget):
    """A titled group of widgets, folded until opened; open if the user left a fold of that
    title open, and what the user does with it is remembered (:mod:`.settings`)."""

    def __init__(self, title: str, widgets: Iterable[Widget]):
        super().__init__(widget_type=_CollapsibleQtContainer, name=fold_name(title),
                         labels=True, widgets=list(widgets))
        self.title = title
        self.native.setText(title)
        self.margins = (0, 0, 0, 0)
        self.opened = title in open_folds()
        self.native.toggled.connect(lambda opened: remember_fold(title, opened))

    @property
    def opened(self) -> bool:
        return self.native.isExpanded()

    @opened.setter
    def opened(self, opened: bool) -> None:
        if opened:
            self.native.expand(animate=False)
        else:
            self.native.collapse(animate=False)


def fold_name(title: str) -> str:
    """The widget name of the fold titled ``title`` (a setting's name is never one):
    "Layers of the network" -> ``layers_of_the_network_group``."""
    return "_".join([*title.lower().split(), "group"])


def find_widget(container: ContainerWidget, name: str) -> Widget | None:
    """The widget named ``name`` in ``container`` or in a container inside it, however deep."""
    for widget in container:
        if widget.name == name:
            return widget
        if isinstance(widget, ContainerWidget):
            found = find_widget(widget, name)
            if found is not None:
                return found
    return None
