"""A day in one napari window: runs that overlap take turns, stored settings that are
garbled, saves that fail."""

import numpy as np
import pytest
from napari_helpers import PLUGIN, dock

from napari_neural_style.plugin.base import METADATA_KEY


def test_two_runs_at_once_both_finish(qtbot, viewer_with_images):
    first = dock(viewer_with_images, "transfer", steps=4, tolerance=0.0)
    second = dock(viewer_with_images, "texture", steps=4, tolerance=0.0)
    assert first.start() is not None and second.start() is not None
    qtbot.waitUntil(lambda: first.worker is None and second.worker is None, timeout=120_000)
    for widget in (first, second):
        record = widget.result_layer.metadata[METADATA_KEY]
        assert record["status"] == "done" and record["steps"] == 4, widget.status.value


def test_runs_take_turns_step_by_step_and_an_abandoned_run_blocks_none():
    import threading
    import time
    from itertools import pairwise

    from napari_neural_style.plugin.worker import ENGINE_TURN, taking_turns

    spans = []

    def steps(name):
        for _ in range(5):
            start = time.perf_counter()
            time.sleep(0.01)  # a step's computing
            spans.append((start, time.perf_counter(), name))
            yield name

    threads = [threading.Thread(target=lambda name=name: list(taking_turns(steps(name))))
               for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 10 and {name for *_, name in spans} == {"a", "b"}
    assert all(end <= next_start for (_, end, _), (next_start, _, _) in pairwise(spans))
    abandoned = taking_turns(steps("c"))
    next(abandoned)  # then left, as napari leaves a worker it quits
    assert ENGINE_TURN.acquire(timeout=1)  # nothing held between steps
    ENGINE_TURN.release()


@pytest.mark.parametrize("stored", ["runs:\n  size: abc\n  steps: -5\n  device: [1, 2]\n"
                                    "  open_groups: 7\n  weights: hostile\n",
                                    "\x00\xff{{{: [", "runs: 5\n", ""])
def test_garbled_stored_settings_start_the_widgets_from_the_defaults(make_napari_viewer,
                                                                    tmp_path, stored):
    from napari import settings

    from napari_neural_style.plugin.settings import machine_defaults

    (tmp_path / f"{PLUGIN}.yaml").write_text(stored)
    settings._clear_plugin_settings_cache()
    _, widget = make_napari_viewer().window.add_plugin_dock_widget(PLUGIN, "Style transfer")
    assert {"size": widget.size.value, "steps": widget.steps.value} == machine_defaults()
    assert widget.weights.value == "imagenet" and widget.preset.value in ("draft", "good")



@pytest.mark.parametrize("cached", ['{"cut": [0.5, ', "[1, 2]", "\x00\xff"])
def test_a_garbled_measurements_cache_warns_once_and_the_widgets_dock(viewer_with_images,
                                                                      cached):
    from napari_neural_style.core import machine

    machine.cache_file().write_text(cached)
    viewer = viewer_with_images
    with pytest.warns(UserWarning, match="could not be read") as warned:
        _, transfer = viewer.window.add_plugin_dock_widget(PLUGIN, "Style transfer")
        _, texture = viewer.window.add_plugin_dock_widget(PLUGIN, "Texture synthesis")
        transfer.steps.value += 1  # the estimate reads the cache again
    assert len(warned) == 1
    assert transfer.run_button.enabled and texture.run_button.enabled

def test_a_save_where_no_folder_can_be_made_fails_and_keeps_the_layer(make_napari_viewer,
                                                                     tmp_path):
    viewer = make_napari_viewer()
    image = np.random.default_rng(0).random((16, 12, 3)).astype(np.float32)
    layer = viewer.add_image(image, name="result", metadata={METADATA_KEY: {"task": "x"}})
    blocking = tmp_path / "not-a-folder"
    blocking.write_text("a file where the folder would go")
    with pytest.raises(OSError):
        layer.save(str(blocking / "result.tif"), plugin=PLUGIN)
    assert [path.name for path in tmp_path.iterdir()] == ["not-a-folder"]
    np.testing.assert_array_equal(layer.data, image)


def test_a_save_that_fails_midway_leaves_nothing_under_its_name(make_napari_viewer, tmp_path,
                                                               monkeypatch):
    import tifffile

    viewer = make_napari_viewer()
    image = np.random.default_rng(0).random((16, 12, 3)).astype(np.float32)
    layer = viewer.add_image(image, name="result", metadata={METADATA_KEY: {"task": "x"}})
    earlier = tmp_path / "result.tif"
    earlier.write_bytes(b"an earlier save")

    def full_disk(path, *args, **kwargs):
        with open(path, "wb") as file:
            file.write(b"II*\x00 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", full_disk)
    with pytest.raises(OSError, match="No space left"):
        layer.save(str(earlier), plugin=PLUGIN)
    assert earlier.read_bytes() == b"an earlier save"  # the earlier file stays whole
    assert [path.name for path in tmp_path.iterdir()] == ["result.tif"]  # no partial left
    np.testing.assert_array_equal(layer.data, image)


def test_removed_results_are_let_go(qtbot, viewer_with_images):
    """A sweep's stacks and a finished result, once removed, are no longer held by the
    widgets (the sweep widget kept every sweep's layers for the session)."""
    viewer = viewer_with_images
    _, sweep = viewer.window.add_plugin_dock_widget(PLUGIN, "Sweeps")
    for name, value in {"weights": "random", "device": "cpu", "size": 32, "steps": 2,
                        "parameter": "seed", "values": "1, 2"}.items():
        getattr(sweep, name).value = value
    sweep.content.value = viewer.layers["astronaut"]
    transfer = dock(viewer, "transfer", steps=2)
    for widget in (sweep, transfer):
        widget.start()
        qtbot.waitUntil(lambda widget=widget: widget.worker is None, timeout=120_000)
    made = [layer for layer in viewer.layers if layer.name not in ("astronaut", "coffee")]
    assert len(made) == 4 and len(sweep.outputs) == 3  # the stack and two differences
    for layer in made:
        viewer.layers.remove(layer)
    assert sweep.outputs == [] and sweep.result_layer is None
    assert transfer.result_layer is None
    assert all(chosen in viewer.layers for chosen in transfer._chosen.values())


def test_a_finished_run_lets_go_of_its_job(qtbot, viewer_with_images):
    """napari keeps every worker for the session (its task list holds ``worker.quit``), so
    whatever a worker's signals reach stays in memory: the run's job, which holds its
    images, must not be among it once the run has ended (a long day grew by it)."""
    import gc
    import weakref

    widget = dock(viewer_with_images, "transfer", steps=2)
    worker = widget.start()
    job = weakref.ref(widget._job)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=120_000)
    assert widget.result_layer.metadata[METADATA_KEY]["status"] == "done"
    gc.collect()
    assert job() is None
    assert worker is not None  # the worker itself may live on; its job does not
