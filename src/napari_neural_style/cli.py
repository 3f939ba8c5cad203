"""``napari-neural-style``: the engine from the command line.

Exit status 0 on success, 2 with a one-line message for bad usage or bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _common_options() -> argparse.ArgumentParser:
    from dataclasses import fields

    from .core.config import MEMORY_MODES, OPTIMIZERS, POOLINGS, PRECISIONS, Config

    defaults = argparse.Namespace(**{field.name: field.default for field in fields(Config)})
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-o", "--output", required=True, type=Path, help="output image file")
    common.add_argument("--size", type=int, default=defaults.size,
                        help="working size, longest side in px (default %(default)s)")
    common.add_argument("--steps", type=int, default=defaults.steps,
                        help="optimisation steps (default %(default)s)")
    common.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    common.add_argument("--learning-rate", type=float, default=None,
                        help="step size (default: 1 for lbfgs, 0.02 for adam)")
    common.add_argument("--seed", type=int, default=defaults.seed, help="noise seed")
    common.add_argument("--device", default=defaults.device, help="auto|cpu|cuda[:i]|mps")
    common.add_argument("--weights", default=defaults.weights,
                        help="imagenet (default), random[:SEED] (untrained) or a .pth file")
    common.add_argument("--pooling", choices=POOLINGS, default=defaults.pooling)
    common.add_argument("--tv-weight", type=float, default=defaults.tv_weight)
    common.add_argument("--precision", choices=PRECISIONS, default=defaults.precision,
                        help="network precision; auto: bf16 on GPUs and AMX CPUs, else fp32")
    common.add_argument("--memory", choices=MEMORY_MODES, default=defaults.memory,
                        help="lean: recompute activations in the backward pass (less memory, "
                             "1.2-1.4x the time). auto: lean from 2048 px")
    common.add_argument("--scales", default="auto", type=_scales,
                        help="coarse-to-fine fractions of --size, e.g. 0.25,0.5,1 (each runs "
                             "--steps steps); auto: halve while >= 256 px; 1: single scale")
    common.add_argument("--coarse-steps", type=int, default=None,
                        help="steps at each scale but the last (default: --steps)")
    common.add_argument("--json", type=Path, metavar="METRICS.json",
                        help="write parameters, timings, weights and loss history here")
    return common


def _scales(text: str) -> tuple[float, ...] | None:
    from .core.config import parse_scales
    from .core.errors import InputError

    try:
        return parse_scales(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    from .core.config import (
        DEFAULT_CONTENT_LAYERS,
        DEFAULT_RECONSTRUCT_LAYER,
        DEFAULT_STYLE_LAYERS,
        INITS,
        POOLINGS,
    )

    common = _common_options()
    parser = _Parser(prog="napari-neural-style", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    recon = commands.add_parser("reconstruct", parents=[common],
                                help="reconstruct an image from one layer's features")
    recon.add_argument("image", type=Path)
    recon.add_argument("--layer", default=DEFAULT_RECONSTRUCT_LAYER,
                       help="layer(s) to match, e.g. conv_4 or conv2_2 (default %(default)s)")

    texture = commands.add_parser("texture", parents=[common],
                                  help="synthesise a texture matching Gram matrices")
    texture.add_argument("image", type=Path)
    texture.add_argument("--layers", default=",".join(DEFAULT_STYLE_LAYERS),
                         help="layers, e.g. conv_1,conv_2 or conv_5-8 or all")

    style = commands.add_parser("transfer", parents=[common], help="neural style transfer")
    style.add_argument("content", type=Path)
    style.add_argument("style", type=Path)
    style.add_argument("--content-layers", default=",".join(DEFAULT_CONTENT_LAYERS))
    style.add_argument("--style-layers", default=",".join(DEFAULT_STYLE_LAYERS))
    style.add_argument("--content-weight", type=float, default=1.0)
    style.add_argument("--style-weight", type=float, default=0.5)
    style.add_argument("--init", choices=INITS, default="content")

    features = commands.add_parser("features", help="write feature maps as a multi-page TIFF")
    features.add_argument("image", type=Path)
    features.add_argument("--layer", default=DEFAULT_RECONSTRUCT_LAYER,
                          help="layer(s); several give one TIFF each")
    features.add_argument("-o", "--output", required=True, type=Path)
    features.add_argument("--size", type=int, default=512)
    features.add_argument("--device", default="auto")
    features.add_argument("--weights", default="imagenet")
    features.add_argument("--pooling", choices=POOLINGS, default="max")
    return parser


def _config(args: argparse.Namespace):
    from .core.config import Config

    common = {
        "steps": args.steps, "size": args.size, "optimizer": args.optimizer,
        "learning_rate": args.learning_rate, "seed": args.seed, "device": args.device,
        "weights": args.weights, "pooling": args.pooling, "tv_weight": args.tv_weight,
        "precision": args.precision, "memory": args.memory, "scales": args.scales,
        "coarse_steps": args.coarse_steps,
    }
    if args.command == "reconstruct":
        return Config("reconstruct", content_layers=args.layer, **common)
    if args.command == "texture":
        return Config("texture", style_layers=args.layers, **common)
    return Config("transfer", content_layers=args.content_layers,
                  style_layers=args.style_layers, content_weight=args.content_weight,
                  style_weight=args.style_weight, init=args.init, **common)


def _optimise(args: argparse.Namespace) -> int:
    from .core.images import read_image, write_image
    from .core.tasks import Run

    config = _config(args)
    if args.command == "transfer":
        run = Run(config, content=read_image(args.content), style=read_image(args.style))
    elif args.command == "texture":
        run = Run(config, style=read_image(args.image))
    else:
        run = Run(config, content=read_image(args.image))
    bar = _ProgressBar(config.steps)
    for step in run:
        if step.step == 0:
            print(f"weights: {run.weights.label}; device: {run.device}", file=sys.stderr)
        bar.update(step)
    bar.close()
    result = run.result()
    written = write_image(args.output, result.image)
    print(f"wrote {written} ({result.steps_done} steps, {result.seconds:.1f} s, "
          f"weights: {result.weights['label']})", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.provenance(full_history=False), indent=2))
    return 0


def _features(args: argparse.Namespace) -> int:
    import tifffile

    from .core.images import read_image
    from .core.inspect import feature_maps
    from .core.layers import channel_axis_label, parse_layers

    names = parse_layers(args.layer)
    maps = feature_maps(read_image(args.image), names, weights=args.weights, size=args.size,
                        pooling=args.pooling, device=args.device)
    for name, stack in maps.items():
        path = args.output if len(names) == 1 else args.output.with_name(
            f"{args.output.stem}-{name}{args.output.suffix or '.tif'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, stack, metadata={"axes": "CYX", "layer": name,
                                                "label": channel_axis_label(name)})
        print(f"wrote {path}: {stack.shape[0]} channels of {stack.shape[1]}x{stack.shape[2]} "
              f"at {name}", file=sys.stderr)
    return 0


class _ProgressBar:
    """A one-line progress bar on stderr (a line per 10% when stderr is not a terminal)."""

    def __init__(self, total: int, width: int = 30):
        self.total, self.width = max(total, 1), width
        self.interactive = sys.stderr.isatty()
        self.reported = -1

    def update(self, step) -> None:
        fraction = step.step / self.total
        line = (f"[{'#' * round(fraction * self.width):<{self.width}}] {step.step}/{step.total} "
                f"loss {step.losses.total:.4g} "
                f"{step.elapsed / max(step.step, 1):.2f} s/step")
        if self.interactive:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        elif int(fraction * 10) > self.reported:
            self.reported = int(fraction * 10)
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.interactive:
            print(file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .core.errors import NeuralStyleError

    try:
        return _features(args) if args.command == "features" else _optimise(args)
    except (NeuralStyleError, OSError) as error:
        print(f"napari-neural-style: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("napari-neural-style: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
