"""Assignment 03_lstm: deliberately wrong answers lose exactly their own points, with a diagnosis.

Each mutant is the source of one function as a student might write it, executed in a namespace
that holds the reference's set-up and solution cells (executed in that namespace, so that the
composites look up the gate functions there, as in a student's notebook). Grading the namespace must
fail that function and only it: the composites are graded with the reference versions of the
functions they call. Correct answers written differently (fused weights, another sigmoid, in-place
operations on fresh arrays, torch autograd) must get full marks. The reference itself is checked
against ``torch.nn.LSTMCell`` and finite differences.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import student_namespace

from autograder.checks import CheckFailed
from autograder.hidden_tests import grade_namespace
from autograder.numerics import numerical_gradient
from autograder.reference import load_reference, source_notebook
from autograder.specs import get_spec

ROOT = Path(__file__).parents[1]
ASSIGNMENT = "03_lstm"
SEED = 2024
FUNCTIONS = tuple(get_spec(ASSIGNMENT).functions)


@pytest.fixture(scope="module")
def ref():
    return load_reference(ASSIGNMENT, root=ROOT)


@functools.cache
def _grade_source(source: str, seed: int) -> dict:
    ns = student_namespace(ASSIGNMENT)
    exec(compile(textwrap.dedent(source), "<mutant>", "exec"), ns)  # noqa: S102
    return grade_namespace(ASSIGNMENT, ns, seed=seed)


def grade_with(ref, source: str, *, seed: int = SEED) -> dict:
    """Grade the reference namespace with ``source`` (one or more functions) executed in it.

    Cached per source and seed: the outcomes are read, never modified.
    """
    return _grade_source(source, seed)


# ---------------------------------------------------------------------------------------------
# Mutants: (function, label, source, expected words in the diagnosis or None, words in the message)

GATE_PARAMS = {"forget_gate": "f", "input_gate": "i", "candidate": "g", "output_gate": "o"}

SIGMOID_GATE_MUTANTS = [
    ("tanh instead of sigmoid", "return np.tanh(x @ {wx} + h_prev @ {wh} + {b})", "tanh where a gate"),
    ("missing bias", "return sigmoid(x @ {wx} + h_prev @ {wh})", "has no bias"),
    ("x where h_prev belongs", "return sigmoid(h_prev @ {wx} + x @ {wh} + {b})", "wrong weights"),
    ("W_x and W_h swapped", "return sigmoid(x @ {wh} + h_prev @ {wx} + {b})", "wrong weights"),
    ("W_h transposed", "return sigmoid(x @ {wx} + h_prev @ {wh}.T + {b})", "`{wh}` transposed"),
    ("W_x transposed", "return sigmoid(x @ {wx}.T + h_prev @ {wh} + {b})", "`{wx}` transposed"),
    ("column-vector convention", "return sigmoid((({wx} @ x.T) + ({wh} @ h_prev.T)).T + {b})",
     "both weights are transposed"),
    ("no nonlinearity", "return x @ {wx} + h_prev @ {wh} + {b}", "sigmoid is missing"),
    ("bias after the sigmoid", "return sigmoid(x @ {wx} + h_prev @ {wh}) + {b}", "after the nonlinearity"),
    ("sign error", "return sigmoid(-(x @ {wx} + h_prev @ {wh} + {b}))", "sign is flipped"),
    ("h_prev ignored", "return sigmoid(x @ {wx} + {b})", "ignores h_(t-1)"),
    ("x ignored", "return sigmoid(h_prev @ {wh} + {b})", "ignores x_t"),
    ("transposed output", "return sigmoid(x @ {wx} + h_prev @ {wh} + {b}).T", "output is transposed"),
]
CANDIDATE_MUTANTS = [
    ("sigmoid instead of tanh", "return sigmoid(x @ {wx} + h_prev @ {wh} + {b})", "sigmoid where the candidate"),
    ("missing bias", "return np.tanh(x @ {wx} + h_prev @ {wh})", "has no bias"),
    ("x where h_prev belongs", "return np.tanh(h_prev @ {wx} + x @ {wh} + {b})", "wrong weights"),
    ("W_x and W_h swapped", "return np.tanh(x @ {wh} + h_prev @ {wx} + {b})", "wrong weights"),
    ("W_h transposed", "return np.tanh(x @ {wx} + h_prev @ {wh}.T + {b})", "`{wh}` transposed"),
    ("no nonlinearity", "return x @ {wx} + h_prev @ {wh} + {b}", "tanh is missing"),
    ("bias after the tanh", "return np.tanh(x @ {wx} + h_prev @ {wh}) + {b}", "after the nonlinearity"),
    ("h_prev ignored", "return np.tanh(x @ {wx} + {b})", "ignores h_(t-1)"),
]
NAIVE_SIGMOID = """
    a = x @ {wx} + h_prev @ {wh} + {b}
    return 1.0 / (1.0 + np.exp(-a))
"""
NAIVE_TANH = """
    a = x @ {wx} + h_prev @ {wh} + {b}
    return (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))
"""
HARDCODED_H = "return sigmoid(x @ {wx} + h_prev @ {wh} + {b}.reshape(1, 4))"


def _gate_source(name: str, body: str) -> str:
    g = GATE_PARAMS[name]
    names = {"wx": f"W_x{g}", "wh": f"W_h{g}", "b": f"b_{g}"}
    body = textwrap.indent(textwrap.dedent(body).strip().format(**names), "    ")
    return f"def {name}(x, h_prev, {names['wx']}, {names['wh']}, {names['b']}):\n{body}\n"


def _gate_mutants() -> list[tuple[str, str, str, str | None, str | None]]:
    out = []
    for name, g in GATE_PARAMS.items():
        names = {"wx": f"W_x{g}", "wh": f"W_h{g}", "b": f"b_{g}"}
        table = CANDIDATE_MUTANTS if name == "candidate" else SIGMOID_GATE_MUTANTS
        for label, body, diagnosis in table:
            out.append((name, label, _gate_source(name, body), diagnosis.format(**names), None))
        naive = NAIVE_TANH if name == "candidate" else NAIVE_SIGMOID
        out.append((name, "naive formula that overflows", _gate_source(name, naive), None, "overflowed"))
        if name != "candidate":
            out.append((name, "hard-coded H = 4", _gate_source(name, HARDCODED_H), None, "raised"))
    return out


UPDATE_MUTANTS = [
    ("cell_update", "matrix products", "def cell_update(f, i, g, c_prev):\n    return f @ c_prev + i @ g",
     "matrix product", None),
    ("cell_update", "one matrix product", "def cell_update(f, i, g, c_prev):\n    return np.dot(f, c_prev) + i * g",
     "f @ c_prev", None),
    ("cell_update", "f and i swapped", "def cell_update(f, i, g, c_prev):\n    return i * c_prev + f * g",
     "paired with the wrong terms", None),
    ("cell_update", "g and c_prev swapped", "def cell_update(f, i, g, c_prev):\n    return f * g + i * c_prev",
     "paired with the wrong terms", None),
    ("cell_update", "c_prev ignored", "def cell_update(f, i, g, c_prev):\n    return i * g",
     "old memory is lost", None),
    ("cell_update", "i * g dropped", "def cell_update(f, i, g, c_prev):\n    return f * c_prev",
     "nothing new is written", None),
    ("cell_update", "+ replaced by *", "def cell_update(f, i, g, c_prev):\n    return (f * c_prev) * (i * g)",
     "multiplied the two terms", None),
    ("cell_update", "1 - f", "def cell_update(f, i, g, c_prev):\n    return (1 - f) * c_prev + i * g",
     "(1 - f)", None),
    ("cell_update", "input gate ignored", "def cell_update(f, i, g, c_prev):\n    return f * c_prev + g",
     "without scaling it by the input", None),
    ("cell_update", "tanh on the cell", "def cell_update(f, i, g, c_prev):\n    return np.tanh(f * c_prev + i * g)",
     "applied tanh to the new cell state", None),
    ("cell_update", "modifies c_prev in place",
     "def cell_update(f, i, g, c_prev):\n    c_prev *= f\n    c_prev += i * g\n    return c_prev",
     None, "modified its input `c_prev` in place"),
    ("hidden_update", "tanh missing", "def hidden_update(o, c):\n    return o * c", "tanh is missing", None),
    ("hidden_update", "sigmoid instead of tanh", "def hidden_update(o, c):\n    return o * sigmoid(c)",
     "sigmoid where the hidden update", None),
    ("hidden_update", "tanh of the product", "def hidden_update(o, c):\n    return np.tanh(o * c)",
     "tanh(o ⊙ c)", None),
    ("hidden_update", "sum instead of product", "def hidden_update(o, c):\n    return o + np.tanh(c)",
     "added o and tanh(c)", None),
    ("hidden_update", "matrix product", "def hidden_update(o, c):\n    return o @ np.tanh(c)",
     "matrix product", None),
    ("hidden_update", "output gate ignored", "def hidden_update(o, c):\n    return np.tanh(c)",
     "output gate o is missing", None),
    ("hidden_update", "o and c swapped", "def hidden_update(o, c):\n    return c * np.tanh(o)",
     "swapped o and c", None),
    ("hidden_update", "tanh written with exp",
     "def hidden_update(o, c):\n    e = np.exp(2 * c)\n    return o * (e - 1) / (e + 1)", None, "overflowed"),
    ("hidden_update", "tanh in place on the input",
     "def hidden_update(o, c):\n    np.tanh(c, out=c)\n    return o * c", None, "modified its input `c` in place"),
]

_CELL_HEAD = """
def lstm_cell(x, h_prev, c_prev, params):
    p = params
"""


def _cell(body: str) -> str:
    return _CELL_HEAD + textwrap.indent(textwrap.dedent(body).strip(), "    ") + "\n"


_GATES = """
f = forget_gate(x, {h}, p["W_xf"], p["W_hf"], p["b_f"])
i = input_gate(x, {h}, p["W_xi"], p["W_hi"], p["b_i"])
g = candidate(x, {h}, p["W_xg"], p["W_hg"], p["b_g"])
o = output_gate(x, {h}, p["W_xo"], p["W_ho"], p["b_o"])
"""
GATES = _GATES.format(h="h_prev")

CELL_MUTANTS = [
    ("returns (c, h)", GATES + "c = cell_update(f, i, g, c_prev)\nreturn c, hidden_update(o, c)",
     "returned (c, h)"),
    ("f and i swapped in the call", GATES + "c = cell_update(i, f, g, c_prev)\nreturn hidden_update(o, c), c",
     "f and i are swapped"),
    ("forget gate given the input gate's parameters",
     GATES.replace('p["W_xf"], p["W_hf"], p["b_f"]', 'p["W_xi"], p["W_hi"], p["b_i"]')
     + "c = cell_update(f, i, g, c_prev)\nreturn hidden_update(o, c), c", "forget_gate received the input"),
    ("output gate given the forget gate's parameters",
     GATES.replace('p["W_xo"], p["W_ho"], p["b_o"]', 'p["W_xf"], p["W_hf"], p["b_f"]')
     + "c = cell_update(f, i, g, c_prev)\nreturn hidden_update(o, c), c", "output_gate received the forget"),
    ("candidate with a sigmoid",
     GATES.replace("g = candidate(", "g = input_gate(") + "c = cell_update(f, i, g, c_prev)\n"
     "return hidden_update(o, c), c", "candidate g was computed with a sigmoid"),
    ("gates read c_prev", _GATES.format(h="c_prev") + "c = cell_update(f, i, g, c_prev)\n"
     "return hidden_update(o, c), c", "gates read c_(t-1)"),
    ("h_prev and c_prev swapped", _GATES.format(h="c_prev") + "c = cell_update(f, i, g, h_prev)\n"
     "return hidden_update(o, c), c", "swapped h_prev and c_prev"),
    ("h from the old cell state", GATES + "c = cell_update(f, i, g, c_prev)\nreturn hidden_update(o, c_prev), c",
     "old cell state c_(t-1)"),
    ("returns the old hidden state", GATES + "c = cell_update(f, i, g, c_prev)\nreturn h_prev, c",
     "old hidden state h_prev"),
]

_FORWARD = """
def lstm_forward(x, h0, c0, params):
{body}
"""


def _forward(body: str) -> str:
    return _FORWARD.format(body=textwrap.indent(textwrap.dedent(body).strip(), "    "))


FORWARD_MUTANTS = [
    ("state not carried", """
        hs = []
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[:, t], h0, c0, params)
            hs.append(h)
        return np.stack(hs, axis=1), c
     """, "state is not carried"),
    ("cell state not carried", """
        h, hs = h0, []
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[:, t], h, c0, params)
            hs.append(h)
        return np.stack(hs, axis=1), c
     """, "cell state is not carried"),
    ("returns the cell states", """
        h, c, cs = h0, c0, []
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[:, t], h, c, params)
            cs.append(c)
        return np.stack(cs, axis=1), c
     """, "returned the cell states"),
    ("off by one", """
        h, c, hs = h0, c0, []
        for t in range(x.shape[1]):
            hs.append(h)
            h, c = lstm_cell(x[:, t], h, c, params)
        return np.stack(hs, axis=1), c
     """, "off by one"),
    ("h0 included", """
        h, c, hs = h0, c0, [h0]
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[:, t], h, c, params)
            hs.append(h)
        return np.stack(hs, axis=1), c
     """, "starts with h0"),
    ("time axis first", """
        h, c, hs = h0, c0, []
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[:, t], h, c, params)
            hs.append(h)
        return np.array(hs), c
     """, "time axis comes first"),
    ("sliced the batch axis", """
        h, c, hs = h0, c0, []
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[t], h, c, params)
            hs.append(h)
        return np.stack(hs, axis=1), c
     """, "sliced x[t]"),
    ("backwards in time", """
        h, c, hs = h0, c0, []
        for t in reversed(range(x.shape[1])):
            h, c = lstm_cell(x[:, t], h, c, params)
            hs.append(h)
        return np.stack(hs, axis=1), c
     """, "backwards"),
    ("returns h_T as c_T", """
        h, c, hs = h0, c0, []
        for t in range(x.shape[1]):
            h, c = lstm_cell(x[:, t], h, c, params)
            hs.append(h)
        return np.stack(hs, axis=1), h
     """, "last hidden state h_T where the last cell"),
]

# The backward mutants are written with the four gates fused, unlike the reference.
_BACKWARD = """
def lstm_cell_backward(dh, dc, x, h_prev, c_prev, params):
{pre}    order = "figo"
    W_x = np.concatenate([params["W_x" + k] for k in order], axis=1)
    W_h = np.concatenate([params["W_h" + k] for k in order], axis=1)
    b = np.concatenate([params["b_" + k] for k in order])
    H = h_prev.shape[1]
    a = x @ W_x + h_prev @ W_h + b
    f, i, o = (sigmoid(a[:, k * H:(k + 1) * H]) for k in (0, 1, 3))
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    t = np.tanh(c)
    dc_sum = {dc_sum}
    dsig = {dsig}
    da = np.concatenate([dc_sum * c_prev * dsig(f), dc_sum * g * dsig(i),
                         dc_sum * i * (1 - g * g), dh * t * dsig(o)], axis=1)
    dWx, dWh, db = x.T @ da, h_prev.T @ da, da.sum(axis=0)
    grads = {{"dx": da @ W_x.T, "dh_prev": da @ W_h.T, "dc_prev": dc_sum * f}}
    for k, gate in enumerate(order):
        cols = slice(k * H, (k + 1) * H)
        grads["dW_x" + gate] = dWx[:, cols]
        grads["dW_h" + gate] = dWh[:, cols]
        grads["db_" + gate] = db[cols]
{post}    return grads
"""
GOOD_BACKWARD = {"pre": "", "dc_sum": "dc + dh * o * (1 - t * t)", "dsig": "lambda s: s * (1 - s)", "post": ""}


def _backward(**changes: str) -> str:
    return _BACKWARD.format(**{**GOOD_BACKWARD, **changes})


BACKWARD_MUTANTS = [
    ("dc ignored", _backward(dc_sum="dh * o * (1 - t * t)"), "dc is ignored"),
    ("dh ignored", _backward(pre="    dh = np.zeros_like(dh)\n"), "dh is ignored"),
    ("dx and dh_prev swapped",
     _backward(post="    grads['dx'], grads['dh_prev'] = grads['dh_prev'], grads['dx']\n"), "swapped dx and dh_prev"),
    ("weight gradients transposed",
     _backward(post="    grads = {k: (v.T if k.startswith('dW') else v) for k, v in grads.items()}\n"), "transposed"),
    ("f and i gradients swapped",
     _backward(post="    for kind in ('dW_x', 'dW_h', 'db_'):\n"
                    "        grads[kind + 'f'], grads[kind + 'i'] = grads[kind + 'i'], grads[kind + 'f']\n"),
     "forget and input gates' parameters are swapped"),
    ("path from h into c missing", _backward(dc_sum="dc"), None),
    ("wrong sigmoid derivative", _backward(dsig="lambda s: 1 - s"), None),
]

MUTANTS = (
    _gate_mutants()
    + UPDATE_MUTANTS
    + [("lstm_cell", label, _cell(body), diag, None) for label, body, diag in CELL_MUTANTS]
    + [("lstm_forward", label, _forward(body), diag, None) for label, body, diag in FORWARD_MUTANTS]
    + [("lstm_cell_backward", label, src, diag, None) for label, src, diag in BACKWARD_MUTANTS]
)


def test_every_function_has_at_least_five_mutants() -> None:
    counts = {name: sum(m[0] == name for m in MUTANTS) for name in FUNCTIONS}
    assert all(n >= 5 for n in counts.values()), counts


@pytest.mark.parametrize(("name", "label", "source", "diagnosis", "message"), MUTANTS,
                         ids=[f"{m[0]}-{m[1]}" for m in MUTANTS])
def test_mutant_fails_only_its_own_function(ref, name, label, source, diagnosis, message) -> None:
    results = grade_with(ref, source)
    failed = sorted(k for k, v in results.items() if not v.passed)
    assert failed == [name], f"{label}: expected only {name} to fail, got {failed}: " + "; ".join(
        results[k].message for k in failed)
    outcome = results[name]
    if diagnosis is not None:
        assert outcome.diagnosis is not None and diagnosis in outcome.diagnosis, outcome.message
    if message is not None:
        assert message in outcome.message, outcome.message


def test_most_mutants_get_a_specific_diagnosis(ref) -> None:
    diagnosed = [grade_with(ref, src)[name].diagnosis is not None for name, _, src, _, _ in MUTANTS]
    assert sum(diagnosed) >= 0.8 * len(MUTANTS), f"{sum(diagnosed)} of {len(MUTANTS)} diagnosed"


# ---------------------------------------------------------------------------------------------
# Correct answers written differently get full marks.

FUSED_GATE = """
def {name}(x, h_prev, {wx}, {wh}, {b}):
    xh = np.concatenate([x, h_prev], axis=1)
    W = np.concatenate([{wx}, {wh}], axis=0)
    return {squash}(xh @ W + {b})
"""
EXPIT_GATE = """
from scipy.special import expit
def {name}(x, h_prev, {wx}, {wh}, {b}):
    return expit(np.dot(x, {wx}) + np.dot(h_prev, {wh}) + {b})
"""
LOGADDEXP_GATE = """
def {name}(x, h_prev, {wx}, {wh}, {b}):
    a = np.einsum("nd,dh->nh", x, {wx}) + np.einsum("nk,kh->nh", h_prev, {wh}) + {b}
    return np.exp(-np.logaddexp(0.0, -a))
"""
MASKED_GATE = """
def {name}(x, h_prev, {wx}, {wh}, {b}):
    a = x @ {wx}
    a += h_prev @ {wh}
    a += {b}
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
    e = np.exp(a[~pos])
    out[~pos] = e / (1.0 + e)
    return out
"""
TANH_FROM_SIGMOID = """
def candidate(x, h_prev, W_xg, W_hg, b_g):
    a = np.matmul(x, W_xg) + np.matmul(h_prev, W_hg) + b_g
    return 2.0 * sigmoid(2.0 * a) - 1.0
"""


def _all_gates(template: str) -> str:
    """The template for every sigmoid gate, and for the candidate when it names its squashing."""
    out = []
    for name, g in GATE_PARAMS.items():
        if name == "candidate" and "{squash}" not in template:
            continue
        out.append(template.format(name=name, wx=f"W_x{g}", wh=f"W_h{g}", b=f"b_{g}",
                                   squash="np.tanh" if name == "candidate" else "sigmoid"))
    return "\n".join(out)


FUSED_CELL = """
def lstm_cell(x, h_prev, c_prev, params):
    # One (D + H, 4H) matrix on [x, h_prev], gate blocks in PyTorch's order i, f, g, o.
    W = np.concatenate([np.concatenate([params["W_x" + k], params["W_h" + k]], axis=0)
                        for k in "ifgo"], axis=1)
    b = np.concatenate([params["b_" + k] for k in "ifgo"])
    H = h_prev.shape[1]
    a = np.hstack([x, h_prev]) @ W + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = np.multiply(f, c_prev)
    c += i * g
    h = np.tanh(c)
    h *= o
    return h, c
"""
PREALLOCATED_FORWARD = """
def lstm_forward(x, h0, c0, params):
    N, T, _ = x.shape
    h_seq = np.empty((N, T, h0.shape[1]))
    h, c = h0.copy(), c0.copy()
    for t in range(T):
        h, c = lstm_cell(x=x[:, t, :], h_prev=h, c_prev=c, params=params)
        h_seq[:, t, :] = h
    return h_seq, c
"""
UPDATES_IN_PLACE = """
def cell_update(f, i, g, c_prev):
    c = np.multiply(i, g)
    np.add(c, f * c_prev, out=c)
    return c

def hidden_update(o, c):
    h = np.tanh(c)
    h *= o
    return h
"""
TORCH_BACKWARD = """
import torch
def lstm_cell_backward(dh, dc, x, h_prev, c_prev, params):
    t = {k: torch.tensor(v, requires_grad=True)
         for k, v in dict(params, x=x, h_prev=h_prev, c_prev=c_prev).items()}
    gate = lambda k, squash: squash(t["x"] @ t["W_x" + k] + t["h_prev"] @ t["W_h" + k] + t["b_" + k])
    f, i, o = (gate(k, torch.sigmoid) for k in "fio")
    c = f * t["c_prev"] + i * gate("g", torch.tanh)
    h = o * torch.tanh(c)
    loss = (h * torch.tensor(dh)).sum() + (c * torch.tensor(dc)).sum()
    loss.backward()
    return {"d" + k: v.grad.numpy() for k, v in t.items()}
"""

CORRECT_VARIANTS = {
    "fused gate weights": _all_gates(FUSED_GATE),
    "scipy.special.expit": _all_gates(EXPIT_GATE),
    "np.exp-based stable sigmoid (logaddexp)": _all_gates(LOGADDEXP_GATE),
    "masked stable sigmoid, in-place sums": _all_gates(MASKED_GATE),
    "tanh from the given sigmoid": TANH_FROM_SIGMOID,
    "in-place updates on fresh arrays": UPDATES_IN_PLACE,
    "fused cell in PyTorch's gate order": FUSED_CELL,
    "preallocated output, keyword calls": PREALLOCATED_FORWARD,
    "backward by torch autograd": TORCH_BACKWARD,
}


@pytest.mark.parametrize("label", list(CORRECT_VARIANTS))
@pytest.mark.parametrize("seed", [SEED, 7])
def test_correct_but_different_answers_get_full_marks(ref, label: str, seed: int) -> None:
    results = grade_with(ref, CORRECT_VARIANTS[label], seed=seed)
    failed = {k: v.message for k, v in results.items() if not v.passed}
    assert not failed, failed


def test_a_broken_gate_costs_only_the_gate(ref) -> None:
    """Partial credit: the composites call the broken gate by name, yet pass (``uses``)."""
    results = grade_with(ref, _gate_source("forget_gate", "return np.tanh(x @ W_xf + h_prev @ W_hf + b_f)"))
    assert not results["forget_gate"].passed
    assert all(results[k].passed for k in ("lstm_cell", "lstm_forward", "lstm_cell_backward"))


def test_missing_functions_are_reported(ref) -> None:
    ns = student_namespace(ASSIGNMENT)
    del ns["lstm_forward"]
    results = grade_namespace(ASSIGNMENT, ns, seed=SEED)
    assert not results["lstm_forward"].passed and "not defined" in results["lstm_forward"].message
    assert all(v.passed for k, v in results.items() if k != "lstm_forward")


def test_unimplemented_function_says_so(ref) -> None:
    results = grade_with(ref, "def candidate(x, h_prev, W_xg, W_hg, b_g):\n    raise NotImplementedError()")
    assert "not implemented yet" in results["candidate"].message


# ---------------------------------------------------------------------------------------------
# The reference is a real LSTM.


def _random_params(rng: np.random.Generator, d: int, h: int) -> dict[str, np.ndarray]:
    return {f"{kind}{g}": rng.normal(0.0, 0.5, size=shape) for g in "figo"
            for kind, shape in (("W_x", (d, h)), ("W_h", (h, h)), ("b_", (h,)))}


def test_reference_cell_equals_torch_lstm_cell(ref) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    n, d, h = 3, 5, 4
    params = _random_params(rng, d, h)
    x, h_prev, c_prev = rng.standard_normal((n, d)), rng.standard_normal((n, h)), rng.standard_normal((n, h))
    cell = torch.nn.LSTMCell(d, h).double()
    with torch.no_grad():  # torch stacks the gate blocks as i, f, g, o, column-vector convention
        cell.weight_ih.copy_(torch.from_numpy(np.concatenate([params["W_x" + k].T for k in "ifgo"])))
        cell.weight_hh.copy_(torch.from_numpy(np.concatenate([params["W_h" + k].T for k in "ifgo"])))
        cell.bias_ih.copy_(torch.from_numpy(np.concatenate([params["b_" + k] for k in "ifgo"])))
        cell.bias_hh.zero_()
        h_t, c_t = cell(torch.from_numpy(x), (torch.from_numpy(h_prev), torch.from_numpy(c_prev)))
    h_ref, c_ref = ref.lstm_cell(x, h_prev, c_prev, params)
    np.testing.assert_allclose(h_ref, h_t.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_ref, c_t.numpy(), rtol=1e-12, atol=1e-14)

    seq = rng.standard_normal((n, 6, d))
    lstm = torch.nn.LSTM(d, h, batch_first=True).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(cell, name))
        out, (_, c_last) = lstm(torch.from_numpy(seq),
                                (torch.from_numpy(h_prev)[None], torch.from_numpy(c_prev)[None]))
    h_seq, c_T = ref.lstm_forward(seq, h_prev, c_prev, params)
    np.testing.assert_allclose(h_seq, out.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_T, c_last[0].numpy(), rtol=1e-12, atol=1e-14)


def test_reference_backward_matches_finite_differences(ref) -> None:
    rng = np.random.default_rng(12)
    n, d, h = 2, 3, 4
    params = _random_params(rng, d, h)
    x, h_prev, c_prev = rng.standard_normal((n, d)), rng.standard_normal((n, h)), rng.standard_normal((n, h))
    dh, dc = rng.standard_normal((n, h)), rng.standard_normal((n, h))

    def loss() -> float:
        h_t, c_t = ref.lstm_cell(x, h_prev, c_prev, params)
        return float(np.sum(dh * h_t) + np.sum(dc * c_t))

    grads = ref.lstm_cell_backward(dh, dc, x, h_prev, c_prev, params)
    arrays = {"dx": x, "dh_prev": h_prev, "dc_prev": c_prev, **{"d" + k: v for k, v in params.items()}}
    assert set(grads) == set(arrays)
    for key, array in arrays.items():
        np.testing.assert_allclose(grads[key], numerical_gradient(loss, array), rtol=1e-6, atol=1e-8,
                                   err_msg=key)


def test_visible_tests_pass_with_the_reference() -> None:
    """The literal expected values in the test cells agree with the reference (no hidden tests)."""
    import nbformat

    nb = nbformat.read(source_notebook(ASSIGNMENT, ROOT), as_version=4)
    ns: dict = {"__name__": "visible_tests"}
    ran = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        try:
            exec(compile(source, cell.metadata["nbgrader"]["grade_id"], "exec"), ns)  # noqa: S102
        except CheckFailed as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"visible test {cell.metadata['nbgrader']['grade_id']} failed: {exc}")
        ran += "check_function(" in source
    assert ran == len(FUNCTIONS)
