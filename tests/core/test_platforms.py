"""What the engine asks of the operating system, where Linux's answer is not there: each
facility taken away (or answered as macOS and Windows answer it) and the fallback checked."""

import builtins
import ctypes
import importlib
import sys
from collections import namedtuple
from pathlib import Path

import platformdirs
import pytest
import torch

from napari_neural_style.core import device, estimate, machine
from napari_neural_style.core.config import Config


@pytest.fixture
def no_glibc(monkeypatch):
    """A C library that is not glibc (macOS, Windows, musl): ``malloc_trim``/``mallopt`` gone."""
    def no_library(name, *args, **kwargs):
        raise OSError(f"{name}: cannot open shared object file")

    device.glibc.cache_clear()
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    yield
    device.glibc.cache_clear()


def test_without_glibc_memory_tuning_is_skipped(no_glibc):
    pytest.importorskip("distributed")
    from napari_neural_style.core import cluster

    assert device.glibc() is None
    cluster._roomy_malloc()  # a dask worker's start-up
    device.release_freed_memory(torch.device("cpu"))  # between a run's phases
    with device.reused_memory(True) as on:  # memory="reuse": as fast
        assert not on


@pytest.fixture
def no_proc(monkeypatch):
    """No ``/proc`` (macOS, Windows): opening anything under it fails."""
    real_open = builtins.open

    def open_without_proc(file, *args, **kwargs):
        if str(file).startswith("/proc"):
            raise FileNotFoundError(2, "No such file or directory", str(file))
        return real_open(file, *args, **kwargs)

    def forget_the_cpu():
        machine._cpuinfo.cache_clear()
        machine.bf16_ratio_key.cache_clear()

    forget_the_cpu()
    monkeypatch.setattr(builtins, "open", open_without_proc)
    yield
    monkeypatch.undo()
    forget_the_cpu()


def test_without_proc_the_machine_is_named_by_the_platform(no_proc, monkeypatch):
    monkeypatch.setattr(machine.platform, "processor", lambda: "arm")
    assert machine.cpu_model() == "arm"
    assert machine.cpu_flags() == frozenset()
    assert "arm" in estimate.calibration_key(Config.for_task("transfer", device="cpu"))


def test_free_memory_unknown_is_none(monkeypatch):
    def unknown():
        raise RuntimeError("not supported on this platform")

    monkeypatch.setattr(machine.psutil, "virtual_memory", unknown)
    assert machine.available_memory_mb() is None


@pytest.mark.parametrize(("platform", "ru_maxrss", "megabytes"),
                         [("linux", 2048 * 1024, 2048.0),  # kilobytes
                          ("darwin", 2048 * 2**20, 2048.0)])  # bytes
def test_peak_memory_in_each_platforms_units(monkeypatch, platform, ru_maxrss, megabytes):
    usage = namedtuple("usage", "ru_maxrss")(ru_maxrss)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(machine.resource, "getrusage", lambda who: usage)
    assert machine.peak_resident_memory_mb() == megabytes
    assert device.peak_memory_mb(torch.device("cpu")) == {"mb": megabytes,
                                                         "of": "process peak RSS"}


def test_peak_memory_on_windows_is_the_peak_working_set(monkeypatch):
    windows_memory = namedtuple("pmem", "rss vms peak_wset")(10 * 2**20, 20 * 2**20, 3 * 2**30)
    monkeypatch.setattr(machine, "resource", None)  # no such module on Windows
    monkeypatch.setattr(machine.psutil.Process, "memory_info", lambda self: windows_memory)
    assert machine.peak_resident_memory_mb() == 3072.0


def test_peak_memory_unknown_is_said(monkeypatch):
    monkeypatch.setattr(machine, "resource", None)
    monkeypatch.setattr(machine.psutil.Process, "memory_info",
                        lambda self: namedtuple("pmem", "rss vms")(1, 2))
    assert device.peak_memory_mb(torch.device("cpu"))["mb"] is None


@pytest.fixture
def macos_dirs(monkeypatch, tmp_path):
    """platformdirs as it is on macOS (it picks its platform's class when imported)."""
    monkeypatch.delenv(machine.CACHE_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "darwin")
    importlib.reload(platformdirs)
    yield tmp_path
    monkeypatch.undo()
    importlib.reload(platformdirs)


def test_measurements_are_kept_in_the_operating_systems_cache_folder(macos_dirs):
    assert machine.cache_file() == (Path(macos_dirs) / "Library" / "Caches"
                                    / "napari-neural-style" / "calibration.json")
    machine.remember("answer", 42)
    assert machine.recalled("answer") == 42


def test_on_linux_the_cache_folder_follows_xdg(monkeypatch, tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CACHE_HOME is Linux's")
    monkeypatch.delenv(machine.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert machine.cache_file() == tmp_path / "napari-neural-style" / "calibration.json"


def test_local_clusters_start_their_workers_as_macos_and_windows_do():
    """dask starts local workers by ``spawn`` on every platform: the cluster tests that run
    here start them the way they start on macOS and Windows, where ``fork`` is absent or
    unsafe."""
    import dask

    pytest.importorskip("distributed")
    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
