"""The shape of the code: one door from the plugin into the engine, short functions."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "napari_neural_style"
#: core modules importable without torch (the widgets read these on napari's main thread)
TORCH_FREE = ("config", "device", "errors", "estimate", "image_files", "result", "sweep_spec",
              "vgg_layers")
#: the one plugin module that runs the engine (in worker threads)
DOOR = "worker.py"


def core_modules_imported(path: Path) -> set[str]:
    """Names of the ``core`` modules a plugin module imports, however it spells them."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 0 and parts[:2] == ["napari_neural_style", "core"]:
                parts = parts[1:]
            if node.level in (0, 2) and parts[0] == "core":
                found.update(parts[1:2] or [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["napari_neural_style", "core"]:
                    found.add(parts[2] if len(parts) > 2 else "core")
    return found


def test_only_the_worker_imports_engine_modules():
    plugin_modules = sorted((PACKAGE / "plugin").glob("*.py"))
    assert DOOR in {path.name for path in plugin_modules}
    reaching_in = {path.name: sorted(core_modules_imported(path) - set(TORCH_FREE))
                   for path in plugin_modules if path.name != DOOR}
    assert not any(reaching_in.values()), reaching_in
    assert core_modules_imported(PACKAGE / "plugin" / DOOR) - set(TORCH_FREE)


def test_the_import_check_sees_every_spelling(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("from ..core.tasks import Run\nfrom ..core import sweeps\n"
                      "import napari_neural_style.core.images\n"
                      "from napari_neural_style.core.objective import Losses\n")
    assert core_modules_imported(module) == {"tasks", "sweeps", "images", "objective"}


@pytest.mark.slow
def test_torch_free_core_modules_do_not_import_torch():
    imports = "; ".join(f"import napari_neural_style.core.{name}" for name in TORCH_FREE)
    completed = subprocess.run(
        [sys.executable, "-c", f"import sys; {imports}; print('torch' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


@pytest.mark.slow
def test_dask_is_imported_only_when_a_cluster_is_asked_for(tmp_path):
    """A sweep in this process and the widgets' modules leave dask.distributed alone."""
    script = ("import sys, numpy as np\n"
              "import napari_neural_style.cli, napari_neural_style.plugin.sweep_widget\n"
              "import napari_neural_style.plugin.stack_widget\n"
              "from napari_neural_style.core.config import Config\n"
              "from napari_neural_style.core.sweeps import Sweep\n"
              "sweep = Sweep(Config('reconstruct', 'conv_1', size=16, steps=1, "
              "weights='random', device='cpu'), 'seed', (0, 1), content=np.zeros((16, 16, 3)))\n"
              "list(sweep)\n"
              "print('distributed' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "False"


def test_no_function_is_longer_than_40_lines():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 40:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} "
                                f"({length} lines)")
    assert not long, long


def test_the_plugin_needs_no_extra_beyond_napari_itself():
    """napari's plugin installer installs a plugin's dependencies, never its extras: every
    package the widgets import must be a plain dependency (napari, the host, aside)."""
    import sys
    from importlib.metadata import packages_distributions, requires

    base = {requirement.split(";")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower()
            for requirement in requires("napari-neural-style") if "extra ==" not in requirement}
    distributions = packages_distributions()
    needed = set()
    for path in (PACKAGE / "plugin").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "napari_neural_style":
                    needed.update(dist.lower() for dist in distributions.get(top, [top]))
    assert "pyqtgraph" in needed
    # triton: loaded first only where torch's own build brought it (plugin/worker.py)
    assert needed - base - {"napari", "triton"} == set(), needed - base


def test_the_preferences_agree_with_the_engines_options():
    import yaml

    from napari_neural_style.core.config import OPTIONS
    from napari_neural_style.plugin.settings import REMEMBERED

    manifest = yaml.safe_load((PACKAGE / "napari.yaml").read_text())
    properties = manifest["contributions"]["configurations"]["runs"]["properties"]
    assert set(properties) == set(REMEMBERED)
    for name, schema in properties.items():
        option = OPTIONS.get(name)
        if option is None:
            continue
        assert schema["title"] == option.label, name
        if option.choices:
            assert schema["enum"] == list(option.choices), name
        if option.high is not None:
            assert schema["maximum"] == option.high, name
