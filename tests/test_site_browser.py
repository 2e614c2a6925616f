"""The website as readers get it, checked in a real browser (Debian's Chromium driven by Playwright).

The site is served from disk on 127.0.0.1 with nothing else reachable, so every page must work
offline. Point the tests at a private build with ``RNNCOURSE_SITE=/path/to/_build/html``; by default
they use the repository's ``_build/html`` (``make book``). Besides the assertions they leave, next to
the site (in its ``_build`` folder): ``screenshots/<chapter>.png`` (each chapter's first screen),
``external-links.txt`` (links leaving the site, never fetched) and ``site-metrics.json`` (bytes and
load times per page); ``pytest -s`` prints the metrics too.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlparse

import pytest
from conftest import ASSIGNMENTS, source_notebook
from leaks import find_leaks, secret_lines
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from site_server import CHROMIUM, CHROMIUM_ARGS, REPO, config, report_dir, serve, site_dir, toc_documents

pytestmark = pytest.mark.book

SITE = site_dir()
DOCS = toc_documents()
CHAPTERS = [d for d in DOCS if re.fullmatch(r"book/0\d_\w+", d)]
EXERCISE_PAGES = [d for d in DOCS if d.startswith("book/exercises/")]
# Every page a reader can reach: the book, the redirecting index, search and the general index.
PAGES = DOCS + ["index", "search", "genindex"]
PAGE_BUDGET_BYTES = 2_000_000   # per page, the shared theme assets under _static/ excluded
LOAD_BUDGET_S = 2.0             # the largest page, navigation start to network idle
VIEWPORT = {"width": 1280, "height": 900}
RAW_TEX = re.compile(r"\$\$|\\begin\{|\\\(|\\\[|\\(frac|mathbf|odot|sigma|tanh)\b")

WAIT_FOR_MATH = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  return !!window.MathJax;
}"""
# MathJax typesets lazily (ui/lazy, _config.yml): a formula is an empty <mjx-lazy> placeholder until it
# scrolls near the window. What a reader sees first must be typeset when the page has loaded: the
# placeholders inside the first screen must be gone within 3 s of load; then every formula is typeset
# (as printing does) so that the checks below see them all.
FIRST_SCREEN_LAZY = """() => [...document.querySelectorAll('mjx-container')].filter(c => {
  const r = c.getBoundingClientRect();
  return c.querySelector('mjx-lazy') && r.bottom > 0 && r.top < window.innerHeight && r.width > 0;
}).length"""
TYPESET_ALL = """async () => {
  const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
  const pending = document.querySelectorAll('mjx-lazy').length;
  if (doc && doc.lazyTypesetAll) { await doc.lazyTypesetAll(); }
  return {pending, lazy: !!(doc && doc.lazyTypesetAll)};
}"""
PAGE_FACTS = """() => {
  const main = document.querySelector('main') || document.body;
  const text = main.cloneNode(true);
  text.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  return {
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0,
                                            width: i.naturalWidth, height: i.naturalHeight})),
    math: document.querySelectorAll('span.math, div.math').length,
    unrendered_math: [...document.querySelectorAll('span.math, div.math')]
                     .filter(e => !e.querySelector('mjx-container') || e.querySelector('mjx-lazy'))
                     .map(e => e.textContent.slice(0, 80)),
    mjx: document.querySelectorAll('mjx-container').length,
    prose: text.textContent,
    visible_text: main.innerText,
  };
}"""
# Read when the page has loaded, before the checks typeset the rest of the math (which fetches fonts).
PAGE_TIMES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const ends = performance.getEntriesByType('resource').map(e => e.responseEnd);
  return {load_event_ms: nav ? nav.loadEventEnd : null, network_idle_ms: Math.max(nav ? nav.responseEnd : 0, ...ends),
          dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null};
}"""


def browser_favicon_probe(url: str) -> bool:
    """Chromium asks every site for /favicon.ico; while the book sets no favicon (`html: favicon:`
    in _config.yml) that one 404 is the browser's habit, not a broken page."""
    return urlparse(url).path == "/favicon.ico" and not config().get("html", {}).get("favicon")


def page_file(doc: str) -> Path:
    return SITE / f"{doc}.html"


@pytest.fixture(scope="module")
def base_url():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `make book` (or set RNNCOURSE_SITE)")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's Chromium (`apt-get install -y chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, base_url):
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    tab = context.new_page()
    yield tab
    context.close()


def visit(browser, base_url: str, doc: str, screenshot: Path | None = None) -> dict:
    """Load ``doc`` in a fresh browser context (cold cache) and record what a reader would meet."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    console, failed, external, responses = [], [], [], []
    tab.on("console", lambda m: console.append(f"{m.type}: {m.text} ({m.location.get('url')})")
           if m.type == "error" and not browser_favicon_probe(m.location.get("url", "")) else None)
    tab.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    tab.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    tab.on("request", lambda r: external.append(r.url)
           if not r.url.startswith((base_url, "data:", "blob:", "about:")) else None)
    tab.on("response", lambda r: responses.append(r))
    start = time.perf_counter()
    first = tab.goto(urljoin(base_url, f"{doc}.html"), wait_until="networkidle")
    wall_s = time.perf_counter() - start
    tab.evaluate(WAIT_FOR_MATH)
    times = tab.evaluate(PAGE_TIMES)
    try:  # the observer typesets what is in view in an idle callback: a moment after load, not at once
        tab.wait_for_function(f"({FIRST_SCREEN_LAZY})() === 0", timeout=3_000)
    except PlaywrightTimeout:
        pass
    first_screen_lazy = tab.evaluate(FIRST_SCREEN_LAZY)
    lazy = tab.evaluate(TYPESET_ALL)
    facts = tab.evaluate(PAGE_FACTS)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(screenshot))
    page_bytes = static_bytes = 0
    for response in responses:
        if response.status >= 400:
            failed.append(f"{response.url} (HTTP {response.status})")
        try:
            size = len(response.body())
        except Exception:  # redirects have no body
            size = 0
        if "_static" in urlparse(response.url).path.split("/"):   # the theme's assets, either edition
            static_bytes += size
        else:
            page_bytes += size
    context.close()
    return {"status": first.status if first else None, "console_errors": console, "failed": failed,
            "external": external, "page_bytes": page_bytes, "static_bytes": static_bytes,
            "goto_networkidle_s": round(wall_s, 3), "first_screen_lazy": first_screen_lazy,
            "lazy_at_load": lazy["pending"], "lazy_typesetting": lazy["lazy"], **times, **facts}


@pytest.fixture(scope="module")
def visits(browser, base_url) -> dict[str, dict]:
    """Every page visited once; screenshots of the chapters; metrics written to site-metrics.json."""
    shots = report_dir() / "screenshots"
    records = {}
    for doc in PAGES:
        shot = shots / f"{doc.rsplit('/', 1)[-1]}.png" if doc in CHAPTERS else None
        records[doc] = visit(browser, base_url, doc, shot)
    metrics = {doc: {k: r[k] for k in ("page_bytes", "static_bytes", "network_idle_ms", "dom_content_loaded_ms",
                                       "load_event_ms", "goto_networkidle_s", "math", "mjx", "lazy_at_load")}
               | {"images": len(r["images"])}
               for doc, r in records.items()}
    (report_dir() / "site-metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print("\nsite metrics (page KB excl. _static, KB of _static, ms to network idle, ms to DOMContentLoaded, "
          "math blocks):")
    for doc, m in metrics.items():
        print(f"  {doc:32s} {m['page_bytes'] / 1e3:8.1f} {m['static_bytes'] / 1e3:8.1f} "
              f"{m['network_idle_ms']:8.0f} {m['dom_content_loaded_ms']:8.0f} {m['math']:5d}")
    return records


def check_loads_offline(record: dict, doc: str) -> None:
    """A visited page (``visit``) answered 200, logged no error, failed no request, left no site."""
    assert record["status"] == 200, f"{doc}: HTTP {record['status']}"
    assert not record["console_errors"], f"{doc}: console errors {record['console_errors'][:5]}"
    assert not record["failed"], f"{doc}: failed requests {record['failed'][:5]}"
    assert not record["external"], f"{doc}: requests leave the site {record['external'][:5]}"


def check_rendered(record: dict, doc: str) -> None:
    """A visited page's images loaded and its math was typeset, none left as raw TeX."""
    broken = [i for i in record["images"] if not i["ok"]]
    assert not broken, f"{doc}: images not loaded or empty: {broken[:3]}"
    assert not record["unrendered_math"], f"{doc}: math left unrendered: {record['unrendered_math'][:3]}"
    assert record["first_screen_lazy"] == 0, (
        f"{doc}: {record['first_screen_lazy']} formulas on the first screen were not typeset once the page loaded")
    if record["math"]:
        assert record["mjx"] >= record["math"], f"{doc}: {record['math']} math blocks, {record['mjx']} rendered"
    raw = RAW_TEX.findall(record["prose"])
    assert not raw, f"{doc}: raw TeX in the visible text: {raw[:5]}"


@pytest.mark.parametrize("doc", PAGES)
def test_page_loads_offline_without_errors(visits, doc: str) -> None:
    check_loads_offline(visits[doc], doc)


@pytest.mark.parametrize("doc", PAGES)
def test_images_and_math_are_rendered(visits, doc: str) -> None:
    check_rendered(visits[doc], doc)


def test_chapters_have_figures_math_and_screenshots(visits) -> None:
    for doc in CHAPTERS:
        assert visits[doc]["mjx"] > 0, f"{doc} shows no rendered math"
        shot = report_dir() / "screenshots" / f"{doc.rsplit('/', 1)[-1]}.png"
        assert shot.exists() and shot.stat().st_size > 10_000, f"no screenshot of {doc}"


@pytest.mark.parametrize("doc", PAGES)
def test_page_is_within_the_transfer_budget(visits, doc: str) -> None:
    size = visits[doc]["page_bytes"]
    assert size < PAGE_BUDGET_BYTES, f"{doc} transfers {size / 1e6:.2f} MB (budget 2 MB, _static/ excluded)"


def test_largest_page_reaches_network_idle_quickly(visits) -> None:
    largest = max(PAGES, key=lambda d: visits[d]["page_bytes"] + visits[d]["static_bytes"])
    idle_s = visits[largest]["network_idle_ms"] / 1e3
    print(f"\nlargest page {largest}: network idle after {idle_s:.2f} s")
    assert idle_s < LOAD_BUDGET_S, f"{largest} reaches network idle after {idle_s:.2f} s (budget {LOAD_BUDGET_S} s)"


def test_math_is_typeset_lazily_and_as_the_reader_scrolls(visits, page) -> None:
    """Long chapters load with most formulas still placeholders (the speed the budget above needs);
    a formula far down the page is typeset once the reader scrolls to it."""
    longest = max(CHAPTERS, key=lambda d: visits[d]["math"])
    assert visits[longest]["lazy_typesetting"], "MathJax's lazy typesetting (ui/lazy) is not loaded"
    assert visits[longest]["lazy_at_load"] > 0, f"{longest}: no formula was left for later at load"
    page.goto(f"{longest}.html", wait_until="networkidle")
    page.evaluate(WAIT_FOR_MATH)
    last = page.locator("div.math").last
    assert last.locator("mjx-lazy").count() == 1, "the last display formula was typeset before it was in view"
    last.scroll_into_view_if_needed()
    page.wait_for_function("e => !e.querySelector('mjx-lazy') && !!e.querySelector('mjx-math')",
                           arg=last.element_handle(), timeout=10_000)


def test_sidebar_lists_the_pages_in_toc_order(page) -> None:
    page.goto("book/intro.html")
    hrefs = page.eval_on_selector_all(
        "nav.bd-docs-nav a.reference.internal", "links => links.map(a => a.href)")
    docs = [urlparse(h).path.strip("/").removesuffix(".html") for h in hrefs]
    assert docs == DOCS, f"sidebar order {docs}, _toc.yml order {DOCS}"
    chapters = [d for d in docs if d in CHAPTERS]
    assert [d.split("/")[-1] for d in chapters] == ["01_rnn", "02_gradients", "03_lstm", "04_gru", "05_seq2seq"]
    home = page.eval_on_selector("a.navbar-brand", "a => a.href")
    assert urlparse(home).path.endswith("book/intro.html")


def search(page, start: str, query: str) -> list[str]:
    """Search the site as a reader does (Ctrl+K on ``start``, type, Enter): the result pages' paths."""
    page.goto(f"{start}.html")
    page.keyboard.press("Control+k")
    box = page.locator("input[name='q']:visible").first
    box.fill(query)
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q="))
    page.wait_for_selector("#search-results p.search-summary", timeout=20_000)
    results = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    return [urlparse(r).path for r in results]


def test_search_finds_forget_gate_in_the_lstm_chapter(page) -> None:
    paths = search(page, "book/intro", "forget gate")
    lstm = [i for i, p in enumerate(paths) if p.endswith("book/03_lstm.html")]
    assert lstm, f"'forget gate' does not find the LSTM chapter; results: {paths}"
    print(f"\nsearch 'forget gate': {len(paths)} results, the LSTM chapter is number {lstm[0] + 1}")
    page.locator("#search-results ul.search li a").nth(lstm[0]).click()
    page.wait_for_load_state()
    assert urlparse(page.url).path.endswith("book/03_lstm.html")
    assert "forget gate" in page.inner_text("main").lower()


def test_check_your_understanding_answer_opens_on_click(page) -> None:
    doc = next((d for d in CHAPTERS if 'class="solution dropdown' in page_file(d).read_text()), None)
    assert doc, "no chapter has a 'check your understanding' dropdown answer"
    page.goto(f"{doc}.html")
    solution = page.locator(".solution.dropdown").first
    answer = solution.locator("section").first
    assert answer.text_content().strip(), "the answer is empty"
    assert not answer.is_visible(), "the answer is shown before the reader asks for it"
    solution.locator(".admonition-title").first.click()
    answer.wait_for(state="visible", timeout=5_000)
    assert answer.is_visible()


@pytest.mark.parametrize("doc", EXERCISE_PAGES)
def test_exercise_page_launches_and_downloads_the_student_notebook(page, base_url, doc: str) -> None:
    assignment = doc.rsplit("/", 1)[-1]
    notebooks = sorted((REPO / "exercises" / assignment).glob("*.ipynb"))
    page.goto(f"{doc}.html")
    if not notebooks:
        assert not (REPO / "solutions" / assignment).exists(), f"exercises/{assignment} missing: `make exercises`"
        assert "not released yet" in page.inner_text("main")
        pytest.skip(f"{assignment} is not written yet")
    (notebook,) = notebooks
    cfg = config()
    hub = cfg["sphinx"]["config"]["exercise_hub_url"].rstrip("/")
    # the launch button clones the student distribution, never the course repository (solutions/)
    repo_url = cfg["sphinx"]["config"]["exercise_repository_url"]
    assert repo_url.rstrip("/") != cfg["repository"]["url"].rstrip("/")
    links = page.eval_on_selector_all("a.exercise-launch", "links => links.map(a => a.href)")
    assert len(links) == 1, f"{doc}: {len(links)} launch buttons"
    url = urlparse(links[0])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{hub}/hub/user-redirect/git-pull"
    query = parse_qs(url.query, strict_parsing=True)
    repo_name = urlparse(repo_url).path.rstrip("/").split("/")[-1].removesuffix(".git")
    expected = {"repo": [repo_url], "branch": [cfg["sphinx"]["config"].get("exercise_branch") or "main"],
                "urlpath": [f"lab/tree/{repo_name}/exercises/{assignment}/{notebook.name}"]}
    assert query == expected
    assert "/" not in url.query and ":" not in url.query, f"query values are not URL-encoded: {url.query}"
    # the header of the student notebook is on the page
    header = json.loads(notebook.read_text())["cells"][0]["source"]
    first_sentence = re.sub(r"\s+", " ", "".join(header).split("\n\n")[1]).strip()[:40]
    assert first_sentence.split("`")[0] in re.sub(r"\s+", " ", page.inner_text(".assignment-header"))
    # the download link gives the student notebook, byte for byte
    (href,) = page.eval_on_selector_all("a.download", "links => links.map(a => a.href)")
    assert href.startswith(base_url) and href.endswith(f"/{notebook.name}")
    download = page.request.get(href)
    assert download.status == 200 and download.body() == notebook.read_bytes()


def test_no_solution_or_hidden_test_in_any_rendered_page(visits) -> None:
    secrets = {a: secret_lines(source_notebook(a)) for a in ASSIGNMENTS}
    for doc in PAGES:
        for assignment, lines in secrets.items():
            leaks = find_leaks(lines, visits[doc]["visible_text"])
            assert not leaks, f"{doc} shows {assignment}'s {leaks[:3]}"
    for doc in EXERCISE_PAGES:
        assert "BEGIN SOLUTION" not in visits[doc]["visible_text"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href") is not None:
            self.hrefs.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.hrefs.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def test_internal_links_and_anchors_resolve() -> None:
    pages = sorted(p for p in SITE.rglob("*.html") if "_static" not in p.relative_to(SITE).parts)
    assert pages, f"no built site at {SITE}: run `make book`"
    parsed: dict[Path, _Links] = {}

    def links(path: Path) -> _Links:
        if path not in parsed:
            parsed[path] = _Links()
            parsed[path].feed(path.read_text(errors="replace"))
        return parsed[path]

    broken, external = [], {}
    for path in pages:
        base = "http://site/" + path.relative_to(SITE).as_posix()
        for href in links(path).hrefs:
            target = urlparse(href)
            if target.scheme in ("mailto", "javascript", "tel", "data"):
                continue
            if target.scheme or target.netloc:
                external.setdefault(href, set()).add(path.relative_to(SITE).as_posix())
                continue
            resolved = urlparse(urljoin(base, href))
            file = SITE / unquote(resolved.path).lstrip("/")
            if file.is_dir():
                file = file / "index.html"
            where = f"{path.relative_to(SITE)}: {href}"
            if not file.exists():
                broken.append(f"{where} (no file {file.relative_to(SITE)})")
            elif resolved.fragment and file.suffix == ".html" and unquote(resolved.fragment) not in links(file).ids:
                broken.append(f"{where} (no anchor #{resolved.fragment})")
    lines = [f"{url}\t{' '.join(sorted(refs))}" for url, refs in sorted(external.items())]
    (report_dir() / "external-links.txt").write_text("\n".join(lines) + "\n")
    print(f"\n{len(pages)} pages, {len(external)} external links (not fetched) in external-links.txt")
    assert not broken, f"{len(broken)} broken internal links: {broken[:10]}"
