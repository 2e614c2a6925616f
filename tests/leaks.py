"""Find solution code and hidden-test text: the lines students must never see."""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# Lines this short or this generic say nothing about a solution (`return h`, `else:`, a loop header,
# reading a shape): they appear in any numpy code and would make the check cry wolf.
MIN_CHARS = 16
GENERIC = [
    re.compile(r"^(for|while)\b.*:$"),                    # loop headers
    re.compile(r"^[\w, ()]+=\s*[\w.]+\.shape(\[[^\]]*\])?$"),  # N, T, D = x.shape / n = x.shape[1]
    re.compile(r"^return\s*\(?[\w, ]+\)?$"),              # return a, b
    re.compile(r"^[\w, ]+=\s*\[\]$|^[\w, ]+=\s*\{\}$"),   # empty containers
    re.compile(r"^(import|from)\s"),                      # imports
    re.compile(r"^with torch\.(no_grad|inference_mode|enable_grad)\(\):$"),
    re.compile(r"^torch\.manual_seed\([\w.]+\)$"),
    re.compile(r"^(model|optimizer|optimiser|opt)\.(zero_grad|step|train|eval)\(\)$"),
    re.compile(r"^loss\.backward\(\)$"),
]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _between(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _significant(lines: list[str]) -> set[str]:
    out = set()
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or any(g.match(stripped) for g in GENERIC):
            continue
        squashed = _squash(stripped)
        if len(squashed) >= MIN_CHARS:
            out.add(squashed)
    return out


def secret_lines(source_notebook: Path) -> dict[str, set[str]]:
    """The significant lines of the solution regions and of the hidden tests of a source notebook.

    Whole solution cells without markers (markdown answers) count as solution text.
    """
    nb = nbformat.read(source_notebook, as_version=4)
    solution, hidden = [], []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code":
            solution += _between(cell.source, BEGIN_SOLUTION, END_SOLUTION)
            hidden += _between(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        elif meta.get("solution"):
            solution += cell.source.splitlines()
    return {"solution": _significant(solution), "hidden test": _significant(hidden)}


def html_text(path: Path) -> str:
    """What a reader can see or copy from an HTML page: tags removed, entities decoded."""
    raw = path.read_text(errors="replace")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def find_leaks(secrets: dict[str, set[str]], text: str) -> list[str]:
    haystack = _squash(text)
    return [f"{kind}: {line}" for kind, lines in secrets.items() for line in sorted(lines)
            if line in haystack]


# Book modules whose functions answer a graded exercise: the page imports them in a hidden cell and
# shows results only; the functions' code must not reach the site.
BOOK_HIDDEN = {"book/decoding.py": ("beam_search",)}   # assignment 5's beam search, driven by the model


def book_hidden_lines(root: Path) -> dict[str, set[str]]:
    """The significant lines of the body of every function named in BOOK_HIDDEN (docstrings skipped)."""
    import ast

    out: dict[str, set[str]] = {}
    for path, names in BOOK_HIDDEN.items():
        source = (root / path).read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and node.name in names:
                body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body   # no docstring
                lines = source.splitlines()[body[0].lineno - 1: node.end_lineno]
                out[f"{path}:{node.name}"] = _significant(lines)
    missing = {f"{p}:{n}" for p, names in BOOK_HIDDEN.items() for n in names} - set(out)
    assert not missing, f"functions not found: {missing}"
    return out
