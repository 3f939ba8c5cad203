"""Look inside: feature maps, mosaics of the strongest channels, and Gram matrices.

Feature maps come back as one ``(channels, H, W)`` layer per VGG layer, the slider walking the
channels (axis labelled), scaled to overlay the source image.  Gram matrices come back as
``(C, C)`` images; with a second image chosen, also the difference of the two Grams with a
diverging colormap.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Select, SpinBox

from ..core.config import Config
from ..core.errors import NeuralStyleError
from ..core.vgg_layers import after_relu, downsampling, layer
from .base import METADATA_KEY, Job, PluginWidget
from .fields import ENGINE_SETTINGS, LAYER_CHOICES, WeightsChooser, setting_value, setting_widget
from .form import colours_choice, image_picker, picked
from .inputs import Snapshot, random_mark, snapshot
from .worker import look_inside

VIEWS = [("feature maps (slider over channels)", "features"),
         ("mosaic of the strongest channels", "mosaic"),
         ("Gram matrices", "gram")]


class InspectWidget(PluginWidget):
    """Feature maps and Gram matrices of any image layer, at any VGG-19 layers."""

    title = "Look inside"
    run_text = "Show"

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.image = image_picker("image", "image", self.image_layers)
        # a Gram difference is asked for, not assumed: no layer until one is chosen
        self.compare = image_picker("compare", "Gram difference to", self.image_layers,
                                    value=None)
        self.colours = colours_choice()
        self.view = ComboBox(name="view", label="show", choices=VIEWS, value="features")
        self.layers = Select(name="layers", label="VGG layers", choices=LAYER_CHOICES,
                             value=["conv_1", "conv_4", "conv_9"])
        self.layers.native.setMaximumHeight(110)
        self.relu = CheckBox(name="relu", text="after ReLU", value=False)
        self.contrast = CheckBox(name="contrast", text="per-channel contrast", value=True)
        self.count = SpinBox(name="count", label="mosaic channels", value=16, min=1, max=512)
        # feature maps are cheap to look at: a smaller working size than a run's
        defaults = Config.for_task("reconstruct", size=256)
        self.settings = {name: setting_widget(name, getattr(defaults, name))
                         for name in ENGINE_SETTINGS}
        self.weights_chooser = WeightsChooser()
        self.extend([self.image, self.colours, self.view, self.compare, self.layers, self.relu,
                     self.contrast, self.count, *self.settings.values(),
                     *self.weights_chooser.widgets, *self.run_controls])
        self.view.changed.connect(self._view_changed)
        self.follow({"content": self.image})
        self._view_changed()
        self._source: Snapshot | None = None
        self._other: Snapshot | None = None

    def _view_changed(self) -> None:
        view = self.view.value
        self.compare.visible = view == "gram"
        self.contrast.visible = view == "features"
        self.count.visible = view == "mosaic"

    def chosen_layers(self) -> tuple[str, ...]:
        names = tuple(self.layers.value)
        if not names:
            raise NeuralStyleError("choose at least one VGG layer")
        return tuple(dict.fromkeys(after_relu(name) if self.relu.value else layer(name).name
                                   for name in names))

    def prepare(self) -> Job:
        names = self.chosen_layers()
        options = {name: setting_value(widget) for name, widget in self.settings.items()}
        options.update(self.weights_chooser.options())
        size, point = options["size"], self.viewer.dims.point
        self._source = snapshot(picked(self.image), point, size, self.colours.value)
        compare = self.compare.value if self.view.value == "gram" else None
        self._other = snapshot(compare, point, size, self.colours.value) \
            if compare is not None else None
        other = self._other
        return Job(look_inside, (self._source.data, other.data if other else None, names,
                                 self.view.value, self.count.value, self.contrast.value,
                                 options),
                   lambda _: None, self._show,
                   f"computing {self.view.value} at {', '.join(names)}...")

    def _show(self, found: dict) -> None:
        view, source = self.view.value, self._source
        weights = random_mark(self.weights_chooser.source.value)
        for name, array in found["maps"].items():
            label = layer(name).label
            meta = {METADATA_KEY: {"inspect": view, "layer": name, "image": source.name,
                                   "size": self.settings["size"].value,
                                   "weights": self.weights_chooser.source.value}}
            if view == "features":
                # layers of several VGG layers share the channel slider: its label names no
                # one of them, each layer's name says whose channels and how many
                self.viewer.add_image(
                    array, name=f"features {label}, {len(array)} channels: {source.name}"
                                f"{weights}", colormap="magma",
                    axis_labels=("channel", "y", "x"), metadata=meta,
                    contrast_limits=(0, 1) if self.contrast.value else None,
                    **self._feature_placement(name))
            elif view == "mosaic":
                self.viewer.add_image(
                    array, name=f"mosaic {label}: {source.name}{weights} "
                                f"({self.count.value} strongest)", colormap="magma",
                    contrast_limits=(0, 1), metadata=meta)
            else:
                self.viewer.add_image(array, name=f"gram {label}: {source.name}{weights}",
                                      colormap="viridis", metadata=meta)
        for name, difference in found["difference"].items():
            self.add_signed(
                difference,
                name=f"gram difference {layer(name).label}: {source.name} - {self._other.name}",
                metadata={METADATA_KEY: {"inspect": "gram difference", "layer": name,
                                         "images": [source.name, self._other.name]}})
        self.status.value = f"shown: {view} at {', '.join(found['maps'])}"

    def _feature_placement(self, name: str) -> dict:
        """Scale and translate of a ``(C, H, W)`` feature map overlaying its source image."""
        return self._source.placement(self.settings["size"].value, downsampling(name),
                                      stacked=True)
