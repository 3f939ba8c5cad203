"""Checks of single settings' values, for :class:`~.config.Config`: each returns the value in
its canonical form or raises an :class:`~.errors.InputError` that says what to write.  Pure
Python (no torch)."""

from __future__ import annotations

import math
import numbers

from .errors import InputError


def check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def check_range(name: str, value: float, low: float, high: float, unit: str = "") -> None:
    """``value`` a number in ``low..high``, a whole one where the bounds are whole."""
    kind = numbers.Integral if isinstance(high, int) else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise InputError(f"{name} must be in {low}..{high}{unit}, not {value!r}")


def checked_style_scales(value) -> tuple[float, ...]:
    """``style_scale`` as a tuple (one number stands for every style), each > 0."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not values or not all(isinstance(each, (int, float)) and math.isfinite(each) and each > 0
                             for each in values):
        raise InputError(f"style_scale must be a number > 0 (or one per style), not {value}")
    return tuple(float(each) for each in values)


def checked_proportions(weights) -> tuple[float, ...]:
    """``style_blend`` normalised to sum 1; each weight >= 0, not all 0."""
    values = tuple(weights) if isinstance(weights, (tuple, list)) else (weights,)
    if not values or not all(isinstance(each, (int, float)) and math.isfinite(each) and each >= 0
                             for each in values):
        raise InputError(f"style_blend weights must be numbers >= 0, not {weights}")
    total = sum(values)
    if total <= 0:
        raise InputError("style_blend weights are all 0: give at least one style a weight > 0")
    return tuple(float(each) / total for each in values)


def checked_regions(entries, config) -> tuple[tuple[int, int | None, float], ...]:
    """``regions`` as a tuple of ``(label, style or None, weight)``, checked."""
    checked = []
    for entry in entries or ():
        try:
            label, style, weight = entry
            label, weight = _whole(label), float(weight)
            style = None if style is None else _whole(style)
        except (TypeError, ValueError):
            raise InputError(f"a region is (label, style number or None, weight), not "
                             f"{entry!r}") from None
        if label < 0 or (style is not None and style < 0) or not (math.isfinite(weight)
                                                                    and weight >= 0):
            raise InputError(f"region {entry!r}: label and style must be >= 0 and the weight a "
                             "number >= 0")
        checked.append((label, style, weight))
    labels = [label for label, _, _ in checked]
    if len(set(labels)) < len(labels):
        raise InputError("each label may have one region only; "
                         f"{sorted({label for label in labels if labels.count(label) > 1})} "
                         "appear more than once")
    if checked and config.task != "transfer":
        raise InputError("regions are for transfer: they map labels over a content image")
    if checked and config.style_blend is not None:
        raise InputError("regions give each label its own style: leave style_blend out")
    if checked and all(style is None for _, style, _ in checked):
        raise InputError("no region has a style: give at least one label a style image")
    return tuple(checked)


def _whole(value) -> int:
    """``value`` as an int, if it is a whole number."""
    if isinstance(value, bool) or float(value) != int(value):
        raise ValueError(value)
    return int(value)


def checked_scales(scales) -> tuple[float, ...]:
    values = tuple(float(scale) for scale in scales)
    if not values or values[-1] != 1.0 or any(not 0 < scale <= 1 for scale in values) \
            or list(values) != sorted(set(values)):
        raise InputError(f"scales must rise to 1.0, e.g. (0.25, 0.5, 1.0); got {scales}")
    return values


