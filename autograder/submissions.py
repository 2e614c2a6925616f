"""Find the submissions to grade and the student each belongs to.

Supported layouts (anything else gets a row with status ``rejected`` and the reason):

1. nbgrader's tree: ``<course>/submitted/<student>/<assignment>/<notebook>.ipynb``.
2. A folder (or a ``.zip`` of it) downloaded from an LMS, with one of these file names:
   - ``<student>.ipynb``
   - ``<student>/<anything>.ipynb`` (one folder per student)
   - Canvas: ``<name>[_LATE]_<user id>_<submission id>_<original name>.ipynb`` (student = user id)
   - Moodle: ``<Full Name>_<participant id>_assignsubmission_file_<original name>.ipynb``
     (student = participant id)

A student id is letters, digits, ``.``, ``_`` and ``-``. A student with several notebooks, or a
file that fits no pattern, is reported, not guessed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CANVAS = re.compile(r"^(?P<name>[a-z0-9-]+)(?:_LATE)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)\.ipynb$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_file_(?P<file>.+)\.ipynb$")
PATTERNS_HELP = (
    "supported names: <student>.ipynb, <student>/<any>.ipynb, Canvas "
    "'<name>_<userid>_<submissionid>_<file>.ipynb', Moodle '<Name>_<id>_assignsubmission_file_<file>.ipynb'"
)


@dataclass
class Submission:
    """One row of the class list: a student and their notebook (or why there is none)."""

    student: str
    path: Path | None
    problem: str | None = None  # set when the submission cannot be graded at all

    @property
    def key(self) -> str:
        return self.student


def _skip(path: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def from_nbgrader(course: Path, assignment: str, notebook: str) -> list[Submission]:
    root = course / "submitted"
    rows = []
    if not root.is_dir():
        return rows
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        folder = student_dir / assignment
        if not folder.is_dir():
            continue
        expected = folder / notebook
        if expected.is_file():
            rows.append(Submission(student_dir.name, expected))
            continue
        found = sorted(p.name for p in folder.glob("*.ipynb"))
        reason = f"no {notebook} in the submission" + (f" (found {', '.join(found)})" if found else "")
        rows.append(Submission(student_dir.name, None, reason))
    return rows


def _student_for(relative: Path) -> tuple[str | None, str | None]:
    name = relative.name
    if len(relative.parts) == 2 and STUDENT_ID.match(relative.parts[0]):
        return relative.parts[0], None
    if len(relative.parts) > 2:
        return None, f"{relative}: too deep; {PATTERNS_HELP}"
    for pattern, group in ((CANVAS, "uid"), (MOODLE, "pid")):
        match = pattern.match(name)
        if match:
            return match.group(group), None
    stem = relative.stem
    if len(relative.parts) == 1 and STUDENT_ID.match(stem):
        return stem, None
    return None, f"{relative}: cannot tell whose notebook this is; {PATTERNS_HELP}"


def from_folder(folder: Path) -> list[Submission]:
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if not _skip(p.relative_to(folder)))
    by_student: dict[str, list[Path]] = {}
    rows = []
    for path in notebooks:
        student, problem = _student_for(path.relative_to(folder))
        if student is None:
            rows.append(Submission(f"unmatched:{path.relative_to(folder)}", None, problem))
            continue
        by_student.setdefault(student, []).append(path)
    for student, paths in sorted(by_student.items()):
        if len(paths) > 1:
            names = ", ".join(str(p.relative_to(folder)) for p in paths)
            rows.append(Submission(student, None, f"several notebooks for one student: {names}"))
        else:
            rows.append(Submission(student, paths[0]))
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb" and not _skip(path.relative_to(folder)):
            rows.append(Submission(f"unmatched:{path.relative_to(folder)}", None,
                                   f"{path.relative_to(folder)} is not a notebook (.ipynb)"))
    return rows


def from_zip(archive: Path, scratch: Path) -> list[Submission]:
    """Extract safely (no absolute paths, no '..', size-capped) and read as a folder."""
    dest = scratch / "unzipped"
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (dest / info.filename).resolve()
            if not str(target).startswith(str(dest.resolve())) or info.filename.startswith("/"):
                raise ValueError(f"{archive.name}: unsafe path {info.filename!r} in the archive")
            total += info.file_size
            if total > 2 * 2**30:
                raise ValueError(f"{archive.name}: more than 2 GiB uncompressed")
        zf.extractall(dest)
    return from_folder(dest)


def discover(course: Path, assignment: str, notebook: str, source: Path | None, scratch: Path) -> list[Submission]:
    """All submissions: from ``source`` (folder or zip) if given, else nbgrader's ``submitted/``."""
    if source is None:
        return from_nbgrader(course, assignment, notebook)
    if source.is_file() and source.suffix == ".zip":
        return from_zip(source, scratch)
    if source.is_dir():
        if source.name == "submitted" or (source / "submitted").is_dir():
            base = source.parent if source.name == "submitted" else source
            return from_nbgrader(base, assignment, notebook)
        return from_folder(source)
    raise ValueError(f"{source} is neither a folder nor a .zip file")
