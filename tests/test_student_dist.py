"""The student distribution: what students clone holds no solution, no hidden test, no grader.

The leak checks of test_no_leaks.py cover exercises/, the package and the site; these run on the
folder that students actually receive (tools/student_dist.py, `make student-dist`), and check that
the launch links point at it and never at the course repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, REPO, source_notebook
from leaks import find_leaks, secret_lines

sys.path.insert(0, str(REPO / "tools"))
import exercise_pages  # noqa: E402
import student_dist  # noqa: E402


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    return student_dist.build(tmp_path_factory.mktemp("student") / "rnn-course-student")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_distribution_holds_the_notebooks_the_student_package_and_the_environment(dist: Path) -> None:
    for assignment in ASSIGNMENTS:
        (released,) = sorted((REPO / "exercises" / assignment).glob("*.ipynb"))
        assert (dist / "exercises" / assignment / released.name).read_bytes() == released.read_bytes()
    modules = sorted(p.name for p in (dist / "autograder").glob("*.py"))
    assert modules == sorted(["__init__.py", *student_dist.STUDENT_MODULES])
    requirements = (dist / "requirements.txt").read_text()
    for name in ("jupyterlab", "numpy", "torch", "nbgrader"):
        assert f"{name}==" in requirements
    assert (dist / "pyproject.toml").is_file() and (dist / "README.md").is_file()


def test_distribution_has_no_solutions_no_grader_no_reference(dist: Path) -> None:
    names = {p.relative_to(dist).parts[0] for p in dist.rglob("*")}
    assert "solutions" not in names and "tests" not in names and "book" not in names
    for forbidden in ("hidden_tests.py", "spec_kit.py", "batch.py", "reference.py", "oracle.py", "runner.py", "specs", "cli.py"):
        assert not (dist / "autograder" / forbidden).exists(), forbidden
    for path in _files(dist):
        text = path.read_text(errors="replace")
        for marker in student_dist.SECRET_MARKERS:
            assert marker not in text, f"{path.relative_to(dist)} contains {marker!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_secret_line_anywhere_in_the_distribution(dist: Path, assignment: str) -> None:
    secrets = secret_lines(source_notebook(assignment))
    for path in _files(dist):
        leaks = find_leaks(secrets, path.read_text(errors="replace"))
        assert not leaks, f"{path.relative_to(dist)} contains {assignment}'s {leaks[:3]}"


def test_check_refuses_a_distribution_with_solutions(dist: Path, tmp_path: Path) -> None:
    bad = student_dist.build(tmp_path / "bad")
    (bad / "solutions" / "03_lstm").mkdir(parents=True)
    with pytest.raises(student_dist.DistError, match="solutions"):
        student_dist.check(bad)
    (bad / "solutions" / "03_lstm").rmdir()
    (bad / "solutions").rmdir()
    (bad / "autograder" / "hidden_tests.py").write_text("x = 1\n")
    with pytest.raises(student_dist.DistError, match="not a student module"):
        student_dist.check(bad)


def test_build_refuses_a_folder_that_is_not_a_distribution(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(student_dist.DistError, match="not empty"):
        student_dist.build(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(student_dist.DistError, match="course repository"):
        student_dist.build(REPO / "solutions")


def test_rebuild_keeps_git_and_replaces_the_rest(tmp_path: Path) -> None:
    out = student_dist.build(tmp_path / "d")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "exercises" / "stale.ipynb").write_text("{}")
    student_dist.build(out)
    assert (out / ".git" / "HEAD").is_file() and not (out / "exercises" / "stale.ipynb").exists()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_set_up_cell_runs_from_the_distribution_alone(dist: Path, assignment: str, tmp_path: Path) -> None:
    """The student package is self-contained: every set-up cell runs with only the distribution
    on the path (nothing imported from the course's own package)."""
    (nb,) = sorted((dist / "exercises" / assignment).glob("*.ipynb"))
    cells = json.loads(nb.read_text())["cells"]
    setup = next(c for c in cells if "setup" in c.get("metadata", {}).get("tags", []))
    script = tmp_path / "setup.py"
    source = "".join(setup["source"])
    script.write_text("import sys\n" + source + "\nimport autograder\nprint(autograder.__file__)\n")
    env = {**os.environ, "PYTHONPATH": str(dist), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-I", "-c",
                           f"import sys; sys.path.insert(0, {str(dist)!r}); "
                           f"exec(compile(open({str(script)!r}).read(), 'setup', 'exec'))"],
                          cwd=nb.parent, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith(str(dist)), proc.stdout


def test_readme_says_how_to_install_and_check(dist: Path) -> None:
    text = (dist / "README.md").read_text()
    assert "Restart Kernel and Run All Cells" in text and "Validate" in text
    assert "pip install -e ." in text
    for plugin in student_dist.INSTRUCTOR_PLUGINS:
        assert plugin in text  # how to install without the instructors' Formgrader and Create Assignment


def test_make_student_dist_cli(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "student_dist.py"), "--out", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "never the course repository" in proc.stdout
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "student_dist.py"), "--out", str(tmp_path / "other")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "not empty" in proc.stderr


# ---- the launch links -------------------------------------------------------------------------


def _config() -> dict:
    import yaml

    return yaml.safe_load((REPO / "_config.yml").read_text())


def test_launch_links_point_at_the_student_distribution_by_default() -> None:
    config = _config()
    launch = config["sphinx"]["config"]["exercise_repository_url"]
    course = config["repository"]["url"]
    assert launch and exercise_pages.solutions_problem(launch, course) is None
    assert launch.rstrip("/") != course.rstrip("/")
    assert exercise_pages.STUDENT_REPOSITORY == launch


def test_the_course_repository_is_refused_as_launch_repository(tmp_path: Path) -> None:
    course = _config()["repository"]["url"]
    assert "course repository" in exercise_pages.solutions_problem(course + ".git/", course)
    assert "solutions/" in exercise_pages.solutions_problem(str(REPO), "")
    assert "solutions/" in exercise_pages.solutions_problem(f"file://{REPO}", "")
    student = student_dist.build(tmp_path / "s")
    assert exercise_pages.solutions_problem(str(student), course) is None


def test_launch_link_printer_refuses_the_course_repository() -> None:
    course = _config()["repository"]["url"]
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "exercise_pages.py"), "--hub", "https://hub.x",
                           "--repo", course], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "solutions/" in proc.stderr
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "exercise_pages.py"), "--hub", "https://hub.x"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "rnn-course-student" in proc.stdout


def test_build_warns_when_the_launch_repository_holds_solutions(tmp_path: Path) -> None:
    """Sphinx with the course's extension and `exercise_repository_url` = the course repository:
    a warning, so that the strict build (-W) refuses it; the page links no repository."""
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    (src / "exercises" / "03_lstm").mkdir(parents=True)
    (released,) = sorted((REPO / "exercises" / "03_lstm").glob("*.ipynb"))
    (src / "exercises" / "03_lstm" / released.name).write_bytes(released.read_bytes())
    (src / "index.md").write_text("# Ex\n\n```{exercise-notebook} 03_lstm\n```\n")
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'tools')!r})\n"
        "extensions = ['myst_parser', 'exercise_pages']\n"
        "exercise_hub_url = 'https://hub.example.org'\n"
        f"exercise_repository_url = {str(REPO)!r}\n")
    import io

    warnings = io.StringIO()
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "html",
                 status=None, warning=warnings, freshenv=True)
    app.build()
    assert "holds solutions/" in warnings.getvalue()
    page = (tmp_path / "out" / "index.html").read_text()
    assert "git-pull" not in page and str(REPO) not in page


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_set_up_cell_without_the_package_says_what_to_install(dist: Path, assignment: str, tmp_path: Path) -> None:
    """Outside the course environment the set-up cell says what to install, not a bare
    "No module named 'autograder'"."""
    (nb,) = sorted((dist / "exercises" / assignment).glob("*.ipynb"))
    setup = next(c for c in json.loads(nb.read_text())["cells"]
                 if "setup" in c.get("metadata", {}).get("tags", []))
    (tmp_path / "setup.py").write_text("".join(setup["source"]))
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] == 'autograder':\n"
               "            raise ModuleNotFoundError(\"No module named 'autograder'\", name='autograder')\n"
               "sys.meta_path.insert(0, Block())\n"
               f"exec(compile(open({str(tmp_path / 'setup.py')!r}).read(), 'setup', 'exec'))\n")
    proc = subprocess.run([sys.executable, "-c", blocker], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: No module named 'autograder': ") and "pip install -e ." in last, last
