"""Time and peak memory of a run, known before it starts.  Pure Python (no torch): the widgets
evaluate it on napari's main thread; ``core/probe.py`` calibrates it.

The model: a step at a scale costs ``k F^p`` seconds, ``F`` the multiply-adds of the
truncated VGG's convolutions at that scale's shape (``p`` near 1; above it where large maps
outgrow the caches), plus what a run does besides steps: the setup, each coarse scale's
targets (about a step), and the first step's and the final quality pass's work at full size
(``extra`` steps' worth).  The run's memory above what the process held before it is
``m0 + m1 A`` MB, ``A`` the elements of the feature maps the backward pass keeps (every conv
output up to the deepest layer; with ``memory="lean"`` only each block's input and the
largest block's maps).  The constants come from a probe of two real runs at two sizes on
this machine (:class:`Calibration`), kept (``core/machine.py``) per machine, torch version,
device and precision setting.  Lean memory recomputes each block in the backward pass:
:data:`LEAN_TIME` times a fast step's time (docs/performance.md, "Memory modes").
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace

from . import machine
from .config import Config
from .errors import InputError, setting
from .geometry import working_shape
from .machine import bf16_ratio_key, cpu_model, package_version, recalled, remember
from .tile_grid import Tiling
from .vgg_layers import BLOCK_CHANNELS, CONV_LAYERS, deepest, layer

#: a lean step's time / a fast step's
LEAN_TIME = 1.4
#: sizes (longest side) the probe runs at, and its steps at each
PROBE_SIZES = (256, 512)
PROBE_STEPS = 6


def network_cost(layer_name: str, height: int, width: int, lean: bool = False,
                 networks: int = 1, sides: dict | None = None) -> tuple[float, float]:
    """``(F, A)``: multiply-adds (forward, in G) of the convolutions up to ``layer_name`` on an
    ``height x width`` image, and the elements (in M) of the feature maps the backward pass
    keeps, for ``networks`` VGG-19s side by side (an untrained ensemble: each costs as
    much).  ``sides``: a tile's maps as they are made, by ``features`` index
    (:meth:`~.tile_grid.Tiling.map_sides`), where each is cut to what the next layers read."""
    last = deepest([layer_name]).index
    work, kept, blocks = 0.0, 0.0, {}
    channels_in = 3
    for conv in CONV_LAYERS:
        if conv.index > last:
            break
        channels = BLOCK_CHANNELS[conv.pools_before]
        rows, cols = (sides or {}).get(conv.index, (height >> conv.pools_before,
                                                    width >> conv.pools_before))
        pixels = rows * cols
        work += 9 * channels_in * channels * pixels
        kept += channels * pixels
        blocks.setdefault(conv.pools_before, [channels_in * pixels, 0])[1] += channels * pixels
        channels_in = channels
    if lean:  # each block's input, and the largest block's maps while it is recomputed
        kept = sum(first for first, _ in blocks.values()) + max(
            maps for _, maps in blocks.values())
    return networks * work / 1e9, networks * kept / 1e6


@dataclass(frozen=True)
class Calibration:
    """What the probe measured, as the model's constants (see the module's docstring)."""

    step_seconds: tuple[float, float]  # k, p: seconds = k * GMAC ** p
    memory_mb: tuple[float, float]  # m0, m1: MB = m0 + m1 * M elements kept
    setup_seconds: float  # weights and network
    extra_steps: float  # a run's work besides its steps, in steps at full size
    #: the larger probe's GMAC: beyond it a step's time grows in proportion to its work
    largest_work: float = math.inf

    def step(self, work: float, lean: bool) -> float:
        """``k F^p`` up to the larger probe's work; in proportion beyond it, where the maps
        have long outgrown the caches and each multiply-add costs the same."""
        k, p = self.step_seconds
        known = min(work, self.largest_work)
        return k * known ** p * (work / known) * (LEAN_TIME if lean else 1.0)

    def memory(self, kept: float) -> float:
        m0, m1 = self.memory_mb
        return m0 + m1 * kept

    @classmethod
    def fit(cls, probes: list[dict]) -> Calibration:
        """The curves through two probes' ``{"work", "kept", "step", "peak_mb", "setup",
        "extra_steps", "optimizer_mb"}``."""
        small, large = sorted(probes, key=lambda probe: probe["work"])
        power = math.log(large["step"] / small["step"]) / math.log(large["work"] /
                                                                     small["work"])
        # the optimizer's state is counted apart (it grows with the steps, not the network)
        small_mb, large_mb = (probe["peak_mb"] - probe["optimizer_mb"] for probe in (small, large))
        m1 = max((large_mb - small_mb) / (large["kept"] - small["kept"]), 0.0)
        return cls((large["step"] / large["work"] ** power, power),
                   (max(large_mb - m1 * large["kept"], 0.0), m1),
                   min(probe["setup"] for probe in probes),
                   sum(probe["extra_steps"] for probe in probes) / len(probes), large["work"])


@dataclass(frozen=True)
class Estimate:
    """Seconds and peak MB (above importing the engine) a run is expected to take."""

    seconds: float
    peak_mb: float
    warning: str = ""
    #: whether the run may end earlier, its picture done (``Config.tolerance``)
    at_most: bool = False

    def describe(self) -> str:
        most = " at most" if self.at_most else ""
        line = f"estimate: ~{_duration(self.seconds)}{most}, peak memory ~{self.peak_mb:.0f} MB"
        return f"{line}; {self.warning}" if self.warning else line


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def estimate(config: Config, calibration: Calibration, *shapes: tuple[int, ...]) -> Estimate:
    """The time and peak memory of ``config`` on images of ``shapes`` (the content's first,
    as the run sees them), with a warning and what would fit when the memory is short."""
    found = _estimate(config, calibration, shapes)
    limited = config.memory_limit is not None
    room = float(config.memory_limit) if limited else machine.available_memory_mb()
    if room is None or found.peak_mb <= room or not _on_cpu(config):
        return found
    advice = _what_fits(config, calibration, shapes, room)
    over = f"the {room:.0f} MB limit" if limited else f"the {room:.0f} MB free"
    return replace(found, warning=f"more than {over}: try {advice}")


def _estimate(config: Config, calibration: Calibration, shapes) -> Estimate:
    sizes = config.scale_sizes(*shapes)
    seconds, peak = calibration.setup_seconds, 0.0
    for index, size in enumerate(sizes):
        height, width = working_shape(*shapes[0][:2], size)
        lean = recomputes(config, height, width)
        step, memory = _step_cost(config, calibration, height, width, lean)
        steps, last = config.steps_at(index, len(sizes)), index == len(sizes) - 1
        # a coarse scale: its targets; the last: the probe's measured extra work (targets,
        # final losses, quality pass: forward passes), over a tiled step's two passes
        extra = 1.0 if not last else calibration.extra_steps / (
            1 + TILED_FORWARD if runs_tiled(config, height, width) else 1)
        seconds += (steps + extra) * step
        peak = max(peak, memory + optimizer_mb(config, steps, height, width))
    return Estimate(seconds, peak, at_most=config.tolerance > 0)


#: a tiled step's first pass (forward only) over its second (forward and backward), on
#: tiles of the same input (measured: docs/performance.md, "Tiles")
TILED_FORWARD = 0.5
#: float32 copies of the image a tiled step keeps beside its tile and the optimizer's state:
#: the optimizer's variable, its gradient, the image evaluated, the last step's, and a style
#: at the working size (the quality pass measures the result against it)
TILED_IMAGES = 5


#: ``memory="reuse"``: a step's time and its maps' memory over ``fast``'s (docs/performance.md)
REUSE_TIME, REUSE_MAPS = 0.85, 1.8


def _on_cpu(config: Config) -> bool:
    """Whether the run is planned on the CPU, in the machine's memory (``auto`` counts)."""
    return config.device in ("auto", "cpu")


def _reuse(config: Config) -> tuple[float, float]:
    """A step's time and maps' memory over ``fast``'s: :data:`REUSE_TIME` and
    :data:`REUSE_MAPS` where ``memory="reuse"`` runs on the CPU, else both 1."""
    reuses = config.memory == "reuse" and _on_cpu(config)
    return (REUSE_TIME, REUSE_MAPS) if reuses else (1.0, 1.0)


def _step_cost(config: Config, calibration: Calibration, height: int, width: int,
               lean: bool) -> tuple[float, float]:
    """Seconds and MB of one step at ``height`` x ``width``: of the whole image, or tile by
    tile (each tile's network in both passes; one tile's maps and the image-sized state)."""
    deepest_layer = deepest(config.layers).name
    time, maps = _reuse(config)
    if not runs_tiled(config, height, width):
        work, kept = network_cost(deepest_layer, height, width, lean, config.networks)
        return time * calibration.step(work, lean), calibration.memory(maps * kept)
    tiling = tiling_for(config, height, width)
    seconds, kept = 0.0, 0.0
    for tiles, share in ((tiling.tiles(height, width), 1.0),
                         (tiling.forward_only().tiles(height, width), TILED_FORWARD)):
        for tile in tiles:
            work, tile_maps = network_cost(deepest_layer, *_input_shape(tile), lean,
                                           config.networks, tiling.map_sides(tile, height, width))
            seconds += share * calibration.step(work, lean)
            kept = max(kept, tile_maps) if share == 1.0 else kept
    return time * seconds, calibration.memory(maps * kept) + state_mb(config, height, width)


def _tiling(config: Config, side: int, forward: int = 0) -> Tiling:
    return Tiling.for_layers(side, config.layers, "blur" if config.pooling == "blur" else "max",
                             forward)


def tiling_for(config: Config, height: int, width: int) -> Tiling:
    """The tiles of a tiled scale of ``height`` x ``width``: :func:`tile_for`'s, and twice as
    wide without gradients where those maps fit in what a tile's take."""
    side = tile_for(config, height, width)
    wider = 2 * side
    fits = forward_mb(config, *_widest_input(config, wider, height, width)) <= maps_mb(
        config, *_widest_input(config, side, height, width), recomputes(config, height, width))
    return _tiling(config, side, wider if fits else side)


def _input_shape(tile) -> tuple[int, int]:
    return tile.input_rows.stop - tile.input_rows.start, \
        tile.input_cols.stop - tile.input_cols.start


def _widest_input(config: Config, side: int, height: int, width: int) -> tuple[int, int]:
    """The largest input a tile of ``side`` px reads (its interior and halo)."""
    return max(map(_input_shape, _tiling(config, side).tiles(height, width)))


def image_mb(height: int, width: int) -> float:
    """One float32 copy of a ``height`` x ``width`` RGB image."""
    return 3 * height * width * 4 / 2**20


def state_mb(config: Config, height: int, width: int) -> float:
    """What a tiled scale keeps of the image's size besides the optimizer's state:
    :data:`TILED_IMAGES` copies of the image and the content's target maps."""
    targets = sum(BLOCK_CHANNELS[layer(name).pools_before] * (height >> layer(name).pools_before)
                  * (width >> layer(name).pools_before) for name in config.content_layers)
    return TILED_IMAGES * image_mb(height, width) + config.networks * targets * 4 / 2**20


def maps_mb(config: Config, height: int, width: int, lean: bool) -> float:
    """The float32 feature maps a step keeps on a ``height`` x ``width`` input, and their
    gradients (with ``memory="reuse"``, what glibc's heap holds for them)."""
    _, kept = network_cost(deepest(config.layers).name, height, width, lean, config.networks)
    return 2 * kept * 1e6 * 4 / 2**20 * _reuse(config)[1]


def forward_mb(config: Config, height: int, width: int) -> float:
    """The float32 maps a pass without gradients holds on a ``height`` x ``width`` input: at
    the full-size block, the tapped map and two it works on (as :func:`maps_mb`, in glibc's
    heap with ``memory="reuse"``)."""
    return 3 * config.networks * BLOCK_CHANNELS[0] * height * width * 4 / 2**20 * _reuse(
        config)[1]


#: tile sides the default tiling tries, largest first: fewer tiles read less halo (a step
#: costs the same per pixel read at each of these sides untiled)
AUTO_TILES = (2048, 1536, 1024, 768, 512, 384, 256)
#: the side taken where none fits (the estimate then says the budget is short): its halo
#: costs little and its maps fit most machines
FALLBACK_TILE = 1024
#: the share of the memory available a run may take where no ``memory_limit`` is given
AUTO_SHARE = 0.5
#: the fewest past steps L-BFGS keeps at a tiled scale, whatever they cost
MIN_HISTORY = 3


def memory_budget_mb(config: Config) -> float | None:
    """What a run may take: ``memory_limit``, else :data:`AUTO_SHARE` of the memory
    available (None: unknown)."""
    if config.memory_limit is not None:
        return float(config.memory_limit)
    free = machine.available_memory_mb()
    return None if free is None else AUTO_SHARE * free


def tile_for(config: Config, height: int, width: int) -> int:
    """The tile side a scale of ``height`` x ``width`` runs with (0: untiled): ``tile`` as
    given; by default none where the whole image's maps fit in :func:`memory_budget_mb`,
    else the largest of :data:`AUTO_TILES` whose maps fit beside the image-sized state and
    the optimizer's (L-BFGS with :data:`MIN_HISTORY` pairs); :data:`FALLBACK_TILE` if none
    does."""
    if config.tile is not None:
        return config.tile
    budget, lean = memory_budget_mb(config), config.memory == "lean"
    if budget is None or maps_mb(config, height, width, config.memory in ("auto", "lean")) \
            <= budget:
        return 0
    room = budget - state_mb(config, height, width) - _optimizer_images(
        config, MIN_HISTORY) * image_mb(height, width)
    fitting = [side for side in AUTO_TILES
               if maps_mb(config, *_widest_input(config, side, height, width), lean) <= room]
    return fitting[0] if fitting else FALLBACK_TILE


def recomputes(config: Config, height: int, width: int) -> bool:
    """Whether a scale of ``height`` x ``width`` recomputes activations: ``memory="lean"``;
    ``"auto"`` where the scale runs untiled and its maps kept whole would pass
    :func:`memory_budget_mb` (by size, :meth:`~.config.Config.recomputes_at`, where the
    memory available is unknown).  A tiled scale's memory is bounded by its tiles' side
    instead, since smaller tiles cost less time than recomputing."""
    if config.memory != "auto":
        return config.memory == "lean"
    budget = memory_budget_mb(config)
    if budget is None:
        return config.recomputes_at(max(height, width))
    return not runs_tiled(config, height, width) and maps_mb(
        config, height, width, False) > budget


def runs_tiled(config: Config, height: int, width: int) -> bool:
    """Whether a scale of ``height`` x ``width`` runs tile by tile (more than one tile)."""
    tile = tile_for(config, height, width)
    return bool(tile) and max(height, width) > tile


def lbfgs_pairs(config: Config, height: int, width: int) -> int:
    """The past steps L-BFGS keeps at a scale of ``height`` x ``width``: ``lbfgs_history``;
    at a tiled scale as many as fit in :func:`memory_budget_mb` beside a tile's maps and
    the image-sized state (each a pair of float32 images), at least :data:`MIN_HISTORY`."""
    budget = memory_budget_mb(config)
    if budget is None or not runs_tiled(config, height, width):
        return config.lbfgs_history
    widest = _widest_input(config, tile_for(config, height, width), height, width)
    room = budget - state_mb(config, height, width) - maps_mb(
        config, *widest, recomputes(config, height, width)) - _optimizer_images(
        config, 0) * image_mb(height, width)
    return min(config.lbfgs_history,
               max(MIN_HISTORY, int(room // (2 * image_mb(height, width)))))


def optimizer_mb(config: Config, steps: int, height: int, width: int) -> float:
    """The optimizer's image-sized state after ``steps`` steps, in float32 (L-BFGS with up to
    :func:`lbfgs_pairs` pairs)."""
    pairs = min(lbfgs_pairs(config, height, width), steps)
    return _optimizer_images(config, pairs) * image_mb(height, width)


def check_fits(config: Config, height: int, width: int) -> None:
    """Refuse a ``height`` x ``width`` working shape whose image-sized state alone (the
    images a tiled step keeps, the content's target maps, the least optimizer's history)
    passes the memory available: no tile is small enough for it."""
    available = machine.available_memory_mb()
    if available is None or not _on_cpu(config):
        return
    needed = state_mb(config, height, width) + \
        _optimizer_images(config, MIN_HISTORY) * image_mb(height, width)
    if needed > available:
        instead = f" or {setting('optimizer', 'adam')}" if config.optimizer == "lbfgs" else ""
        raise InputError(
            f"a {width} x {height} px run keeps {needed / 1024:.1f} GB the size of the image "
            f"(copies of it, the optimizer's history, the content's target maps), and "
            f"{available / 1024:.1f} GB are available: choose a smaller size{instead}")


def _optimizer_images(config: Config, pairs: int) -> int:
    """The optimizer's copies of the image: L-BFGS's last gradient and direction and a pair a
    past step it keeps; Adam's two moments."""
    return 2 + 2 * pairs if config.optimizer == "lbfgs" else 2


def _what_fits(config: Config, calibration: Calibration, shapes, free: float) -> str:
    """Lean memory, if that fits; else Adam (two moments of the image, not L-BFGS's history),
    if that does; else the largest halved size that does."""
    lean = replace(config, memory="lean")
    if _estimate(lean, calibration, shapes).peak_mb <= free and config.memory != "lean":
        return setting("memory", "lean")
    adam = replace(config, optimizer="adam")
    if config.optimizer != "adam" and _estimate(adam, calibration, shapes).peak_mb <= free:
        return setting("optimizer", "adam")
    size = config.size
    while size > 64 and _estimate(replace(lean, size=size), calibration, shapes).peak_mb > free:
        size //= 2
    return f"{setting('memory', 'lean')} and a smaller {setting('size', str(size))}"


def calibration_key(config: Config) -> str:
    """What a calibration holds for: this machine's CPU and cores, the torch and engine
    versions (a new engine may spend time and memory otherwise), the device and precision
    settings, and on a CPU where ``precision=auto`` measures whether bf16 pays, that
    measurement (a calibration made before it ran float32 where auto may now run bf16)."""
    versions = {package: package_version(package) for package in ("torch", "napari-neural-style")}
    return json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), **versions,
                       "device": config.device, "precision": config.precision,
                       "bf16_time_ratio": recalled(bf16_ratio_key())}, sort_keys=True)


def cached_calibration(config: Config) -> Calibration | None:
    """The calibration for ``config``'s machine and settings, if a probe made one."""
    entry = recalled(calibration_key(config))
    if not isinstance(entry, dict):
        return None
    try:
        (k, p), (m0, m1) = map(float, entry["step_seconds"]), map(float, entry["memory_mb"])
        return Calibration((k, p), (m0, m1), float(entry["setup_seconds"]),
                           float(entry["extra_steps"]), float(entry.get("largest_work", math.inf)))
    except (KeyError, TypeError, ValueError):  # written otherwise (an edit, another version)
        return None


def save_calibration(config: Config, calibration: Calibration) -> None:
    """Keep ``calibration`` for ``config``'s machine and settings (other entries stay)."""
    remember(calibration_key(config), asdict(calibration))
