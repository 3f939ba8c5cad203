"""Tiled steps against untiled ones, side by side in one process (``Config.tile``).

    python benchmarks/tiling.py --parts exact [--size 1024 --tile 256 --steps 10]
    python benchmarks/tiling.py --parts time [--size 2048 --tile 1024 --steps 3]
    python benchmarks/tiling.py --parts seams [--size 2048 --tile 512 --steps 10]
    python benchmarks/tiling.py --parts memory [--sizes 512,4096 --tile auto --steps 3
        --memory-limit MB --optimizer adam --memory reuse --precision auto --device cuda]
    python benchmarks/tiling.py --parts network [--sides 512,1024,1280,1792,2304 --steps 3
        --precision auto]

* exact: the seed transfer (content conv_9, style conv_2,4,8,16, weights 1 and 0.5, from the
  content image, one scale, float32) run untiled and tiled: the final losses and the largest
  pixel difference between the two results;
* time: seconds per step, untiled and tiled, each recomputing activations or not as the
  engine does (and tiled as the untiled does, where they differ), with the tiled step's
  split: the halo (the tiles' input area over the image's), pass 1 (forward only) and
  pass 2 (forward and backward); beside it the tiled step with every map kept whole (as
  before the maps were cut to the margin the layers after them read);
* seams: in the tiled result, the mean absolute difference between neighbouring pixels
  across tile borders over that across the network's other stride-grid lines (every
  result, tiled or not, differs there: the poolings' phase) and over that of all other
  neighbours; beside it the naive way (each tile styled
  alone with its own statistics, then put together): its seam ratio, and how far its tiles'
  Gram matrices at conv_16 spread (their relative distance to the whole image's);
* memory: a transfer at each of ``--sizes`` (one scale, ``--steps`` full-size steps), each in
  a fresh process: its peak resident memory over a process that only imports the engine,
  against what ``--estimate`` says for it (calibrated here first, if not cached), its time
  from start to result (the quality pass included) against the estimate's, its seconds
  a step, and its cost a pixel against the first size's (tiled where larger than the tile);
  on a GPU (``--device cuda``), the run's own peak of CUDA memory too;
* network: the run's network forward and backward on one input of each of ``--sides`` px
  (median of ``--steps``), seconds a megapixel against the first side's: what a pixel costs
  untiled at each tile input's size, the floor under a tiled step's cost a pixel.

The untrained network (``random-single``): its figures stand for any VGG-19's arithmetic.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch

from common import sample_pair
from napari_neural_style.core.config import Config
from napari_neural_style.core.estimate import recomputes, tiling_for
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.tile_grid import Tiling
from napari_neural_style.core.tiling import TiledObjective
from napari_neural_style.core.vgg_layers import deepest

SEED = dict(weights="random-single", device="cpu", precision="fp32", scales=(1.0,))


def say(text: str) -> None:
    print(text, flush=True)


def exact(args: argparse.Namespace) -> None:
    content, style = sample_pair(args.size)
    results = {}
    for tile in (0, args.tile):
        config = Config.for_task("transfer", size=args.size, steps=args.steps, tile=tile,
                                 **SEED)
        start = time.perf_counter()
        results[tile] = Run(config, content, style).complete()
        say(f"  tile {tile or 'none'}: loss {results[tile].history[-1]['total']:.6g} in "
            f"{time.perf_counter() - start:.1f} s")
    untiled, tiled = results[0], results[args.tile]
    first, last = untiled.history[-1]["total"], tiled.history[-1]["total"]
    say(f"exact: {args.size} px, {args.steps} steps, tile {args.tile}: final loss tiled / "
        f"untiled {last / first:.6f} ({abs(last - first) / first * 100:.3f} %), largest pixel "
        f"difference {np.abs(tiled.image - untiled.image).max():.4f}")


def _objective(size: int, tile: int, precision: str):
    """The seed transfer's objective at ``size`` px on a run's network, the tiles the engine
    takes at ``tile`` px, whether it recomputes activations untiled and tiled, and the
    starting image."""
    content, style = sample_pair(size)
    config = Config.for_task("transfer", size=size, steps=1,
                             **{**SEED, "precision": precision})
    run = Run(config, content, style)
    steps = iter(run.batch)
    next(steps)  # set up: the network, the targets
    objective = run.batch._objective(run.setup, size, run.setup.content)
    pixels = run.batch.content.clone()
    tiled = replace(config, tile=tile)
    shape = pixels.shape[-2:]
    planned = tiling_for(tiled, *shape)
    tiling = Tiling.for_layers(planned.size, config.layers, run.setup.encoder.pooling,
                               planned.forward)
    steps.close()
    return (objective.objectives[0], tiling, pixels,
            (recomputes(config, *shape), recomputes(tiled, *shape)))


def _seconds(evaluate, pixels: torch.Tensor, steps: int) -> float:
    times = []
    for _ in range(steps):
        image = pixels.clone().requires_grad_(True)
        start = time.perf_counter()
        total, _ = evaluate(image)
        total.backward()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def timing(args: argparse.Namespace) -> None:
    objective, tiling, pixels, (whole_lean, tiled_lean) = _objective(args.size, args.tile,
                                                                     args.precision)
    tiled = TiledObjective(objective, tiling)
    objective.encoder.recompute = whole_lean
    whole = _seconds(objective, pixels, args.steps)
    objective.encoder.recompute = tiled_lean
    split = time.perf_counter()
    in_tiles = _seconds(tiled, pixels, args.steps)
    height, width = pixels.shape[-2:]
    tiles = tiling.tiles(height, width)
    area = sum((tile.input_rows.stop - tile.input_rows.start) *
               (tile.input_cols.stop - tile.input_cols.start) for tile in tiles)
    with torch.no_grad():
        start = time.perf_counter()
        tiled(pixels)
        forward = time.perf_counter() - start
    whole_maps = _seconds(TiledObjective(objective, replace(tiling, margins=())), pixels,
                          args.steps)
    modes = {True: "lean", False: "fast"}
    same = ""
    if tiled_lean != whole_lean:  # the cost of the tiles alone, each recomputing as untiled
        objective.encoder.recompute = whole_lean
        alike = _seconds(tiled, pixels, args.steps)
        same = f" (tiled {modes[whole_lean]} too: {alike:.2f} s/step, {alike / whole:.2f}x)"
    say(f"time: {args.size} px, tile {tiling.size} (halo {tiling.halo}, {len(tiles)} tiles; "
        f"first pass on tiles of {tiling.forward or tiling.size}): untiled "
        f"({modes[whole_lean]}) {whole:.2f} s/step, tiled ({modes[tiled_lean]}) "
        f"{in_tiles:.2f} s/step: {in_tiles / whole:.2f}x{same}; each map kept whole (no "
        f"cut to what the layers after it read) {whole_maps:.2f} s/step: "
        f"{whole_maps / whole:.2f}x; the second pass's tiles read "
        f"{area / (height * width):.2f}x the image's pixels, pass 1 (forward only) "
        f"{forward:.2f} s, pass 2 {in_tiles - forward:.2f} s "
        f"({time.perf_counter() - split:.0f} s measuring)")


def _seam_ratios(image: np.ndarray, size: int, stride: int) -> tuple[float, float]:
    """Mean |neighbour difference| across the tile grid's lines over that across the
    network's other stride-grid lines (the same phase of its poolings, which mark every
    ``stride`` px of any result, tiled or not), and over that of all other neighbours."""
    across, grid, inside = [], [], []
    for axis in (0, 1):
        differences = np.abs(np.diff(image, axis=axis)).mean(axis=2)
        chosen = differences if axis == 0 else differences.T
        lines = np.arange(1, chosen.shape[0] + 1)  # line k: between pixels k - 1 and k
        border = lines % size == 0
        across.append(chosen[border].ravel())
        grid.append(chosen[(lines % stride == 0) & ~border].ravel())
        inside.append(chosen[~border].ravel())
    seams = np.concatenate(across).mean()
    return (float(seams / np.concatenate(grid).mean()),
            float(seams / np.concatenate(inside).mean()))


def seams(args: argparse.Namespace) -> None:
    content, style = sample_pair(args.size)
    config = Config.for_task("transfer", size=args.size, steps=args.steps, tile=args.tile,
                             **SEED)
    tiled = Run(config, content, style).complete()
    tiling = Tiling.for_layers(args.tile, config.layers, "avg")
    size = tiling.size
    naive = np.zeros_like(tiled.image)
    height, width = naive.shape[:2]
    grams = []
    alone = replace(config, tile=0, size=size)
    for tile in tiling.tiles(height, width):
        part = content[tile.rows, tile.cols]
        if min(part.shape[:2]) < 32:
            naive[tile.rows, tile.cols] = part
            continue
        run = Run(replace(alone, size=max(part.shape[:2])), part, style)
        result = run.complete()
        naive[tile.rows, tile.cols] = result.image[:part.shape[0], :part.shape[1]]
        grams.append(result.quality.get("gram_distance", {}).get("conv_16"))
    if args.save:
        np.savez_compressed(args.save, tiled=tiled.image, naive=naive)
    # a few lines make the ratio: the picture itself has its own there (the start image's)
    (tiled_grid, tiled_all), (naive_grid, naive_all), (own_grid, own_all) = (
        _seam_ratios(image, size, tiling.stride) for image in (tiled.image, naive, content))
    say(f"seams: {args.size} px, tile {size}, {args.steps} steps: seam ratio against the "
        f"other {tiling.stride} px grid lines / against all other neighbours: the content "
        f"image's own {own_grid:.3f} / {own_all:.3f}; tiled result {tiled_grid:.3f} / "
        f"{tiled_all:.3f}; each tile styled alone: {naive_grid:.3f} / "
        f"{naive_all:.3f}; its tiles' style distance at conv_16 "
        f"{np.nanmin(np.array(grams, float)):.3g}-{np.nanmax(np.array(grams, float)):.3g}")


CHILD = """
import json, sys, time
from napari_neural_style.core.config import Config
from napari_neural_style.core.estimate import recomputes, tiling_for
from napari_neural_style.core.machine import peak_resident_memory_mb
config = Config(**json.loads(sys.argv[1])) if len(sys.argv) > 1 else None
info = {}
if config is not None:
    from napari_neural_style.core.tasks import Run
    from napari_neural_style.core.samples import load_sample
    content, style = load_sample("astronaut"), load_sample("hubble_deep_field")
    start = time.perf_counter()
    run = Run(config, content=content, style=style)
    # each step's time from the optimizer's start (the last, the result's losses, is a
    # forward); a step from the second on (the first warms the kernels up)
    elapsed = [step.elapsed for step in run][:-1]
    result = run.complete()  # the quality pass too: the whole wait
    step = (elapsed[-1] - elapsed[0]) / (len(elapsed) - 1) if len(elapsed) > 1 else elapsed[0]
    info = {"seconds": time.perf_counter() - start, "step": step,
            "setup": result.setup_seconds, "tiling": result.tiling,
            "peak_memory": result.peak_memory}
import torch
info["peak_rss_mb"] = peak_resident_memory_mb()
print(json.dumps(info))
"""


def memory(args: argparse.Namespace) -> None:
    """Each size in a fresh process: peak RSS over the import, the estimate, seconds a step
    and per megapixel against the first size's."""
    from dataclasses import asdict

    from common import in_fresh_process
    from napari_neural_style.core.estimate import cached_calibration, estimate
    from napari_neural_style.core.probe import calibrate
    from napari_neural_style.core.samples import load_sample

    baseline = in_fresh_process(["-c", CHILD])
    shapes = [load_sample(name).shape for name in ("astronaut", "hubble_deep_field")]
    first = None
    for size in args.sizes:
        config = Config.for_task(
            "transfer", size=size, steps=args.steps, tile=args.tile, init="content",
            memory_limit=args.memory_limit, optimizer=args.optimizer, memory=args.memory,
            **{**SEED, "precision": args.precision, "device": args.device})
        calibration = cached_calibration(config) or calibrate(config)
        expected = estimate(config, calibration, *shapes)
        found = in_fresh_process(["-c", CHILD, json.dumps(asdict(config))])
        if "error" in found or "error" in baseline:
            say(f"memory: {size} px FAILED: {found.get('error') or baseline.get('error')}")
            continue
        over = found["peak_rss_mb"] - baseline["peak_rss_mb"]
        per_pixel = found["step"] / size**2
        first = first or (size, per_pixel)
        say(f"memory: {size} px ({args.optimizer}, {args.precision}, memory {args.memory}, "
            f"tile {args.tile}, limit "
            f"{args.memory_limit} MB), {args.steps} steps, one scale: peak RSS {over:.0f} MB "
            f"over the import ({baseline['peak_rss_mb']:.0f} MB); --estimate says "
            f"{expected.peak_mb:.0f} MB ({expected.peak_mb / over:.2f}x) and "
            f"{expected.seconds:.0f} s (ran {found['seconds']:.0f} s, the quality pass included: "
            f"{expected.seconds / found['seconds']:.2f}x); {found['step']:.1f} s a step, "
            f"{per_pixel / first[1]:.2f}x {first[0]} px's a pixel; setup {found['setup']:.0f} "
            f"s; record {found['tiling']}{_device_peak(found['peak_memory'])}")


def network(args: argparse.Namespace) -> None:
    objective, *_ = _objective(512, 256, args.precision)
    encoder, layout = objective.encoder, objective.memory_format
    first = None
    for side in args.sides:
        times = []
        for _ in range(args.steps):
            pixels = torch.rand(1, 3, side, side).contiguous(memory_format=layout)
            pixels.requires_grad_(True)
            start = time.perf_counter()
            total = sum(features.float().mean() for features in encoder(pixels).values())
            torch.autograd.grad(total, pixels)
            times.append(time.perf_counter() - start)
        seconds = float(np.median(times))
        per_pixel = seconds / (side * side / 1e6)
        first = first or (side, per_pixel)
        say(f"network: {side} px input ({args.precision}), forward and backward to "
            f"{deepest(encoder.layer_names).name}: {seconds:.2f} s, {per_pixel:.2f} s a "
            f"megapixel, {per_pixel / first[1]:.2f}x {first[0]} px's")


def _device_peak(peak: dict) -> str:
    """A GPU run's own peak (its resident memory is the host's, not the device's)."""
    return f"; {peak['of']}: peak {peak['mb']:.0f} MB" if "CUDA" in peak.get("of", "") else ""


PARTS = {"exact": exact, "time": timing, "seams": seams, "memory": memory, "network": network}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="exact,time,seams")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tile", type=lambda text: None if text == "auto" else int(text),
                        default=256, help="px; memory: 'auto' for the engine's choice")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sizes", type=lambda text: [int(each) for each in text.split(",")],
                        default=[4096], help="memory: the sizes, each in a fresh process")
    parser.add_argument("--sides", type=lambda text: [int(each) for each in text.split(",")],
                        default=[512, 1024, 1280, 1792, 2304], help="network: input sides")
    parser.add_argument("--memory-limit", type=int, default=None)
    parser.add_argument("--optimizer", default="lbfgs")
    parser.add_argument("--memory", default="auto", help="memory: the engine's memory mode")
    parser.add_argument("--precision", default="fp32",
                        help="time, memory, network: fp32, bf16, auto")
    parser.add_argument("--device", default="cpu", help="memory: cpu, cuda")
    parser.add_argument("--save", help="seams: the tiled and the naive images, to this .npz")
    args = parser.parse_args()
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
