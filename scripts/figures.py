"""The seed's figures, remade: reconstruction by layer, texture by layer group, seed
differences, and a transfer, as labelled PNG grids for docs/figures.md.

Weights: ImageNet if they can be found or downloaded, otherwise the untrained network, and
every caption says which.

    python scripts/figures.py [--out docs/images] [--size 128] [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from napari_neural_style.core.config import Config
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.sweep_spec import SWEEPS
from napari_neural_style.core.sweeps import Sweep, differences
from napari_neural_style.core.tasks import Run
from napari_neural_style.demo import choose_weights

CAPTION = 14


def grid(tiles: list[tuple[str, np.ndarray]], path: Path, title: str) -> Path:
    """Tiles in one row under a title; float images in [0, 1] or signed greys in [-1, 1]."""
    size = max(max(image.shape[:2]) for _, image in tiles)
    width = max(len(tiles) * (size + 4), 6 * len(title) + 8)  # the default font is ~6 px wide
    sheet = Image.new("RGB", (width, size + 2 * CAPTION + 6), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), title, fill="black")
    for position, (label, image) in enumerate(tiles):
        if image.ndim == 2:  # signed difference: grey 0.5 is zero
            image = np.repeat((np.clip(image, -1, 1)[..., None] + 1) / 2, 3, axis=-1)
        x = position * (size + 4)
        sheet.paste(Image.fromarray(np.round(image * 255).astype(np.uint8)),
                    (x, 2 * CAPTION + 4))
        draw.text((x + 2, CAPTION + 2), label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def sweep_tiles(parameter: str, base: Config, values, **images) -> list[tuple[str, np.ndarray]]:
    runs = Sweep(base, parameter, values, **images)
    for _ in runs:
        pass
    result = runs.result()
    return [(str(value), image) for value, image in zip(result.values, result.stack,
                                                         strict=True)]


def picture_options(description: str, size: int, steps: int):
    """The pictures' command line (``--out``, ``--size``, ``--steps``), the weights (ImageNet
    if they can be had, else the untrained network), their spec, and the captions' label."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--size", type=int, default=size)
    parser.add_argument("--steps", type=int, default=steps)
    args = parser.parse_args()
    weights = choose_weights("imagenet")
    label = f"{weights.label}, {args.size} px, {args.steps} L-BFGS steps"
    return args, weights, "random" if weights.is_random else "imagenet", label


def main() -> None:
    args, weights, spec, label = picture_options(__doc__.splitlines()[0], 128, 200)
    common = {"size": args.size, "steps": args.steps, "weights": spec, "device": "auto"}
    astronaut, gravel = load_sample("astronaut"), load_sample("gravel")
    hubble = load_sample("hubble_deep_field")
    source = to_numpy(to_tensor(astronaut, args.size))
    texture_source = to_numpy(to_tensor(gravel, args.size))
    timings = {}

    start = time.perf_counter()
    tiles = sweep_tiles("content_layers", Config("reconstruct", "conv_1", **common),
                        SWEEPS["content_layers"].values, content=astronaut)
    grid([("original", source), *tiles], args.out / "figure-reconstruction.png",
         f"Content reconstruction from noise, layer by layer ({label})")
    timings["reconstruction"] = time.perf_counter() - start

    start = time.perf_counter()
    tiles = sweep_tiles("style_layers", Config("texture", style_layers="conv_1", **common),
                        SWEEPS["style_layers"].values, style=gravel)
    grid([("original", texture_source), *tiles], args.out / "figure-textures.png",
         f"Texture synthesis, Gram matrices by layer group ({label})")
    timings["textures"] = time.perf_counter() - start

    start = time.perf_counter()
    runs = Sweep(Config("reconstruct", "conv_8", **common), "seed", (0, 1), content=astronaut)
    for _ in runs:
        pass
    stack = runs.result().stack
    found = differences(stack, source)
    grid([("seed 0", stack[0]), ("seed 1", stack[1]),
          ("seed 1 - seed 0", found["between"][0]),
          ("seed 0 - original", found["to_original"][0])],
         args.out / "figure-seeds.png",
         f"Reconstruction from conv_8, two noise seeds and their differences ({label})")
    timings["seeds"] = time.perf_counter() - start

    start = time.perf_counter()
    result = Run(Config.for_task("transfer", **common), content=astronaut,
                 style=hubble).complete()
    grid([("content", source), ("style", to_numpy(to_tensor(hubble, args.size))),
          ("transfer", result.image)], args.out / "figure-transfer.png",
         f"Style transfer, content conv_9, style conv_2,4,8,16, weights 1 and 0.5 ({label})")
    timings["transfer"] = time.perf_counter() - start
    print(json.dumps({"weights": weights.describe(), "seconds": timings,
                      "transfer_quality": result.quality}, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
