"""Drive JupyterHub and JupyterLab from a headless Chromium (Playwright), as a user would.

Only the system's Chromium is used (never `playwright install`): nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SLOW = 240_000  # ms: spawning JupyterLab on a busy two-core machine takes tens of seconds


def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.fail("Chromium is required for the hub test (Debian/Ubuntu: apt-get install chromium)")
    return path


@contextlib.contextmanager
def browser() -> Iterator:
    """A Chromium browser; closed (with Playwright's driver) however the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def log_in(b, hub_url: str, user: str, password: str, next_path: str = "/hub/user-redirect/lab?reset"):
    """A fresh browser context logged in as ``user``; returns the page, in JupyterLab once spawned."""
    context = b.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(SLOW)
    page = context.new_page()
    from urllib.parse import quote

    page.goto(f"{hub_url}/hub/login?next={quote(next_path)}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_url(f"**/user/{user}/**", timeout=SLOW)
    return page


def wait_for_lab(page) -> None:
    page.wait_for_selector("#jp-main-dock-panel", timeout=SLOW)
    page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=SLOW)


def wait_for_kernel_idle(page) -> None:
    """The kernel indicator says "idle" before the kernel is ready: wait for the status bar's "| Idle"."""
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").first.wait_for(timeout=SLOW)


def open_menu_item(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).first.click()


def menu_items(page, menu: str) -> list[str]:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    labels = [t.strip() for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
    page.keyboard.press("Escape")
    return labels


def run_all_cells(page, done_marker: str) -> str:
    """Run > Run All Cells; wait until ``done_marker`` is printed and no cell is running. Returns the
    text of every output area."""
    open_menu_item(page, "Run", "Run All Cells")
    page.wait_for_function(
        """marker => {
            const outs = [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.innerText).join('\\n');
            const busy = [...document.querySelectorAll('.jp-InputArea-prompt')].some(e => e.innerText.includes('*'));
            return outs.includes(marker) && !busy;
        }""", arg=done_marker, timeout=SLOW)
    wait_for_kernel_idle(page)
    return "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
