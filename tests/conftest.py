"""Shared fixtures: the repository layout and a scratch nbgrader course built from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


def source_notebook(assignment: str) -> Path:
    (nb,) = sorted((REPO / "solutions" / assignment).glob("*.ipynb"))
    return nb


def nbgrader(*args: str, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the real nbgrader command line in ``cwd``; fail the test with its log on error."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # nbgrader runs alembic
    proc = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_course(dest: Path) -> Path:
    """A scratch course: the repo's nbgrader config and sources, nothing else."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", dest / "solutions")
    return dest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "book: needs the built website (_build/html, `make book`)")
    config.addinivalue_line("markers", "slow: runs real nbgrader commands (tens of seconds)")


def student_namespace(assignment: str) -> dict:
    """A copy of the reference namespace in which the reference cells were run again, so that its
    functions' globals are this dict (like a student's notebook after running every cell): a mutant
    exec'd into it is called by the composites, as in a real notebook."""
    from autograder.reference import load_reference, reference_cells
    from autograder.reference import source_notebook as source_of

    ns = dict(vars(load_reference(assignment, root=REPO)))
    for cell_id, source in reference_cells(source_of(assignment, REPO)):
        exec(compile(source, f"<student {cell_id}>", "exec"), ns)  # noqa: S102
    return ns


def filled_notebook(assignment: str, overrides: dict[str, str] | None = None, *,
                    blank: tuple[str, ...] = ()):
    """The released notebook with every answer filled in from the source, then ``overrides``
    (grade id -> source); the cells in ``blank`` are left as released (a student's submission)."""
    import nbformat

    from autograder.reference import strip_solution_markers

    answers = {c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
               for c in nbformat.read(source_notebook(assignment), as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    nb = nbformat.read(REPO / "exercises" / assignment / source_notebook(assignment).name, as_version=4)
    for cell in nb.cells:
        key = cell.metadata.get("nbgrader", {}).get("grade_id")
        if key in answers and key not in blank:
            cell.source = answers[key]
        if overrides and key in overrides:
            cell.source = overrides[key]
    return nb
