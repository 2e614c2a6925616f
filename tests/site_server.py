"""The built website for browser tests: where it is, its pages in order, a local server, Chromium."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# Debian's Chromium (`apt-get install chromium`); Playwright's own browser download is never used.
CHROMIUM = os.environ.get("RNNCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def site_dir() -> Path:
    """The built HTML: ``$RNNCOURSE_SITE`` (a private build) or the repository's ``_build/html``."""
    return Path(os.environ.get("RNNCOURSE_SITE", REPO / "_build" / "html")).resolve()


def report_dir() -> Path:
    """Where screenshots and reports go: the ``_build`` folder that holds the site."""
    return site_dir().parent


def toc_documents() -> list[str]:
    """The documents of ``_toc.yml`` in reading order, root first (``book/intro``, ...)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    docs = [toc["root"]]
    for part in toc.get("parts", []):
        docs += [chapter["file"] for chapter in part.get("chapters", [])]
    return docs


def config() -> dict:
    return yaml.safe_load((REPO / "_config.yml").read_text())


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
