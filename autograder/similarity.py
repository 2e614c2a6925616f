"""Which students' answers are alike: a ranking for the instructor to read, never a verdict.

The students' *answer cells* (and cells they added) are compared with ``copydetect``, a MOSS-style
detector: the k-grams of each submission's normalised code are winnowed into fingerprints
(Schleimer, Wilkerson and Aiken, SIGMOD 2003), and two submissions are alike in proportion to the
share of their fingerprinted code that they have in common; copydetect also finds the shared
passages that the report highlights.

Normalisation: copydetect's own (Pygments tokens, every name replaced by ``V``) also erases the
library calls that tell one correct answer from another (``np.dot``, ``np.einsum``, ``.sum`` all
become ``V.V``), and it keeps the order of lines. So the code is normalised here, with Python's
``ast``, before it is fingerprinted: every local name (parameters, assigned variables, loop
variables) becomes ``v`` while the names the code reads from outside stay (``np.einsum``,
``range``, ``rnn_cell``); comments, docstrings and layout disappear (the code is printed back by
``ast.unparse``); dictionary entries and keyword arguments are sorted; and consecutive statements
that do not depend on each other (neither reads or changes what the other assigns) are put in one
canonical order. Renaming variables, rewording comments, re-indenting and reordering independent
lines therefore change nothing. A cell that does not parse is fingerprinted with copydetect's own
tokeniser instead.

Two sources of likeness are removed first, as MOSS does:

- the released template (the signature and docstring of each answer cell, nbgrader's stub): its
  fingerprints are copydetect's *boilerplate*;
- passages that many students share (found in more than ``common_fraction`` of the submissions,
  and more than ``common_count``; MOSS's ``-m`` option): a correct answer to a small function is
  short, and many students write it the same way, so those passages say nothing about copying.

A pair's *share* of a submission is the part of its code (the template excluded) that lies in
passages found in both and in few others; the pair's score is the smaller of its two shares.

What remains ranks pairs. A high rank means "read these two side by side", not "these students
copied": short functions have few ways to be written, students who studied together or from the
same book write alike, and only a person who reads the code (and knows the students) can judge.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import csv
import hashlib
import html
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NOISE_K = 25  # k-gram length in characters of normalised code (copydetect's default noise threshold)
WINDOW = 4  # winnowing window: every shared run of k + WINDOW - 1 characters is found
COMMON_FRACTION = 0.05  # passages in more than 5 % of the submissions are not evidence (15 of 300),
COMMON_COUNT = 5  # nor, in a small class, passages in more than 5 (MOSS's "-m" is a count, 10 by default)
THRESHOLD = 0.2  # pairs listed above the line: 20 % of each one's code in uncommon shared passages
SOLUTION_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[ \t]*\n?", re.S | re.M)

WHY_ALIKE = (
    "Correct answers to a small function look alike by nature: a few lines, a few ways to write "
    "them. The released template and passages that many students share are ignored, and pairs are "
    "ranked by how much of their remaining code they have in common. A high rank is a reason to "
    "read two notebooks side by side, not evidence of copying."
)


@dataclass
class Pair:
    a: str
    b: str
    share_a: float  # share of a's fingerprinted code found in b
    share_b: float
    lines_a: set[int] = field(repr=False, default_factory=set)  # a's lines in shared passages (1-based)
    lines_b: set[int] = field(repr=False, default_factory=set)

    @property
    def score(self) -> float:
        """Of the two, the smaller share: both must be mostly shared code for a high score."""
        return min(self.share_a, self.share_b)


@dataclass
class SimilarityResult:
    documents: dict[str, str]
    pairs: list[Pair]  # every pair with shared code, best first
    threshold: float
    n_common: int  # fingerprints dropped as shared by many students

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.threshold]


def released_template(source_nb: Any) -> str:
    """The answer cells as students receive them: each solution block replaced by nbgrader's stub."""
    parts = []
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            parts.append(SOLUTION_BLOCK.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()\n",
                                            cell.source))
    return "\n\n".join(parts)


def student_documents(results: list[Any]) -> dict[str, str]:
    """Each graded student's answer cells (and added cells), in notebook order. Students who wrote
    nothing (empty or untouched answers) are left out."""
    docs = {}
    for r in results:
        code = getattr(r, "code", None) or {}
        text = "\n\n".join(v for v in code.values() if v and v.strip())
        if text.strip() and "raise NotImplementedError()" not in text.replace(" ", ""):
            docs[r.student] = text
        elif text.strip():
            # Partly done: keep the cells that were answered.
            kept = [v for v in code.values() if v.strip() and "NotImplementedError" not in v]
            if kept:
                docs[r.student] = "\n\n".join(kept)
    return docs


class _Rename(ast.NodeTransformer):
    """Local names become ``v`` (in place: the tree keeps its shape)."""

    def __init__(self, local: set[str]) -> None:
        self.local = local

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.local:
            node.id = "v"
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg, node.annotation = "v", None
        return node


class _Sort(ast.NodeTransformer):
    """Dictionary entries and keyword arguments in a canonical order."""

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        entries = sorted(zip(node.keys, node.values, strict=True),
                         key=lambda kv: ast.unparse(kv[0]) if kv[0] is not None else "")
        node.keys, node.values = [k for k, _ in entries], [v for _, v in entries]
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        node.keywords = sorted(node.keywords, key=lambda k: k.arg or "")
        return node


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _written(target: ast.AST) -> str | None:
    """What an assignment target changes: a name, ``d['key']`` for a constant key, else the base."""
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
            and isinstance(target.slice, ast.Constant):
        return f"{target.value.id}[{target.slice.value!r}]"
    return _base_name(target)


def _effects(stmt: ast.stmt, local: set[str]) -> tuple[set[str], set[str]] | None:
    """(names read, things changed) of a simple statement; None for one that must stay in place."""
    if not isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)):
        return None
    def loads(node: ast.AST | None) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} \
            if node is not None else set()

    writes = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    reads = loads(stmt.value)
    for target in targets:
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            written = _written(target)
            if written:
                writes.add(written)
            reads |= loads(target.slice) if isinstance(target, ast.Subscript) else set()
        elif target is not None:
            reads |= loads(target)
    if isinstance(stmt, ast.AugAssign):
        reads |= {b for b in [_base_name(stmt.target)] if b}
    for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Attribute):  # x.append(...), x.fill(...) change x; x.sum() does not
            base = _base_name(call.func.value)
            if base in local and call.func.attr in MUTATING:
                writes.add(base)
        elif isinstance(call.func, ast.Name) and call.func.id not in ("len", "range", "print"):
            return None  # a call to a function of the notebook could read or change anything
    return reads, writes


MUTATING = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem", "add",
            "discard", "sort", "reverse", "fill", "resize", "put", "itemset", "setflags", "partition"}


def _conflict(changed: set[str], used: set[str]) -> bool:
    """Whether changing ``changed`` can affect ``used`` (``d['k']`` and ``d`` overlap)."""
    for a in changed:
        for b in used:
            if a == b or a.startswith(b + "[") or b.startswith(a + "["):
                return True
    return False


def _canonical_order(body: list[ast.stmt], key: dict[int, str], local: set[str]) -> list[ast.stmt]:
    """The statements in an order that does not depend on how independent ones were arranged:
    a topological order of their dependencies, ties broken by the normalised text."""
    effects = [_effects(s, local) for s in body]
    deps: list[set[int]] = []
    for j, ej in enumerate(effects):
        before = set()
        for i in range(j):
            ei = effects[i]
            if ei is None or ej is None or _conflict(ei[1], ej[0] | ej[1]) or _conflict(ej[1], ei[0]):
                before.add(i)
        deps.append(before)
    placed: list[int] = []
    done: set[int] = set()
    while len(placed) < len(body):
        ready = [j for j in range(len(body)) if j not in done and deps[j] <= done]
        j = min(ready, key=lambda j: (key[id(body[j])], j))
        placed.append(j)
        done.add(j)
    return [body[j] for j in placed]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def normalise(code: str) -> tuple[str, list[tuple[int, int]]] | None:
    """The code as compared: one line per statement (compound statements: their header, then their
    body), and for each line the span of original lines it stands for. None if it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    local |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    renamed = _Rename(local).visit(copy.deepcopy(tree))
    twin = {id(a): b for a, b in zip(ast.walk(tree), ast.walk(renamed), strict=True)}
    lines: list[tuple[str, int, int]] = []

    def text(node: ast.AST) -> str:
        return ast.unparse(_Sort().visit(copy.deepcopy(twin[id(node)]))).replace(" ", "")

    def emit(body: list[ast.stmt], depth: int) -> None:
        body = [s for s in body if not _is_docstring(s)]
        key = {id(s): text(s) for s in body}
        for s in _canonical_order(body, key, local):
            pad = "\t" * depth
            blocks: list[tuple[str, list[ast.stmt]]] = []
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                blocks = [(f"def{s.name}({text(s.args)}):", s.body)]
            elif isinstance(s, (ast.For, ast.AsyncFor)):
                blocks = [(f"for{text(s.target)}in{text(s.iter)}:", s.body), ("else:", s.orelse)]
            elif isinstance(s, ast.While):
                blocks = [(f"while{text(s.test)}:", s.body), ("else:", s.orelse)]
            elif isinstance(s, ast.If):
                blocks = [(f"if{text(s.test)}:", s.body), ("else:", s.orelse)]
            if blocks:
                for header, inner in blocks:
                    if inner or header != "else:":
                        first = inner[0].lineno if inner else s.lineno
                        lines.append((pad + header, s.lineno if header != "else:" else first, s.lineno
                                      if header != "else:" else first))
                        emit(inner, depth + 1)
            else:
                lines.append((pad + text(s), s.lineno, s.end_lineno or s.lineno))

    emit(tree.body, 0)
    return "\n".join(t for t, _, _ in lines), [(a, b) for _, a, b in lines]


@dataclass
class _Doc:
    """A submission as compared: its fingerprint, and how to map shared passages back to its lines."""

    code: str
    fingerprint: Any
    spans: list[tuple[int, int]] | None  # None: copydetect's tokeniser (slices are original offsets)


def _fingerprint(code: str, boilerplate: np.ndarray | None, k: int, window: int) -> _Doc:
    from copydetect import CodeFingerprint

    norm = normalise(code)
    if norm is None:
        fp = CodeFingerprint("answer.py", k, window, boilerplate=boilerplate, fp=io.StringIO(code),
                             language="python")
        return _Doc(code, fp, None)
    text, spans = norm
    fp = CodeFingerprint("answer.txt", k, window, boilerplate=boilerplate, filter=False, fp=io.StringIO(text))
    return _Doc(code, fp, spans)


def shared_lines(doc: _Doc, slices: np.ndarray) -> set[int]:
    """The original line numbers (1-based) that the shared passages cover."""
    slices = np.asarray(slices, dtype=int).reshape(2, -1)
    if doc.spans is None:
        starts = np.cumsum([0] + [len(line) + 1 for line in doc.code.split("\n")])
        return {int(np.searchsorted(starts, pos, side="right")) for a, b in slices.T for pos in range(a, b)}
    text = doc.fingerprint.raw_code
    ends = np.cumsum([len(line) + 1 for line in text.split("\n")])
    out: set[int] = set()
    for a, b in slices.T:
        for index in range(int(np.searchsorted(ends, a, side="right")), int(np.searchsorted(ends, b - 1, side="right")) + 1):
            if index < len(doc.spans):
                lo, hi = doc.spans[index]
                out.update(range(lo, hi + 1))
    return out


def _stable_kgram_hashes(string: str, k: int) -> np.ndarray:
    """copydetect's ``hashed_kgrams`` with a hash that is the same in every process: copydetect uses
    Python's ``hash()``, which is salted per process, so which fingerprints winnowing keeps, and
    the scores, would change from one run to the next."""
    return np.array([int.from_bytes(hashlib.blake2b(string[i:i + k].encode(), digest_size=8).digest(),
                                    "little", signed=True) for i in range(len(string) - k + 1)],
                    dtype=np.int64)


@contextlib.contextmanager
def _stable_hashes() -> Any:
    from copydetect import utils

    saved = utils.hashed_kgrams
    utils.hashed_kgrams = _stable_kgram_hashes
    try:
        yield
    finally:
        utils.hashed_kgrams = saved


def compare(documents: dict[str, str], template: str = "", *, k: int = NOISE_K, window: int = WINDOW,
            common_count: int = COMMON_COUNT, common_fraction: float = COMMON_FRACTION,
            threshold: float = THRESHOLD) -> SimilarityResult:
    """Rank every pair of ``documents`` (student -> code) by shared code, the template and passages
    common to many students excluded. The same documents give the same ranking in every run."""
    with _stable_hashes():
        return _compare(documents, template, k=k, window=window, common_count=common_count,
                        common_fraction=common_fraction, threshold=threshold)


def _compare(documents: dict[str, str], template: str, *, k: int, window: int, common_count: int,
             common_fraction: float, threshold: float) -> SimilarityResult:
    from copydetect.detector import compare_files

    names = sorted(documents)
    boiler = np.array(sorted(_fingerprint(template, None, k, 1).fingerprint.hashes), dtype=np.int64) \
        if template.strip() else np.array([], dtype=np.int64)
    first = {n: _fingerprint(documents[n], boiler, k, window) for n in names}
    frequency = Counter(h for n in names for h in first[n].fingerprint.hashes)
    limit = max(common_count, common_fraction * len(names))
    common = np.array(sorted(h for h, c in frequency.items() if c > limit), dtype=np.int64)
    prints = first
    if len(common):
        prints = {n: _fingerprint(documents[n], np.union1d(boiler, common), k, window) for n in names}
    index: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        for h in prints[n].fingerprint.hashes:
            index[h].append(i)
    candidates = {(i, j) for members in index.values() for x, i in enumerate(members) for j in members[x + 1:]}
    pairs = []
    for i, j in sorted(candidates):
        da, db = prints[names[i]], prints[names[j]]
        if not da.fingerprint.token_coverage or not db.fingerprint.token_coverage:
            continue
        _, _, (slices_a, slices_b) = compare_files(da.fingerprint, db.fingerprint)
        # Shares of the whole answer (template excluded), not of what is left after the common
        # passages are removed: sharing one unusual line is not sharing a whole answer.
        sa = min(1.0, _covered(slices_a) / max(first[names[i]].fingerprint.token_coverage, 1))
        sb = min(1.0, _covered(slices_b) / max(first[names[j]].fingerprint.token_coverage, 1))
        if sa > 0 or sb > 0:
            pairs.append(Pair(names[i], names[j], float(sa), float(sb),
                              shared_lines(da, slices_a), shared_lines(db, slices_b)))
    pairs.sort(key=lambda p: (-p.score, -max(p.share_a, p.share_b), p.a, p.b))
    return SimilarityResult(documents, pairs, threshold, len(common))


def _covered(slices: np.ndarray) -> int:
    slices = np.asarray(slices).reshape(2, -1)
    return int(np.sum(slices[1] - slices[0])) if slices.size else 0


_CACHE: dict[str, SimilarityResult] = {}


def for_class(info: Any, results: list[Any], **kwargs: Any) -> SimilarityResult:
    """The similarity of a graded class (cached: the CSV and the report share one computation)."""
    docs = student_documents(results)
    template = released_template(info.nb)
    key = hashlib.sha256(repr((sorted(docs.items()), template, sorted(kwargs.items()))).encode()).hexdigest()
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = compare(docs, template, **kwargs)
    return _CACHE[key]


def write_csv(result: SimilarityResult, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rank", "student_a", "student_b", "score", "share_of_a", "share_of_b", "above_threshold"])
        for rank, p in enumerate(result.pairs, start=1):
            writer.writerow([rank, p.a, p.b, f"{p.score:.3f}", f"{p.share_a:.3f}", f"{p.share_b:.3f}",
                             "yes" if p.score >= result.threshold else ""])
    return path


def _highlight(code: str, lines: set[int]) -> str:
    return "\n".join(f"<mark>{html.escape(line)}</mark>" if k in lines else html.escape(line)
                     for k, line in enumerate(code.split("\n"), start=1))


def report_section(result: SimilarityResult, *, shown: int = 10) -> str:
    """The report.html section: the ranking, and the top pairs side by side, shared code marked."""
    esc = html.escape
    n = len(result.documents)
    out = ["<h2>Similar answers</h2>", f"<p>{esc(WHY_ALIKE)}</p>",
           f"<p>{n} submissions with code compared; {len(result.pairs)} pairs share some code "
           f"beyond the template; {result.n_common} passages shared by many students were ignored. "
           f"{len(result.flagged)} pairs reach the listing threshold ({result.threshold:.0%} of each "
           "one's code shared). The full ranking is in <code>similarity.csv</code>.</p>"]
    if not result.pairs:
        out.append("<p>No two submissions share code beyond the template and common passages.</p>")
        return "\n".join(out)
    rows = "".join(
        f"<tr><td>{rank}</td><td>{esc(p.a)}</td><td>{esc(p.b)}</td><td>{p.score:.0%}</td>"
        f"<td>{p.share_a:.0%} / {p.share_b:.0%}</td></tr>"
        for rank, p in enumerate(result.pairs[:max(shown, len(result.flagged))][:50], start=1))
    out.append("<table><tr><th>rank</th><th>student</th><th>student</th><th>score (smaller share)</th>"
               "<th>share of each one's code</th></tr>" + rows + "</table>")
    out.append("<style>.sbs{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}"
               ".sbs pre{font-size:.75rem}mark{background:#ffe08a}</style>")
    for rank, p in enumerate(result.pairs[:shown], start=1):
        left = _highlight(result.documents[p.a], p.lines_a)
        right = _highlight(result.documents[p.b], p.lines_b)
        out.append(f"<details{' open' if rank <= 3 else ''}><summary>#{rank}: {esc(p.a)} and {esc(p.b)} "
                   f"({p.score:.0%})</summary><div class='sbs'><div><b>{esc(p.a)}</b><pre>{left}</pre></div>"
                   f"<div><b>{esc(p.b)}</b><pre>{right}</pre></div></div></details>")
    return "\n".join(out)


def write_similarity(info: Any, results: list[Any], folder: Path) -> Path:
    """``similarity.csv`` for a graded class (the report's section comes from :func:`report_section`)."""
    return write_csv(for_class(info, results), folder / "similarity.csv")
