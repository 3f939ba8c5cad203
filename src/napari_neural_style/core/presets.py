"""Presets by purpose: one choice that sets a run's working size, steps, scales, precision,
memory and when it stops, instead of six fields (``Config.for_task(task, preset=...)``,
``--preset``, the widgets' "quality" choice).

Pure Python: the widgets read it on napari's main thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InputError

#: the Config fields a preset sets; every preset gives each of them
PRESET_FIELDS = ("size", "steps", "scales", "precision", "memory", "tolerance")
#: what a preset choice shows when the fields match none
CUSTOM = "custom"


@dataclass(frozen=True)
class Preset:
    """A purpose and the values of :data:`PRESET_FIELDS` that serve it."""

    purpose: str
    size: int
    steps: int
    scales: tuple[float, ...] | None = None  # None: coarse to fine, as the size allows
    precision: str = "auto"
    memory: str = "auto"
    tolerance: float = 1e-3

    def values(self) -> dict:
        """The Config fields this preset sets."""
        return {name: getattr(self, name) for name in PRESET_FIELDS}


PRESETS = {
    "preview": Preset("a first look in seconds: small, one scale", 128, 60, scales=(1.0,)),
    "draft": Preset("to choose layers and weights: about a minute on a laptop's CPU", 256, 150),
    "good": Preset("the seed's quality: Gatys et al.'s settings at 512 px, coarse to fine",
                   512, 300),
    "print": Preset("a large picture, coarse to fine; tile by tile where memory is short",
                    2048, 300),
}


def preset_values(name: str | None) -> dict:
    """The Config fields preset ``name`` sets (None: none)."""
    if name is None:
        return {}
    if name not in PRESETS:
        raise InputError(f"preset must be one of {', '.join(PRESETS)}, not {name!r}")
    return PRESETS[name].values()


def preset_of(values) -> str:
    """The preset whose fields ``values`` (a Config, or anything with those attributes) has,
    else :data:`CUSTOM`."""
    return next((name for name, preset in PRESETS.items()
                 if all(getattr(values, field) == value
                        for field, value in preset.values().items())), CUSTOM)
