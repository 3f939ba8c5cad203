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
from .errors import setting
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
                 networks: int = 1) -> tuple[float, float]:
    """``(F, A)``: multiply-adds (forward, in G) of the convolutions up to ``layer_name`` on an
    ``height x width`` image, and the elements (in M) of the feature maps the backward pass
    keeps, for ``networks`` VGG-19s side by side (an untrained ensemble: each costs as
    much)."""
    last = deepest([layer_name]).index
    work, kept, blocks = 0.0, 0.0, {}
    channels_in = 3
    for conv in CONV_LAYERS:
        if conv.index > last:
            break
        channels = BLOCK_CHANNELS[conv.pools_before]
        pixels = (height >> conv.pools_before) * (width >> conv.pools_before)
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

    def step(self, work: float, lean: bool) -> float:
        k, p = self.step_seconds
        return k * work ** p * (LEAN_TIME if lean else 1.0)

    def memory(self, kept: float) -> float:
        m0, m1 = self.memory_mb
        return m0 + m1 * kept

    @classmethod
    def fit(cls, probes: list[dict]) -> Calibration:
        """The curves through two probes' ``{"work", "kept", "step", "peak_mb", "setup",
        "extra_steps", "history_mb"}``."""
        small, large = sorted(probes, key=lambda probe: probe["work"])
        power = math.log(large["step"] / small["step"]) / math.log(large["work"] /
                                                                     small["work"])
        # the optimizer's history is counted apart (it grows with the steps, not the network)
        small_mb, large_mb = (probe["peak_mb"] - probe["history_mb"] for probe in (small, large))
        m1 = max((large_mb - small_mb) / (large["kept"] - small["kept"]), 0.0)
        return cls((large["step"] / large["work"] ** power, power),
                   (max(large_mb - m1 * large["kept"], 0.0), m1),
                   min(probe["setup"] for probe in probes),
                   sum(probe["extra_steps"] for probe in probes) / len(probes))


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
    free = machine.available_memory_mb()
    if free is None or found.peak_mb <= free or config.device not in ("auto", "cpu"):
        return found
    advice = _what_fits(config, calibration, shapes, free)
    return replace(found, warning=f"more than the {free:.0f} MB free: try {advice}")


def _estimate(config: Config, calibration: Calibration, shapes) -> Estimate:
    sizes = config.scale_sizes(*shapes)
    seconds, peak = calibration.setup_seconds, 0.0
    for index, size in enumerate(sizes):
        height, width = working_shape(*shapes[0][:2], size)
        lean = config.recomputes_at(size)
        step, memory = _step_cost(config, calibration, height, width, lean)
        steps, last = config.steps_at(index, len(sizes)), index == len(sizes) - 1
        extra = calibration.extra_steps if last else 1.0  # a coarse scale: its targets
        seconds += (steps + extra) * step
        peak = max(peak, memory + history_mb(config, steps, height, width))
    return Estimate(seconds, peak, at_most=config.tolerance > 0)


#: a tiled step's first pass (forward only) over its second (forward and backward)
TILED_FORWARD = 1 / 3
#: float32 copies of the image a tiled step keeps beside its tile: the optimizer's variable,
#: the pixels, their gradient and the tiles' sum of it, the last image
TILED_IMAGES = 5


def _step_cost(config: Config, calibration: Calibration, height: int, width: int,
               lean: bool) -> tuple[float, float]:
    """Seconds and MB of one step at ``height`` x ``width``: of the whole image, or tile by
    tile (each tile's network, both passes; one tile's maps, the image-sized state and the
    content's target maps at full size)."""
    deepest_layer = deepest(config.layers).name
    if not runs_tiled(config, height, width):
        work, kept = network_cost(deepest_layer, height, width, lean, config.networks)
        return calibration.step(work, lean), calibration.memory(kept)
    tiling = Tiling.for_layers(tile_for(config, height, width), config.layers,
                               "blur" if config.pooling == "blur" else "max")
    seconds, kept = 0.0, 0.0
    for tile in tiling.tiles(height, width):
        work, maps = network_cost(deepest_layer, tile.input_rows.stop - tile.input_rows.start,
                                  tile.input_cols.stop - tile.input_cols.start, lean,
                                  config.networks)
        seconds += calibration.step(work, lean) * (1 + TILED_FORWARD)
        kept = max(kept, maps)
    targets = sum(BLOCK_CHANNELS[layer(name).pools_before] * (height >> layer(name).pools_before)
                  * (width >> layer(name).pools_before) for name in config.content_layers)
    state_mb = (TILED_IMAGES * 3 * height * width + config.networks * targets) * 4 / 2**20
    return seconds, calibration.memory(kept) + state_mb


#: the tiles ``tile=None`` takes where the whole image's maps would not fit
AUTO_TILE = 1024
#: the share of the memory available the whole image's feature maps may take untiled
AUTO_SHARE = 0.5


def tile_for(config: Config, height: int, width: int) -> int:
    """The tile side a scale of ``height`` x ``width`` runs with (0: untiled): ``tile`` as
    given, or by default :data:`AUTO_TILE` where the maps a step keeps, and their gradients,
    in float32 would take more than :data:`AUTO_SHARE` of the memory available."""
    if config.tile is not None:
        return config.tile
    free = machine.available_memory_mb()
    _, kept = network_cost(deepest(config.layers).name, height, width,
                           config.recomputes_at(max(height, width)), config.networks)
    needed_mb = 2 * kept * 1e6 * 4 / 2**20
    return AUTO_TILE if free is not None and needed_mb > AUTO_SHARE * free else 0


def runs_tiled(config: Config, height: int, width: int) -> bool:
    """Whether a scale of ``height`` x ``width`` runs tile by tile (more than one tile)."""
    tile = tile_for(config, height, width)
    return bool(tile) and max(height, width) > tile


#: the memory L-BFGS's history may take at a tiled scale, where the image-sized state, not
#: the network's maps, is the memory bill
HISTORY_BUDGET_MB = 1024
#: the fewest past steps L-BFGS keeps there, whatever they cost
MIN_HISTORY = 3


def lbfgs_pairs(config: Config, height: int, width: int) -> int:
    """The past steps L-BFGS keeps at a scale of ``height`` x ``width``: ``lbfgs_history``;
    at a tiled scale no more than :data:`HISTORY_BUDGET_MB` holds (each a pair of float32
    images), and at least :data:`MIN_HISTORY`."""
    if not runs_tiled(config, height, width):
        return config.lbfgs_history
    pair_mb = 2 * 3 * height * width * 4 / 2**20
    return min(config.lbfgs_history, max(MIN_HISTORY, int(HISTORY_BUDGET_MB // pair_mb)))


def history_mb(config: Config, steps: int, height: int, width: int) -> float:
    """L-BFGS's history after ``steps`` steps: a pair of float32 images per step, up to
    :func:`lbfgs_pairs` pairs (Adam keeps two moments of the image)."""
    pairs = min(lbfgs_pairs(config, height, width), steps) if config.optimizer == "lbfgs" else 1
    return 2 * pairs * 3 * height * width * 4 / 2**20


def _what_fits(config: Config, calibration: Calibration, shapes, free: float) -> str:
    """Lean memory, if that fits; else the largest halved size that does."""
    from dataclasses import replace

    lean = replace(config, memory="lean")
    if _estimate(lean, calibration, shapes).peak_mb <= free and config.memory != "lean":
        return setting("memory", "lean")
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
        return Calibration(tuple(entry["step_seconds"]), tuple(entry["memory_mb"]),
                           float(entry["setup_seconds"]), float(entry["extra_steps"]))
    except (KeyError, TypeError, ValueError):
        return None


def save_calibration(config: Config, calibration: Calibration) -> None:
    """Keep ``calibration`` for ``config``'s machine and settings (other entries stay)."""
    remember(calibration_key(config), asdict(calibration))
