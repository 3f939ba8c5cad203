import json
from dataclasses import replace

import pytest

from napari_neural_style.core import machine
from napari_neural_style.core.config import Config
from napari_neural_style.core.estimate import (
    Calibration,
    cached_calibration,
    estimate,
    network_cost,
    save_calibration,
)
from napari_neural_style.core.machine import bf16_ratio_key, cache_file, remember

CALIBRATION = Calibration((0.01, 1.0), (300.0, 6.0), 0.8, 5.0)
SQUARE = (512, 512, 3)


@pytest.fixture
def cache():
    return cache_file()  # in tmp_path (conftest)


def test_network_cost_counts_every_convolution_to_the_deepest():
    work, kept = network_cost("conv_1", 8, 8)
    assert work == pytest.approx(9 * 3 * 64 * 64 / 1e9) and kept == pytest.approx(64 * 64 / 1e6)
    work2, kept2 = network_cost("conv_2", 8, 8)
    assert work2 == pytest.approx(work + 9 * 64 * 64 * 64 / 1e9) and kept2 == 2 * kept
    deep, deep_kept = network_cost("conv_16", 256, 256)
    assert network_cost("conv_16", 512, 512)[0] == pytest.approx(4 * deep)
    assert network_cost("conv_16", 256, 256, lean=True)[1] < 0.6 * deep_kept
    assert network_cost("conv_16", 256, 256, networks=2) == pytest.approx(
        (2 * deep, 2 * deep_kept))


def test_the_untrained_pair_costs_two_networks(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    found = {weights: estimate(Config.for_task("transfer", size=512, steps=100,
                                               weights=weights), CALIBRATION, SQUARE, SQUARE)
             for weights in ("imagenet", "random-single", "random:3")}
    assert found["random-single"] == found["imagenet"]
    setup = CALIBRATION.setup_seconds
    assert found["random:3"].seconds - setup == pytest.approx(
        2 * (found["imagenet"].seconds - setup))
    assert found["random:3"].peak_mb > found["imagenet"].peak_mb


def test_a_fit_goes_through_both_probes():
    probes = [{"work": 2.0, "kept": 10.0, "step": 0.1, "peak_mb": 400.0, "setup": 0.9,
               "extra_steps": 4.0, "optimizer_mb": 10.0},
              {"work": 8.0, "kept": 40.0, "step": 0.5, "peak_mb": 580.0, "setup": 0.7,
               "extra_steps": 6.0, "optimizer_mb": 40.0}]
    fitted = Calibration.fit(probes)
    for probe in probes:
        assert fitted.step(probe["work"], lean=False) == pytest.approx(probe["step"])
        assert fitted.memory(probe["kept"]) + probe["optimizer_mb"] == pytest.approx(
            probe["peak_mb"])
    assert fitted.setup_seconds == 0.7 and fitted.extra_steps == 5.0


def test_estimates_grow_with_steps_and_size_and_lean_trades_time_for_memory(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    base = Config.for_task("transfer", size=512, steps=100)
    found = estimate(base, CALIBRATION, SQUARE, SQUARE)
    more = estimate(Config.for_task("transfer", size=512, steps=200), CALIBRATION, SQUARE)
    larger = estimate(Config.for_task("transfer", size=1024, steps=100), CALIBRATION, SQUARE)
    lean = estimate(Config.for_task("transfer", size=512, steps=100, memory="lean"),
                    CALIBRATION, SQUARE)
    assert more.seconds > found.seconds and larger.peak_mb > 3 * (found.peak_mb - 300)
    assert lean.seconds > found.seconds and lean.peak_mb < found.peak_mb
    assert found.describe().startswith("estimate: ~") and not found.warning
    # a run that stops when its picture is done may take less; one of every step may not
    assert " at most, " in found.describe()
    every_step = estimate(Config.for_task("transfer", size=512, steps=100, tolerance=0.0),
                          CALIBRATION, SQUARE, SQUARE)
    assert " at most" not in every_step.describe()


def test_too_little_memory_says_what_would_fit(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_mb", lambda: 700.0)
    found = estimate(Config.for_task("transfer", size=1024, steps=10), CALIBRATION, SQUARE)
    assert "more than the 700 MB free: try memory='lean'" in found.warning
    assert "size=" in found.warning  # lean alone is not enough at 1024 px


def test_a_calibration_is_kept_per_machine_and_settings(cache):
    config = Config.for_task("transfer", device="cpu")
    assert cached_calibration(config) is None
    save_calibration(config, CALIBRATION)
    assert cached_calibration(config) == CALIBRATION
    assert cached_calibration(Config.for_task("transfer", device="cpu", size=64)) == CALIBRATION
    assert cached_calibration(Config.for_task("transfer", device="cpu",
                                              precision="fp32")) is None
    remember(bf16_ratio_key(), 0.6)  # auto measured bf16 here: it may now run bf16
    assert cached_calibration(config) is None
    save_calibration(config, CALIBRATION)
    assert cached_calibration(config) == CALIBRATION
    cache.write_text("not json")
    with pytest.warns(UserWarning, match="measured again"):
        assert cached_calibration(config) is None  # a broken cache is no calibration
    save_calibration(config, CALIBRATION)
    assert len(json.loads(cache.read_text())) == 1


@pytest.mark.slow
def test_the_probe_calibrates_from_two_real_runs(monkeypatch):
    from napari_neural_style.core import probe

    monkeypatch.setattr(probe, "PROBE_SIZES", (64, 96))
    config = Config.for_task("transfer", device="cpu")
    calibration = probe.calibrate(config)
    assert calibration.step_seconds[0] > 0 and calibration.memory_mb[1] >= 0
    assert cached_calibration(config) == calibration


def test_a_tiled_run_holds_one_tile_and_the_image_sized_state(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    square = (4096, 4096, 3)
    whole, tiled = (estimate(Config.for_task("transfer", size=4096, steps=20, tile=tile,
                                             scales=(1.0,), lbfgs_history=5),
                             CALIBRATION, square, square) for tile in (0, 1024))
    assert tiled.peak_mb < whole.peak_mb / 2 and tiled.seconds > whole.seconds
    # the image-sized state alone: four float32 images, L-BFGS's (its last gradient and
    # direction, five pairs: no budget is known here), conv_9's targets
    state = (4 * 3 * 4096**2 + (2 + 2 * 5) * 3 * 4096**2 + 512 * 512**2) * 4 / 2**20
    assert tiled.peak_mb > state
    one_tile = estimate(Config.for_task("transfer", size=1024, steps=20, tile=1024,
                                        scales=(1.0,)), CALIBRATION, square, square)
    assert one_tile == estimate(Config.for_task("transfer", size=1024, steps=20,
                                                scales=(1.0,)), CALIBRATION, square, square)


def test_a_tiled_runs_work_after_its_steps_is_the_probes_over_its_two_passes(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    square = (4096, 4096, 3)

    def seconds(steps: int, extra: float, tile: int) -> float:
        config = Config.for_task("transfer", size=4096, steps=steps, tile=tile, scales=(1.0,))
        return estimate(config, replace(CALIBRATION, extra_steps=extra), square, square).seconds

    for tile, passes in ((0, 1.0), (1024, 1.5)):  # untiled, a step is one pass
        step = seconds(11, 5.0, tile) - seconds(10, 5.0, tile)
        assert seconds(10, 8.0, tile) - seconds(10, 5.0, tile) == pytest.approx(3 * step / passes)


def test_a_memory_limit_chooses_the_tiles_and_the_lbfgs_history(monkeypatch):
    from napari_neural_style.core.estimate import (
        MIN_HISTORY,
        image_mb,
        lbfgs_pairs,
        optimizer_mb,
        tile_for,
    )

    monkeypatch.setattr(machine, "available_memory_mb", lambda: 64_000.0)
    free = Config.for_task("transfer")  # half of what is available
    assert tile_for(free, 2048, 2048) == 0 and lbfgs_pairs(free, 2048, 2048) == 20
    assert tile_for(free, 8192, 8192) == 2048  # fewer tiles read less halo
    limited = Config.for_task("transfer", memory_limit=8000)
    assert tile_for(limited, 512, 512) == 0 and tile_for(limited, 4096, 4096) == 1024
    assert tile_for(replace(limited, memory_limit=6000), 4096, 4096) == 768  # smaller tiles
    pairs = lbfgs_pairs(limited, 4096, 4096)
    assert MIN_HISTORY < pairs < 20
    assert optimizer_mb(limited, 50, 4096, 4096) == (2 + 2 * pairs) * image_mb(4096, 4096)
    # where not even the fewest pairs fit, the fewest are kept and the estimate says so
    tight = Config.for_task("transfer", size=4096, steps=50, scales=(1.0,), memory_limit=2000)
    assert lbfgs_pairs(tight, 4096, 4096) == MIN_HISTORY
    warning = estimate(tight, CALIBRATION, (4096, 4096, 3), (4096, 4096, 3)).warning
    assert warning.startswith("more than the 2000 MB limit: try ")
    # Adam keeps two moments, not a history: smaller tiles fit beside them
    adam = replace(tight, optimizer="adam", memory_limit=3000)
    assert tile_for(adam, 4096, 4096) < tile_for(replace(adam, optimizer="lbfgs"), 4096, 4096)
    assert lbfgs_pairs(Config.for_task("transfer", tile=1024, lbfgs_history=4), 2048, 2048) \
        == 4


def test_auto_memory_recomputes_only_where_the_maps_kept_whole_would_not_fit(monkeypatch):
    """Lean costs a forward pass a step: ``auto`` keeps every activation where they fit the
    budget, recomputes where only that fits, and tiles without recomputing where neither
    does; by size where the memory available is unknown."""
    from napari_neural_style.core.estimate import recomputes, tile_for

    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    unknown = Config.for_task("transfer")
    assert not recomputes(unknown, 1024, 1024) and recomputes(unknown, 2048, 2048)
    roomy, tight, tighter = (Config.for_task("transfer", memory_limit=limit)
                             for limit in (20000, 8000, 3000))
    assert tile_for(roomy, 2048, 2048) == 0 and not recomputes(roomy, 2048, 2048)
    assert tile_for(tight, 2048, 2048) == 0 and recomputes(tight, 2048, 2048)
    assert tile_for(tighter, 2048, 2048) and not recomputes(tighter, 2048, 2048)
    assert not recomputes(replace(tight, memory="fast"), 2048, 2048)
    assert tile_for(replace(tight, memory="fast"), 2048, 2048)  # its maps kept whole: tiles
    assert recomputes(replace(roomy, memory="lean"), 512, 512)


def test_a_size_whose_image_sized_state_alone_passes_memory_is_refused_before_reading(
        monkeypatch, photo, texture, tmp_path):
    from napari_neural_style.cli import main
    from napari_neural_style.core.errors import InputError
    from napari_neural_style.core.image_files import write_image
    from napari_neural_style.core.tasks import Run

    monkeypatch.setattr(machine, "available_memory_mb", lambda: 16_000.0)
    huge = Config.for_task("transfer", size=60_000, weights="random", device="cpu")
    # 96 x 96 px at 60000: 43 GB per float32 copy; nothing allocated before the refusal
    with pytest.raises(InputError, match=r"a 60000 x 60000 px run keeps \d+\.\d GB the size "
                                         r"of the image .* and 15.6 GB are available: choose a "
                                         r"smaller size or optimizer='adam'"):
        Run(huge, content=photo, style=texture)
    Run(replace(huge, size=2048), content=photo, style=texture)  # fits: not refused
    write_image(tmp_path / "c.png", photo / 255)
    write_image(tmp_path / "s.png", texture / 255)
    assert main(["transfer", str(tmp_path / "c.png"), str(tmp_path / "s.png"), "-o",
                 str(tmp_path / "o.png"), "--size", "60000", "--weights", "random"]) == 2


def test_reused_memory_costs_less_time_and_more_memory_and_takes_smaller_tiles(monkeypatch):
    from napari_neural_style.core.estimate import REUSE_MAPS, REUSE_TIME, tile_for

    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    for size, tile in ((512, None), (4096, 1024)):  # untiled and tiled alike
        square = (size, size, 3)
        fast, reuse = (estimate(Config.for_task("transfer", size=size, steps=20, tile=tile,
                                                scales=(1.0,), memory=memory),
                                CALIBRATION, square, square) for memory in ("fast", "reuse"))
        setup = CALIBRATION.setup_seconds
        assert reuse.seconds - setup == pytest.approx(REUSE_TIME * (fast.seconds - setup))
        assert fast.peak_mb < reuse.peak_mb < REUSE_MAPS * fast.peak_mb
    # on a GPU nothing changes: CUDA's allocator caches its blocks already
    on_gpu = {memory: estimate(Config.for_task("transfer", size=512, steps=20, device="cuda",
                                               memory=memory), CALIBRATION, SQUARE)
              for memory in ("fast", "reuse")}
    assert on_gpu["fast"] == on_gpu["reuse"]
    # under one budget the heap's room for the maps leaves smaller tiles
    limited = Config.for_task("transfer", memory_limit=8000, memory="fast")
    assert tile_for(replace(limited, memory="reuse"), 4096, 4096) < tile_for(limited, 4096, 4096)
