"""Write scores into nbgrader's gradebook (one writer: the grading process's main thread)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .batch import AssignmentInfo, SubmissionResult


def gradebook_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def ensure_assignment(course: Path, info: AssignmentInfo) -> None:
    """The gradebook must know the assignment's cells; `nbgrader generate_assignment` records them."""
    with Gradebook(gradebook_url(course)) as gb:
        try:
            gb.find_notebook(Path(info.notebook).stem, info.name)
            return
        except MissingEntry:
            pass
    nbgrader = Path(sys.executable).parent / "nbgrader"
    proc = subprocess.run([str(nbgrader), "generate_assignment", info.name, "--force", "--log-level=WARN"],
                          cwd=course, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`nbgrader generate_assignment {info.name}` failed:\n{proc.stderr[-2000:]}")


class GradebookWriter:
    """Keeps one gradebook connection open and records each result as it arrives."""

    def __init__(self, course: Path, info: AssignmentInfo) -> None:
        ensure_assignment(course, info)
        self.info = info
        self.gb = Gradebook(gradebook_url(course))
        self.nb = Path(info.notebook).stem

    def record(self, result: SubmissionResult, timestamp: str | None = None) -> None:
        """Record ``result``'s scores; ``timestamp`` is the submission's (nbgrader's timestamp.txt)."""
        if result.student.startswith("unmatched:"):
            return
        gb = self.gb
        extra = {"timestamp": timestamp} if timestamp else {}
        # nbgrader's add_submission builds the submission, its notebooks and grades attached to the
        # assignment and student already in the session, then reads `submission.assignment.notebooks`
        # before adding it: with SQLAlchemy 2 (no cascade along backrefs) that read autoflushes a
        # half-built object and warns "Object of type <SubmittedAssignment> not in session". Nothing
        # is lost (it is added just after), and without the premature autoflush there is no warning.
        with gb.db.no_autoflush:
            gb.update_or_create_student(result.student)
            gb.update_or_create_submission(self.info.name, result.student, **extra)
        for part in result.parts:
            grade = gb.find_grade(part.part, self.nb, self.info.name, result.student)
            grade.auto_score = float(part.points)
        gb.db.commit()

    def close(self) -> None:
        self.gb.close()
