"""The hidden-test machinery: references from the source notebooks, fresh cases, diagnoses."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from autograder.grading import (
    FunctionSpec,
    grade_function,
    patched,
    substituted,
    swapped,
    with_globals,
    with_inputs,
    zeroed,
)
from autograder.reference import ReferenceUnavailable, course_root, load_reference
from autograder.specs import MODULES, get_spec


def _cases(rng: np.random.Generator):
    return [
        {"x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, h)), "b": rng.standard_normal(h)}
        for n, d, h in [(1, 3, 3), (4, 2, 5)]
    ]


def _affine_tanh(x, w, b):
    return np.tanh(x @ w + b)


REF = type("Ref", (), {"layer": staticmethod(_affine_tanh)})()
SPEC = FunctionSpec(
    "layer",
    _cases,
    mistakes=[
        with_globals("layer", "you used sigmoid instead of tanh", np=type("np", (), {
            "tanh": staticmethod(lambda a: 1 / (1 + np.exp(-a)))})),
        with_inputs("layer", "you forgot the bias", zeroed("b")),
    ],
)


def test_correct_function_passes_on_fresh_cases() -> None:
    outcome = grade_function(SPEC, lambda x, w, b: np.tanh(np.dot(x, w) + b), REF)
    assert outcome.passed and outcome.cases == 2


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (lambda x, w, b: np.tanh(x @ w), "you forgot the bias"),
        (lambda x, w, b: 1 / (1 + np.exp(-(x @ w + b))), "you used sigmoid instead of tanh"),
        (lambda x, w, b: np.tanh(x @ w + 2 * b), None),
    ],
)
def test_wrong_functions_fail_with_the_right_diagnosis(wrong, diagnosis) -> None:
    outcome = grade_function(SPEC, wrong, REF, seed=3)
    assert not outcome.passed
    assert outcome.diagnosis == diagnosis
    assert "hidden case 1" in outcome.message


def test_patched_rebinds_globals_without_touching_the_original() -> None:
    fake = patched(_affine_tanh, np=type("np", (), {"tanh": staticmethod(lambda a: a)}))
    x, w, b = np.ones((1, 2)), np.ones((2, 2)), np.zeros(2)
    np.testing.assert_allclose(fake(x, w, b), x @ w)
    np.testing.assert_allclose(_affine_tanh(x, w, b), np.tanh(x @ w))


def test_swapped_and_substituted() -> None:
    assert swapped("a", "b")({"a": 1, "b": 2, "c": 3}) == {"a": 2, "b": 1, "c": 3}
    ns = {"f": 1}
    with substituted(ns, {"f": 2, "g": 3}):
        assert ns == {"f": 2, "g": 3}
    assert ns == {"f": 1}


def test_course_root_is_found_from_inside_the_course() -> None:
    assert course_root(REPO / "exercises") == REPO


def test_reference_is_unavailable_outside_a_course(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RNNCOURSE_ROOT", raising=False)
    with pytest.raises(ReferenceUnavailable, match="only available to instructors"):
        course_root(tmp_path)


@pytest.mark.parametrize("assignment", sorted(MODULES))
def test_every_spec_matches_its_reference(assignment: str) -> None:
    """Each spec grades exactly the functions the reference defines, and the reference passes."""
    if not (REPO / "solutions" / assignment).is_dir():
        pytest.fail(f"solutions/{assignment} is missing")
    ref = load_reference(assignment, root=REPO)
    spec = get_spec(assignment)
    assert spec.name == assignment
    for name, fspec in spec.functions.items():
        fn = getattr(ref, name)
        namespace = dict(vars(ref))
        outcome = grade_function(fspec, fn, ref, namespace=namespace, seed=11)
        assert outcome.passed, outcome.message
        for used in fspec.uses:
            assert used in spec.functions, f"{name} uses {used}, which is not graded"
