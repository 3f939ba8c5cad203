"""The transfer controls, one picture grid each, for docs/controls.md: result colours, style
scale, style loss, start image and a blend of two styles, on the bundled samples.

Weights: ImageNet if they can be found or downloaded, otherwise the untrained network, and
every caption says which.

    python scripts/controls.py [--out docs/images] [--size 192] [--steps 150]
"""

from __future__ import annotations

from figures import grid, picture_options
from napari_neural_style.core.config import COLOURS, STYLE_LOSSES, Config
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.tasks import Run

STYLE_SCALES = (0.5, 1.0, 2.0)
#: blend weights of the two styles, from all the first to all the second
BLENDS = ((1, 0), (3, 1), (1, 1), (1, 3), (0, 1))


def main() -> None:
    args, weights, spec, label = picture_options(__doc__.splitlines()[0], 192, 150)
    content, style = load_sample("astronaut"), load_sample("immunohistochemistry")

    def transfer(styles=(style,), **options):
        config = Config.for_task("transfer", size=args.size, steps=args.steps, weights=spec,
                                 **options)
        return Run(config, content=content, style=list(styles),
                   weights=weights).complete().image

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
    second = load_sample("coffee")
    tiles = [(f"--init {init}", transfer(init=init)) for init in ("content", "noise", "style")]
    tiles.append(("--init coffee.png", Run(
        Config.for_task("transfer", size=args.size, steps=args.steps, weights=spec,
                        init="image"), content=content, style=style, weights=weights,
        init_image=second).complete().image))
    print(grid(inputs + tiles, args.out / "controls-init.png",
               f"Where the run starts, the seed's transfer ({label})"))
    tiles = [(f"--style-blend {a},{b}", transfer((style, second), style_blend=(a, b)))
             for a, b in BLENDS]
    print(grid([*inputs, ("style 2", to_numpy(to_tensor(second, args.size))), *tiles],
               args.out / "controls-style-blend.png",
               f"Two styles blended, the seed's transfer ({label})"))


if __name__ == "__main__":
    main()
