"""npe2 sample data: scikit-image's bundled photographs (no download, no torch)."""

from __future__ import annotations

from collections.abc import Callable

from ..core.samples import SAMPLES, load_sample


def _layer_data(name: str) -> tuple:
    role, description = SAMPLES[name]
    return load_sample(name), {"name": name, "metadata": {"sample": description, "role": role}}


def _sample_command(*names: str) -> Callable[[], list[tuple]]:
    def load() -> list[tuple]:
        return [(*_layer_data(name), "image") for name in names]

    load.__doc__ = f"Sample image(s): {', '.join(names)}."
    return load


astronaut = _sample_command("astronaut")
chelsea = _sample_command("chelsea")
rocket = _sample_command("rocket")
hubble_deep_field = _sample_command("hubble_deep_field")
immunohistochemistry = _sample_command("immunohistochemistry")
coffee = _sample_command("coffee")
gravel = _sample_command("gravel")
#: a content and a style image together, ready for the style transfer widget
transfer_pair = _sample_command("astronaut", "hubble_deep_field")
