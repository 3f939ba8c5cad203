"""How the command line speaks: exit statuses, and core messages in its words (flags)."""

from __future__ import annotations

import sys

from ..core.errors import reword

EXIT_BAD_INPUT = 2


EXIT_FAILED = 1


def as_flag(name: str, value: str) -> str:
    """A setting named in a core message (``memory='lean'``) as a flag: ``--memory lean``."""
    return f"--{name.replace('_', '-')} {value}"


def say_error(error: Exception) -> None:
    """One line on stderr, the settings it names as flags."""
    message = reword(str(error), as_flag)
    print(f"napari-neural-style: error: {message}", file=sys.stderr)
