"""Figures of the book, checked from the page sources (no build needed).

1. Every figure of every page (a code cell with ``mystnb: figure:`` metadata, a ``{figure}`` or a
   ``{glue:figure}`` directive) has a caption and a name, and the name is cited from the page's text
   with ``{numref}`` or ``{ref}``.
2. The schematic diagrams (``book/diagrams.py``) of the LSTM and the GRU write the gate names and
   symbols of ``book/notation.md``: every symbol they draw is one of its tables' symbols, and every
   "name $symbol$" pair they draw (``forget gate $f_t$``) is a row of its table of gates.
3. Every kind of diagram is shown in some chapter, each diagram draws quickly, and the cells that
   show diagrams keep their code out of the reader's way (``remove-input``).
4. Cells whose code only draws carry ``hide-input`` or ``remove-input`` (the style guide's rule).

Each check is a function that returns its problems, tested once on a synthetic input that must
fail (a planted unreferenced figure, a wrong gate label, an unfolded drawing cell), so that the
checks on the real pages cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest
import yaml
from conftest import REPO

BOOK = REPO / "book"


def _load_diagrams():
    """The book's drawing module, loaded from its file (book/ is not put on sys.path)."""
    spec = importlib.util.spec_from_file_location("diagrams", BOOK / "diagrams.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


diagrams = _load_diagrams()

TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
CHAPTERS = [p for p in PAGES if re.fullmatch(r"book/0\d_\w+", p)]
FOLDED = {"hide-input", "remove-input"}


# --------------------------------------------------------------------------------------------------
# 1. every figure has a caption and a name, and the name is cited


@dataclass(frozen=True)
class FigureEntry:
    name: str | None
    caption: str
    kind: str      # "cell", "figure" or "glue:figure"
    where: str     # a few words to find it


DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>figure|glue:figure)\}[^\n]*\n(?P<body>.*?)^(?P=fence)\s*$",
    re.M | re.S,
)
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
CITE = re.compile(r"\{(?:numref|ref)\}`(?:[^`<]*<)?(?P<label>[^`>]+)>?`")


def _directive_entry(match: re.Match) -> FigureEntry:
    options, caption_lines, in_options = {}, [], True
    for line in match["body"].splitlines():
        option = OPTION.match(line.strip()) if in_options else None
        if option:
            options[option["key"]] = option["value"].strip().strip("\"'")
            continue
        in_options = False
        caption_lines.append(line)
    return FigureEntry(options.get("name"), "\n".join(caption_lines).strip(), match["kind"],
                       match.group(0).splitlines()[0])


def page_figures(notebook) -> tuple[list[FigureEntry], str]:
    """The figures of a page and the text that may cite them (markdown cells and captions)."""
    figures, text = [], []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text.append(cell.source)
            figures += [_directive_entry(m) for m in DIRECTIVE.finditer(cell.source)]
        elif cell.cell_type == "code":
            meta = cell.metadata.get("mystnb", {}).get("figure")
            if meta is not None:
                figures.append(FigureEntry(meta.get("name"), str(meta.get("caption") or "").strip(), "cell",
                                           cell.source.strip().splitlines()[-1][:60] if cell.source.strip() else ""))
    text += [f.caption for f in figures]
    return figures, "\n".join(text)


def figure_problems(notebook) -> list[str]:
    """Figures without a caption or a name, and names that nothing cites."""
    figures, text = page_figures(notebook)
    cited = {m["label"].strip() for m in CITE.finditer(text)}
    problems = []
    for f in figures:
        if not f.caption:
            problems.append(f"{f.kind} figure {f.name or f.where!r} has no caption")
        if not f.name:
            problems.append(f"{f.kind} figure ({f.where!r}) has no name")
        elif f.name not in cited:
            problems.append(f"figure {f.name} is never cited with {{numref}} or {{ref}}")
    return problems


def read_page(doc: str):
    return jupytext.read(REPO / f"{doc}.md")


def _synthetic(markdown: str):
    return jupytext.reads(markdown, fmt="md:myst")


PLANTED = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---
# A page

{numref}`fig-cited` shows one thing.

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: Cited.
    name: fig-cited
---
x = 1
```

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: Nobody cites me.
    name: fig-planted
---
y = 2
```

```{code-cell} ipython3
---
mystnb:
  figure:
    name: fig-no-caption
---
z = 3
```

:::{figure} picture.png
:name: fig-directive

A directive figure that {ref}`fig-no-caption` cites, but nothing cites it.
:::

```{glue:figure} some-key
:name: "fig-glued"

A glued figure, cited as {numref}`Figure %s <fig-glued>`.
```
"""


def test_figure_check_fails_on_planted_figures() -> None:
    problems = figure_problems(_synthetic(PLANTED))
    assert "figure fig-planted is never cited with {numref} or {ref}" in problems
    assert "cell figure 'fig-no-caption' has no caption" in problems
    assert "figure fig-directive is never cited with {numref} or {ref}" in problems
    assert not any("fig-cited" in p or "fig-glued" in p for p in problems), problems
    assert len(problems) == 3, problems


@pytest.mark.parametrize("doc", PAGES)
def test_every_figure_has_a_caption_a_name_and_a_citation(doc: str) -> None:
    problems = figure_problems(read_page(doc))
    assert not problems, f"{doc}: " + "; ".join(problems)


# --------------------------------------------------------------------------------------------------
# 2. the LSTM and GRU diagrams use the notation page's names and symbols

MATH = re.compile(r"\$([^$]+)\$")
SYMBOL = re.compile(
    r"(?P<base>\\tilde\s*\{?\s*[A-Za-z]\s*\}?|\\bar\s*\{?\s*[A-Za-z]\s*\}?|\\mathbf\{[A-Za-z]\}|\\alpha|[A-Za-z])"
    r"(?P<prime>')?_(?P<sub>\{[^{}]*\}|\\[a-z]+|[A-Za-z0-9])"
)
CODE = re.compile(r"`([^`]+)`")
CODE_NAME = re.compile(r"^[A-Za-z]_[A-Za-z]+$")
NAMED = re.compile(r"(?P<name>(?:forget|input|output|reset|update) gate|candidate|cell update|hidden update)"
                   r"\s+\$(?P<math>[^$]+)\$")
# Chapter 4 writes PyTorch's update gate z'_t, to tell it from the notes' z_t in the same equations
# (eq-gru-torch-gates); the notation page's PyTorch paragraph calls it z. Nothing else is renamed.
PYTORCH_PRIMED = {"z'_t": "z_t"}


def normalise(symbol: str) -> str:
    """``c_{t-1}`` -> ``c_t-1``, ``\\tilde{h}_t`` -> ``\\tildeh_t``, ``W_{xh}`` -> ``W_xh``."""
    return re.sub(r"[\s{}]", "", symbol)


def symbols_in(math: str) -> set[str]:
    return {normalise(m.group(0)) for m in SYMBOL.finditer(math)}


def _table_rows(markdown: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[-| :]+\|", line.strip()):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def notation(markdown: str) -> tuple[set[str], dict[tuple[str, str], str]]:
    """The symbols of the notation page's tables (and of its paragraph on PyTorch's GRU and LSTM),
    and its table of gates as {(model, quantity name): symbol}."""
    known: set[str] = set()
    for row in _table_rows(markdown):
        for cell in row:
            for math in MATH.findall(cell):
                known |= symbols_in(math)
            for code in CODE.findall(cell):     # parameter names: `W_xf, W_hf, b_f`
                known |= {name for name in re.split(r"[,\s]+", code) if CODE_NAME.match(name)}
    pytorch = markdown.split("## Fused weights and PyTorch's orders", 1)[1].split("\n## ", 1)[0]
    for math in MATH.findall(pytorch):
        known |= symbols_in(math)
    gates = {}
    for row in _table_rows(markdown):
        if len(row) == 4 and row[0] in {"RNN", "LSTM", "GRU"}:
            name = re.sub(r"\s*\(.*\)", "", row[1]).strip()
            lhs = MATH.findall(row[2])[0].split("=")[0]
            gates[row[0], name] = normalise(lhs)
    return known, gates


NOTATION = notation((BOOK / "notation.md").read_text(encoding="utf-8"))


def label_problems(texts: list[str], model: str, known_gates=NOTATION, *, complete: bool = True) -> list[str]:
    """Symbols that the notation page does not define, and gate names paired with the wrong symbol
    in the texts a diagram of ``model`` ("LSTM" or "GRU") draws; with ``complete``, also the gates
    it never names (a diagram of the whole cell names them all, a build-up stage only its own)."""
    known, gates = known_gates
    own = {name: sym for (m, name), sym in gates.items() if m == model}
    problems, named = [], set()
    for text in texts:
        for math in MATH.findall(text):
            for symbol in symbols_in(math):
                symbol = PYTORCH_PRIMED.get(symbol, symbol)
                if symbol not in known:
                    problems.append(f"{symbol!r} (in {text!r}) is not a symbol of book/notation.md")
        for match in NAMED.finditer(text):
            name, symbol = match["name"], normalise(match["math"].split("=")[0])
            named.add(name)
            if own.get(name) != symbol:
                problems.append(f"{text!r} names {name} ${symbol}$; book/notation.md: {name} ${own.get(name)}$")
    missing = {n for n, _ in own.items() if "gate" in n or n == "candidate"} - named if complete else set()
    problems += [f"the {model} diagram never names the {n} (${own[n]}$)" for n in sorted(missing)]
    return problems


def test_notation_tables_are_parsed() -> None:
    known, gates = NOTATION
    assert gates["LSTM", "forget gate"] == "f_t" and gates["LSTM", "candidate"] == "g_t"
    assert gates["GRU", "candidate"] == "\\tildeh_t" and gates["GRU", "update gate"] == "z_t"
    assert {"c_t-1", "h_t-1", "W_xf", "W_hn", "n_t", "d_t", "\\alpha_t,s"} <= known


def test_label_check_fails_on_wrong_labels() -> None:
    right = ["forget gate $f_t$", "input gate $i_t$", "candidate $g_t$", "output gate $o_t$", "$c_{t-1}$"]
    assert label_problems(right, "LSTM") == []
    swapped = ["forget gate $i_t$", "input gate $f_t$", "candidate $g_t$", "output gate $o_t$"]
    assert len(label_problems(swapped, "LSTM")) == 2
    notes_name = right + [r"$\tilde C_t$"]          # the source notes' name for the candidate
    assert label_problems(notes_name, "LSTM") == ["'\\\\tildeC_t' (in '$\\\\tilde C_t$') is not a symbol of "
                                                  "book/notation.md"]
    gru_as_lstm = ["reset gate $r_t$", "update gate $z_t$", r"candidate $\tilde h_t$"]
    assert label_problems(gru_as_lstm, "GRU") == []
    assert any("never names the output gate" in p for p in label_problems(gru_as_lstm, "LSTM"))


@pytest.mark.parametrize("kind, model", [("lstm_cell", "LSTM"), ("gru_conventions", "GRU")])
def test_gate_diagrams_use_the_notation(kind: str, model: str) -> None:
    assert label_problems(diagrams.labels(diagrams.ALL[kind]()), model) == []
    # the gate colours are one per gate, whatever the figure
    assert len(set(diagrams.GATES.values())) == len(diagrams.GATES)


@pytest.mark.parametrize("stage", list(diagrams.LSTM_STAGES))
def test_lstm_build_up_stages_use_the_notation(stage: str) -> None:
    texts = diagrams.labels(diagrams.lstm_stage(stage))
    assert label_problems(texts, "LSTM", complete=False) == []
    assert any(re.search(r"(gate|candidate|update) \$", t) for t in texts), f"stage {stage} names no gate"


# --------------------------------------------------------------------------------------------------
# 3. every diagram is shown, draws quickly, and its cell hides its code


def diagram_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and "diagrams." in c.source]


def test_every_kind_of_diagram_is_in_a_chapter() -> None:
    shown = {}
    for doc in CHAPTERS:
        for cell in diagram_cells(read_page(doc)):
            for name in re.findall(r"diagrams\.(\w+)\(", cell.source):
                shown.setdefault(name, doc)
    missing = set(diagrams.ALL) - set(shown)
    assert not missing, f"diagrams drawn by no chapter: {sorted(missing)}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_diagram_cells_are_figures_without_visible_code(doc: str) -> None:
    for cell in diagram_cells(read_page(doc)):
        tags = set(cell.metadata.get("tags", []))
        assert "remove-input" in tags, f"{doc}: a diagram cell shows its code: {cell.source[:80]!r}"
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        assert figure.get("name", "").startswith("fig-"), f"{doc}: a diagram without a fig- name"
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt) > 20, f"{doc}: {figure.get('name')} has no alt text (mystnb: image: alt:)"


def test_diagrams_draw_quickly_on_white() -> None:
    start = time.process_time()
    for name, draw in diagrams.ALL.items():
        fig = draw("forget") if name == "lstm_stage" else draw()
        assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0), f"{name}: not on an opaque white background"
        text = diagrams.svg(fig)
        assert text.lstrip().startswith("<?xml") and "<svg" in text, name
        assert 5_000 < len(text) < 200_000, f"{name}: {len(text)} bytes of SVG"
        assert len(diagrams.labels(fig)) >= 3, f"{name} draws almost no labels"
    cpu = time.process_time() - start
    assert cpu < 10.0, f"drawing every diagram took {cpu:.1f} s of CPU (budget: a few seconds in all)"


# --------------------------------------------------------------------------------------------------
# 4. drawing code is folded

DRAWING_ROOTS = {"plt", "ax", "axes", "fig", "ax1", "ax2", "ax3", "axs", "diagrams", "display"}


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _only_draws(statements: list[ast.stmt]) -> bool:
    for node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _root(node.value) in DRAWING_ROOTS:
            continue
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and _root(node.value) in {"plt", "fig", "ax", "axes", "diagrams"}):
            continue
        if isinstance(node, ast.For) and not node.orelse and _only_draws(node.body):
            continue
        return False
    return True


def only_draws(source: str) -> bool:
    """True for a cell whose every statement draws: a call on plt/ax/fig/axes/diagrams (``ax.plot``,
    ``plt.show()``), ``fig, ax = plt.subplots(...)``, imports, and loops made only of these. Any
    other statement (a computation, an assert, a definition) makes the cell part of the lesson."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not a drawing cell
        return False
    draws = any(_root(n.value) in DRAWING_ROOTS for n in tree.body if isinstance(n, ast.Expr))
    return draws and _only_draws(tree.body)


def unfolded_drawing_cells(notebook) -> list[str]:
    return [c.source.strip().splitlines()[0][:70] for c in notebook.cells
            if c.cell_type == "code" and only_draws(c.source)
            and not FOLDED & set(c.metadata.get("tags", []))]


def test_unfolded_drawing_check_finds_a_planted_cell() -> None:
    page = _synthetic(PLANTED.replace("y = 2", "fig, ax = plt.subplots()\nfor k in range(3):\n"
                                      "    ax.plot([k, k + 1])\nax.set(xlabel='step')\nplt.show()"))
    assert unfolded_drawing_cells(page) == ["fig, ax = plt.subplots()"]
    assert not only_draws("losses = train()\nplt.plot(losses)\nplt.show()")   # computes: the lesson
    assert not only_draws("assert x > 0\nplt.show()")


@pytest.mark.parametrize("doc", CHAPTERS)
def test_drawing_cells_are_folded(doc: str) -> None:
    unfolded = unfolded_drawing_cells(read_page(doc))
    assert not unfolded, f"{doc}: cells that only draw but show their code (tag hide-input): {unfolded}"


def test_pages_exist() -> None:
    for doc in PAGES:
        assert Path(REPO / f"{doc}.md").exists(), doc
