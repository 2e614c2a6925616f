"""Hidden tests: compare a student's function with the reference cell on fresh random inputs.

Each assignment has a spec (``autograder/specs/``) that lists, for every graded function, how to
draw random inputs, which known mistakes to look for, and which helper functions the grader
replaces by the reference while testing it (so that a broken gate costs the points of that gate
only, not those of the cell that uses it). The expected outputs come from the reference cells of
the source notebook (:mod:`autograder.reference`); the comparison is the one the visible tests use
(:mod:`autograder.checks`).

A spec's mistake catalogue holds *transformations* of the reference (run it with ``tanh`` bound to
the name ``sigmoid``, with the bias zeroed, with two arguments swapped, ...), never a copy of it.
"""

from __future__ import annotations

import contextlib
import copy
import types
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import ATOL, RTOL, CheckFailed, call_safely, compare_outputs, diagnose
from .reference import load_reference

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
    one is tested.
    """

    name: str
    cases: Callable[[np.random.Generator], list[Inputs]]
    mistakes: Sequence[Mistake] = ()
    uses: Sequence[str] = ()
    expected: Callable[[Reference, Inputs], Any] | None = None
    rtol: float = RTOL
    atol: float = ATOL

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


@dataclass
class Outcome:
    """The result of grading one function."""

    name: str
    passed: bool
    message: str
    diagnosis: str | None = None
    cases: int = 0


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


# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def substituted(namespace: MutableMapping[str, Any] | None, values: Mapping[str, Any]) -> Iterator[None]:
    """Temporarily replace names in ``namespace`` (the student's globals)."""
    if namespace is None or not values:
        yield
        return
    missing = object()
    saved = {k: namespace.get(k, missing) for k in values}
    namespace.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v


def describe_inputs(inputs: Inputs) -> str:
    parts = []
    for k, v in inputs.items():
        if isinstance(v, np.ndarray):
            parts.append(f"{k}: {tuple(v.shape)}")
        elif isinstance(v, (int, float, str)):
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def _mistake_outputs(spec: FunctionSpec, ref: Reference, inputs: Inputs) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for mistake in spec.mistakes:
        try:
            with np.errstate(all="ignore"):
                outputs[mistake.message] = mistake.output(ref, copy.deepcopy(inputs))
        except Exception:  # noqa: BLE001 - a mistake that cannot run on these shapes is skipped
            outputs[mistake.message] = None
    return outputs


def grade_function(
    spec: FunctionSpec,
    fn: Callable[..., Any],
    ref: Reference,
    *,
    namespace: MutableMapping[str, Any] | None = None,
    seed: int | None = None,
) -> Outcome:
    """Grade ``fn`` against the reference on ``spec``'s random cases (fresh when ``seed`` is None)."""
    rng = np.random.default_rng(seed)
    cases = spec.cases(rng)
    fair = {name: getattr(ref, name) for name in spec.uses}
    with substituted(namespace, fair):
        for k, inputs in enumerate(cases, start=1):
            where = f"hidden case {k} of {len(cases)} ({describe_inputs(inputs)})"
            expected = spec.reference_output(ref, inputs)
            try:
                got = call_safely(fn, inputs, name=spec.name)
            except CheckFailed as exc:
                return Outcome(spec.name, False, f"{where}: {exc}", cases=k)
            problem = compare_outputs(
                got, expected, what=f"the output of `{spec.name}`", rtol=spec.rtol, atol=spec.atol
            )
            if problem:
                found = diagnose(got, _mistake_outputs(spec, ref, inputs), rtol=spec.rtol, atol=spec.atol)
                message = f"{where}: {problem}"
                if found:
                    message = f"{where}: {found}. ({problem})"
                return Outcome(spec.name, False, message, diagnosis=found, cases=k)
    return Outcome(spec.name, True, f"`{spec.name}` matches the reference on {len(cases)} hidden cases",
                   cases=len(cases))


def hidden_check(
    assignment: str,
    name: str,
    fn: Callable[..., Any],
    *,
    namespace: MutableMapping[str, Any] | None = None,
    seed: int | None = None,
) -> Outcome:
    """Entry point of the hidden test cells: raise :class:`CheckFailed` unless ``fn`` is right."""
    from .specs import get_spec

    spec = get_spec(assignment).functions[name]
    outcome = grade_function(spec, fn, load_reference(assignment), namespace=namespace, seed=seed)
    if not outcome.passed:
        raise CheckFailed(outcome.message)
    print(outcome.message)
    return outcome


def grade_namespace(
    assignment: str,
    namespace: MutableMapping[str, Any],
    *,
    seed: int = 0,
    only: Sequence[str] | None = None,
) -> dict[str, Outcome]:
    """Grade every function of an assignment found in ``namespace`` (in-process; for tests)."""
    from .specs import get_spec

    ref = load_reference(assignment)
    results = {}
    for name, spec in get_spec(assignment).functions.items():
        if only is not None and name not in only:
            continue
        fn = namespace.get(name)
        if fn is None:
            results[name] = Outcome(name, False, f"`{name}` is not defined")
            continue
        results[name] = grade_function(spec, fn, ref, namespace=namespace, seed=seed)
    return results
