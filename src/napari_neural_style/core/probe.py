"""The probe that calibrates ``core/estimate.py``: the default transfer at two small sizes,
each in a fresh Python process (so that its peak memory is its own), timed step by step.

About 20-30 s on a 2-core CPU, once per machine, torch version, device and precision setting
(kept, see :mod:`~.machine`).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, replace
from itertools import pairwise

from .config import Config
from .errors import NeuralStyleError
from .estimate import (
    PROBE_SIZES,
    PROBE_STEPS,
    Calibration,
    network_cost,
    optimizer_mb,
    save_calibration,
)
from .machine import resident_memory_mb
from .vgg_layers import deepest


def measure(config: Config) -> dict:
    """One run of ``config`` on the bundled astronaut and Hubble images, in this process (a
    fresh one: ``python -m napari_neural_style.core.probe CONFIG_JSON`` prints this as JSON):
    its wall time, median step after the first two, setup, the rest of its time in steps
    (the first step's targets, the quality pass), working shape, and peak memory above what
    the process held before the run (peak RSS, or CUDA memory allocated)."""
    from .samples import load_sample
    from .tasks import Run

    content, style = load_sample("astronaut"), load_sample("hubble_deep_field")
    before, start = resident_memory_mb(), time.perf_counter()
    run = Run(config, content=content, style=style)
    times = [step.elapsed for step in run]
    result = run.result()
    wall = time.perf_counter() - start
    step = statistics.median(later - earlier for earlier, later in pairwise(times[2:]))
    cuda = result.device.startswith("cuda")
    return {"step": step, "setup": result.setup_seconds, "seconds": wall,
            "extra_steps": (wall - result.setup_seconds - config.steps * step) / step,
            "shape": list(run.output_shape),
            "peak_mb": result.peak_memory["mb"] - (0 if cuda else before)}


def in_fresh_process(config: Config, python: str = sys.executable) -> dict:
    """:func:`measure` in a fresh Python process, so that its peak memory is its own."""
    completed = subprocess.run([python, "-m", __spec__.name, json.dumps(asdict(config))],
                               capture_output=True, text=True)
    if completed.returncode:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise NeuralStyleError(f"the timing probe failed: {last}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def probe_config(config: Config, size: int) -> Config:
    """The default transfer at ``size`` px, one scale, fast memory, one untrained network
    (the estimate multiplies its cost by a run's networks), on ``config``'s device and
    precision."""
    return replace(Config.for_task("transfer"), size=size, steps=PROBE_STEPS, scales=(1.0,),
                   memory="fast", weights="random-single", init="content", device=config.device,
                   precision=config.precision)


def calibrate(config: Config, python: str = sys.executable) -> Calibration:
    """Probe this machine for ``config``'s device and precision; keep and return the
    result."""
    probes = []
    for size in PROBE_SIZES:
        probe = probe_config(config, size)
        found = in_fresh_process(probe, python)
        found["work"], found["kept"] = network_cost(deepest(probe.layers).name,
                                                    *found["shape"])
        found["optimizer_mb"] = optimizer_mb(probe, probe.steps, *found["shape"])
        probes.append(found)
    calibration = Calibration.fit(probes)
    save_calibration(config, calibration)
    return calibration


if __name__ == "__main__":
    print(json.dumps(measure(Config(**json.loads(sys.argv[1])))))
