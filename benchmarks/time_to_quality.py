"""Seconds to reach the quality of 300 single-scale float32 steps, coarse-to-fine against not.

Reference: the seed's transfer at ``--size``, 300 L-BFGS steps at full size in fp32; its final
loss is the target.  Contender: the same transfer with coarse-to-fine scales (default
0.25, 0.5, 1) and precision ``auto``, ``--coarse-steps`` steps per coarse scale, then full-size
steps until the full-size loss reaches the target (the clock includes the coarse scales).
Goal: contender / reference <= 0.35.

    python benchmarks/time_to_quality.py [--size 256] [--coarse-steps 100] [--init noise]
"""

from __future__ import annotations

import argparse

from common import sample_pair, say
from napari_neural_style.core.config import Config
from napari_neural_style.core.tasks import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--coarse-steps", type=int, default=100)
    parser.add_argument("--scales", default="0.25,0.5,1")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--init", choices=("content", "noise"), default="content")
    args = parser.parse_args()
    content, style = sample_pair(args.size)
    common = {"size": args.size, "weights": "random-single", "device": args.device,
              "init": args.init}
    reference = Run(Config.for_task("transfer", steps=args.steps, scales=(1.0,),
                                    precision="fp32", **common), content=content, style=style)
    reference_result = reference.complete()
    target = reference_result.history[-1]["total"]
    reference_seconds = reference_result.seconds

    scales = tuple(float(part) for part in args.scales.split(","))
    contender = Run(Config.for_task("transfer", steps=10 * args.steps, scales=scales,
                                    coarse_steps=args.coarse_steps, precision="auto", **common),
                    content=content, style=style)
    reached = None
    for step in contender:
        at_full_size = tuple(step.pixels.shape[-2:]) == contender.output_shape
        if at_full_size and step.losses.total <= target:
            reached = step
            break
    say(f"time_to_quality: seed transfer at {args.size} px, init {args.init}, "
        f"{args.device}, random weights")
    say(f"  reference: {args.steps} steps, single scale, fp32: {reference_seconds:.1f} s, "
        f"final loss {target:.5f}")
    if reached is None:
        say("  coarse-to-fine never reached the reference loss")
        return
    say(f"  coarse-to-fine {scales} (coarse {args.coarse_steps} steps each), precision "
        f"{contender.result().precision}: reached {reached.losses.total:.5f} after "
        f"{reached.step} steps in {reached.elapsed:.1f} s")
    say(f"  ratio {reached.elapsed / reference_seconds:.2f}   (goal <= 0.35)")


if __name__ == "__main__":
    main()
