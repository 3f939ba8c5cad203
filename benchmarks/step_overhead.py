"""One optimization step of a style transfer / a bare forward+backward of the same network.

Both are measured in this run, interleaved in rounds so machine noise hits them alike, on the
same truncated VGG-19 (the seed's layers: content conv_9, style conv_2,4,8,16, so up to
conv_16), the same size and memory format, random weights.  Goal: ratio <= 1.10.

    python benchmarks/step_overhead.py [--size 256] [--rounds 3] [--steps 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from common import peak_rss_mb, sample_pair, say
from napari_neural_style.core.batch import PRECISION_NAMES
from napari_neural_style.core.config import Config
from napari_neural_style.core.device import (
    preferred_memory_format,
    resolve_device,
    resolve_precision,
)
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.vgg import VGGEncoder
from napari_neural_style.core.weights import resolve_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    device = resolve_device(args.device)
    weights = resolve_weights("random-single")
    content, style = sample_pair(args.size)
    config = Config.for_task("transfer", size=args.size, steps=10_000, device=args.device,
                             weights="random-single", init="content")
    memory_format = preferred_memory_format(device)
    network = VGGEncoder(weights, config.layers, memory_format=memory_format).bodies[0].to(device)
    height, width = content.shape[:2]
    image = torch.rand(1, 3, height, width, device=device)
    autocast = resolve_precision(config.precision, device)

    def bare_forward_backward() -> None:
        pixels = image.clone().requires_grad_(True)
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            features = network(pixels.contiguous(memory_format=memory_format))
        features.float().sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()

    steps = iter(Run(config, content=content, style=style, weights=weights))
    next(steps)  # setup and the first evaluation
    bare_forward_backward()  # warm-up

    bare, optimize = [], []
    for _ in range(args.rounds):
        for _ in range(args.steps):
            start = time.perf_counter()
            bare_forward_backward()
            bare.append(time.perf_counter() - start)
        for _ in range(args.steps):
            start = time.perf_counter()
            next(steps)
            optimize.append(time.perf_counter() - start)
    steps.close()

    bare_s, step_s = statistics.median(bare), statistics.median(optimize)
    say(f"step_overhead: {args.size} px on {device}, {memory_format}, "
        f"{PRECISION_NAMES[autocast]}, layers up to conv_16")
    say(f"  bare forward+backward  {bare_s:.3f} s (median of {len(bare)})")
    say(f"  optimization step      {step_s:.3f} s (median of {len(optimize)})")
    say(f"  ratio step / bare      {step_s / bare_s:.3f}   (goal <= 1.10)")
    say(f"  peak RSS               {peak_rss_mb():.0f} MB")
    if device.type == "cuda":
        say(f"  peak CUDA memory       {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
