"""A run cut short keeps what it made: interrupts (Ctrl-C), running out of memory."""

import numpy as np
import pytest
import torch

from helpers import CPU_OUT_OF_MEMORY, fail_evaluation
from napari_neural_style.core.config import Config
from napari_neural_style.core.device import is_out_of_memory
from napari_neural_style.core.errors import OutOfMemory
from napari_neural_style.core.tasks import Run, transfer

FAST = {"weights": "random", "device": "cpu", "size": 48}


def _run(photo, texture, steps=20):
    return Run(Config.for_task("transfer", steps=steps, **FAST), content=photo, style=texture)


def test_an_interrupt_in_the_callers_loop_leaves_the_result_so_far(photo, texture):
    run = _run(photo, texture)
    with pytest.raises(KeyboardInterrupt):
        for step in run:
            if step.step == 3:
                raise KeyboardInterrupt
    result = run.result()
    assert result.cancelled and result.steps_done == 3 and result.image.shape == (48, 48, 3)


def test_an_interrupt_inside_a_step_gives_the_last_completed_step(photo, texture, monkeypatch):
    fail_evaluation(monkeypatch, 5, KeyboardInterrupt())
    with pytest.warns(RuntimeWarning, match="interrupted at step 3 of 20"):
        result = transfer(photo, texture, steps=20, **FAST)
    assert result.cancelled and result.stopped_by == "interrupt" and result.steps_done == 3
    assert np.isfinite(result.image).all() and result.provenance()["stopped_by"] == "interrupt"
    assert result.quality == {}  # an interrupt asks to end now: nothing more is computed


def test_an_interrupt_before_the_first_step_goes_on(photo, texture, monkeypatch):
    fail_evaluation(monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        transfer(photo, texture, steps=20, **FAST)


def test_out_of_memory_says_what_would_fit_and_keeps_the_result(photo, texture, monkeypatch):
    fail_evaluation(monkeypatch, 4, CPU_OUT_OF_MEMORY)
    run = _run(photo, texture)
    with pytest.raises(OutOfMemory) as caught:
        for _ in run:
            pass
    message = str(caught.value)
    assert message == "out of memory on cpu at 48 px: try memory='lean' or a smaller size='24'"
    assert caught.value.__cause__ is None  # torch's advice is not the user's
    result = run.result()
    assert result.cancelled and result.steps_done == 2 and result.stopped_by == message


def test_out_of_memory_before_any_step_leaves_no_result(photo, texture, monkeypatch):
    fail_evaluation(monkeypatch, 1, CPU_OUT_OF_MEMORY)
    run = _run(photo, texture)
    with pytest.raises(OutOfMemory):
        run.complete()
    assert not run.has_result


def test_other_runtime_errors_are_not_taken_for_memory(photo, texture, monkeypatch):
    fail_evaluation(monkeypatch, 2, RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    with pytest.raises(RuntimeError, match="shapes"):
        _run(photo, texture).complete()


@pytest.mark.parametrize(("error", "expected"), [
    (CPU_OUT_OF_MEMORY, True),
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (MemoryError(), True),
    (RuntimeError("MPS backend out of memory"), True),
    (RuntimeError("expected scalar type Float but found Half"), False),
    (ValueError("not enough memory"), False),
])
def test_out_of_memory_is_recognised(error, expected):
    assert is_out_of_memory(error) is expected
