import gc
import threading

import numpy as np

from napari_neural_style.core.config import Config
from napari_neural_style.plugin.worker import optimize


def test_a_run_spares_the_older_objects_from_the_collector_until_it_ends():
    """Full collections of napari's objects would stall the UI mid-run (GIL): they are frozen
    while the worker runs, and given back to the collector when it ends."""
    image = np.random.default_rng(0).random((40, 40, 3), dtype=np.float32)
    config = Config.for_task("transfer", size=32, steps=3, weights="random-single",
                             device="cpu")
    updates = optimize(config, {"content": image, "style": image}, threading.Event())
    frozen = []
    try:
        while True:
            next(updates)
            frozen.append(gc.get_freeze_count())
    except StopIteration as end:
        result = end.value
    assert len(frozen) == 4 and min(frozen) > 0
    assert gc.get_freeze_count() == 0 and result.image.shape == (32, 32, 3)
