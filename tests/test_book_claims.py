"""Measured numbers in the book's prose come from the page's own cells (myst-nb ``glue``).

A number typed by hand goes stale: the code changes, or the run differs on another machine, and the
sentence goes on saying what an earlier run printed. This test reads each page's prose (markdown
outside code cells, inline code, math and roles such as ``{glue:text}`...```; figure captions
included) and fails on every hand-typed decimal (``0.95``), percentage (``95 %``), ratio
(``2.3×``) or number in scientific notation (``1e-9``, ``2.6 × 10^-9``).

Some numbers in prose are not measurements: a definition (σ'(0) = 1/4 written as 0.25), a cited
paper's figure, a hyper-parameter. Each such number is listed in ``ALLOWED`` below, per page, with
the reason; a hyper-parameter (``PARAM``) must appear with the same literal in that page's code, so
the prose cannot drift from the code either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import REPO

PARAM = "hyper-parameter: the same literal is in this page's code"
S2S = "a figure of Sutskever et al. (2014), cited in chapter 5"

# page stem -> [(literal, the text its line must contain (or ""), reason)]
ALLOWED: dict[str, list[tuple[str, str, str]]] = {
    "intro": [],
    "notation": [],
    "glossary": [],
    "instructors": [],
    "01_rnn": [],
    "02_gradients": [],
    "03_lstm": [],
    "04_gru": [],
    "05_seq2seq": [
        ("1409.3215", "arXiv:1409.3215", "citation: the paper's arXiv identifier"),
        ("10 %", "perplexity by nearly", S2S),
        ("5.8", "perplexity fell from", S2S), ("4.7", "perplexity fell from", S2S),
        ("25.9", "from 25.9 to 30.6", S2S), ("30.6", "from 25.9 to 30.6", S2S),
        ("34.8", "BLEU on the WMT", S2S), ("33.3", "phrase-based", S2S), ("36.5", "close to the best", S2S),
    ],
}

PAGES = sorted(ALLOWED)

NUMBER_PATTERNS = {
    "percentage": r"(?<![\w.])\d+(?:\.\d+)?\s?%",
    "scientific": r"(?<![\w.])\d+(?:\.\d+)?\s?[eE][-+−]?\d+\b"
    r"|(?<![\w.])\d+(?:\.\d+)?\s?[×x·]\s?10\s?\^?\s?\{?[-−⁻]?[\d⁰¹²³⁴⁵⁶⁷⁸⁹]+\}?",
    "ratio": r"(?<![\w.])\d+(?:\.\d+)?\s?×(?!\s?10)|(?<![\w.])\d+(?:\.\d+)?x\b",
    "decimal": r"(?<![\w.\d])\d*\.\d+(?![\w.]*\d)",
}
NUMBER = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in NUMBER_PATTERNS.items()))


@dataclass(frozen=True)
class Finding:
    page: str
    line: int
    literal: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.page}.md:{self.line}: {self.kind} {self.literal!r} in: {self.text.strip()[:140]}"


def _blank(match: re.Match) -> str:
    """Replace a span by spaces, keeping its newlines (so line numbers stay right)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _captions(meta: object) -> list[str]:
    if isinstance(meta, dict):
        found = []
        for key, value in meta.items():
            if key == "caption" and isinstance(value, str):
                found.append(value)
            else:
                found += _captions(value)
        return found
    if isinstance(meta, list):
        return [c for item in meta for c in _captions(item)]
    return []


def split_page(source: str) -> tuple[str, str]:
    """(prose, code) of a MyST notebook page. The prose keeps the page's line numbering: code, math,
    inline code, roles, directive options and the front matter are blanked out; figure captions
    in code-cell metadata are kept in place as prose."""
    code_parts: list[str] = []

    def code_cell(match: re.Match) -> str:
        body = match.group(2)
        code_parts.append(body)
        lines = [""] * match.group(0).count("\n") + [""]
        meta = re.match(r"\s*---\n(.*?)\n---\n", body, flags=re.S)
        if meta:
            try:
                captions = _captions(yaml.safe_load(meta.group(1)))
            except yaml.YAMLError:
                captions = []
            at = [k for k, line in enumerate(match.group(0).splitlines()) if "caption:" in line]
            for k, caption in zip(at, captions, strict=False):
                lines[k] = " ".join(caption.split())  # each caption on its own "caption:" line
        return "\n".join(lines)

    text = re.sub(r"\A---\n.*?\n---\n", _blank, source, flags=re.S)  # jupytext front matter
    text = re.sub(r"^```\{code-cell\}([^\n]*)\n(.*?)^```", code_cell, text, flags=re.S | re.M)
    # other code blocks and math blocks: ```python, ```{math}, ```text ...
    text = re.sub(r"^(`{3,}|~{3,})(?!\{(?:exercise|solution|figure|glue:figure|note|tip|warning|"
                  r"important|admonition|caution|attention|seealso|margin|dropdown|sidebar|"
                  r"epigraph|table|list-table|prf:\w+)\})[^\n]*\n.*?^\1[ \t]*$",
                  _blank, text, flags=re.S | re.M)
    text = re.sub(r"\$\$.*?\$\$(?:\s*\([\w-]+\))?", _blank, text, flags=re.S)  # display math
    text = re.sub(r"(?<!\\)\$[^$\n]+?(?<!\\)\$", _blank, text)  # inline math
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", _blank, text)  # roles: {glue:text}`k:.2f`, {ref}`...`
    text = re.sub(r"`[^`\n]*`", _blank, text)  # inline code
    text = re.sub(r"^\s*:[\w-]+:.*$", _blank, text, flags=re.M)  # directive options
    text = re.sub(r"^\([\w-]+\)=\s*$", _blank, text, flags=re.M)  # labels
    text = re.sub(r"<!--.*?-->", _blank, text, flags=re.S)  # comments
    text = re.sub(r"\]\([^)]*\)", _blank, text)  # link targets
    text = re.sub(r"https?://\S+", _blank, text)
    return text, "\n".join(code_parts)


def find_numbers(page: str, source: str) -> list[Finding]:
    prose, _ = split_page(source)
    findings = []
    for lineno, line in enumerate(prose.splitlines(), start=1):
        for match in NUMBER.finditer(line):
            findings.append(Finding(page, lineno, match.group(0).strip(), match.lastgroup or "", line))
    return findings


def unexplained(page: str, source: str, allowed: list[tuple[str, str, str]]) -> list[Finding]:
    _, code = split_page(source)
    original_lines = source.splitlines()
    left = []
    for finding in find_numbers(page, source):
        line = original_lines[finding.line - 1] if finding.line <= len(original_lines) else ""
        ok = any(finding.literal == literal and context in line and (reason != PARAM or literal in code)
                 for literal, context, reason in allowed)
        if not ok:
            left.append(finding)
    return left


def _source(page: str) -> str:
    return (REPO / "book" / f"{page}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES)
def test_no_hand_typed_measured_number(page: str) -> None:
    left = unexplained(page, _source(page), ALLOWED[page])
    assert not left, (
        f"{len(left)} number(s) typed by hand in the prose of book/{page}.md: glue them from the cell "
        "that computes them ({glue:text}`name:fmt`), or, for a definition, a citation or a "
        "hyper-parameter, add them to ALLOWED with the reason:\n" + "\n".join(map(str, left)))


@pytest.mark.parametrize("page", PAGES)
def test_allowed_parameters_are_the_code_literals(page: str) -> None:
    """An allow-listed hyper-parameter must be in the code, and every allow-list entry must be used."""
    source = _source(page)
    _, code = split_page(source)
    found = {(f.literal, source.splitlines()[f.line - 1]) for f in find_numbers(page, source)}
    for literal, context, reason in ALLOWED[page]:
        assert reason.strip(), f"{page}: {literal!r} is allowed without a reason"
        if reason == PARAM:
            assert literal in code, f"{page}: hyper-parameter {literal!r} is not in the page's code"
        assert any(lit == literal and context in line for lit, line in found), (
            f"{page}: allow-list entry {literal!r} ({context!r}) matches nothing: remove it")


def test_every_page_is_checked() -> None:
    pages = {p.stem for p in (REPO / "book").glob("*.md")} - {"references"}
    assert pages <= set(ALLOWED), f"pages not checked: {sorted(pages - set(ALLOWED))}"


PLANTED = """---
jupytext:
  text_representation:
    extension: .md
---
# A page

The LSTM reached {glue:text}`acc:.1%` on the test set, and $\\rho = 0.95$ in math is fine.

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: "Accuracy against length; the RNN stays at 25 % after training."
    name: fig-planted
---
accuracy = 0.875  # in code: fine
print(f"{accuracy:.1%}")
```

Inline code `0.875` and a role {eq}`eq-1.5` are fine. A stale sentence: the RNN scored 0.531 and
the LSTM 87.5 %, a 1.6× gain, with a gradient of 2.6e-9 (or 2.6 × 10^-9). Version 2.13.0 is not a
measurement, nor is chapter 3, nor the year 2015.

```{exercise}
:label: ex-planted

Why did the loss stop at 1.386?
```
"""


def test_a_planted_stale_number_is_caught() -> None:
    findings = find_numbers("planted", PLANTED)
    literals = [f.literal for f in findings]
    assert literals == ["25 %", "0.531", "87.5 %", "1.6×", "2.6e-9", "2.6 × 10^-9", "1.386"], findings
    kinds = {f.literal: f.kind for f in findings}
    assert kinds["0.531"] == "decimal" and kinds["87.5 %"] == "percentage" and kinds["1.6×"] == "ratio"
    assert kinds["2.6e-9"] == kinds["2.6 × 10^-9"] == "scientific"
    # the caption's number is reported on the caption's line
    assert PLANTED.splitlines()[findings[0].line - 1].strip().startswith("caption:")


def test_a_planted_number_in_a_real_chapter_is_caught() -> None:
    source = _source("03_lstm")
    at = source.index("\n## ", source.index("(ch-lstm)="))
    planted = source[:at] + "\n\nIn our run the LSTM reached 87.5 % at T = 60.\n" + source[at:]
    before = {f.literal for f in unexplained("03_lstm", source, ALLOWED["03_lstm"])}
    after = unexplained("03_lstm", planted, ALLOWED["03_lstm"])
    assert [f.literal for f in after if f.literal not in before] == ["87.5 %"]


def test_allow_list_needs_the_literal_in_code_for_a_parameter() -> None:
    page = "# P\n\nWe train with learning rate 0.03.\n\n```{code-cell} ipython3\nlr = 0.01\n```\n"
    assert [f.literal for f in unexplained("p", page, [("0.03", "", PARAM)])] == ["0.03"]
    assert unexplained("p", page.replace("0.01", "0.03"), [("0.03", "", PARAM)]) == []
    assert unexplained("p", page, [("0.03", "", "the published value, cited")]) == []


def test_the_scan_sees_every_chapter_prose_line() -> None:
    """A sanity check of the splitter on a real chapter: prose survives, code does not."""
    prose, code = split_page(_source("01_rnn"))
    assert "import" in code and "import numpy" not in prose
    assert len(prose.splitlines()) == len(_source("01_rnn").splitlines())
    assert Path(REPO / "book" / "01_rnn.md").exists()
