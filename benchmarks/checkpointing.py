"""Why the engine does not recompute activations: block-wise checkpointing, measured.

Forward and backward of the seed's network (taps conv_2, 4, 8, 9, 16; channels_last, random
weights) at ``--size``, once keeping every activation (what the engine does) and once under
``torch.utils.checkpoint`` per block (each block's inner activations recomputed during the
backward pass).  Each mode runs in a fresh process; printed: the median time of a forward and
backward pass and the process's peak resident memory above what it held before the first pass.

    python benchmarks/checkpointing.py [--size 512] [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import peak_rss_mb, say

LAYERS = ("conv_2", "conv_4", "conv_8", "conv_9", "conv_16")


def measure(mode: str, size: int, repeats: int) -> dict:
    """Runs in the child process."""
    import statistics
    import time

    import torch
    from torch.utils.checkpoint import checkpoint

    from napari_neural_style.core.vgg import VGGEncoder
    from napari_neural_style.core.weights import random_weights

    encoder = VGGEncoder(random_weights(), LAYERS, memory_format=torch.channels_last)
    modules = list(encoder.body)
    blocks, block = [], []
    for index, module in enumerate(modules):
        block.append(index)
        if isinstance(module, torch.nn.MaxPool2d):
            blocks.append(block)
            block = []
    blocks.append(block)

    def run_block(indices: list[int], x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        taps = []
        for index in indices:
            x = modules[index](x)
            if index in encoder.taps:
                taps.append(x)
        return (x, *taps)

    def loss(pixels: torch.Tensor) -> torch.Tensor:
        x, features = pixels, []
        for indices in filter(None, blocks):
            if mode == "checkpoint":
                x, *taps = checkpoint(run_block, indices, x, use_reentrant=False)
            else:
                x, *taps = run_block(indices, x)
            features += taps
        return sum(feature.pow(2).mean() for feature in features)

    image = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    before = peak_rss_mb()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss(image.clone().requires_grad_(True)).backward()
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "peak_mb": peak_rss_mb() - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--child", choices=("keep", "checkpoint"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.size, args.repeats)))
        return
    figures = {}
    for mode in ("keep", "checkpoint"):
        completed = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--size", str(args.size),
             "--repeats", str(args.repeats)], capture_output=True, text=True, check=True)
        figures[mode] = json.loads(completed.stdout.strip().splitlines()[-1])
    keep, recompute = figures["keep"], figures["checkpoint"]
    say(f"checkpointing: forward+backward to conv_16 at {args.size} px, CPU, channels_last")
    for mode, info in figures.items():
        say(f"  {mode:10s}  {info['seconds']:.3f} s   peak {info['peak_mb']:6.0f} MB above the "
            f"start")
    say(f"  checkpoint / keep: time {recompute['seconds'] / keep['seconds']:.2f}, memory "
        f"{recompute['peak_mb'] / keep['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
