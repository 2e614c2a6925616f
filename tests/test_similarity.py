"""The similarity report (``autograder.similarity``): normalisation, ranking, the CSV and the
report's section. The class-scale figures are measured by ``benchmarks/similarity.py``."""

from __future__ import annotations

import csv
import importlib.util
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from conftest import REPO

from autograder import similarity

ORIGINAL = textwrap.dedent('''\
    def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
        """Gradients of one step."""
        da = dh_next * (1 - h_next ** 2)  # back through tanh
        grads = {}
        grads["dx"] = da @ W_xh.T
        grads["dW_xh"] = x.T @ da
        grads["db_h"] = da.sum(axis=0)
        return grads
    ''')
# Renamed, comments rewritten, independent lines reordered, re-indented: the same answer.
DISGUISED = textwrap.dedent('''\
    def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
        """Gradients of one step."""
        # derivative of the nonlinearity
        delta = dh_next * (1 - h_next ** 2)
        out = {}
        out["db_h"] = delta.sum(axis=0)   # sum over the batch
        out["dW_xh"] = x.T @ delta
        out["dx"] = delta @ W_xh.T
        return out
    ''')
# Correct too, written differently: other library calls.
DIFFERENT = textwrap.dedent('''\
    def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
        """Gradients of one step."""
        da = (1 - np.square(h_next)) * dh_next
        return dict(dx=np.dot(da, W_xh.transpose()), dW_xh=np.einsum("nd,nh->dh", x, da),
                    db_h=np.sum(da, axis=0))
    ''')


def test_normalising_undoes_renames_comments_and_reordering() -> None:
    assert similarity.normalise(ORIGINAL)[0] == similarity.normalise(DISGUISED)[0]
    assert similarity.normalise(ORIGINAL)[0] != similarity.normalise(DIFFERENT)[0]


def test_dependent_lines_keep_their_order() -> None:
    a = "def f(x):\n    y = x + 1\n    y = y * 2\n    return y\n"
    b = "def f(x):\n    y = x * 2\n    y = y + 1\n    return y\n"
    assert similarity.normalise(a)[0] != similarity.normalise(b)[0]


def test_library_calls_are_kept_unlike_copydetects_own_tokens() -> None:
    text, _ = similarity.normalise(DIFFERENT)
    assert "np.einsum" in text and "np.dot" in text and "da" not in text


def test_copy_ranks_first_and_the_template_is_not_evidence() -> None:
    template = "def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):\n" \
               '    """Gradients of one step."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n'
    docs = {"ada": ORIGINAL, "grace": DISGUISED, "alan": DIFFERENT}
    result = similarity.compare(docs, template, k=8, window=2)
    top = result.pairs[0]
    assert {top.a, top.b} == {"ada", "grace"} and top.score == pytest.approx(1.0)
    assert all(p.score < top.score for p in result.pairs[1:])
    # Only the template in common: nothing to report.
    blank = similarity.compare({"a": template, "b": template}, template, k=8, window=2)
    assert blank.pairs == []


def test_passages_many_students_share_are_ignored() -> None:
    """Twelve students with the same correct line: common, not evidence; a pair that also shares
    an unusual passage is still found."""
    common = "def f(x):\n    y = np.tanh(x @ W + b)\n    return y\n"
    odd = "def g(x):\n    z = np.cumsum(x[::-1], axis=0)[::-1]\n    return np.flip(z, 1).copy()\n"
    docs = {f"s{k:02d}": common for k in range(12)}
    docs["s00"] = docs["s01"] = common + odd
    result = similarity.compare(docs, "", k=8, window=2, common_count=10)
    assert result.n_common > 0
    assert {result.pairs[0].a, result.pairs[0].b} == {"s00", "s01"}
    assert all(p.score == 0 for p in result.pairs[1:])


def _results(docs: dict[str, str]) -> list[SimpleNamespace]:
    return [SimpleNamespace(student=s, code={"rnn_step_backward": c}) for s, c in docs.items()]


def test_csv_and_report_section(tmp_path: Path) -> None:
    source = nbformat.read(REPO / "solutions" / "01_rnn" / "rnn.ipynb", as_version=4)
    info = SimpleNamespace(name="01_rnn", nb=source)
    results = _results({"ada": ORIGINAL, "grace": DISGUISED, "alan": DIFFERENT})
    results.append(SimpleNamespace(student="blank", code={"rnn_cell": "# YOUR CODE HERE\nraise NotImplementedError()"}))
    path = similarity.write_similarity(info, results, tmp_path)
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {rows[0]["student_a"], rows[0]["student_b"]} == {"ada", "grace"} and rows[0]["rank"] == "1"
    assert "blank" not in {r["student_a"] for r in rows} | {r["student_b"] for r in rows}
    section = similarity.report_section(similarity.for_class(info, results))
    assert "look alike by nature" in section and "not evidence of copying" in section
    assert section.count("<mark>") >= 3 and "ada" in section and "grace" in section


def test_released_template_is_the_student_version() -> None:
    source = nbformat.read(REPO / "solutions" / "01_rnn" / "rnn.ipynb", as_version=4)
    template = similarity.released_template(source)
    answers = [c for c in source.cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source]
    assert len(answers) >= 4  # rnn_cell, rnn_forward, rnn_step_backward, rnn_backward (+ the bonus)
    assert "BEGIN SOLUTION" not in template
    assert template.count("raise NotImplementedError()") == len(answers)  # one stub per answer cell
    assert "np.tanh" not in template


def test_benchmark_finds_the_planted_copies_in_a_small_class() -> None:
    """The benchmark's generator on a class of 40: every notebook is correct, and the planted
    copies are the top of the ranking (figures for 300 students: README)."""
    spec = importlib.util.spec_from_file_location("bench_similarity", REPO / "benchmarks" / "similarity.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    cls, planted = bench.make_class(40, 3, seed=3)
    import numpy as np

    from autograder.reference import load_reference

    ref, rng = load_reference("01_rnn", REPO), np.random.default_rng(0)
    for code in cls.values():
        bench.check_correct(code, ref, rng)
    docs = {name: "\n\n".join(code[f] for f in bench.FUNCTIONS) for name, code in cls.items()}
    result = similarity.compare(docs, similarity.released_template(
        nbformat.read(REPO / "solutions" / "01_rnn" / "rnn.ipynb", as_version=4)))
    top = {(p.a, p.b) for p in result.pairs[:len(planted)]}
    assert top == planted


def test_the_ranking_is_the_same_in_every_process() -> None:
    """copydetect hashes with Python's salted hash(); the report must not change between runs."""
    import json
    import os
    import subprocess

    docs = {"a": ORIGINAL, "b": DISGUISED, "c": DIFFERENT, "d": ORIGINAL + DIFFERENT}
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); from autograder import similarity as s; "
              "r = s.compare(json.loads(sys.argv[2]), k=8, window=4); "
              "print(json.dumps([(p.a, p.b, round(p.share_a, 9), round(p.share_b, 9)) for p in r.pairs]))")
    runs = [subprocess.run([sys.executable, "-c", script, str(REPO), json.dumps(docs)], capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")]
    assert json.loads(runs[0]) == json.loads(runs[1]) and json.loads(runs[0])
