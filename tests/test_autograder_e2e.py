"""`autograder grade` end to end, in a scratch course, with correct, wrong, broken and malicious
submissions of the RNN assignment; resume after an interruption; the same grades with 1 or 2 jobs.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, make_course, nbgrader
from leaks import find_leaks, secret_lines
from nbgrader.api import Gradebook

from autograder.reference import strip_solution_markers
from autograder.sandbox import bwrap_available

pytestmark = [pytest.mark.slow]
ASSIGNMENT = "01_rnn"
NOTEBOOK = "rnn.ipynb"
PARTS = ["test_rnn_cell", "test_rnn_forward", "test_rnn_step_backward", "test_rnn_backward", "test_birnn_forward"]
FULL = {"test_rnn_cell": 3.0, "test_rnn_forward": 3.0, "test_rnn_step_backward": 4.0, "test_rnn_backward": 4.0,
        "test_birnn_forward": 2.0}  # the bonus (extra credit): nbgrader's score includes it
AUTOGRADER = [sys.executable, "-m", "autograder"]

WRONG_CELL = """def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
    # sigmoid where tanh belongs
    return 1.0 / (1.0 + np.exp(-(x @ W_xh + h_prev @ W_hh + b_h)))
"""


def student_notebook(overrides: dict[str, str] | None = None, *, edit=None) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled in as a good student would (from the
    source notebook), then some cells replaced by ``overrides`` (grade id -> source)."""
    source = nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
               for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(REPO / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        key = cell.metadata.get("nbgrader", {}).get("grade_id")
        if key in answers:
            cell.source = answers[key]
        if overrides and key in overrides:
            cell.source = overrides[key]
    if edit:
        edit(nb)
    return nb


def _malicious(course: Path) -> dict[str, nbformat.NotebookNode]:
    exfil = f"""import glob, json, os
def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
    ns = {{}}
    paths = (glob.glob('../../../solutions/*/*.ipynb') + glob.glob('../../../../solutions/*/*.ipynb')
             + glob.glob('{course}/solutions/*/*.ipynb')
             + glob.glob(os.path.expanduser('~') + '/**/solutions/**/*.ipynb', recursive=True))
    for path in paths:
        for cell in json.load(open(path))['cells']:
            src = ''.join(cell['source'])
            if cell['cell_type'] == 'code' and 'hidden_check' not in src:
                try:
                    exec(src, ns)
                except Exception:
                    pass
    return ns['rnn_cell'](x, h_prev, W_xh, W_hh, b_h)
"""
    vandal = f"""import os
for target in ['{course}/gradebook.db', '{course}/submitted/correct/{ASSIGNMENT}/{NOTEBOOK}']:
    try:
        open(target, 'w').write('pwned')
    except OSError:
        pass
{WRONG_CELL}"""
    patcher = """import numpy as np, builtins
import autograder.checks as checks
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
checks.compare_outputs = lambda *a, **k: None
checks.check_function = lambda *a, **k: print('rnn_cell: OK')
builtins.AssertionError = type('Never', (Exception,), {})
def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
    return np.zeros((x.shape[0], W_hh.shape[0]))
"""

    def drop_tests(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_rnn_cell"]
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade_id") == "test_rnn_forward":
                c.source = "print('all tests passed')"

    return {
        "mal_exfiltrate": student_notebook({"rnn_cell": exfil}),
        "mal_vandal": student_notebook({"rnn_cell": vandal}),
        "mal_patch": student_notebook({"rnn_cell": patcher}),
        "mal_edit_tests": student_notebook({"rnn_cell": WRONG_CELL}, edit=drop_tests),
        "mal_exit": student_notebook({"rnn_step_backward": "import os\nos._exit(3)\n"}),
        "mal_print": student_notebook({"rnn_cell": "print('x' * 30_000_000)\n" + WRONG_CELL}),
        "mal_sleep": student_notebook({"rnn_forward": "import time\ndef rnn_forward(x, h0, W_xh, W_hh, b_h):\n"
                                                      "    time.sleep(1000)\n"}),
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not bwrap_available():
        pytest.fail("bubblewrap is required for the grader's sandbox (apt-get install bubblewrap)")
    root = make_course(tmp_path_factory.mktemp("e2e"))
    nbgrader("generate_assignment", ASSIGNMENT, "--force", "--log-level=WARN", cwd=root)
    subs = {
        "correct": student_notebook(),
        "partly_wrong": student_notebook({"rnn_cell": WRONG_CELL}),
        "untouched": nbformat.read(REPO / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4),
        **_malicious(root),
    }
    for student, nb in subs.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    broken = root / "submitted" / "broken_json" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / NOTEBOOK).write_text('{"cells": [ this is not json')
    wrong_name = root / "submitted" / "wrong_name" / ASSIGNMENT
    wrong_name.mkdir(parents=True)
    nbformat.write(student_notebook(), wrong_name / "rnn (1).ipynb")
    return root


def grade(course: Path, *extra: str, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([*AUTOGRADER, "grade", ASSIGNMENT, "--course", str(course), "--seed", "12345",
                           "--cell-timeout", "10", "--timeout", "90", "-q", *extra],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as fh:
        return {row["student_id"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded(course: Path) -> dict[str, dict[str, str]]:
    grade(course, "--jobs", "2")
    return read_rows(course / "graded" / ASSIGNMENT / "grades.csv")


def points(row: dict[str, str]) -> dict[str, float]:
    return {p: float(row[p]) for p in PARTS}


def test_csv_has_a_row_per_student_and_a_column_per_part(graded) -> None:
    header = list(next(iter(graded.values())).keys())
    assert header[:3] == ["student_id", "status", "reason"]
    assert header[3:8] == PARTS and "autograded_total" in header and "flags" in header
    assert set(graded) == {"correct", "partly_wrong", "untouched", "broken_json", "wrong_name",
                           "mal_exfiltrate", "mal_vandal", "mal_patch", "mal_edit_tests", "mal_exit",
                           "mal_print", "mal_sleep"}


def test_honest_submissions(graded) -> None:
    assert graded["correct"]["status"] == "graded" and points(graded["correct"]) == FULL
    assert graded["correct"]["flags"] == ""
    assert points(graded["partly_wrong"]) == {**FULL, "test_rnn_cell": 0.0}
    assert points(graded["untouched"]) == dict.fromkeys(PARTS, 0.0)


def test_broken_submissions_get_a_row_and_a_reason(graded) -> None:
    assert graded["broken_json"]["status"] == "corrupt" and "cannot be read" in graded["broken_json"]["reason"]
    assert graded["wrong_name"]["status"] == "missing" and "rnn (1).ipynb" in graded["wrong_name"]["reason"]
    for row in (graded["broken_json"], graded["wrong_name"]):
        assert float(row["autograded_total"]) == 0.0


def test_diagnosis_reaches_the_long_csv(course, graded) -> None:
    with (course / "graded" / ASSIGNMENT / "grades_long.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["student_id"] == "partly_wrong" and r["part"] == "test_rnn_cell"]
    assert rows and "sigmoid" in rows[0]["diagnosis"].lower()


@pytest.mark.parametrize("student", ["mal_exfiltrate", "mal_vandal", "mal_patch", "mal_edit_tests", "mal_print"])
def test_cheats_earn_nothing_on_the_part_they_attack(graded, student: str) -> None:
    assert points(graded[student]) == {**FULL, "test_rnn_cell": 0.0}, graded[student]


def test_edited_tests_are_flagged(graded) -> None:
    assert "test_rnn_cell was deleted" in graded["mal_edit_tests"]["flags"]
    assert "test_rnn_forward was edited" in graded["mal_edit_tests"]["flags"]


def test_output_flood_is_capped_and_flagged(graded) -> None:
    assert "printed more than the output cap" in graded["mal_print"]["flags"]


def test_exiting_the_process_is_a_crash_not_a_silent_zero(graded) -> None:
    row = graded["mal_exit"]
    assert row["status"] == "crashed" and "process ended while running cell rnn_step_backward" in row["reason"]
    assert points(row) == {**FULL, "test_rnn_step_backward": 0.0, "test_rnn_backward": 0.0,
                           "test_birnn_forward": 0.0}


def test_sleeping_past_the_limit_costs_only_that_part(graded) -> None:
    row = graded["mal_sleep"]
    assert points(row) == {**FULL, "test_rnn_forward": 0.0}
    assert "ran past" in row["flags"] or "more than" in row["flags"]


def test_vandal_could_not_touch_the_course(course, graded) -> None:
    assert (course / "submitted" / "correct" / ASSIGNMENT / NOTEBOOK).read_text() != "pwned"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(ASSIGNMENT, "correct")
        assert sub.score == sum(FULL.values())


def test_gradebook_matches_the_csv(course, graded) -> None:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, row in graded.items():
            if student == "wrong_name" or student == "broken_json":
                continue
            nb = gb.find_submission_notebook("rnn", ASSIGNMENT, student)
            auto = {g.name: g.auto_score for g in nb.grades if g.auto_score is not None}
            assert auto == points(row), student


def test_feedback_shows_code_and_messages_but_no_hidden_tests(course, graded) -> None:
    hidden = {"hidden test": secret_lines(REPO / "solutions" / ASSIGNMENT / NOTEBOOK)["hidden test"]}
    for student in graded:
        page = (course / "graded" / ASSIGNMENT / "feedback" / f"{student}.html").read_text()
        assert not find_leaks(hidden, page), student
    page = (course / "graded" / ASSIGNMENT / "feedback" / "partly_wrong.html").read_text()
    # these notebooks were placed by hand (no timestamp or secret): no folder that would stop
    # `nbgrader release_feedback` (see test_instructor_term.py for collected ones)
    assert not (course / "feedback" / "partly_wrong" / ASSIGNMENT).exists()
    assert "def rnn_cell" in page and "sigmoid" in page.lower() and "0 / 3" in page


def test_class_report_has_plots_and_lists_the_trouble(course, graded) -> None:
    report = (course / "graded" / ASSIGNMENT / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 3
    for student in ("mal_exit", "broken_json", "mal_sleep"):
        assert student in report


def test_rerun_resumes_without_regrading(course, graded) -> None:
    proc = grade(course, "--jobs", "2")
    assert "0 to grade" in proc.stderr
    assert read_rows(course / "graded" / ASSIGNMENT / "grades.csv") == graded


def test_interrupted_run_resumes_and_finishes(tmp_path: Path, course, graded) -> None:
    """Kill a run after its first result; the re-run grades only what is missing."""
    copy = make_course(tmp_path / "course")
    shutil.copytree(course / "submitted", copy / "submitted")
    shutil.copy(course / "gradebook.db", copy / "gradebook.db")
    results = copy / "graded" / ASSIGNMENT / "results"
    proc = subprocess.Popen([*AUTOGRADER, "grade", ASSIGNMENT, "--course", str(copy), "--seed", "12345",
                             "--cell-timeout", "10", "--timeout", "90", "-q", "--jobs", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(results.glob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(results.glob("*.json")))
    assert 2 <= done_before < len(graded)
    second = grade(copy, "--jobs", "2")
    assert f"{done_before} already graded" in second.stderr
    assert read_rows(copy / "graded" / ASSIGNMENT / "grades.csv") == graded


def test_one_or_two_jobs_give_identical_grades(tmp_path: Path, course, graded) -> None:
    proc = grade(course, "--jobs", "1", "--regrade", "--out", str(tmp_path / "one"), "--no-gradebook")
    assert proc.returncode == 0
    one = read_rows(tmp_path / "one" / "grades.csv")
    assert {k: (v["status"], points(v)) for k, v in one.items()} == {
        k: (v["status"], points(v)) for k, v in graded.items()}


def test_results_are_plain_json(course, graded) -> None:
    for path in (course / "graded" / ASSIGNMENT / "results").glob("*.json"):
        data = json.loads(path.read_text())
        assert data["assignment"] == ASSIGNMENT and "parts" in data
