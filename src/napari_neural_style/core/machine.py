"""What this machine is, and what it measured about itself, kept between sessions.  Pure
Python (no torch): the widgets read the cache on napari's main thread.

One JSON file holds every measurement, each under a key that names what it holds for (the
CPU, the torch version, the settings): the estimate's calibrations (``core/probe.py``) and
whether bf16 pays on this CPU (``device.cpu_has_fast_bf16``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import warnings
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path

import platformdirs
import psutil

try:
    import resource
except ImportError:  # Windows
    resource = None

CACHE_ENV = "NAPARI_NEURAL_STYLE_CACHE"


def cache_file() -> Path:
    """Where measurements are kept: ``$NAPARI_NEURAL_STYLE_CACHE``, else the user's cache
    folder as the operating system has it (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux,
    ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return platformdirs.user_cache_path("napari-neural-style", appauthor=False) / "calibration.json"


def recalled(key: str):
    """What :func:`remember` kept under ``key``: None if nothing, or if the cache cannot be
    read (what it held is measured again, and the file replaced, with one warning)."""
    path = cache_file()
    try:
        known = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):  # nothing kept yet
        return None
    except (OSError, ValueError) as error:
        _unreadable(path, str(error))
        return None
    if not isinstance(known, dict):
        _unreadable(path, f"it holds a JSON {type(known).__name__}, not measurements")
        return None
    return known.get(key)


@cache
def _unreadable(path: Path, why: str) -> None:
    """Warn, once a process, that the cache at ``path`` is garbled (a truncated write, an
    edit, another program's file)."""
    warnings.warn(f"the measurements of this machine kept in {path} could not be read "
                  f"({why}); they are measured again and the file replaced", stacklevel=3)


def remember(key: str, value) -> None:
    """Keep ``value`` (JSON) under ``key``; other entries stay.  The file is replaced whole,
    so a reader (another worker process, the widget) never sees half of it.  Where it cannot
    be written (a read-only home) a warning says so and the work goes on: it is measured
    again next time."""
    path = cache_file()
    try:
        known = json.loads(path.read_text())
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    known[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written_whole(path, lambda partial: partial.write_text(json.dumps(known, indent=1)))
    except OSError as error:
        warnings.warn(f"could not keep a measurement of this machine in {path} ({error}); "
                      f"set {CACHE_ENV} to a writable file", stacklevel=2)


def written_whole(path: Path, write: Callable[[Path], object]) -> None:
    """``write(partial)`` to a file beside ``path``, then renamed to it: a reader never sees
    half a file, and a write that fails (a full disk) leaves nothing but what was there
    before (the partial file goes, the error goes on)."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@cache
def bf16_ratio_key() -> str:
    """The key of ``device.cpu_has_fast_bf16``'s measurement, naming what it holds for: the
    CPU (virtual machines often name it vaguely, "AMD EPYC": its flags tell models apart)
    and torch's version (its oneDNN)."""
    flags = hashlib.sha256(" ".join(sorted(cpu_flags())).encode()).hexdigest()[:16]
    return json.dumps({"bf16_time_ratio": cpu_model(), "flags": flags,
                       "torch": package_version("torch")})


def package_version(name: str) -> str | None:
    """The installed version of package ``name`` (None if it is not installed), read from its
    metadata: nothing is imported."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; else what the platform says)."""
    return _cpuinfo().get("model name") or platform.processor()


def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags as Linux lists them (empty elsewhere)."""
    return frozenset(_cpuinfo().get("flags", "").split())


@cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's entries of ``/proc/cpuinfo``."""
    entries = {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break
                name, _, value = line.partition(":")
                entries[name.strip()] = value.strip()
    except OSError:
        pass
    return entries


def available_memory_mb() -> float | None:
    """The memory the system can give without swapping (Linux's ``MemAvailable``, the
    equivalents elsewhere, through psutil); None where it cannot tell."""
    try:
        return psutil.virtual_memory().available / 2**20
    except (OSError, RuntimeError, AttributeError):
        return None


def resident_memory_mb() -> float:
    """This process's resident memory now."""
    return psutil.Process().memory_info().rss / 2**20


def peak_resident_memory_mb() -> float | None:
    """This process's peak resident memory so far: ``getrusage``'s ``ru_maxrss`` (kilobytes
    on Linux, bytes on macOS), Windows' peak working set; None where neither exists."""
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024
    peak = getattr(psutil.Process().memory_info(), "peak_wset", None)
    return None if peak is None else peak / 2**20
