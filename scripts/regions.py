"""A style per region, for docs/regions.md: the content, the painted labels and the results
of the two ways masks reach the network's layers, and soft edges.

Label 1 (the sky and the flag) takes the immunohistochemistry stain, label 2 (the lower
right) the coffee photograph, label 3 (the face) and everything unlabelled stay content only.
Weights: ImageNet if they can be found or downloaded, otherwise the untrained network, and
the caption says which.

    python scripts/regions.py [--out docs/images] [--size 192] [--steps 150]
"""

from __future__ import annotations

import numpy as np

from figures import grid, picture_options
from napari_neural_style.core.config import Config
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.tasks import Run

#: label -> (style sample or None: content only, weight)
REGIONS = {1: ("immunohistochemistry", 1.0), 2: ("coffee", 1.0), 3: (None, 0.0)}
#: how the label image is shown: a colour per label (0: black)
COLOURS = np.array([[0, 0, 0], [0.9, 0.3, 0.3], [0.3, 0.5, 0.9], [0.9, 0.8, 0.2]])


def painted_labels(shape: tuple[int, int]) -> np.ndarray:
    """Regions painted over the astronaut photograph, at any ``shape``: the sky and flag (1),
    the lower right (2), the face (3), the rest unlabelled (0)."""
    rows, columns = np.mgrid[0:shape[0], 0:shape[1]] / np.array(shape)[:, None, None]
    labels = np.zeros(shape, np.int32)
    labels[rows < 0.42] = 1
    labels[(rows >= 0.55) & (columns > 0.6)] = 2
    labels[((rows - 0.27) / 0.15) ** 2 + ((columns - 0.45) / 0.12) ** 2 < 1] = 3
    return labels


def main() -> None:
    args, weights, spec, label = picture_options(__doc__.splitlines()[0], 192, 150)
    content = to_numpy(to_tensor(load_sample("astronaut"), args.size))
    labels = painted_labels(content.shape[:2])
    names = [name for name, _ in REGIONS.values() if name]
    styles = [to_numpy(to_tensor(load_sample(name), args.size)) for name in names]
    regions = tuple((value, None if name is None else names.index(name), weight)
                    for value, (name, weight) in REGIONS.items())

    def transfer(**options) -> np.ndarray:
        config = Config.for_task("transfer", size=args.size, steps=args.steps, weights=spec,
                                 regions=regions, **options)
        return Run(config, content, styles, weights=weights, labels=labels).complete().image

    tiles = [("content", content), ("labels (3: face)", COLOURS[labels]),
             *((f"style {index + 1}: {name}", style)
               for index, (name, style) in enumerate(zip(names, styles, strict=True))),
             ("--region-mask simple", transfer()),
             ("inside", transfer(region_mask="inside")),
             ("inside, --feather 4", transfer(region_mask="inside", feather=4.0))]
    print(grid(tiles, args.out / "regions.png", f"A style per region ({label})"))


if __name__ == "__main__":
    main()
