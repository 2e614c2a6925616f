"""Every assignment round-trips through the real nbgrader command line.

In a scratch course built from the repo: ``generate_assignment`` must reproduce ``exercises/``
exactly; ``autograde`` must give the solution notebooks every autograded point and the untouched
student notebooks none.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ASSIGNMENTS, REPO, make_course, nbgrader, source_notebook
from nbgrader.api import Gradebook

pytestmark = pytest.mark.slow

STUDENTS = {"reference": "solutions", "untouched": "exercises"}


def _normalise(path: Path) -> dict:
    """A notebook as JSON, without what legitimately varies between two generations."""
    nb = json.loads(path.read_text())
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        cell.pop("execution_count", None)
        cell.get("metadata", {}).pop("execution", None)
    return nb


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_course(tmp_path_factory.mktemp("course"))
    for assignment in ASSIGNMENTS:
        nbgrader("generate_assignment", assignment, "--force", "--log-level=WARN", cwd=course)
        nb_name = source_notebook(assignment).name
        for student, folder in STUDENTS.items():
            dest = course / "submitted" / student / assignment
            dest.mkdir(parents=True)
            shutil.copy(REPO / folder / assignment / nb_name, dest / nb_name)
        nbgrader("autograde", assignment, "--force", "--log-level=WARN", cwd=course)
    return course


def _autograded_cells(course: Path, assignment: str, student: str) -> list[tuple[str, float, float]]:
    nb_name = source_notebook(assignment).stem
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(nb_name, assignment, student)
        return [
            (g.name, g.auto_score, g.max_score) for g in sub.grades if g.auto_score is not None
        ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_are_exactly_what_nbgrader_generates(graded_course: Path, assignment: str) -> None:
    nb_name = source_notebook(assignment).name
    committed = REPO / "exercises" / assignment / nb_name
    fresh = graded_course / "exercises" / assignment / nb_name
    assert committed.exists(), f"{committed} is missing: run `make exercises`"
    assert _normalise(committed) == _normalise(fresh), (
        f"exercises/{assignment}/{nb_name} differs from a fresh `nbgrader generate_assignment`: "
        "run `make exercises` and commit the result (never edit exercises/ by hand)"
    )
    released = sorted(p.name for p in (REPO / "exercises" / assignment).iterdir())
    expected = sorted(p.name for p in (graded_course / "exercises" / assignment).iterdir())
    assert released == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(graded_course: Path, assignment: str) -> None:
    cells = _autograded_cells(graded_course, assignment, "reference")
    assert cells, f"{assignment} has no autograded test cells"
    lost = [(name, score, top) for name, score, top in cells if score != top]
    assert not lost, f"the solution of {assignment} loses points in {lost}"
    feedback = graded_course / "autograded" / "reference" / assignment
    nb = nbformat.read(next(feedback.glob("*.ipynb")), as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, (
        f"the solution of {assignment} raised {errors[0].get('ename')}: {errors[0].get('evalue')}"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_exercise_scores_zero(graded_course: Path, assignment: str) -> None:
    cells = _autograded_cells(graded_course, assignment, "untouched")
    assert cells
    earned = [(name, score) for name, score, _ in cells if score != 0]
    assert not earned, f"an untouched {assignment} notebook earns points in {earned}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_exercise_says_what_to_do(graded_course: Path, assignment: str) -> None:
    """The failing visible tests of a blank notebook tell the student to implement the function."""
    folder = graded_course / "autograded" / "untouched" / assignment
    nb = nbformat.read(next(folder.glob("*.ipynb")), as_version=4)
    messages = [o.get("evalue", "") for c in nb.cells if c.cell_type == "code"
                for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert messages
    assert all("not implemented yet" in m or "NotImplementedError" in m or "is not defined" in m
               or "not a function" in m for m in messages), messages
