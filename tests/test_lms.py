"""The grade files for Canvas and Moodle (``autograder.lms``), read back the way each LMS reads them.

The readers below follow the LMSs' documented import rules, and are first checked on fixtures laid
out as the LMSs' own exports (``tests/fixtures/lms``): Canvas's gradebook importer wants ``Student``
and ``ID`` as the first two columns and ``Section`` as the last student column, skips a
``Points Possible`` row and its computed columns (``Current Score``, ``Final Points``...), matches an
assignment by the id in ``Title (id)`` and a student by ``ID`` (Canvas's user id), else by
``SIS Login ID``. Moodle's worksheet upload finds the ``Identifier``, ``Grade`` and
``Last modified (grade)`` columns by name, strips ``Participant `` from the identifier, and skips
a grade that is negative or above the ``Maximum Grade`` (mod/assign/feedback/offline/locallib.php,
``process_import_grades``: "Out of range").
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REPO

from autograder import lms
from autograder.submissions import from_folder

FIXTURES = Path(__file__).parent / "fixtures" / "lms"
CANVAS_COMPUTED = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade"
                             "|Override Score|Override Grade|Override Status")


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def canvas_import(path: Path) -> dict[str, object]:
    """What Canvas's gradebook import reads from a CSV: the assignments (title, id, points) and,
    per student key (``id:<user id>`` or ``login:<SIS login>``), the grades."""
    rows = read_csv(path)
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1], "Canvas wants Student, ID first"
    student_columns = 3
    login_col = None
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        login_col, student_columns = 2, 4
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        login_col, student_columns = 3, 5
    assert "Section" in header[student_columns - 1], "Canvas wants Section as the last student column"
    assignments = []
    for index, title in enumerate(header[student_columns:], start=student_columns):
        if CANVAS_COMPUTED.search(title):
            continue
        match = re.fullmatch(r"(.*) \((\d+)\)", title)
        assignments.append({"index": index, "title": match[1] if match else title,
                            "id": match[2] if match else None})
    grades: dict[str, dict[str, str]] = {}
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            for a in assignments:
                a["points"] = row[a["index"]]
            continue
        key = f"id:{row[1]}" if row[1] else f"login:{row[login_col]}"
        assert key not in grades, f"two rows for {key}"
        grades[key] = {a["title"]: row[a["index"]].strip() for a in assignments}
    return {"assignments": assignments, "grades": grades}


def moodle_worksheet_import(path: Path) -> dict[str, tuple[str, str]]:
    """What Moodle's offline grading worksheet upload reads: participant id -> (grade, modified);
    a grade that Moodle skips as out of range reads as "skipped"."""
    rows = read_csv(path)
    header = rows[0]
    id_col, grade_col, max_col, modified_col = (header.index(name) for name in
                                                ("Identifier", "Grade", "Maximum Grade", "Last modified (grade)"))
    out = {}
    for row in rows[1:]:
        assert row[id_col].startswith("Participant "), row[id_col]
        grade = row[grade_col]
        if grade and row[max_col] and not 0 <= float(grade) <= float(row[max_col]):
            grade = "skipped"
        out[row[id_col][len("Participant "):]] = (grade, row[modified_col])
    return out


def test_the_readers_read_the_lms_exports() -> None:
    canvas = canvas_import(FIXTURES / "canvas_gradebook_export.csv")
    assert [(a["title"], a["id"], a["points"]) for a in canvas["assignments"]] == [
        ("Quiz 1", "4810", "10.00"), ("03_lstm", "4821", "21.00")]
    assert canvas["grades"]["id:1234"]["Quiz 1"] == "9.00"
    moodle = moodle_worksheet_import(FIXTURES / "moodle_grading_worksheet.csv")
    assert moodle["1234567"] == ("", "-")


def _class(tmp_path: Path) -> tuple[SimpleNamespace, list, list]:
    """A Canvas download and a Moodle download as ``submissions.from_folder`` reads them, and a
    result for each row."""
    folder = tmp_path / "download"
    folder.mkdir()
    files = [
        "lovelaceada_1234_99001_lstm.ipynb",              # on time, graded
        "hoppergrace_LATE_5678_99002_lstm.ipynb",         # late, graded
        "turingalan_9012_99003_lstm.py",                  # not a notebook: rejected, keeps its id
        "Alan Turing_1234567_assignsubmission_file_lstm.ipynb",
        "Grace Hopper_1234568_assignsubmission_file_lstm.ipynb",
        "Ada Lovelace_1234569_assignsubmission_file_lstm.ipynb",   # every part and the bonus
        "notes.txt",                                       # nobody's
    ]
    for name in files:
        (folder / name).write_text("{}")
    subs = from_folder(folder)
    scores = {"1234": ("graded", 21.0), "5678": ("graded", 12.5), "1234567": ("graded", 0.0),
              "1234568": ("crashed", 3.0), "1234569": ("graded", 23.0)}
    results = [SimpleNamespace(student=s.student, status=scores.get(s.student, ("rejected", 0.0))[0],
                               score=scores.get(s.student, ("rejected", 0.0))[1], reason=s.problem or "")
               for s in subs]
    info = SimpleNamespace(name="03_lstm", max_autograded=21.0)
    return info, results, subs


def test_canvas_file_is_what_canvas_imports(tmp_path: Path) -> None:
    info, results, subs = _class(tmp_path)
    lms.write_lms_files(info, results, subs, tmp_path, canvas_assignment="4821")
    ours = read_csv(tmp_path / "canvas_grades.csv")
    export = read_csv(FIXTURES / "canvas_gradebook_export.csv")
    assert ours[0][:5] == export[0][:5] and ours[1][0] == export[1][0]
    canvas = canvas_import(tmp_path / "canvas_grades.csv")
    assert [(a["title"], a["id"], a["points"]) for a in canvas["assignments"]] == [("03_lstm", "4821", "21")]
    # Canvas's user ids from the download names; the rejected .py keeps its id with no grade.
    assert canvas["grades"] == {"id:1234": {"03_lstm": "21"}, "id:5678": {"03_lstm": "12.5"},
                                "id:9012": {"03_lstm": ""}}


def test_moodle_worksheet_is_what_moodle_uploads(tmp_path: Path) -> None:
    info, results, subs = _class(tmp_path)
    when = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
    lms.write_lms_files(info, results, subs, tmp_path, when=when)
    ours = read_csv(tmp_path / "moodle_worksheet.csv")
    assert ours[0] == read_csv(FIXTURES / "moodle_grading_worksheet.csv")[0]
    moodle = moodle_worksheet_import(tmp_path / "moodle_worksheet.csv")
    assert moodle == {"1234567": ("0", "Wednesday, 02 December 2026, 04:30 AM"),
                      "1234568": ("3", "Wednesday, 02 December 2026, 04:30 AM"),
                      "1234569": ("21", "Wednesday, 02 December 2026, 04:30 AM")}
    # 23 of 21 with extra credit: Moodle would skip it, so the maximum goes in, the full score in the comment
    comments = {row[0]: row[-1] for row in ours[1:]}
    assert "23 points with extra credit" in comments["Participant 1234569"]
    assert "extra credit" not in comments["Participant 1234568"]
    assert not (tmp_path / "moodle_grades.csv").exists()  # no plain user names in this class


def test_late_marker_and_rejected_ids_are_kept(tmp_path: Path) -> None:
    info, results, subs = _class(tmp_path)
    lms.write_lms_files(info, results, subs, tmp_path)
    with (tmp_path / "lms_students.csv").open() as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    assert rows["hoppergrace_LATE_5678_99002_lstm.ipynb"]["late"] == "yes"
    assert rows["lovelaceada_1234_99001_lstm.ipynb"]["late"] == ""
    rejected = rows["turingalan_9012_99003_lstm.py"]
    assert (rejected["lms"], rejected["lms_id"], rejected["status"], rejected["score"]) == (
        "canvas", "9012", "rejected", "")
    assert rows["notes.txt"]["lms_id"] == "" and rows["notes.txt"]["status"] == "rejected"
    assert rows["Alan Turing_1234567_assignsubmission_file_lstm.ipynb"]["lms"] == "moodle"


def test_course_ids_go_by_login_and_username(tmp_path: Path) -> None:
    """Students from nbgrader's tree (hub user names): Canvas by SIS Login ID, Moodle by username."""
    subs = [SimpleNamespace(student="ada", path=tmp_path / "lstm.ipynb", problem=None),
            SimpleNamespace(student="grace", path=None, problem="no lstm.ipynb in the submission")]
    results = [SimpleNamespace(student="ada", status="graded", score=20.0, reason=""),
               SimpleNamespace(student="grace", status="missing", score=0.0, reason="no lstm.ipynb")]
    info = SimpleNamespace(name="03_lstm", max_autograded=21.0)
    written = lms.write_lms_files(info, results, subs, tmp_path, canvas_assignment="LSTM (4821)")
    assert {p.name for p in written} == {"canvas_grades.csv", "lms_students.csv", "moodle_grades.csv"}
    canvas = canvas_import(tmp_path / "canvas_grades.csv")
    assert canvas["assignments"][0]["title"] == "LSTM" and canvas["assignments"][0]["id"] == "4821"
    assert canvas["grades"] == {"login:ada": {"LSTM": "20"}, "login:grace": {"LSTM": ""}}
    assert read_csv(tmp_path / "moodle_grades.csv") == [["Username", "03_lstm"], ["ada", "20"], ["grace", ""]]


@pytest.mark.slow
def test_autograder_grade_writes_the_lms_files(tmp_path: Path) -> None:
    """The real command on a Canvas download: a late correct notebook, an untouched one and a
    rejected file; the LMS files lie next to grades.csv."""
    import nbformat
    from conftest import make_course
    from test_autograder_e2e import ASSIGNMENT, NOTEBOOK, student_notebook

    course = make_course(tmp_path / "course")
    download = tmp_path / "canvas"
    download.mkdir()
    nbformat.write(student_notebook(), download / f"lovelaceada_LATE_1234_99001_{NOTEBOOK}")
    nbformat.write(nbformat.read(REPO / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4),
                   download / f"hoppergrace_5678_99002_{NOTEBOOK}")
    (download / "turingalan_9012_99003_rnn.py").write_text("def rnn_cell(): pass\n")
    out = tmp_path / "graded"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", str(course),
                           "--submissions", str(download), "--out", str(out), "--seed", "1", "--jobs", "2",
                           "--no-gradebook", "-q", "--cell-timeout", "20", "--timeout", "120"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    canvas = canvas_import(out / "canvas_grades.csv")
    # the correct notebook earns the 14 points and the 2-point birnn_forward bonus: extra credit, which
    # Canvas takes as a score above Points Possible (14)
    assert canvas["grades"] == {"id:1234": {ASSIGNMENT: "16"}, "id:5678": {ASSIGNMENT: "0"},
                                "id:9012": {ASSIGNMENT: ""}}
    assert [a["points"] for a in canvas["assignments"]] == ["14"]
    with (out / "lms_students.csv").open() as fh:
        late = {r["lms_id"]: r["late"] for r in csv.DictReader(fh)}
    assert late == {"1234": "yes", "5678": "", "9012": ""}
    # The similarity ranking is written beside them, and its section is in the report.
    assert (out / "similarity.csv").read_text().startswith("rank,student_a,student_b,score")
    assert "Similar answers" in (out / "report.html").read_text()
