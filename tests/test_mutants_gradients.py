"""Mutation tests of assignment 02_gradients: wrong answers fail (with a diagnosis), right ones pass.

Each mutant is the source of one deliberately wrong function, exec'd in a copy of the reference
namespace; grading must fail exactly that function and pass the others. Correct variants written
differently from the reference must get full marks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import student_namespace

from autograder.hidden_tests import grade_namespace
from autograder.reference import load_reference

ASSIGNMENT = "02_gradients"
ROOT = Path(__file__).parents[1]
FUNCTIONS = ("clip_grad_norm", "step_jacobian", "jacobian_product_norm")

MUTANTS: dict[str, dict[str, str]] = {
    "clip_grad_norm": {
        "per-array norm": """
def clip_grad_norm(grads, threshold):
    clipped = {}
    for name, g in grads.items():
        n = np.linalg.norm(g)
        clipped[name] = g * (threshold / n) if n >= threshold else g.copy()
    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    return clipped, total
""",
        "elementwise np.clip": """
def clip_grad_norm(grads, threshold):
    total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    return {k: np.clip(g, -threshold, threshold) for k, g in grads.items()}, total
""",
        "inverted factor": """
def clip_grad_norm(grads, threshold):
    total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    factor = total / threshold if total >= threshold else 1.0
    return {k: factor * g for k, g in grads.items()}, total
""",
        "always rescales": """
def clip_grad_norm(grads, threshold):
    flat = np.concatenate([g.ravel() for g in grads.values()])
    total = float(np.linalg.norm(flat))
    return {k: g * (threshold / total) for k, g in grads.items()}, total
""",
        "norm after clipping": """
def clip_grad_norm(grads, threshold):
    total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    if total >= threshold:
        grads = {k: g * (threshold / total) for k, g in grads.items()}
        total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    return {k: g.copy() for k, g in grads.items()}, total
""",
        "L1 norm": """
def clip_grad_norm(grads, threshold):
    total = float(sum(np.abs(g).sum() for g in grads.values()))
    s = threshold / total if total >= threshold else 1.0
    return {k: s * g for k, g in grads.items()}, total
""",
        "squared norm": """
def clip_grad_norm(grads, threshold):
    total = float(sum((g * g).sum() for g in grads.values()))
    s = threshold / total if total >= threshold else 1.0
    return {k: s * g for k, g in grads.items()}, total
""",
        "summed per-array norms": """
def clip_grad_norm(grads, threshold):
    total = float(sum(np.linalg.norm(g.ravel()) for g in grads.values()))
    s = threshold / total if total >= threshold else 1.0
    return {k: s * g for k, g in grads.items()}, total
""",
        "forgot the return": """
def clip_grad_norm(grads, threshold):
    total = float(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    clipped = {k: g * min(1.0, threshold / max(total, 1e-300)) for k, g in grads.items()}
""",
    },
    "step_jacobian": {
        "missing transpose": """
def step_jacobian(h_t, W_hh):
    return np.diag(1 - h_t ** 2) @ W_hh
""",
        "h instead of 1 - h^2": """
def step_jacobian(h_t, W_hh):
    return np.diag(h_t) @ W_hh.T
""",
        "(1 - h)^2": """
def step_jacobian(h_t, W_hh):
    return np.diag((1 - h_t) ** 2) @ W_hh.T
""",
        "wrong side": """
def step_jacobian(h_t, W_hh):
    return W_hh.T @ np.diag(1 - h_t ** 2)
""",
        "no tanh derivative": """
def step_jacobian(h_t, W_hh):
    return W_hh.T.copy()
""",
        "tanh applied twice": """
def step_jacobian(h_t, W_hh):
    return (1 - np.tanh(h_t) ** 2)[:, None] * W_hh.T
""",
        "transposed result": """
def step_jacobian(h_t, W_hh):
    return ((1 - h_t ** 2)[:, None] * W_hh.T).T
""",
        "sigmoid derivative": """
def step_jacobian(h_t, W_hh):
    return np.diag(h_t * (1 - h_t)) @ W_hh.T
""",
        "float32": """
def step_jacobian(h_t, W_hh):
    return (np.diag(1 - h_t ** 2) @ W_hh.T).astype(np.float32)
""",
    },
    "jacobian_product_norm": {
        "Frobenius norm": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    P = np.eye(H)
    for t in range(T, T - k, -1):
        P = P @ step_jacobian(h_seq[t - 1], W_hh)
    return float(np.linalg.norm(P))
""",
        "wrong order": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    P = np.eye(H)
    for t in range(T, T - k, -1):
        P = step_jacobian(h_seq[t - 1], W_hh) @ P
    return float(np.linalg.norm(P, 2))
""",
        "off by one (window)": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    P = np.eye(H)
    for t in range(T - 1, T - 1 - k, -1):
        P = P @ step_jacobian(h_seq[t - 1], W_hh)
    return float(np.linalg.norm(P, 2))
""",
        "off by one (k + 1 factors)": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    P = np.eye(H)
    for t in range(T, max(T - k - 1, 0), -1):
        P = P @ step_jacobian(h_seq[t - 1], W_hh)
    return float(np.linalg.norm(P, 2))
""",
        "product of norms": """
def jacobian_product_norm(h_seq, W_hh, k):
    T = h_seq.shape[0]
    out = 1.0
    for t in range(T - k, T):
        out *= np.linalg.norm(step_jacobian(h_seq[t], W_hh), 2)
    return float(out)
""",
        "spectral radius": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    P = np.eye(H)
    for t in range(T, T - k, -1):
        P = P @ step_jacobian(h_seq[t - 1], W_hh)
    return float(np.max(np.abs(np.linalg.eigvals(P))))
""",
        "whole sequence": """
def jacobian_product_norm(h_seq, W_hh, k):
    P = np.eye(h_seq.shape[1])
    for h in h_seq[::-1]:
        P = P @ step_jacobian(h, W_hh)
    return float(np.linalg.norm(P, 2))
""",
        "k - 1 factors": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    P = np.eye(H)
    for t in range(T, T - k + 1, -1):
        P = P @ step_jacobian(h_seq[t - 1], W_hh)
    return float(np.linalg.norm(P, 2))
""",
    },
}

# Right answers written differently from the reference: they must get full marks.
CORRECT_VARIANTS: dict[str, str] = {
    "flat vector, torch-free": """
def clip_grad_norm(grads, threshold):
    flat = np.concatenate([g.ravel() for g in grads.values()])
    total = float(np.linalg.norm(flat))
    if total >= threshold:
        return {k: g / total * threshold for k, g in grads.items()}, total
    return {k: g.copy() for k, g in grads.items()}, total
""",
    "in-place on copies, einsum": """
def clip_grad_norm(grads, threshold):
    out = {k: np.array(g, copy=True) for k, g in grads.items()}
    total = float(np.sqrt(sum(np.einsum('i,i->', g.ravel(), g.ravel()) for g in out.values())))
    if total >= threshold:
        for g in out.values():
            g *= threshold / total
    return out, total
""",
    "broadcast rows": """
def step_jacobian(h_t, W_hh):
    return (1.0 - h_t * h_t)[:, None] * W_hh.T
""",
    "einsum Jacobian": """
def step_jacobian(h_t, W_hh):
    return np.einsum('i,ji->ij', 1 - h_t ** 2, W_hh)
""",
    "product by reduce, svd": """
from functools import reduce
def jacobian_product_norm(h_seq, W_hh, k):
    H = h_seq.shape[1]
    factors = [step_jacobian(h, W_hh) for h in h_seq[len(h_seq) - k:][::-1]]
    P = reduce(np.matmul, factors, np.eye(H))
    return float(np.linalg.svd(P, compute_uv=False)[0])
""",
    "backward vector sweep": """
def jacobian_product_norm(h_seq, W_hh, k):
    T, H = h_seq.shape
    if k == 0:
        return 1.0
    # build the product from the right (earliest factor first): same matrix
    P = step_jacobian(h_seq[T - k], W_hh)
    for t in range(T - k + 1, T):
        P = step_jacobian(h_seq[t], W_hh) @ P
    return float(np.sqrt(np.max(np.linalg.eigvalsh(P.T @ P))))
""",
}


@pytest.fixture(scope="module")
def reference():
    return load_reference(ASSIGNMENT, root=ROOT)


def _namespace(source: str | None = None) -> dict:
    """A student who wrote the reference (cells run afresh), with ``source`` run after it."""
    ns = student_namespace(ASSIGNMENT)
    if source is not None:
        exec(compile(source, "<mutant>", "exec"), ns)  # noqa: S102 - test-owned source strings
    return ns


def _function_of(source: str) -> str:
    for name in FUNCTIONS:
        if f"def {name}(" in source:
            return name
    raise AssertionError("no graded function in this source")


def test_reference_gets_full_marks():
    results = grade_namespace(ASSIGNMENT, _namespace(), seed=1)
    assert set(results) == set(FUNCTIONS)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


@pytest.mark.parametrize(
    ("target", "label"), [(t, label) for t, group in MUTANTS.items() for label in group]
)
def test_mutant_fails_only_its_function(target, label):
    ns = _namespace(MUTANTS[target][label])
    results = grade_namespace(ASSIGNMENT, ns, seed=3)
    assert not results[target].passed, f"mutant {label!r} of {target} was not caught"
    for name, outcome in results.items():
        if name != target:
            assert outcome.passed, f"mutant {label!r} of {target} also failed {name}: {outcome.message}"


def test_most_mutants_are_diagnosed():
    diagnosed, undiagnosed = 0, []
    for target, group in MUTANTS.items():
        for label, source in group.items():
            outcome = grade_namespace(ASSIGNMENT, _namespace(source), seed=5, only=[target])[target]
            assert not outcome.passed
            if outcome.diagnosis is not None:
                diagnosed += 1
            else:
                undiagnosed.append(f"{target}: {label}")
    total = sum(len(group) for group in MUTANTS.values())
    assert total >= 15 and all(len(group) >= 5 for group in MUTANTS.values())
    assert diagnosed >= 0.8 * total, f"undiagnosed: {undiagnosed}"


@pytest.mark.parametrize("label", list(CORRECT_VARIANTS))
def test_correct_variants_get_full_marks(label):
    source = CORRECT_VARIANTS[label]
    target = _function_of(source)
    ns = _namespace(source)
    results = grade_namespace(ASSIGNMENT, ns, seed=7)
    assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}
    assert results[target].cases > 1


@pytest.mark.parametrize("seed", [0, 11, 12345])
def test_mutants_caught_for_any_seed(seed):
    """Hidden cases are fresh each time a student submits: every mutant must fail for any seed."""
    for target, group in MUTANTS.items():
        for label, source in group.items():
            outcome = grade_namespace(ASSIGNMENT, _namespace(source), seed=seed, only=[target])[target]
            assert not outcome.passed, f"{target}: mutant {label!r} passed with seed {seed}"


def test_specific_diagnoses():
    """A few mistakes must be named precisely (the message is what the student reads)."""
    expectations = {
        ("clip_grad_norm", "per-array norm"): "each array by its own norm",
        ("clip_grad_norm", "elementwise np.clip"): "np.clip",
        ("clip_grad_norm", "always rescales"): "below the threshold",
        ("step_jacobian", "missing transpose"): "W_hh.T belongs",
        ("step_jacobian", "tanh applied twice"): "tanh again",
        ("jacobian_product_norm", "Frobenius norm"): "Frobenius",
        ("jacobian_product_norm", "wrong order"): "wrong order",
        ("jacobian_product_norm", "product of norms"): "product of the norms",
    }
    for (target, label), phrase in expectations.items():
        outcome = grade_namespace(ASSIGNMENT, _namespace(MUTANTS[target][label]), seed=9,
                                  only=[target])[target]
        assert outcome.diagnosis is not None and phrase in outcome.diagnosis, (label, outcome.message)


def test_clip_edge_cases(reference):
    """The documented behaviour at equality, for a zero gradient, and on the inputs' memory."""
    clip = reference.clip_grad_norm
    g = {"a": np.array([3.0, 4.0])}
    clipped, norm = clip(g, 5.0)
    assert isinstance(norm, float) and norm == 5.0
    np.testing.assert_allclose(clipped["a"], g["a"], rtol=0, atol=0)
    assert clipped["a"] is not g["a"]
    zero = {"a": np.zeros((2, 3))}
    clipped, norm = clip(zero, 0.1)
    assert norm == 0.0 and np.all(clipped["a"] == 0) and np.all(np.isfinite(clipped["a"]))
    clipped, norm = clip({"a": np.array([30.0, 40.0]), "b": np.zeros(2)}, 5.0)
    np.testing.assert_allclose(clipped["a"], [3.0, 4.0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(norm, 50.0, rtol=1e-15, atol=0)


def test_jacobian_matches_finite_differences(reference):
    """The reference itself: the step Jacobian against central differences, the product against
    the chain rule through a real sequence (float64)."""
    rng = np.random.default_rng(0)
    H, T = 5, 6
    W_hh, W_xh = rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(3, H))
    x = rng.normal(size=(T, 3))

    def run(h0):
        h, seq = h0, []
        for t in range(T):
            h = np.tanh(h @ W_hh + x[t] @ W_xh)
            seq.append(h)
        return np.array(seq)

    h0 = rng.normal(size=H)
    seq = run(h0)
    eps = 1e-6
    numeric = np.zeros((H, H))
    for j in range(H):
        e = np.zeros(H)
        e[j] = eps
        numeric[:, j] = (run(h0 + e)[-1] - run(h0 - e)[-1]) / (2 * eps)
    np.testing.assert_allclose(reference.jacobian_product_norm(seq, W_hh, T), np.linalg.norm(numeric, 2),
                               rtol=1e-7, atol=1e-12)
    one = np.zeros((H, H))
    h_prev = seq[-2]
    for j in range(H):
        e = np.zeros(H)
        e[j] = eps
        plus = np.tanh((h_prev + e) @ W_hh + x[-1] @ W_xh)
        minus = np.tanh((h_prev - e) @ W_hh + x[-1] @ W_xh)
        one[:, j] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(reference.step_jacobian(seq[-1], W_hh), one, rtol=1e-7, atol=1e-10)
    assert reference.jacobian_product_norm(seq, W_hh, 0) == 1.0
