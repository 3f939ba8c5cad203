"""Memory mode ``fast`` against ``lean`` (activations recomputed per VGG block), measured.

Forward and backward of the seed's network (taps conv_2, 4, 8, 9, 16; channels_last, random
weights) at ``--size``, once keeping every activation (``fast``) and once recomputing each
block's inner activations during the backward pass (``lean``: saved-tensor hooks, vgg.py).
Each mode runs in a fresh process; printed: the median time of a forward and backward pass and
the process's peak resident memory above what it held before the first pass.  Why
``memory="auto"`` is lean only from 2048 px.

    python benchmarks/memory_modes.py [--size 512] [--repeats 4]
"""

from __future__ import annotations

import argparse
import json
import sys

from common import in_fresh_process, peak_rss_mb, say

LAYERS = ("conv_2", "conv_4", "conv_8", "conv_9", "conv_16")


def measure(mode: str, size: int, repeats: int) -> dict:
    """Runs in the child process."""
    import statistics
    import time

    import torch

    from napari_neural_style.core.vgg import VGGEncoder
    from napari_neural_style.core.weights import random_weights

    encoder = VGGEncoder(random_weights(0, "random-single"), LAYERS,
                         memory_format=torch.channels_last)
    encoder.recompute = mode == "lean"
    image = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    before = peak_rss_mb()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        features = encoder(image.clone().requires_grad_(True))
        sum(value.pow(2).mean() for value in features.values()).backward()
        del features
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "peak_mb": peak_rss_mb() - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--child", choices=("fast", "lean"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.size, args.repeats)))
        return
    figures = {}
    for mode in ("fast", "lean"):
        figures[mode] = in_fresh_process([__file__, "--child", mode, "--size", str(args.size),
                                          "--repeats", str(args.repeats)])
        if "error" in figures[mode]:
            sys.exit(f"memory_modes: {mode} failed: {figures[mode]['error']}")
    fast, lean = figures["fast"], figures["lean"]
    say(f"memory modes: forward+backward to conv_16 at {args.size} px, CPU, channels_last")
    for mode, info in figures.items():
        say(f"  {mode:4s}  {info['seconds']:.3f} s   peak {info['peak_mb']:6.0f} MB above the "
            f"start")
    say(f"  lean / fast: time {lean['seconds'] / fast['seconds']:.2f}, memory "
        f"{lean['peak_mb'] / fast['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
