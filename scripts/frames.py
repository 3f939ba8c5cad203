"""A styled movie, for docs/frames.md: the content frames, the frames styled one by one, and
the frames styled with temporal consistency, as a strip (PNG) and side by side as an animated
GIF.

The movie is a bundled photograph panned and zoomed (``samples.moving_sample``).  Weights:
ImageNet if they can be found or downloaded, otherwise the untrained network, and the
caption says which.

    python scripts/frames.py [--out docs/images] [--size 128] [--steps 100]
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from figures import grid, picture_options
from napari_neural_style.core.config import Config
from napari_neural_style.core.frame_settings import FrameSettings
from napari_neural_style.core.frames import FrameRun
from napari_neural_style.core.samples import load_sample, moving_sample

FRAMES = 8
FRAME_STEPS = 40


def main() -> None:
    args, weights, spec, label = picture_options(__doc__.splitlines()[0], 128, 100)
    movie = moving_sample("astronaut", FRAMES, args.size)
    style = load_sample("immunohistochemistry")
    config = Config.for_task("transfer", size=args.size, steps=args.steps, weights=spec,
                             scales=(1.0,))
    rows = {"content": movie}
    for name, settings in (("one by one", FrameSettings("none")),
                           ("temporal", FrameSettings("flow", frame_steps=FRAME_STEPS))):
        runs = FrameRun(config, movie, style, settings, weights=weights)
        for _ in runs:
            pass
        flicker = runs.provenance()["frames"]["flicker"]
        rows[f"{name}, flicker {flicker:.2f}"] = runs.stack()
    strips = [grid([(str(index), frame) for index, frame in enumerate(frames)],
                   args.out / f"frames-row-{position}.png",
                   f"{title}" if position else f"{title} (a styled movie: {label})")
              for position, (title, frames) in enumerate(rows.items())]
    pictures = [Image.open(path).convert("RGB") for path in strips]
    sheet = Image.new("RGB", (max(p.width for p in pictures), sum(p.height for p in pictures)),
                      "white")
    for offset, picture in zip(np.cumsum([0] + [p.height for p in pictures]), pictures,
                               strict=False):
        sheet.paste(picture, (0, int(offset)))
    sheet.save(args.out / "frames.png")
    for path in strips:
        path.unlink()
    side_by_side = [Image.fromarray(np.round(np.concatenate(frames, axis=1) * 255)
                                    .astype(np.uint8))
                    for frames in zip(*rows.values(), strict=True)]
    side_by_side[0].save(args.out / "frames.gif", save_all=True,
                         append_images=side_by_side[1:], duration=250, loop=0)
    print(args.out / "frames.png", args.out / "frames.gif")


if __name__ == "__main__":
    main()
