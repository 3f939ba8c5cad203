"""``napari-neural-style``: the engine from the command line.

Every run option is a :class:`~.core.config.Config` field: its flag, default and help are read
from the field (``Config.for_task`` gives each task's defaults), so nothing is written twice.
Exit status 0 on success; 2 with a one-line message for bad usage or bad input (outputs are
checked before any work starts); 1 when the run failed (out of memory) or its output could not
be written (the result is then saved to a rescue file, and the message says where).  Ctrl-C
(SIGINT) or SIGTERM stop the run and write the result of the last completed step, marked
cancelled in its record, then exit 130 or 143, as a shell reports a process those signals ended.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
#: flags kept from the first version: ``reconstruct --layer``, ``texture --layers``
ALIASES = {("reconstruct", "content_layers"): "--layer", ("texture", "style_layers"): "--layers"}
#: positional arguments per input image, for tasks that read one or two; the style takes
#: one file or several (blended: --style-blend)
INPUT_NAMES = {"reconstruct": {"content": "image"}, "texture": {"style": "image"},
               "transfer": {"content": "content", "style": "style"}}
HELP = {"reconstruct": "reconstruct an image from one layer's features",
        "texture": "synthesize a texture matching Gram matrices",
        "transfer": "neural style transfer"}
#: engine settings the ``features`` command shares with the tasks
FEATURE_OPTIONS = ("size", "device", "weights", "weights_format", "pooling")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(recorded=None) -> argparse.ArgumentParser:
    """The command line; a ``recorded`` Config (``--from-json``) gives its task's defaults."""
    from .core.config import DEFAULT_RECONSTRUCT_LAYER, TASKS, Config

    parser = _Parser(prog="napari-neural-style", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for task in TASKS:
        command = commands.add_parser(task, help=HELP[task])
        for role, name in INPUT_NAMES[task].items():
            several = {"nargs": "+" if task == "texture" else "*",
                       "help": "one image, or several to blend (--style-blend)"} \
                if role == "style" else {}
            command.add_argument(role, metavar=name.upper(), type=Path, **several)
        if task == "transfer":
            _add_region_options(command)
            _add_frame_options(command)
        _add_sweep_options(command)
        command.add_argument("--estimate", action="store_true",
                             help="say how long the run will take and how much memory it "
                                  "needs, then stop (the first time on a machine, a probe "
                                  "of about 30 s calibrates it)")
        _add_outputs(command)
        defaults = recorded if recorded is not None and recorded.task == task else None
        _add_options(command, defaults or Config.for_task(task))
    features = commands.add_parser("features", help="write feature maps as a multi-page TIFF")
    features.add_argument("image", type=Path)
    features.add_argument("--layers", "--layer", default=DEFAULT_RECONSTRUCT_LAYER,
                          help="layer(s); several give one TIFF each (default %(default)s)")
    features.add_argument("-o", "--output", required=True, type=Path)
    _add_options(features, Config.for_task("reconstruct"), FEATURE_OPTIONS)
    return parser


def _add_region_options(command: argparse.ArgumentParser) -> None:
    """``--regions LABELS`` and ``--region LABEL=STYLE[:WEIGHT]`` (Config.regions)."""
    command.add_argument("--regions", dest="labels", type=Path, metavar="LABELS",
                         help="a label image over the content (integer TIFF or PNG): with "
                              "--region, a style per label")
    command.add_argument("--region", dest="region_specs", action="append", default=[],
                         type=_region_spec, metavar="LABEL=STYLE[:WEIGHT]",
                         help="label LABEL takes style image STYLE (weight 1 unless given), or "
                              "LABEL=content: no style there; labels not given, 0 too, are "
                              "content only; repeat for each label")
    command.add_argument("--style-labels", dest="style_label_specs", action="append",
                         default=[], type=_style_labels_spec, metavar="STYLE=LABELS",
                         help="a label image over style image STYLE: each region learns from "
                              "the part of its style with its own label; repeat per style")


def _add_frame_options(command: argparse.ArgumentParser) -> None:
    """``--axis`` and the frame settings (core/frames.py: FrameSettings)."""
    from .core.config import TEMPORAL_MODES, FrameSettings

    defaults = FrameSettings()
    command.add_argument("--axis", type=int, metavar="AXIS",
                         help="CONTENT is a stack (a multi-page TIFF): style every frame along "
                              "this axis; the output TIFF keeps the axes")
    command.add_argument("--temporal", choices=TEMPORAL_MODES, default=defaults.temporal,
                         help="with --axis: flow (each frame starts from the previous result, "
                              "warped by the optical flow, and keeps close to it: no flicker) "
                              "or none (frames on their own) (default %(default)s)")
    command.add_argument("--temporal-weight", type=float, default=defaults.temporal_weight,
                         help="with --axis: weight of the pull towards the previous frame "
                              "(default %(default)s)")
    command.add_argument("--frame-steps", type=int, metavar="N",
                         help="with --axis --temporal flow: steps of every frame after the "
                              "first (default: --steps)")


def _add_sweep_options(command: argparse.ArgumentParser) -> None:
    """``--sweep PARAMETER=VALUES`` (core/sweeps.py) and ``--dask ADDRESS``
    (core/cluster.py)."""
    from .core.config import CLUSTER_HELP
    from .core.sweep_spec import SWEEPS

    command.add_argument("--sweep", type=_sweep_spec, metavar="PARAMETER=VALUES",
                         help=f"run once per value, the results stacked in the output TIFF; "
                              f"PARAMETER one of {', '.join(SWEEPS)}, VALUES comma-separated "
                              "(';' between layer lists): --sweep seed=0,1,2,3")
    command.add_argument("--dask", metavar="ADDRESS",
                         help=f"run on a dask cluster, each run one task (the sweep's values, "
                              f"the frames of --axis with --temporal none, or the one run): "
                              f"{CLUSTER_HELP}")


def _sweep_spec(text: str) -> tuple[str, tuple]:
    """``PARAMETER=VALUES`` as ``(parameter, values)``."""
    from .core.errors import InputError
    from .core.sweep_spec import parse_values

    parameter, _, values = text.partition("=")
    parameter = parameter.strip().replace("-", "_")
    try:
        return parameter, parse_values(parameter, values)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _style_labels_spec(text: str) -> tuple[Path, Path]:
    """``"a.jpg=a-labels.png"`` -> ``(Path("a.jpg"), Path("a-labels.png"))``."""
    style, separator, labels = text.rpartition("=")
    if not separator or not style or not labels:
        raise argparse.ArgumentTypeError(f"write STYLE=LABELS, not {text!r}")
    return Path(style), Path(labels)


def _style_label_files(args: argparse.Namespace) -> list[Path | None] | None:
    """Per style image (:func:`style_files`), the label image ``--style-labels`` gives it."""
    given = {style.resolve(): labels for style, labels in
             getattr(args, "style_label_specs", None) or ()}
    if not given:
        return None
    files = style_files(args)
    unknown = set(given) - {path.resolve() for path in files}
    if unknown:
        from .core.errors import InputError

        raise InputError(f"--style-labels names {sorted(map(str, unknown))[0]}, which is not "
                         "one of the style images")
    return [given.get(path.resolve()) for path in files]


def _region_spec(text: str) -> tuple[int, Path | None, float]:
    """``"1=a.jpg:0.5"`` -> ``(1, Path("a.jpg"), 0.5)``; ``"3=content"`` -> ``(3, None, 0)``."""
    label, separator, target = text.partition("=")
    if not separator or not label.strip().isdigit() or not target:
        raise argparse.ArgumentTypeError(f"write LABEL=STYLE[:WEIGHT] or LABEL=content, not "
                                         f"{text!r}")
    if target == "content":
        return int(label), None, 0.0
    path, _, weight = target.rpartition(":")
    try:
        return (int(label), Path(path), float(weight)) if path else (int(label), Path(target),
                                                                     1.0)
    except ValueError:  # a ':' in the file's name
        return int(label), Path(target), 1.0


def _add_outputs(command: argparse.ArgumentParser) -> None:
    command.add_argument("-o", "--output", required=True, type=Path, help="output image file "
                         "(.png/.jpg: 8-bit; .tif: float32)")
    command.add_argument("--json", type=Path, metavar="METRICS.json",
                         help="write parameters, timings, weights and loss history here")
    command.add_argument("--from-json", type=Path, metavar="RUN",
                         help="run a recorded run again: a --json file, a result image this "
                              "tool or the plugin wrote, or a layer's metadata saved as JSON; "
                              "its settings become the defaults, flags given here still win")


def _add_options(command: argparse.ArgumentParser, defaults,
                 names: tuple[str, ...] | None = None) -> None:
    """A flag for each Config option of ``defaults.task`` (or each of ``names``), its default
    read from ``defaults``."""
    from dataclasses import fields

    from .core.config import OPTIONS

    types = {item.name: item.type for item in fields(defaults)}
    wanted = names or [name for name, option in OPTIONS.items() if defaults.task in option.tasks
                       and name != "regions"]  # regions: _add_region_options
    for name in wanted:
        option, value = OPTIONS[name], getattr(defaults, name)
        flags = [f"--{name.replace('_', '-')}"]
        if names is None and (defaults.task, name) in ALIASES:
            flags.append(ALIASES[defaults.task, name])
        # --init also takes a file to start from
        extra = {"metavar": "|".join(option.choices[:-1]) + "|PATH"} if name == "init" else \
            {"choices": option.choices}
        command.add_argument(*flags, dest=name, type=_parser_of(name, types[name]), **extra,
                             default=_text(name, value),
                             help=option.help if value is None else
                             f"{option.help} (default %(default)s)")


def _parser_of(name: str, annotation: str):
    """How the command line reads Config field ``name`` of type ``annotation``."""
    from .core.config import TEXT_FIELDS

    if name in TEXT_FIELDS:
        return _text_parser(TEXT_FIELDS[name][0])
    if annotation.startswith("int"):
        return int
    if annotation.startswith("float"):
        return float
    return str


def _text(name: str, value):
    """A Config value as the command line writes it (argparse parses it back)."""
    from .core.config import TEXT_FIELDS

    if name in TEXT_FIELDS:
        return TEXT_FIELDS[name][1](value)
    return ",".join(value) if name.endswith("_layers") else value


def command_line(config, inputs: dict[str, str | list[str]], output: str = "result.tif") -> str:
    """The command that runs ``config`` again on the files ``inputs`` (role -> path, or the
    styles' paths; "init": the image it starts from, "labels": the label image, if any): the
    options that differ from the task's defaults, as :func:`config_from` reads them back."""
    from .core.config import OPTIONS, Config

    defaults = Config.for_task(config.task)
    files = [path for role in INPUT_NAMES[config.task] for path in _paths(inputs[role])]
    words = ["napari-neural-style", config.task, *files, "-o", output]
    for name, option in OPTIONS.items():
        value = getattr(config, name)
        if name == "regions" and value:
            words += _region_words(value, files[1:], inputs.get("labels", "LABELS.tif"))
        elif config.task in option.tasks and value != getattr(defaults, name):
            value = inputs.get("init", "START.png") if value == "image" else _text(name, value)
            words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(words)


def _region_words(regions: tuple, styles: list[str], labels: str) -> list[str]:
    """``--regions LABELS --region 1=a.png:1 ...`` for ``Config.regions`` over ``styles``."""
    from .core.config import format_numbers

    words = ["--regions", labels]
    for label, style, weight in regions:
        target = "content" if style is None else f"{styles[style]}:{format_numbers((weight,))}"
        words += ["--region", f"{label}={target}"]
    return words


def _paths(value):
    """A role's file, or files, as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text_parser(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` with its errors as argparse's (a usage error, exit 2)."""
    def parsed(text: str):
        from .core.errors import InputError

        try:
            return parse(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parsed


def config_from(args: argparse.Namespace):
    """The run configuration the parsed arguments describe."""
    from dataclasses import fields

    from .core.config import Config

    given = {item.name: getattr(args, item.name) for item in fields(Config)
             if item.name != "task" and hasattr(args, item.name)}
    if start_file(args) is not None:
        given["init"] = "image"
    if getattr(args, "region_specs", None):
        files = [path.resolve() for path in style_files(args)]
        given["regions"] = tuple((label, None if path is None else files.index(path.resolve()),
                                  weight) for label, path, weight in args.region_specs)
    return Config(args.command, **given)


def style_files(args: argparse.Namespace) -> list[Path]:
    """The style images: those given in place, then those only ``--region`` names."""
    files = list(getattr(args, "style", None) or [])
    for _, path, _ in getattr(args, "region_specs", None) or ():
        if path is not None and path.resolve() not in {known.resolve() for known in files}:
            files.append(path)
    return files


def start_file(args: argparse.Namespace) -> Path | None:
    """The file ``--init PATH`` names (None for content, noise or style)."""
    from .core.config import INITS
    from .core.errors import InputError

    value = getattr(args, "init", None)
    if value == "image":
        raise InputError("--init image needs the file to start from: write --init PATH")
    return None if value is None or value in INITS else Path(value)


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as Ctrl-C is: the run stops and what it made is written."""

    exit_status = 128 + signal.SIGTERM


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (where a signal can be
    caught: in the main thread)."""
    def terminated(signum, frame):
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread: leave signals as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_outputs(args: argparse.Namespace) -> None:
    """Every file the command will write can be written, and none is one of its inputs."""
    from .core.errors import OutputError
    from .core.image_files import check_writable, image_suffixes

    roles = INPUT_NAMES.get(args.command, {"image": "image"})  # features reads one image
    inputs = {path.resolve(): role for role in roles if role != "style"
              for path in _paths(getattr(args, role))}
    inputs.update({path.resolve(): "style" for path in style_files(args)})
    if getattr(args, "labels", None):
        inputs[args.labels.resolve()] = "label"
    for _, labels in getattr(args, "style_label_specs", None) or ():
        inputs[labels.resolve()] = "style label"
    start = start_file(args)
    if start is not None:
        inputs[start.resolve()] = "start"
    stack = args.command not in INPUT_NAMES or getattr(args, "axis", None) is not None
    suffixes = (".tif", ".tiff") if stack else image_suffixes()
    outputs = {"-o": check_writable(args.output, suffixes)}
    if getattr(args, "json", None):
        outputs["--json"] = check_writable(args.json)
    for flag, path in outputs.items():
        if path.resolve() in inputs:
            raise OutputError(f"{flag} {path} is the {inputs[path.resolve()]} image: writing "
                              "there would replace it; choose another file")
    if len({path.resolve() for path in outputs.values()}) < len(outputs):
        raise OutputError("-o and --json name the same file; choose two")


def _optimize(args: argparse.Namespace) -> int:
    from .core.tasks import Run

    config = config_from(args)
    if args.estimate:
        print(_estimate_for(args, config), file=sys.stderr)
        return 0
    if getattr(args, "axis", None) is not None:
        with _cluster(args) as client:
            return _optimize_frames(args, config, client)
    images = _input_images(args)
    if args.sweep:
        with _cluster(args) as client:
            return _optimize_sweep(args, config, images, client)
    if args.dask:
        with _cluster(args) as client:
            return _optimize_remote(args, config, images, client)
    notes = _upsampling_notes(config, images)
    line = _estimate_line(config, images, probe=False)
    run = Run(config, **images, **_optional_inputs(args))
    status = _run_through(with_progress(run, [*notes, line] if line else notes))
    return _write_made(status, run.has_result, lambda: _save(args, run.result()))


def _estimate_for(args: argparse.Namespace, config) -> str:
    """``--estimate``'s line: of the run, or of each frame of ``--axis`` or value of
    ``--sweep`` (each is a run)."""
    images = _input_images(args)
    runs = ""
    if getattr(args, "axis", None) is not None:  # one frame's picture, not the stack's
        import numpy as np

        frames = np.moveaxis(images["content"], args.axis, 0)
        images["content"], runs = frames[0], f" (each of {len(frames)} frames)"
    elif args.sweep:
        runs = f" (each of {len(args.sweep[1])} values)"
    return _estimate_line(config, images, probe=True) + runs


def _estimate_line(config, images: dict, probe: bool) -> str:
    """The run's estimated time and memory (core/estimate.py), from the cached calibration or,
    with ``probe``, one made now; "" without either."""
    from .core.errors import reword
    from .core.estimate import cached_calibration, estimate

    calibration = cached_calibration(config)
    if calibration is None and not probe:
        return ""
    if calibration is None:
        from .core.probe import calibrate

        print("calibrating the estimate on this machine (once, about 30 s)...",
              file=sys.stderr)
        calibration = calibrate(config)
    shapes = [image.shape for given in images.values() for image in _paths(given)]
    return reword(estimate(config, calibration, *shapes).describe(), _as_flag)


def _input_images(args: argparse.Namespace) -> dict:
    """The task's images, read: the content, the style (a list)."""
    from .core.image_files import read_image

    return {role: read_image(getattr(args, role)) if role == "content" else
            [read_image(path) for path in style_files(args)]
            for role in INPUT_NAMES[args.command]}


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator:
    """A ``distributed.Client`` for ``--dask`` (None without it), said on stderr, closed
    after."""
    if not args.dask:
        yield None
        return
    from .core.config import cluster_backend

    with cluster_backend().connected(args.dask) as client:
        print(f"dask cluster {args.dask}: {cluster_backend().describe(client)}",
              file=sys.stderr)
        yield client


def _optimize_sweep(args: argparse.Namespace, config, images: dict, client) -> int:
    """Every value of ``--sweep`` (in this process, or on ``client``'s cluster), stacked in
    the output TIFF as they come; Ctrl-C, running out of memory or a failing cluster write
    the values done so far."""
    from .core.sweeps import Sweep

    parameter, values = args.sweep
    runs = Sweep(config, parameter, values, **images, **_optional_inputs(args),
                 client=client)
    status = _run_through(with_sweep_progress(runs))
    return _write_made(status, runs.has_result,
                       lambda: _save_stack(args, *sweep_record(runs.result())))


def _optimize_remote(args: argparse.Namespace, config, images: dict, client) -> int:
    """One run as one task on ``client``'s cluster (a GPU node, say), its steps on a bar;
    Ctrl-C, or the cluster failing, write the result so far."""
    from .core.config import cluster_backend

    found, running = {}, {}
    tasks = cluster_backend().run_tasks(
        client, [(config, {**images, **_optional_inputs(args)})],
        lambda index, result, _snapshots: found.__setitem__(index, result), running=running)
    status = _run_through(with_task_progress(tasks, running))
    return _write_made(status, bool(found), lambda: _save(args, found[0]))


def with_task_progress(tasks: Iterator, running: dict) -> Iterator:
    """``tasks``' events, with a tqdm bar of the steps the running task last said."""
    from tqdm import tqdm

    with tqdm(unit="step", file=sys.stderr) as bar:
        for event in tasks:
            for step, total in running.values():
                bar.total = total
                bar.update(step - bar.n)
            yield event


def _run_through(events: Iterator) -> int:
    """Consume ``events``: 0, the exit status of the Ctrl-C (or SIGTERM) that stopped them,
    or 1 when memory ran out or the cluster failed (said); what finished is the caller's to
    write."""
    from .core.errors import ClusterError, OutOfMemory

    try:
        for _ in events:
            pass
    except KeyboardInterrupt as interrupt:
        print("napari-neural-style: interrupted", file=sys.stderr)
        return getattr(interrupt, "exit_status", 128 + signal.SIGINT)
    except (ClusterError, OutOfMemory) as error:
        _say_error(error)
        return EXIT_FAILED
    return 0


def _write_made(status: int, made: bool, save: Callable[[], int]) -> int:
    """After a run (or runs) that ended with exit ``status`` (:func:`_run_through`): write
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


def with_sweep_progress(runs) -> Iterator:
    """``runs``' events with a tqdm bar of the values done on stderr."""
    from tqdm import tqdm

    from .core.sweep_spec import SweepSlice, SweepStep, SweepWaiting

    with tqdm(total=len(runs.values), unit="value", file=sys.stderr,
              desc=f"sweep {runs.parameter}") as bar:
        for event in runs:
            if isinstance(event, SweepSlice):
                bar.update(1)
            elif isinstance(event, SweepStep):
                bar.set_postfix(step=f"{event.step}/{event.total}", refresh=False)
            elif isinstance(event, SweepWaiting) and event.running:
                bar.set_postfix(steps=" ".join(f"{step}/{total}" for step, total in
                                               event.running.values()))
            yield event


def _save_stack(args: argparse.Namespace, stack, record: dict) -> int:
    """Write a stack and its record (-o, --json); 1 if either went to a rescue file."""
    from .core.image_files import write_image

    written = _write_or_rescue(args.output, ".tif", lambda path: write_image(path, stack,
                                                                             record))
    print(f"wrote {written}", file=sys.stderr)
    rescued = written != args.output
    if args.json:
        rescued |= _write_or_rescue(args.json, ".json", lambda path: _write_text(
            path, json.dumps(record, indent=2))) != args.json
    return EXIT_FAILED if rescued else 0


def _optional_inputs(args: argparse.Namespace) -> dict:
    """The image to start from (``--init PATH``), the label image (``--regions``) and the
    styles' label images (``--style-labels``), read, as :class:`~.core.tasks.Run` takes
    them."""
    from .core.image_files import read_image

    start, style_labels = start_file(args), _style_label_files(args)
    labels = getattr(args, "labels", None)
    return {"init_image": None if start is None else read_image(start),
            "labels": None if labels is None else read_image(labels, labels=True),
            "style_labels": None if style_labels is None else [
                None if path is None else read_image(path, labels=True)
                for path in style_labels]}


def _optimize_frames(args: argparse.Namespace, config, client) -> int:
    """Every frame of the content stack along ``--axis`` (core/frames.py; each a task on
    ``client``'s cluster, if given); Ctrl-C writes the frames done so far."""
    import numpy as np

    from .core.config import FrameSettings
    from .core.frames import FrameRun, frames_along
    from .core.image_files import read_image

    content = read_image(args.content)
    frames = frames_along(content, args.axis)
    inputs = _optional_inputs(args)
    if inputs["labels"] is not None:  # a label image per frame
        inputs["labels"] = np.moveaxis(inputs["labels"], args.axis, 0)
    runs = FrameRun(config, frames, [read_image(path) for path in style_files(args)],
                    FrameSettings(args.temporal, args.temporal_weight, args.frame_steps),
                    **inputs, client=client)
    status = _run_through(with_frame_progress(runs))

    def save() -> int:
        record = runs.provenance()
        print(f"{len(runs.done)} of {len(frames)} frames done, flicker "
              f"{record['frames']['flicker']}", file=sys.stderr)
        # the frames back where they were
        return _save_stack(args, np.moveaxis(runs.stack(), 0, args.axis % content.ndim),
                           record)

    return _write_made(status, any(result is not None for result in runs.results), save)


def with_frame_progress(runs) -> Iterator:
    """``runs``' ``(frame, step)`` pairs with a tqdm bar per frame on stderr (on a cluster,
    one bar of the frames done)."""
    from tqdm import tqdm

    if runs.client is not None:
        with tqdm(total=len(runs.frames), unit="frame", file=sys.stderr) as bar:
            for index, step in runs:
                bar.update(index is not None)
                yield index, step
        return
    bar, current = None, None
    try:
        for index, step in runs:
            if index != current:
                if bar is not None:
                    bar.close()
                bar, current = tqdm(total=step.total, unit="step", file=sys.stderr,
                                    desc=f"frame {index + 1}/{len(runs.frames)}"), index
            bar.set_postfix(loss=f"{step.losses.total:.4g}", refresh=False)
            bar.update(step.step - bar.n)
            yield index, step
    finally:
        if bar is not None:
            bar.close()


def _upsampling_notes(config, images: dict) -> list[str]:
    """A line for each input image enlarged to its working size (a style's is ``--size``
    times its ``--style-scale``)."""
    from .core.config import upsampling

    notes = []
    for role, given in images.items():
        several = isinstance(given, list) and len(given) > 1
        for index, image in enumerate(_paths(given)):
            size = config.working_size(role, index=index)
            factor = upsampling(*image.shape[:2], size)
            target = f"--size {size}" if size == config.size else (
                f"{size} px (--size {config.size} x --style-scale "
                f"{config.style_factor(index):g})")
            name = f"{role} image {index + 1}" if several else f"{role} image"
            if factor > 1:
                notes.append(f"the {name}, {image.shape[0]}x{image.shape[1]} px, is "
                             f"upsampled {factor:.3g}x to {target}")
    return notes


def _save(args: argparse.Namespace, result) -> int:
    """Write the result and its record; a write that fails goes to a rescue file (exit 1)."""
    from .core.image_files import write_image

    steps = f"{result.steps_done} steps"
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
    from .core.errors import OutputError

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


def with_progress(run, notes: list[str] = ()) -> Iterator:
    """``run``'s steps, with a tqdm bar on stderr counting every scale's steps; the weights,
    the device and ``notes`` are said once the run is set up."""
    from tqdm import tqdm

    bar = None
    try:
        for step in run:
            if bar is None:  # set up: the weights are known, and worked
                print(f"weights: {run.engine.weights.label}; device: {run.engine.device}",
                      *(f"note: {note}" for note in notes), sep="\n", file=sys.stderr)
                bar = tqdm(total=run.total_steps, unit="step", file=sys.stderr)
            bar.set_postfix(loss=f"{step.losses.total:.4g}", refresh=False)
            bar.update(step.step - bar.n)
            yield step
    finally:
        if bar is not None:
            bar.close()


def _features(args: argparse.Namespace) -> int:
    import tifffile

    from .core.features import feature_maps
    from .core.image_files import read_image
    from .core.vgg_layers import channel_axis_label, parse_layers

    names = parse_layers(args.layers)
    maps = feature_maps(read_image(args.image), names, weights=args.weights, size=args.size,
                        pooling=args.pooling, device=args.device,
                        weights_format=args.weights_format)
    for name, stack in maps.items():
        path = args.output if len(names) == 1 else args.output.with_name(
            f"{args.output.stem}-{name}{args.output.suffix or '.tif'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, stack, metadata={"axes": "CYX", "layer": name,
                                                "label": channel_axis_label(name)})
        print(f"wrote {path}: {stack.shape[0]} channels of {stack.shape[1]}x{stack.shape[2]} "
              f"at {name}", file=sys.stderr)
    return 0


def recorded_run(path: Path):
    """The Config of the run recorded at ``path`` (see ``--from-json``)."""
    from .core.errors import InputError
    from .core.image_files import read_provenance
    from .core.result import recorded_config

    try:
        record = json.loads(path.read_text()) if path.suffix.lower() == ".json" else \
            read_provenance(path)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"cannot read the run record {path}: {error}") from None
    if record is None:
        raise InputError(f"{path} carries no run record")
    return recorded_config(record.get("neural_style", record))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """Arguments, with a ``--from-json`` record's settings as the defaults of its task."""
    from .core.errors import InputError

    scout = argparse.ArgumentParser(add_help=False)
    scout.add_argument("--from-json", type=Path)
    scout.add_argument("command", nargs="?")
    known, _ = scout.parse_known_args(argv)
    recorded = recorded_run(known.from_json) if known.from_json else None
    if recorded is not None and recorded.task != known.command:
        raise InputError(f"{known.from_json} records a {recorded.task} run: run it with "
                         f"napari-neural-style {recorded.task} ...")
    return build_parser(recorded).parse_args(argv)


def _as_flag(name: str, value: str) -> str:
    """A setting named in a core message (``memory='lean'``) as a flag: ``--memory lean``."""
    return f"--{name.replace('_', '-')} {value}"


def _say_error(error: Exception) -> None:
    """One line on stderr, the settings it names as flags."""
    from .core.errors import reword

    message = reword(str(error), _as_flag)
    print(f"napari-neural-style: error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    from .core.errors import NeuralStyleError, OutOfMemory

    try:
        with _terminate_as_interrupt():
            args = _parse(argv)
            _check_outputs(args)  # before torch is even imported
            return _features(args) if args.command == "features" else _optimize(args)
    except OutOfMemory as error:  # before the first step
        _say_error(error)
        return EXIT_FAILED
    except (NeuralStyleError, OSError) as error:
        _say_error(error)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as interrupt:  # before the run began
        print("napari-neural-style: interrupted", file=sys.stderr)
        return getattr(interrupt, "exit_status", 128 + signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
