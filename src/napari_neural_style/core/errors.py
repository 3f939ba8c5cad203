"""Errors a user can act on.  Each message says what happened and what to do about it.

A message that tells the user to change a setting names it as Python does, ``weights='random'``
(:func:`setting`); the command line and the widgets reword such names in their own terms
(``--weights random``; ``weights: untrained (random weights)``) with :func:`reword`.
"""

import re
from collections.abc import Callable

_SETTING = re.compile(r"\b([a-z_]+)='([^']*)'")


def setting(name: str, value: str) -> str:
    """A setting as a message names it, for :func:`reword` to find."""
    return f"{name}='{value}'"


def reword(message: str, say: Callable[[str, str], str]) -> str:
    """``message`` with each setting named by :func:`setting` replaced by ``say(name, value)``."""
    return _SETTING.sub(lambda match: say(match.group(1), match.group(2)), message)


class NeuralStyleError(ValueError):
    """Base class: bad input, an unknown layer, unusable weights or a missing device."""


class InputError(NeuralStyleError):
    """An image the engine cannot use (NaN or inf pixels, wrong shape, too small, ...)."""


class LayerNameError(NeuralStyleError):
    """An unknown VGG-19 layer name; the message lists the valid ones."""


class WeightsError(NeuralStyleError):
    """VGG-19 weights that are missing, unreadable or of the wrong shapes."""


class DeviceError(NeuralStyleError):
    """A device that does not exist on this machine."""


class OutputError(NeuralStyleError):
    """An output file that could not be written: unknown format, no such directory, no
    permission.  Checked before a run starts, so no work is lost to it."""


class OutOfMemory(NeuralStyleError):
    """The device ran out of memory; the message says what was attempted and what would fit."""


def out_of_memory(config, setup, size: int, images: int = 1) -> OutOfMemory:
    """What ran out at working ``size`` (``images`` optimized at once) for a run of
    ``config`` on ``setup``'s device (None: not set up yet), and what needs less: lean
    memory where the scale did not recompute, a smaller size (the activations scale with
    the pixels: half the side, a quarter of the memory), the CPU."""
    device = setup.device if setup else config.device
    advice = [] if setup and setup.encoder.recompute else [setting("memory", "lean")]
    advice.append(f"a smaller {setting('size', str(max(config.size // 2, 1)))}")
    if str(device) != "cpu":
        advice.append(setting("device", "cpu"))
    batch = f" ({images} images at once)" if images > 1 else ""
    return OutOfMemory(f"out of memory on {device} at {size} px{batch}: try "
                       f"{' or '.join(advice)}")


class ClusterError(NeuralStyleError):
    """A dask cluster that cannot be used: dask.distributed not installed, a scheduler that
    cannot be reached, a bad address."""
