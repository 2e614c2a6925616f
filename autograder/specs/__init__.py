"""Grading specs, one module per assignment: random cases, known mistakes, fair substitutions.

A spec module says which assignment it grades, ``ASSIGNMENT = "03_lstm"`` (the assignment's folder
under ``solutions/``), and holds its ``SPEC``, an :class:`~autograder.spec_kit.AssignmentSpec` of
that name. :func:`get_spec` finds the module by that line, so a new assignment needs only its spec
module: no list to add it to. The line is read from each module's source rather than by importing
every module (the seq2seq spec imports torch, which grading the other assignments does not need).
A module whose name starts with ``_`` is a helper shared by specs, not a spec.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
from pathlib import Path

from ..spec_kit import AssignmentSpec


class UnknownAssignment(KeyError):
    """No spec module declares this assignment (a ``KeyError``, with a readable message)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _declared(path: Path) -> str | None:
    """The value of the module's top-level ``ASSIGNMENT = "..."`` (a line of its own), or None."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("ASSIGNMENT"):
            continue
        try:
            (node,) = ast.parse(line).body
        except (SyntaxError, ValueError):
            continue
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if (isinstance(target, ast.Name) and target.id == "ASSIGNMENT"
                and isinstance(value, ast.Constant) and isinstance(value.value, str)):
            return value.value
    return None


@functools.cache
def _modules() -> dict[str, str]:
    """Assignment name -> spec module name, from every spec module's ``ASSIGNMENT``."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        origin = importlib.util.find_spec(f"{__name__}.{info.name}").origin
        assignment = _declared(Path(origin))
        if assignment is None:
            raise RuntimeError(f"autograder/specs/{info.name}.py declares no ASSIGNMENT = \"<folder under "
                               "solutions/>\" (a helper shared by specs goes in a module named _<name>.py)")
        if assignment in found:
            raise RuntimeError(f"autograder/specs/{found[assignment]}.py and {info.name}.py both declare "
                               f"ASSIGNMENT = {assignment!r}")
        found[assignment] = info.name
    return found


def assignments() -> list[str]:
    """The assignments that have a spec, sorted (``["01_rnn", "02_gradients", ...]``)."""
    return sorted(_modules())


def get_spec(assignment: str) -> AssignmentSpec:
    """The spec of ``assignment`` (a folder name under ``solutions/``, e.g. ``"03_lstm"``)."""
    modules = _modules()
    if assignment not in modules:
        raise UnknownAssignment(f"no grading spec for assignment {assignment!r}: no module of autograder/specs/ "
                                f"declares ASSIGNMENT = {assignment!r}; known: {', '.join(sorted(modules))}")
    module = importlib.import_module(f"{__name__}.{modules[assignment]}")
    spec = module.SPEC
    if spec.name != assignment:
        raise RuntimeError(f"autograder/specs/{modules[assignment]}.py declares ASSIGNMENT = {assignment!r} "
                           f"but its SPEC is named {spec.name!r}")
    return spec
