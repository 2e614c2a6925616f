"""Grade a batch of submissions, a whole class: each one in its own sandbox, many in parallel.

This is what ``autograder grade`` (:mod:`autograder.cli`) runs; the comparison with the reference
itself is in :mod:`autograder.hidden_tests`. For each submission the grader:

1. reads the student's notebook (a missing, oversized or corrupt file gets a row and a reason);
2. rebuilds the notebook to run from the *source* notebook: the locked cells and the test cells
   come from ``solutions/`` (edits to them are ignored and flagged), the student's answer cells
   (and any cells they added) are inserted by their nbgrader ids; hidden tests are never sent;
3. runs it in the sandbox (:mod:`autograder.sandbox`, :mod:`autograder.runner`), which records
   the student's functions' outputs on random inputs drawn from a seed chosen here;
4. compares those outputs, in this process, with the reference cells of the source notebook
   (:func:`autograder.hidden_tests.grade_recording`), naming known mistakes;
5. gives each test cell its points when every function it tests is right.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from . import __version__, serialize
from .hidden_tests import Outcome, grade_recording
from .oracle import SealedTable, trace_reference
from .reference import load_reference, source_notebook
from .sandbox import Limits, run_job
from .specs import get_spec
from .submissions import Submission

MAX_NOTEBOOK_BYTES = 20 * 2**20
HIDDEN_CHECK = re.compile(r"""hidden_check\(\s*["']([^"']+)["']\s*,\s*["']([^"']+)["']""")
_CASES_LOCK = threading.Lock()  # case generators may seed torch's global generator: one at a time


@dataclass
class TestCell:
    grade_id: str
    points: float
    functions: list[str]
    bonus: bool = False  # extra credit: not in the maximum


@dataclass
class AssignmentInfo:
    """What the source notebook says about grading: the test cells, their points and functions."""

    name: str
    source: Path
    notebook: str
    tests: list[TestCell]
    manual: dict[str, float]
    nb: Any
    digest: str

    @property
    def max_autograded(self) -> float:
        """The autograded maximum, without the bonus parts (extra credit)."""
        return float(sum(t.points for t in self.tests if not t.bonus))

    @property
    def max_bonus(self) -> float:
        return float(sum(t.points for t in self.tests if t.bonus))

    @classmethod
    def load(cls, course: Path, assignment: str) -> AssignmentInfo:
        path = source_notebook(assignment, course)
        nb = nbformat.read(path, as_version=4)
        tests, manual = [], {}
        spec = get_spec(assignment)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            if meta.get("solution"):
                manual[meta["grade_id"]] = float(meta.get("points", 0))
                continue
            functions = [fn for a, fn in HIDDEN_CHECK.findall(cell.source) if a == assignment]
            unknown = [fn for fn in functions if fn not in spec.functions]
            if not functions and not unknown and float(meta.get("points", 0)) == 0:
                # a 0-point test cell: visible checks only (a composite's, run with the student's
                # own parts), so that Validate fails on them; they earn nothing and are not graded
                continue
            if not functions or unknown:
                raise ValueError(
                    f"test cell {meta['grade_id']} of {path.name} has no hidden_check for a function "
                    f"of the {assignment} spec (found {functions}); every autograded cell needs one"
                )
            bonus = all(spec.functions[fn].bonus for fn in functions)
            tests.append(TestCell(meta["grade_id"], float(meta.get("points", 0)), functions, bonus))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return cls(assignment, path, path.name, tests, manual, nb, digest)


@dataclass
class PartResult:
    part: str
    functions: list[str]
    points: float
    max_points: float
    passed: bool
    message: str
    diagnosis: str | None = None


@dataclass
class SubmissionResult:
    """Everything the reports need about one student's submission (plain data, JSON-able)."""

    student: str
    assignment: str
    status: str  # graded | crashed | timeout | missing | corrupt | rejected | error
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    parts: list[PartResult] = field(default_factory=list)
    manual: dict[str, str] = field(default_factory=dict)
    code: dict[str, str] = field(default_factory=dict)
    cells: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seed: int = 0
    digest: str = ""
    source_digest: str = ""
    version: str = __version__

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> SubmissionResult:
        data = json.loads(text)
        data["parts"] = [PartResult(**p) for p in data.get("parts", [])]
        return cls(**data)


def function_seed(base_seed: int, student: str, function: str) -> int:
    digest = hashlib.sha256(f"{base_seed}:{student}:{function}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _cell_key(cell: Any) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def build_job(info: AssignmentInfo, student_nb: Any, seeds: dict[str, int], cell_timeout: float
              ) -> tuple[dict[str, Any], dict[str, str], dict[str, str], list[str]]:
    """The cells to run (source cells + the student's answers), the student's code and answers,
    and flags (edited or missing cells)."""
    theirs: dict[str, Any] = {}
    added_after: dict[str | None, list[str]] = {}
    last_known: str | None = None
    for cell in student_nb.cells:
        key = _cell_key(cell)
        if key:
            theirs.setdefault(key, cell)
            last_known = key
        elif cell.cell_type == "code" and cell.source.strip():
            added_after.setdefault(last_known, []).append(cell.source)
    cells, code, answers, flags = [], {}, {}, []
    for cell in info.nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        key = meta.get("grade_id")
        entry: dict[str, Any] | None = None
        if cell.cell_type == "code":
            if meta.get("solution"):
                mine = theirs.get(key)
                if mine is None or mine.cell_type != "code":
                    flags.append(f"answer cell {key} is missing from the notebook")
                    source = ""
                else:
                    source = mine.source
                code[key] = source
                entry = {"id": key, "source": source}
            elif meta.get("grade"):
                mine = theirs.get(key)
                if mine is None:
                    flags.append(f"test cell {key} was deleted (tests always run from the source notebook)")
                elif mine.source.strip() != _visible_part(cell.source).strip():
                    flags.append(f"test cell {key} was edited (tests always run from the source notebook)")
                functions = [fn for a, fn in HIDDEN_CHECK.findall(cell.source) if a == info.name]
                entry = {"id": key, "source": "", "record": functions}
            else:
                entry = {"id": key or f"cell-{len(cells)}", "source": cell.source}
        elif meta.get("solution") and meta.get("grade"):
            mine = theirs.get(key)
            answers[key] = mine.source if mine is not None else ""
        if entry is not None:
            cells.append(entry)
        for k, extra in enumerate(added_after.get(key, []) if key else []):
            cells.append({"id": f"{key}+added{k}", "source": extra})
            code[f"{key}+added{k}"] = extra
    for k, extra in enumerate(added_after.get(None, [])):
        cells.insert(k, {"id": f"added{k}", "source": extra})
    job = {"assignment": info.name, "cells": cells, "seeds": seeds, "cell_timeout": cell_timeout}
    foreign = _foreign_notebook(info, set(theirs))
    if foreign:  # one flag, not one per missing cell
        flags = [foreign]
    return job, code, answers, flags


def _graded_ids(nb: Any) -> set[str]:
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")
            and (c.metadata["nbgrader"].get("solution") or c.metadata["nbgrader"].get("grade"))}


def _foreign_notebook(info: AssignmentInfo, theirs: set[str]) -> str | None:
    """A flag when the notebook is not one of this assignment (another assignment's, or none)."""
    present = len(_graded_ids(info.nb) & theirs)
    best, best_overlap = None, present
    for other in sorted(info.source.parent.parent.glob("*/*.ipynb")):
        if other.parent.name == info.name:
            continue
        try:
            overlap = len(_graded_ids(nbformat.read(other, as_version=4)) & theirs)
        except Exception:  # noqa: BLE001 - an unreadable sibling is simply not a candidate
            continue
        if overlap > best_overlap:
            best, best_overlap = other.parent.name, overlap
    if best is not None:
        return f"no cells of {info.name} found: is this {best}? (its answers were not graded)"
    if not present:
        return f"no cells of {info.name} found: is this the notebook of {info.name}?"
    return None


class CasesOf:
    """The random cases of each function for one submission, drawn once from its seed and shared
    by the sealing of reference parts and the grading (the cases are never modified: both work on
    deep copies)."""

    def __init__(self, spec: Any, seeds: dict[str, int]) -> None:
        self.spec, self.seeds, self.drawn = spec, seeds, {}

    def __call__(self, name: str) -> list[dict[str, Any]]:
        if name not in self.drawn:
            with _CASES_LOCK:  # case generators may seed torch's global generator: one at a time
                self.drawn[name] = self.spec.functions[name].cases(np.random.default_rng(self.seeds[name]))
        return self.drawn[name]


def seal_reference_parts(spec: Any, ref: Any, cases_of: CasesOf, folder: Path) -> None:
    """For each function that calls graded parts, seal the reference parts' answers along the
    reference's own calls on this submission's test inputs (see :mod:`autograder.oracle`)."""
    folder.mkdir(exist_ok=True)
    for name in cases_of.seeds:
        fspec = spec.functions[name]
        if not fspec.uses:
            continue
        table = SealedTable()
        parts = {u: getattr(ref, u) for u in fspec.uses}
        for inputs in cases_of(name):
            try:
                trace_reference(getattr(ref, name), parts, inputs, table)
            except Exception:  # noqa: BLE001 - a case the reference cannot trace gets no sealed answers
                continue
        table.save(folder / f"{name}.npz")


def _visible_part(source: str) -> str:
    """A test cell as students receive it: the hidden block removed."""
    return re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", source, flags=re.S)


def _read_cell_log(path: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], bool]:
    cells, records, done = [], {}, False
    if not path.exists():
        return cells, records, done
    with path.open(errors="replace") as fh:
        for line in fh.read(4 * 2**20).splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "cell" in entry:
                entry["output"] = str(entry.get("output", ""))[-4000:]
                cells.append(entry)
            elif "record" in entry and isinstance(entry["record"], dict):
                records[str(entry["record"].get("function"))] = entry["record"]
            elif entry.get("done"):
                done = True
    return cells, records, done


def grade_submission(
    info: AssignmentInfo,
    submission: Submission,
    *,
    course: Path,
    limits: Limits,
    sandbox: str,
    base_seed: int,
    cell_timeout: float,
    keep_jobs: Path | None = None,
) -> SubmissionResult:
    started = time.perf_counter()
    result = SubmissionResult(submission.student, info.name, "graded", max_score=info.max_autograded,
                              seed=base_seed, source_digest=info.digest)
    result.parts = [PartResult(t.grade_id, t.functions, 0.0, t.points, False, "not graded")
                    for t in info.tests]

    def give_up(status: str, reason: str) -> SubmissionResult:
        result.status, result.reason = status, reason
        for part in result.parts:
            part.message = reason
        result.seconds = time.perf_counter() - started
        return result

    if submission.path is None:
        status = "rejected" if submission.student.startswith("unmatched:") else "missing"
        return give_up(status, submission.problem or "no notebook submitted")
    raw = submission.path.read_bytes()
    result.digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return give_up("corrupt", f"the notebook is {len(raw) / 2**20:.0f} MB (limit {MAX_NOTEBOOK_BYTES // 2**20} MB)")
    try:
        student_nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a corrupt submission
        return give_up("corrupt", f"the notebook cannot be read: {type(exc).__name__}: {str(exc)[:200]}")

    seeds = {fn: function_seed(base_seed, submission.student, fn) for t in info.tests for fn in t.functions}
    job, result.code, result.manual, result.flags = build_job(info, student_nb, seeds, cell_timeout)
    job_dir = Path(tempfile.mkdtemp(prefix=f"grade-{info.name}-"))
    try:
        ref = load_reference(info.name, course)
        spec = get_spec(info.name)
        # the parts' signatures, so that a part the notebook lacks still gets its stand-in
        job["signatures"] = {u: list(inspect.signature(getattr(ref, u)).parameters)
                             for fn in seeds for u in spec.functions[fn].uses if callable(getattr(ref, u, None))}
        (job_dir / "job.json").write_text(json.dumps(job))
        (job_dir / "out").mkdir()
        cases_of = CasesOf(spec, seeds)
        seal_reference_parts(spec, ref, cases_of, job_dir / "oracle")
        run = run_job(job_dir, limits, sandbox)
        cells, records, done = _read_cell_log(job_dir / "out" / "cells.jsonl")
        result.cells = cells
        from .watch import flags_from_log  # cells that raised, signs of tampering: flags, not points

        result.flags.extend(flags_from_log(job_dir / "out" / "cells.jsonl"))
        printed = sum(len(c.get("output", "")) for c in cells)
        for c in cells:
            if "more characters of output dropped" in c.get("output", ""):
                result.flags.append(f"cell {c['cell']} printed more than the output cap")
            if c["status"] == "timeout":
                result.flags.append(f"cell {c['cell']} ran past the {cell_timeout:.0f} s cell limit")
        if run.timed_out:
            result.status = "timeout"
            result.reason = f"the notebook ran past the {limits.wall_seconds:.0f} s limit and was stopped"
            result.flags.append(result.reason)
        elif not done:
            order = [c["id"] for c in job["cells"]]
            ran = len(cells)
            where = f"while running cell {order[ran]}" if ran < len(order) else "after the last cell"
            result.status = "crashed"
            result.reason = (f"the notebook's process ended {where} "
                             f"(exit code {run.returncode}); later parts were not graded")
            result.flags.append(result.reason)
        outcomes: dict[str, Outcome] = {}
        for fn in seeds:
            path = job_dir / "out" / fn
            entry = records.get(fn)
            if entry is not None and entry.get("error"):
                outcomes[fn] = Outcome(fn, False, f"`{fn}` could not be tested: {entry['error']}")
                continue
            if not path.with_suffix(".json").exists() or entry is None:
                outcomes[fn] = Outcome(fn, False, result.reason or f"`{fn}` was never tested (the run stopped before it)")
                continue
            try:
                record = serialize.load(path)
            except Exception as exc:  # noqa: BLE001 - whatever the sandbox wrote is untrusted
                outcomes[fn] = Outcome(fn, False, f"the recorded output could not be read ({exc})")
                result.flags.append(f"unreadable record for {fn}")
                continue
            if not isinstance(record, dict) or record.get("seed") != seeds[fn] or record.get("function") != fn:
                outcomes[fn] = Outcome(fn, False, "the recorded output was tampered with")
                result.flags.append(f"tampered record for {fn}")
                continue
            outcomes[fn] = grade_recording(spec.functions[fn], ref, record, cases=cases_of(fn))
            if "ran for more than" in outcomes[fn].message:
                result.flags.append(f"`{fn}` ran past the {cell_timeout:.0f} s limit on one input")
        for part, test in zip(result.parts, info.tests, strict=True):
            outs = [outcomes[fn] for fn in test.functions]
            part.passed = all(o.passed for o in outs)
            part.points = test.points if part.passed else 0.0
            part.message = " ".join(o.message for o in outs)
            part.diagnosis = next((o.diagnosis for o in outs if o.diagnosis), None)
            if part.diagnosis is None and "overflowed or produced an invalid value" in part.message:
                part.diagnosis = "overflow: a numerically unstable formula (np.exp of a large number)"
        result.score = float(sum(p.points for p in result.parts))
        if printed > 10 * 2**20:
            result.flags.append("printed more than 10 MB")
    except Exception as exc:  # noqa: BLE001 - a grader failure must not stop the batch
        return give_up("error", f"the grader failed on this submission: {type(exc).__name__}: {exc}")
    finally:
        if keep_jobs is not None:
            shutil.copytree(job_dir, keep_jobs / submission.student, dirs_exist_ok=True)
        shutil.rmtree(job_dir, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


def grade_many(
    info: AssignmentInfo,
    submissions: Iterable[Submission],
    *,
    jobs: int,
    on_result: Callable[[SubmissionResult], None],
    **kwargs: Any,
) -> None:
    """Grade in parallel (threads; each submission runs in its own sandboxed process).

    On ``KeyboardInterrupt`` the running sandboxes are killed at once, the submissions not yet
    started are dropped, and the interruption is raised again once the threads have ended; the
    results of the interrupted submissions are not passed to ``on_result`` (they would read as
    crashes), so a re-run grades them.
    """
    from .sandbox import resume_starting, stop_all

    resume_starting()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(grade_submission, info, s, **kwargs): s for s in submissions}
        for future in as_completed(futures):
            on_result(future.result())
    except KeyboardInterrupt:
        stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
