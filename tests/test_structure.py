"""The shape of the code: who may import whom, one door from the plugin into the engine,
short functions and modules, no measured figures or dates in the code."""

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "napari_neural_style"
#: core modules importable without torch (the widgets read these on napari's main thread)
TORCH_FREE = ("cluster_backend", "command_line", "config", "device", "errors", "estimate",
              "frame_settings", "geometry", "image_files", "machine", "presets", "pyramid",
              "result", "samples", "stopping", "sweep_spec", "text_fields", "tile_grid",
              "validation", "vgg_layers", "weight_kinds")
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


def module_imports(path: Path) -> set[str]:
    """The package modules ``path`` imports at module level (not inside functions), as
    dotted names below the package (``core.config``, ``cli.parser``, ``plugin``)."""
    package = path.relative_to(PACKAGE).with_suffix("").parts[:-1]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
            elif (node.module or "").startswith("napari_neural_style"):
                target = node.module.split(".")[1:]
            else:
                continue
            found.update(".".join([*target, alias.name]) if _is_module([*target, alias.name])
                         else ".".join(target) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(".".join(alias.name.split(".")[1:]) for alias in node.names
                         if alias.name.startswith("napari_neural_style."))
    return {name for name in found if name}


def _is_module(parts: list[str]) -> bool:
    path = PACKAGE.joinpath(*parts)
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _module_path(name: str) -> Path:
    path = PACKAGE.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imports_torch(path: Path) -> bool:
    return any(isinstance(node, ast.Import | ast.ImportFrom) and any(
        (getattr(node, "module", None) or alias.name).split(".")[0] == "torch"
        for alias in node.names) for node in ast.parse(path.read_text()).body)


def test_the_import_graph_runs_one_way():
    """core never imports plugin or cli; plugin never imports cli; the torch-free spec
    imports, at module level and through every module it reaches, nothing that imports
    torch."""
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        reached = {name.split(".")[0] for name in module_imports(path)}
        if layer == "core":
            assert not reached & {"plugin", "cli"}, path
        if layer == "plugin":
            assert "cli" not in reached, path
    for name in TORCH_FREE:
        seen, todo = set(), [f"core.{name}"]
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            assert not _imports_torch(_module_path(module)), f"core.{name} reaches {module}"
            todo.extend(module_imports(_module_path(module)))


def test_the_import_graph_check_sees_relative_and_absolute_imports(tmp_path):
    path = PACKAGE / "plugin" / "fields.py"
    assert {"core.config", "core.text_fields", "plugin.messages"} <= module_imports(path)
    assert "core.config" in module_imports(PACKAGE / "cli" / "parser.py")
    assert _imports_torch(PACKAGE / "core" / "terms.py")


def test_no_module_is_longer_than_400_lines():
    long = {str(path.relative_to(PACKAGE)): length for path in PACKAGE.rglob("*.py")
            if (length := len(path.read_text().splitlines())) > 400}
    assert not long, long


#: a date, a measured figure (a number with a unit or a ratio) and a pointer to a benchmark:
#: these belong in docs/performance.md and the changelog, not in code, comments or help
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
FIGURE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?\s?(?:ms|dB|[KMG]i?B|%|x(?!\w))")
BENCHMARK = re.compile(r"benchmarks/")


def prose(path: Path):
    """(line, text) of every comment and string in ``path``, f-strings' fields left out."""
    for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING) or \
                token.type == getattr(tokenize, "FSTRING_MIDDLE", None):
            yield token.start[0], re.sub(r"\{[^{}]*\}", "", token.string)


def test_no_dates_or_measured_figures_in_the_code():
    found = [f"{path.relative_to(PACKAGE)}:{line}: {match.group(0)}"
             for path in PACKAGE.rglob("*.py") for line, text in prose(path)
             for pattern in (DATE, FIGURE, BENCHMARK) for match in pattern.finditer(text)]
    assert not found, found


def test_the_figures_check_finds_what_it_should(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('# at 512 px a map is 67 MB, 1.39x slower (benchmarks/memory.py)\n'
                      'HELP = "as before 2026-11-30, 0.3 % off"\n'
                      'label = f"{share:.0%} done, 2x2 pooling, conv_16, 8-bit"\n')
    found = [match.group(0) for _, text in prose(sample)
             for pattern in (DATE, FIGURE, BENCHMARK) for match in pattern.finditer(text)]
    assert sorted(found) == sorted(["2026-11-30", "67 MB", "1.39x", "0.3 %", "benchmarks/"])


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
    assert set(properties) == {*REMEMBERED, "open_groups"}
    for name, schema in properties.items():
        option = OPTIONS.get(name)
        if option is None:
            continue
        assert schema["title"] == option.label, name
        if option.choices:
            assert schema["enum"] == list(option.choices), name
        if option.high is not None:
            assert schema["maximum"] == option.high, name
