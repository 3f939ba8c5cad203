"""Config fields written as text: lists of numbers as the command line and the widgets read
and show them (``0.25, 0.5, 1``; ``auto``; ``equal``).  Pure Python (no torch)."""

from __future__ import annotations

from functools import partial

from .errors import InputError


def parse_scales(text: str) -> tuple[float, ...] | None:
    """``"auto"`` (or empty) -> None; ``"0.25, 0.5, 1"`` -> ``(0.25, 0.5, 1.0)``."""
    text = text.strip().lower()
    if text in ("", "auto"):
        return None
    try:
        return tuple(float(part) for part in text.replace(";", ",").split(","))
    except ValueError:
        raise InputError(f"bad scales {text!r}: write auto, or fractions such as 0.5, 1") \
            from None


def parse_numbers(text: str, name: str) -> tuple[float, ...] | None:
    """``"3, 7"`` -> ``(3.0, 7.0)``; empty, ``"equal"`` or ``"default"`` -> None."""
    text = text.strip().lower()
    if text in ("", "equal", "default"):
        return None
    try:
        return tuple(float(part) for part in text.replace(";", ",").split(","))
    except ValueError:
        raise InputError(f"bad {name} {text!r}: write numbers such as 1 or 3,7") from None


def format_numbers(values: tuple[float, ...] | None) -> str:
    """The text :func:`parse_numbers` reads back into ``values``."""
    return "equal" if values is None else ", ".join(map(_short, values))


def _short(value: float) -> str:
    """``value`` in as few digits as read back to the same float (``0.3``, ``2``)."""
    text = f"{value:g}"
    return text if float(text) == value else repr(value)


def format_scales(scales: tuple[float, ...] | None) -> str:
    """The text :func:`parse_scales` reads back into ``scales``."""
    return "auto" if scales is None else ", ".join(f"{scale:g}" for scale in scales)


#: Config fields written as text (numbers separated by commas), as the command line and the
#: widgets read and show them: ``{name: (parse, format)}``
TEXT_FIELDS = {
    "scales": (parse_scales, format_scales),
    "style_blend": (partial(parse_numbers, name="style blend"), format_numbers),
    "style_scale": (partial(parse_numbers, name="style scale"), format_numbers),
}
