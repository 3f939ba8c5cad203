"""A style per region: what two regions cost beside one style, and how well each region takes
its own style, judged on the network used and on a second one it never saw.

Time: a one-style transfer and a two-region transfer (left half one style, right half
another) of the same size and steps, run in turn (``--repeats`` times each, alternating, so
that the machine's drift hits both), their median seconds per step and in all compared.
Quality: for each region, the mean over the style layers of the relative distance from the
result's guided Gram (over the region) to its own style's Gram, and to the other style's;
their ratio ("other / own", the larger the better) on the untrained networks of seed 0 (used)
and seed 1 (not used).

    python benchmarks/regions.py [--size 256] [--steps 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from napari_neural_style.core.config import DEFAULT_STYLE_LAYERS
from napari_neural_style.core.images import to_numpy, to_tensor
from napari_neural_style.core.quality import region_style_distances
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.tasks import transfer
from napari_neural_style.core.weights import random_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    content = to_numpy(to_tensor(load_sample("astronaut"), args.size))
    styles = [to_numpy(to_tensor(load_sample(name), args.size))
              for name in ("immunohistochemistry", "gravel")]
    labels = np.ones(content.shape[:2], np.int32)
    labels[:, labels.shape[1] // 2:] = 2
    common = {"size": args.size, "steps": args.steps, "weights": "random-single", "device": "cpu",
              "scales": (1.0,), "style_weight": 5}
    runs = {"one style": lambda: transfer(content, styles[0], **common),
            "two regions": lambda: transfer(content, styles, labels=labels,
                                            regions=((1, 0, 1.0), (2, 1, 1.0)), **common)}
    per_step = {name: [] for name in runs}
    wall = {name: [] for name in runs}
    results = {}
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            results[name] = run()
            wall[name].append(time.perf_counter() - start)
            per_step[name].append(results[name].seconds_per_step)
    step = {name: statistics.median(values) for name, values in per_step.items()}
    total = {name: statistics.median(values) for name, values in wall.items()}
    print(f"{args.size} px, {args.steps} steps, seed layers, {torch.get_num_threads()} threads")
    for name in runs:
        print(f"  {name}: {step[name]:.3f} s/step, {total[name]:.2f} s in all")
    print(f"  two regions / one style: {step['two regions'] / step['one style']:.2f}x per "
          f"step, {total['two regions'] / total['one style']:.2f}x in all")
    image = results["two regions"].image
    for seed, role in ((0, "used"), (1, "not used")):
        distances = region_style_distances(random_weights(seed), to_tensor(image), labels,
                                           [to_tensor(style) for style in styles],
                                           DEFAULT_STYLE_LAYERS)
        immuno, gravel = distances[1], distances[2]  # each: to immuno's Grams, to gravel's
        print(f"  network seed {seed} ({role}): other/own distance, region 1 (immuno) "
              f"{immuno[1] / immuno[0]:.1f}x, region 2 (gravel) {gravel[0] / gravel[1]:.1f}x")


if __name__ == "__main__":
    main()
