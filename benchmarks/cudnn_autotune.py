"""cuDNN's autotuner (``torch.backends.cudnn.benchmark``) on / off, on a CUDA device.

With it on, the first pass at each new shape times cuDNN's algorithms (workspace and all) and
keeps the fastest; off, cuDNN's heuristics choose at once.  Each side runs the seed's
transfer with the defaults (scales and precision ``auto``) in a fresh process, so neither
finds the other's choices cached: seconds of setup and of the loop, the median step at full
size, the final loss and the peak CUDA memory the run allocated (the autotuner's trial
workspaces included).  ``core.device.CUDNN_AUTOTUNE`` is what the engine runs.

    python benchmarks/cudnn_autotune.py [--sizes 512,1024] [--steps 300] [--precision fp32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from common import in_fresh_process, sample_pair, say

CHILD = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})
from common import sample_pair
from napari_neural_style.core import device as engine_device
from napari_neural_style.core.config import Config
from napari_neural_style.core.tasks import Run
size, steps, precision, autotune = {size}, {steps}, {precision!r}, {autotune}
engine_device.CUDNN_AUTOTUNE = autotune
content, style = sample_pair(size)
run = Run(Config.for_task("transfer", size=size, steps=steps, weights="random-single",
                          device={device!r}, init="content", precision=precision), content, style)
start, full_size = time.perf_counter(), []
for step in run:
    if tuple(step.pixels.shape[-2:]) == run.output_shape:
        full_size.append(step.elapsed)
result = run.result()
print(json.dumps({{"wall": time.perf_counter() - start, "setup": result.setup_seconds,
                  "loop": result.seconds, "steps": [b - a for a, b in zip(full_size,
                  full_size[1:])], "loss": result.history[-1]["total"],
                  "peak_mb": result.peak_memory["mb"], "precision": result.precision}}))
"""


def measured(size: int, steps: int, precision: str, device: str, autotune: bool) -> dict:
    return in_fresh_process(["-c", CHILD.format(
        benchmarks=str(Path(__file__).parent), size=size, steps=steps, precision=precision,
        device=device, autotune=autotune)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    say(f"cudnn_autotune: seed transfer from the content image, {args.steps} steps, "
        f"precision {args.precision}, fresh process each")
    for size in (int(text) for text in args.sizes.split(",")):
        sample_pair(size)  # fail here, not in a child, if the samples are missing
        sides = {on: measured(size, args.steps, args.precision, args.device, on)
                 for on in (True, False)}
        for on, found in sides.items():
            if "error" in found:
                say(f"  {size} px, autotune {'on' if on else 'off'}: failed: {found['error']}")
                return
            found["step"] = statistics.median(found["steps"])
            say(f"  {size} px, autotune {'on ' if on else 'off'} ({found['precision']}): "
                f"setup {found['setup']:.2f} s, loop {found['loop']:.2f} s, full-size step "
                f"{found['step'] * 1000:.1f} ms, loss {found['loss']:.5f}, peak CUDA "
                f"{found['peak_mb']:.0f} MB")
        on, off = sides[True], sides[False]
        say(f"  {size} px off / on: loop {off['loop'] / on['loop']:.2f}, step "
            f"{off['step'] / on['step']:.2f}, peak memory {off['peak_mb'] / on['peak_mb']:.3f}")


if __name__ == "__main__":
    sys.exit(main())
