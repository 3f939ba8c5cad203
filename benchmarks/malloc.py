"""glibc's malloc settings: per-step time and peak memory of a transfer, default vs tuned.

Each size runs in fresh processes, alternating: (a) glibc's defaults, (b) ``mallopt`` with a
128 MiB trim threshold and a 32 MiB mmap threshold (what dask workers get, core/cluster.py),
(c) the engine's ``memory="reuse"`` (core/device.py: ``reused_memory``; during the steps
no ``mmap`` at all and freed memory kept: every block from the heap, reused).  With the
defaults, glibc serves large blocks by ``mmap`` until a freed one raises its threshold (at
most to 32 MiB), and gives memory back often; every fresh mapping's pages fault in (and are
zeroed) again, and a feature map above 32 MiB (a 64-channel map from about 360 px in bf16)
is always a fresh mapping.  Seed transfer from the content image, single scale, ``--steps``
steps after a warm-up step, in ``--precision``, tiled at ``--tile`` px if given.  Prints (b)
/ (a) and (c) / (a) for time per step and for peak RSS.

    python benchmarks/malloc.py [--sizes 64,256,512] [--steps 10] [--rounds 2]
        [--precision fp32] [--tile PX]
"""

from __future__ import annotations

import argparse
import json
import statistics

from common import in_fresh_process, say
from napari_neural_style.core.cluster import MMAP_BYTES, TRIM_BYTES
from napari_neural_style.core.device import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD

#: each setting's ``mallopt`` values and the engine's memory mode
MODES = {"default": ({}, "fast"),
         "roomy": ({M_TRIM_THRESHOLD: TRIM_BYTES, M_MMAP_THRESHOLD: MMAP_BYTES}, "fast"),
         "reuse": ({}, "reuse")}

CHILD = """
import ctypes, json, resource, sys, time
size, steps, settings, extra = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), \
    json.loads(sys.argv[4])
libc = ctypes.CDLL("libc.so.6")
for parameter, value in settings.items():
    libc.mallopt(int(parameter), value)
from napari_neural_style.core.config import Config
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.samples import load_sample
run = Run(Config.for_task("transfer", size=size, steps=steps + 1, weights="random-single",
                          device="cpu", scales="1", **extra),
          content=load_sample("astronaut"), style=load_sample("hubble_deep_field"))
times = []
last = None
for step in run:
    now = time.perf_counter()
    if last is not None and step.step > 1:
        times.append(now - last)
    last = now
print(json.dumps({"step": sorted(times)[len(times) // 2],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,256,512")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--tile", type=int, default=None)
    args = parser.parse_args()
    for size in map(int, args.sizes.split(",")):
        found = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode, (settings, memory) in MODES.items():
                extra = {"precision": args.precision, "tile": args.tile, "memory": memory}
                found[mode].append(in_fresh_process(["-c", CHILD, str(size), str(args.steps),
                                                     json.dumps(settings), json.dumps(extra)]))
        step = {mode: statistics.median(run["step"] for run in runs)
                for mode, runs in found.items()}
        peak = {mode: statistics.median(run["peak_rss_mb"] for run in runs)
                for mode, runs in found.items()}
        say(f"{size} px ({args.precision}, tile {args.tile}): step {step['default']:.3f} s "
            f"default, {step['roomy']:.3f} s roomy, {step['reuse']:.3f} s reuse: "
            f"{step['roomy'] / step['default']:.3f}, {step['reuse'] / step['default']:.3f}; "
            f"peak {peak['default']:.0f} / {peak['roomy']:.0f} / {peak['reuse']:.0f} MB: "
            f"{peak['roomy'] / peak['default']:.3f}, {peak['reuse'] / peak['default']:.3f}")


if __name__ == "__main__":
    main()
