"""A run's configuration written as the command that runs it again, for the widgets'
"copy as command line" and the command line's own records.  Pure Python (no torch): the
inverse of the command line's parser (``cli/parser.py``), which reads the same words."""

from __future__ import annotations

import shlex

from .config import OPTIONS, Config
from .text_fields import TEXT_FIELDS, format_numbers

#: positional arguments per input image, for tasks that read one or two; the style takes
#: one file or several (blended: --style-blend)
INPUT_NAMES = {"reconstruct": {"content": "image"}, "texture": {"style": "image"},
               "transfer": {"content": "content", "style": "style"}}


def flag_text(name: str, value):
    """A Config value as the command line writes it (argparse parses it back)."""
    if name in TEXT_FIELDS:
        return TEXT_FIELDS[name][1](value)
    return ",".join(value) if name.endswith("_layers") else value


def command_line(config, inputs: dict[str, str | list[str]], output: str = "result.tif") -> str:
    """The command that runs ``config`` again on the files ``inputs`` (role -> path, or the
    styles' paths; "init": the image it starts from, "labels": the label image, if any): the
    options that differ from the task's defaults, as :func:`config_from` reads them back."""
    defaults = Config.for_task(config.task)
    files = [path for role in INPUT_NAMES[config.task] for path in as_list(inputs[role])]
    words = ["napari-neural-style", config.task, *files, "-o", output]
    for name, option in OPTIONS.items():
        value = getattr(config, name)
        if name == "regions" and value:
            words += _region_words(value, files[1:], inputs.get("labels", "LABELS.tif"))
        elif config.task in option.tasks and value != getattr(defaults, name):
            value = inputs.get("init", "START.png") if value == "image" else flag_text(name, value)
            words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(words)


def _region_words(regions: tuple, styles: list[str], labels: str) -> list[str]:
    """``--regions LABELS --region 1=a.png:1 ...`` for ``Config.regions`` over ``styles``."""
    words = ["--regions", labels]
    for label, style, weight in regions:
        target = "content" if style is None else f"{styles[style]}:{format_numbers((weight,))}"
        words += ["--region", f"{label}={target}"]
    return words


def as_list(value):
    """A role's file, or files, as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]
