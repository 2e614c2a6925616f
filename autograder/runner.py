"""Runs one submission inside the sandbox: ``python -m autograder.runner JOB_DIR``.

The job folder holds ``job.json`` (written by the grader): the cells to run in order (the locked
cells taken from the source notebook, the student's answer cells inserted) and, after each test
cell's position, the graded functions to record. For each of them the runner draws the spec's
random cases from the seed the grader chose, calls the student's function on them, and writes the
outputs (plain JSON + npz, see :mod:`autograder.serialize`) to ``JOB_DIR/out``. The runner never
sees a reference solution and decides nothing: the grader, in its own process, recomputes the
cases and compares. When a function calls other graded functions (``uses``), the runner records
those calls too, so that the grader can tell a correct composition of wrong parts from a wrong
composition.

Student code runs in this process, so nothing here is trusted by the grader: a student who patches
the runner can only change what is recorded, and recorded values earn points only when they equal
what the grader computes itself on inputs drawn from a seed chosen for this run.
"""

from __future__ import annotations

import inspect
import io
import json
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from . import serialize
from .checks import CheckFailed
from .oracle import SealedTable, StandIn
from .specs import get_spec

OUTPUT_CAP = 20_000  # characters of a cell's printed output kept for the feedback


class CellTimeout(BaseException):
    """Raised in the main thread when a cell runs past its time (BaseException: harder to swallow)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CellTimeout()


class CappedWriter(io.TextIOBase):
    """A stdout/stderr that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = OUTPUT_CAP) -> None:
        self.cap, self.parts, self.size = cap, [], 0

    def write(self, text: str) -> int:
        if self.size < self.cap:
            self.parts.append(text[: self.cap - self.size])
        self.size += len(text)
        return len(text)

    def value(self) -> str:
        text = "".join(self.parts)
        if self.size > self.cap:
            text += f"\n[... {self.size - self.cap} more characters of output dropped]"
        return text


class Tracer:
    """Wraps a function to record its calls (arguments by name, and output)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.calls: list[dict[str, Any]] = []
        try:
            self.signature = inspect.signature(fn.own if isinstance(fn, StandIn) else fn)
        except (TypeError, ValueError):
            self.signature = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.fn(*args, **kwargs)
        if len(self.calls) < 10_000:
            named: dict[str, Any]
            if self.signature is not None:
                try:
                    named = dict(self.signature.bind(*args, **kwargs).arguments)
                except TypeError:
                    named = {f"arg{k}": a for k, a in enumerate(args)} | kwargs
            else:
                named = {f"arg{k}": a for k, a in enumerate(args)} | kwargs
            self.calls.append({"args": named, "output": out})
        return out


def _with_timeout(seconds: float, fn: Any, *args: Any) -> Any:
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _missing_part(name: str, params: list[str], why: str) -> Any:
    """What a composite calls in place of a part the notebook does not define: it has the part's
    signature (so that the sealed reference answers are found) and, called off the reference's
    path, raises the reason the part is missing."""

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise NameError(why)

    missing.__name__ = missing.__qualname__ = name
    missing.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params])
    return missing


def not_defined_reason(name: str, cell_errors: dict[str, str] | None) -> str:
    error = (cell_errors or {}).get(name)
    if error:
        return f"`{name}` is not defined: its cell raised {error}"
    return f"`{name}` is not defined (was its cell deleted or renamed?)"


def record_function(assignment: str, name: str, seed: int, namespace: dict, out: Path,
                    timeout: float, oracle: Path | None = None, *,
                    signatures: dict[str, list[str]] | None = None,
                    cell_errors: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the student's ``name`` on the spec's cases; save outputs; return a short status.

    The functions it calls (``uses``) answer from the sealed table when called with the reference's
    arguments (see :mod:`autograder.oracle`), else run the student's own version; either way the
    calls are recorded.
    """
    spec = get_spec(assignment).functions[name]
    table = SealedTable.load(oracle) if oracle is not None and spec.uses else SealedTable()
    fn = namespace.get(name)
    record: dict[str, Any] = {"function": name, "seed": seed, "cases": []}
    started = time.perf_counter()
    if fn is None:
        record["error"] = not_defined_reason(name, cell_errors)
    else:
        try:
            cases = _with_timeout(timeout, spec.cases, np.random.default_rng(seed))
        except CellTimeout:
            cases, record["error"] = [], "the test inputs could not be generated in time"
        # Every part gets a stand-in, defined or not: a part whose cell raised (or was deleted)
        # must not cost the composite's points again.
        parts = {}
        for u in spec.uses:
            if callable(namespace.get(u)):
                parts[u] = namespace[u]
            elif signatures and u in signatures:
                parts[u] = _missing_part(u, signatures[u], not_defined_reason(u, cell_errors))
        absent = object()
        for inputs in cases:
            tracers = {u: Tracer(StandIn(u, own, table)) for u, own in parts.items()}
            saved = {u: namespace.get(u, absent) for u in tracers}
            namespace.update(tracers)
            try:
                got = _with_timeout(timeout, lambda kw=inputs, strict=not tracers: spec.call(fn, kw, strict_fp=strict))
                case = {"ok": True, "output": got,
                        "calls": {u: t.calls for u, t in tracers.items()}}
            except CheckFailed as exc:
                case = {"ok": False, "error": str(exc)}
            except CellTimeout:
                case = {"ok": False, "error": f"`{name}` ran for more than {timeout:.0f} s on one input"}
            finally:
                for u, value in saved.items():
                    if value is absent:
                        namespace.pop(u, None)
                    else:
                        namespace[u] = value
            record["cases"].append(case)
            if not case["ok"]:
                break
    record["seconds"] = time.perf_counter() - started
    serialize.save(out / name, record)
    return {"function": name, "seconds": record["seconds"],
            "ok": all(c["ok"] for c in record["cases"]) and "error" not in record}


def main(job_dir: str) -> int:
    job_path = Path(job_dir)
    job = json.loads((job_path / "job.json").read_text())
    out = job_path / "out"
    out.mkdir(exist_ok=True)
    log_path = out / "cells.jsonl"
    signal.signal(signal.SIGALRM, _on_alarm)

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(history_length=0)
    shell.history_manager.enabled = False
    namespace = shell.user_ns
    real_stdout, real_stderr = sys.stdout, sys.stderr
    timeout = float(job["cell_timeout"])
    from .watch import Watch  # visible signs of tampering, flagged for the instructor (never graded)

    watch = Watch(shell, job_path, _on_alarm)

    def log(entry: dict[str, Any]) -> None:
        with log_path.open("a") as fh:
            fh.write(json.dumps(entry) + "\n")

    cell_errors: dict[str, str] = {}
    for cell in job["cells"]:
        writer = CappedWriter()
        sys.stdout = sys.stderr = writer
        started = time.perf_counter()
        status, error = "ok", None
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            result = shell.run_cell(cell["source"], store_history=False, silent=False)
            signal.setitimer(signal.ITIMER_REAL, 0)
            exc = result.error_in_exec or result.error_before_exec
            if isinstance(exc, CellTimeout):
                status, error = "timeout", f"the cell ran for more than {timeout:.0f} s"
            elif exc is not None:
                status = "error"
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        except CellTimeout:
            status, error = "timeout", f"the cell ran for more than {timeout:.0f} s"
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from student code
            status, error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = real_stdout, real_stderr
        if error:
            cell_errors[cell["id"]] = error
        log({"cell": cell["id"], "status": status, "error": error,
             "seconds": time.perf_counter() - started, "output": writer.value(), "tamper": watch.after_cell()})
        for name in cell.get("record", []):
            try:
                entry = record_function(job["assignment"], name, int(job["seeds"][name]),
                                        namespace, out, timeout, job_path / "oracle" / f"{name}.npz",
                                        signatures=job.get("signatures"), cell_errors=cell_errors)
            except BaseException as exc:  # noqa: BLE001 - keep recording the other functions
                entry = {"function": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            log({"record": entry})
    log({"done": True, "tamper": watch.after_cell()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
