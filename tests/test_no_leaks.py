"""Solutions and hidden tests never reach students: not in exercises/, the package, or the site
(the student distribution that students clone is checked in test_student_dist.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, REPO, source_notebook
from leaks import find_leaks, html_text, secret_lines

SITE = Path(os.environ.get("RNNCOURSE_SITE", REPO / "_build" / "html")).resolve()  # as test_site_browser


@pytest.fixture(scope="module")
def secrets() -> dict[str, dict[str, set[str]]]:
    return {a: secret_lines(source_notebook(a)) for a in ASSIGNMENTS}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_has_secrets_to_protect(secrets, assignment: str) -> None:
    assert secrets[assignment]["solution"], f"{assignment} has no solution lines: markers missing?"
    assert secrets[assignment]["hidden test"], f"{assignment} has no hidden tests"


def test_detector_finds_a_planted_leak(secrets) -> None:
    assignment = ASSIGNMENTS[0]
    line = sorted(secrets[assignment]["solution"])[0]
    assert find_leaks(secrets[assignment], f"<pre>  {line}  </pre>")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_secret_in_any_exercise_notebook(secrets, assignment: str) -> None:
    for nb in sorted((REPO / "exercises").rglob("*.ipynb")):
        leaks = find_leaks(secrets[assignment], nb.read_text())
        assert not leaks, f"{nb.relative_to(REPO)} contains {assignment}'s {leaks[:3]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_secret_in_the_installable_package(secrets, assignment: str) -> None:
    """What students install (the autograder package) holds no reference solution."""
    for path in sorted((REPO / "autograder").rglob("*.py")):
        leaks = [leak for leak in find_leaks(secrets[assignment], path.read_text())
                 if leak.startswith("solution")]
        assert not leaks, f"{path.relative_to(REPO)} contains {assignment}'s {leaks[:3]}"


@pytest.mark.book
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_secret_on_the_website(secrets, assignment: str) -> None:
    pages = sorted(SITE.rglob("*.html"))
    assert pages, "the site is not built: run `make book`"
    # both editions: the English at the root, the Korean under ko/
    assert (SITE / "ko" / "book" / "intro.html").exists(), "the Korean edition is not built: run `make book`"
    sources = sorted(p for p in SITE.rglob("*") if "_sources" in p.parts and p.is_file())
    downloads = sorted(SITE.rglob("*.ipynb"))
    for path in pages + sources + downloads:
        text = html_text(path) if path.suffix == ".html" else path.read_text(errors="replace")
        leaks = find_leaks(secrets[assignment], text)
        assert not leaks, f"{path} shows {assignment}'s {leaks[:3]}"


def test_book_hidden_code_is_known_and_detectable() -> None:
    """The book's hidden implementations (tests/leaks.py BOOK_HIDDEN) have distinctive lines, and the
    detector finds one planted in a page."""
    from leaks import book_hidden_lines

    hidden = book_hidden_lines(REPO)
    for name, lines in hidden.items():
        assert len(lines) >= 5, f"{name}: too few distinctive lines to check"
        assert find_leaks({name: lines}, f"<pre><code>{sorted(lines)[0]}</code></pre>")


@pytest.mark.book
def test_no_hidden_book_code_on_the_website() -> None:
    """The book's beam search (book/decoding.py) is imported by a removed cell: its code is on no page,
    in no page source and no download, in either edition."""
    from leaks import book_hidden_lines

    hidden = book_hidden_lines(REPO)
    assert (SITE / "ko" / "book" / "intro.html").exists(), "the Korean edition is not built: run `make book`"
    files = sorted(SITE.rglob("*.html")) + sorted(p for p in SITE.rglob("*") if "_sources" in p.parts and p.is_file())
    files += sorted(SITE.rglob("*.ipynb")) + sorted(SITE.rglob("*.py"))
    for path in files:
        text = html_text(path) if path.suffix == ".html" else path.read_text(errors="replace")
        leaks = find_leaks(hidden, text)
        assert not leaks, f"{path} shows {leaks[:3]}"
