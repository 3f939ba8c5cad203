"""A styled movie with and without temporal consistency: flicker and time, side by side.

The movie: a bundled photograph panned and zoomed over 8 frames at 128 px
(``samples.moving_sample``), styled with the seed's transfer on the untrained network.
``independent``: every frame on its own at full steps; ``temporal``: the first frame at full
steps, each later one from the previous result warped by the optical flow, with the temporal
loss, at ``--frame-steps``.  Flicker: ``core.frames.flicker`` (1: as steady as the content).
The two runs alternate ``--repeats`` times; the medians are compared.

    python benchmarks/frames.py [--size 128] [--frames 8] [--steps 100] [--frame-steps 40]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.frame_settings import FrameSettings
from napari_neural_style.core.frames import FrameRun
from napari_neural_style.core.samples import load_sample, moving_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--frame-steps", type=int, default=40)
    parser.add_argument("--temporal-weight", type=float, default=FrameSettings().temporal_weight)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    movie = moving_sample("astronaut", args.frames, args.size)
    style = load_sample("immunohistochemistry")
    config = Config.for_task("transfer", size=args.size, steps=args.steps, weights="random-single",
                             device="cpu", scales=(1.0,))
    modes = {"independent": FrameSettings("none"),
             "temporal": FrameSettings("flow", args.temporal_weight, args.frame_steps)}
    seconds = {name: [] for name in modes}
    flicker = {}
    for _ in range(args.repeats):
        for name, settings in modes.items():
            start = time.perf_counter()
            runs = FrameRun(config, movie, style, settings)
            for _ in runs:
                pass
            seconds[name].append(time.perf_counter() - start)
            flicker[name] = runs.provenance()["frames"]["flicker"]
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"{args.frames} frames of {args.size} px, {args.steps} steps (temporal: later "
          f"frames {args.frame_steps}, weight {args.temporal_weight:g}), "
          f"{torch.get_num_threads()} threads")
    for name in modes:
        print(f"  {name}: flicker {flicker[name]:.2f}, {median[name]:.1f} s")
    print(f"  temporal / independent: flicker {flicker['temporal'] / flicker['independent']:.2f}x,"
          f" time {median['temporal'] / median['independent']:.2f}x")


if __name__ == "__main__":
    main()
