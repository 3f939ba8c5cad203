"""The command line's reference page, docs/cli.md, written from the parser itself (every
flag, its default and its help, as ``--help`` gives them), so it cannot drift from the
tool: ``python -m napari_neural_style.cli.reference > docs/cli.md`` (a test checks it)."""

from __future__ import annotations

import argparse

from .parser import build_parser

INTRODUCTION = """# Command line reference

Every flag of `napari-neural-style`, its default and what it does, as `--help` says them.
Generated from the parser by `python -m napari_neural_style.cli.reference > docs/cli.md`
(a test fails when an option changes and this page was not regenerated). How to use them
together: [command-line.md](command-line.md), [controls.md](controls.md),
[large-images.md](large-images.md), [cluster.md](cluster.md), [frames.md](frames.md).
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rows(command: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | what it does |", "|---|---|---|"]
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        rows.append(f"| {_name(action)} | {_default(action)} | "
                    f"{_cell((action.help or '').replace(' (default %(default)s)', ''))} |")
    return rows


def _name(action: argparse.Action) -> str:
    """``--flag`` (and its aliases) with what it takes: its choices or its metavar."""
    if not action.option_strings:
        return f"`{action.metavar}`"
    name = ", ".join(f"`{flag}`" for flag in action.option_strings)
    if action.choices:
        return name + " " + "\\|".join(map(str, action.choices))
    return f"{name} {action.metavar}" if action.metavar else name


def _default(action: argparse.Action) -> str:
    if action.default is None or action.default is False or action.default == [] or \
            not action.option_strings:
        return ""
    return f"`{action.default}`"


def _synopsis(name: str, command: argparse.ArgumentParser) -> str:
    """``napari-neural-style transfer CONTENT STYLE ... -o OUTPUT [options]``."""
    inputs = [f"{action.metavar} [{action.metavar} ...]" if action.nargs in ("+", "*")
              else action.metavar for action in command._actions
              if not action.option_strings]
    return f"napari-neural-style {name} {' '.join(inputs)} -o OUTPUT [options]"


def reference() -> str:
    """The page: an introduction, then per command its usage and a table of its arguments."""
    parser = build_parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    parts = [INTRODUCTION]
    for name, command in commands.choices.items():
        parts += [f"## `{name}`", "", commands._choices_actions[
            list(commands.choices).index(name)].help + ".", "", "```text",
            _synopsis(name, command), "```", "", *_rows(command), ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
