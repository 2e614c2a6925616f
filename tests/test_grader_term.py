"""The instructor's term with `autograder grade`: what misled or broke when it was tried on a class.

In-process (`grade_submission`) where one submission shows the point, otherwise the command line on
a scratch course. The sandbox is bubblewrap when this machine has it, else `--sandbox none` (the
notebooks here are the tests' own).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, REPO, filled_notebook, make_course

from autograder.batch import AssignmentInfo, grade_submission
from autograder.reference import strip_solution_markers
from autograder.sandbox import Limits, bwrap_available
from autograder.submissions import Submission

SANDBOX = "bwrap" if bwrap_available() else "none"
AUTOGRADER = [sys.executable, "-m", "autograder"]




def grade_one(tmp_path: Path, assignment: str, nb: nbformat.NotebookNode, name: str = "s1"):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    info = AssignmentInfo.load(REPO, assignment)
    return grade_submission(info, Submission(name, path), course=REPO, limits=Limits(wall_seconds=120),
                            sandbox=SANDBOX, base_seed=7, cell_timeout=30)


def parts(result) -> dict[str, float]:
    return {p.part: p.points for p in result.parts}


# ---- a broken helper must not cost the composite's points again ---------------------------------

BROKEN_IMPORT = "import a_package_that_is_not_installed\n"


def test_composite_keeps_its_points_when_a_part_raised_at_import(tmp_path: Path) -> None:
    (source,) = sorted((REPO / "solutions" / "03_lstm").glob("*.ipynb"))
    gate = next(strip_solution_markers(c.source) for c in nbformat.read(source, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "forget_gate")
    nb = filled_notebook("03_lstm", {"forget_gate": BROKEN_IMPORT + gate})
    result = grade_one(tmp_path, "03_lstm", nb)
    got = parts(result)
    assert got["test_forget_gate"] == 0
    assert got["test_lstm_cell"] == 3 and got["test_lstm_forward"] == 3, result.parts
    row = next(p for p in result.parts if p.part == "test_forget_gate")
    assert "ModuleNotFoundError" in row.message and "a_package_that_is_not_installed" in row.message
    assert "was its cell deleted or renamed" not in row.message


def test_composite_keeps_its_points_when_a_part_is_deleted(tmp_path: Path) -> None:
    nb = filled_notebook("03_lstm", {"input_gate": "# deleted\n"})
    got = parts(grade_one(tmp_path, "03_lstm", nb))
    assert got["test_input_gate"] == 0 and got["test_lstm_cell"] == 3 and got["test_lstm_forward"] == 3


def test_notebook_of_another_assignment_gets_one_flag(tmp_path: Path) -> None:
    result = grade_one(tmp_path, "03_lstm", filled_notebook("01_rnn"))
    assert result.flags[0] == "no cells of 03_lstm found: is this 01_rnn? (its answers were not graded)"
    assert not [f for f in result.flags if "missing from the notebook" in f or "was deleted" in f], result.flags
    assert result.score == 0


def test_overflow_is_a_diagnosed_mistake(tmp_path: Path) -> None:
    naive = ("def forget_gate(x, h_prev, W_xf, W_hf, b_f):\n"
             "    return 1.0 / (1.0 + np.exp(-(x @ W_xf + h_prev @ W_hf + b_f)))\n")
    result = grade_one(tmp_path, "03_lstm", filled_notebook("03_lstm", {"forget_gate": naive}))
    row = next(p for p in result.parts if p.part == "test_forget_gate")
    assert row.points == 0 and row.diagnosis and "overflow" in row.diagnosis.lower(), row
    from autograder.report import class_report_html

    page = class_report_html(AssignmentInfo.load(REPO, "03_lstm"), [result], 1.0)
    assert "Most frequent mistakes" in page and "overflow" in page.split("Most frequent mistakes")[1].lower()


# ---- the bonus is extra credit -------------------------------------------------------------------


def _result(info, student: str, passed: set[str]):
    from autograder.batch import PartResult, SubmissionResult

    rows = [PartResult(t.grade_id, t.functions, t.points if t.grade_id in passed else 0.0, t.points,
                       t.grade_id in passed, "ok" if t.grade_id in passed else "wrong") for t in info.tests]
    return SubmissionResult(student, info.name, "graded", score=sum(p.points for p in rows),
                            max_score=info.max_autograded, parts=rows)


def test_bonus_is_extra_credit_in_its_own_column(tmp_path: Path) -> None:
    from autograder.report import feedback_html, write_csvs

    info = AssignmentInfo.load(REPO, "03_lstm")
    required = {t.grade_id for t in info.tests if t.grade_id != "test_lstm_cell_backward"}
    assert [t.grade_id for t in info.tests if t.bonus] == ["test_lstm_cell_backward"]
    assert info.max_autograded == 18 and info.max_bonus == 3
    results = [_result(info, "perfect", required), _result(info, "with_bonus", required | {"test_lstm_cell_backward"})]
    wide, _ = write_csvs(info, results, tmp_path)
    rows = {r["student_id"]: r for r in csv.DictReader(wide.open())}
    assert rows["perfect"]["autograded_total"] == rows["perfect"]["autograded_max"] == "18"
    assert rows["perfect"]["bonus"] == "0"
    assert rows["with_bonus"]["autograded_total"] == "21" and rows["with_bonus"]["bonus"] == "3"
    assert "Autograded score: 18 / 18" in feedback_html(info, results[0])
    assert "3 bonus points" in feedback_html(info, results[1])
    # an assignment without a bonus has no bonus column
    for assignment in ("01_rnn", "02_gradients", "04_gru", "05_seq2seq"):
        other = AssignmentInfo.load(REPO, assignment)
        wide, _ = write_csvs(other, [], tmp_path / assignment)
        has_column = "bonus" in wide.read_text().splitlines()[0].split(",")
        assert has_column == any(t.bonus for t in other.tests), assignment


# ---- the report's list of submissions that need a look ------------------------------------------


def test_needs_a_look_lists_blank_and_raising_notebooks() -> None:
    from autograder.report import class_report_html, needs_a_look

    info = AssignmentInfo.load(REPO, "01_rnn")
    blank = _result(info, "blank", set())
    for p in blank.parts:
        p.message = "`rnn_cell` is not implemented yet: replace `raise NotImplementedError()`"
    raised = _result(info, "raised", {"test_rnn_forward"})
    raised.cells = [{"cell": "rnn_cell", "status": "error", "error": "ModuleNotFoundError: No module named 'foo'",
                     "seconds": 0.1, "output": ""}]
    fine = _result(info, "fine", {t.grade_id for t in info.tests})
    assert needs_a_look(blank) == ["blank: no function was implemented"]
    assert needs_a_look(raised) == ["cell rnn_cell raised ModuleNotFoundError: No module named 'foo'"]
    assert needs_a_look(fine) == []
    page = class_report_html(info, [blank, raised, fine], 1.0).split("Submissions that need a look")[1]
    page = page.split("All students")[0]
    assert "blank: no function was implemented" in page and "ModuleNotFoundError" in page
    assert "<td>fine</td>" not in page


# ---- the command line -------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([*AUTOGRADER, "grade", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def small_course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("cli"))


def _no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


def test_unknown_assignment_lists_the_available_ones(small_course: Path) -> None:
    proc = run_cli("03_lsmt", "--course", str(small_course), "--sandbox", SANDBOX)
    assert proc.returncode == 2 and "no assignment 03_lsmt (did you mean 03_lstm?); available: 01_rnn, " in proc.stderr
    _no_traceback(proc)


def test_a_course_that_is_not_a_course(tmp_path: Path) -> None:
    proc = run_cli("01_rnn", "--course", str(tmp_path))
    assert proc.returncode == 2 and "is not a course folder" in proc.stderr
    _no_traceback(proc)


@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_jobs_must_be_positive(small_course: Path, jobs: str) -> None:
    proc = run_cli("01_rnn", "--course", str(small_course), "--jobs", jobs)
    assert proc.returncode == 2 and "--jobs" in proc.stderr
    _no_traceback(proc)


def _empty_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w"):
        pass
    return path


@pytest.mark.parametrize("kind", ["empty_zip", "empty_folder", "no_submitted"])
def test_nothing_to_grade_is_an_error_and_writes_nothing(small_course: Path, tmp_path: Path, kind: str) -> None:
    extra: list[str] = []
    if kind == "empty_zip":
        extra = ["--submissions", str(_empty_zip(tmp_path / "class.zip"))]
    elif kind == "empty_folder":
        (tmp_path / "class").mkdir()
        extra = ["--submissions", str(tmp_path / "class")]
    proc = run_cli("01_rnn", "--course", str(small_course), "--sandbox", SANDBOX, "--out", str(tmp_path / "out"),
                   *extra)
    assert proc.returncode == 1 and "no submission of 01_rnn found" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
    _no_traceback(proc)


def test_a_zip_that_is_not_a_zip(small_course: Path, tmp_path: Path) -> None:
    (tmp_path / "class.zip").write_text("<html>session expired</html>")
    proc = run_cli("01_rnn", "--course", str(small_course), "--sandbox", SANDBOX,
                   "--submissions", str(tmp_path / "class.zip"))
    assert proc.returncode == 1 and "is not a zip archive" in proc.stderr
    _no_traceback(proc)
