"""The command line's parser: one flag per :class:`~..core.config.Config` option (and per
frame setting), its default read from the Config of the task (or of a recorded run,
``--from-json``), its help from the Option; and the run configuration the arguments
describe."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

from ..core.cluster_backend import CLUSTER_HELP
from ..core.command_line import INPUT_NAMES, flag_text
from ..core.config import DEFAULT_RECONSTRUCT_LAYER, INITS, OPTIONS, TASKS, Config
from ..core.errors import InputError
from ..core.frame_settings import FRAME_OPTIONS, FrameSettings
from ..core.image_files import read_provenance
from ..core.presets import PRESET_FIELDS, PRESETS, preset_values
from ..core.result import recorded_config
from ..core.sweep_spec import SWEEPS, parse_values
from ..core.text_fields import TEXT_FIELDS
from .messages import EXIT_BAD_INPUT

#: older spellings kept: ``reconstruct --layer``, ``texture --layers``
ALIASES = {("reconstruct", "content_layers"): "--layer", ("texture", "style_layers"): "--layers"}

HELP = {"reconstruct": "reconstruct an image from one layer's features",
        "texture": "synthesize a texture matching Gram matrices",
        "transfer": "neural style transfer"}


PRESET_HELP = ("set " + ", ".join(f"--{name}" for name in PRESET_FIELDS) + " for a purpose "
               "(flags given still win): " + "; ".join(
                   f"{name}: {preset.purpose} ({preset.size} px, {preset.steps} steps)"
                   for name, preset in PRESETS.items()))

#: engine settings the ``features`` command shares with the tasks
FEATURE_OPTIONS = ("size", "device", "weights", "weights_format", "pooling")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(recorded=None, preset: str | None = None) -> argparse.ArgumentParser:
    """The command line; a ``recorded`` Config (``--from-json``) gives its task's defaults,
    and a ``preset`` (``--preset``) those of its fields."""
    parser = _Parser(prog="napari-neural-style", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for task in TASKS:
        command = commands.add_parser(task, help=HELP[task])
        for role, name in INPUT_NAMES[task].items():
            several = {"nargs": "+" if task == "texture" else "*",
                       "help": "the style image, or several to blend (--style-blend)"} \
                if role == "style" else {"help": "the image whose features are matched"}
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
        command.add_argument("--preset", choices=tuple(PRESETS), help=PRESET_HELP)
        defaults = recorded if recorded is not None and recorded.task == task else \
            Config.for_task(task)
        _add_options(command, replace(defaults, **preset_values(preset)))
    features = commands.add_parser("features", help="write feature maps as a multi-page TIFF")
    features.add_argument("image", type=Path, metavar="IMAGE",
                          help="the image whose feature maps are written")
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
    """``--axis`` and a flag per frame setting (:class:`~..core.frame_settings.FrameSettings`)."""
    command.add_argument("--axis", type=int, metavar="AXIS",
                         help="CONTENT is a stack (a multi-page TIFF): style every frame along "
                              "this axis; the output TIFF keeps the axes")
    types = {item.name: item.type for item in fields(FrameSettings)}
    for name, option in FRAME_OPTIONS.items():
        _add_flag(command, name, option, types[name], getattr(FrameSettings(), name),
                  when="with --axis: ")


def _add_sweep_options(command: argparse.ArgumentParser) -> None:
    """``--sweep PARAMETER=VALUES`` (core/sweeps.py) and ``--dask ADDRESS``
    (core/cluster.py)."""
    command.add_argument("--sweep", type=_sweep_spec, metavar="PARAMETER=VALUES",
                         help=f"run once per value, the results stacked in the output TIFF; "
                              f"PARAMETER one of {', '.join(SWEEPS)}, VALUES comma-separated "
                              "(';' between layer lists): --sweep seed=0,1,2,3")
    command.add_argument("--dask", metavar="ADDRESS",
                         help=f"run on a dask cluster, each run one task (the sweep's values, "
                              f"the frames of --axis with --temporal none, or the one run), "
                              f"or, for one run that goes tile by tile, each step's tiles: "
                              f"{CLUSTER_HELP}")


def _sweep_spec(text: str) -> tuple[str, tuple]:
    """``PARAMETER=VALUES`` as ``(parameter, values)``."""
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


def style_label_files(args: argparse.Namespace) -> list[Path | None] | None:
    """Per style image (:func:`style_files`), the label image ``--style-labels`` gives it."""
    given = {style.resolve(): labels for style, labels in
             getattr(args, "style_label_specs", None) or ()}
    if not given:
        return None
    files = style_files(args)
    unknown = set(given) - {path.resolve() for path in files}
    if unknown:
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
    types = {item.name: item.type for item in fields(defaults)}
    wanted = names or [name for name, option in OPTIONS.items() if defaults.task in option.tasks
                       and name != "regions"]  # regions: _add_region_options
    for name in wanted:
        alias = ALIASES.get((defaults.task, name)) if names is None else None
        _add_flag(command, name, OPTIONS[name], types[name], getattr(defaults, name),
                  aliases=(alias,) if alias else ())


def _add_flag(command: argparse.ArgumentParser, name: str, option, annotation: str, value,
              aliases: tuple[str, ...] = (), when: str = "") -> None:
    """``--NAME`` for setting ``name`` with its :class:`~..core.config.Option`, of type
    ``annotation``, default ``value``; its help begins with ``when``."""
    # --init also takes a file to start from
    extra = {"metavar": "|".join(option.choices[:-1]) + "|PATH"} if name == "init" else \
        {"choices": option.choices}
    help = when + option.help
    command.add_argument(f"--{name.replace('_', '-')}", *aliases, dest=name,
                         type=_parser_of(name, annotation), **extra,
                         default=flag_text(name, value),
                         help=help if value is None else f"{help} (default %(default)s)")


def _parser_of(name: str, annotation: str):
    """How the command line reads Config field ``name`` of type ``annotation``."""
    if name in TEXT_FIELDS:
        return _text_parser(TEXT_FIELDS[name][0])
    if annotation.startswith("int"):
        return int
    if annotation.startswith("float"):
        return float
    return str


def _text_parser(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` with its errors as argparse's (a usage error, exit 2)."""
    def parsed(text: str):
        try:
            return parse(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parsed


def config_from(args: argparse.Namespace):
    """The run configuration the parsed arguments describe."""
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
    value = getattr(args, "init", None)
    if value == "image":
        raise InputError("--init image needs the file to start from: write --init PATH")
    return None if value is None or value in INITS else Path(value)


def recorded_run(path: Path):
    """The Config of the run recorded at ``path`` (see ``--from-json``)."""
    try:
        record = json.loads(path.read_text()) if path.suffix.lower() == ".json" else \
            read_provenance(path)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"cannot read the run record {path}: {error}") from None
    if record is None:
        raise InputError(f"{path} carries no run record")
    return recorded_config(record.get("neural_style", record) if isinstance(record, dict)
                           else record)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """Arguments, with a ``--from-json`` record's settings as the defaults of its task."""
    scout = argparse.ArgumentParser(add_help=False)
    scout.add_argument("--from-json", type=Path)
    scout.add_argument("--preset", choices=tuple(PRESETS))
    scout.add_argument("command", nargs="?")
    known, _ = scout.parse_known_args(argv)
    recorded = recorded_run(known.from_json) if known.from_json else None
    if recorded is not None and recorded.task != known.command:
        raise InputError(f"{known.from_json} records a {recorded.task} run: run it with "
                         f"napari-neural-style {recorded.task} ...")
    return build_parser(recorded, known.preset).parse_args(argv)
