"""Build the *student distribution*: what students receive, ready to push to its own repository.

The course repository holds ``solutions/`` (every solution and every hidden test), the grader and
its specs (random cases, catalogues of mistakes): it stays private to the instructors. Students get
a separate repository (or a branch of one) built by this command, holding only

- ``exercises/<assignment>/<notebook>.ipynb``: the released notebooks (``make exercises``);
- ``autograder/``: the student-safe part of the course package (``checks``, ``numerics``,
  ``tasks``), what the notebooks' set-up and visible-test cells import; no grader, no specs, no
  reference loader;
- ``pyproject.toml`` and ``requirements.txt``: the environment (``pip install -r requirements.txt``);
- ``README.md`` for students: how to install, how to work, how to check a notebook.

It is what the exercise pages' **Open in JupyterHub** button clones (``exercise_repository_url``
in ``_config.yml``)::

    python tools/student_dist.py --out ../rnn-course-student      # or: make student-dist
    cd ../rnn-course-student && git init -b main && git add -A && git commit -m "Release"

A folder that already holds a git repository keeps its ``.git``: rebuild into it, commit, push.
The command refuses to write into a folder that holds anything else than an earlier distribution,
and checks what it wrote: no ``solutions/``, no solution or hidden-test marker, only the modules
listed below.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the modules of the course package that students receive (what the exercises import)
STUDENT_MODULES = ("checks.py", "numerics.py", "tasks.py")
#: the packages of requirements.txt a student needs (versions are taken from requirements.txt)
STUDENT_REQUIREMENTS = ("jupyterlab", "notebook", "nbgrader", "nbformat", "numpy", "scipy", "matplotlib",
                        "torch", "tqdm")
MARKER_FILE = ".rnn-course-student"
SECRET_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS",
                  "hidden_check(")
#: the instructor's tools of nbgrader's JupyterLab extension, which students do not need
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")


class DistError(RuntimeError):
    """The distribution cannot be built (or what was built is not safe to hand out)."""


def student_notebooks(root: Path = REPO) -> list[Path]:
    notebooks = sorted(p for p in (root / "exercises").glob("*/*.ipynb"))
    if not notebooks:
        raise DistError(f"no released notebook in {root / 'exercises'}: run `make exercises` first")
    return notebooks


def requirements(root: Path = REPO) -> list[str]:
    pins = {}
    for line in (root / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0].lower()
            pins[name] = line
    missing = [name for name in STUDENT_REQUIREMENTS if name not in pins]
    if missing:
        raise DistError(f"requirements.txt has no pin for {missing}")
    return [pins[name] for name in STUDENT_REQUIREMENTS]


def _check_imports(path: Path) -> None:
    """A student module may import only the other student modules of the package."""
    allowed = {Path(m).stem for m in STUDENT_MODULES}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y / from . import x
                names = [node.module] if node.module else [a.name for a in node.names]
            elif node.module and node.module.split(".")[0] == "autograder":
                names = [node.module.split(".")[1] if "." in node.module else a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names
                     if a.name.startswith("autograder.")]
        for name in names:
            if name and name.split(".")[0] not in allowed:
                raise DistError(f"autograder/{path.name} imports autograder.{name}, which students do not "
                                f"receive; keep the student modules ({', '.join(STUDENT_MODULES)}) self-contained")


def _init_py() -> str:
    return ('"""rnn-course\'s student package: what the assignments\' set-up and visible-test cells import.\n\n'
            "- :mod:`autograder.checks`: the visible tests' comparisons and messages;\n"
            "- :mod:`autograder.numerics`: a numerically stable sigmoid and finite differences;\n"
            "- :mod:`autograder.tasks`: the toy data sets of the assignments.\n\n"
            "The hidden tests that decide the grade are not here: your instructor runs them.\n"
            '"""\n\n'
            f'__version__ = "{_version()}"\n')


def _version() -> str:
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', (REPO / "autograder" / "__init__.py").read_text(), re.M)
    return match.group(1) if match else "0"


def _pyproject() -> str:
    return ("[build-system]\n"
            'requires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            "[project]\n"
            'name = "rnn-course-student"\n'
            f'version = "{_version()}"\n'
            'description = "The checking helpers and toy tasks that the rnn-course assignments import."\n'
            'requires-python = ">=3.11"\n'
            'dependencies = ["numpy"]\n\n'
            "[tool.setuptools.packages.find]\n"
            'include = ["autograder"]\n')


def readme(assignments: list[tuple[str, str]]) -> str:
    table = "\n".join(f"| `{a}` | `exercises/{a}/{nb}` |" for a, nb in assignments)
    disable_lab = " ".join(INSTRUCTOR_PLUGINS)
    disable_server = " ".join(INSTRUCTOR_SERVER_EXTENSIONS)
    return f"""# rnn-course: the assignments

The graded notebooks of the course *Recurrent Neural Networks, executed*, one per chapter, and the
small package their cells import. Read the chapter of the book first; each notebook starts with
what you will build, the API, and how points are given.

| assignment | notebook |
| --- | --- |
{table}

## On the course's JupyterHub

Click **Open in JupyterHub** on the assignment's page of the book: it copies this repository into
your home folder (later clicks fetch updates and never overwrite your work) and opens the notebook.
Everything is installed there.

## On your own machine

With Python 3.11:

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt    # JupyterLab, numpy, torch (CPU), matplotlib, nbgrader
.venv/bin/pip install -e .                    # the `autograder` package the notebooks import
# nbgrader's JupyterLab menu also offers the instructors' tools (Formgrader, Create Assignment,
# Courses); students do not need them, so turn them off:
.venv/bin/jupyter labextension disable --level=sys_prefix {disable_lab}
.venv/bin/jupyter server extension disable --sys-prefix {disable_server}
.venv/bin/jupyter lab
```

If the set-up cell of a notebook says `No module named 'autograder'`, the second command was not
run in this environment (or the notebook runs in another kernel): run it, then restart the kernel.

## How to work and check yourself

- Run the set-up cell, then each of your function cells and the test cell below it. A visible test
  prints `<name>: OK`, or raises an `AssertionError` that says what is wrong (a shape, a value and
  where, an overflow, an input modified in place, the order of a returned tuple...).
- The bonus parts are optional: while you have not attempted one, its checks print
  "optional, not attempted" instead of failing.
- Before you submit: **Kernel → Restart Kernel and Run All Cells…**, then **Validate** in the
  notebook's toolbar (or `nbgrader validate exercises/03_lstm/lstm.ipynb`). Validate fails when any
  visible check fails; it passes only when every required function passes its visible checks.
- Hidden tests, run by your instructor on fresh random inputs of several shapes, decide the grade;
  your feedback names the first input on which a function went wrong.
- Do not rename the functions, change their arguments, or edit the test cells (the grader runs the
  original test cells anyway).

This repository is generated from the course's private repository; do not send changes here.
"""


def _is_previous_distribution(out: Path) -> bool:
    entries = [p.name for p in out.iterdir() if p.name != ".git"]
    return not entries or MARKER_FILE in entries


def build(out: Path, *, root: Path = REPO) -> Path:
    """Write the student distribution into ``out`` and check it; return ``out``."""
    out = out.resolve()
    course = root.resolve()
    if out == course or out in course.parents or (out.parent == course and out.name != "_build"
                                                   and (course / out.name).exists()):
        raise DistError(f"{out} is the course repository or one of its folders; choose another --out")
    if out.exists():
        if not out.is_dir():
            raise DistError(f"{out} exists and is not a folder")
        if not _is_previous_distribution(out):
            raise DistError(f"{out} is not empty and holds no earlier student distribution ({MARKER_FILE}); "
                            "choose an empty folder (or one with only a .git)")
        for entry in out.iterdir():
            if entry.name == ".git":
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    notebooks = student_notebooks(root)
    assignments = []
    for nb in notebooks:
        rel = nb.relative_to(root)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nb, out / rel)
        assignments.append((nb.parent.name, nb.name))
    package = out / "autograder"
    package.mkdir()
    for module in STUDENT_MODULES:
        source = root / "autograder" / module
        _check_imports(source)
        shutil.copyfile(source, package / module)
    (package / "__init__.py").write_text(_init_py())
    (out / "pyproject.toml").write_text(_pyproject())
    (out / "requirements.txt").write_text(
        "# The students' environment (a subset of the course's, same versions).\n"
        + "\n".join(requirements(root)) + "\n")
    (out / "README.md").write_text(readme(assignments))
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n*.pyc\n.ipynb_checkpoints/\n*.egg-info/\n")
    (out / MARKER_FILE).write_text("Built by tools/student_dist.py of the course repository; "
                                   "rebuilding replaces everything here but .git.\n")
    check(out)
    return out


def check(out: Path) -> None:
    """Refuse a distribution that holds what students must not see."""
    problems = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if rel.parts[0] == ".git":
            continue
        if path.name in ("solutions", "source") and path.is_dir():
            problems.append(f"{rel}/ (instructors' sources)")
        if path.is_file():
            text = path.read_text(errors="replace")
            problems += [f"{rel} contains {m!r}" for m in SECRET_MARKERS if m in text]
    allowed = {*STUDENT_MODULES, "__init__.py"}
    problems += [f"autograder/{p.name} is not a student module" for p in (out / "autograder").iterdir()
                 if p.name not in allowed and p.name != "__pycache__"]
    if problems:
        raise DistError("the student distribution holds what students must not see:\n  " + "\n  ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="The course repository (with solutions/) stays private; push only "
                                            "this folder to the repository students clone.")
    parser.add_argument("--out", type=Path, default=REPO / "_build" / "student",
                        help="the folder to write (default: _build/student)")
    args = parser.parse_args(argv)
    try:
        out = build(args.out)
    except DistError as exc:
        print(f"student_dist: {exc}", file=sys.stderr)
        return 1
    count = len(list((out / "exercises").glob("*/*.ipynb")))
    print(f"student_dist: wrote {out} ({count} notebooks, autograder/{{{', '.join(STUDENT_MODULES)}}}, "
          "requirements.txt, README.md); push it to the students' repository, never the course repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
