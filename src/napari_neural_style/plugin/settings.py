"""The plugin's settings in napari's Preferences (``configurations`` in the manifest): the
device, weights, working size, steps and precision the widgets start from.  A widget that
starts a run remembers its values there, so the next widget (and the next napari) starts
where the user left off.  Working size and steps 0 mean "by the device": the "draft" preset on a
machine without a GPU, "good" with one (``core.presets``).
"""

from __future__ import annotations

from ..core.device import available_devices
from ..core.presets import PRESETS
from .launch import PLUGIN

#: the settings a widget starts from and remembers (Config fields, and the weights file)
REMEMBERED = ("device", "weights", "weights_file", "weights_format", "size", "steps",
              "precision")


def _stored():
    """The ``runs`` section of the plugin's settings, or None where napari has none
    (before 0.9, or the plugin not registered)."""
    try:
        from napari.settings import get_plugin_settings

        return get_plugin_settings(PLUGIN).runs
    except (ImportError, KeyError, AttributeError):
        return None


def has_gpu() -> bool:
    return any(device.startswith(("cuda", "mps")) for device in available_devices())


def machine_preset() -> str:
    """The preset a widget starts from: "good" on a GPU; "draft" on a CPU, where "good" takes
    minutes."""
    return "good" if has_gpu() else "draft"


def machine_defaults() -> dict:
    """Working size and steps for this machine (:func:`machine_preset`)."""
    preset = PRESETS[machine_preset()]
    return {"size": preset.size, "steps": preset.steps}


def starting_values() -> dict:
    """What a widget starts from: the stored settings, by the device where they say 0."""
    stored = _stored()
    values = {name: getattr(stored, name) for name in REMEMBERED} if stored else {}
    for name, value in machine_defaults().items():
        if not values.get(name):
            values[name] = value
    if values.get("device") not in available_devices():
        values.pop("device", None)  # a GPU set up elsewhere: the widget's own default
    return values


def remember(values: dict) -> None:
    """Store the values a run started with (napari saves them at once)."""
    stored = _stored()
    for name in REMEMBERED if stored else ():
        if name in values:
            setattr(stored, name, values[name])


def open_folds() -> set[str]:
    """The folds of settings the user left open (their titles)."""
    stored = _stored()
    return {title for title in (stored.open_groups if stored else "").split(",") if title}


def remember_fold(title: str, opened: bool) -> None:
    """Keep fold ``title`` open (or folded) for the next widget and the next napari."""
    stored = _stored()
    if stored is not None:
        titles = open_folds() | {title} if opened else open_folds() - {title}
        stored.open_groups = ",".join(sorted(titles))


def defaults_note() -> str:
    """What the widgets start from and why, for the UI."""
    machine = "this machine's GPU" if has_gpu() else "a machine without a GPU"
    return (f"Starts as {machine_preset()!r}, for {machine}; File > Preferences > Neural "
            "Style keeps your own.")
