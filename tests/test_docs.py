"""The docs a user reads: the command line reference is the parser's, and every relative link
and picture in README.md and docs/ leads somewhere."""

import re
from pathlib import Path

import pytest

from napari_neural_style.cli.reference import reference

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: [text](target) and ![alt](target), the target up to a space or the closing parenthesis
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_the_command_line_reference_is_regenerated():
    page = (ROOT / "docs" / "cli.md").read_text()
    assert page == reference(), ("docs/cli.md is out of date: python -m "
                                 "napari_neural_style.cli.reference > docs/cli.md")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped but
    hyphens and underscores, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_and_picture_resolves(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)  # code is not links
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        missing = anchor and linked.suffix == ".md" and anchor not in anchors(linked)
        if not linked.exists() or missing:
            broken.append(target)
    assert broken == [], f"{page.name}: {broken}"
