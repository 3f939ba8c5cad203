"""How well untrained VGG-19s reconstruct, synthesise and transfer, side by side.

Networks (``--networks``): ``random-kaiming`` with max pooling (the untrained network of
0.1), the same with average pooling, and ``random`` (orthogonal kernels, average pooling:
``pooling=auto``), each from seed 0.  Every quality figure is judged twice: on the network the
image was optimised against, and on a *judge*, the same kind of network from seed 1, which it
never saw (a result that only fools its own network scores badly there).

* reconstruction: PSNR (dB) of ``--size`` px reconstructions of the astronaut from one layer
  each, ``--steps`` L-BFGS steps from noise, one scale; and coarse to fine (scales 0.5, 1,
  ``--steps`` each) for the deep layers.  Goal: >= 20 dB through conv_8, >= 15 at conv_12.
* texture: for scikit-image's gravel, brick and grass, the left half is the style; the
  relative Gram error (mean over the group's layers, on the judge) of a texture synthesised
  from it, divided by the same error of the right half (another crop of the same texture:
  the floor).  Goal: <= 2 for conv_1-2 through conv_5-8.
* transfer: the seed's transfer (content conv_9, style conv_2,4,8,16, weights 1 / 0.5, from
  the content image) of the astronaut with each style.  On the judge: how far the Gram error
  to the style falls from the content image's (goal >= 3x), and the content error at conv_9
  relative to an unrelated photograph's (the cat; goal <= 0.5).

    python benchmarks/untrained.py [--size 128] [--steps 300] [--parts recon,texture,transfer]
        [--networks kaiming-max,kaiming-avg,random] [--style-loss gram|meancov]
"""

from __future__ import annotations

import argparse
import time
from statistics import mean

import numpy as np
import torch

from common import say
from napari_neural_style.core.config import Config
from napari_neural_style.core.images import resize, to_numpy, to_tensor
from napari_neural_style.core.losses import content_loss, gram_matrix, style_loss
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.vgg_layers import parse_layers
from napari_neural_style.core.weights import resolve_weights
from napari_neural_style.samples import load_sample

#: name -> (weights spec, pooling)
NETWORKS = {"kaiming-max": ("random-kaiming", "max"), "kaiming-avg": ("random-kaiming", "avg"),
            "random": ("random", "auto")}
RECONSTRUCT_LAYERS = ("conv_1", "conv_2", "conv_4", "conv_8", "conv_12")
TEXTURE_GROUPS = ("conv_1-2", "conv_3-4", "conv_5-8", "conv_9-12")
TEXTURES = ("gravel", "brick", "grass")
STYLES = ("immunohistochemistry", "hubble_deep_field")


class Network:
    """One kind of untrained network: the one optimised against (seed 0) and its judge."""

    def __init__(self, name: str, style_loss: str = "gram"):
        spec, self.pooling = NETWORKS[name]
        self.style_loss = style_loss
        self.name, self.spec = name, spec
        self.weights = resolve_weights(f"{spec}:0")
        self.judge = resolve_weights(f"{spec}:1")

    def run(self, task: str, size: int, steps: int, scales=(1.0,), layers: dict | None = None,
            **images: np.ndarray) -> np.ndarray:
        """The image a ``task`` run (float32, one scale unless ``scales``) gives."""
        config = Config.for_task(task, size=size, steps=steps, scales=scales,
                                 pooling=self.pooling, weights=self.spec, device="cpu",
                                 precision="fp32", style_loss=self.style_loss,
                                 **(layers or {}))
        return Run(config, weights=self.weights, **images).complete().image

    def features(self, layers, image: torch.Tensor, judge: bool = True) -> dict:
        encoder = VGGEncoder(self.judge if judge else self.weights, layers, self.pooling)
        with torch.no_grad():
            return encoder(image)

    def gram_error(self, layers, image: torch.Tensor, target: torch.Tensor,
                   judge: bool = True) -> float:
        """Mean over ``layers`` of the relative Gram error of ``image`` to ``target``."""
        ours, theirs = self.features(layers, image, judge), self.features(layers, target, judge)
        return mean(float(style_loss(ours[name], gram_matrix(theirs[name]))) for name in ours)


def rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, -1) if image.ndim == 2 else image[..., :3]


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((image - reference) ** 2)))


def reconstruction(network: Network, size: int, steps: int) -> None:
    content = to_numpy(to_tensor(load_sample("astronaut"), size))
    figures = []
    for scales in ((1.0,), (0.5, 1.0)):
        for name in RECONSTRUCT_LAYERS if scales == (1.0,) else RECONSTRUCT_LAYERS[-2:]:
            image = network.run("reconstruct", size, steps, scales, content=content,
                                layers={"content_layers": name})
            label = name if scales == (1.0,) else f"{name} c2f"
            figures.append(f"{label} {psnr(image, content):.1f}")
    say(f"{network.name:12s} reconstruction PSNR dB: {', '.join(figures)}")


def texture(network: Network, size: int, steps: int) -> None:
    from skimage import data

    for sample in TEXTURES:
        image = rgb(getattr(data, sample)())
        half = image.shape[1] // 2
        left, right = to_tensor(image[:, :half], size), to_tensor(image[:, half:2 * half], size)
        figures = []
        for group in TEXTURE_GROUPS:
            layers = parse_layers(group)
            result = to_tensor(network.run("texture", size, steps, style=to_numpy(left),
                                           layers={"style_layers": layers}), size)
            floor = network.gram_error(layers, right, left)
            judged = network.gram_error(layers, result, left)
            own = network.gram_error(layers, result, left, judge=False)
            figures.append(f"{group} {judged / floor:.2f} (own {own:.2g})")
        say(f"{network.name:12s} texture {sample}: judged error / floor: {', '.join(figures)}")


def transfer(network: Network, size: int, steps: int) -> None:
    content = to_tensor(load_sample("astronaut"), size)
    unrelated = resize(to_tensor(load_sample("chelsea"), size), tuple(content.shape[-2:]))
    config = Config.for_task("transfer")
    for sample in STYLES:
        style = to_tensor(rgb(load_sample(sample)), size)
        result = to_tensor(network.run("transfer", size, steps, content=to_numpy(content),
                                       style=to_numpy(style)), size)
        layers = config.style_layers
        fall = network.gram_error(layers, content, style) / network.gram_error(
            layers, result, style)
        own_fall = network.gram_error(layers, content, style, False) / network.gram_error(
            layers, result, style, False)
        (name,) = config.content_layers
        ours, theirs, other = (network.features([name], image)[name]
                               for image in (result, content, unrelated))
        ratio = float(content_loss(ours, theirs)) / float(content_loss(other, theirs))
        say(f"{network.name:12s} transfer x {sample}: Gram error falls {fall:.2f}x "
            f"(own network {own_fall:.2f}x); content error / unrelated photo's {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--parts", default="recon,texture,transfer")
    parser.add_argument("--style-loss", default="gram", help="what textures and transfers "
                        "optimise (judged by the Gram error all the same)")
    args = parser.parse_args()
    parts = {"recon": reconstruction, "texture": texture, "transfer": transfer}
    for part in args.parts.split(","):
        for name in args.networks.split(","):
            start = time.perf_counter()
            parts[part](Network(name, args.style_loss), args.size, args.steps)
            say(f"{'':12s} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
