import numpy as np
import pytest

from helpers import stop_when
from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import InputError
from napari_neural_style.core.run_inputs import RunInputs
from napari_neural_style.core.sweep_spec import (
    SWEEPS,
    SweepSlice,
    SweepStep,
    format_values,
    parse_values,
)
from napari_neural_style.core.sweeps import Sweep
from napari_neural_style.core.tasks import Run

FAST = {"weights": "random", "device": "cpu", "size": 32, "steps": 4}


def test_layer_sweep_stacks_one_reconstruction_per_layer(photo):
    sweep = Sweep(Config("reconstruct", "conv_1", **FAST), "content_layers",
                  ["conv_1", "conv_4"], content=photo)
    events = list(sweep)
    result = sweep.result()
    assert result.stack.shape == (2, 32, 32, 3)
    assert [r.config.content_layers for r in result.results] == [("conv_1",), ("conv_4",)]
    progress = [event for event in events if isinstance(event, SweepStep)]
    assert {p.groups for p in progress} == {2} and progress[-1].step == 4
    # each value's slice comes as soon as its run ends, before the next run's steps
    slices = [event.index if isinstance(event, SweepSlice) else None for event in events]
    assert slices.index(0) == 5 and slices[-1] == 1
    assert all(event.result is result.results[event.index] for event in events
               if isinstance(event, SweepSlice))


def test_each_value_runs_alone_on_a_cpu_exactly_as_a_separate_run(photo):
    base = Config("reconstruct", "conv_4", **FAST)
    sweep = Sweep(base, "seed", [1, 2], content=photo)
    list(sweep)
    assert sweep.groups == [[0], [1]]
    stack = sweep.result().stack
    for index, seed in enumerate((1, 2)):
        alone = Run(Config("reconstruct", "conv_4", seed=seed, **FAST), content=photo)
        assert np.array_equal(stack[index], alone.complete().image)


def test_equal_seeds_give_equal_slices_and_other_seeds_differ(photo):
    sweep = Sweep(Config("reconstruct", "conv_2", **FAST), "seed", [5, 5, 6], content=photo)
    list(sweep)
    stack = sweep.result().stack
    assert np.array_equal(stack[0], stack[1])
    assert not np.array_equal(stack[0], stack[2])


def test_steps_sweep_is_one_run_photographed(photo):
    sweep = Sweep(Config("reconstruct", "conv_2", **FAST), "steps", [1, 3, 5], content=photo)
    list(sweep)
    result = sweep.result()
    assert [r.steps_done for r in result.results] == [1, 3, 5]
    assert len(sweep.runs) == 1 and sweep.runs[0].configs[0].steps == 5
    alone = Run(Config("reconstruct", "conv_2", **{**FAST, "steps": 3}), content=photo)
    np.testing.assert_allclose(result.stack[1], alone.complete().image, atol=1e-5)


def test_texture_groups_and_transfer_weights_and_optimizers(photo, texture):
    groups = Sweep(Config("texture", style_layers="conv_1", **FAST), "style_layers",
                   ["conv_1-2", "conv_3-4"], style=texture)
    list(groups)
    assert [r.config.style_layers for r in groups.result().results] == [
        ("conv_1", "conv_2"), ("conv_3", "conv_4")]
    base = Config("transfer", "conv_4", "conv_1,conv_2", **FAST)
    for parameter, values in (("style_weight", [0.1, 10.0]), ("optimizer", ["lbfgs", "adam"])):
        sweep = Sweep(base, parameter, values, content=photo, style=texture)
        list(sweep)
        result = sweep.result()
        assert [getattr(r.config, parameter) for r in result.results] == values
        assert result.results[0].quality["gram_distance"]


def test_stopping_keeps_finished_and_partial_slices(photo):
    sweep = Sweep(Config("reconstruct", "conv_1", **{**FAST, "steps": 50}), "content_layers",
                  ["conv_1", "conv_4"], content=photo)
    stop_when(sweep, lambda event: getattr(event, "group", 0) == 1 and event.step == 2)
    result = sweep.result()
    assert len(result.results) == 2 and result.cancelled
    assert not result.results[0].cancelled and result.results[1].cancelled


def test_parse_values():
    assert parse_values("content_layers", "conv_1, conv_2") == ("conv_1", "conv_2")
    assert parse_values("style_layers", "conv_1-2; conv_3,conv_4") == ("conv_1-2",
                                                                       "conv_3,conv_4")
    assert parse_values("seed", "1, 2") == (1, 2)
    assert parse_values("style_weight", "0.1,1") == (0.1, 1.0)
    with pytest.raises(InputError):
        parse_values("seed", "one")
    with pytest.raises(InputError):
        parse_values("size", "1")
    for parameter, sweepable in SWEEPS.items():
        assert parse_values(parameter, format_values(sweepable.values)) == sweepable.values


def test_differences_are_zero_for_equal_slices_only():
    from napari_neural_style.core.sweeps import differences

    rng = np.random.default_rng(0)
    a, b = rng.random((2, 8, 9, 3)).astype(np.float32)
    found = differences(np.stack([a, a, b]), original=a)
    assert found["between"].shape == (2, 8, 9)
    assert not found["between"][0].any() and found["between"][1].any()
    assert not found["to_original"][0].any() and found["to_original"][2].any()
    assert "to_original" not in differences(np.stack([a, b]), original=a[:4])


def test_a_batch_of_different_depths_matches_separate_runs(photo):
    from napari_neural_style.core.batch import BatchRun

    # float32 whatever "auto" measures here: its convolutions round differently at batch
    # sizes 3 and 1, and L-BFGS amplifies that step after step, so few steps
    options = {**FAST, "steps": 2, "precision": "fp32"}
    configs = [Config("reconstruct", layers, **options) for layers in ("conv_1", "conv_8",
                                                                      "conv_2,conv_4")]
    batched = BatchRun(configs, RunInputs(content=photo)).complete()
    for config, result in zip(configs, batched, strict=True):
        alone = Run(config, content=photo).complete()
        np.testing.assert_allclose(result.image, alone.image, atol=2e-3)
        assert result.history[-1]["content_per_layer"].keys() == \
            alone.history[-1]["content_per_layer"].keys()


def test_a_batch_out_of_memory_runs_again_in_halves_down_to_one(photo, monkeypatch):
    """On a GPU a sweep is one batch; one that does not fit runs again as halves, each as a
    separate run would, and only a single run that does not fit is an error."""
    from helpers import CPU_OUT_OF_MEMORY
    from napari_neural_style.core.errors import OutOfMemory
    from napari_neural_style.core.objective import BatchObjective

    evaluate, batch_sizes = BatchObjective.__call__, []

    def fits_up_to(limit):
        batch_sizes.clear()

        def evaluating(self, pixels):
            batch_sizes.append(len(pixels))
            if len(pixels) > limit and len(batch_sizes) > 2:  # after two steps
                raise CPU_OUT_OF_MEMORY
            return evaluate(self, pixels)
        monkeypatch.setattr(BatchObjective, "__call__", evaluating)

    monkeypatch.setattr(Sweep, "_groups", lambda self: [list(range(len(self.configs)))])
    seeds = [1, 2, 3]
    fits_up_to(1)
    sweep = Sweep(Config("reconstruct", "conv_4", **FAST), "seed", seeds, content=photo)
    with pytest.warns(RuntimeWarning) as warned:
        events = list(sweep)
    assert [str(warning.message).split(": try")[0] for warning in warned] == [
        "out of memory on cpu at 32 px (3 images at once)",
        "out of memory on cpu at 32 px (2 images at once)"]
    assert str(warned[0].message).endswith("running the sweep's 3 values in groups of 2 "
                                           "instead")
    assert sweep.groups == [[0], [1], [2]]  # 3 -> 1 + 2 -> 1 + 1 + 1
    assert sorted(e.index for e in events if isinstance(e, SweepSlice)) == [0, 1, 2]
    result = sweep.result()
    assert not result.cancelled and [r.steps_done for r in result.results] == [4, 4, 4]
    for index, seed in enumerate(seeds):  # each as a separate run gives it
        alone = Run(Config("reconstruct", "conv_4", seed=seed, **FAST), content=photo)
        assert np.array_equal(result.stack[index], alone.complete().image)

    fits_up_to(0)  # not even one run fits: the error, and the values' steps so far
    sweep = Sweep(Config("reconstruct", "conv_4", **FAST), "seed", [1], content=photo)
    with pytest.raises(OutOfMemory, match="out of memory on cpu"):
        list(sweep)
    assert sweep.result().cancelled
