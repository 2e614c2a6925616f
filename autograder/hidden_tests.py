"""Hidden tests: compare a student's function with the reference cell on fresh random inputs.

Each assignment has a spec (``autograder/specs/<module>.py``, made of the parts in
:mod:`autograder.spec_kit`) that lists, for every graded function, how to draw random inputs,
which known mistakes to look for, and which helper functions the grader replaces by the reference
while testing it (so that a broken gate costs the points of that gate only, not those of the cell
that uses it). The expected outputs come from the reference cells of the source notebook
(:mod:`autograder.reference`); the comparison is the one the visible tests use
(:mod:`autograder.checks`).

:func:`hidden_check` is what the hidden test cells of the source notebooks call (under nbgrader);
:func:`grade_recording` judges what the sandboxed runner recorded (for :mod:`autograder.batch`);
:func:`grade_namespace` grades a whole namespace in this process (for the tests).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checks import CheckFailed, compare_outputs, diagnose, outputs_match
from .reference import load_reference
from .serialize import Opaque
from .spec_kit import FunctionSpec, Inputs, Reference, patched
from .specs import get_spec


@dataclass
class Outcome:
    """The result of grading one function."""

    name: str
    passed: bool
    message: str
    diagnosis: str | None = None
    cases: int = 0


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
        if isinstance(v, np.ndarray) or (hasattr(v, "detach") and hasattr(v, "shape")):
            parts.append(f"{k}: {tuple(v.shape)}")
        elif isinstance(v, (int, float, str)):
            parts.append(f"{k}={v!r}")
        elif isinstance(v, Mapping):
            parts.append(f"{k}: {{{describe_inputs(v)}}}")
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


def judge_output(
    spec: FunctionSpec,
    ref: Reference,
    inputs: Inputs,
    got: Any,
    *,
    where: str,
    case: int,
    calls: Mapping[str, list[dict[str, Any]]] | None = None,
) -> Outcome | None:
    """Judge one output; ``None`` when it is right, else the failing :class:`Outcome`.

    ``calls`` (sandboxed grading) holds the student's own calls of the functions in ``spec.uses``;
    an output that equals the reference *composed from those recorded outputs* is right too: the
    composition is correct even if a part it calls is not (that part loses its own points).
    """
    if spec.judge is not None:
        verdict = spec.judge(ref, copy.deepcopy(inputs), got)
        if not verdict:
            return None
        found = diagnose(got, _mistake_outputs(spec, ref, inputs), rtol=spec.rtol, atol=spec.atol)
        message = f"{where}: {found}. ({verdict})" if found and found not in verdict else f"{where}: {verdict}"
        return Outcome(spec.name, False, message, diagnosis=found, cases=case)
    expected = spec.reference_output(ref, inputs)
    problem = compare_outputs(
        got, expected, what=f"the output of `{spec.name}`", rtol=spec.rtol, atol=spec.atol
    )
    if not problem:
        return None
    if calls and spec.uses:
        composed = _composed_from_calls(spec, ref, inputs, calls)
        if composed is not None and compare_outputs(
            got, composed, what="output", rtol=spec.rtol, atol=spec.atol
        ) is None:
            return None
    found = diagnose(got, _mistake_outputs(spec, ref, inputs), rtol=spec.rtol, atol=spec.atol)
    message = f"{where}: {found}. ({problem})" if found else f"{where}: {problem}"
    return Outcome(spec.name, False, message, diagnosis=found, cases=case)


def _lookup(fn_name: str, ref_fn: Callable[..., Any], calls: list[dict[str, Any]]) -> Callable[..., Any]:
    """A stand-in for ``fn_name`` that answers with the student's recorded outputs."""
    signature = inspect.signature(ref_fn)

    def answer(*args: Any, **kwargs: Any) -> Any:
        named = dict(signature.bind(*args, **kwargs).arguments)
        for call in calls:
            recorded = call["args"]
            if all(
                key in recorded and (isinstance(recorded[key], Opaque) or outputs_match(value, recorded[key]))
                for key, value in named.items()
            ):
                return copy.deepcopy(call["output"])
        raise LookupError(f"no recorded call of {fn_name} with these arguments")

    return answer


def _composed_from_calls(
    spec: FunctionSpec, ref: Reference, inputs: Inputs, calls: Mapping[str, list[dict[str, Any]]]
) -> Any:
    stand_ins = {u: _lookup(u, getattr(ref, u), calls.get(u, [])) for u in spec.uses}
    try:
        with np.errstate(all="ignore"):
            return patched(getattr(ref, spec.name), **stand_ins)(**copy.deepcopy(inputs))
    except Exception:  # noqa: BLE001 - the student's composition called its parts differently
        return None


def grade_function(
    spec: FunctionSpec,
    fn: Callable[..., Any],
    ref: Reference,
    *,
    namespace: MutableMapping[str, Any] | None = None,
    seed: int | None = None,
) -> Outcome:
    """Grade ``fn`` in this process against the reference on ``spec``'s random cases.

    The cases are fresh when ``seed`` is None. The functions in ``spec.uses`` are replaced by the
    reference in ``namespace`` (the student's globals) while ``fn`` runs.
    """
    rng = np.random.default_rng(seed)
    cases = spec.cases(rng)
    fair = {name: getattr(ref, name) for name in spec.uses}
    with substituted(namespace, fair):
        for k, inputs in enumerate(cases, start=1):
            where = f"hidden case {k} of {len(cases)} ({describe_inputs(inputs)})"
            try:
                got = spec.call(fn, inputs)
            except CheckFailed as exc:
                return Outcome(spec.name, False, f"{where}: {exc}", cases=k)
            failed = judge_output(spec, ref, inputs, got, where=where, case=k)
            if failed:
                return failed
    return passed_outcome(spec, len(cases))


def judge_run(spec: FunctionSpec, ref: Reference, inputs: Inputs, output: Any) -> Outcome:
    """Judge a run already made (a training run of the visible test) instead of running again."""
    if spec.judge is None:
        raise ValueError(f"`{spec.name}` is compared with the reference, not judged: draw fresh cases")
    where = f"the run above ({describe_inputs(spec.given(inputs))})"
    try:
        got = spec.as_plain(output)
    except CheckFailed as exc:
        return Outcome(spec.name, False, f"{where}: {exc}", cases=1)
    failed = judge_output(spec, ref, inputs, got, where=where, case=1)
    return failed or Outcome(spec.name, True, f"`{spec.name}` passes: its run above reaches the bar", cases=1)


def passed_outcome(spec: FunctionSpec, n_cases: int) -> Outcome:
    cases = f"{n_cases} hidden case{'s' if n_cases != 1 else ''}"
    verb = "passes" if spec.judge is not None else "matches the reference on"
    return Outcome(spec.name, True, f"`{spec.name}` {verb} {cases}", cases=n_cases)


def grade_recording(spec: FunctionSpec, ref: Reference, record: Mapping[str, Any],
                    cases: Sequence[Inputs]) -> Outcome:
    """Grade what the sandboxed runner recorded for one function (see :mod:`autograder.runner`):
    ``cases`` are the function's cases for the record's seed (the grader draws them once)."""
    if record.get("error"):
        return Outcome(spec.name, False, str(record["error"]))
    recorded = list(record.get("cases", []))
    for k, inputs in enumerate(cases, start=1):
        where = f"hidden case {k} of {len(cases)} ({describe_inputs(inputs)})"
        if k > len(recorded):
            return Outcome(spec.name, False, f"{where}: no output was recorded (the run stopped)", cases=k)
        case = recorded[k - 1]
        if not case.get("ok"):
            return Outcome(spec.name, False, f"{where}: {case.get('error')}", cases=k)
        failed = judge_output(spec, ref, inputs, case.get("output"), where=where, case=k,
                              calls=case.get("calls"))
        if failed:
            return failed
    return passed_outcome(spec, len(cases))


def hidden_check(
    assignment: str,
    name: str,
    fn: Callable[..., Any],
    *,
    namespace: MutableMapping[str, Any] | None = None,
    seed: int | None = None,
    root: Path | None = None,
    judged: tuple[Inputs, Any] | None = None,
) -> None:
    """Entry point of the hidden test cells: raise :class:`CheckFailed` unless ``fn`` is right.

    ``judged=(inputs, output)`` judges a run the test cell has already made (for functions that
    are judged, such as a training run: running it again would double the notebook's time). The
    sandboxed grader ignores it and always draws its own cases.
    Returns nothing, so that a test cell ending with this call displays no value (nbgrader would
    try to read a displayed value as a score).
    """
    spec = get_spec(assignment).functions[name]
    ref = load_reference(assignment, root)
    if judged is not None:
        outcome = judge_run(spec, ref, *judged)
    else:
        outcome = grade_function(spec, fn, ref, namespace=namespace, seed=seed)
    if not outcome.passed:
        raise CheckFailed(outcome.message)
    print(outcome.message)


def grade_namespace(
    assignment: str,
    namespace: MutableMapping[str, Any],
    *,
    seed: int = 0,
    only: Sequence[str] | None = None,
    root: Path | None = None,
) -> dict[str, Outcome]:
    """Grade every function of an assignment found in ``namespace`` (in-process; for tests)."""
    ref = load_reference(assignment, root)
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
