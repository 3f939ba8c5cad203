"""The command line never loses a run: outputs are checked before any work, an interrupted or
failed run writes what it made, a failed write goes to a rescue file."""

import json
import os
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

from helpers import CPU_OUT_OF_MEMORY, fail_evaluation, png_declaring, tiff_declaring
from napari_neural_style.cli import main
from napari_neural_style.core import batch
from napari_neural_style.core.image_files import image_suffixes, read_provenance, write_image

FAST = ["--size", "48", "--weights", "random", "--device", "cpu"]


@pytest.fixture
def content(tmp_path, photo):
    return str(write_image(tmp_path / "content.png", photo / 255))


def _lines(capsys) -> list[str]:
    lines = capsys.readouterr().err.strip().splitlines()
    assert not any("Traceback" in line for line in lines)
    return lines


@pytest.mark.parametrize(("output", "json_name", "says"), [
    ("result.xyz", None, "unknown file type .xyz; use one of .tif, .tiff, .png"),
    ("result", None, "unknown file type (no extension)"),
    ("a-file/result.png", None, "a-file is a file, not a folder"),
    ("a-folder", None, "it is a folder"),
    ("content.png", None, "-o {dir}/content.png is the content image"),
    ("result.png", "a-file/m.json", "a-file is a file, not a folder"),
    ("result.png", "result.png", "-o and --json name the same file"),
])
def test_an_output_that_cannot_be_written_exits_2_before_any_work(
        tmp_path, content, capsys, monkeypatch, output, json_name, says):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-folder").mkdir()
    monkeypatch.setattr(batch, "resolve_weights", pytest.fail)  # no work may start
    extra = ["--json", str(tmp_path / json_name)] if json_name else []
    assert main(["reconstruct", content, "-o", str(tmp_path / output), *extra, *FAST]) == 2
    (line,) = _lines(capsys)
    assert line.startswith("napari-neural-style: error: cannot write") or "-o" in line
    assert says.format(dir=tmp_path) in line


def test_a_read_only_folder_is_refused(tmp_path, content, capsys, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root may write anywhere
    assert main(["reconstruct", content, "-o", str(tmp_path / "new" / "r.png"), *FAST]) == 2
    assert "is not writable (permission denied)" in _lines(capsys)[0]


def test_a_missing_folder_is_made(tmp_path, content):
    assert main(["reconstruct", content, "-o", str(tmp_path / "a" / "b" / "r.png"),
                 "--steps", "1", *FAST]) == 0
    assert (tmp_path / "a" / "b" / "r.png").is_file()


def test_every_advertised_suffix_is_written(tmp_path, photo):
    for suffix in image_suffixes():
        assert write_image(tmp_path / f"r{suffix}", photo / 255).stat().st_size > 0


def test_running_out_of_memory_keeps_the_result_so_far(tmp_path, content, capsys, monkeypatch):
    fail_evaluation(monkeypatch, 5, CPU_OUT_OF_MEMORY)
    out, record = tmp_path / "r.png", tmp_path / "r.json"
    assert main(["reconstruct", content, "-o", str(out), "--json", str(record),
                 "--steps", "20", *FAST]) == 1
    lines = _lines(capsys)
    assert ("napari-neural-style: error: out of memory on cpu at 48 px: try --memory lean or "
            "a smaller --size 24") in lines
    assert any(line.startswith(f"wrote {out} (the result so far: 3 steps, cancelled")
               for line in lines)
    for provenance in (read_provenance(out), json.loads(record.read_text())):
        assert provenance["cancelled"] and provenance["steps"] == 3
        assert provenance["stopped_by"].startswith("out of memory on cpu")


def test_out_of_memory_before_the_first_step_writes_nothing(tmp_path, content, capsys,
                                                            monkeypatch):
    fail_evaluation(monkeypatch, 1, CPU_OUT_OF_MEMORY)
    assert main(["reconstruct", content, "-o", str(tmp_path / "r.png"), *FAST]) == 1
    assert "out of memory" in " ".join(_lines(capsys)) and not (tmp_path / "r.png").exists()


def test_a_failed_write_lands_in_a_rescue_file(tmp_path, content, capsys, monkeypatch):
    from napari_neural_style.cli import output

    out, write = tmp_path / "r.png", output.write_image

    def disk_full(path, *args, **kwargs):
        if path == out:
            raise OSError(28, "No space left on device")
        return write(path, *args, **kwargs)

    monkeypatch.setattr(output, "write_image", disk_full)
    assert main(["reconstruct", content, "-o", str(out), "--steps", "2", *FAST]) == 1
    (rescue,) = tmp_path.glob("r-rescued-*.tif")
    assert read_provenance(rescue)["steps"] == 2 and not out.exists()
    assert (f"could not write {out} (No space left on device); saved it as {rescue} instead"
            in _lines(capsys)[-2])


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="Windows sends no SIGINT or SIGTERM to a child")
@pytest.mark.parametrize(("signal_number", "status"),
                         [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_writes_the_result_so_far(tmp_path, content, signal_number, status):
    out, record = tmp_path / "r.tif", tmp_path / "r.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "napari_neural_style", "reconstruct", content, "-o", str(out),
         "--json", str(record), "--steps", "100000", *FAST], stderr=subprocess.PIPE)
    reached, seen = threading.Event(), []

    def watch():  # tqdm's bar on stderr: "... 3/100000 ..."
        for chunk in iter(lambda: process.stderr.read1(4096), b""):
            seen.append(chunk.decode(errors="replace"))
            counts = re.findall(r"(\d+)/100000", "".join(seen))
            if counts and int(counts[-1]) >= 3:
                reached.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert reached.wait(120), "".join(seen)
    process.send_signal(signal_number)
    assert process.wait(60) == status
    watcher.join(10)
    steps = json.loads(record.read_text())["steps"]
    assert steps >= 3 and json.loads(record.read_text())["cancelled"]
    assert read_provenance(out)["steps"] == steps
    assert f"wrote {out} (the result so far: {steps} steps, cancelled" in "".join(seen)


def test_a_bad_output_is_refused_before_torch_is_imported(tmp_path, content):
    code = ("import sys; from napari_neural_style.cli import main; "
            f"status = main(['transfer', {content!r}, {content!r}, '-o', 'r.xyz']); "
            "sys.exit(100 + status if 'torch' in sys.modules else status)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=tmp_path, check=False)
    assert completed.returncode == 2, completed.stderr


def test_init_takes_a_file_to_start_from(tmp_path, content, texture, capsys):
    start = write_image(tmp_path / "start.png", texture / 255)
    out, record = tmp_path / "r.tif", tmp_path / "r.json"
    assert main(["transfer", content, str(start), "-o", str(out), "--json", str(record),
                 "--init", str(start), "--steps", "1", *FAST]) == 0
    assert json.loads(record.read_text())["params"]["init"] == "image"
    assert main(["transfer", content, str(start), "-o", str(out), "--init", "image",
                 *FAST]) == 2
    assert "--init image needs the file to start from: write --init PATH" in _lines(capsys)[-1]
    assert main(["transfer", content, str(start), "-o", str(out), "--init",
                 str(tmp_path / "absent.png"), "--steps", "1", *FAST]) == 2
    assert "absent.png: no such file" in _lines(capsys)[-1]


def test_a_sweep_that_runs_out_of_memory_writes_the_values_done(tmp_path, content, capsys,
                                                                monkeypatch):
    fail_evaluation(monkeypatch, 8, CPU_OUT_OF_MEMORY)  # in the second value's run
    out = tmp_path / "sweep.tif"
    assert main(["reconstruct", content, "-o", str(out), "--steps", "3",
                 "--sweep", "content_layers=conv_1,conv_2", *FAST]) == 1
    lines = _lines(capsys)
    assert any(line.startswith("napari-neural-style: error: out of memory on cpu")
               for line in lines)
    record = read_provenance(out)
    assert record["status"] == "cancelled" and record["values"][0] == "conv_1"
    assert not record["slices"][0]["cancelled"]


def test_an_interrupted_stack_writes_the_frames_done(tmp_path, content, photo, capsys,
                                                      monkeypatch):
    import numpy as np
    import tifffile

    tifffile.imwrite(tmp_path / "movie.tif", np.stack([photo, np.roll(photo, 4, axis=1),
                                                      np.roll(photo, 8, axis=1)]))
    fail_evaluation(monkeypatch, 6, KeyboardInterrupt())  # frame 2, after two steps
    out = tmp_path / "frames.tif"
    assert main(["transfer", str(tmp_path / "movie.tif"), content, "-o", str(out), "--axis",
                 "0", "--temporal", "none", "--steps", "3", *FAST]) == 128 + signal.SIGINT
    assert "napari-neural-style: interrupted" in _lines(capsys)
    frames = read_provenance(out)["frames"]
    assert frames["done"] == [0] and frames["cancelled"] == [1] and frames["not_done"] == [2]


def test_huge_inputs_and_tiles_too_small_are_one_line(tmp_path, content, capsys, monkeypatch,
                                                      caplog):
    from napari_neural_style.core import machine

    monkeypatch.setattr(machine, "available_memory_mb", lambda: 16_000.0)
    png_declaring(tmp_path / "big.png", 40_000, 40_000)
    out = str(tmp_path / "r.png")
    assert main(["transfer", str(tmp_path / "big.png"), content, "-o", out, *FAST]) == 2
    (line,) = _lines(capsys)
    assert "big.png is 40000 x 40000 px" in line and "as a TIFF" in line
    tiff_declaring(tmp_path / "huge.tif", 10**6, 10**6)
    assert main(["transfer", str(tmp_path / "huge.tif"), content, "-o", out, *FAST]) == 2
    (line,) = _lines(capsys)
    # its strips are read (the working size is far smaller) and found missing
    assert "huge.tif" in line and "1000000 x 1000000 px" in line
    write_image(tmp_path / "whole.ome.tif", np.random.default_rng(0).random((700, 600, 3)))
    whole = (tmp_path / "whole.ome.tif").read_bytes()
    (tmp_path / "cut.ome.tif").write_bytes(whole[:len(whole) // 3])
    assert main(["transfer", str(tmp_path / "cut.ome.tif"), content, "-o", out, *FAST]) == 2
    (line,) = _lines(capsys)
    assert line.startswith("napari-neural-style: error: cannot read") and "cut.ome.tif" in line
    assert not [record for record in caplog.records if record.name == "tifffile"]  # on stderr
    assert main(["transfer", content, content, "-o", str(tmp_path / "s.ome.tif"), "--sweep",
                 "style_weight=1,2", *FAST]) == 2
    assert _lines(capsys)[-1].endswith("this run makes a stack; write it as .tif")
    assert main(["transfer", content, content, "-o", out, "--tile", "8", *FAST]) == 2
    (line,) = _lines(capsys)
    assert line.endswith("tile must be in 16..65536 px (0: no tiles), not 8")
    assert main(["reconstruct", content, "-o", out, "--tile", "16", "--steps", "2",
                 *FAST]) == 0
    assert read_provenance(out)["params"]["tile"] == 16
