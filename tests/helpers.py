"""Helpers shared by the tests (fixtures live in conftest.py)."""


def stop_when(run, reached) -> None:
    """Iterate ``run`` until ``reached(step)``, then close the iterator: a user's Stop."""
    steps = iter(run)
    for step in steps:
        if reached(step):
            break
    steps.close()


#: what PyTorch's CPU allocator raises when an allocation fails
CPU_OUT_OF_MEMORY = RuntimeError("[enforce fail at alloc_cpu.cpp:117] . DefaultCPUAllocator: "
                                 "can't allocate memory: you tried to allocate 4831838208 bytes.")


def fail_evaluation(monkeypatch, number: int, error: BaseException) -> None:
    """Make the ``number``-th evaluation of the loss (1-based) raise ``error``: the steps
    before it complete (evaluation ``k`` is step ``k - 1``)."""
    from napari_neural_style.core.objective import BatchObjective

    evaluate, calls = BatchObjective.__call__, []

    def failing(self, pixels):
        calls.append(None)
        if len(calls) == number:
            raise error
        return evaluate(self, pixels)

    monkeypatch.setattr(BatchObjective, "__call__", failing)


def in_python(script: str, timeout: float = 300, env: dict[str, str] | None = None):
    """Run ``script`` in a fresh interpreter (nothing this test process imported or set is
    there; ``env`` added to the environment); it must succeed.  Returns the
    ``subprocess.CompletedProcess``."""
    import os
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=timeout, check=False, env={**os.environ, **(env or {})})
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed


def png_declaring(path, width: int, height: int) -> None:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds none."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width,
                                                                      height, 8, 2, 0, 0, 0))
                     + chunk(b"IEND", b""))


def tiff_declaring(path, width: int, height: int) -> None:
    """A TIFF whose header declares ``width`` x ``height`` RGB pixels and holds 8 x 8."""
    import struct

    import numpy as np
    import tifffile

    tifffile.imwrite(path, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tiff:
        tags = tiff.pages[0].tags
        offsets = {tags[name].valueoffset: value
                   for name, value in (("ImageWidth", width), ("ImageLength", height))}
    order = "<" if data[:2] == b"II" else ">"
    for offset, value in offsets.items():
        data[offset:offset + 4] = struct.pack(f"{order}I", value)
    path.write_bytes(bytes(data))


def centred_half(image):
    """What a pyramid's next level should be, written another way: along each axis the image
    mirror-padded by one pixel, convolved with [1, 2, 1] / 4, every other pixel from the
    first kept."""
    import numpy as np

    values = np.asarray(image, np.float64)
    for axis in (0, 1):
        padding = [(1, 1) if other == axis else (0, 0) for other in range(values.ndim)]
        padded = np.pad(values, padding, mode="reflect")
        length = values.shape[axis]
        left, middle, right = (np.take(padded, range(start, start + length), axis=axis)
                               for start in (0, 1, 2))
        values = np.take((left + 2 * middle + right) / 4, range(0, length, 2), axis=axis)
    return values
