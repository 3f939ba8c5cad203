"""Per-step time against the PyTorch port of jcjohnson's neural-style (PyPI neural-style 0.5.7).

Both on the CPU, the same random VGG-19 weights (written to a file the peer loads with
-model_file), the same images, the same layers, both started from the content image,
L-BFGS, no TV.  The layers are the seed's at ReLU taps (content relu4_1, style relu1_2,
relu2_2, relu3_4, relu5_4): the peer fails on convolution taps, since its in-place ReLUs
overwrite what autograd saved.  Each program runs twice, with ``--short`` and ``--long``
steps; the difference of the wall times over the difference of steps is the time of one step,
setup cancelled.  Goal: ours / peer <= 0.5.

    pip install --no-deps neural-style==0.5.7   # (the test group installs it)
    python benchmarks/peer.py [--sizes 256,512] [--short 3] [--long 13] [--precision fp32]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from common import say
from napari_neural_style.core.image_files import write_image
from napari_neural_style.core.samples import load_sample
from napari_neural_style.core.weights import random_weights

CONTENT, STYLE = "relu4_1", "relu1_2,relu2_2,relu3_4,relu5_4"


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--short", type=int, default=3)
    parser.add_argument("--long", type=int, default=13)
    parser.add_argument("--precision", default="auto", help="ours (the peer runs float32)")
    args = parser.parse_args()
    # beside this interpreter first: the venv need not be activated
    peer = shutil.which("neural-style", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if peer is None:
        sys.exit("peer: neural-style is not installed (pip install --no-deps neural-style==0.5.7)")
    folder = Path(tempfile.mkdtemp())
    model = folder / "vgg19-random.pth"  # "19" in the name makes the peer build VGG-19
    state = random_weights(0, "random-single").state
    torch.save({f"features.{key}": value for key, value in state.items()}, model)
    content = write_image(folder / "content.png", load_sample("astronaut") / 255)
    style = write_image(folder / "style.png", load_sample("hubble_deep_field") / 255)

    def peer_command(size: int, steps: int) -> list[str]:
        return [peer, "-content_image", str(content), "-style_image", str(style),
                "-image_size", str(size), "-gpu", "c", "-model_file", str(model),
                "-disable_check", "-num_iterations", str(steps), "-init", "image",
                "-content_layers", CONTENT, "-style_layers", STYLE, "-tv_weight", "0",
                "-print_iter", "0", "-save_iter", "0",
                "-output_image", str(folder / "peer.png")]

    def our_command(size: int, steps: int) -> list[str]:
        return [sys.executable, "-m", "napari_neural_style", "transfer", str(content),
                str(style), "-o", str(folder / "ours.png"), "--size", str(size), "--steps",
                str(steps), "--weights", "random-single", "--device", "cpu", "--init", "content",
                "--content-layers", CONTENT, "--style-layers", STYLE, "--scales", "1",
                "--pooling", "max",  # the peer's pooling: equal work
                "--precision", args.precision]

    say(f"peer: per-step time, ours (precision {args.precision}) vs neural-style 0.5.7 "
        f"(float32), CPU, L-BFGS, layers {CONTENT} / {STYLE}, random weights, from the "
        "content image")
    for size in (int(part) for part in args.sizes.split(",")):
        per_step = {}
        for name, command in (("neural-style", peer_command), ("ours", our_command)):
            short = wall(command(size, args.short))
            long = wall(command(size, args.long))
            per_step[name] = (long - short) / (args.long - args.short)
        ratio = per_step["ours"] / per_step["neural-style"]
        say(f"  {size} px: neural-style {per_step['neural-style']:.3f} s/step, ours "
            f"{per_step['ours']:.3f} s/step, ratio {ratio:.2f}   (goal <= 0.5)")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
