"""What the command line writes: the result or the stack with its record, each checked
before the run starts and, if a write fails, saved to a rescue file instead."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..core.command_line import INPUT_NAMES, as_list
from ..core.errors import OutputError
from ..core.image_files import OME_SUFFIXES, check_writable, image_suffixes, write_image
from .messages import EXIT_FAILED
from .parser import start_file, style_files


def check_outputs(args: argparse.Namespace) -> None:
    """Every file the command will write can be written, and none is one of its inputs."""
    roles = INPUT_NAMES.get(args.command, {"image": "image"})  # features reads one image
    inputs = {path.resolve(): role for role in roles if role != "style"
              for path in as_list(getattr(args, role))}
    inputs.update({path.resolve(): "style" for path in style_files(args)})
    if getattr(args, "labels", None):
        inputs[args.labels.resolve()] = "label"
    for _, labels in getattr(args, "style_label_specs", None) or ():
        inputs[labels.resolve()] = "style label"
    start = start_file(args)
    if start is not None:
        inputs[start.resolve()] = "start"
    stack = (args.command not in INPUT_NAMES or getattr(args, "axis", None) is not None
             or bool(getattr(args, "sweep", None)))
    suffixes = (".tif", ".tiff") if stack else image_suffixes()
    outputs = {"-o": check_writable(args.output, suffixes)}
    if stack and args.output.name.lower().endswith(OME_SUFFIXES):
        raise OutputError(f"-o {args.output}: an OME-TIFF pyramid holds one image, and this "
                          "run makes a stack; write it as .tif")
    if getattr(args, "json", None):
        outputs["--json"] = check_writable(args.json)
    for flag, path in outputs.items():
        if path.resolve() in inputs:
            raise OutputError(f"{flag} {path} is the {inputs[path.resolve()]} image: writing "
                              "there would replace it; choose another file")
    if len({path.resolve() for path in outputs.values()}) < len(outputs):
        raise OutputError("-o and --json name the same file; choose two")


def write_made(status: int, made: bool, save: Callable[[], int]) -> int:
    """After a run (or runs) that ended with exit ``status`` (:func:`run_through`): write
    what it made, if it completed a step (``save()``, itself 0 or 1 for a rescued write),
    and exit with ``status`` if it was stopped, else with what the write said."""
    if not made:
        print("napari-neural-style: stopped before its first step; nothing written",
              file=sys.stderr)
        return status
    saved = save()
    return status or saved


def sweep_record(result) -> tuple:
    """A sweep's ``(N, H, W, 3)`` stack and its record: the setting, the values done, each
    slice's provenance (where it ran, too)."""
    return result.stack, {"sweep": result.parameter, "values": list(result.values),
                          "slices": [run.provenance(full_history=False)
                                     for run in result.results],
                          "status": "cancelled" if result.cancelled else "done"}


def save_stack(args: argparse.Namespace, stack, record: dict) -> int:
    """Write a stack and its record (-o, --json); 1 if either went to a rescue file."""
    written = _write_or_rescue(args.output, ".tif", lambda path: write_image(path, stack,
                                                                             record))
    print(f"wrote {written}", file=sys.stderr)
    rescued = written != args.output
    if args.json:
        rescued |= _write_or_rescue(args.json, ".json", lambda path: _write_text(
            path, json.dumps(record, indent=2))) != args.json
    return EXIT_FAILED if rescued else 0


def save_result(args: argparse.Namespace, result) -> int:
    """Write the result and its record; a write that fails goes to a rescue file (exit 1)."""
    steps = f"{result.steps_done} steps"
    if result.stopped_by == "converged":
        steps += ", converged"
    if result.cancelled:
        steps = f"the result so far: {steps}, cancelled"
    written = _write_or_rescue(args.output, ".tif", lambda path: write_image(
        path, result.image, result.provenance()))
    print(f"wrote {written} ({steps}, {result.seconds:.1f} s, "
          f"weights: {result.weights['label']})", file=sys.stderr)
    rescued = written != args.output
    if args.json:
        text = json.dumps(result.provenance(full_history=False), indent=2)
        rescued |= _write_or_rescue(args.json, ".json", lambda path: _write_text(path, text)) \
            != args.json
    return EXIT_FAILED if rescued else 0


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_or_rescue(path: Path, suffix: str, write: Callable[[Path], object]) -> Path:
    """``write(path)``; if that fails (a full disk, a folder that vanished), write a rescue
    file beside ``path``, else in the working directory, else in the temporary directory,
    and say so.  Returns the path written."""
    try:
        write(path)
        return path
    except OSError as error:
        failure = error.strerror or str(error)
    name = f"{path.stem}-rescued-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"
    for folder in (path.parent, Path.cwd(), Path(tempfile.gettempdir())):
        with contextlib.suppress(OSError):
            write(folder / name)
            print(f"napari-neural-style: could not write {path} ({failure}); saved it as "
                  f"{folder / name} instead", file=sys.stderr)
            return folder / name
    raise OutputError(f"could not write {path} ({failure}), nor a rescue copy beside it, in "
                      "the working directory or the temporary directory")
