"""Every fault and every visible sign of tampering is flagged, and no flag changes a grade.

Real notebooks of the RNN assignment through the real grader (``autograder grade``, each notebook
in its bubblewrap sandbox): each student's answers are correct, plus one thing the instructor should
hear about. The flags must appear in ``grades.csv`` and in ``report.html``; the points must be
exactly those of the correct notebook (a flag informs, it never grades), except where the student
also answered wrongly, which tampering must not hide.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import make_course
from test_autograder_e2e import ASSIGNMENT, FULL, PARTS, WRONG_CELL, student_notebook

from autograder.sandbox import bwrap_available
from autograder.watch import exception_type

pytestmark = [pytest.mark.slow]

EXTRA = {
    "raises": "raise ValueError('a stray cell')",
    "out_of_memory": "hoard = bytearray(10**13)",
    "sleeps": "import time\ntime.sleep(1000)",
    "custom_exc": "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
                  "raise RuntimeError('swallowed by the custom handler')",
    "patch_numpy": "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
    "patch_builtins": "import builtins\nbuiltins.AssertionError = type('Never', (Exception,), {})",
    "patch_course": "import autograder.checks as checks\nchecks.compare_outputs = lambda *a, **k: None",
    "writes_outside": "for target in ('/etc/rnn-course-was-here', '/opt/grader/autograder/checks.py'):\n"
                      "    try:\n        open(target, 'w').write('pwned')\n    except OSError:\n        pass",
}
EXPECTED = {
    "raises": "cell rnn_cell raised ValueError",
    "out_of_memory": "cell rnn_cell ran out of memory (MemoryError)",
    "sleeps": "cell rnn_cell ran past the 10 s cell limit",
    "custom_exc": "IPython's exception handler was replaced (set_custom_exc)",
    "patch_numpy": "numpy.allclose was replaced",
    "patch_builtins": "builtins.AssertionError was replaced",
    "patch_course": "autograder.checks.compare_outputs was replaced",
    "writes_outside": "attempted to write outside the job folder: /etc/rnn-course-was-here",
}


def _with_extra(extra: str, cell: str | None = None) -> nbformat.NotebookNode:
    """The correct notebook, with ``extra`` run at the end of the rnn_cell answer cell (after a
    correct definition, or after ``cell`` when given)."""
    nb = student_notebook({"rnn_cell": cell} if cell else None)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "rnn_cell":
            c.source = c.source.rstrip() + "\n" + extra + "\n"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, str]], str]:
    if not bwrap_available():
        pytest.fail("bubblewrap is required for the grader's sandbox (apt-get install bubblewrap)")
    root = tmp_path_factory.mktemp("flags")
    course = make_course(root / "course")
    folder = root / "class"
    folder.mkdir()
    notebooks = {"correct": student_notebook(), **{k: _with_extra(v) for k, v in EXTRA.items()},
                 "patch_and_wrong": _with_extra(EXTRA["patch_numpy"], WRONG_CELL)}
    for student, nb in notebooks.items():
        nbformat.write(nb, folder / f"{student}.ipynb")
    out = root / "graded"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", str(course),
                           "--submissions", str(folder), "--out", str(out), "--seed", "5", "--jobs", "2",
                           "--no-gradebook", "-q", "--cell-timeout", "10", "--timeout", "120",
                           "--memory", "2048"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with (out / "grades.csv").open() as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return rows, (out / "report.html").read_text()


def points(row: dict[str, str]) -> dict[str, float]:
    return {p: float(row[p]) for p in PARTS}


def test_an_honest_notebook_has_no_flag(graded) -> None:
    rows, _ = graded
    assert rows["correct"]["flags"] == "" and points(rows["correct"]) == FULL


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_fault_and_sign_is_flagged_in_the_csv_and_the_report(graded, student: str) -> None:
    rows, report = graded
    assert EXPECTED[student] in rows[student]["flags"], rows[student]["flags"]
    assert EXPECTED[student] in report.replace("&#x27;", "'")


@pytest.mark.parametrize("student", sorted(set(EXPECTED) - {"sleeps"}))
def test_a_flag_never_changes_a_grade(graded, student: str) -> None:
    rows, _ = graded
    assert points(rows[student]) == FULL, (student, rows[student]["flags"])
    assert rows[student]["status"] == "graded"


def test_a_cell_past_its_time_costs_only_what_it_stopped(graded) -> None:
    """The sleep stops the rnn_cell cell after its correct definition: every function is graded."""
    rows, _ = graded
    assert points(rows["sleeps"]) == FULL


def test_tampering_earns_nothing(graded) -> None:
    rows, _ = graded
    assert points(rows["patch_and_wrong"]) == {**FULL, "test_rnn_cell": 0.0}
    assert "numpy.allclose was replaced" in rows["patch_and_wrong"]["flags"]


@pytest.mark.parametrize("error, kind", [
    ("ValueError: a stray cell", "ValueError"),
    ("NotImplementedError", "NotImplementedError"),
    ('  File "<cell>", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax', "SyntaxError"),
    ("numpy.linalg.LinAlgError: Singular matrix", "numpy.linalg.LinAlgError"),
    ("", "an exception"),
])
def test_exception_type(error: str, kind: str) -> None:
    assert exception_type(error) == kind


def test_watch_is_started_by_the_runner() -> None:
    """The runner starts the watch before the first cell and logs its signs after each one."""
    source = (Path(__file__).resolve().parents[1] / "autograder" / "runner.py").read_text()
    assert "Watch(shell, job_path" in source and source.count("watch.after_cell()") == 2
