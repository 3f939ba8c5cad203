"""Pixels bounded to [0, 1] while optimised, against free pixels clipped afterwards.

The seed's transfer (content conv_9, style conv_2,4,8,16, weights 1 / 0.5, from the content
image) of the astronaut with each style, ``--steps`` L-BFGS steps at ``--size`` px, float32,
one untrained network (``random-single:0``), three ways:

* ``free``: the engine with ``pixel_range="free"`` (as before 2026-11-30), its result clipped to
  [0, 1] as it is shown and saved;
* ``bounded``: the engine's default (``pixel_range="bounded"``: projected L-BFGS);
* ``L-BFGS-B``: scipy's box-constrained L-BFGS on the same objective, as many evaluations: the
  textbook method the projection stands in for.

For each: the objective at the image shown, and the transfer figures of
``untrained.py`` (how far the Gram error to the style falls, on a judge network, ``random-
single:1``, and on its own; content error over an unrelated photograph's).

    python benchmarks/pixel_range.py [--size 128] [--steps 150]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import scipy.optimize
import torch

from common import say
from napari_neural_style.core.config import Config
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.objective import Objective
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.vgg import VGGEncoder
from untrained import STYLES, Network, rgb, transfer_figures


def engine(network: Network, size: int, steps: int, content: torch.Tensor,
           style: torch.Tensor) -> torch.Tensor:
    """The engine's result, as shown: clipped to [0, 1]."""
    image = network.run("transfer", size, steps, content=to_numpy(content),
                        style=to_numpy(style))
    return to_tensor(image, size)


def lbfgs_b(objective: Objective, content: torch.Tensor, steps: int) -> torch.Tensor:
    """scipy's L-BFGS-B within [0, 1] from ``content``, ``steps`` evaluations, the engine's
    history (20 pairs); scaled by 1e4 so its tolerances (set to 0) never stop it early."""
    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        pixels = torch.from_numpy(flat.astype(np.float32)).reshape(content.shape)
        pixels.requires_grad_(True)
        total, _ = objective(pixels)
        total.backward()
        return 1e4 * float(total.detach()), 1e4 * pixels.grad.double().numpy().ravel()

    found = scipy.optimize.minimize(
        loss_and_gradient, content.double().numpy().ravel(), jac=True, method="L-BFGS-B",
        bounds=scipy.optimize.Bounds(0, 1),
        options={"maxfun": steps, "maxcor": 20, "ftol": 0, "gtol": 0})
    return torch.from_numpy(found.x.astype(np.float32)).reshape(content.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    network = Network("random-single")
    free = Network("random-single", pixel_range="free")
    content = to_tensor(load_sample("astronaut"), args.size)
    seed = Config.for_task("transfer")
    encoder = VGGEncoder(network.weights, seed.content_layers + seed.style_layers, "avg")
    say(f"pixel_range: seed transfer, {args.size} px, {args.steps} steps, random-single:0, "
        "fp32, judged on random-single:1")
    for sample in STYLES:
        style = to_tensor(rgb(load_sample(sample)), args.size)
        objective = Objective.from_images(encoder, content, [style], seed.content_layers,
                                          seed.style_layers)
        ways = {"free": partial(engine, free, args.size, args.steps, content, style),
                "bounded": partial(engine, network, args.size, args.steps, content, style),
                "L-BFGS-B": partial(lbfgs_b, objective, content, args.steps)}
        for name, way in ways.items():
            start = time.perf_counter()
            shown = way()
            seconds = time.perf_counter() - start
            with torch.no_grad():
                value = float(objective(shown)[0])
            say(f"  {sample} {name:9s} objective at the image shown {value:.4f} "
                f"({seconds:.0f} s); {transfer_figures(network, content, style, shown)}")


if __name__ == "__main__":
    main()
