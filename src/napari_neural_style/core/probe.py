"""The probe that calibrates ``core/estimate.py``: the seed's transfer at two small sizes,
each in a fresh Python process (so that its peak memory is its own), timed step by step.

About 20-30 s on a 2-core CPU, once per machine, torch version, device and precision setting
(cached, see :func:`~.estimate.cache_file`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

from .config import Config
from .errors import NeuralStyleError
from .estimate import (
    PROBE_SIZES,
    PROBE_STEPS,
    Calibration,
    cached_calibration,
    history_mb,
    network_cost,
    save_calibration,
)
from .vgg_layers import deepest

#: one probe (or any run, benchmarks/estimate.py): its wall time, median step after the first
#: two, setup, the rest of its time in steps (the first step's targets, the quality pass),
#: and its peak memory above what the process held before the run (peak RSS, or CUDA memory
#: allocated)
CHILD = """
import json, resource, statistics, sys, time
from napari_neural_style.core.config import Config
from napari_neural_style.core.tasks import Run
from napari_neural_style.samples import load_sample

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

config = Config(**json.loads(sys.argv[1]))
content, style = load_sample("astronaut"), load_sample("hubble_deep_field")
before, start = rss_mb(), time.perf_counter()
run = Run(config, content=content, style=style)
times = [step.elapsed for step in run]
result = run.result()
wall = time.perf_counter() - start
step = statistics.median(later - earlier for earlier, later in zip(times[2:], times[3:]))
peak = result.peak_memory["mb"]
print(json.dumps({"step": step, "setup": result.setup_seconds, "seconds": wall,
                  "extra_steps": (wall - result.setup_seconds - config.steps * step) / step,
                  "shape": list(run.output_shape),
                  "peak_mb": peak - (0 if result.device.startswith("cuda") else before)}))
"""


def probe_config(config: Config, size: int) -> Config:
    """The seed's transfer at ``size`` px, one scale, fast memory, random weights, on
    ``config``'s device and precision."""
    return replace(Config.for_task("transfer"), size=size, steps=PROBE_STEPS, scales=(1.0,),
                   memory="fast", weights="random", init="content", device=config.device,
                   precision=config.precision)


def calibrate(config: Config, python: str = sys.executable) -> Calibration:
    """Probe this machine for ``config``'s device and precision; keep and return the
    result."""
    from dataclasses import asdict

    probes = []
    for size in PROBE_SIZES:
        probe = probe_config(config, size)
        completed = subprocess.run([python, "-c", CHILD, json.dumps(asdict(probe))],
                                   capture_output=True, text=True)
        if completed.returncode:
            raise NeuralStyleError(f"the timing probe failed: "
                                   f"{completed.stderr.strip().splitlines()[-1:]}")
        found = json.loads(completed.stdout.strip().splitlines()[-1])
        found["work"], found["kept"] = network_cost(deepest(probe.layers).name,
                                                    *found["shape"])
        found["history_mb"] = history_mb(probe, probe.steps, *found["shape"])
        probes.append(found)
    calibration = Calibration.fit(probes)
    save_calibration(config, calibration)
    return calibration


def calibration_for(config: Config) -> Calibration:
    """The cached calibration, or a new one (probed now)."""
    return cached_calibration(config) or calibrate(config)
