"""How the command line speaks: exit statuses, and core messages in its words (flags)."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from ..core.errors import reword

#: where the package's own warnings come from (others keep Python's format)
PACKAGE = Path(__file__).resolve().parents[1]

EXIT_BAD_INPUT = 2


EXIT_FAILED = 1


def as_flag(name: str, value: str) -> str:
    """A setting named in a core message (``memory='lean'``) as a flag: ``--memory lean``."""
    return f"--{name.replace('_', '-')} {value}"


def say_error(error: Exception) -> None:
    """One line on stderr, the settings it names as flags."""
    message = reword(str(error), as_flag)
    print(f"napari-neural-style: error: {message}", file=sys.stderr)


def say_warnings(show):
    """A ``warnings.showwarning`` that puts the package's own warnings on one line in the
    command line's words, above any progress bar; other libraries' go to ``show``."""
    def shown(message, category, filename, lineno, file=None, line=None):
        if not Path(filename).resolve().is_relative_to(PACKAGE):
            return show(message, category, filename, lineno, file, line)
        tqdm.write(f"napari-neural-style: warning: {reword(str(message), as_flag)}",
                   file=sys.stderr)
    return shown
