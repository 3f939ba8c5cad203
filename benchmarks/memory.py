"""Peak memory of a style transfer at 512, 1024 and 2048 px, each in a fresh process.

Default settings (coarse-to-fine, precision and memory on auto; ``--memory fast,lean`` measures
those modes instead, side by side), ``--steps`` steps per scale (21 by
default: the L-BFGS history, 20 pairs, is full by then), random weights.  Each size runs in its
own Python process, whose peak resident set the operating system reports at exit; the baseline
is a process that only imports the engine (torch and its libraries).  ``--python`` adds the same
measurements under other interpreters, e.g. a virtualenv with PyTorch's CPU-only build, whose
libraries take far less memory than the CUDA build's.  Goals: 512 px <= 1.0 GB; 2048 px
completes on a 24 GiB machine.

    python benchmarks/memory.py [--sizes 512,1024,2048] [--steps 21] [--memory auto]
                                [--pooling max] [--python OTHER/bin/python]
"""

from __future__ import annotations

import argparse
import sys

from common import in_fresh_process, say

CHILD = """
import json, resource, sys, time
from napari_neural_style.core.config import Config
from napari_neural_style.core.estimate import recomputes
from napari_neural_style.core.geometry import working_shape
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.samples import load_sample
size, steps, memory, pooling = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if size:
    start = time.perf_counter()
    run = Run(Config.for_task("transfer", size=size, steps=steps, coarse_steps=steps,
                              weights="random-single", device="cpu", init="content",
                              memory=memory, pooling=pooling),
              content=load_sample("astronaut"), style=load_sample("hubble_deep_field"))
    result = run.complete()
    info = {"seconds": time.perf_counter() - start, "steps": result.steps_done,
            "precision": result.precision, "scales": list(run.scale_sizes()),
            "lean": [size for size in run.scale_sizes() if recomputes(
                run.config, *working_shape(*run.output_shape, size))]}
else:
    info = {}
import torch
info["torch"] = torch.__version__
info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(info))
"""


def measure(python: str, size: int, steps: int, memory: str = "auto",
            pooling: str = "auto") -> dict:
    return in_fresh_process(["-c", CHILD, str(size), str(steps), memory, pooling], python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--steps", type=int, default=21)
    parser.add_argument("--memory", default="auto", help="memory modes, comma-separated")
    parser.add_argument("--pooling", default="auto",
                        help="max: as ImageNet weights run (auto: the untrained network's avg)")
    parser.add_argument("--python", action="append", default=[],
                        help="another interpreter to measure in (repeatable)")
    args = parser.parse_args()
    say(f"memory: seed transfer, {args.steps} steps per scale, CPU, fresh process per size")
    for python in [sys.executable, *args.python]:
        baseline = measure(python, 0, 0)
        if "error" in baseline:
            say(f"  {python}: FAILED: {baseline['error']}")
            continue
        say(f"  torch {baseline['torch']} ({python})")
        say(f"    import torch + engine only  peak RSS {baseline['peak_rss_mb']:7.0f} MB")
        for size in (int(part) for part in args.sizes.split(",")):
            for memory in args.memory.split(","):
                info = measure(python, size, args.steps, memory, args.pooling)
                if "error" in info:
                    say(f"    {size:5d} px  memory {memory}: FAILED: {info['error']}")
                    continue
                say(f"    {size:5d} px  memory {memory:4s} peak RSS {info['peak_rss_mb']:7.0f} MB, "
                    f"{info['peak_rss_mb'] - baseline['peak_rss_mb']:5.0f} MB over the baseline "
                    f"(scales {info['scales']}, recomputing at {info['lean'] or 'none'}, "
                    f"{info['precision']}, {info['steps']} steps, {info['seconds']:.0f} s)"
                    + ("   goal <= 800 MB over" if size == 512 else ""))

if __name__ == "__main__":
    main()
