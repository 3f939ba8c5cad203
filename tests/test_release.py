"""What a release publishes: the wheel's metadata as PyPI and the napari hub read it, one
version named alike everywhere, and a CI workflow that tests what the metadata claims."""

import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml

import napari_neural_style

ROOT = Path(__file__).parents[1]
VERSION = napari_neural_style.__version__
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel of this source tree, built as pip builds it (without fetching the build
    tools again)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (built,) = out.glob("*.whl")
    return zipfile.ZipFile(built)


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}")]
    return wheel.read(path).decode()


def test_the_wheel_carries_what_pypi_and_the_napari_hub_show(wheel):
    metadata = Parser().parsestr(_dist_info(wheel, "METADATA"))
    assert metadata["Name"] == "napari-neural-style" and metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata["License-File"] == "LICENSE" and any(
        n.endswith(".dist-info/licenses/LICENSE") for n in wheel.namelist())
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert {"Source Code", "Bug Tracker", "Documentation", "Changelog"} <= set(urls)
    classifiers = set(metadata.get_all("Classifier"))
    assert {"Framework :: napari", "Intended Audience :: Science/Research",
            "Operating System :: OS Independent"} <= classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert "napari" in metadata["Keywords"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "napari_neural_style:napari.yaml" in _dist_info(wheel, "entry_points.txt")
    assert "napari_neural_style/napari.yaml" in wheel.namelist()


def test_one_version_is_named_in_the_changelog_and_the_citation():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(VERSION)}\]", changelog, re.MULTILINE), (
        f"CHANGELOG.md has no section for version {VERSION}")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == VERSION
    assert {"cff-version", "message", "title", "authors"} <= set(citation)
    assert {reference["year"] for reference in citation["references"]} == {2015, 2016}


def test_ci_tests_every_os_and_the_python_versions_the_metadata_claims():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    claimed = sorted(c.rsplit(" ", 1)[1] for c in project["classifiers"]
                     if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    oldest = project["requires-python"].removeprefix(">=")
    assert claimed[0] == oldest and matrix["python-version"] == [claimed[0], claimed[-1]]


def test_a_release_publishes_by_trusted_publishing_on_a_version_tag():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "v*" in workflow[True]["push"]["tags"]  # YAML 1.1 reads the key "on" as True
    release = workflow["jobs"]["release"]
    assert release["permissions"] == {"id-token": "write"}
    assert set(release["needs"]) == {"test", "dist", "installed"}
    assert any(step.get("uses", "").startswith("pypa/gh-action-pypi-publish")
               for step in release["steps"])
