"""The estimate before a run (core/estimate.py) against the run, at 256, 512 and 1024 px.

The seed's transfer with the defaults (scales, precision, memory) but ``--steps`` steps per
scale, random weights, CPU; each size runs in a fresh process, which reports the wall time of
the whole run (setup, every scale, the quality pass) and its peak memory above what it held
before the run (the probe's own measurement, ``probe.in_fresh_process``).  The calibration is the
cached one, or a probe made first (said).  Prints estimate / measured for each; goal: within
30 %.

    python benchmarks/estimate.py [--sizes 256,512,1024] [--steps 10]
"""

from __future__ import annotations

import argparse

from common import say
from napari_neural_style.core.config import Config
from napari_neural_style.core.estimate import cached_calibration, estimate
from napari_neural_style.core.probe import calibrate, in_fresh_process
from napari_neural_style.core.samples import load_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    base = Config.for_task("transfer", steps=args.steps, weights="random-single", device="cpu")
    calibration = cached_calibration(base)
    if calibration is None:
        say("no cached calibration: probing (about 15-30 s)")
        calibration = calibrate(base)
    say(f"calibration: {calibration}")
    shapes = (load_sample("astronaut").shape, load_sample("hubble_deep_field").shape)
    for size in map(int, args.sizes.split(",")):
        config = Config.for_task("transfer", size=size, steps=args.steps,
                                 coarse_steps=args.steps, weights="random-single", device="cpu")
        guess = estimate(config, calibration, *shapes)
        found = in_fresh_process(config)
        say(f"{size} px: time {guess.seconds:.1f} s estimated, {found['seconds']:.1f} s "
            f"measured: {guess.seconds / found['seconds']:.2f}; peak {guess.peak_mb:.0f} MB "
            f"estimated, {found['peak_mb']:.0f} MB measured: "
            f"{guess.peak_mb / found['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
