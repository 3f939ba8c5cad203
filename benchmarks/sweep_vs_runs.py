"""A sweep over layers against the same runs made one by one, measured side by side.

Reconstruction of astronaut from conv_1, conv_2, conv_4 and conv_8 at 64 px, 100 L-BFGS steps,
random weights, CPU: (a) four separate ``Run`` s, each resolving weights and building its own
network and targets, (b) the ``Sweep`` (weights once; on a CPU each run alone), and
(c) for reference, all four batched through one network.  Rounds alternate to share noise.
Goal: (b) / (a) < 1.

    python benchmarks/sweep_vs_runs.py [--size 64] [--steps 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import say
from napari_neural_style.core.batch import BatchRun
from napari_neural_style.core.config import Config
from napari_neural_style.core.run_inputs import RunInputs
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.sweeps import Sweep
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.weights import random_weights

LAYERS = ("conv_1", "conv_2", "conv_4", "conv_8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    image = load_sample("astronaut")
    common = {"size": args.size, "steps": args.steps, "weights": "random-single",
              "device": "cpu"}
    base = Config("reconstruct", "conv_1", **common)
    configs = [Config("reconstruct", name, **common) for name in LAYERS]

    def separate() -> None:
        random_weights.cache_clear()  # each run pays for its weights, as a new run would
        for config in configs:
            Run(config, content=image).complete()

    def sweep() -> None:
        random_weights.cache_clear()
        for _ in Sweep(base, "content_layers", LAYERS, content=image):
            pass

    def batched_all() -> None:
        random_weights.cache_clear()
        BatchRun(configs, RunInputs(content=image)).complete()

    timings: dict[str, list[float]] = {"separate": [], "sweep": [], "batched": []}
    functions = {"separate": separate, "sweep": sweep, "batched": batched_all}
    for _ in range(args.rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in timings.items()}
    say(f"sweep_vs_runs: reconstruction over {', '.join(LAYERS)} at {args.size} px, "
        f"{args.steps} steps, CPU (medians of {args.rounds})")
    say(f"  4 separate runs             {median['separate']:.2f} s")
    say(f"  sweep (each run alone)      {median['sweep']:.2f} s   ratio "
        f"{median['sweep'] / median['separate']:.2f}   (goal < 1)")
    say(f"  all four in one batch       {median['batched']:.2f} s   ratio "
        f"{median['batched'] / median['separate']:.2f}")


if __name__ == "__main__":
    main()
