import textwrap

import pytest

from helpers import in_python

pytestmark = pytest.mark.slow


def test_napari_plugins_menu_every_widget_and_samples_do_not_import_torch():
    script = textwrap.dedent("""
        import sys
        import napari
        from qtpy.QtWidgets import QApplication

        viewer = napari.Viewer(show=True)
        menu_titles = []
        for action in viewer.window._qt_window.menuBar().actions():
            if action.text().replace("&", "") == "Plugins":
                menu = action.menu()
                menu.aboutToShow.emit()
                for entry in menu.actions():
                    menu_titles.append(entry.text())
                    if entry.menu() is not None:
                        entry.menu().aboutToShow.emit()
                        menu_titles += [sub.text() for sub in entry.menu().actions()]
        QApplication.processEvents()
        viewer.open_sample("napari-neural-style", "astronaut")
        for title in ("Style transfer", "Texture synthesis", "Content reconstruction",
                      "Sweeps", "Look inside", "Loss curves"):
            viewer.window.add_plugin_dock_widget("napari-neural-style", title)
        QApplication.processEvents()
        print("MENU", menu_titles)
        print("TORCH", "torch" in sys.modules)
        viewer.close()
    """)
    completed = in_python(script)
    assert "Style transfer" in completed.stdout, completed.stdout
    assert "TORCH False" in completed.stdout


def test_torchvision_imported_by_a_worker_after_napari_drew_does_not_crash():
    """Downloading the ImageNet weights imports torchvision, which imports triton; after
    Mesa's LLVM is loaded (napari has drawn an image) that crashed the process unless the
    worker loaded triton first (plugin/worker.py).  A fresh process: in the suite, triton may
    already be there."""
    script = textwrap.dedent("""
        import threading
        import numpy as np
        import napari
        from qtpy.QtWidgets import QApplication
        from napari_neural_style.plugin.worker import engine_work

        viewer = napari.Viewer(show=True)
        viewer.add_image(np.random.default_rng(0).random((64, 64, 3)))
        QApplication.processEvents()

        def work():
            with engine_work():
                import torchvision  # noqa: F401

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        print("IMPORTED")
        viewer.close()
    """)
    completed = in_python(script)
    assert "IMPORTED" in completed.stdout
