"""The main job: napari with the plugin and sample images, or the same experiments headless.

``python -m napari_neural_style.demo`` opens napari when a display is available (and napari is
installed); otherwise, or with ``--headless``, it runs content reconstruction, texture synthesis
and style transfer on scikit-image's bundled samples and writes images, metrics and a labelled
grid to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from .core.config import Config
from .core.errors import WeightsError
from .core.image_files import write_image
from .core.images import to_numpy, to_tensor
from .core.result import Result
from .core.samples import load_sample
from .core.tasks import Run
from .core.weights import Weights, resolve_weights


def choose_weights(spec: str) -> Weights:
    """ImageNet weights if they can be had; else say so plainly and use the untrained net."""
    try:
        return resolve_weights(spec)
    except WeightsError as error:
        if spec != "imagenet":
            raise
        print(f"demo: {error}", file=sys.stderr)
        print("demo: continuing with an untrained VGG-19 (random weights); every result below "
              "is labelled 'random'", file=sys.stderr)
        return resolve_weights("random")


def experiments(size: int, steps: int,
                weights: str) -> list[tuple[str, Config, str | None, str | None]]:
    """(title, config, content sample, style sample) for the three experiments of the paper,
    with the ``weights`` spec that runs (the configs' default scales follow it)."""
    common = {"size": size, "steps": steps, "device": "auto", "weights": weights}
    return [
        ("reconstruction from conv_4", Config("reconstruct", "conv_4", **common), "astronaut",
         None),
        ("texture, conv_2,4,8,16", Config.for_task("texture", **common), None, "gravel"),
        ("transfer: astronaut x hubble",
         Config.for_task("transfer", **common), "astronaut", "hubble_deep_field"),
    ]


def run_headless(out: Path, size: int, steps: int, weights_spec: str) -> list[Path]:
    weights = choose_weights(weights_spec)
    if weights.is_random and weights_spec == "imagenet":  # the fallback
        weights_spec = "random"
    print(f"demo: weights: {weights.label} (sha256 {weights.sha256[:12]}...)", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    tiles: list[tuple[str, np.ndarray]] = []
    written: list[Path] = []
    for title, config, content_name, style_name in experiments(size, steps, weights_spec):
        content = load_sample(content_name) if content_name else None
        style = load_sample(style_name) if style_name else None
        run = Run(config, content=content, style=style, weights=weights)
        total = run.total_steps  # over every scale (coarse to fine runs several)
        for step in run:
            if step.step % max(1, total // 5) == 0 or step.step == total:
                print(f"demo: {title}: step {step.step}/{total} loss {step.losses.total:.4g}",
                      file=sys.stderr)
        result = run.result()
        stem = config.task
        written.append(write_image(out / f"{stem}.png", result.image, result.provenance()))
        (out / f"{stem}.json").write_text(json.dumps(result.provenance(full_history=False),
                                                     indent=2))
        for name, source in (("content", content), ("style", style)):
            if source is not None:
                tiles.append((f"{name}: {content_name if name == 'content' else style_name}",
                              to_numpy(to_tensor(source, size))))
        tiles.append((f"{title} [{weights.source}]", result.image))
        _report(title, result)
    written.append(_grid(tiles, out / "grid.png", size))
    print(f"demo: wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    return written


def _report(title: str, result: Result) -> None:
    first, last = result.history[0], result.history[-1]
    print(f"demo: {title}: loss {first['total']:.4g} -> {last['total']:.4g} in "
          f"{result.steps_done} steps, {result.seconds_per_step:.3f} s/step on {result.device}",
          file=sys.stderr)


def _grid(tiles: list[tuple[str, np.ndarray]], path: Path, size: int) -> Path:
    """A labelled contact sheet of inputs and results, ``columns`` tiles a row."""
    from PIL import Image, ImageDraw

    columns, caption = 4, 16
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * size, rows * (size + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for position, (label, image) in enumerate(tiles):
        x, y = (position % columns) * size, (position // columns) * (size + caption)
        tile = Image.fromarray(np.round(image * 255).astype(np.uint8))
        tile.thumbnail((size, size))
        sheet.paste(tile, (x, y + caption))
        draw.text((x + 3, y + 2), label, fill="black")
    sheet.save(path)
    return path


def can_open_napari() -> bool:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return False
    try:
        import napari  # noqa: F401
    except ImportError:
        return False
    return True


def open_napari(weights_spec: str) -> None:
    from .plugin.launch import launch_viewer

    launch_viewer(weights_spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headless", action="store_true", help="never open napari")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--weights", default="imagenet",
                        help="imagenet (falls back to random, loudly), random or a .pth file")
    args = parser.parse_args(argv)
    if not args.headless and can_open_napari():
        open_napari(args.weights)
        return 0
    print("demo: no display (or --headless): running the experiments headless",
          file=sys.stderr)
    run_headless(args.out, args.size, args.steps, args.weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
