"""Errors a user can act on.  Each message says what happened and what to do about it."""


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
