import json
import re

from napari_neural_style import demo


def test_headless_demo_writes_results_and_says_which_weights(tmp_path, capsys, monkeypatch):
    def offline(spec, **kwargs):
        if spec == "imagenet":
            raise demo.WeightsError("no ImageNet weights here (test)")
        return original(spec, **kwargs)

    original = demo.resolve_weights
    monkeypatch.setattr(demo, "resolve_weights", offline)
    assert demo.main(["--headless", "--out", str(tmp_path), "--size", "64", "--steps", "2"]) == 0
    for task in ("reconstruct", "texture", "transfer"):
        assert (tmp_path / f"{task}.png").is_file()
        record = json.loads((tmp_path / f"{task}.json").read_text())
        assert record["task"] == task and record["weights"]["source"] == "random"
        # the run records the network that ran, so it reruns as it was (and its defaults,
        # such as coarse to fine from noise, follow the untrained network)
        assert record["params"]["weights"] == "random"
    assert (tmp_path / "grid.png").is_file()
    err = capsys.readouterr().err
    assert "no ImageNet weights here" in err and "untrained VGG-19" in err
    # progress counts the steps of every scale, and each run's ends at its total
    progress = re.findall(r"demo: (.+?): step (\d+)/(\d+)", err)
    assert {title for title, _, _ in progress} == {"reconstruction from conv_4",
                                                   "texture, conv_2,4,8,16",
                                                   "transfer: astronaut x hubble"}
    last = {title: (int(step), int(total)) for title, step, total in progress}
    assert all(step == total for step, total in last.values()), last
    assert last["texture, conv_2,4,8,16"][1] == 4  # from noise coarse to fine: 32 and 64 px
