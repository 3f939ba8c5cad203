"""Importing the engine (and so torch) inside a running napari.

PyTorch's Linux builds ship triton, whose ``libtriton`` carries its own copy of LLVM.  When
napari draws through Mesa (llvmpipe under Xvfb, radeonsi on AMD GPUs), Mesa's LLVM is already
loaded, and loading ``libtriton`` after it crashes the process in a symbol clash (seen here:
the first ``torch.optim`` optimizer imports ``torch._dynamo``, which imports triton).  Loading
triton with ``RTLD_DEEPBIND`` makes it bind to its own LLVM first.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType


def import_engine() -> ModuleType:
    """``napari_neural_style.core.tasks``, with triton (if installed) loaded safely first."""
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if deepbind and "triton" not in sys.modules and importlib.util.find_spec("triton"):
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | deepbind)
        try:
            import triton  # noqa: F401
        finally:
            sys.setdlopenflags(flags)
    from ..core import tasks

    return tasks
