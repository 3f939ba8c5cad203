"""glibc's malloc thresholds: per-step time and peak memory of a transfer, default vs roomy.

Each size runs in fresh processes, alternating: (a) glibc's defaults, (b) ``mallopt`` with a
128 MiB trim threshold and a 32 MiB mmap threshold (what dask workers get, core/cluster.py).
With the defaults, glibc serves large blocks by ``mmap`` until a freed one raises its
threshold, and gives memory back often; every fresh mapping's pages fault in (and are zeroed)
again.  Seed transfer from the content image, single scale, fp32, ``--steps`` steps after a
warm-up step.  Prints (b) / (a) for time per step and for peak RSS.

    python benchmarks/malloc.py [--sizes 64,256,512] [--steps 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics

from common import in_fresh_process, say

CHILD = """
import ctypes, json, resource, sys, time
size, steps, roomy = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
if roomy:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-1, 128 << 20)
    libc.mallopt(-3, 32 << 20)
from napari_neural_style.core.config import Config
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.samples import load_sample
run = Run(Config.for_task("transfer", size=size, steps=steps + 1, weights="random-single",
                          device="cpu", scales="1", precision="fp32"),
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
    args = parser.parse_args()
    for size in map(int, args.sizes.split(",")):
        found = {"0": [], "1": []}
        for _ in range(args.rounds):
            for roomy in found:
                found[roomy].append(in_fresh_process(["-c", CHILD, str(size),
                                                      str(args.steps), roomy]))
        step = {key: statistics.median(run["step"] for run in runs)
                for key, runs in found.items()}
        peak = {key: statistics.median(run["peak_rss_mb"] for run in runs)
                for key, runs in found.items()}
        say(f"{size} px: step {step['0']:.3f} s default, {step['1']:.3f} s roomy: "
            f"{step['1'] / step['0']:.3f}; peak {peak['0']:.0f} MB vs {peak['1']:.0f} MB: "
            f"{peak['1'] / peak['0']:.3f}")


if __name__ == "__main__":
    main()
