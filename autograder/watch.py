"""What the runner sees a notebook do, for the instructor: flags that inform and never grade.

Inside the sandbox (:mod:`autograder.runner`), a :class:`Watch` is started before the first cell.
After each cell, :meth:`Watch.after_cell` lists the visible signs of tampering since the previous
cell:

- a function or value of ``numpy``, ``numpy.testing``, ``numpy.random``, ``numpy.linalg``,
  ``builtins`` or of the course package (``autograder.*``, the checks and the runner included)
  replaced or deleted;
- IPython's exception handling replaced (``set_custom_exc``, ``sys.excepthook``, a method of the
  shell overridden on the instance) or the time limit's alarm handler replaced;
- a write attempted outside the job folder (files opened for writing, removed, renamed, created,
  whatever the outcome: in the sandbox such writes fail, the attempt is the sign). The private
  ``/tmp`` of the sandbox, ``/dev/null`` and the interpreter's own ``__pycache__`` do not count.

Writes are seen through a Python audit hook (PEP 578), which student code cannot remove; the rest
is a comparison with a snapshot taken before the first cell. A determined student can hide from
both (the flags are "visible signs", nothing more); none of this can earn points, because the
grader recomputes every answer itself (see :mod:`autograder.runner`).

On the grader's side, :func:`flags_from_log` turns the runner's cell log into flags: every cell that
raised (with the exception's type; ``MemoryError`` is "ran out of memory") and every sign above.
Timeouts are flagged by the grader itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

WATCHED = ("builtins", "numpy", "numpy.testing", "numpy.random", "numpy.linalg")
SHELL_HOOKS = ("showtraceback", "showsyntaxerror", "run_cell", "run_code", "run_ast_nodes", "_showtraceback",
               "set_custom_exc", "excepthook")
WRITE_EVENTS = {"os.remove", "os.unlink", "os.rmdir", "os.mkdir", "os.rename", "os.replace", "os.chmod",
                "os.chown", "os.symlink", "os.link", "os.truncate", "os.utime", "shutil.rmtree",
                "shutil.move", "shutil.copyfile", "shutil.copytree", "shutil.make_archive"}
IGNORED_PATHS = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")
MAX_WRITES = 5  # attempted writes named per cell


def _public(module: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


class Watch:
    """A snapshot of what student code must not change, and an audit hook for writes."""

    def __init__(self, shell: Any, job_dir: Path | str, alarm_handler: Any = None) -> None:
        import builtins  # noqa: F401 - watched below

        import numpy  # noqa: F401
        import numpy.linalg  # noqa: F401
        import numpy.random  # noqa: F401
        import numpy.testing  # noqa: F401

        import autograder.checks  # noqa: F401 - the students' checks, present before any cell

        self.shell = shell
        self.job_dir = os.path.realpath(job_dir)
        names = [*WATCHED, *sorted(m for m in sys.modules if m == "autograder" or m.startswith("autograder."))]
        self.modules = {name: sys.modules[name] for name in names if name in sys.modules}
        self.snapshot = {name: _public(mod) for name, mod in self.modules.items()}
        self.exc = (getattr(shell, "custom_exceptions", ()), getattr(shell, "CustomTB", None), sys.excepthook)
        self.shell_overrides = {k for k in vars(shell) if k in SHELL_HOOKS}
        self.alarm = alarm_handler if alarm_handler is not None else signal.getsignal(signal.SIGALRM)
        self.reported: set[str] = set()
        self.writes: list[str] = []
        self.write_count = 0
        sys.addaudithook(self._audit)

    # -- writes ------------------------------------------------------------------------------
    def _outside(self, path: Any) -> str | None:
        if isinstance(path, int):
            return None
        if isinstance(path, bytes):
            path = path.decode(errors="replace")
        path = os.path.abspath(os.fspath(path))
        if path.startswith(IGNORED_PATHS) or path == "/tmp" or path.startswith("/tmp/"):
            return None
        if "/__pycache__" in path:  # the interpreter caching bytecode of an import, not the student
            return None
        if path == self.job_dir or path.startswith(self.job_dir + os.sep):
            return None
        return path

    def _audit(self, event: str, args: tuple) -> None:
        try:
            if event == "open":
                path, mode, flags = (tuple(args) + (None, None, None))[:3]
                if isinstance(mode, str):
                    writing = any(c in mode for c in "wax+")
                else:
                    writing = bool((flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
                targets = [path] if writing else []
            elif event in WRITE_EVENTS:
                targets = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
                if event not in ("os.rename", "os.replace", "os.symlink", "os.link", "shutil.move",
                                 "shutil.copyfile", "shutil.copytree"):
                    targets = targets[:1]
            else:
                return
            for target in targets:
                outside = self._outside(target)
                if outside is not None:
                    self.write_count += 1
                    if len(self.writes) < MAX_WRITES:
                        self.writes.append(outside)
        except Exception:  # noqa: BLE001 - the hook must never break the student's code
            return

    # -- after each cell ----------------------------------------------------------------------
    def after_cell(self) -> list[str]:
        """New signs since the last call (each reported once)."""
        signs = []
        for name, module in self.modules.items():
            now = vars(module)
            for key, value in self.snapshot[name].items():
                if key not in now:
                    signs.append(f"{name}.{key} was deleted")
                elif now[key] is not value:
                    signs.append(f"{name}.{key} was replaced")
        custom, handler, hook = self.exc
        if getattr(self.shell, "custom_exceptions", ()) != custom or getattr(self.shell, "CustomTB", None) is not handler:
            signs.append("IPython's exception handler was replaced (set_custom_exc)")
        if sys.excepthook is not hook:
            signs.append("sys.excepthook was replaced")
        for key in sorted(set(vars(self.shell)) & set(SHELL_HOOKS) - self.shell_overrides):
            signs.append(f"the IPython shell's {key} was replaced")
        if signal.getsignal(signal.SIGALRM) is not self.alarm:
            signs.append("the handler of the time limit's alarm (SIGALRM) was replaced")
        if self.writes:
            more = self.write_count - len(self.writes)
            signs.append("attempted to write outside the job folder: " + ", ".join(self.writes)
                         + (f" (and {more} more)" if more > 0 else ""))
            self.writes, self.write_count = [], 0
        fresh = [s for s in signs if s not in self.reported or s.startswith("attempted to write")]
        self.reported.update(fresh)
        return fresh


# -- the grader's side --------------------------------------------------------------------------


def exception_type(error: str | None) -> str:
    """The exception's type from the runner's one-line error (``format_exception_only``)."""
    lines = [line for line in str(error or "").strip().splitlines() if line.strip()]
    if not lines:
        return "an exception"
    last = lines[-1].strip()
    head = last.split(":", 1)[0].strip()
    return head if head and " " not in head else last[:80]


def flags_from_log(path: Path) -> list[str]:
    """Flags from the runner's ``cells.jsonl``: cells that raised, and the signs of tampering."""
    flags: list[str] = []
    if not path.exists():
        return flags
    with path.open(errors="replace") as fh:
        text = fh.read(4 * 2**20)
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict):
            continue
        where = f"cell {entry['cell']}" if "cell" in entry else "after the last cell"
        if entry.get("status") == "error":
            kind = exception_type(entry.get("error"))
            if kind == "MemoryError":
                flags.append(f"{where} ran out of memory (MemoryError)")
            else:
                flags.append(f"{where} raised {kind}")
        for sign in entry.get("tamper") or []:
            flags.append(f"{where}: {sign}")
    seen: set[str] = set()
    return [f for f in flags if not (f in seen or seen.add(f))]
