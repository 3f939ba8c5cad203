"""Run configuration: every choice that determines a run, validated on creation.

Pure Python (no torch), so the napari widget can build and check a configuration on the main
thread, and read the defaults, without importing torch.  Each field carries its own
:class:`Option` (label, help, range): the command line and the widgets build their inputs from
these, so a default, a range or a help text is written once, here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import partial

from .errors import ClusterError, InputError
from .vgg_layers import min_image_side, parse_layers

TASKS = ("reconstruct", "texture", "transfer")
#: the input images each task reads
TASK_INPUTS = {"reconstruct": ("content",), "texture": ("style",),
               "transfer": ("content", "style")}
#: the VGG layers each task uses unless told otherwise (the seed's favourite settings)
DEFAULT_CONTENT_LAYERS = ("conv_9",)
DEFAULT_STYLE_LAYERS = ("conv_2", "conv_4", "conv_8", "conv_16")
DEFAULT_RECONSTRUCT_LAYER = "conv_4"
TASK_LAYERS = {
    "reconstruct": {"content_layers": (DEFAULT_RECONSTRUCT_LAYER,)},
    "texture": {"style_layers": DEFAULT_STYLE_LAYERS},
    "transfer": {"content_layers": DEFAULT_CONTENT_LAYERS, "style_layers": DEFAULT_STYLE_LAYERS},
}
OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LEARNING_RATES = {"lbfgs": 1.0, "adam": 0.02}
#: where the optimized pixels may go (core/optimize.py)
PIXEL_RANGES = ("bounded", "free")
POOLINGS = ("auto", "max", "avg", "blur")
#: how a weights file wants its pixels (core/weights.py: PIXEL_FORMATS); auto: by its sha256
WEIGHTS_FORMATS = ("auto", "torchvision", "caffe")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: what the optimizer steps in (core/parametrization.py)
PARAMETRIZATIONS = ("auto", "rgb", "decorrelated")
MEMORY_MODES = ("auto", "fast", "lean")
#: where a run starts; "image": any image given beside the inputs (init_image, --init PATH)
INITS = ("content", "noise", "style", "image")
#: the style statistic matched (core/losses.py: STYLE_TARGETS)
STYLE_LOSSES = ("gram", "meancov")
#: how a region's mask reaches a layer's grid (core/regions.py)
REGION_MASKS = ("simple", "inside")
#: whose colours a transfer takes (core/colour.py)
COLOURS = ("style", "luminance", "match", "original")
#: working size (longest side) from which ``memory="auto"`` recomputes activations.  Measured
#: on a CPU (benchmarks/memory_modes.py): 63 % of the memory for 1.39x the time at 1024 px, 87 %
#: for 1.44x at 512 px; a 1024 px transfer needs 4 GB anyway, a 2048 px one 12.8 GB, 8.6 lean
LEAN_FROM_SIZE = 2048
#: Longest working side the engine accepts; beyond it a single feature map outgrows most RAM.
MAX_SIZE = 8192
MAX_STEPS = 100_000
#: Shortest side of an input image: below it there is no shape or texture to take features of
MIN_SOURCE_SIDE = 4
#: working size and steps the widgets start from on a machine without a GPU, where the
#: Config defaults (512 px: two scales, 600 steps) take a quarter of an hour on two cores; at
#: 256 px (one scale) and 150 steps a seed transfer takes about a minute (0.36 s a step,
#: docs/performance.md)
CPU_DEFAULTS = {"size": 256, "steps": 150}
#: the coarsest scale of ``scales="auto"``: runs halve the size while it stays >= this
COARSEST = 256
#: ... but the untrained network starting from noise halves down to 32 px: its deep layers
#: only find their structure coarse to fine (benchmarks/untrained.py: a 128 px conv_12
#: reconstruction 11.4 dB at one scale, 18.5 dB from 32 px; textures judged on another
#: network closer to their floor), for about 1.3x the steps' cost
COARSEST_UNTRAINED_FROM_NOISE = 32
#: a run from the content image takes this fraction of ``steps`` at each coarse scale unless
#: ``coarse_steps`` says otherwise: its coarse scales only move what the content's low
#: frequencies let them, and full-size steps do the rest.  Measured at 512 px (scales 256,
#: 512; benchmarks/time_to_quality.py): the loss of 300 single-scale fp32 steps reached in
#: 39.4 s with 100 coarse steps, 56.5 s with 200, 59.1 s with 300, each judged on another
#: network within 8 % of that reference's content and style errors
COARSE_FRACTION_FROM_CONTENT = 1 / 3
WEIGHTS_HELP = ("imagenet (torchvision VGG-19), random[:SEED] (untrained: two networks side "
                "by side), random-single[:SEED] (one), random-kaiming[:SEED] (the untrained "
                "network of 0.1) or a .pth file")


@dataclass(frozen=True)
class RandomKind:
    """An untrained network (``weights`` spec before ``:SEED``): how its kernels are drawn
    (core/weights.py), its pooling, what the optimizer steps in (core/parametrization.py),
    how many VGG-19s run side by side (their features concatenated, core/vgg.py), and the
    coarsest scale ``scales="auto"`` goes down to when a run starts from noise."""

    init: str  # "orthogonal" or "kaiming"
    pooling: str
    parametrization: str
    networks: int
    label: str
    coarsest_from_noise: int


#: every untrained network by its spec; ``random`` is the one measured best
#: (benchmarks/untrained.py), the others reproduce earlier versions' results
RANDOM_KINDS = {
    "random": RandomKind("orthogonal", "avg", "decorrelated", 2, "random",
                         COARSEST_UNTRAINED_FROM_NOISE),
    "random-single": RandomKind("orthogonal", "avg", "decorrelated", 1,
                                "random, one network",
                                COARSEST_UNTRAINED_FROM_NOISE),
    "random-kaiming": RandomKind("kaiming", "max", "rgb", 1, "random, Kaiming (0.1)",
                                 COARSEST),
}


def random_kind(weights: str) -> RandomKind | None:
    """The untrained network a ``weights`` spec names (None: trained weights)."""
    return RANDOM_KINDS.get(str(weights).lower().partition(":")[0])


@dataclass(frozen=True)
class Option:
    """How a :class:`Config` field is shown and asked for (command line, widget tooltip)."""

    label: str
    help: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    #: the tasks the field matters to
    tasks: tuple[str, ...] = TASKS


def _option(default, label: str, help: str, **option) -> field:
    return field(default=default, metadata={"option": Option(label, help, **option)})


@dataclass(frozen=True)
class Config:
    """Everything that determines a run (given the input images).  Validated on creation.

    Layers must be given (:meth:`for_task` fills in the task's defaults); ``init=None`` starts
    a transfer from the content image and the other tasks from noise.
    """

    task: str
    content_layers: tuple[str, ...] = _option(
        (), "content layers", "VGG-19 layers whose features are matched, e.g. conv_9 or conv4_1",
        tasks=("reconstruct", "transfer"))
    style_layers: tuple[str, ...] = _option(
        (), "style layers", "VGG-19 layers whose Gram matrices are matched, e.g. "
        "conv_2,conv_4,conv_8,conv_16 or conv_5-8 or all", tasks=("texture", "transfer"))
    content_weight: float = _option(1.0, "content weight", "weight of the content loss",
                                    low=0, high=1e6, tasks=("transfer",))
    style_weight: float = _option(0.5, "style weight", "weight of the style loss",
                                  low=0, high=1e6, tasks=("transfer",))
    tv_weight: float = _option(0.0, "TV weight", "weight of the total variation (smoothness) "
                               "loss", low=0, high=1e6)
    steps: int = _option(300, "steps", "optimization steps at the working size (coarse "
                         "scales: coarse steps)", low=1, high=MAX_STEPS)
    size: int = _option(512, "working size (px)", "working size: the longest side in px",
                        low=16, high=MAX_SIZE)
    optimizer: str = _option("lbfgs", "optimizer", "L-BFGS or Adam", choices=OPTIMIZERS)
    learning_rate: float | None = _option(
        None, "learning rate", "step size (default: " + ", ".join(
            f"{rate:g} for {name}" for name, rate in DEFAULT_LEARNING_RATES.items()) + ")")
    lbfgs_history: int = _option(20, "L-BFGS history", "L-BFGS memory (past steps kept)",
                                 low=1, high=1000)
    pixel_range: str = _option(
        "bounded", "pixel range", "bounded: every step keeps the pixels in [0, 1], the range "
        "an image shows, so the result is the image optimized; free: unbounded, as before "
        "2026-11-30 (the result is then clipped to [0, 1], and a transfer with a dark style "
        "loses most of it there)", choices=PIXEL_RANGES)
    parametrization: str = _option(
        "auto", "parametrization", "what the optimizer steps in: rgb (the pixels) or "
        "decorrelated (colour along natural images' principal colour axes, chroma in smaller "
        "steps: deep layers' textures without pixel-scale colour noise); auto: decorrelated "
        "for textures and transfers from noise on the untrained networks random and "
        "random-single, rgb otherwise",
        choices=PARAMETRIZATIONS)
    init: str | None = _option(None, "start from", "start from the content image, noise, the "
                               "style image or another image (resized to the working shape); "
                               "default: the content for a transfer, else noise",
                               choices=INITS)
    style_loss: str = _option(
        "gram", "style loss", "gram (the seed's: Gram matrices) or meancov (the 2-Wasserstein "
        "distance between Gaussian fits of the features: means and covariances apart, more "
        "faithful to colour and texture; ~0.2 s more a step at 256 px on a CPU)",
        choices=STYLE_LOSSES, tasks=("texture", "transfer"))
    style_blend: tuple[float, ...] | None = _option(
        None, "style blend", "weights of the style images, one each, normalised to sum 1, "
        "e.g. 3,7 (default: equal): the style statistics are blended in these proportions",
        low=0, tasks=("texture", "transfer"))
    style_scale: tuple[float, ...] = _option(
        (1.0,), "style scale", "the style image is used at this many times the working size, "
        "at every scale (brush strokes: 2 doubles their size, 0.5 halves it); one number for "
        "every style, or one per style (1,0.5); a style smaller than that is upsampled, as "
        "the content is", low=0.05, high=16, tasks=("transfer",))
    regions: tuple[tuple[int, int | None, float], ...] = _option(
        (), "regions", "a style per region of a label image over the content: (label, style "
        "number from 0 or None for content only, weight) each; labels not given (0 too) are "
        "content only", tasks=("transfer",))
    region_mask: str = _option(
        "simple", "region masks", "how a region's mask reaches each layer: simple (averaged "
        "down at each pooling) or inside (only positions whose receptive field lies inside "
        "the region)", choices=REGION_MASKS, tasks=("transfer",))
    feather: float = _option(0.0, "feather (px)", "soft region edges: a Gaussian blur of "
                             "the masks, sigma in working pixels", low=0, high=256,
                             tasks=("transfer",))
    colour: str = _option(
        "style", "result colours", "whose colours the result takes: style (no control), luminance "
        "(transfer on luminance, then the content's colours), match (the style's colours "
        "first mapped to the content's mean and covariance) or original (the result's "
        "luminance in the content's colours, after the fact)", choices=COLOURS,
        tasks=("transfer",))
    seed: int = _option(0, "noise seed", "seed of the starting noise", low=0, high=2**31 - 1)
    device: str = _option("auto", "device", "auto (CUDA, then MPS, then CPU), cpu, cuda[:i] "
                          "or mps")
    weights: str = _option("imagenet", "weights", WEIGHTS_HELP)
    weights_format: str = _option(
        "auto", "weights format", "the pixels a weights file was trained on: torchvision (RGB "
        "in 0-1, ImageNet mean and std) or caffe (BGR in 0-255, mean subtracted: the Caffe "
        "VGG-19 converted for neural-style-pt, vgg19-d01eb7cb.pth); auto: known files by "
        "their sha256, others as torchvision", choices=WEIGHTS_FORMATS)
    pooling: str = _option("auto", "pooling", "auto: what the weights work best with (max for "
                           "trained weights, as trained; avg for the untrained network), max, avg "
                           "(smoother, Gatys et al.) or blur (average pooling anti-aliased: "
                           "blurred before it subsamples)", choices=POOLINGS)
    precision: str = _option("auto", "precision", "network precision; auto: bf16 on GPUs "
                             "that have it and on CPUs where it runs faster (measured once), "
                             "else fp32 (fp16 ends at a higher loss)",
                             choices=PRECISIONS)
    memory: str = _option(
        "auto", "memory", "fast keeps every activation for the backward pass; lean recomputes "
        "them (measured on a CPU: 0.63x the memory for 1.39x the time at 1024 px, 0.87x for "
        f"1.44x at 512 px); auto: lean from {LEAN_FROM_SIZE} px", choices=MEMORY_MODES)
    scales: tuple[float, ...] | None = _option(
        None, "scales (coarse to fine)", "fractions of the working size to optimize at in "
        "turn, e.g. 0.25,0.5,1, each from the previous result upsampled; auto: halve while "
        f">= {COARSEST} px (the untrained network from noise: >= "
        f"{COARSEST_UNTRAINED_FROM_NOISE} px); 1: a single scale")
    coarse_steps: int | None = _option(None, "coarse steps", "steps at each scale but the "
                                       "last (default: steps; from the content image a "
                                       "third of them)", low=0, high=MAX_STEPS)

    def __post_init__(self):
        _check_choice("task", self.task, TASKS)
        if self.init is None:
            object.__setattr__(self, "init", "content" if self.task == "transfer" else "noise")
        for name in ("optimizer", "pixel_range", "parametrization", "init", "colour",
                     "style_loss", "pooling", "precision", "memory", "weights_format",
                     "region_mask"):
            _check_choice(name, getattr(self, name), OPTIONS[name].choices)
        self._check_layers()
        if self.task != "transfer" and self.init == "content":
            raise InputError(f"{self.task} starts from noise; init='content' is for transfer")
        if self.init == "style" and not self.needs_style:
            raise InputError(f"{self.task} has no style image to start from; init='style' is "
                             "for transfer and texture")
        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a finite number >= 0, not {value}")
        _check_range("steps", self.steps, 0, MAX_STEPS)
        _check_range("size", self.size, 1, MAX_SIZE, " px")
        if self.coarse_steps is not None:
            _check_range("coarse_steps", self.coarse_steps, 0, MAX_STEPS)
        object.__setattr__(self, "style_scale", _style_scales(self.style_scale))
        if self.style_blend is not None:
            object.__setattr__(self, "style_blend", _proportions(self.style_blend))
        object.__setattr__(self, "regions", _regions(self.regions, self))
        if not (math.isfinite(self.feather) and self.feather >= 0):
            raise InputError(f"feather must be a number of px >= 0, not {self.feather}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, not {self.learning_rate}")
        if self.lbfgs_history < 1:
            raise InputError(f"lbfgs_history must be >= 1, not {self.lbfgs_history}")
        if self.scales is not None:
            object.__setattr__(self, "scales", _checked_scales(self.scales))

    def _check_layers(self) -> None:
        for kind, needed in (("content", self.needs_content), ("style", self.needs_style)):
            name = f"{kind}_layers"
            value = getattr(self, name)
            object.__setattr__(self, name, parse_layers(value) if value else ())
            if needed and not getattr(self, name):
                raise InputError(f"{self.task} needs at least one {kind} layer")

    @classmethod
    def for_task(cls, task: str, **options) -> Config:
        """A config of ``task`` with its default layers (the seed's) unless given."""
        _check_choice("task", task, TASKS)
        return cls(task, **{**TASK_LAYERS[task], **options})

    def steps_at(self, scale_index: int, scales: int) -> int:
        """Steps to run at scale ``scale_index`` of ``scales``: ``steps`` at the last,
        ``coarse_steps`` at the others (None: ``steps``, from the content image
        :data:`COARSE_FRACTION_FROM_CONTENT` of them)."""
        if scale_index == scales - 1:
            return self.steps
        if self.coarse_steps is not None:
            return self.coarse_steps
        if self.init == "content":
            return max(1, round(self.steps * COARSE_FRACTION_FROM_CONTENT))
        return self.steps

    def scale_sizes(self, *shapes: tuple[int, ...],
                    layers: tuple[str, ...] | None = None) -> tuple[int, ...]:
        """Working sizes (longest side) of the scales, coarse to fine, leaving out scales at
        which an image of one of ``shapes`` (only the aspect ratio counts) would be too small
        for the deepest of ``layers`` (default: this config's)."""
        aspect = max((max(shape[:2]) / min(shape[:2]) for shape in shapes), default=1.0)
        # a style used smaller than the working size must stay large enough too
        shrink = min(1.0, *(self.style_factor(index) for index in range(len(self.style_scale))))
        min_size = math.ceil(min_image_side(layers or self.layers) * aspect / shrink)
        scales = self.scales if self.scales is not None else \
            auto_scales(self.size, self.coarsest)
        sizes = [round(self.size * scale) for scale in scales]
        return tuple(dict.fromkeys(size for size in sizes if size >= min_size or
                                   size == self.size))

    def working_size(self, role: str, size: int | None = None, index: int = 0) -> int:
        """The working size (longest side) of the ``role`` image ("content" or "style"; of
        the styles, number ``index``) at a scale of working size ``size`` (default:
        :attr:`size`): a style's is :meth:`style_factor` times it."""
        size = self.size if size is None else size
        return max(1, round(size * self.style_factor(index))) if role == "style" else size

    def style_factor(self, index: int = 0) -> float:
        """Style ``index``'s working size over the working size: its ``style_scale`` for a
        transfer (texture synthesis keeps its styles as they are)."""
        if self.task != "transfer":
            return 1.0
        return self.style_scale[index if len(self.style_scale) > 1 else 0]

    def check_styles(self, count: int) -> None:
        """Refuse blend weights or style scales that are not one per style (of ``count``)."""
        styles = f"{count} style image" + ("s" if count != 1 else "")
        if self.style_blend is not None and len(self.style_blend) != count:
            raise InputError(f"style_blend gives {len(self.style_blend)} weights for {styles}: "
                             "give one weight per style")
        if self.task == "transfer" and len(self.style_scale) not in (1, count):
            raise InputError(f"style_scale gives {len(self.style_scale)} values for {styles}: "
                             "give one for all, or one per style")

    @property
    def coarsest(self) -> int:
        """The coarsest scale ``scales="auto"`` goes down to (:data:`COARSEST`; an untrained
        network from noise: its :attr:`RandomKind.coarsest_from_noise`)."""
        kind = random_kind(self.weights)
        return kind.coarsest_from_noise if kind and self.init == "noise" else COARSEST

    @property
    def stepping_in(self) -> str:
        """The parametrization the optimizer steps in (``parametrization``; auto: the
        untrained network's :attr:`RandomKind.parametrization` where it matches a style from
        noise, else rgb).  A content target pins every pixel's colour, so reconstructions
        and runs from an image have no colour noise to keep out, and they lose a little in
        decorrelated colour (benchmarks/untrained.py: conv_8 56.0 dB against 60.8)."""
        if self.parametrization != "auto":
            return self.parametrization
        kind = random_kind(self.weights)
        from_noise = self.init == "noise" and bool(self.style_layers)
        return kind.parametrization if kind and from_noise else "rgb"

    @property
    def networks(self) -> int:
        """How many VGG-19s the run's weights run side by side (:data:`RANDOM_KINDS`)."""
        kind = random_kind(self.weights)
        return kind.networks if kind else 1

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


#: ``{field name: Option}`` of every Config field a user sets (all but ``task``), in order
OPTIONS: dict[str, Option] = {item.name: item.metadata["option"] for item in fields(Config)
                              if "option" in item.metadata}


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_range(name: str, value: int, low: int, high: int, unit: str = "") -> None:
    if not low <= value <= high:
        raise InputError(f"{name} must be in {low}..{high}{unit}, not {value}")


def _style_scales(value) -> tuple[float, ...]:
    """``style_scale`` as a tuple (one number stands for every style), each > 0."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not values or not all(isinstance(each, (int, float)) and math.isfinite(each) and each > 0
                             for each in values):
        raise InputError(f"style_scale must be a number > 0 (or one per style), not {value}")
    return tuple(float(each) for each in values)


def _proportions(weights) -> tuple[float, ...]:
    """``style_blend`` normalised to sum 1; each weight >= 0, not all 0."""
    values = tuple(weights) if isinstance(weights, (tuple, list)) else (weights,)
    if not values or not all(isinstance(each, (int, float)) and math.isfinite(each) and each >= 0
                             for each in values):
        raise InputError(f"style_blend weights must be numbers >= 0, not {weights}")
    total = sum(values)
    if total <= 0:
        raise InputError("style_blend weights are all 0: give at least one style a weight > 0")
    return tuple(float(each) / total for each in values)


def _regions(regions, config: Config) -> tuple[tuple[int, int | None, float], ...]:
    """``regions`` as a tuple of ``(label, style or None, weight)``, checked."""
    checked = []
    for entry in regions or ():
        try:
            label, style, weight = entry
            label, weight = _whole(label), float(weight)
            style = None if style is None else _whole(style)
        except (TypeError, ValueError):
            raise InputError(f"a region is (label, style number or None, weight), not "
                             f"{entry!r}") from None
        if label < 0 or (style is not None and style < 0) or not (math.isfinite(weight)
                                                                    and weight >= 0):
            raise InputError(f"region {entry!r}: label and style must be >= 0 and the weight a "
                             "number >= 0")
        checked.append((label, style, weight))
    labels = [label for label, _, _ in checked]
    if len(set(labels)) < len(labels):
        raise InputError("each label may have one region only; "
                         f"{sorted({label for label in labels if labels.count(label) > 1})} "
                         "appear more than once")
    if checked and config.task != "transfer":
        raise InputError("regions are for transfer: they map labels over a content image")
    if checked and config.style_blend is not None:
        raise InputError("regions give each label its own style: leave style_blend out")
    if checked and all(style is None for _, style, _ in checked):
        raise InputError("no region has a style: give at least one label a style image")
    return tuple(checked)


def _whole(value) -> int:
    """``value`` as an int, if it is a whole number."""
    if isinstance(value, bool) or float(value) != int(value):
        raise ValueError(value)
    return int(value)


def _checked_scales(scales) -> tuple[float, ...]:
    values = tuple(float(scale) for scale in scales)
    if not values or values[-1] != 1.0 or any(not 0 < scale <= 1 for scale in values) \
            or list(values) != sorted(set(values)):
        raise InputError(f"scales must rise to 1.0, e.g. (0.25, 0.5, 1.0); got {scales}")
    return values


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


def parse_numbers(text: str, name: str) -> tuple[float, ...] | None:
    """``"3, 7"`` -> ``(3.0, 7.0)``; empty, ``"equal"`` or ``"default"`` -> None."""
    text = text.strip().lower()
    if text in ("", "equal", "default"):
        return None
    try:
        return tuple(float(part) for part in text.replace(";", ",").split(","))
    except ValueError:
        raise InputError(f"bad {name} {text!r}: write numbers such as 1 or 3,7") from None


def format_numbers(values: tuple[float, ...] | None) -> str:
    """The text :func:`parse_numbers` reads back into ``values``."""
    return "equal" if values is None else ", ".join(map(_short, values))


def _short(value: float) -> str:
    """``value`` in as few digits as read back to the same float (``0.3``, ``2``)."""
    text = f"{value:g}"
    return text if float(text) == value else repr(value)


def format_scales(scales: tuple[float, ...] | None) -> str:
    """The text :func:`parse_scales` reads back into ``scales``."""
    return "auto" if scales is None else ", ".join(f"{scale:g}" for scale in scales)


def auto_scales(size: int, coarsest: int = COARSEST) -> tuple[float, ...]:
    """Coarse-to-fine scales for a working size: halve while the image stays >= ``coarsest``.

    With 256 px, 512 px runs at 256 then 512; 2048 at 256, 512, 1024, 2048; 256 px and below
    at one scale.
    """
    scales = [1.0]
    while size * scales[0] / 2 >= coarsest:
        scales.insert(0, scales[0] / 2)
    return tuple(scales)


def upsampling(height: int, width: int, size: int) -> float:
    """How many times an image of ``height`` x ``width`` px is enlarged to working ``size``
    (1 or less: not enlarged).  Details finer than the source's pixels are invented, so the
    interfaces say so when this is well above 1."""
    return size / max(height, width)


def working_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(H, W) with the longest side equal to ``size`` and the aspect ratio kept."""
    if not 1 <= size <= MAX_SIZE:
        raise InputError(f"working size {size} is out of range; choose 1..{MAX_SIZE} px")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


#: Config fields written as text (numbers separated by commas), as the command line and the
#: widgets read and show them: ``{name: (parse, format)}``
TEXT_FIELDS = {
    "scales": (parse_scales, format_scales),
    "style_blend": (partial(parse_numbers, name="style blend"), format_numbers),
    "style_scale": (partial(parse_numbers, name="style scale"), format_numbers),
}


#: how the frames of a movie hold together (core/frames.py)
TEMPORAL_MODES = ("flow", "none")


@dataclass(frozen=True)
class FrameSettings:
    """How the frames of a movie hold together (above one run's :class:`Config`)."""

    temporal: str = "flow"
    #: weight of the temporal loss (a mean squared pixel error) beside the content and style
    #: terms; measured with benchmarks/frames.py
    temporal_weight: float = 50.0
    #: steps of each frame after the first (default: the config's steps)
    frame_steps: int | None = None

    def __post_init__(self):
        if self.temporal not in TEMPORAL_MODES:
            raise InputError(f"temporal must be one of {', '.join(TEMPORAL_MODES)}, not "
                             f"{self.temporal!r}")
        if not (math.isfinite(self.temporal_weight) and self.temporal_weight >= 0):
            raise InputError(f"temporal_weight must be a number >= 0, not "
                             f"{self.temporal_weight}")
        if self.frame_steps is not None and self.frame_steps < 1:
            raise InputError(f"frame_steps must be >= 1, not {self.frame_steps}")


#: what ``--dask``, ``client=`` and the widgets' cluster field take
CLUSTER_HELP = ("local (a cluster of this machine's cores), local:N (N worker processes) or a "
                "running scheduler's address, such as tcp://host:8786")


def cluster_backend():
    """``core.cluster``, imported now; a :class:`ClusterError` that says how to install
    dask.distributed if it is missing."""
    try:
        from . import cluster
    except ImportError as error:
        if (error.name or "").partition(".")[0] not in ("distributed", "dask"):
            raise
        raise ClusterError("running on a dask cluster needs dask.distributed: pip install "
                           "'napari-neural-style[cluster]'") from None
    return cluster
