"""Files and records nobody here wrote, fuzzed with a seeded generator: every case gives a
result or a one-line error in the interface's words, within a time bound, and leaves the
input file as it was.  ``NAPARI_NEURAL_STYLE_FUZZ_CASES`` sets the cases per kind (the
suite's default keeps it to seconds; raise it to search longer: the seed stays fixed, so a
failure is found again by the same number)."""

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_neural_style.core.config import Config
from napari_neural_style.core.errors import NeuralStyleError
from napari_neural_style.core.image_files import read_image, read_levels, write_image
from napari_neural_style.core.result import recorded_config
from napari_neural_style.core.tasks import Run
from napari_neural_style.core.weights import random_weights, resolve_weights
from napari_neural_style.plugin.io import get_reader

CASES = int(os.environ.get("NAPARI_NEURAL_STYLE_FUZZ_CASES", "25"))
#: seconds one case may take, decoding included
BOUND = 20.0
SEED = 20261206


def settled(call):
    """``call()``'s result, or None when it refused in one line (a NeuralStyleError); any
    other exception, or a case past :data:`BOUND`, fails the test."""
    start = time.monotonic()
    try:
        return call()
    except NeuralStyleError as error:
        message = str(error)
        assert message and "\n" not in message and "Traceback" not in message, message
        return None
    finally:
        assert time.monotonic() - start < BOUND


def valid_files(folder: Path) -> list[Path]:
    """One small file of each kind a user opens: PNG, JPEG, palette PNG, float and 16-bit
    TIFF, an OME-TIFF pyramid with a run record inside."""
    from PIL import Image

    rng = np.random.default_rng(SEED)
    rgb = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    files = [folder / "rgb.png", folder / "photo.jpg", folder / "palette.png",
             folder / "float.tif", folder / "grey16.tif", folder / "pyramid.ome.tif"]
    Image.fromarray(rgb).save(files[0])
    Image.fromarray(rgb).save(files[1], quality=90)
    Image.fromarray(rgb).convert("P").save(files[2])
    write_image(files[3], rgb.astype(np.float32) / 255, {"task": "transfer"})
    import tifffile

    tifffile.imwrite(files[4], (rng.integers(0, 4096, (48, 40))).astype(np.uint16))
    write_image(files[5], rng.random((600, 520, 3), dtype=np.float32),
                {"task": "transfer", "params": {"task": "transfer"}})
    return files


def mutated(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` truncated, or with bytes flipped (often in its header, where the sizes are)."""
    kind = rng.integers(3)
    if kind == 0:
        return data[:int(rng.integers(1, len(data)))]
    flipped = bytearray(data)
    span = min(len(data), 512) if kind == 1 else len(data)
    for offset in rng.integers(0, span, int(rng.integers(1, 9))):
        flipped[offset] ^= 1 << int(rng.integers(8))
    return bytes(flipped)


def test_broken_image_files_are_read_or_refused_in_one_line(tmp_path):
    rng = np.random.default_rng(SEED)
    config = Config.for_task("transfer", size=32, weights="random", style_layers=("conv_1",),
                             content_layers=("conv_1",))
    tried = 0
    for source in valid_files(tmp_path):
        original = source.read_bytes()
        for case in range(CASES):
            broken = tmp_path / f"case{case}-{source.name}"
            broken.write_bytes(mutated(original, rng))
            before = broken.read_bytes()
            image = settled(lambda path=broken: read_image(path, size=32))
            settled(lambda path=broken: read_levels(path))
            settled(lambda path=broken: get_reader(str(path)) and None)
            if image is not None:  # decoded: the engine's checks take it or refuse it
                settled(lambda image=image: Run(config, content=image, style=image))
            assert broken.read_bytes() == before  # read, never written
            tried += 1
    assert tried == 6 * CASES


def headers_declaring(tmp_path: Path) -> list[Path]:
    """TIFFs whose first page declares sizes of 0, 1 and 2^31 - 1 px, and odd sample kinds."""
    import tifffile

    files = []
    for rows, cols, dtype in ((1, 1, np.uint8), (2, 70000, np.uint8), (3, 3, np.complex64),
                              (4, 4, np.bool_), (5, 5, np.int64), (8, 8, np.float16)):
        path = tmp_path / f"{rows}x{cols}-{np.dtype(dtype).name}.tif"
        tifffile.imwrite(path, np.ones((rows, cols), dtype=dtype))
        files.append(path)
    for declared in (0, 2**31 - 1):
        data = bytearray((tmp_path / "1x1-uint8.tif").read_bytes())
        # tag 256 (ImageWidth) and 257 (ImageLength), SHORT or LONG, hold the sizes
        for tag in (256, 257):
            at = data.find(tag.to_bytes(2, "little"))
            data[at + 2:at + 4] = (4).to_bytes(2, "little")  # LONG
            data[at + 8:at + 12] = declared.to_bytes(4, "little")
        path = tmp_path / f"declares-{declared}.tif"
        path.write_bytes(bytes(data))
        files.append(path)
    return files


def test_odd_sizes_and_sample_kinds_are_read_or_refused_in_one_line(tmp_path):
    config = Config.for_task("reconstruct", size=32, weights="random",
                             content_layers=("conv_1",))
    for path in headers_declaring(tmp_path):
        image = settled(lambda path=path: read_image(path))
        if image is not None:
            settled(lambda image=image: Run(config, content=image))


def hostile_values(rng: np.random.Generator) -> list:
    return [None, "", "x" * 10_000, -1, 0, 2**63, math.nan, math.inf, -math.inf, [], {},
            [1, "a"], {"a": 1}, True, 1e308, "/dev/zero", "conv_99", "../../etc/passwd",
            float(rng.random()), int(rng.integers(-10, 10))]


def test_run_records_with_missing_extra_mistyped_and_hostile_values(tmp_path):
    rng = np.random.default_rng(SEED)
    good = Config.for_task("transfer", size=48, steps=3, weights="random")
    params = json.loads(json.dumps({"task": "transfer", **{
        name: value for name, value in vars(good).items() if name != "task"}}))
    names = [name for name in params if name != "task"]
    values = hostile_values(rng)
    cases = [{"params": {**params, name: value}} for name in names for value in values]
    cases += [{"params": {key: value for key, value in params.items() if key != name}}
              for name in names]  # missing: the default
    cases += [{"params": {**params, "unknown": 1}}, {"params": []}, {"params": {}}, [], None,
              {"params": {"task": "paint"}}, {"params": {**params, "task": None}}]
    for record in cases:
        config = settled(lambda record=record: recorded_config(record))
        if config is not None and "/dev/" not in str(config.weights):
            settled(lambda config=config: Config(**vars(config)))
    device_file = {"params": {**params, "weights": "/dev/zero"}}
    config = settled(lambda: recorded_config(device_file))
    assert config is None or settled(lambda: resolve_weights(config.weights)) is None



def test_run_records_through_the_command_line(tmp_path, capsys, photo, texture):
    """``--from-json`` on records with hostile values: each is run (one small step) or
    refused with one line and exit status 2; the record file stays as it was."""
    from napari_neural_style.cli import main

    rng = np.random.default_rng(SEED + 1)
    for name, image in (("content.png", photo), ("style.png", texture)):
        write_image(tmp_path / name, image)
    good = Config.for_task("transfer", size=32, steps=1, weights="random", device="cpu",
                           precision="fp32")
    params = json.loads(json.dumps({"task": "transfer", **vars(good)}))
    values = hostile_values(rng)
    cases = [{"neural_style": {"params": {**params, name: values[index]}}}
             for name in params if name != "task"
             for index in rng.choice(len(values), size=max(1, CASES // 12), replace=False)]
    cases += [[], None, 5, "a string", {"neural_style": None}, {"params": "x"}]
    record = tmp_path / "record.json"
    for case in cases:
        text = json.dumps(case)
        record.write_text(text)
        start = time.monotonic()
        code = main(["transfer", "--from-json", str(record), str(tmp_path / "content.png"),
                     str(tmp_path / "style.png"), "-o", str(tmp_path / "out.tif")])
        err = capsys.readouterr().err
        assert time.monotonic() - start < BOUND and "Traceback" not in err, (case, err)
        assert code == 0 or (code == 2 and err.strip().count("\n") == 0 and err.startswith(
            "napari-neural-style: error: ")), (case, code, err)
        assert record.read_text() == text

def weight_files(tmp_path: Path) -> list[Path]:
    """A valid state dict in float16 and bfloat16, with a key missing, with an extra key,
    with a tensor of the wrong shape, of NaNs, of integers, truncated, and not a state
    dict."""
    state = {f"features.{key}": tensor
             for key, tensor in random_weights(0, "random-single").state.items()}
    variants = {
        "fp16": {key: value.half() for key, value in state.items()},
        "bf16": {key: value.bfloat16() for key, value in state.items()},
        "missing": dict(list(state.items())[2:]),
        "extra": {**state, "classifier.9.weight": torch.zeros(3)},
        "shape": {**state, next(iter(state)): torch.zeros(1)},
        "nan": {**state, next(iter(state)): torch.full_like(next(iter(state.values())),
                                                             math.nan)},
        "int": {key: value.long() for key, value in state.items()},
        "list": list(state.values())[:2],
    }
    files = []
    for name, value in variants.items():
        path = tmp_path / f"{name}.pth"
        torch.save(value, path)
        files.append(path)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(files[0].read_bytes()[:5000])
    return [*files, truncated]


@pytest.mark.slow
def test_weights_files_in_other_precisions_or_shapes_load_or_are_refused(tmp_path):
    for path in weight_files(tmp_path):
        before = path.read_bytes()
        weights = settled(lambda path=path: resolve_weights(path))
        loads = path.stem in ("fp16", "bf16", "extra")
        assert (weights is not None) == loads, path.name
        if loads:
            assert all(tensor.dtype == torch.float32 for tensor in weights.state.values())
        assert path.read_bytes() == before
