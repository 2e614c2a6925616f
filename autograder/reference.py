"""Load the reference implementation of an assignment from its nbgrader *source* notebook.

The single source of every solution is the solution cells of ``solutions/<assignment>/*.ipynb``.
This module finds the course folder, reads that notebook, and executes its set-up cells and its
solution cells (the ``### BEGIN SOLUTION`` markers stripped) in a fresh namespace. Nothing here
contains a solution: on a student's machine, where ``solutions/`` does not exist, loading fails with
a message saying that references are for instructors only.

Which cells run: code cells marked ``solution`` by nbgrader, and code cells tagged ``setup``
(imports, given helpers such as a stable sigmoid). Test cells never run. A cell tagged
``reference-skip`` never runs (for instance a long training cell).
"""

from __future__ import annotations

import json
import os
import types
from pathlib import Path
from typing import Any

SOLUTIONS_DIR = "solutions"
ROOT_ENV = "RNNCOURSE_ROOT"


class ReferenceUnavailable(RuntimeError):
    """The reference solutions cannot be found (as on every student's machine)."""


def course_root(start: Path | None = None) -> Path:
    """The course folder: ``$RNNCOURSE_ROOT``, else the nearest parent holding ``solutions/``."""
    env = os.environ.get(ROOT_ENV)
    if env:
        root = Path(env).resolve()
        if not (root / SOLUTIONS_DIR).is_dir():
            raise ReferenceUnavailable(f"${ROOT_ENV}={env} has no {SOLUTIONS_DIR}/ folder")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SOLUTIONS_DIR).is_dir() and (folder / "nbgrader_config.py").is_file():
            return folder
    raise ReferenceUnavailable(
        "the reference solutions are only available to instructors (no solutions/ folder above "
        f"{here}); the visible tests in your notebook do not need them"
    )


def source_notebook(assignment: str, root: Path | None = None) -> Path:
    folder = (root or course_root()) / SOLUTIONS_DIR / assignment
    notebooks = sorted(p for p in folder.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if len(notebooks) != 1:
        raise ReferenceUnavailable(f"expected one source notebook in {folder}, found {len(notebooks)}")
    return notebooks[0]


def _is_solution(cell: Any) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def strip_solution_markers(source: str) -> str:
    """Remove the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marker lines."""
    keep = [
        line
        for line in source.splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    ]
    return "\n".join(keep) + "\n"


def reference_cells(path: Path) -> list[tuple[str, str]]:
    """The (cell id, source) pairs that make up the reference implementation, in notebook order."""
    # Plain JSON, not nbformat: importing nbformat (its schema validator) takes about a second,
    # which every hidden test cell of a notebook graded by nbgrader would pay.
    nb = json.loads(path.read_text(encoding="utf-8"))
    if nb.get("nbformat") != 4:
        raise ReferenceUnavailable(f"{path} is not a version 4 notebook")
    cells = []
    for k, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code" or "reference-skip" in _tags(cell):
            continue
        if _is_solution(cell) or "setup" in _tags(cell):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell-{k}")
            source = cell.get("source", "")
            cells.append((grade_id, strip_solution_markers("".join(source) if isinstance(source, list) else source)))
    return cells


_CACHE: dict[tuple[str, str], types.SimpleNamespace] = {}


def load_reference(assignment: str, root: Path | None = None) -> types.SimpleNamespace:
    """Execute the reference cells of ``assignment`` and return their namespace.

    Cached per process and source file; every caller gets the same namespace, which must be
    treated as read-only (the graders copy functions before patching them).
    """
    path = source_notebook(assignment, root)
    key = (assignment, str(path))
    if key not in _CACHE:
        namespace: dict[str, Any] = {"__name__": f"reference_{assignment}"}
        for cell_id, source in reference_cells(path):
            code = compile(source, f"<reference {assignment}:{cell_id}>", "exec")
            exec(code, namespace)  # noqa: S102 - instructor-owned source notebook
        public = {k: v for k, v in namespace.items() if k != "__builtins__"}
        _CACHE[key] = types.SimpleNamespace(**public)
    return _CACHE[key]
