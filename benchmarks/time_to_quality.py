"""Seconds to reach the quality of 300 single-scale float32 steps: the defaults against that.

Reference: the seed's transfer at ``--size``, ``--steps`` L-BFGS steps at full size in fp32;
its final loss is the target.  Contender: the same transfer as the defaults run it (scales
``auto``, precision ``auto``; ``--scales`` and ``--coarse-steps`` change them), then
full-size steps until the full-size loss reaches the target; the clock includes the coarse
scales.  Both images are then judged on a VGG-19 with other random weights, never optimised
against (``untrained.py``'s judge, ``random-single:1``): the content error at the content
layer and the mean Gram error at the style layers, each relative (core/losses.py).  Goals
(issue 15): 512 px in <= 60 s, each judged error at most 1.10x the reference's; 256 px:
contender / reference time <= 0.35.  ``--whole``: the contender as a user gets it, run to its
end (``--steps`` at most, stopping where its loss stops falling, ``--tolerance``); goal
(issue 37): <= 0.3x the reference's time at 512 px, judged errors within 10 %.

    python benchmarks/time_to_quality.py [--size 256] [--scales auto] [--coarse-steps N]
        [--init noise] [--lbfgs-history 20] [--precision fp32] [--keep-reference[=new]]
        [--device cuda] [--cudnn-autotune on] [--whole [--tolerance 0.001]]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from statistics import mean, median

import numpy as np
import torch

from common import sample_pair, say
from napari_neural_style.core import device as engine_device
from napari_neural_style.core.config import Config
from napari_neural_style.core.images import to_tensor
from napari_neural_style.core.losses import content_loss
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.text_fields import format_scales, parse_scales
from untrained import Network


def judged(network: Network, image: torch.Tensor, content: torch.Tensor,
           style: torch.Tensor, config: Config) -> tuple[float, float]:
    """(content error, style error) of ``image`` on ``network``'s judge."""
    content_error = mean(float(content_loss(network.features([name], image)[name],
                                            network.features([name], content)[name]))
                         for name in config.content_layers)
    return content_error, network.gram_error(config.style_layers, image, style)


def reference_run(config: Config, content: np.ndarray, style: np.ndarray,
                  keep: str | None) -> tuple[np.ndarray, float, float]:
    """The reference's image, final loss and seconds; with ``keep``, kept in the temporary
    folder, where ``keep="reuse"`` reads back one an earlier run of the same size, steps and
    start kept (``"new"`` runs it again all the same)."""
    kept = Path(tempfile.gettempdir()) / (
        f"time_to_quality-{config.size}-{config.steps}-{config.init}-{config.device}.npz")
    if keep == "reuse" and kept.is_file():
        found = np.load(kept)
        return found["image"], float(found["loss"]), float(found["seconds"])
    result = Run(config, content=content, style=style).complete()
    if keep:
        np.savez(kept, image=result.image, loss=result.history[-1]["total"],
                 seconds=result.seconds)
    return result.image, result.history[-1]["total"], result.seconds


def whole_run(args, common: dict, content: np.ndarray, style: np.ndarray,
              reference_image: np.ndarray, target: float, reference_seconds: float) -> None:
    """The contender as a user runs it: ``--steps`` at most, stopping by ``--tolerance``."""
    config = Config.for_task("transfer", steps=args.steps, scales=parse_scales(args.scales),
                             coarse_steps=args.coarse_steps, precision=args.precision,
                             lbfgs_history=args.lbfgs_history, tolerance=args.tolerance,
                             **common)
    result = Run(config, content=content, style=style).complete()
    sizes = [record["size"] for record in result.history]
    say(f"time_to_quality --whole: seed transfer at {args.size} px, init {args.init}, "
        f"{args.device}, random weights, tolerance {args.tolerance:g}")
    say(f"  reference: {args.steps} steps, single scale, fp32: {reference_seconds:.1f} s, "
        f"final loss {target:.5f}")
    say(f"  whole run: {result.steps_done} steps ("
        + ", ".join(f"{sizes.count(size) - 1} at {size} px" for size in dict.fromkeys(sizes))
        + f"), {result.precision}, ended {result.stopped_by or 'after every step'}: "
        f"{result.seconds:.1f} s (set-up {result.setup_seconds:.1f} s), final loss "
        f"{result.history[-1]['total']:.5f} ({result.history[-1]['total'] / target:.2f}x the "
        "reference's, on the network it was optimised against)")
    say(f"  time: {result.seconds:.1f} / {reference_seconds:.1f} s = "
        f"{result.seconds / reference_seconds:.2f}   (goal: <= 0.30)")
    network = Network(common["weights"])
    images = (to_tensor(content), to_tensor(style))
    ours = judged(network, to_tensor(result.image), *images, config)
    theirs = judged(network, to_tensor(reference_image), *images, config)
    say(f"  judged on {network.judge.label}: content error {ours[0]:.4f} / {theirs[0]:.4f} = "
        f"{ours[0] / theirs[0]:.2f}, style error {ours[1]:.4f} / {theirs[1]:.4f} = "
        f"{ours[1] / theirs[1]:.2f}   (goal: each <= 1.10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--coarse-steps", type=int, default=None,
                        help="the contender's steps at each coarse scale (default: the "
                        "engine's for --steps)")
    parser.add_argument("--scales", default="auto", help="the contender's, e.g. 0.25,0.5,1")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--init", choices=("content", "noise"), default="content")
    parser.add_argument("--lbfgs-history", type=int, default=Config.lbfgs_history,
                        help="of the contender (the reference keeps the default)")
    parser.add_argument("--precision", default="auto", help="the contender's (fp32: as "
                        "the defaults run on a CPU without AMX)")
    parser.add_argument("--cudnn-autotune", choices=("on", "off"),
                        default="on" if engine_device.CUDNN_AUTOTUNE else "off",
                        help="cuDNN's autotuner for the contender (CUDA; cudnn_autotune.py; "
                        "the engine's setting by default)")
    parser.add_argument("--whole", action="store_true",
                        help="run the contender as a user gets it, to its end (its steps at "
                        "most, stopping where its loss stops falling: --tolerance), instead "
                        "of until it reaches the reference's loss (goal: <= 0.3x the "
                        "reference's time, judged errors within 10 %%)")
    parser.add_argument("--tolerance", type=float, default=Config.tolerance,
                        help="the contender's, with --whole (0: every step)")
    parser.add_argument("--keep-reference", nargs="?", const="reuse", choices=("reuse", "new"),
                        help="keep the reference's result in the temporary folder, and use "
                        "one kept there by an earlier run (for a series of contenders); "
                        "=new runs a new one and keeps it")
    args = parser.parse_args()
    content, style = sample_pair(args.size)
    common = {"size": args.size, "weights": "random-single", "device": args.device,
              "init": args.init}
    reference_image, target, reference_seconds = reference_run(
        Config.for_task("transfer", steps=args.steps, scales=(1.0,), precision="fp32",
                        tolerance=0.0, **common), content, style, args.keep_reference)

    engine_device.CUDNN_AUTOTUNE = args.cudnn_autotune == "on"
    if args.whole:
        whole_run(args, common, content, style, reference_image, target, reference_seconds)
        return
    # the contender may run past --steps at full size; its coarse scales take what they take
    # in a run of --steps
    coarse_steps = args.coarse_steps if args.coarse_steps is not None else Config.for_task(
        "transfer", steps=args.steps, **common).steps_at(0, 2)
    contender = Run(Config.for_task("transfer", steps=10 * args.steps,
                                    scales=parse_scales(args.scales), coarse_steps=coarse_steps,
                                    precision=args.precision,
                                    lbfgs_history=args.lbfgs_history, tolerance=0.0,
                                    **common),
                    content=content, style=style)
    reached, shape, since = None, None, 0.0
    # seconds of each scale's first step (its targets, the first passes at a new shape) and
    # of the others
    first_steps, other_steps = [], []
    for step in contender:
        (other_steps if step.pixels.shape == shape else first_steps).append(
            step.elapsed - since)
        shape, since = step.pixels.shape, step.elapsed
        at_full_size = tuple(step.pixels.shape[-2:]) == contender.output_shape
        if at_full_size and step.losses.total <= target:
            reached = step
            break
    say(f"time_to_quality: seed transfer at {args.size} px, init {args.init}, "
        f"{args.device}, random weights, contender's L-BFGS history {args.lbfgs_history}")
    say(f"  reference: {args.steps} steps, single scale, fp32: {reference_seconds:.1f} s, "
        f"final loss {target:.5f}")
    if reached is None:
        say("  the contender never reached the reference loss")
        return
    sizes = contender.scale_sizes()
    say(f"  contender: scales {format_scales(parse_scales(args.scales))} ({sizes} px, "
        f"{coarse_steps} steps at each coarse scale), precision "
        f"{contender.result().precision}: reached {reached.losses.total:.5f} after "
        f"{reached.step} steps in {reached.elapsed:.1f} s")
    say(f"  of which each scale's first step {', '.join(f'{t:.2f}' for t in first_steps)} "
        f"s, the other {len(other_steps)} {sum(other_steps):.2f} s (median "
        f"{median(other_steps) * 1000:.1f} ms)")
    say(f"  time: {reached.elapsed:.1f} / {reference_seconds:.1f} s = "
        f"{reached.elapsed / reference_seconds:.2f}   (goals: <= 60 s at 512 px, <= 0.35)")
    network, config = Network(common["weights"]), contender.config
    images = (to_tensor(content), to_tensor(style))
    ours = judged(network, reached.pixels.float().cpu(), *images, config)
    theirs = judged(network, to_tensor(reference_image), *images, config)
    say(f"  judged on {network.judge.label}: content error {ours[0]:.4f} / {theirs[0]:.4f} = "
        f"{ours[0] / theirs[0]:.2f}, style error {ours[1]:.4f} / {theirs[1]:.4f} = "
        f"{ours[1] / theirs[1]:.2f}   (goal: each <= 1.10)")


if __name__ == "__main__":
    main()
