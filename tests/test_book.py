"""The built website (`make book`): every page there, executed, with figures, offline-ready."""

from __future__ import annotations

import re
import sys

import pytest
import yaml
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from plain_tokens import PLAIN_CLASSES, unwrap_plain_tokens  # noqa: E402

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


def _pygments_colours(theme: str) -> dict[str, str]:
    """Selector suffix ("" for the block itself, ".n", ...) -> colour, from the built pygments.css."""
    css = (SITE / "_static" / "pygments.css").read_text()
    rules = re.findall(r'html\[data-theme="' + theme + r'"\] \.highlight( \.[\w-]+)? \{([^}]*)\}', css)
    colours = {}
    for selector, body in rules:
        colour = re.search(r"(?<![-\w])color:\s*([^;}\s]+)", body)
        if colour:
            colours[selector.strip()] = colour.group(1).lower()
    return colours


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_tokens_written_as_plain_text_keep_their_colour(theme: str) -> None:
    """tools/plain_tokens.py drops the spans of names, punctuation and whitespace in code blocks:
    right only while the highlighting style draws them in the block's own colour."""
    colours = _pygments_colours(theme)
    assert "" in colours, f"no base colour for code blocks in the {theme} theme"
    for cls in PLAIN_CLASSES:
        assert colours.get(f".{cls}", colours[""]) == colours[""], (
            f"the {theme} style draws .{cls} in {colours[f'.{cls}']}, not the block's {colours['']}: "
            "its spans must stay (remove it from PLAIN_CLASSES)")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_blocks_are_light_and_keep_their_text(chapter: str) -> None:
    html = _page(f"book/{chapter}")
    blocks = re.findall(r"<pre>.*?</pre>", html, flags=re.S)
    assert blocks, f"{chapter} has no code blocks"
    plain = [b for b in blocks if re.search(r'<span class="(?:' + "|".join(PLAIN_CLASSES) + r')">', b)]
    assert not plain, f"{chapter}: {len(plain)} code blocks still wrap names or punctuation in spans"
    assert sum(b.count('<span class="k">') + b.count('<span class="o">') for b in blocks) > 50, (
        f"{chapter}: keywords and operators are no longer highlighted")
    text = lambda h: re.sub(r"<[^>]+>", "", h)  # noqa: E731
    assert [text(b) for b in blocks] == [text(unwrap_plain_tokens(b)) for b in blocks]


def test_plain_tokens_unwraps_only_inside_code_blocks() -> None:
    sample = '<pre><span class="n">x</span><span class="w"> </span><span class="o">=</span><span class="p">(</span></pre>'
    assert unwrap_plain_tokens(sample) == '<pre>x <span class="o">=</span>(</pre>'
    outside = '<p><span class="n">kept</span></p>'
    assert unwrap_plain_tokens(outside) == outside


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_math_pages_preload_what_mathjax_fetches_late(chapter: str) -> None:
    """Fonts and the lazy-typesetting component are requested while the page parses, not after
    tex-chtml.js has run (tools/math_fonts.py); the files they name exist."""
    html = _page(f"book/{chapter}")
    preloads = re.findall(r'<link rel="preload" href="([^"]+)" as="(font|script)"', html)
    names = {href.rsplit("/", 1)[-1] for href, _ in preloads}
    assert {"lazy.js", "MathJax_Main-Regular.woff", "MathJax_Math-Italic.woff"} <= names, names
    for href, _ in preloads:
        assert (SITE / "book" / href.split("?")[0]).resolve().exists(), f"{chapter} preloads a missing {href}"
    config = re.search(r"window\.MathJax = (\{.*?\})</script>", html)
    assert config and '"ui/lazy"' in config.group(1), "MathJax is not configured to typeset lazily"
