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
import contextlib
import difflib
import os
import secrets
import shutil
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from . import __version__
from .batch import AssignmentInfo, SubmissionResult, grade_many
from .reference import ReferenceUnavailable
from .sandbox import Limits, bwrap_available
from .submissions import PATTERNS_HELP, discover


def is_course(folder: Path) -> bool:
    return (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir()


def find_course(start: Path) -> Path:
    for folder in (start.resolve(), *start.resolve().parents):
        if is_course(folder):
            return folder
    raise SystemExit(f"autograder: no course folder (with nbgrader_config.py and solutions/) at or above "
                     f"{start}; pass --course")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a number of parallel jobs: give 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


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
    g.add_argument("--out", type=Path, default=None,
                   help="output folder (default: <course>/graded/<assignment> for nbgrader's submitted/ "
                        "tree, <course>/graded/<assignment>-<name> for --submissions <name>[.zip]); one "
                        "folder holds the grades of one source only")
    g.add_argument("--jobs", "-j", type=_positive_int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: all cores, %(default)s here)")
    g.add_argument("--cell-timeout", type=_positive_float, default=60.0, help="seconds per cell (default %(default)s)")
    g.add_argument("--timeout", type=_positive_float, default=600.0,
                   help="seconds for a whole submission (default %(default)s)")
    g.add_argument("--memory", type=_positive_int, default=3072, help="memory cap per submission in MB (default %(default)s)")
    g.add_argument("--sandbox", choices=["auto", "bwrap", "none"], default="auto",
                   help="isolation: bubblewrap (auto: required unless 'none', which is for trusted notebooks only)")
    g.add_argument("--seed", type=int, default=None,
                   help="base seed of the random test inputs (default: fresh; it is recorded in the results)")
    g.add_argument("--regrade", action="store_true", help="grade everything again, ignoring saved results")
    g.add_argument("--no-gradebook", action="store_true",
                   help="do not write nbgrader's gradebook.db (it is written only for the course's own "
                        "submitted/ tree, never for --submissions from elsewhere)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    g.add_argument("--canvas-assignment", default=None, metavar="'TITLE (ID)'",
                   help="the Canvas assignment of canvas_grades.csv, e.g. 'LSTM (4821)' or its id "
                        "(default: the assignment's folder name, which Canvas matches by title)")
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"autograder: {message}", file=sys.stderr)
    return code


def _check_assignment(course: Path, assignment: str) -> str | None:
    available = sorted(p.name for p in (course / "solutions").iterdir()
                       if p.is_dir() and not p.name.startswith("."))
    if assignment in available:
        return None
    close = difflib.get_close_matches(assignment, available, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"no assignment {assignment}{hint}; available: {', '.join(available) or 'none'}"


def _source_of(course: Path, submissions: Path | None) -> tuple[str, bool]:
    """What is graded (recorded in the output folder) and whether it is the course's submitted/ tree."""
    if submissions is None:
        return f"nbgrader submitted/ of {course}", True
    path = submissions.resolve()
    if path.is_dir() and (path == course / "submitted" or path == course):
        return f"nbgrader submitted/ of {course}", True
    return str(path), False


def _default_out(course: Path, assignment: str, submissions: Path | None, own_tree: bool) -> Path:
    if own_tree or submissions is None:
        return course / "graded" / assignment
    name = submissions.name.removesuffix(".zip") or "submissions"
    return course / "graded" / f"{assignment}-{_safe(name)}"


def _timestamp(course: Path, student: str, assignment: str) -> str | None:
    path = course / "submitted" / student / assignment / "timestamp.txt"
    return path.read_text().strip() or None if path.is_file() else None


def cmd_grade(args: argparse.Namespace) -> int:
    # nbgrader's gradebook runs `alembic` from the environment's bin folder.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    if args.course is not None:
        course = args.course.resolve()
        if not is_course(course):
            return _fail(f"{args.course} is not a course folder: it needs nbgrader_config.py and solutions/ "
                         "(the folder you run nbgrader from)", 2)
    else:
        course = find_course(Path.cwd()).resolve()
    problem = _check_assignment(course, args.assignment)
    if problem:
        return _fail(problem, 2)
    if args.submissions is not None:
        if not args.submissions.exists():
            return _fail(f"--submissions {args.submissions}: no such file or folder")
        if args.submissions.is_file() and not zipfile.is_zipfile(args.submissions):
            return _fail(f"--submissions {args.submissions} is not a zip archive (a file that ends in .zip "
                         "but cannot be opened as one: an interrupted download?); give a .zip or a folder")
    try:
        info = AssignmentInfo.load(course, args.assignment)
    except (ReferenceUnavailable, KeyError, ValueError) as exc:
        return _fail(str(exc))
    sandbox = args.sandbox
    if sandbox in ("auto", "bwrap"):
        if not bwrap_available():
            return _fail("bubblewrap (bwrap) is not available, so submissions cannot be isolated. "
                         "Install it (Debian/Ubuntu: apt-get install bubblewrap), or pass --sandbox none to "
                         "run trusted notebooks without isolation.")
        sandbox = "bwrap"
    else:
        print("autograder: WARNING: --sandbox none runs student code with your rights; use it only for "
              "trusted notebooks", file=sys.stderr)
    source, own_tree = _source_of(course, args.submissions)
    out = (args.out or _default_out(course, args.assignment, args.submissions, own_tree)).resolve()
    marker = out / "source.txt"
    if marker.is_file() and marker.read_text().strip() != source and not args.regrade:
        return _fail(f"{out} holds the grades of {marker.read_text().strip()}, not of {source}: one output "
                     "folder never mixes two sources. Pass --out <another folder> for these submissions "
                     "(or --regrade to replace the grades there)")
    use_gradebook = own_tree and not args.no_gradebook

    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        try:
            rows = discover(course, args.assignment, info.notebook, args.submissions, Path(scratch))
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            return _fail(str(exc))
        if not rows:
            where = (f"{course / 'submitted'}/*/{args.assignment}/ (run `nbgrader collect {args.assignment}` "
                     "first, or pass --submissions)" if args.submissions is None or own_tree
                     else f"{args.submissions} (it holds no notebook)")
            return _fail(f"no submission of {args.assignment} found in {where}; nothing was written")
        if marker.is_file() and marker.read_text().strip() != source:  # --regrade over another source
            shutil.rmtree(out / "results", ignore_errors=True)
        (out / "results").mkdir(parents=True, exist_ok=True)
        (out / "feedback").mkdir(exist_ok=True)
        _atomic_write(marker, source + "\n")
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
        if args.seed is not None:
            base_seed, seed_note = args.seed, f"seed {args.seed}"
        elif results:  # a resumed run draws the same random inputs as the run it continues
            base_seed = Counter(r.seed for r in results.values()).most_common(1)[0][0]
            seed_note = f"seed {base_seed}, that of the earlier run"
        else:
            base_seed = secrets.randbits(62)
            seed_note = f"fresh seed {base_seed}"
        if todo:
            print(f"autograder: {args.assignment}: {len(rows)} submissions from {source}, {len(results)} already "
                  f"graded, {len(todo)} to grade with {args.jobs} jobs (sandbox: {sandbox}, {seed_note})",
                  file=sys.stderr)
        else:
            print(f"autograder: {args.assignment}: all {len(rows)} submissions from {source} are already graded "
                  "(0 to grade); the outputs are written again. Pass --regrade to grade them again.",
                  file=sys.stderr)
        if not use_gradebook and not args.no_gradebook:
            print("autograder: nbgrader's gradebook is not updated: these submissions are not nbgrader's "
                  "submitted/ tree of this course (the CSV files are the grades)", file=sys.stderr)
        writer = None
        stamps = {row.student: _timestamp(course, row.student, args.assignment) for row in rows} if own_tree else {}
        if use_gradebook:
            from .gradebook import GradebookWriter

            writer = GradebookWriter(course, info)
            for r in results.values():
                writer.record(r, stamps.get(r.student))
        from tqdm import tqdm

        started = time.perf_counter()
        bar = tqdm(total=len(todo), unit="submission", disable=args.quiet or not todo, dynamic_ncols=True)
        graded_now = 0

        def on_result(r: SubmissionResult) -> None:
            nonlocal graded_now
            results[r.student] = r
            _atomic_write(out / "results" / f"{_safe(r.student)}.json", r.to_json())
            if writer is not None:
                writer.record(r, stamps.get(r.student))
            graded_now += 1
            bar.set_postfix_str(f"{r.student}: {r.status} {r.score:g}/{r.max_score:g}", refresh=False)
            bar.update()

        try:
            grade_many(info, todo, jobs=args.jobs, on_result=on_result, course=course,
                       limits=Limits(wall_seconds=args.timeout, memory_mb=args.memory), sandbox=sandbox,
                       base_seed=base_seed, cell_timeout=args.cell_timeout)
        except KeyboardInterrupt:
            interrupted = True
        else:
            interrupted = False
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        if interrupted:
            print(f"\nautograder: interrupted: {graded_now} graded and saved "
                  f"({len(results)} of {len(rows)} in all); re-run the same command to resume", file=sys.stderr)
            return 130
        elapsed = time.perf_counter() - started

    from .report import class_report_html, feedback_html, write_csvs

    final = sorted(results.values(), key=lambda r: r.student)
    wide, long = write_csvs(info, final, out)
    from .lms import write_lms_files
    from .similarity import write_similarity

    write_lms_files(info, final, rows, out, canvas_assignment=args.canvas_assignment)  # Canvas, Moodle
    write_similarity(info, final, out)  # similarity.csv; report.html shows the top pairs
    released, not_released = 0, []
    for r in final:
        page = feedback_html(info, r)
        _atomic_write(out / "feedback" / f"{_safe(r.student)}.html", page)
        if r.student.startswith("unmatched:") or not own_tree:
            continue
        if _nbgrader_feedback(course, args.assignment, info.notebook, r.student, page):
            released += 1
        else:
            not_released.append(r.student)
    _atomic_write(out / "report.html", class_report_html(info, final, elapsed))
    counts: dict[str, int] = {}
    for r in final:
        counts[r.status] = counts.get(r.status, 0) + 1
    print(f"autograder: graded {len(todo)} in {elapsed:.1f} s; statuses: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)
    print(f"autograder: wrote {wide}, {long}, {out / 'report.html'} and {len(final)} feedback pages",
          file=sys.stderr)
    if own_tree:
        print(f"autograder: {released} feedback folders ready for `nbgrader release_feedback {args.assignment}`"
              + (f"; not for {', '.join(not_released)}: not collected by nbgrader (no timestamp.txt and "
                 f"submission_secret.txt), give them {out / 'feedback'}/<student>.html" if not_released else ""),
              file=sys.stderr)
    return 0


def _nbgrader_feedback(course: Path, assignment: str, notebook: str, student: str, page: str) -> bool:
    """Write ``feedback/<student>/<assignment>/`` for `nbgrader release_feedback`, complete (the page,
    the submission's timestamp and secret) or not at all: a folder without them stops
    release_feedback for the whole class. Returns whether it was written."""
    submitted = course / "submitted" / student / assignment
    folder = course / "feedback" / student / assignment
    needed = ("timestamp.txt", "submission_secret.txt")
    if all((submitted / name).is_file() for name in needed):
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / f"{Path(notebook).stem}.html", page)
        for name in needed:
            shutil.copy2(submitted / name, folder / name)
        return True
    if folder.is_dir() and not all((folder / name).is_file() for name in needed):
        (folder / f"{Path(notebook).stem}.html").unlink(missing_ok=True)  # left by an earlier version
        with contextlib.suppress(OSError):
            folder.rmdir()
            folder.parent.rmdir()
    return False


def _safe(student: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in student)


def _digest(path: Path | None) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None and path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "grade":
            return cmd_grade(args)
    except KeyboardInterrupt:
        print("\nautograder: interrupted; what was graded is saved: re-run the same command to resume",
              file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
