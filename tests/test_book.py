"""The built website (`make book`): every page there, executed, with figures, offline-ready."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO

pytestmark = pytest.mark.book
SITE = REPO / "_build" / "html"
CHAPTERS = ["01_rnn", "02_gradients", "03_lstm", "04_gru", "05_seq2seq"]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def _page(name: str) -> str:
    path = SITE / f"{name}.html"
    assert path.exists(), f"{path} was not built: run `make book`"
    return path.read_text()


def test_toc_lists_the_chapters_in_syllabus_order() -> None:
    files = [f for f in _toc_files() if f in {f"book/{c}" for c in CHAPTERS}]
    assert files == [f"book/{c}" for c in CHAPTERS]


@pytest.mark.parametrize("name", _toc_files())
def test_page_is_built_without_errors(name: str) -> None:
    html = _page(name)
    assert "Traceback (most recent call last)" not in html
    assert 'class="output traceback' not in html and "cell_output error" not in html


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_is_executed_with_figures_and_checks(chapter: str) -> None:
    html = _page(f"book/{chapter}")
    figures = re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', html)
    assert len(figures) >= 4, f"{chapter} shows {len(figures)} figures, expected at least 4"
    source = (REPO / "book" / f"{chapter}.md").read_text()
    code = "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", source, flags=re.S))
    checks = len(re.findall(r"\bassert\b|assert_allclose|assert_array_equal", code))
    assert checks >= 8, f"{chapter} has {checks} executed checks, expected at least 8"
    assert "{exercise}" in source and ":class: dropdown" in source, "no hidden-answer questions"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_math_is_rendered_by_the_local_mathjax(chapter: str) -> None:
    html = _page(f"book/{chapter}")
    assert re.search(r'<script[^>]+src="[./]*_static/mathjax/tex-chtml\.js', html), "MathJax is not local"
    assert (SITE / "_static" / "mathjax" / "tex-chtml.js").exists()


def test_nothing_is_fetched_from_another_site() -> None:
    for path in SITE.rglob("*.html"):
        html = path.read_text()
        external = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html)
        assert not external, f"{path.relative_to(SITE)} loads external resources: {external[:3]}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_markdown_tables_in_outputs_are_rendered(chapter: str) -> None:
    """A table that a cell displays as Markdown must reach the reader as a table, not as a
    paragraph of pipes (what myst-nb's default CommonMark renderer made of chapter 5's study)."""
    html = _page(f"book/{chapter}")
    raw = re.findall(r"<p>\|[^<]*\|\s*\n\|[-—:| ]+\|", html)
    assert not raw, f"{chapter}: {len(raw)} Markdown table(s) printed as text, e.g. {raw[0][:120]!r}"
    source = (REPO / "book" / f"{chapter}.md").read_text()
    if "markdown_table(" in source:
        assert "<table" in html.split('<div class="cell_output', 1)[-1], f"{chapter}: no table in any output"
