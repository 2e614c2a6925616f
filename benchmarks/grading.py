"""Benchmark: plain `nbgrader autograde` against `autograder grade` on the same synthetic class.

    .venv/bin/python benchmarks/grading.py --students 100 --assignment 03_lstm

Makes a scratch course with N submissions (a mix of correct, partly wrong and crashing notebooks,
built from the released notebook and the source's answer cells), grades it with both tools, and
prints both wall times, the throughput ratio and whether the scores agree. A benchmark, not a
test: it reports figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from autograder.reference import strip_solution_markers  # noqa: E402

BIN = Path(sys.executable).parent
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader calls `alembic`


def synthetic_class(course: Path, assignment: str, n: int) -> dict[str, str]:
    (source,) = (REPO / "solutions" / assignment).glob("*.ipynb")
    released = REPO / "exercises" / assignment / source.name
    src = nbformat.read(source, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
               for c in src.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    first = next(iter(answers))
    kinds = {}
    for k in range(n):
        kind = ["correct", "correct", "wrong", "crash"][k % 4]
        nb = nbformat.read(released, as_version=4)
        for cell in nb.cells:
            key = cell.metadata.get("nbgrader", {}).get("grade_id")
            if key in answers:
                cell.source = answers[key]
                if key == first and kind == "wrong":
                    cell.source = cell.source.replace("return", "return 0.5 *", 1)
                if key == first and kind == "crash":
                    cell.source = "import os\nos._exit(1)\n"
        student = f"s{k:03d}"
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / source.name)
        kinds[student] = kind
    return kinds


def run(cmd: list[str], cwd: Path) -> float:
    """Wall time of ``cmd``. Its exit code is not checked: nbgrader exits 1 when any notebook of
    the class failed to run (the crashing submissions), which is expected here."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--assignment", default="03_lstm")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        shutil.copy(REPO / "nbgrader_config.py", course)
        shutil.copytree(REPO / "solutions", course / "solutions")
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", args.assignment, "--force",
                        "--log-level=ERROR"], cwd=course, check=True)
        kinds = synthetic_class(course, args.assignment, args.students)
        print(f"{args.students} submissions of {args.assignment}: "
              + ", ".join(f"{k} {list(kinds.values()).count(k)}" for k in ("correct", "wrong", "crash")))
        t_nbgrader = run([str(BIN / "nbgrader"), "autograde", args.assignment, "--log-level=ERROR"], course)
        run([str(BIN / "nbgrader"), "export", "--to", "nbgrader.csv", "--log-level=ERROR"], course)
        t_ours = run([sys.executable, "-m", "autograder", "grade", args.assignment, "--course", str(course),
                      "--jobs", str(args.jobs), "--no-gradebook", "-q", "--out", str(course / "ours")], course)
        with (course / "nbgrader.csv").open() as fh:
            theirs = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
        with (course / "ours" / "grades.csv").open() as fh:
            ours = {r["student_id"]: float(r["autograded_total"]) for r in csv.DictReader(fh)}
        agree = sum(1 for s in ours if abs(ours[s] - theirs.get(s, -1)) < 1e-9)
        print(f"nbgrader autograde : {t_nbgrader:7.1f} s  ({args.students / t_nbgrader:5.2f} submissions/s)")
        print(f"autograder grade   : {t_ours:7.1f} s  ({args.students / t_ours:5.2f} submissions/s, "
              f"--jobs {args.jobs})")
        print(f"throughput ratio   : {t_nbgrader / t_ours:5.2f}x")
        print(f"identical scores   : {agree} of {len(ours)}"
              + ("" if agree == len(ours) else "  (nbgrader gives crashed notebooks a silent 0.0 too; "
                 "differences are listed in the two CSVs)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
