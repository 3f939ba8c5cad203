"""Presets by purpose: the table in docs/controls.md, in Python and on the command line."""

import re
from pathlib import Path

import pytest

from napari_neural_style.cli.parser import config_from, parse_arguments
from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.presets import CUSTOM, PRESETS, preset_of
from napari_neural_style.core.text_fields import parse_scales

DOCS = Path(__file__).parents[2] / "docs" / "controls.md"


def documented() -> dict[str, dict]:
    """The presets table of docs/controls.md: name -> the fields it says."""
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (\d+) \| ([\w.,]+) \| (\w+) \| (\w+) \| "
                      r"([\d.e-]+) \| (.+) \|$", DOCS.read_text(), re.MULTILINE)
    return {name: {"size": int(size), "steps": int(steps),
                   "scales": None if scales == "auto" else parse_scales(scales),
                   "precision": precision, "memory": memory, "tolerance": float(tolerance),
                   "purpose": purpose}
            for name, size, steps, scales, precision, memory, tolerance, purpose in rows}


def test_each_preset_is_what_the_table_says():
    table = documented()
    assert list(table) == list(PRESETS)
    for name, fields in table.items():
        assert fields.pop("purpose") == PRESETS[name].purpose
        config = Config.for_task("transfer", preset=name)
        assert {field: getattr(config, field) for field in fields} == fields, name
        assert preset_of(config) == name
    assert preset_of(Config.for_task("transfer")) == "good"  # the defaults are a preset
    assert preset_of(Config.for_task("transfer", preset="draft", steps=151)) == CUSTOM


def test_the_command_line_takes_the_same_presets_and_its_flags_win():
    def config(*flags):
        return config_from(parse_arguments(["transfer", "c.png", "s.png", "-o", "o.png",
                                            *flags]))

    for name in PRESETS:
        assert config("--preset", name) == Config.for_task("transfer", preset=name)
    assert config("--preset", "print", "--size", "1000").size == 1000
    assert config("--size", "1000", "--preset", "print").size == 1000
    assert config("--preset", "preview", "--scales", "auto").scales is None
    with pytest.raises(SystemExit) as exit_:
        config("--preset", "huge")
    assert exit_.value.code == 2


def test_an_unknown_preset_is_refused_in_python():
    with pytest.raises(InputError, match="preset must be one of preview, draft, good, print"):
        Config.for_task("transfer", preset="huge")
