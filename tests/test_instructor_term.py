"""The README's "For instructors" term, end to end, on a small class, with the real nbgrader command
line: generate, release, students fetch and submit, collect, a hand-placed submission,
`autograder grade`, `nbgrader release_feedback`, students `fetch_feedback`; then `nbgrader export`
must give exactly the scores of grades.csv. Also: Ctrl-C, mixing two sources.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, filled_notebook, make_course, nbgrader
from test_grader_term import SANDBOX

from autograder.batch import AssignmentInfo

pytestmark = pytest.mark.slow
ASSIGNMENT, NOTEBOOK = "01_rnn", "rnn.ipynb"
AUTOGRADER = [sys.executable, "-m", "autograder"]
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def grade(course: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*AUTOGRADER, "grade", ASSIGNMENT, "--course", str(course), "--sandbox", SANDBOX,
                           "--cell-timeout", "30", "--timeout", "120", "-q", "--jobs", "2", *extra],
                          capture_output=True, text=True, timeout=900, env=ENV)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def as_student(home: Path, exchange: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    (home / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.Exchange.cache = {str(home / '.nbgrader_cache')!r}\n"  # one per student, as on a hub
        "c.CourseDirectory.course_id = 'rnn-course'\n"
        f"c.CourseDirectory.student_id = {name!r}\n")
    return nbgrader(*args, cwd=home)


def rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


BROKEN_AT_IMPORT = "import a_package_that_is_not_installed\n"


@pytest.fixture(scope="module")
def term(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("term")
    course = make_course(root / "course")
    exchange = course / ".course-state" / "exchange"
    exchange.mkdir(parents=True)
    nbgrader("generate_assignment", ASSIGNMENT, "--log-level=WARN", cwd=course)
    again = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT], cwd=course, env=ENV,
                           capture_output=True, text=True)
    nbgrader("release_assignment", ASSIGNMENT, "--log-level=WARN", cwd=course)
    (source,) = [c for c in nbformat.read(course / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "rnn_forward"]
    notebooks = {
        "alice": filled_notebook(ASSIGNMENT),                                                      # correct
        "bob": filled_notebook(ASSIGNMENT, {"rnn_cell": BROKEN_AT_IMPORT + "def rnn_cell(): pass\n"}),  # raises
        "dave": None,                                                                     # blank
    }
    for name, nb in notebooks.items():
        home = root / "students" / name
        as_student(home, exchange, name, "fetch_assignment", ASSIGNMENT)
        if nb is not None:
            nbformat.write(nb, home / ASSIGNMENT / NOTEBOOK)
        as_student(home, exchange, name, "submit", ASSIGNMENT)
    nbgrader("collect", ASSIGNMENT, "--log-level=WARN", cwd=course)
    # carol e-mailed her notebook; the instructor placed it by hand (no timestamp, no secret)
    placed = course / "submitted" / "carol" / ASSIGNMENT
    placed.mkdir(parents=True)
    nbformat.write(filled_notebook(ASSIGNMENT), placed / NOTEBOOK)
    first = grade(course, "--seed", "11")
    return {"root": root, "course": course, "exchange": exchange, "first": first, "again": again,
            "grades": rows(course / "graded" / ASSIGNMENT / "grades.csv")}


def test_generate_again_needs_force_as_the_readme_says(term) -> None:
    # without --force nbgrader keeps the old student version and only says so in its log
    assert "Skipping existing assignment" in term["again"].stderr
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"nbgrader generate_assignment {'03_lstm'} --force" in readme


def test_class_is_graded(term) -> None:
    grades = term["grades"]
    assert set(grades) == {"alice", "bob", "carol", "dave"}
    for name in ("alice", "carol"):  # full marks (and the bonus, when the assignment has one)
        row = grades[name]
        assert float(row["autograded_total"]) == float(row["autograded_max"]) + float(row.get("bonus", 0))
    assert float(grades["dave"]["autograded_total"]) == 0
    assert float(grades["bob"]["test_rnn_cell"]) == 0
    # rnn_forward calls the broken rnn_cell: its stand-in keeps rnn_forward's points
    assert float(grades["bob"]["test_rnn_forward"]) == 3


def test_first_run_prints_no_sqlalchemy_warning(term) -> None:
    assert "SAWarning" not in term["first"].stderr, term["first"].stderr[-3000:]
    assert "not in session" not in term["first"].stderr


def test_release_feedback_and_fetch_feedback(term) -> None:
    course, exchange, root = term["course"], term["exchange"], term["root"]
    assert "not for carol" in term["first"].stderr  # hand-placed: no folder for release_feedback
    assert not (course / "feedback" / "carol").exists()
    assert (course / "graded" / ASSIGNMENT / "feedback" / "carol.html").is_file()
    nbgrader("release_feedback", ASSIGNMENT, "--log-level=WARN", cwd=course)
    for name in ("alice", "bob", "dave"):
        home = root / "students" / name
        as_student(home, exchange, name, "fetch_feedback", ASSIGNMENT)
        pages = list((home / ASSIGNMENT / "feedback").glob("*/rnn.html"))
        assert len(pages) == 1, name
        assert f"Feedback: {ASSIGNMENT} — {name}" in pages[0].read_text()


def test_nbgrader_export_gives_the_scores_of_grades_csv(term) -> None:
    course = term["course"]
    nbgrader("export", "--to", str(course / "export.csv"), "--log-level=WARN", cwd=course)
    exported = rows(course / "export.csv")
    graded = term["grades"]
    assert set(exported) == set(graded)
    for name, row in graded.items():
        assert float(exported[name]["score"]) == float(row["autograded_total"]), name
        # nbgrader's maximum counts a bonus's points; grades.csv's leaves them out (extra credit)
        info = AssignmentInfo.load(course, ASSIGNMENT)
        assert float(exported[name]["max_score"]) == float(row["autograded_max"]) + info.max_bonus, name


def test_gradebook_timestamp_is_the_submissions(term) -> None:
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    course = term["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name in ("alice", "bob"):
            stamp = (course / "submitted" / name / ASSIGNMENT / "timestamp.txt").read_text().strip()
            assert gb.find_submission(ASSIGNMENT, name).timestamp == parse_utc(stamp).replace(tzinfo=None)


def test_report_lists_blank_and_raising_notebooks(term) -> None:
    report = (term["course"] / "graded" / ASSIGNMENT / "report.html").read_text()
    look = report.split("Submissions that need a look")[1].split("<h2>")[0]
    assert "<td>dave</td>" in look and "blank" in look
    assert "<td>bob</td>" in look and "ModuleNotFoundError" in look
    assert "<td>alice</td>" not in look


def test_resumed_run_that_grades_nothing_prints_no_fresh_seed(term) -> None:
    proc = grade(term["course"])
    assert "already graded" in proc.stderr and "seed" not in proc.stderr, proc.stderr
    assert rows(term["course"] / "graded" / ASSIGNMENT / "grades.csv") == term["grades"]


def test_a_zip_never_mixes_with_the_course_grades(term, tmp_path: Path) -> None:
    course = term["course"]
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("erin.ipynb", nbformat.writes(filled_notebook(ASSIGNMENT)))
    before = (course / "graded" / ASSIGNMENT / "grades.csv").read_text()
    proc = grade(course, "--submissions", str(archive))
    zipped = course / "graded" / f"{ASSIGNMENT}-canvas"
    assert str(zipped) in proc.stderr or zipped.is_dir()
    assert set(rows(zipped / "grades.csv")) == {"erin"}
    assert (course / "graded" / ASSIGNMENT / "grades.csv").read_text() == before
    assert "gradebook is not updated" in proc.stderr
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb, pytest.raises(MissingEntry):
        gb.find_student("erin")
    # into the course's folder: refused, nothing changed
    proc = grade(course, "--submissions", str(archive), "--out", str(course / "graded" / ASSIGNMENT), check=False)
    assert proc.returncode == 1 and "never mixes two sources" in proc.stderr
    assert (course / "graded" / ASSIGNMENT / "grades.csv").read_text() == before
    assert not (course / "feedback" / "erin").exists()


def test_ctrl_c_stops_at_once_and_says_how_to_resume(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    pids = tmp_path / "pids"
    pids.mkdir()
    sleeper = (f"import os, time\nopen(os.path.join({str(pids)!r}, str(os.getpid())), 'w').close()\n"
               "time.sleep(600)\n")
    for k in range(3):
        folder = course / "submitted" / f"s{k}" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(filled_notebook(ASSIGNMENT, {"rnn_cell": sleeper}), folder / NOTEBOOK)
    proc = subprocess.Popen([*AUTOGRADER, "grade", ASSIGNMENT, "--course", str(course), "--sandbox", "none",
                             "--cell-timeout", "500", "--timeout", "550", "-q", "--jobs", "2", "--no-gradebook"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            # a terminal's Ctrl-C: SIGINT handled (a test run in the background ignores it)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(pids.iterdir())) < 2:
            time.sleep(0.2)
        assert len(list(pids.iterdir())) == 2, "the sandboxes did not start"
        started = time.time()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert time.time() - started < 15
        assert proc.returncode == 130, err
        assert "interrupted: 0 graded and saved" in err and "re-run the same command to resume" in err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        time.sleep(0.5)
        for pid in (int(p.name) for p in pids.iterdir()):
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:  # never leave a grader or a sleeping notebook behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in (int(p.name) for p in pids.iterdir()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    results = course / "graded" / ASSIGNMENT / "results"
    assert not list(results.glob("*.json"))  # the killed ones are not saved as crashes
    shutil.rmtree(course)
