"""``memory="reuse"``: glibc keeps a step's freed memory for the next, within the run's steps
only, and the result is the same."""

import sys
import threading

import numpy as np
import pytest

from napari_neural_style.core.config import Config
from napari_neural_style.core.device import reused_memory
from napari_neural_style.core.tasks import run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc")
BLOCK = 256 << 20  # far above glibc's mmap threshold


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def freed_stays_resident() -> bool:
    """Whether a large block, written and freed, still counts in the resident memory."""
    before = resident_mb()
    block = np.ones(BLOCK, dtype=np.uint8)
    del block
    return resident_mb() - before > BLOCK / 2**20 / 2


def test_within_freed_blocks_stay_for_the_next_and_after_they_go_back():
    assert not freed_stays_resident()  # glibc's default: a fresh mapping, unmapped when freed
    before = resident_mb()
    with reused_memory(True) as on:
        assert on and freed_stays_resident()
    assert resident_mb() - before < BLOCK / 2**20 / 2  # trimmed at the end
    assert not freed_stays_resident()  # and glibc's defaults back
    with reused_memory(False) as on:
        assert not on and not freed_stays_resident()


def test_another_thread_is_left_as_it_is():
    found = []
    worker = threading.Thread(target=lambda: found.append(reused_memory(True).__enter__()))
    worker.start()
    worker.join()
    assert found == [False]
    assert not freed_stays_resident()


def test_a_run_reusing_its_memory_ends_where_a_fast_one_does(photo, texture):
    results = {memory: run(Config.for_task("transfer", size=48, steps=4, memory=memory,
                                           weights="random-single", device="cpu",
                                           precision="fp32", scales=(1.0,)),
                           content=photo, style=texture).complete()
               for memory in ("fast", "reuse")}
    np.testing.assert_array_equal(results["fast"].image, results["reuse"].image)
    assert [step["total"] for step in results["fast"].history] == \
        [step["total"] for step in results["reuse"].history]
    assert not freed_stays_resident()  # the run put glibc's defaults back
