from napari_neural_style.core.result import versions


def test_runs_need_no_torchvision_at_all(monkeypatch):
    import importlib.metadata

    real_version = importlib.metadata.version

    def version(name):
        if name == "torchvision":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert versions()["torchvision"] is None and versions()["torch"]
