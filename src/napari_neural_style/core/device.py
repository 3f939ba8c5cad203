"""Which torch device a run uses: ``auto`` picks CUDA, then MPS, then the CPU."""

from __future__ import annotations

import torch

from .errors import DeviceError


def available_devices() -> list[str]:
    """Devices that exist here, best first, ``auto`` included (for dropdowns and help)."""
    devices = ["auto"]
    if torch.cuda.is_available():
        devices += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


def resolve_device(spec: str = "auto") -> torch.device:
    """A ``torch.device`` for ``auto``, ``cpu``, ``cuda``, ``cuda:i`` or ``mps``."""
    text = spec.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise DeviceError(f"unknown device {spec!r}; choose one of {available_devices()}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec!r} asked for, but CUDA is not available here; "
                              f"choose one of {available_devices()}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {spec!r} does not exist; "
                              f"choose one of {available_devices()}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device 'mps' is not available here; choose one of "
                          f"{available_devices()}")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unsupported device {spec!r}; choose one of {available_devices()}")
    return device


def preferred_memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on the CPU, where its convolutions run ~1.2-1.4x faster (benchmarks/)."""
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format
