"""The instructor's term with `autograder grade`: what misled or broke when it was tried on a class.

In-process (`grade_submission`) where one submission shows the point, otherwise the command line on
a scratch course. The sandbox is bubblewrap when this machine has it, else `--sandbox none` (the
notebooks here are the tests' own).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, REPO, make_course, nbgrader

from autograder.grader import AssignmentInfo, grade_submission
from autograder.reference import strip_solution_markers
from autograder.sandbox import Limits, bwrap_available
from autograder.submissions import Submission

SANDBOX = "bwrap" if bwrap_available() else "none"
AUTOGRADER = [sys.executable, "-m", "autograder"]


def student(assignment: str, overrides: dict[str, str] | None = None, *, blank: tuple[str, ...] = ()
            ) -> nbformat.NotebookNode:
    (source,) = sorted((REPO / "solutions" / assignment).glob("*.ipynb"))
    answers = {c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
               for c in nbformat.read(source, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    nb = nbformat.read(REPO / "exercises" / assignment / source.name, as_version=4)
    for cell in nb.cells:
        key = cell.metadata.get("nbgrader", {}).get("grade_id")
        if key in answers and key not in blank:
            cell.source = answers[key]
        if overrides and key in overrides:
            cell.source = overrides[key]
    return nb


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
    nb = student("03_lstm", {"forget_gate": BROKEN_IMPORT + gate})
    result = grade_one(tmp_path, "03_lstm", nb)
    got = parts(result)
    assert got["test_forget_gate"] == 0
    assert got["test_lstm_cell"] == 3 and got["test_lstm_forward"] == 3, result.parts
    row = next(p for p in result.parts if p.part == "test_forget_gate")
    assert "ModuleNotFoundError" in row.message and "a_package_that_is_not_installed" in row.message
    assert "was its cell deleted or renamed" not in row.message


def test_composite_keeps_its_points_when_a_part_is_deleted(tmp_path: Path) -> None:
    nb = student("03_lstm", {"input_gate": "# deleted\n"})
    got = parts(grade_one(tmp_path, "03_lstm", nb))
    assert got["test_input_gate"] == 0 and got["test_lstm_cell"] == 3 and got["test_lstm_forward"] == 3
