import json
import re
import subprocess
import sys
import urllib.error

import numpy as np
import pytest
import tifffile
import torch

from napari_neural_style.cli import main
from napari_neural_style.core.image_files import read_image, write_image

FAST = ["--size", "48", "--steps", "3", "--weights", "random", "--device", "cpu"]


@pytest.fixture
def images(tmp_path, photo, texture):
    write_image(tmp_path / "content.png", photo / 255)
    write_image(tmp_path / "style.png", texture / 255)
    return tmp_path


def test_transfer_writes_image_and_metrics(images, capsys):
    out, metrics = images / "out.png", images / "m.json"
    code = main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(out), "--json", str(metrics), "--style-layers", "conv_2,conv4_1",
                 "--init", "noise", *FAST])
    assert code == 0
    assert read_image(out).shape == (48, 48, 3)
    record = json.loads(metrics.read_text())
    for key in ("task", "params", "steps", "seconds", "seconds_per_step", "device", "weights",
                "history"):
        assert key in record
    assert record["task"] == "transfer" and record["steps"] == 3
    assert record["weights"]["source"] == "random" and len(record["weights"]["sha256"]) == 64
    assert [entry["step"] for entry in record["history"]] == [0, 3]
    assert set(record["history"][0]) >= {"step", "total", "content", "style", "tv"}
    assert set(record["history"][-1]["style"]) == {"conv_2", "conv_9"}
    assert "random (untrained" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args", [["reconstruct", "{content}", "--layer", "conv_4"],
             ["texture", "{style}", "--layers", "conv_1,conv_2"]],
)
def test_reconstruct_and_texture(images, args):
    paths = {"content": str(images / "content.png"), "style": str(images / "style.png")}
    argv = [arg.format(**paths) for arg in args]
    assert main([*argv, "-o", str(images / "out.tif"), *FAST]) == 0
    result = read_image(images / "out.tif")
    assert result.dtype == np.float32 and result.shape[-1] == 3


def test_features_writes_a_multipage_tiff(images):
    out = images / "f.tif"
    assert main(["features", str(images / "content.png"), "--layer", "conv_4", "-o", str(out),
                 "--size", "48", "--weights", "random", "--device", "cpu"]) == 0
    assert tifffile.imread(out).shape == (256, 24, 24)  # random: two networks' channels


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def test_bad_inputs_exit_2_with_one_line(images, tmp_path, capsys):
    content = str(images / "content.png")
    out = ["-o", str(tmp_path / "o.png")]
    assert main(["reconstruct", str(tmp_path / "absent.png"), *out, *FAST]) == 2
    assert "no such file" in _error_line(capsys)

    (tmp_path / "junk.png").write_text("junk")
    assert main(["reconstruct", str(tmp_path / "junk.png"), *out, *FAST]) == 2
    assert "cannot read" in _error_line(capsys)

    nan = np.zeros((48, 48, 3), np.float32)
    nan[1, 1, 1] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", nan, photometric="rgb")
    assert main(["reconstruct", str(tmp_path / "nan.tif"), *out, *FAST]) == 2
    assert "NaN" in _error_line(capsys)

    assert main(["transfer", content, content, *out, *FAST[2:], "--size", "20"]) == 2
    assert "too small" in _error_line(capsys)

    assert main(["texture", content, "--layers", "conv_1,fc6", *out, *FAST]) == 2
    assert "conv_1..conv_16" in _error_line(capsys)

    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    assert main(["reconstruct", content, *out, "--weights", str(tmp_path / "bad.pth")]) == 2
    assert "features.0.weight" in _error_line(capsys)

    with pytest.raises(SystemExit) as exit_info:
        main(["reconstruct", content, *out, "--steps", "many"])
    assert exit_info.value.code == 2
    assert "invalid int value" in _error_line(capsys)


def test_offline_imagenet_is_a_clear_error(images, tmp_path, capsys, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    assert main(["reconstruct", str(images / "content.png"), "-o", str(tmp_path / "o.png"),
                 "--size", "32", "--steps", "1"]) == 2
    line = _error_line(capsys)
    assert "--weights random" in line and "vgg19-dcbb9e9d.pth" in line


@pytest.mark.slow
def test_module_entry_point_runs(images, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "napari_neural_style", "reconstruct",
         str(images / "content.png"), "--layer", "conv_1", "-o", str(tmp_path / "o.png"), *FAST],
        capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "o.png").is_file()


def test_precision_memory_scales_and_peak_memory_in_metrics(images, tmp_path):
    metrics = tmp_path / "m.json"
    assert main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(tmp_path / "o.png"), "--size", "64", "--steps", "2", "--scales", "0.5,1",
                 "--style-layers", "conv_1,conv_3",
                 "--precision", "fp32", "--memory", "lean", "--weights", "random", "--device",
                 "cpu", "--json", str(metrics)]) == 0
    record = json.loads(metrics.read_text())
    assert record["precision"] == "fp32" and record["params"]["scales"] == [0.5, 1.0]
    assert record["params"]["memory"] == "lean"
    # from the content image a coarse scale takes a third of the steps: 1 + 2
    assert record["steps"] == 3 and record["peak_memory"]["mb"] > 0
    assert [entry["size"] for entry in record["history"]] == [32, 64]
    with pytest.raises(SystemExit):
        main(["reconstruct", str(images / "content.png"), "-o", "x.png", "--scales", "half"])


@pytest.mark.parametrize("task", ["reconstruct", "texture", "transfer"])
def test_every_cli_default_is_the_config_default(task):
    from napari_neural_style.cli.parser import build_parser, config_from
    from napari_neural_style.core.command_line import INPUT_NAMES
    from napari_neural_style.core.config import Config

    inputs = ["in.png"] * len(INPUT_NAMES[task])
    args = build_parser().parse_args([task, *inputs, "-o", "out.png"])
    assert config_from(args) == Config.for_task(task)
    assert Config.for_task("transfer").init == "content"


def test_progress_bar_counts_every_scale(images, tmp_path, capsys):
    assert main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(tmp_path / "o.png"), "--size", "64", "--steps", "3", "--coarse-steps", "2",
                 "--scales", "0.5,1", "--style-layers", "conv_1", "--weights", "random",
                 "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    counts = re.findall(r"\| *(\d+)/(\d+) \[", err)
    assert counts and {total for _, total in counts} == {"5"}
    assert counts[-1] == ("5", "5")  # ends full, never past it


def test_an_upsampled_input_is_said(images, tmp_path, capsys):
    assert main(["reconstruct", str(images / "content.png"), "-o", str(tmp_path / "o.png"),
                 "--size", "128", "--steps", "1", "--content-layers", "conv_1", "--weights",
                 "random", "--device", "cpu"]) == 0
    assert "note: the content image, 96x96 px, is upsampled 1.33x to --size 128" in \
        capsys.readouterr().err


def test_a_recorded_run_runs_again_to_the_same_image(images, tmp_path, capsys):
    content, style = str(images / "content.png"), str(images / "style.png")
    first = ["transfer", content, style, "--size", "48", "--steps", "4", "--style-layers",
             "conv_1,conv_3", "--style-weight", "2", "--precision", "fp32", "--weights",
             "random", "--device", "cpu", "--seed", "3", "--init", "noise"]
    assert main([*first, "-o", str(tmp_path / "a.tif"), "--json", str(tmp_path / "a.json")]) == 0
    for record in ("a.json", "a.tif"):  # the --json file, or the result image itself
        assert main(["transfer", content, style, "-o", str(tmp_path / "b.tif"),
                     "--from-json", str(tmp_path / record)]) == 0
        np.testing.assert_array_equal(read_image(tmp_path / "b.tif"),
                                      read_image(tmp_path / "a.tif"))
    # flags given with the record still win
    assert main(["transfer", content, style, "-o", str(tmp_path / "c.tif"), "--steps", "1",
                 "--from-json", str(tmp_path / "a.json"), "--json", str(tmp_path / "c.json")]) == 0
    params = json.loads((tmp_path / "c.json").read_text())["params"]
    assert params["steps"] == 1 and params["style_weight"] == 2 and params["seed"] == 3
    capsys.readouterr()
    assert main(["texture", style, "-o", str(tmp_path / "d.png"),
                 "--from-json", str(tmp_path / "a.json")]) == 2
    assert "records a transfer run" in _error_line(capsys)
    assert main(["transfer", content, style, "-o", str(tmp_path / "d.png"),
                 "--from-json", str(images / "content.png")]) == 2
    assert "carries no run record" in _error_line(capsys)


def test_a_config_written_as_a_command_line_reads_back_the_same():
    import shlex

    from napari_neural_style.cli.parser import build_parser, config_from
    from napari_neural_style.core.command_line import command_line
    from napari_neural_style.core.config import Config

    configs = [Config.for_task("transfer", style_weight=2.5, scales=(0.5, 1.0), seed=4,
                               weights="/data/my weights.pth", learning_rate=0.5,
                               style_layers="conv_1-3", init="noise", memory="lean"),
               Config.for_task("texture", size=128, coarse_steps=20, pooling="avg",
                               pixel_range="free"),
               Config.for_task("reconstruct")]
    for config in configs:
        line = command_line(config, {"content": "in put.png", "style": "style.png"})
        words = shlex.split(line)
        assert words[:2] == ["napari-neural-style", config.task]
        assert config_from(build_parser().parse_args(words[1:])) == config
    assert command_line(configs[2], {"content": "a.png"}) == \
        "napari-neural-style reconstruct a.png -o result.tif"


def test_a_style_at_its_own_pixel_size_from_the_command_line(images, photo, tmp_path):
    write_image(tmp_path / "small_style.png", photo[:40, :60] / 255)  # beside a 96 px content
    metrics = tmp_path / "m.json"
    assert main(["transfer", str(images / "content.png"), str(tmp_path / "small_style.png"),
                 "-o", str(tmp_path / "o.png"), "--style-size", "own", "--style-layers",
                 "conv_1", "--json", str(metrics), *FAST]) == 0
    params = json.loads(metrics.read_text())["params"]
    assert params["style_size"] == "working" and params["style_scale"] == [60 / 96]


def test_several_styles_blend_from_the_command_line(images, tmp_path, capsys):
    content, style = str(images / "content.png"), str(images / "style.png")
    common = ["--size", "48", "--steps", "2", "--style-layers", "conv_1", "--weights", "random",
              "--device", "cpu"]
    metrics = tmp_path / "m.json"
    assert main(["transfer", content, style, content, "-o", str(tmp_path / "o.png"),
                 "--style-blend", "3,1", "--style-scale", "1,0.5", "--json", str(metrics),
                 *common]) == 0
    params = json.loads(metrics.read_text())["params"]
    assert params["style_blend"] == [0.75, 0.25] and params["style_scale"] == [1.0, 0.5]
    for bad, message in [(["--style-blend", "1,2,3"], "style_blend gives 3 weights for 2 "),
                         (["--style-blend", "0,0"], "weights are all 0"),
                         (["--style-blend", "1,-2"], "must be numbers >= 0"),
                         (["--style-scale", "1,1,1"], "style_scale gives 3 values for 2")]:
        capsys.readouterr()
        assert main(["transfer", content, style, content, "-o", str(tmp_path / "x.png"), *bad,
                     *common]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert main(["texture", style, content, "-o", str(tmp_path / "t.png"), *common]) == 0


def test_a_blend_copies_as_a_command_line():
    import shlex

    from napari_neural_style.cli.parser import build_parser, config_from
    from napari_neural_style.core.command_line import command_line
    from napari_neural_style.core.config import Config

    config = Config.for_task("transfer", style_blend=(1, 2), style_scale=(1, 0.5))
    line = command_line(config, {"content": "c.png", "style": ["a.png", "b.png"]})
    assert "transfer c.png a.png b.png -o result.tif" in line
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert config_from(args) == config and [str(p) for p in args.style] == ["a.png", "b.png"]


def test_caffe_weights_from_the_command_line(images, tmp_path, capsys):
    import torch

    from napari_neural_style.core.weights import random_weights

    weights = tmp_path / "vgg19-d01eb7cb.pth"
    torch.save(random_weights(2).state, weights)
    common = [str(images / "content.png"), "--size", "32", "--steps", "1", "--content-layers",
              "conv_1", "--device", "cpu"]
    metrics = tmp_path / "m.json"
    assert main(["reconstruct", *common, "-o", str(tmp_path / "o.png"), "--weights",
                 str(weights), "--weights-format", "caffe", "--json", str(metrics)]) == 0
    record = json.loads(metrics.read_text())
    assert record["weights"]["format"] == "caffe" and "Caffe" in record["weights"]["label"]
    capsys.readouterr()
    assert main(["reconstruct", *common, "-o", str(tmp_path / "x.png"), "--weights", "random",
                 "--weights-format", "caffe"]) == 2
    assert "--weights-format caffe is for a file of converted Caffe weights" in \
        capsys.readouterr().err


def test_a_style_per_region_from_the_command_line(images, tmp_path, capsys):
    import numpy as np
    import tifffile

    content, style = str(images / "content.png"), str(images / "style.png")
    labels = np.zeros((96, 96), np.uint16)
    labels[:, 48:] = 2
    labels[:48, :48] = 1
    tifffile.imwrite(tmp_path / "labels.tif", labels)
    common = ["--size", "48", "--steps", "2", "--style-layers", "conv_1,conv_3", "--weights",
              "random", "--device", "cpu", "--regions", str(tmp_path / "labels.tif")]
    metrics = tmp_path / "m.json"
    assert main(["transfer", content, "-o", str(tmp_path / "o.png"), "--json", str(metrics),
                 "--region", f"1={style}:2", "--region", f"2={content}", "--region", "0=content",
                 *common]) == 0
    params = json.loads(metrics.read_text())["params"]
    assert params["regions"] == [[1, 0, 2.0], [2, 1, 1.0], [0, None, 0.0]]
    style_labels = np.ones((64, 96), np.uint8)  # the style image is 64 x 96
    tifffile.imwrite(tmp_path / "style-labels.tif", style_labels)
    assert main(["transfer", content, style, "-o", str(tmp_path / "s.png"),
                 "--region", f"1={style}", "--style-labels",
                 f"{style}={tmp_path / 'style-labels.tif'}", *common]) == 0
    capsys.readouterr()
    assert main(["transfer", content, "-o", str(tmp_path / "x.png"), "--region", f"3={style}",
                 *common]) == 2
    err = capsys.readouterr().err.strip()
    assert "label 3 is given a style but no pixel" in err and len(err.splitlines()) == 1, err
    with pytest.raises(SystemExit) as usage:
        main(["transfer", content, "-o", str(tmp_path / "x.png"), "--region", "x=content",
              *common])
    assert usage.value.code == 2 and "write LABEL=STYLE[:WEIGHT]" in capsys.readouterr().err


def test_regions_copy_as_a_command_line():
    import shlex

    from napari_neural_style.cli.parser import build_parser, config_from
    from napari_neural_style.core.command_line import command_line
    from napari_neural_style.core.config import Config

    config = Config.for_task("transfer", regions=((1, 1, 0.5), (2, 0, 1.0), (0, None, 0.0)))
    line = command_line(config, {"content": "c.png", "style": ["a.png", "b.png"],
                                 "labels": "l.tif"})
    assert "--regions l.tif --region 1=b.png:0.5 --region 2=a.png:1 --region 0=content" in line
    assert config_from(build_parser().parse_args(shlex.split(line)[1:])) == config


def test_every_frame_of_a_stack_from_the_command_line(images, tmp_path, capsys):
    import numpy as np
    import tifffile

    from napari_neural_style.core.samples import moving_sample

    grey = moving_sample("astronaut", 3, 40)[..., 0]
    tifffile.imwrite(tmp_path / "movie.tif", np.moveaxis(grey, 0, -1),  # frames last
                     photometric="minisblack")
    metrics = tmp_path / "m.json"
    common = [str(tmp_path / "movie.tif"), str(images / "style.png"), "--axis", "2", "--size",
              "40", "--steps", "3", "--frame-steps", "2", "--style-layers", "conv_1",
              "--weights", "random", "--device", "cpu"]
    assert main(["transfer", *common, "-o", str(tmp_path / "out.tif"), "--json",
                 str(metrics)]) == 0
    assert tifffile.imread(tmp_path / "out.tif").shape == (40, 40, 3, 3)  # frames where they were
    frames = json.loads(metrics.read_text())["frames"]
    assert frames["done"] == [0, 1, 2] and frames["steps"] == [3, 2, 2]
    # a start image and style labels reach the frames too (not silently dropped)
    labels = np.zeros((40, 40), np.uint8)
    labels[:, :20] = 1
    tifffile.imwrite(tmp_path / "labels.tif", np.repeat(labels[..., None], 3, axis=-1),
                     photometric="minisblack")  # (H, W, T), frames on axis 2 as the movie
    tifffile.imwrite(tmp_path / "style-labels.tif", np.ones((64, 96), np.uint8))
    style = str(images / "style.png")
    assert main(["transfer", *common, "-o", str(tmp_path / "regions.tif"), "--init",
                 str(images / "content.png"), "--regions", str(tmp_path / "labels.tif"),
                 "--region", f"1={style}", "--style-labels",
                 f"{style}={tmp_path / 'style-labels.tif'}"]) == 0
    capsys.readouterr()
    assert main(["transfer", *common, "-o", str(tmp_path / "bad.tif"), "--regions",
                 str(tmp_path / "labels.tif"), "--region", f"1={style}", "--style-labels",
                 f"{style}={tmp_path / 'labels.tif'}"]) == 2
    assert "style image 1's labels" in capsys.readouterr().err
    capsys.readouterr()
    assert main(["transfer", *common, "-o", str(tmp_path / "out.png")]) == 2
    assert ".png" in capsys.readouterr().err


def test_a_sweep_from_the_command_line_writes_a_stack_and_its_record(images, tmp_path, capsys):
    out, metrics = tmp_path / "sweep.tif", tmp_path / "sweep.json"
    code = main(["reconstruct", str(images / "content.png"), "-o", str(out), "--json",
                 str(metrics), "--sweep", "seed=1,2", "--init", "noise", *FAST])
    assert code == 0
    stack = tifffile.imread(out)
    assert stack.shape == (2, 48, 48, 3) and not np.array_equal(stack[0], stack[1])
    record = json.loads(metrics.read_text())
    assert record["sweep"] == "seed" and record["values"] == [1, 2]
    assert [entry["params"]["seed"] for entry in record["slices"]] == [1, 2]
    assert {entry["ran_on"] for entry in record["slices"]} == {"this process"}
    assert "sweep seed" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--sweep", "seed=1,2"], "a seed sweep needs --init noise"),
    (["--dask", "local:0", "--sweep", "steps=1,2"], "write local:N"),
])
def test_bad_sweeps_and_clusters_are_one_line(images, tmp_path, capsys, extra, message):
    code = main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(tmp_path / "x.tif"), *extra, *FAST])
    assert code == 2 and message in _error_line(capsys)


def test_estimate_says_time_and_memory_and_runs_nothing(images, tmp_path, capsys,
                                                         monkeypatch):
    from napari_neural_style.core import estimate, machine
    from napari_neural_style.core.config import Config

    monkeypatch.setattr(machine, "available_memory_mb", lambda: 100.0)
    estimate.save_calibration(Config.for_task("transfer", device="cpu"),
                              estimate.Calibration((0.01, 1.0), (300.0, 6.0), 0.8, 5.0))
    out = tmp_path / "out.tif"
    code = main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(out), "--estimate", "--device", "cpu"])
    assert code == 0 and not out.exists()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("estimate: ~") and "more than the 100 MB free: try --memory lean" \
        in line




def test_a_garbled_cache_is_one_warning_line_and_the_run_goes_on(images, tmp_path, capsys):
    from napari_neural_style.core import machine

    machine.cache_file().write_text('{"a measurement": [0.5, ')  # a write cut short
    out = tmp_path / "out.tif"
    code = main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(out), "--precision", "fp32", *FAST])
    assert code == 0 and read_image(out).shape == (48, 48, 3)
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line.lower()]
    assert len(warned) == 1 and warned[0].startswith(
        f"napari-neural-style: warning: the measurements of this machine kept in "
        f"{machine.cache_file()} could not be read"), warned

@pytest.mark.slow
def test_one_run_as_one_task_on_a_local_cluster(images, tmp_path, capsys):
    pytest.importorskip("distributed")
    out, metrics = tmp_path / "remote.tif", tmp_path / "remote.json"
    code = main(["transfer", str(images / "content.png"), str(images / "style.png"), "-o",
                 str(out), "--json", str(metrics), "--dask", "local:1", *FAST])
    assert code == 0 and read_image(out).shape == (48, 48, 3)
    record = json.loads(metrics.read_text())
    assert record["ran_on"].startswith("tcp://") and record["steps"] == 3
    assert "dask cluster local:1: 1 workers" in capsys.readouterr().err


def test_the_estimate_of_a_stack_is_of_one_frame(images, tmp_path, capsys, monkeypatch):
    import numpy as np
    import tifffile

    from napari_neural_style.core import estimate, machine
    from napari_neural_style.core.config import Config

    monkeypatch.setattr(machine, "available_memory_mb", lambda: None)
    calibration = estimate.Calibration((0.01, 1.0), (300.0, 6.0), 0.8, 5.0)
    estimate.save_calibration(Config.for_task("transfer", device="cpu"), calibration)
    frame = read_image(images / "content.png")
    tifffile.imwrite(tmp_path / "movie.tif", np.stack([frame] * 3), photometric="rgb")
    common = [str(images / "style.png"), "-o", str(tmp_path / "out.tif"), "--estimate",
              "--device", "cpu", "--size", "48"]
    assert main(["transfer", str(tmp_path / "movie.tif"), *common, "--axis", "0"]) == 0
    stack_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert main(["transfer", str(images / "content.png"), *common]) == 0
    frame_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert stack_line == f"{frame_line} (each of 3 frames)"


def test_every_option_of_a_task_has_its_flag():
    """The checklist of a new setting: its Option is all the command line needs."""
    from napari_neural_style.cli.parser import build_parser
    from napari_neural_style.core.config import OPTIONS, TASKS
    from napari_neural_style.core.frame_settings import FRAME_OPTIONS

    commands = next(action for action in build_parser()._actions
                    if action.dest == "command").choices
    for task in TASKS:
        flags = {flag for action in commands[task]._actions for flag in action.option_strings}
        wanted = [name for name, option in OPTIONS.items() if task in option.tasks]
        if task == "transfer":
            wanted += list(FRAME_OPTIONS)
        flag_of = {"regions": "--regions"}  # a label image and --region LABEL=STYLE
        missing = [name for name in wanted
                   if flag_of.get(name, f"--{name.replace('_', '-')}") not in flags]
        assert not missing, (task, missing)
