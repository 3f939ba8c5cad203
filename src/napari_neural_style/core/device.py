"""Which torch device a run uses: ``auto`` picks CUDA, then MPS, then the CPU.

torch is imported by each function that needs it, not by this module: the napari widgets list
the devices at start-up, which must not import torch (it takes seconds and 300+ MB).
"""

from __future__ import annotations

import ctypes
import platform
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

from .errors import DeviceError
from .machine import bf16_ratio_key, cpu_flags, peak_resident_memory_mb, recalled, remember
from .vgg_layers import BLOCK_CHANNELS


def available_devices() -> list[str]:
    """Devices that exist here, best first, ``auto`` included (for dropdowns and help).

    torch answers once something imported it; before that, the system is probed instead
    (NVIDIA's driver lists its GPUs under /proc; MPS is on Apple silicon).
    """
    devices = ["auto"]
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            devices += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
        if torch.backends.mps.is_available():
            devices.append("mps")
    else:
        gpus = sorted(Path("/proc/driver/nvidia/gpus").glob("*")) \
            if sys.platform == "linux" else []
        devices += [f"cuda:{index}" for index in range(len(gpus))]
        if sys.platform == "darwin" and platform.machine() == "arm64":
            devices.append("mps")
    return [*devices, "cpu"]


def resolve_device(spec: str = "auto") -> torch.device:
    """A ``torch.device`` for ``auto``, ``cpu``, ``cuda``, ``cuda:i`` or ``mps``."""
    import torch

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
    """channels_last on the CPU, where its convolutions run faster."""
    import torch

    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


#: bf16 is taken on a CPU where a forward+backward of VGG's convolutions in bf16 takes at most
#: this share of float32's time (docs/performance.md: where it pays and where it does not)
BF16_TIME_TO_TAKE = 0.8


@cache
def cpu_has_fast_bf16() -> bool:
    """Whether bf16 autocast runs VGG's convolutions clearly faster than float32 on this CPU.

    With AMX tiles it does; without AVX512-BF16 bf16 is emulated.  With AVX512-BF16 alone it
    depends on the CPU (slower than float32 on some, faster on others), so there it is
    measured once (:func:`bf16_time_ratio`, under a second) and kept per CPU (model and
    flags) and torch version (``core/machine.py``).
    """
    flags = cpu_flags()
    if "amx_bf16" in flags or "avx512_bf16" not in flags:
        return "amx_bf16" in flags
    ratio = recalled(bf16_ratio_key())
    if not isinstance(ratio, float):
        ratio = bf16_time_ratio()
        remember(bf16_ratio_key(), ratio)
    return ratio <= BF16_TIME_TO_TAKE


def bf16_time_ratio(size: int = 128, repeats: int = 5) -> float:
    """The time of a forward and input-gradient pass through one 3x3 convolution and ReLU at
    each VGG block's width (``size`` px, halved per block, channels_last, as the engine runs
    them) under bf16 autocast, over the same in float32: medians of ``repeats``."""
    import torch

    generator = torch.Generator().manual_seed(0)
    convolutions = []
    for block, channels in enumerate(BLOCK_CHANNELS[:4]):
        convolution = torch.nn.Conv2d(channels, channels, 3, padding=1).requires_grad_(False)
        start = torch.randn(1, channels, size >> block, size >> block, generator=generator)
        convolutions.append((convolution.to(memory_format=torch.channels_last),
                             start.to(memory_format=torch.channels_last)))

    def seconds(dtype: torch.dtype | None) -> float:
        begin = time.perf_counter()
        for convolution, start in convolutions:
            image = start.clone().requires_grad_()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is not None):
                features = torch.relu(convolution(image))
            features.float().sum().backward()
        return time.perf_counter() - begin

    times = {dtype: [] for dtype in (None, torch.bfloat16)}
    for _ in range(repeats + 1):  # the first of each warms oneDNN's kernels up
        for dtype, measured in times.items():
            measured.append(seconds(dtype))
    return statistics.median(times[torch.bfloat16][1:]) / statistics.median(times[None][1:])


def resolve_precision(spec: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for the network (None: float32 throughout).

    ``auto``: bf16 on CUDA devices that have it (:func:`cuda_has_bf16`), bf16 on CPUs where
    it runs clearly faster (:func:`cpu_has_fast_bf16`), float32 elsewhere (MPS, other CPUs,
    and GPUs without bf16: fp16's narrow range loses small gradients, and its transfers end
    at a clearly higher loss than float32's, where bf16's do not) -- it never picks what the
    device lacks or emulates, runs slower or ends worse.  Gram matrices and losses are
    accumulated in float32 whatever the choice.
    """
    import torch

    if spec == "fp32":
        return None
    if spec == "fp16":
        if device.type != "cuda":
            raise DeviceError("fp16 is for CUDA devices; on this device use bf16, fp32 or auto")
        return torch.float16
    if spec == "bf16":
        if device.type == "mps":
            raise DeviceError("bf16 autocast is not supported on MPS; use fp32 or auto")
        return torch.bfloat16
    if device.type == "cuda":  # fp16 without loss scaling ends higher: see the docstring
        return torch.bfloat16 if cuda_has_bf16(device) else None
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return None


#: whether cuDNN times its algorithms at each new shape (``torch.backends.cudnn.benchmark``).
#: Off: cuDNN's heuristics choose algorithms as fast for VGG's shapes, and the timing trials
#: cost more than they save (docs/performance.md, "cuDNN's autotuner")
CUDNN_AUTOTUNE = False


def prepare_cuda(device: torch.device) -> None:
    """cuDNN's settings for a run on ``device``, whose memory peak starts here.

    TF32 is off: ``fp32`` means float32 (cuDNN's default TF32 convolutions keep 10 mantissa
    bits, ~1e-3 relative error); bf16 and fp16 runs take autocast, which TF32 does not touch.
    """
    import torch

    torch.backends.cudnn.benchmark = CUDNN_AUTOTUNE
    torch.backends.cudnn.allow_tf32 = False
    torch.cuda.reset_peak_memory_stats(device)


def cuda_has_bf16(device: torch.device) -> bool:
    """Whether the GPU computes in bf16 itself: ROCm's, and NVIDIA's from Ampere (compute
    capability 8) on.  ``torch.cuda.is_bf16_supported()`` says yes for older ones too, which
    only emulate it, far slower than float32."""
    import torch

    return bool(torch.version.hip) or torch.cuda.get_device_capability(device)[0] >= 8


def peak_memory_mb(device: torch.device) -> dict:
    """Peak memory so far: CUDA memory allocated on ``device`` since the run reset it, else
    the whole process's peak resident set (what the operating system had to give)."""
    if device.type == "cuda":
        import torch

        return {"mb": torch.cuda.max_memory_allocated(device) / 2**20,
                "of": "CUDA memory allocated by this run"}
    peak = peak_resident_memory_mb()
    if peak is None:
        return {"mb": None, "of": "process peak RSS (not available on this platform)"}
    return {"mb": peak, "of": "process peak RSS"}


@cache
def glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc, whose ``malloc`` can be tuned and trimmed, else None."""
    try:
        library = ctypes.CDLL("libc.so.6")
    except OSError:  # not Linux, or not glibc
        return None
    return library if hasattr(library, "malloc_trim") else None


#: glibc ``mallopt`` parameters: freed memory at the heap's top given back above the first,
#: blocks from ``mmap`` above the second, at most the third of them
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
#: glibc's own values of the first and third, which :func:`reused_memory` puts back
DEFAULT_TRIM_BYTES, DEFAULT_MMAP_MAX = 128 << 10, 65536


@contextmanager
def reused_memory(wanted: bool) -> Iterator[bool]:
    """Within, where ``wanted`` (``memory="reuse"``), on glibc and in the main thread: every
    block from glibc's heap, and nothing it frees given back, so each step's maps take the
    pages the step before freed instead of fresh ones, which fault in and are zeroed again
    (by default every block over its mmap threshold, which a feature map passes).  After:
    glibc's default values (its thresholds then stay where they are instead of adapting),
    and the heap's free pages given back.  Yields whether it is on: other
    threads allocate from arenas of bounded size, which map a large block afresh whatever
    is set."""
    library = glibc()
    on = wanted and library is not None and threading.current_thread() is threading.main_thread()
    if on:
        library.mallopt(M_MMAP_MAX, 0)
        library.mallopt(M_TRIM_THRESHOLD, -1)  # read as an unsigned size: never
    try:
        yield on
    finally:
        if on:
            library.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
            library.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_BYTES)
            library.malloc_trim(0)


def release_freed_memory(device: torch.device) -> None:
    """Give memory that earlier work freed back to the system, between the phases of a run.

    CUDA's allocator caches freed blocks; glibc keeps freed pages in its heap, where the next
    phase's maps, of other sizes, fit badly (a scale's steps after its targets, the quality
    pass after the steps).  Once a phase it costs milliseconds; after every step it would
    cost the steps time, each page faulting in again.
    """
    if device.type == "cuda":
        import torch

        torch.cuda.empty_cache()
    elif (library := glibc()) is not None:
        library.malloc_trim(0)


#: how the CPU allocators say they are out of memory (CUDA raises its own error type)
_CPU_OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "out of memory")


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the device (CUDA, MPS or the CPU allocator) ran out of memory."""
    import torch

    if isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(words in text for words in _CPU_OUT_OF_MEMORY)
