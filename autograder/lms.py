"""Grade files that Canvas and Moodle import as they are, written next to ``grades.csv``.

``autograder grade`` writes, besides the wide and long CSVs:

``canvas_grades.csv``
    Canvas's gradebook import (*Grades > Import*), laid out as Canvas's own gradebook export:
    the columns ``Student, ID, SIS User ID, SIS Login ID, Section`` (Canvas requires ``Student``
    and ``ID`` first and ``Section`` as the last student column), then one assignment column named
    ``<title> (<Canvas assignment id>)``; Canvas matches the assignment by the id in parentheses
    (or, without one, by the title, creating a new assignment when none has it). The second row is
    ``Points Possible``. A student is matched by ``ID``, Canvas's user id: the number a Canvas
    "Download Submissions" file name carries (``<name>[_LATE]_<user id>_<submission id>_<file>``).
    Students whose id came from elsewhere (nbgrader's ``submitted/`` tree, a hub user name) go in
    ``SIS Login ID`` with ``ID`` left empty, which Canvas then uses to find them.

``moodle_worksheet.csv``
    Moodle's assignment *offline grading worksheet* (*Upload grading worksheet*), for submissions
    downloaded from Moodle: the ``Identifier`` column holds ``Participant <id>``, the id in Moodle's
    download file names (``<Full Name>_<id>_assignsubmission_file_<file>``); Moodle reads the
    ``Identifier``, ``Grade`` and ``Last modified (grade)`` columns (English column names, as
    Moodle writes them in an English-language site) and ignores the others. Moodle's upload skips,
    without a word, a grade above the assignment's maximum, so a score with extra credit above the
    maximum is written as the maximum, and its ``Feedback comments`` (which Moodle imports too)
    give the full score.

``moodle_grades.csv``
    Moodle's gradebook CSV import (*Grades > Import > CSV file*) for students identified by user
    name: a ``Username`` column (map it to "username" in the import form) and one grade column.

``lms_students.csv``
    What the file names said, for the instructor: the grader's student id, the LMS, the LMS id,
    the name in the file name, Canvas's ``LATE`` marker (``yes`` when the download name carries
    it), the file, the grading status and the score. Rejected files keep the id that can be read
    from their name.

Only autograded points are exported (``autograded_total`` of ``grades.csv``); a rejected, missing
or corrupt submission gets an empty grade in the import files (Canvas and Moodle then leave the
grade as it is) rather than a zero that would overwrite a grade entered by hand.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

# Canvas "Download Submissions": <name>[_LATE]_<user id>_<submission id>_<original name>; Moodle
# "Download all submissions": <Full Name>_<participant id>_assignsubmission_<plugin>_<original name>.
# Any extension: a rejected .py or .zip still says whose it is.
CANVAS_NAME = re.compile(r"^(?P<name>[a-z0-9-]+)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
MOODLE_NAME = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.*)$")
UNMATCHED = "unmatched:"
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_WORKSHEET_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                            "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                            "Feedback comments"]


@dataclass
class LmsIdentity:
    """Who a file belongs to, as far as its name says."""

    lms: str  # canvas | moodle | course (an id from nbgrader's tree or <student>.ipynb)
    lms_id: str
    name: str = ""
    late: bool = False
    submission_id: str = ""


def identify(file_name: str, fallback: str | None = None) -> LmsIdentity | None:
    """Read the LMS identity from a file name (a path's last part); ``fallback`` is the grader's
    student id, used when the name follows no LMS pattern."""
    base = PurePosixPath(file_name).name
    match = CANVAS_NAME.match(base)
    if match:
        return LmsIdentity("canvas", match["uid"], match["name"], bool(match["late"]), match["sid"])
    match = MOODLE_NAME.match(base)
    if match:
        return LmsIdentity("moodle", match["pid"], match["name"])
    if fallback and not fallback.startswith(UNMATCHED):
        return LmsIdentity("course", fallback)
    return None


@dataclass
class LmsRow:
    student: str
    identity: LmsIdentity | None
    file: str
    status: str
    score: float | None  # None: no grade to import (rejected, missing, corrupt)
    reason: str = ""


NO_GRADE = {"rejected", "missing", "corrupt", "error"}


def lms_rows(results: Iterable[Any], submissions: Iterable[Any]) -> list[LmsRow]:
    """One row per result, with the identity read from its submission's file name.

    ``results`` are :class:`autograder.batch.SubmissionResult` (``student``, ``status``,
    ``score``, ``reason``); ``submissions`` are :class:`autograder.submissions.Submission`
    (``student``, ``path``). A rejected row's student is ``unmatched:<relative path>``.
    """
    subs = {s.student: s for s in submissions}
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        sub = subs.get(r.student)
        if r.student.startswith(UNMATCHED):
            file = r.student[len(UNMATCHED):]
        elif sub is not None and sub.path is not None:
            file = sub.path.name
        else:  # e.g. "several notebooks for one student: a.ipynb, b.ipynb": the first name tells
            named = (getattr(sub, "problem", None) or "").partition(": ")[2].split(", ")[0]
            file = named if identify(named) else ""
        identity = identify(file, r.student)
        if identity is not None and identity.lms == "course" and r.student.startswith(UNMATCHED):
            identity = None
        score = None if r.status in NO_GRADE else float(r.score)
        rows.append(LmsRow(r.student, identity, file, r.status, score, r.reason))
    return rows


def _fmt(score: float | None) -> str:
    return "" if score is None else f"{score:g}"


def _importable(rows: list[LmsRow], lms: set[str]) -> list[LmsRow]:
    """Rows to import: one per LMS id; a graded row wins over a rejected file of the same student."""
    best: dict[tuple[str, str], LmsRow] = {}
    for row in rows:
        if row.identity is None or row.identity.lms not in lms:
            continue
        key = (row.identity.lms, row.identity.lms_id)
        if key not in best or (best[key].score is None and row.score is not None):
            best[key] = row
    return sorted(best.values(), key=lambda r: (r.identity.lms, r.identity.lms_id))


def canvas_column(assignment: str, canvas_assignment: str | None) -> str:
    """Canvas's assignment column: ``Title (id)``. ``canvas_assignment`` may be ``Title (id)``, a
    bare id, or a title; by default the assignment's folder name (Canvas matches it by title)."""
    if not canvas_assignment:
        return assignment
    if canvas_assignment.isdigit():
        return f"{assignment} ({canvas_assignment})"
    return canvas_assignment


def write_canvas(rows: list[LmsRow], path: Path, column: str, points_possible: float) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CANVAS_STUDENT_COLUMNS, column])
        writer.writerow(["    Points Possible", "", "", "", "", f"{points_possible:g}"])
        for row in _importable(rows, {"canvas", "course"}):
            ident = row.identity
            if ident.lms == "canvas":
                writer.writerow([ident.name, ident.lms_id, "", "", "", _fmt(row.score)])
            else:
                writer.writerow([ident.lms_id, "", "", ident.lms_id, "", _fmt(row.score)])
    return path


def write_moodle_worksheet(rows: list[LmsRow], path: Path, maximum: float, when: datetime) -> Path:
    stamp = when.strftime("%A, %d %B %Y, %I:%M %p")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MOODLE_WORKSHEET_COLUMNS)
        for row in _importable(rows, {"moodle"}):
            ident = row.identity
            comment = f"autograder: {row.status}" + (f" ({row.reason})" if row.reason else "")
            grade = row.score
            if grade is not None and grade > maximum:     # Moodle would skip it: "out of range"
                comment += (f"; {grade:g} points with extra credit, entered as the maximum {maximum:g} "
                            "(Moodle's worksheet takes no grade above it)")
                grade = maximum
            writer.writerow([f"Participant {ident.lms_id}", ident.name, "", "", _fmt(grade),
                             f"{maximum:.2f}", "Yes", "", stamp if row.score is not None else "", comment])
    return path


def write_moodle_gradebook(rows: list[LmsRow], path: Path, column: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Username", column])
        for row in _importable(rows, {"course"}):
            writer.writerow([row.identity.lms_id, _fmt(row.score)])
    return path


def write_students(rows: list[LmsRow], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "lms", "lms_id", "name_in_file", "late", "file", "status", "score"])
        for row in rows:
            ident = row.identity
            writer.writerow([row.student, ident.lms if ident else "", ident.lms_id if ident else "",
                             ident.name if ident else "", "yes" if ident and ident.late else "",
                             row.file, row.status, _fmt(row.score)])
    return path


def write_lms_files(info: Any, results: Iterable[Any], submissions: Iterable[Any], folder: Path, *,
                    canvas_assignment: str | None = None, when: datetime | None = None) -> list[Path]:
    """Write the LMS files for one graded assignment into ``folder``; returns their paths.

    ``info`` is the :class:`autograder.batch.AssignmentInfo` (``name``, ``max_autograded``).
    The Moodle worksheet is written only when some file came from a Moodle download, the Moodle
    gradebook file only when some student id is a plain user name.
    """
    rows = lms_rows(list(results), list(submissions))
    when = when or datetime.now(UTC)
    written = [
        write_canvas(rows, folder / "canvas_grades.csv", canvas_column(info.name, canvas_assignment),
                     info.max_autograded),
        write_students(rows, folder / "lms_students.csv"),
    ]
    if any(r.identity and r.identity.lms == "moodle" for r in rows):
        written.append(write_moodle_worksheet(rows, folder / "moodle_worksheet.csv", info.max_autograded, when))
    if any(r.identity and r.identity.lms == "course" for r in rows):
        written.append(write_moodle_gradebook(rows, folder / "moodle_grades.csv", info.name))
    return written
