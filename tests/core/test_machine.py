"""What the engine measures of the machine and keeps: the cache, and whether bf16 pays."""

import json
import math

import pytest

from napari_neural_style.core import device, machine


@pytest.fixture
def cpu(monkeypatch):
    """A CPU with the flags a test gives it, whose bf16 measurement the test scripts."""
    measured = []

    def with_flags(flags: str, bf16_ratio: float = 1.0):
        device.cpu_has_fast_bf16.cache_clear()
        monkeypatch.setattr(device, "cpu_flags", lambda: frozenset(flags.split()))
        monkeypatch.setattr(device, "bf16_time_ratio",
                            lambda: measured.append(bf16_ratio) or bf16_ratio)
        return measured

    yield with_flags
    device.cpu_has_fast_bf16.cache_clear()


def test_amx_takes_bf16_and_no_bf16_instructions_keep_float32_unmeasured(cpu):
    measured = cpu("fpu avx2 avx512f amx_bf16 avx512_bf16")
    assert device.cpu_has_fast_bf16()
    cpu("fpu avx2")
    assert not device.cpu_has_fast_bf16()
    assert measured == []


@pytest.mark.parametrize(("ratio", "taken"), [(0.5, True), (1.75, False)])
def test_avx512_bf16_alone_is_measured_once_per_machine(cpu, ratio, taken):
    measured = cpu("fpu avx2 avx512f avx512_bf16", ratio)
    assert device.cpu_has_fast_bf16() is taken
    device.cpu_has_fast_bf16.cache_clear()  # a new process: the kept measurement decides
    assert device.cpu_has_fast_bf16() is taken
    assert measured == [ratio]
    kept = json.loads(machine.cache_file().read_text())
    assert list(kept.values()) == [ratio] and machine.cpu_model() in next(iter(kept))


def test_a_broken_cache_is_measured_again_and_replaced(cpu):
    machine.cache_file().write_text("{not json")
    measured = cpu("avx512_bf16", 0.6)
    assert device.cpu_has_fast_bf16() and measured == [0.6]
    assert list(json.loads(machine.cache_file().read_text()).values()) == [0.6]


def test_remember_keeps_other_entries_and_leaves_no_partial_file():
    machine.remember("a", 1.0)
    machine.remember("b", {"c": 2})
    assert machine.recalled("a") == 1.0 and machine.recalled("b") == {"c": 2}
    assert machine.recalled("missing") is None
    assert [path.name for path in machine.cache_file().parent.iterdir()] == ["calibration.json"]


def test_the_bf16_measurement_times_both_precisions():
    ratio = device.bf16_time_ratio(size=32, repeats=1)
    assert math.isfinite(ratio) and ratio > 0


def test_an_unwritable_cache_warns_and_the_answer_still_comes(cpu, tmp_path, monkeypatch):
    monkeypatch.setenv(machine.CACHE_ENV, str(tmp_path / "a-file" / "calibration.json"))
    (tmp_path / "a-file").write_text("not a folder")
    measured = cpu("avx512_bf16", 0.6)
    with pytest.warns(UserWarning, match="could not keep a measurement .* set "
                                         "NAPARI_NEURAL_STYLE_CACHE"):
        assert device.cpu_has_fast_bf16()
    assert measured == [0.6]
