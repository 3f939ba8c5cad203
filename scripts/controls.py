"""The transfer controls, one picture grid each, for docs/controls.md: result colours, style
scale and style loss, on the bundled samples.

Weights: ImageNet if they can be found or downloaded, otherwise the untrained network, and
every caption says which.

    python scripts/controls.py [--out docs/images] [--size 192] [--steps 150]
"""

from __future__ import annotations

from figures import grid, picture_options
from napari_neural_style.core.config import COLOURS, STYLE_LOSSES, Config
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.tasks import Run
from napari_neural_style.samples import load_sample

STYLE_SCALES = (0.5, 1.0, 2.0)


def main() -> None:
    args, weights, spec, label = picture_options(__doc__.splitlines()[0], 192, 150)
    content, style = load_sample("astronaut"), load_sample("immunohistochemistry")

    def transfer(**options):
        config = Config.for_task("transfer", size=args.size, steps=args.steps, weights=spec,
                                 **options)
        return Run(config, content=content, style=style, weights=weights).complete().image

    inputs = [("content", to_numpy(to_tensor(content, args.size))),
              ("style", to_numpy(to_tensor(style, args.size)))]
    tiles = [(f"--colour {colour}", transfer(colour=colour)) for colour in COLOURS]
    print(grid(inputs + tiles, args.out / "controls-colour.png",
               f"Result colours, the seed's transfer ({label})"))
    tiles = [(f"--style-scale {scale:g}", transfer(style_scale=scale))
             for scale in STYLE_SCALES]
    print(grid(inputs + tiles, args.out / "controls-style-scale.png",
               f"Style scale, the seed's transfer ({label})"))
    tiles = [(f"--style-loss {loss}", transfer(style_loss=loss)) for loss in STYLE_LOSSES]
    print(grid(inputs + tiles, args.out / "controls-style-loss.png",
               f"Style loss, the seed's transfer ({label})"))


if __name__ == "__main__":
    main()
