"""The Korean edition of the site (``_build/html/ko``, built by ``make book`` from locale/ko).

In a real browser, as tests/test_site_browser.py does for the English pages: every Korean page
loads offline with no console error, its images load and its math is typeset; the language switch
on every page of both editions leads to the same page in the other one; searching for a Korean term
finds its chapter. In the built HTML: no element that Sphinx marked untranslated (a paragraph
whose English changed, or that is missing from its catalogue), and the glued numbers of each
translated chapter are those of its English twin.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from site_server import site_dir, toc_documents
from test_site_browser import base_url, browser, check_loads_offline, check_rendered, page, search, visit  # noqa: F401 - fixtures

pytestmark = pytest.mark.book

SITE = site_dir()
KO = SITE / "ko"
DOCS = toc_documents()
CHAPTERS = [d for d in DOCS if re.fullmatch(r"book/0\d_\w+", d)]
KO_PAGES = [f"ko/{d}" for d in DOCS] + ["ko/index", "ko/search", "ko/genindex"]


class _Page(HTMLParser):
    """The facts these tests read from a built page."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = None
        self.untranslated: list[str] = []
        self.switch: list[tuple[str, str | None]] = []   # (language code, href or None for current)
        self.pasted: list[str] = []
        self._in_switch = self._in_pasted = False
        self._capture: list[str] | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "html":
            self.lang = attrs.get("lang")
        if "untranslated" in classes:
            self.untranslated.append(tag)
        if tag == "nav" and "language-switch" in classes:
            self._in_switch = True
        if self._in_switch and tag in ("a", "span") and attrs.get("lang"):
            self.switch.append((attrs["lang"], attrs.get("href")))
        if tag == "span" and "pasted-text" in classes:
            self._capture = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_switch = False
        if tag == "span" and self._capture is not None:
            self.pasted.append("".join(self._capture))
            self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._capture.append(data)


def read(path: Path) -> _Page:
    parsed = _Page()
    parsed.feed(path.read_text())
    return parsed


def untranslated(path: Path) -> list[str]:
    return read(path).untranslated


@pytest.fixture(scope="module")
def ko_visits(browser, base_url) -> dict[str, dict]:  # noqa: F811 - the imported fixtures
    if not (KO / "index.html").exists():
        pytest.fail(f"no Korean edition at {KO}: run `make book`")
    return {doc: visit(browser, base_url, doc) for doc in KO_PAGES}


@pytest.mark.parametrize("doc", KO_PAGES)
def test_korean_page_loads_offline_with_images_and_math(ko_visits, doc: str) -> None:
    check_loads_offline(ko_visits[doc], doc)
    check_rendered(ko_visits[doc], doc)


# The references page is mostly its citations, which keep the language they were published in.
@pytest.mark.parametrize("doc", [d for d in KO_PAGES if d.startswith("ko/book/") and d != "ko/book/references"])
def test_korean_page_is_in_korean(ko_visits, doc: str) -> None:
    prose = ko_visits[doc]["prose"]
    hangul = len(re.findall(r"[\uac00-\ud7a3]", prose))
    latin = len(re.findall(r"[A-Za-z]", prose))
    assert read(SITE / f"{doc}.html").lang == "ko"
    assert hangul > latin / 4, f"{doc}: {hangul} Hangul letters against {latin} Latin ones"


@pytest.mark.parametrize("doc", DOCS)
def test_no_untranslated_element_on_a_korean_page(doc: str) -> None:
    found = untranslated(KO / f"{doc}.html")
    assert not found, (f"ko/{doc}: {len(found)} elements without a translation (their English changed "
                       "or is new): `make translations`, then translate them")


def test_a_paragraph_missing_from_the_catalogue_is_flagged(tmp_path: Path) -> None:
    """A tiny MyST site in Korean with one paragraph translated and one not: the untranslated one
    carries the class that the test above looks for, the translated one does not."""
    src = tmp_path / "src"
    (src / "locale" / "ko" / "LC_MESSAGES").mkdir(parents=True)
    (src / "conf.py").write_text(
        "extensions = ['myst_parser']\nlanguage = 'ko'\nlocale_dirs = ['locale']\n"
        "gettext_compact = False\ntranslation_progress_classes = 'untranslated'\n")
    (src / "index.md").write_text("# Title\n\nThe forget gate keeps the cell state.\n\n"
                                  "A paragraph added later, with no translation.\n")
    (src / "locale" / "ko" / "LC_MESSAGES" / "index.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Title"\nmsgstr "제목"\n\n'
        'msgid "The forget gate keeps the cell state."\nmsgstr "망각 게이트는 셀 상태를 지킨다."\n')
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(tmp_path / "out")],
                   check=True, capture_output=True)
    html = tmp_path / "out" / "index.html"
    assert "망각 게이트는 셀 상태를 지킨다." in html.read_text()
    assert untranslated(html) == ["p"]


# ---- the language switch -----------------------------------------------------------------------

def twin(path: Path) -> Path:
    rel = path.relative_to(SITE)
    return SITE / (rel.relative_to("ko") if rel.parts[0] == "ko" else Path("ko") / rel)


@pytest.mark.parametrize("edition", ["en", "ko"])
def test_every_page_links_to_its_twin(edition: str) -> None:
    root = SITE if edition == "en" else KO
    pages = [root / f"{d}.html" for d in DOCS] + [root / "search.html", root / "genindex.html"]
    for path in pages:
        switch = read(path).switch
        assert [code for code, _ in switch] == ["en", "ko"], f"{path.relative_to(SITE)}: switch {switch}"
        current = [code for code, href in switch if href is None]
        assert current == [edition], f"{path.relative_to(SITE)}: marks {current} as current"
        ((other, href),) = [(code, href) for code, href in switch if href is not None]
        target = (path.parent / href).resolve()
        assert target == twin(path).resolve() and target.exists(), f"{path.relative_to(SITE)} → {href}"


def test_switching_language_in_the_browser_keeps_the_page(page) -> None:  # noqa: F811
    page.goto("book/03_lstm.html")
    page.locator("nav.language-switch a[hreflang='ko']").first.click()
    page.wait_for_load_state()
    assert urlparse(page.url).path == "/ko/book/03_lstm.html"
    assert page.get_attribute("html", "lang") == "ko"
    assert "망각 게이트" in page.inner_text("main")
    page.locator("nav.language-switch a[hreflang='en']").first.click()
    page.wait_for_load_state()
    assert urlparse(page.url).path == "/book/03_lstm.html"
    assert "forget gate" in page.inner_text("main").lower()


def test_the_landing_page_names_both_languages() -> None:
    en = (SITE / "book" / "intro.html").read_text()
    ko = (KO / "book" / "intro.html").read_text()
    assert "Korean (한국어)" in en
    assert "한국어" in ko and "English" in ko


# ---- search ------------------------------------------------------------------------------------

def test_korean_search_finds_the_forget_gate_in_the_lstm_chapter(page) -> None:  # noqa: F811
    paths = search(page, "ko/book/intro", "망각 게이트")
    lstm = [i for i, p in enumerate(paths) if p.endswith("ko/book/03_lstm.html")]
    assert lstm, f"'망각 게이트' does not find the Korean LSTM chapter; results: {paths}"
    assert all(p.startswith("/ko/") for p in paths), f"Korean search leads out of the edition: {paths}"
    print(f"\nsearch '망각 게이트': {len(paths)} results, the LSTM chapter is number {lstm[0] + 1}")


# ---- the numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("doc", CHAPTERS)
def test_glued_numbers_are_the_english_pages_numbers(doc: str) -> None:
    """Each translated chapter shows the values its page computed: the multiset of glued values is
    the English twin's (the order may differ, since Korean word order moves them)."""
    en, ko = read(SITE / f"{doc}.html").pasted, read(KO / f"{doc}.html").pasted
    assert en, f"{doc} glues no number"
    assert sorted(ko) == sorted(en), f"{doc}: glued values differ: {set(en) ^ set(ko)}"

