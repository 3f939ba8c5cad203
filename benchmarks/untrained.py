"""How well untrained VGG-19s reconstruct, synthesise and transfer, side by side.

Networks (``--networks``): ``random-kaiming`` with max pooling (the untrained network of
0.1), the same with average pooling, ``random-single`` (orthogonal kernels, average pooling:
``pooling=auto``), ``random`` (two such networks side by side), ``random-rgb`` (the pair
stepping in the pixels themselves, ``parametrization="rgb"``, where ``random`` steps in
decorrelated colour from noise) and ``random-blur`` (the pair with blur pooling, ``--pooling
blur``), each from seed 0.  Every quality figure is judged twice: on the network the image
was optimised against, and on a *judge*, one network from seed 1 which it never saw (a
result that only fools its own network scores badly there): for every orthogonal network,
whatever its pooling, ``random-single:1`` with average pooling, so that they compare (until
2026-12-01 ``random-blur``'s judge ran with blur pooling); for the Kaiming ones
``random-kaiming:1`` with their own pooling.

Every run takes the network's default scales (``scales="auto"``: the orthogonal networks from
noise run coarse to fine from 32 px, the others at one scale), ``--steps`` L-BFGS steps at
each, float32.

* reconstruction: PSNR (dB) of ``--size`` px reconstructions of the astronaut from one layer
  each, from noise; and the same at one scale.  Goal: >= 20 dB through conv_8, >= 15 at
  conv_12.
* texture: for scikit-image's gravel, brick and grass, the left half is the style; the
  relative Gram error (mean over the group's layers, on the judge) of a texture synthesised
  from it, divided by the same error of the right half (another crop of the same texture:
  the floor).  Goal: <= 2 for conv_1-2 through conv_5-8.  This figure changes several-fold
  with the draw of the two networks, so ``--seeds N`` repeats it for N pairs (network seed
  2k, judge 2k + 1) and prints their mean.  Each texture is also judged at conv_1-2, where
  the pixel-scale colour noise that deep groups leave free shows (``--textures`` picks).
* transfer: the seed's transfer (content conv_9, style conv_2,4,8,16, weights 1 / 0.5, from
  the content image, so in rgb on every network) of the astronaut with each style
  (immunohistochemistry and the Hubble deep field; ``--styles`` picks).  On the
  judge: how far the Gram error to the style falls from the content image's (goal >= 3x),
  and the content error at conv_9 relative to an unrelated photograph's (the cat; goal <=
  0.5).  Beside them, a yardstick for the 3x: the fall that each half of the style image
  itself reaches (a piece of the style is still not the whole one's mixture).  These
  figures change with the draw too (one style's fall was 2.65x to 8.49x over three pairs),
  so they are the mean over the same ``--seeds`` pairs.  Neither figure sees
  a face lost under the style (blur pooling's transfers lost one at a content error of 0.39,
  docs/performance.md), so each transfer also prints its *structure*: the SSIM of its
  luminance to the content's (scikit-image; 1 is the content's own structure), and
  ``--save DIR`` writes every result to look at.  ``--style-weight`` with several values
  traces the trade between style and content, ``--init noise`` starts the transfers from
  noise.

    python benchmarks/untrained.py [--size 128] [--steps 300] [--parts recon,texture,transfer]
        [--networks kaiming-max,kaiming-avg,random-single,random-rgb,random,random-blur]
        [--seeds 3] [--textures gravel,brick,grass]
        [--styles immunohistochemistry,hubble_deep_field] [--style-loss gram|meancov]
        [--style-weight 0.5[,0.6,...]] [--init content|noise] [--save DIR]
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path
from statistics import mean

import numpy as np
import torch

from common import say
from napari_neural_style.core.config import Config
from napari_neural_style.core.image_files import write_image
from napari_neural_style.core.images import resize, to_numpy, to_tensor
from napari_neural_style.core.losses import content_loss, gram_matrix, style_loss
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.vgg_layers import parse_layers
from napari_neural_style.core.weights import resolve_weights

#: the judge of the orthogonal networks: one, with average pooling
JUDGE = ("random-single", "avg")
#: name -> (weights spec, pooling, parametrization, the judge: one network's spec and its
#: pooling, the same for every variant of the orthogonal networks so that they compare)
NETWORKS = {"kaiming-max": ("random-kaiming", "max", "auto", ("random-kaiming", "max")),
            "kaiming-avg": ("random-kaiming", "avg", "auto", ("random-kaiming", "avg")),
            "random-single": ("random-single", "auto", "auto", JUDGE),
            "random-rgb": ("random", "auto", "rgb", JUDGE),
            "random": ("random", "auto", "auto", JUDGE),
            "random-blur": ("random", "blur", "auto", JUDGE)}
RECONSTRUCT_LAYERS = ("conv_1", "conv_2", "conv_4", "conv_8", "conv_12")
TEXTURE_GROUPS = ("conv_1-2", "conv_3-4", "conv_5-8", "conv_9-12")
TEXTURES = ("gravel", "brick", "grass")
#: every texture is judged here too: the pixel-scale statistics deep groups leave free
FINE_GROUP = "conv_1-2"
STYLES = ("immunohistochemistry", "hubble_deep_field")


class Network:
    """One kind of untrained network: the one optimised against (seed 0) and its judge."""

    def __init__(self, name: str, seed: int = 0, **options):
        spec, self.pooling, self.parametrization, (judge, self.judge_pooling) = NETWORKS[name]
        self.options = options  # of every run: the style loss
        self.name, self.spec = name, spec
        self.weights = resolve_weights(f"{spec}:{seed}")
        self.judge = resolve_weights(f"{judge}:{seed + 1}")

    def run(self, task: str, size: int, steps: int, scales=None, settings: dict | None = None,
            **images: np.ndarray) -> np.ndarray:
        """The image a ``task`` run (float32, the default scales unless ``scales``) gives."""
        config = Config.for_task(task, size=size, steps=steps, scales=scales,
                                 pooling=self.pooling, parametrization=self.parametrization,
                                 weights=self.spec, device="cpu",
                                 precision="fp32", **self.options, **(settings or {}))
        return Run(config, weights=self.weights, **images).complete().image

    def features(self, layers, image: torch.Tensor, judge: bool = True) -> dict:
        encoder = (VGGEncoder(self.judge, layers, self.judge_pooling) if judge
                   else VGGEncoder(self.weights, layers, self.pooling))
        with torch.no_grad():
            return encoder(image)

    def over_floor(self, layers, image: torch.Tensor, style: torch.Tensor,
                   other_half: torch.Tensor) -> float:
        """The judged Gram error of ``image`` to ``style`` over that of the style's other
        half (the floor)."""
        return self.gram_error(layers, image, style) / self.gram_error(layers, other_half, style)

    def gram_error(self, layers, image: torch.Tensor, target: torch.Tensor,
                   judge: bool = True) -> float:
        """Mean over ``layers`` of the relative Gram error of ``image`` to ``target``."""
        ours, theirs = self.features(layers, image, judge), self.features(layers, target, judge)
        return mean(float(style_loss(ours[name], gram_matrix(theirs[name]))) for name in ours)


def rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, -1) if image.ndim == 2 else image[..., :3]


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((image - reference) ** 2)))


def reconstruction(networks: list[Network], size: int, steps: int) -> None:
    network, content = networks[0], to_numpy(to_tensor(load_sample("astronaut"), size))
    for scales, label in ((None, "default scales"), ((1.0,), "one scale")):
        figures = []
        for name in RECONSTRUCT_LAYERS:
            image = network.run("reconstruct", size, steps, scales, content=content,
                                settings={"content_layers": name})
            figures.append(f"{name} {psnr(image, content):.1f}")
        say(f"{network.name:12s} reconstruction PSNR dB, {label}: {', '.join(figures)}")


def texture(networks: list[Network], size: int, steps: int,
            textures: tuple[str, ...] = TEXTURES) -> None:
    from skimage import data

    fine = parse_layers(FINE_GROUP)
    for sample in textures:
        image = rgb(getattr(data, sample)())
        half = image.shape[1] // 2
        left, right = to_tensor(image[:, :half], size), to_tensor(image[:, half:2 * half], size)
        figures, fine_figures = [], []
        for group in TEXTURE_GROUPS:
            layers, ratios, fine_ratios = parse_layers(group), [], []
            for network in networks:
                result = to_tensor(network.run("texture", size, steps, style=to_numpy(left),
                                               settings={"style_layers": layers}), size)
                ratios.append(network.over_floor(layers, result, left, right))
                fine_ratios.append(network.over_floor(fine, result, left, right))
            figures.append(f"{group} {summary(ratios)}")
            fine_figures.append(f"{group} {summary(fine_ratios)}")
        say(f"{networks[0].name:12s} texture {sample}: judged error / floor: "
            f"{', '.join(figures)}")
        say(f"{'':12s} the same textures' {FINE_GROUP} (pixel-scale: colour noise shows "
            f"here): {', '.join(fine_figures)}")


def summary(ratios: list[float]) -> str:
    """The mean, and each figure when there are several."""
    each = f" ({', '.join(f'{ratio:.2f}' for ratio in ratios)})" if len(ratios) > 1 else ""
    return f"{mean(ratios):.2f}{each}"


def transfer(networks: list[Network], size: int, steps: int,
             style_weights: tuple[float, ...] = (Config.style_weight,),
             init: str = "content", save: Path | None = None,
             styles: tuple[str, ...] = STYLES) -> None:
    content = to_tensor(load_sample("astronaut"), size)
    for sample in styles:
        style = to_tensor(rgb(load_sample(sample)), size)
        reaches = [halves_fall(network, content, style) for network in networks]
        say(f"{networks[0].name:12s} x {sample}: a half of the style itself falls "
            f"{summary([mean(each) for each in reaches])} (the least half "
            f"{summary([min(each) for each in reaches])})")
        for weight in style_weights:
            figures = []
            for pair, network in enumerate(networks):
                result = network.run("transfer", size, steps,
                                     settings={"style_weight": weight, "init": init},
                                     content=to_numpy(content), style=to_numpy(style))
                if save:
                    write_image(save / f"{network.name}-{sample}-{weight:g}-{init}-pair{pair}"
                                       ".png", result)
                figures.append(transfer_figures(network, content, style,
                                                to_tensor(result, size)))
            falls, own_falls, ratios, structures = zip(*figures, strict=True)
            say(f"{networks[0].name:12s} transfer x {sample}, style weight {weight:g}: Gram "
                f"error's fall (x) {summary(falls)}, on the own networks {summary(own_falls)}"
                f"; content error / unrelated photo's {summary(ratios)}; structure (SSIM) "
                f"{summary(structures)}")


def halves_fall(network: Network, content: torch.Tensor,
                style: torch.Tensor) -> list[float]:
    """How far the judged Gram error to ``style`` falls from ``content``'s for each half of
    the style itself (left, right, top, bottom, at the style's scale): where an image that is
    a piece of the style lands on the transfers' figure."""
    layers = Config.for_task("transfer").style_layers
    height, width = style.shape[-2:]
    halves = (style[..., :, :width // 2], style[..., :, width // 2:],
              style[..., :height // 2, :], style[..., height // 2:, :])
    start = network.gram_error(layers, content, style)
    return [start / network.gram_error(layers, half.contiguous(), style) for half in halves]


def transfer_figures(network: Network, content: torch.Tensor, style: torch.Tensor,
                     result: torch.Tensor) -> tuple[float, float, float, float]:
    """How far a seed transfer's Gram error to ``style`` falls from ``content``'s, on the judge
    and on its own network, its content error over an unrelated photograph's (the cat), and
    its structure: the SSIM of its luminance to the content's."""
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity

    unrelated = resize(to_tensor(load_sample("chelsea"), max(content.shape[-2:])),
                       tuple(content.shape[-2:]))
    config = Config.for_task("transfer")
    layers = config.style_layers
    fall = network.gram_error(layers, content, style) / network.gram_error(
        layers, result, style)
    own_fall = network.gram_error(layers, content, style, False) / network.gram_error(
        layers, result, style, False)
    (name,) = config.content_layers
    ours, theirs, other = (network.features([name], image)[name]
                           for image in (result, content, unrelated))
    structure = structural_similarity(rgb2gray(to_numpy(result)), rgb2gray(to_numpy(content)),
                                      data_range=1.0)
    return (fall, own_fall, float(content_loss(ours, theirs)) / float(content_loss(other, theirs)),
            float(structure))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--parts", default="recon,texture,transfer")
    parser.add_argument("--seeds", type=int, default=3, help="pairs of networks (optimised "
                        "against, judge) the textures and transfers are judged with")
    parser.add_argument("--textures", default=",".join(TEXTURES))
    parser.add_argument("--styles", default=",".join(STYLES), help="of the transfers")
    parser.add_argument("--style-loss", default="gram", help="what textures and transfers "
                        "optimise (judged by the Gram error all the same)")
    parser.add_argument("--style-weight", default=str(Config.style_weight),
                        help="of the transfers, one or several, comma-separated (the seed's "
                        "by default)")
    parser.add_argument("--init", default="content", help="where the transfers start")
    parser.add_argument("--save", type=Path, help="a folder to write every transfer's result "
                        "to")
    args = parser.parse_args()
    style_weights = tuple(float(weight) for weight in args.style_weight.split(","))
    parts = {"recon": reconstruction,
             "transfer": partial(transfer, style_weights=style_weights, init=args.init,
                                 save=args.save, styles=tuple(args.styles.split(","))),
             "texture": partial(texture, textures=tuple(args.textures.split(",")))}
    options = {"style_loss": args.style_loss}
    for part in args.parts.split(","):
        for name in args.networks.split(","):
            start = time.perf_counter()
            networks = [Network(name, 2 * pair, **options)
                        for pair in range(1 if part == "recon" else args.seeds)]
            parts[part](networks, args.size, args.steps)
            say(f"{'':12s} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
