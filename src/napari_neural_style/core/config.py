"""Run configuration: every choice that determines a run, validated on creation.

Pure Python (no torch), so the napari widget can build and check a configuration on the main
thread, and read the defaults, without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputError
from .layers import min_image_side, parse_layers

OPTIMIZERS = ("lbfgs", "adam")
POOLINGS = ("max", "avg")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MEMORY_MODES = ("auto", "fast", "lean")
#: working size (longest side) from which ``memory="auto"`` recomputes activations.  Measured
#: on a CPU (benchmarks/memory_modes.py): 63 % of the memory for 1.39x the time at 1024 px, 87 %
#: for 1.44x at 512 px; a 1024 px transfer needs 4 GB anyway, a 2048 px one 12.8 GB, 8.6 lean
LEAN_FROM_SIZE = 2048
#: Longest working side the engine accepts; beyond it a single feature map outgrows most RAM.
MAX_SIZE = 8192
TASKS = ("reconstruct", "texture", "transfer")
#: the input images each task reads
TASK_INPUTS = {"reconstruct": ("content",), "texture": ("style",),
               "transfer": ("content", "style")}
INITS = ("content", "noise")
DEFAULT_CONTENT_LAYERS = ("conv_9",)
DEFAULT_STYLE_LAYERS = ("conv_2", "conv_4", "conv_8", "conv_16")
DEFAULT_RECONSTRUCT_LAYER = "conv_4"
MAX_STEPS = 100_000


@dataclass(frozen=True)
class Config:
    """Everything that determines a run (given the input images).  Validated on creation."""

    task: str
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    content_weight: float = 1.0
    style_weight: float = 0.5
    tv_weight: float = 0.0
    steps: int = 300
    size: int = 512
    optimizer: str = "lbfgs"
    learning_rate: float | None = None
    lbfgs_history: int = 20
    init: str = "noise"
    seed: int = 0
    device: str = "auto"
    weights: str = "imagenet"
    pooling: str = "max"
    precision: str = "auto"
    #: ``fast`` keeps every activation for the backward pass; ``lean`` keeps only each block's
    #: input and taps and recomputes the rest; ``auto``: lean from LEAN_FROM_SIZE px up
    memory: str = "auto"
    #: fractions of ``size`` to optimise at in turn, each for ``steps`` steps, the result of
    #: one scale upsampled to start the next; None picks them (see :func:`auto_scales`)
    scales: tuple[float, ...] | None = None
    #: steps at each scale but the last (None: ``steps``); coarse steps are cheap but need
    #: not be many, since the last scale refines anyway
    coarse_steps: int | None = None

    def __post_init__(self):
        _check_choice("task", self.task, TASKS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("init", self.init, INITS)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("memory", self.memory, MEMORY_MODES)
        object.__setattr__(self, "content_layers",
                           parse_layers(self.content_layers) if self.content_layers else ())
        object.__setattr__(self, "style_layers",
                           parse_layers(self.style_layers) if self.style_layers else ())
        if self.needs_content and not self.content_layers:
            raise InputError(f"{self.task} needs at least one content layer")
        if self.needs_style and not self.style_layers:
            raise InputError(f"{self.task} needs at least one style layer")
        if self.task != "transfer" and self.init == "content":
            raise InputError(f"{self.task} starts from noise; init='content' is for transfer")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, not {value}")
        if not 0 <= self.steps <= MAX_STEPS:
            raise InputError(f"steps must be in 0..{MAX_STEPS}, not {self.steps}")
        if not 1 <= self.size <= MAX_SIZE:
            raise InputError(f"size must be in 1..{MAX_SIZE} px, not {self.size}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, not {self.learning_rate}")
        if self.scales is not None:
            scales = tuple(float(scale) for scale in self.scales)
            if not scales or scales[-1] != 1.0 or any(not 0 < scale <= 1 for scale in scales) \
                    or list(scales) != sorted(set(scales)):
                raise InputError(f"scales must rise to 1.0, e.g. (0.25, 0.5, 1.0); got "
                                 f"{self.scales}")
            object.__setattr__(self, "scales", scales)
        if self.coarse_steps is not None and not 0 <= self.coarse_steps <= MAX_STEPS:
            raise InputError(f"coarse_steps must be in 0..{MAX_STEPS}, not {self.coarse_steps}")
        if self.lbfgs_history < 1:
            raise InputError(f"lbfgs_history must be >= 1, not {self.lbfgs_history}")

    def steps_at(self, scale_index: int, scales: int) -> int:
        """Steps to run at scale ``scale_index`` of ``scales``."""
        last = scale_index == scales - 1
        return self.steps if last or self.coarse_steps is None else self.coarse_steps

    def scale_sizes(self, *shapes: tuple[int, ...],
                    layers: tuple[str, ...] | None = None) -> tuple[int, ...]:
        """Working sizes (longest side) of the scales, coarse to fine, leaving out scales at
        which an image of one of ``shapes`` (only the aspect ratio counts) would be too small
        for the deepest of ``layers`` (default: this config's)."""
        aspect = max((max(shape[:2]) / min(shape[:2]) for shape in shapes), default=1.0)
        min_size = math.ceil(min_image_side(layers or self.layers) * aspect)
        scales = self.scales if self.scales is not None else auto_scales(self.size)
        sizes = [round(self.size * scale) for scale in scales]
        return tuple(dict.fromkeys(size for size in sizes if size >= min_size or
                                   size == self.size))

    def recomputes_at(self, size: int) -> bool:
        """Whether a scale of working size ``size`` recomputes activations (``memory``)."""
        return self.memory == "lean" or (self.memory == "auto" and size >= LEAN_FROM_SIZE)

    def total_steps(self, *shapes: tuple[int, ...]) -> int:
        """Steps over all scales (see :meth:`scale_sizes`)."""
        count = len(self.scale_sizes(*shapes))
        return sum(self.steps_at(index, count) for index in range(count))

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.content_layers + self.style_layers))

    @property
    def needs_content(self) -> bool:
        return "content" in TASK_INPUTS[self.task]

    @property
    def needs_style(self) -> bool:
        return "style" in TASK_INPUTS[self.task]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def parse_scales(text: str) -> tuple[float, ...] | None:
    """``"auto"`` (or empty) -> None; ``"0.25, 0.5, 1"`` -> ``(0.25, 0.5, 1.0)``."""
    text = text.strip().lower()
    if text in ("", "auto"):
        return None
    try:
        return tuple(float(part) for part in text.replace(";", ",").split(","))
    except ValueError:
        raise InputError(f"bad scales {text!r}: write auto, or fractions such as 0.5, 1") \
            from None


def auto_scales(size: int) -> tuple[float, ...]:
    """Coarse-to-fine scales for a working size: halve while the image stays >= 256 px.

    512 px runs at 256 then 512; 2048 at 256, 512, 1024, 2048; 256 px and below at one scale.
    """
    scales = [1.0]
    while size * scales[0] / 2 >= 256:
        scales.insert(0, scales[0] / 2)
    return tuple(scales)


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(H, W) with the longest side equal to ``size`` and the aspect ratio kept."""
    if not 1 <= size <= MAX_SIZE:
        raise InputError(f"working size {size} is out of range; choose 1..{MAX_SIZE} px")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


#: settings a sweep can vary, with the values it varies them over by default
DEFAULT_SWEEP_VALUES: dict[str, tuple] = {
    "content_layers": ("conv_1", "conv_2", "conv_4", "conv_8"),
    "style_layers": ("conv_1-2", "conv_3-4", "conv_5-8", "conv_9-12", "all"),
    "seed": (0, 1),
    "style_weight": (0.1, 0.5, 2.5),
    "steps": (50, 100, 200),
    "optimizer": ("lbfgs", "adam"),
}
PARAMETERS = tuple(DEFAULT_SWEEP_VALUES)


def check_sweep_parameter(parameter: str) -> None:
    if parameter not in PARAMETERS:
        raise InputError(f"cannot sweep {parameter!r}; choose one of {', '.join(PARAMETERS)}")


def parse_values(parameter: str, text: str) -> tuple:
    """Values for ``parameter`` from text: comma-separated, or ``;``-separated when a value
    is itself a list of layers (``conv_1,conv_2; conv_3-4``)."""
    check_sweep_parameter(parameter)
    separator = ";" if ";" in text else ","
    items = [item.strip() for item in text.split(separator) if item.strip()]
    try:
        if parameter in ("seed", "steps"):
            return tuple(int(item) for item in items)
        if parameter == "style_weight":
            return tuple(float(item) for item in items)
    except ValueError:
        raise InputError(f"bad value in {text!r} for {parameter}") from None
    return tuple(items)


def format_values(values: tuple) -> str:
    """The text :func:`parse_values` reads back into ``values``."""
    return ("; " if any("," in str(value) or "-" in str(value) for value in values)
            else ", ").join(str(value) for value in values)
