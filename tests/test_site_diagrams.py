"""The schematic diagrams (``book/diagrams.py``) as readers see them, in Chromium.

For every diagram cell of every chapter (a cell that calls ``diagrams.``, whose figure is named in
its ``mystnb: figure:`` metadata) the built page must hold the figure, its image must load, be an
SVG whose glyphs are drawn as paths (identical in every browser, no font needed), and be shown at
no less than ``MIN_SCALE`` of its natural size at the site's width, so that its labels stay legible.
A screenshot of each diagram, caption included, is saved in ``screenshots/diagrams/<name>.png``
next to the site (``_build/screenshots/diagrams/`` for ``make book``), once in the light theme and
once in the dark one (``<name>-dark.png``): look at them.

``RNNCOURSE_SITE=_build/page-03_lstm/_build/html`` points the test at a one-page build
(``make page PAGE=03_lstm``); the chapters that build does not hold are skipped, and only then.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urljoin

import jupytext
import pytest
from site_server import CHROMIUM, CHROMIUM_ARGS, REPO, report_dir, serve, site_dir, toc_documents

pytestmark = pytest.mark.book

SITE = site_dir()
CHAPTERS = [d for d in toc_documents() if re.fullmatch(r"book/0\d_\w+", d)]
VIEWPORT = {"width": 1280, "height": 1600}   # the tallest diagram and its caption fit on one screen
# the theme's sticky bars would cover the top of a figure in an element screenshot: hide them
# (visibility only, so that nothing moves)
HIDE_STICKY = ".skip-link, .bd-header, .bd-header-article, .header-article { visibility: hidden !important; }"
MIN_SCALE = 0.7          # displayed width / natural width: 11 pt labels stay above 10 px


def diagram_names(doc: str) -> list[str]:
    """The figure names of the cells of ``doc`` that draw with ``diagrams``."""
    notebook = jupytext.read(REPO / f"{doc}.md")
    return [cell.metadata["mystnb"]["figure"]["name"] for cell in notebook.cells
            if cell.cell_type == "code" and "diagrams." in cell.source
            and "figure" in cell.metadata.get("mystnb", {})]


DIAGRAMS = [(doc, name) for doc in CHAPTERS for name in diagram_names(doc)]

FIGURE_FACTS = """(id) => {
  const figure = document.getElementById(id);
  if (!figure) { return null; }
  const img = figure.querySelector('img');
  if (!img) { return {img: false}; }
  figure.scrollIntoView();
  const box = img.getBoundingClientRect();
  const content = (document.querySelector('main .bd-article') || document.querySelector('main')).getBoundingClientRect();
  return {img: true, src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
          natural: img.naturalWidth, shown: box.width, content: content.width,
          caption: (figure.querySelector('figcaption') || {}).textContent || ''};
}"""


@pytest.fixture(scope="module")
def base_url():
    if not (SITE / "index.html").exists() and not any(SITE.joinpath(f"{d}.html").exists() for d in CHAPTERS):
        pytest.fail(f"no built site at {SITE}: run `make book` (or set RNNCOURSE_SITE)")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's Chromium (`apt-get install -y chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def tabs(browser, base_url):
    """One loaded tab per chapter, shared by its diagrams."""
    context = browser.new_context(viewport=VIEWPORT)
    opened = {}

    def tab(doc: str):
        if doc not in opened:
            if not (SITE / f"{doc}.html").exists():
                if os.environ.get("RNNCOURSE_SITE"):
                    pytest.skip(f"{doc} is not part of the build at {SITE}")
                pytest.fail(f"{doc}.html is missing from {SITE}")
            page = context.new_page()
            failed = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(urljoin(base_url, f"{doc}.html"), wait_until="networkidle")
            page.add_style_tag(content=HIDE_STICKY)
            opened[doc] = (page, failed)
        return opened[doc]

    yield tab
    context.close()


def test_every_chapter_diagram_is_found() -> None:
    assert len(DIAGRAMS) >= 7, DIAGRAMS     # the seven kinds of issue 15, at the least
    assert len({name for _, name in DIAGRAMS}) == len(DIAGRAMS), "two diagrams share a name"


@pytest.mark.parametrize("doc, name", DIAGRAMS, ids=[name for _, name in DIAGRAMS])
def test_diagram_loads_and_is_legible(tabs, base_url, doc: str, name: str) -> None:
    page, failed = tabs(doc)
    facts = page.evaluate(FIGURE_FACTS, name)
    assert facts is not None, f"{doc}: no figure with id {name}"
    assert facts["img"], f"{doc}: figure {name} holds no image"
    assert facts["ok"], f"{doc}: the image of {name} did not load ({facts['src']}; failed requests {failed})"
    assert facts["src"].endswith(".svg"), f"{name}: {facts['src']} is not an SVG"
    assert facts["caption"].strip(), f"{name} has no caption on the page"
    svg = page.request.get(facts["src"]).text()
    assert "<text" not in svg, f"{name}: SVG text elements depend on the reader's fonts; draw glyphs as paths"
    scale = facts["shown"] / facts["natural"]
    assert facts["shown"] <= facts["content"] + 1, f"{name} is wider than the text column"
    assert scale >= MIN_SCALE, (f"{name} is shown at {scale:.0%} of its size ({facts['shown']:.0f} of "
                                f"{facts['natural']} px): its labels get too small")

    shots = report_dir() / "screenshots" / "diagrams"
    shots.mkdir(parents=True, exist_ok=True)
    figure = page.locator(f"#{name}")
    figure.screenshot(path=str(shots / f"{name}.png"))
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    figure.screenshot(path=str(shots / f"{name}-dark.png"))
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    assert (shots / f"{name}.png").stat().st_size > 5_000, f"the screenshot of {name} is nearly empty"
