"""The plugin as napari's plugin manager installs it: run with the Python of an environment that
holds napari, a Qt binding and the built wheel, nothing else (scripts/check_distribution.sh
makes one).  Checks that the package is the installed one, docks every widget the manifest
lists, runs a tiny transfer through the Style transfer widget and one through the installed
command line.  Needs a display (Xvfb on a server).  Exit status 0 when all of it worked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGIN = "napari-neural-style"
TINY = {"weights": "random", "device": "cpu", "size": 48, "steps": 3}


def installed_package() -> Path:
    """Where the plugin was imported from: an installed wheel, never a source tree."""
    import napari_neural_style

    location = Path(napari_neural_style.__file__).parent
    if "site-packages" not in location.parts:
        sys.exit(f"smoke: napari_neural_style was imported from {location}, not an installed wheel")
    return location


def dock_every_widget(viewer) -> dict:
    """Each widget of the manifest, docked as the Plugins menu docks it."""
    from npe2 import PluginManager

    manifest = PluginManager.instance().get_manifest(PLUGIN)
    docked = {}
    for contribution in manifest.contributions.widgets:
        _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, contribution.display_name)
        docked[contribution.display_name] = widget
    return docked


def transfer_in_napari(viewer, widget, timeout: float = 600) -> None:
    from qtpy.QtWidgets import QApplication

    for name, value in TINY.items():
        getattr(widget, name).value = value
    if widget.start() is None:
        sys.exit(f"smoke: the Style transfer widget did not start: {widget.status.value}")
    deadline = time.monotonic() + timeout
    while widget.worker is not None:
        if time.monotonic() > deadline:
            sys.exit(f"smoke: the transfer in napari did not end in {timeout} s")
        QApplication.processEvents()
        time.sleep(0.05)
    layer = widget.result_layer
    if layer is None or layer not in viewer.layers or not layer.data.any():
        sys.exit(f"smoke: the transfer in napari gave no result: {widget.status.value}")


def transfer_on_the_command_line(content, style) -> None:
    from PIL import Image

    command = shutil.which(PLUGIN, path=str(Path(sys.executable).parent))
    if command is None:
        sys.exit(f"smoke: the {PLUGIN} command is not installed beside {sys.executable}")
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder, name) for name in ("content.png", "style.png", "out.tif")]
        Image.fromarray(content).save(paths[0])
        Image.fromarray(style).save(paths[1])
        flags = [f"--{name}={value}" for name, value in TINY.items()]
        completed = subprocess.run([command, "transfer", *map(str, paths[:2]), "-o",
                                    str(paths[2]), *flags], capture_output=True, text=True)
        if completed.returncode or not paths[2].exists():
            sys.exit(f"smoke: {PLUGIN} transfer failed ({completed.returncode}): "
                     f"{completed.stderr.strip()}")


def main() -> None:
    import napari

    from napari_neural_style.core.samples import load_sample

    location = installed_package()
    content, style = (load_sample(name)[:256:4, :256:4]  # 64 x 64 px
                      for name in ("astronaut", "hubble_deep_field"))
    viewer = napari.Viewer(show=False)
    try:
        viewer.add_image(content, name="astronaut")
        viewer.add_image(style, name="hubble")
        docked = dock_every_widget(viewer)
        transfer_in_napari(viewer, docked["Style transfer"])
    finally:
        viewer.close()
    transfer_on_the_command_line(content, style)
    print(f"smoke: {len(docked)} widgets docked, a transfer ran in napari and on the command "
          f"line, from {location}")


if __name__ == "__main__":
    main()
