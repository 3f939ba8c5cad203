"""Per-step time and final loss for fp32 against bf16 (and, on CUDA, fp16) autocast.

The seed's transfer (content conv_9, style conv_2,4,8,16, weights 1 and 0.5) from the same
start, same random weights, same number of L-BFGS steps, once per precision; the final images
are then evaluated by the same float32 network, so the losses compare.  Goals: bf16 time
<= 0.5x fp32, loss within 5%.

    python benchmarks/precision.py [--size 256] [--steps 30] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from common import sample_pair, say
from napari_neural_style.core.config import Config
from napari_neural_style.core.device import resolve_device
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.objective import Objective
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import resolve_weights


def fp32_loss(image, content, style, config: Config, device) -> float:
    """The objective of ``image`` evaluated by a float32 network."""
    weights = resolve_weights(config.weights)
    encoder = VGGEncoder(weights, config.layers, config.pooling).to(device)
    to_device = {"content": to_tensor(content).to(device), "style": to_tensor(style).to(device)}
    objective = Objective.from_images(
        encoder, to_device["content"], [to_device["style"]], config.content_layers,
        config.style_layers, content_weight=config.content_weight,
        style_weight=config.style_weight)
    with torch.no_grad():
        total, _ = objective(to_tensor(image).to(device))
    return float(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    content, style = sample_pair(args.size)
    device = resolve_device(args.device)
    figures = {}
    precisions = ("fp32", "bf16", "fp16") if device.type == "cuda" else ("fp32", "bf16")
    for precision in precisions:
        config = Config.for_task("transfer", size=args.size, steps=args.steps,
                                 weights="random-single", device=args.device, precision=precision,
                                 init="noise")
        run = Run(config, content=content, style=style)
        times, last = [], 0.0
        for step in run:
            times.append(step.elapsed - last)
            last = step.elapsed
        result = run.result()
        figures[precision] = (statistics.median(times[1:-1]),
                              fp32_loss(result.image, content, style, config, device))
    say(f"precision: seed transfer at {args.size} px, {args.steps} L-BFGS steps from noise, "
        f"{device}")
    fp32_time, fp32_final = figures["fp32"]
    for precision, (seconds, final) in figures.items():
        say(f"  {precision}  {seconds:.3f} s/step   final loss (fp32 eval) {final:.5f}")
    for precision, (seconds, final) in list(figures.items())[1:]:
        say(f"  time {precision}/fp32 {seconds / fp32_time:.2f} (goal <= 0.5)   loss "
            f"{precision}/fp32 {final / fp32_final:.3f} (goal within 5%)")

if __name__ == "__main__":
    main()
