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


@pytest.mark.parametrize("garbled", ["{not json", '{"a": 1, "b": [0.5', "[0.6]",
                                     "\x00\xff binary"])
def test_a_broken_truncated_or_foreign_cache_warns_once_and_is_replaced(cpu, garbled):
    machine.cache_file().write_text(garbled)
    measured = cpu("avx512_bf16", 0.6)
    with pytest.warns(UserWarning, match="could not be read .* measured again and the file "
                                         "replaced") as warned:
        assert device.cpu_has_fast_bf16()
        assert list(json.loads(machine.cache_file().read_text()).values()) == [0.6]
        machine.cache_file().write_text(garbled)  # the same again: no second warning
        assert machine.recalled(machine.bf16_ratio_key()) is None
    assert len(warned) == 1 and measured == [0.6]


@pytest.mark.parametrize("entry", [
    {"step_seconds": ["fast", 1.0], "memory_mb": [300.0, 6.0], "setup_seconds": 0.8,
     "extra_steps": 5.0},
    {"step_seconds": [0.01, 1.0, 2.0], "memory_mb": [300.0, 6.0], "setup_seconds": 0.8,
     "extra_steps": 5.0},
    {"step_seconds": [0.01, 1.0], "memory_mb": [300.0, 6.0]},  # an older version's fields
    [0.01, 1.0], "0.01",
])
def test_a_calibration_written_otherwise_is_probed_again(entry):
    from napari_neural_style.core.config import Config
    from napari_neural_style.core.estimate import cached_calibration, calibration_key

    config = Config.for_task("transfer", device="cpu", precision="fp32")
    machine.remember(calibration_key(config), entry)
    assert cached_calibration(config) is None


def test_a_full_disk_keeps_the_cache_as_it_was(monkeypatch):
    import errno
    from pathlib import Path

    machine.remember("a", 1.0)
    kept = machine.cache_file().read_text()

    def disk_full(path, text):
        Path.write_bytes(path, text[: len(text) // 2].encode())
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched, pytest.warns(UserWarning, match="No space left"):
        patched.setattr(Path, "write_text", disk_full)
        machine.remember("b", 2.0)
    assert machine.cache_file().read_text() == kept
    assert [path.name for path in machine.cache_file().parent.iterdir()] == ["calibration.json"]
