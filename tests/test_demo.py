import json

from napari_neural_style import demo


def test_headless_demo_writes_results_and_says_which_weights(tmp_path, capsys, monkeypatch):
    def offline(spec, **kwargs):
        if spec == "imagenet":
            raise demo.WeightsError("no ImageNet weights here (test)")
        return original(spec, **kwargs)

    original = demo.resolve_weights
    monkeypatch.setattr(demo, "resolve_weights", offline)
    assert demo.main(["--headless", "--out", str(tmp_path), "--size", "48", "--steps", "2"]) == 0
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
