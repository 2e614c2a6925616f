"""``autograder``: grade a whole class with one command.

    autograder grade 03_lstm                       # nbgrader's submitted/ tree of this course
    autograder grade 03_lstm --submissions dl.zip  # a zip or folder downloaded from an LMS
    autograder grade 03_lstm --jobs 8 --seed 7     # parallelism; reproducible random inputs

Outputs (in ``graded/<assignment>/`` unless ``--out``): ``grades.csv`` (one row per student, one
column per graded part, ready for an LMS import), ``grades_long.csv``, ``report.html`` (class report
with plots), ``feedback/<student>.html``; nbgrader's gradebook is updated and each student's
feedback is also written to ``feedback/<student>/<assignment>/`` for ``nbgrader release_feedback``.
Interrupted, it resumes: re-run the same command and only the missing submissions are graded.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import __version__
from .grader import AssignmentInfo, SubmissionResult, grade_many
from .reference import ReferenceUnavailable
from .sandbox import Limits, bwrap_available
from .submissions import PATTERNS_HELP, discover


def find_course(start: Path) -> Path:
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    raise SystemExit(f"autograder: no course folder (with nbgrader_config.py and solutions/) at or above "
                     f"{start}; pass --course")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade every submission of an assignment",
                       description="Grade every submission of ASSIGNMENT in parallel, each in a sandbox. "
                                   "Submission file names: " + PATTERNS_HELP)
    g.add_argument("assignment", help="assignment folder name under solutions/, e.g. 03_lstm")
    g.add_argument("--course", type=Path, default=None,
                   help="course folder (holds nbgrader_config.py and solutions/); default: found from cwd")
    g.add_argument("--submissions", type=Path, default=None,
                   help="a folder or .zip of notebooks from an LMS, or an nbgrader submitted/ tree "
                        "(default: <course>/submitted)")
    g.add_argument("--out", type=Path, default=None, help="output folder (default: <course>/graded/<assignment>)")
    g.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: all cores, %(default)s here)")
    g.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per cell (default %(default)s)")
    g.add_argument("--timeout", type=float, default=600.0,
                   help="seconds for a whole submission (default %(default)s)")
    g.add_argument("--memory", type=int, default=3072, help="memory cap per submission in MB (default %(default)s)")
    g.add_argument("--sandbox", choices=["auto", "bwrap", "none"], default="auto",
                   help="isolation: bubblewrap (auto: required unless 'none', which is for trusted notebooks only)")
    g.add_argument("--seed", type=int, default=None,
                   help="base seed of the random test inputs (default: fresh; it is recorded in the results)")
    g.add_argument("--regrade", action="store_true", help="grade everything again, ignoring saved results")
    g.add_argument("--no-gradebook", action="store_true", help="do not write nbgrader's gradebook.db")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return parser


def cmd_grade(args: argparse.Namespace) -> int:
    # nbgrader's gradebook runs `alembic` from the environment's bin folder.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    course = (args.course or find_course(Path.cwd())).resolve()
    try:
        info = AssignmentInfo.load(course, args.assignment)
    except (ReferenceUnavailable, KeyError, ValueError) as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 1
    sandbox = args.sandbox
    if sandbox in ("auto", "bwrap"):
        if not bwrap_available():
            print("autograder: bubblewrap (bwrap) is not available, so submissions cannot be isolated. "
                  "Install it (Debian/Ubuntu: apt-get install bubblewrap), or pass --sandbox none to run "
                  "trusted notebooks without isolation.", file=sys.stderr)
            return 1
        sandbox = "bwrap"
    else:
        print("autograder: WARNING: --sandbox none runs student code with your rights; use it only for "
              "trusted notebooks", file=sys.stderr)
    out = (args.out or course / "graded" / args.assignment).resolve()
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    base_seed = args.seed if args.seed is not None else secrets.randbits(62)

    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        try:
            rows = discover(course, args.assignment, info.notebook, args.submissions, Path(scratch))
        except (ValueError, OSError) as exc:
            print(f"autograder: {exc}", file=sys.stderr)
            return 1
        results: dict[str, SubmissionResult] = {}
        todo = []
        for row in rows:
            cached = out / "results" / f"{_safe(row.student)}.json"
            if cached.exists() and not args.regrade:
                try:
                    old = SubmissionResult.from_json(cached.read_text())
                except (ValueError, TypeError, KeyError):
                    old = None
                digest = _digest(row.path)
                if old and old.status != "error" and old.digest == digest and old.source_digest == info.digest:
                    results[row.student] = old
                    continue
            todo.append(row)
        print(f"autograder: {args.assignment}: {len(rows)} submissions, {len(results)} already graded, "
              f"{len(todo)} to grade with {args.jobs} jobs (sandbox: {sandbox}, seed {base_seed})",
              file=sys.stderr)
        writer = None
        if not args.no_gradebook:
            from .gradebook import GradebookWriter

            writer = GradebookWriter(course, info)
            for r in results.values():
                writer.record(r)
        from tqdm import tqdm

        started = time.perf_counter()
        bar = tqdm(total=len(todo), unit="submission", disable=args.quiet or not todo, dynamic_ncols=True)

        def on_result(r: SubmissionResult) -> None:
            results[r.student] = r
            _atomic_write(out / "results" / f"{_safe(r.student)}.json", r.to_json())
            if writer is not None:
                writer.record(r)
            bar.set_postfix_str(f"{r.student}: {r.status} {r.score:g}/{r.max_score:g}", refresh=False)
            bar.update()

        try:
            grade_many(info, todo, jobs=args.jobs, on_result=on_result, course=course,
                       limits=Limits(wall_seconds=args.timeout, memory_mb=args.memory), sandbox=sandbox,
                       base_seed=base_seed, cell_timeout=args.cell_timeout)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        elapsed = time.perf_counter() - started

    from .report import class_report_html, feedback_html, write_csvs

    final = sorted(results.values(), key=lambda r: r.student)
    wide, long = write_csvs(info, final, out)
    for r in final:
        page = feedback_html(info, r)
        _atomic_write(out / "feedback" / f"{_safe(r.student)}.html", page)
        if not r.student.startswith("unmatched:"):
            nb_folder = course / "feedback" / r.student / args.assignment
            nb_folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(nb_folder / f"{Path(info.notebook).stem}.html", page)
            # `nbgrader release_feedback` needs the submission's timestamp and secret beside the page.
            submitted = course / "submitted" / r.student / args.assignment
            for name in ("timestamp.txt", "submission_secret.txt"):
                if (submitted / name).is_file():
                    shutil.copy2(submitted / name, nb_folder / name)
    _atomic_write(out / "report.html", class_report_html(info, final, elapsed))
    counts: dict[str, int] = {}
    for r in final:
        counts[r.status] = counts.get(r.status, 0) + 1
    print(f"autograder: graded {len(todo)} in {elapsed:.1f} s; statuses: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)
    print(f"autograder: wrote {wide}, {long}, {out / 'report.html'} and {len(final)} feedback pages",
          file=sys.stderr)
    return 0


def _safe(student: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in student)


def _digest(path: Path | None) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None and path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "grade":
        return cmd_grade(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
