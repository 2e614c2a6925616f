"""What an assignment's spec is made of (shared by :mod:`autograder.specs` and the hidden tests).

- :class:`FunctionSpec`: how to grade one function (random cases, known mistakes, fair substitutions);
- :class:`AssignmentSpec`: the graded functions of one assignment;
- :class:`Mistake` and the building blocks of mistake catalogues: *transformations* of the
  reference (run it with ``tanh`` bound to the name ``sigmoid``, with the bias zeroed, with two
  arguments swapped, ...), never a copy of it.

This module imports neither the specs nor the hidden tests: the spec modules import it, and
:mod:`autograder.hidden_tests` imports the specs.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import ATOL, RTOL, call_safely

Inputs = dict[str, Any]
Reference = types.SimpleNamespace


@dataclass(frozen=True)
class Mistake:
    """A known mistake: what to tell the student, and the output that mistake produces."""

    message: str
    output: Callable[[Reference, Inputs], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """How to grade one function.

    ``cases(rng)`` returns a list of keyword-argument dicts (fresh random inputs of several shapes);
    ``expected(ref, inputs)`` computes the reference output (default: call the reference function
    of the same name); ``uses`` names the functions that are replaced by the reference while this
    one is tested. ``judge(ref, inputs, got)``, when given, replaces the comparison with the
    reference: it returns ``None`` when ``got`` is acceptable, else a message for the student (for
    results that are judged rather than matched, such as the accuracy reached by a training run).
    ``held_back`` names inputs of each case that the function is not given (only the judge sees
    them: the held-out test problems of a training run). ``plain(output)``, when given, turns the
    function's output into plain data (arrays, dicts) before it is judged, or raises
    :class:`CheckFailed` saying what is wrong with it; in the sandbox it runs before the output is
    recorded, so that a returned object's own code never runs in the grader.
    """

    name: str
    cases: Callable[[np.random.Generator], list[Inputs]]
    mistakes: Sequence[Mistake] = ()
    uses: Sequence[str] = ()
    expected: Callable[[Reference, Inputs], Any] | None = None
    rtol: float = RTOL
    atol: float = ATOL
    judge: Callable[[Reference, Inputs, Any], str | None] | None = None
    held_back: Sequence[str] = ()
    plain: Callable[[Any], Any] | None = None
    #: an optional part (extra credit): its points are not in the assignment's maximum
    bonus: bool = False

    def given(self, inputs: Inputs) -> Inputs:
        """The arguments the function is called with: the case without its held-back inputs."""
        return {k: v for k, v in inputs.items() if k not in self.held_back}

    def call(self, fn: Callable[..., Any], inputs: Inputs, **options: Any) -> Any:
        """Call ``fn`` on a case (errors become :class:`CheckFailed`) and make its output plain."""
        return self.as_plain(call_safely(fn, self.given(inputs), name=self.name, **options))

    def as_plain(self, output: Any) -> Any:
        """``output`` as the judge reads it (see ``plain``); may raise :class:`CheckFailed`."""
        return self.plain(output) if self.plain is not None else output

    def reference_output(self, ref: Reference, inputs: Inputs) -> Any:
        if self.expected is not None:
            return self.expected(ref, copy.deepcopy(inputs))
        return getattr(ref, self.name)(**copy.deepcopy(inputs))


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, *functions: FunctionSpec) -> AssignmentSpec:
        return cls(name, {f.name: f for f in functions})


# ---------------------------------------------------------------------------------------------
# Building blocks for mistake catalogues: transformations of the reference, never copies of it.


def patched(fn: Callable[..., Any], **names: Any) -> Callable[..., Any]:
    """A copy of ``fn`` that sees ``names`` (e.g. ``sigmoid=np.tanh``) instead of its globals."""
    new = types.FunctionType(
        fn.__code__, {**fn.__globals__, **names}, fn.__name__, fn.__defaults__, fn.__closure__
    )
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def with_globals(fn_name: str, message: str, **names: Any) -> Mistake:
    """The reference run with some global names rebound (``sigmoid=np.tanh``)."""
    return Mistake(message, lambda ref, kw: patched(getattr(ref, fn_name), **names)(**kw))


def with_inputs(fn_name: str, message: str, transform: Callable[[Inputs], Inputs]) -> Mistake:
    """The reference run on transformed inputs (a zeroed bias, two arguments swapped, ...)."""
    return Mistake(message, lambda ref, kw: getattr(ref, fn_name)(**transform(dict(kw))))


def zeroed(*keys: str) -> Callable[[Inputs], Inputs]:
    def transform(kw: Inputs) -> Inputs:
        return {**kw, **{k: np.zeros_like(kw[k]) for k in keys}}

    return transform


def swapped(a: str, b: str) -> Callable[[Inputs], Inputs]:
    def transform(kw: Inputs) -> Inputs:
        return {**kw, a: kw[b], b: kw[a]}

    return transform


def with_output(fn_name: str, message: str, transform: Callable[[Any, Inputs], Any]) -> Mistake:
    """The reference output post-processed (a sign flipped, a term dropped, ...)."""
    return Mistake(message, lambda ref, kw: transform(getattr(ref, fn_name)(**kw), kw))
