"""Run configuration: every choice that determines a run, validated on creation.

Pure Python (no torch), so the napari widget can build and check a configuration on the main
thread, and read the defaults, without importing torch.  Each field carries its own
:class:`Option` (label, help, range, where it is shown, whether a batch shares it): the
command line and the widgets build their inputs from these, so a default, a range or a help
text is written once, here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from .errors import InputError
from .geometry import COARSEST, MAX_SIZE, auto_scales
from .presets import PRESETS, preset_values
from .stopping import WINDOW
from .validation import (
    check_choice,
    check_range,
    checked_proportions,
    checked_regions,
    checked_scales,
    checked_style_scales,
)
from .vgg_layers import min_image_side, parse_layers
from .weight_kinds import COARSEST_UNTRAINED_FROM_NOISE, WEIGHTS_HELP, random_kind

TASKS = ("reconstruct", "texture", "transfer")
#: the input images each task reads
TASK_INPUTS = {"reconstruct": ("content",), "texture": ("style",),
               "transfer": ("content", "style")}
#: the VGG layers each task uses unless told otherwise (Gatys et al.'s choice for a transfer)
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
MEMORY_MODES = ("auto", "fast", "lean", "reuse")
#: where a run starts; "image": any image given beside the inputs (init_image, --init PATH)
INITS = ("content", "noise", "style", "image")
#: the style statistic matched (core/losses.py: STYLE_TARGETS)
STYLE_LOSSES = ("gram", "meancov")
STYLE_SIZES = ("working", "own")  # from the working size, or pixels as the content's
#: how a region's mask reaches a layer's grid (core/regions.py)
REGION_MASKS = ("simple", "inside")
#: whose colours a transfer takes (core/colour.py)
COLOURS = ("style", "luminance", "match", "original")
#: size from which ``memory="auto"`` recomputes where the memory available is unknown
LEAN_FROM_SIZE = 2048
MAX_STEPS = 100_000
#: the smallest tile: the network's coarsest stride
MIN_TILE = 16
#: the smallest memory limit: below it not even the smallest tile's maps fit
MIN_MEMORY_LIMIT = 256
#: Shortest side of an input image: below it there is no shape or texture to take features of
MIN_SOURCE_SIDE = 4
#: a run from the content image takes this fraction of ``steps`` at each coarse scale unless
#: ``coarse_steps`` says otherwise: coarse scales move only the content's low frequencies
COARSE_FRACTION_FROM_CONTENT = 1 / 3
#: where a widget shows a field: "run" (the task widgets' settings), "engine" (every widget
#: that runs the network); None: not as a plain field (pickers, tables, or not at all)
WIDGET_GROUPS = ("run", "engine")


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
    #: the widgets' group that shows it as a plain field (:data:`WIDGET_GROUPS`), or None
    widget: str | None = "run"
    #: whether runs optimized together in one batch must agree on it (one network, one
    #: image size, one schedule); the others may differ from run to run
    shared: bool = True


def option(default, label: str, help: str, **settings) -> field:
    """A dataclass field with its :class:`Option`."""
    return field(default=default, metadata={"option": Option(label, help, **settings)})


@dataclass(frozen=True)
class Config:
    """Everything that determines a run (given the input images).  Validated on creation.

    Layers must be given (:meth:`for_task` fills in the task's defaults); ``init=None`` starts
    a transfer from the content image and the other tasks from noise.
    """

    task: str
    content_layers: tuple[str, ...] = option(
        (), "content layers", "VGG-19 layers whose features are matched, e.g. conv_9 or conv4_1",
        tasks=("reconstruct", "transfer"), shared=False)
    style_layers: tuple[str, ...] = option(
        (), "style layers", "VGG-19 layers whose Gram matrices are matched, e.g. "
        "conv_2,conv_4,conv_8,conv_16 or conv_5-8 or all", tasks=("texture", "transfer"),
        shared=False)
    content_weight: float = option(1.0, "content weight", "weight of the content loss",
                                   low=0, high=1e6, tasks=("transfer",), shared=False)
    style_weight: float = option(0.5, "style weight", "weight of the style loss",
                                 low=0, high=1e6, tasks=("transfer",), shared=False)
    tv_weight: float = option(0.0, "TV weight", "weight of the total variation (smoothness) "
                              "loss", low=0, high=1e6, shared=False)
    style_loss: str = option(
        "gram", "style loss", "gram (Gram matrices, as Gatys et al.) or meancov (the "
        "2-Wasserstein distance between Gaussian fits of the features: means and covariances "
        "apart, more faithful to colour and texture, a little slower a step)",
        choices=STYLE_LOSSES, tasks=("texture", "transfer"))
    style_scale: tuple[float, ...] = option(
        (1.0,), "style scale", "the style image is used at this many times the working size, "
        "at every scale (brush strokes: 2 doubles their size, 0.5 halves it); one number for "
        "every style, or one per style (1,0.5); a style smaller than that is upsampled, as "
        "the content is", low=0.05, high=16, tasks=("transfer",))
    style_size: str = option(
        "working", "style size", "working: the style is resized to style scale times the "
        "working size; own: its pixels keep their size beside the content's (resized only as "
        "the content is, so not at all at the content's own size), times style scale: for "
        "styles and contents of one magnification", choices=STYLE_SIZES, tasks=("transfer",))
    region_mask: str = option(
        "simple", "region masks", "how a region's mask reaches each layer: simple (averaged "
        "down at each pooling) or inside (only positions whose receptive field lies inside "
        "the region)", choices=REGION_MASKS, tasks=("transfer",))
    feather: float = option(0.0, "feather (px)", "soft region edges: a Gaussian blur of "
                            "the masks, sigma in working pixels", low=0, high=256,
                            tasks=("transfer",))
    init: str | None = option(None, "start from", "start from the content image, noise, the "
                              "style image or another image (resized to the working shape); "
                              "default: the content for a transfer, else noise",
                              choices=INITS, shared=False)
    colour: str = option(
        "style", "result colours", "whose colours the result takes: style (no control), "
        "luminance (transfer on luminance, then the content's colours), match (the style's "
        "colours first mapped to the content's mean and covariance) or original (the result's "
        "luminance in the content's colours, after the fact)", choices=COLOURS,
        tasks=("transfer",))
    steps: int = option(
        PRESETS["good"].steps, "steps", "optimization steps at the working size, at most "
        "(coarse scales: coarse steps); a scale ends earlier once its loss stops falling "
        "(tolerance)", low=1, high=MAX_STEPS)
    tolerance: float = option(
        PRESETS["good"].tolerance, "stop at loss fall", "each scale ends once its loss fell "
        f"by less than this fraction over the last {WINDOW} steps, the picture then changing "
        "little (the record's stopped_by says converged); 0: every step", low=0, high=0.5)
    seed: int = option(0, "noise seed", "seed of the starting noise", low=0, high=2**31 - 1,
                       shared=False)
    optimizer: str = option("lbfgs", "optimizer", "L-BFGS or Adam", choices=OPTIMIZERS,
                            shared=False)
    learning_rate: float | None = option(
        None, "learning rate", "step size (default: " + ", ".join(
            f"{rate:g} for {name}" for name, rate in DEFAULT_LEARNING_RATES.items()) + ")",
        shared=False)
    lbfgs_history: int = option(
        20, "L-BFGS history", "L-BFGS memory (past steps kept); a scale run tile by tile keeps "
        "fewer where they would not fit in the memory limit (at least 3), and records how "
        "many", low=1, high=1000)
    pixel_range: str = option(
        "bounded", "pixel range", "bounded: every step keeps the pixels in [0, 1], the range "
        "an image shows, so the result is the image optimized; free: unbounded (the result "
        "is then clipped to [0, 1], and a transfer with a dark style loses most of it there)",
        choices=PIXEL_RANGES)
    parametrization: str = option(
        "auto", "parametrization", "what the optimizer steps in: rgb (the pixels) or "
        "decorrelated (colour along natural images' principal colour axes, chroma in smaller "
        "steps: deep layers' textures without pixel-scale colour noise); auto: decorrelated "
        "for textures and transfers from noise on the untrained networks random and "
        "random-single, rgb otherwise", choices=PARAMETRIZATIONS, shared=False)
    precision: str = option("auto", "precision", "network precision; auto: bf16 on GPUs "
                            "that have it and on CPUs where it runs faster (measured once "
                            "per CPU), else fp32 (fp16 ends at a higher loss)",
                            choices=PRECISIONS)
    memory: str = option(
        "auto", "memory", "fast keeps every activation for the backward pass; lean recomputes "
        "them (less memory, more time a step); reuse: as fast, and each step's freed memory "
        "kept for the next instead of mapped afresh (less time, more memory; Linux, on the "
        "command line and Python's main thread); auto: lean where they would pass the memory "
        f"limit (from {LEAN_FROM_SIZE} px where the memory is unknown)", choices=MEMORY_MODES)
    scales: tuple[float, ...] | None = option(
        None, "scales (coarse to fine)", "fractions of the working size to optimize at in "
        "turn, e.g. 0.25,0.5,1, each from the previous result upsampled; auto: halve while "
        f">= {COARSEST} px (the untrained network from noise: >= "
        f"{COARSEST_UNTRAINED_FROM_NOISE} px); 1: a single scale")
    coarse_steps: int | None = option(None, "coarse steps", "steps at each scale but the "
                                      "last (default: steps; from the content image a "
                                      "third of them)", low=0, high=MAX_STEPS)
    size: int = option(PRESETS["good"].size, "working size (px)",
                       "working size: the longest side in px", low=16, high=MAX_SIZE,
                       widget="engine")
    tile: int | None = option(
        None, "tile (px)", "run each step tile by tile on tiles of this side (rounded up to "
        "the network's stride), for images larger than memory allows: the same result, "
        "exactly, holding one tile's feature maps at a time; 0: the whole image at once; "
        "default: tiles where the whole image's feature maps would not fit in the memory "
        "limit", low=0, high=MAX_SIZE)
    memory_limit: int | None = option(
        None, "memory limit (MB)", "the memory a run is planned to fit in above the engine's "
        "import: where the whole image would not fit in it, steps run tile by tile on tiles "
        "and with an L-BFGS history that do, as the estimate counts them (it can count a "
        "sixth low: leave a margin); default: half the memory available",
        low=MIN_MEMORY_LIMIT, high=10**8)
    pooling: str = option("auto", "pooling", "auto: what the weights work best with (max for "
                          "trained weights, as trained; avg for the untrained network), max, "
                          "avg (smoother, Gatys et al.) or blur (average pooling "
                          "anti-aliased: blurred before it subsamples)", choices=POOLINGS,
                          widget="engine")
    device: str = option("auto", "device", "auto (CUDA, then MPS, then CPU), cpu, cuda[:i] "
                         "or mps", widget="engine")
    style_blend: tuple[float, ...] | None = option(
        None, "style blend", "weights of the style images, one each, normalised to sum 1, "
        "e.g. 3,7 (default: equal): the style statistics are blended in these proportions",
        low=0, tasks=("texture", "transfer"), widget=None)
    regions: tuple[tuple[int, int | None, float], ...] = option(
        (), "regions", "a style per region of a label image over the content: (label, style "
        "number from 0 or None for content only, weight) each; labels not given (0 too) are "
        "content only", tasks=("transfer",), widget=None)
    weights: str = option("imagenet", "weights", WEIGHTS_HELP, widget=None)
    weights_format: str = option(
        "auto", "weights format", "the pixels a weights file was trained on: torchvision (RGB "
        "in 0-1, ImageNet mean and std) or caffe (BGR in 0-255, mean subtracted: the Caffe "
        "VGG-19 converted for neural-style-pt, vgg19-d01eb7cb.pth); auto: known files by "
        "their sha256, others as torchvision", choices=WEIGHTS_FORMATS, widget=None)

    def __post_init__(self):
        check_choice("task", self.task, TASKS)
        if self.init is None:
            object.__setattr__(self, "init", "content" if self.task == "transfer" else "noise")
        for name in ("optimizer", "pixel_range", "parametrization", "init", "colour",
                     "style_loss", "pooling", "precision", "memory", "weights_format",
                     "region_mask", "style_size"):
            check_choice(name, getattr(self, name), OPTIONS[name].choices)
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
        check_range("steps", self.steps, 0, MAX_STEPS)
        check_range("tolerance", self.tolerance, 0, 0.5)
        check_range("size", self.size, 1, MAX_SIZE, " px")
        if self.coarse_steps is not None:
            check_range("coarse_steps", self.coarse_steps, 0, MAX_STEPS)
        if self.tile is not None and self.tile != 0:
            check_range("tile", self.tile, MIN_TILE, MAX_SIZE, " px (0: no tiles)")
        if self.memory_limit is not None:
            check_range("memory_limit", self.memory_limit, MIN_MEMORY_LIMIT, 10**8, " MB")
        object.__setattr__(self, "style_scale", checked_style_scales(self.style_scale))
        if self.style_blend is not None:
            object.__setattr__(self, "style_blend", checked_proportions(self.style_blend))
        object.__setattr__(self, "regions", checked_regions(self.regions, self))
        if not (math.isfinite(self.feather) and self.feather >= 0):
            raise InputError(f"feather must be a number of px >= 0, not {self.feather}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise InputError(f"learning_rate must be > 0, not {self.learning_rate}")
        if self.lbfgs_history < 1:
            raise InputError(f"lbfgs_history must be >= 1, not {self.lbfgs_history}")
        if self.scales is not None:
            object.__setattr__(self, "scales", checked_scales(self.scales))

    def _check_layers(self) -> None:
        for kind, needed in (("content", self.needs_content), ("style", self.needs_style)):
            name = f"{kind}_layers"
            value = getattr(self, name)
            object.__setattr__(self, name, parse_layers(value) if value else ())
            if needed and not getattr(self, name):
                raise InputError(f"{self.task} needs at least one {kind} layer")

    @classmethod
    def for_task(cls, task: str, preset: str | None = None, **options) -> Config:
        """A config of ``task`` with its default layers and ``preset``'s values
        (:mod:`.presets`) unless given."""
        check_choice("task", task, TASKS)
        return cls(task, **{**TASK_LAYERS[task], **preset_values(preset), **options})

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
    def resolved_parametrization(self) -> str:
        """The parametrization the optimizer steps in (``parametrization``; auto: the
        untrained network's :attr:`RandomKind.parametrization` where it matches a style from
        noise, else rgb).  A content target pins every pixel's colour, so reconstructions
        and runs from an image have no colour noise to keep out, and they lose a little in
        decorrelated colour (docs/performance.md)."""
        if self.parametrization != "auto":
            return self.parametrization
        kind = random_kind(self.weights)
        from_noise = self.init == "noise" and bool(self.style_layers)
        return kind.parametrization if kind and from_noise else "rgb"

    @property
    def networks(self) -> int:
        """How many VGG-19s the run's weights run side by side
        (:data:`~.weight_kinds.RANDOM_KINDS`)."""
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
