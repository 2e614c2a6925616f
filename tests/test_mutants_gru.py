"""Mutation tests of assignment 04_gru: deliberately wrong answers fail, right ones pass.

Each mutant replaces one graded function of the reference namespace by a wrong version (source
below, exec'd with that namespace as globals, as a student's cell would be). The grader must fail
exactly that function, pass every other one (partial credit), and in most cases name the mistake.
Correct answers written differently (fused weights, another sigmoid, in-place operations on fresh
arrays, another algebraic form) must get full marks.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder.hidden_tests import grade_function, grade_namespace
from autograder.reference import load_reference
from autograder.specs import get_spec
from autograder.specs.gru import reset_after_states, torch_gru_states

ROOT = Path(__file__).parents[1]
ASSIGNMENT = "04_gru"
SEEDS = (0, 1)
FUNCTIONS = ("reset_gate", "update_gate", "candidate", "hidden_update", "gru_cell", "to_torch_gru")


@pytest.fixture(autouse=True)
def _course_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNCOURSE_ROOT", str(ROOT))


@pytest.fixture(scope="module")
def ref():
    os.environ.setdefault("RNNCOURSE_ROOT", str(ROOT))
    return load_reference(ASSIGNMENT, root=ROOT)


def namespace_with(ref, source: str) -> dict:
    ns = dict(vars(ref))
    exec(textwrap.dedent(source), ns)  # noqa: S102 - test mutants written in this file
    return ns


# ---------------------------------------------------------------------------------------------
# Mutants: (function, label, source). The label says what the mutant gets wrong.

GATE_MUTANTS = []
for _fn, (_x, _h, _b) in {"reset_gate": ("W_xr", "W_hr", "b_r"), "update_gate": ("W_xz", "W_hz", "b_z")}.items():
    _sig = f"def {_fn}(x, h_prev, {_x}, {_h}, {_b}):"
    GATE_MUTANTS += [
        (_fn, "tanh", f"{_sig}\n    return np.tanh(x @ {_x} + h_prev @ {_h} + {_b})"),
        (_fn, "no nonlinearity", f"{_sig}\n    return x @ {_x} + h_prev @ {_h} + {_b}"),
        (_fn, "no bias", f"{_sig}\n    return sigmoid(x @ {_x} + h_prev @ {_h})"),
        (_fn, "bias after sigmoid", f"{_sig}\n    return sigmoid(x @ {_x} + h_prev @ {_h}) + {_b}"),
        (_fn, "x and h_prev swapped", f"{_sig}\n    return sigmoid(h_prev @ {_x} + x @ {_h} + {_b})"),
        (_fn, "weights swapped", f"{_sig}\n    return sigmoid(x @ {_h} + h_prev @ {_x} + {_b})"),
        (_fn, "weights transposed", f"{_sig}\n    return sigmoid(x @ {_x}.T + h_prev @ {_h}.T + {_b})"),
        (_fn, "h_prev ignored", f"{_sig}\n    return sigmoid(x @ {_x} + {_b})"),
        (_fn, "x ignored", f"{_sig}\n    return sigmoid(h_prev @ {_h} + {_b})"),
        (_fn, "1 - gate", f"{_sig}\n    return 1 - sigmoid(x @ {_x} + h_prev @ {_h} + {_b})"),
        (_fn, "naive sigmoid overflows",
         f"{_sig}\n    return 1 / (1 + np.exp(-(x @ {_x} + h_prev @ {_h} + {_b})))"),
        (_fn, "other naive sigmoid overflows",
         f"{_sig}\n    e = np.exp(x @ {_x} + h_prev @ {_h} + {_b})\n    return e / (1 + e)"),
        (_fn, "in place on an input", f"{_sig}\n    x *= 1.0\n    {_b} += 0.1\n    return sigmoid(x @ {_x} + h_prev @ {_h} + {_b})"),
        (_fn, "float32", f"{_sig}\n    return sigmoid(x @ {_x} + h_prev @ {_h} + {_b}).astype(np.float32)"),
    ]
CAND = "def candidate(x, h_prev, r, W_xh, W_hh, b_h):\n    "
CANDIDATE_MUTANTS = [
    ("candidate", "reset after the product", CAND + "return np.tanh(x @ W_xh + r * (h_prev @ W_hh) + b_h)"),
    ("candidate", "reset ignored", CAND + "return np.tanh(x @ W_xh + h_prev @ W_hh + b_h)"),
    ("candidate", "1 - r", CAND + "return np.tanh(x @ W_xh + ((1 - r) * h_prev) @ W_hh + b_h)"),
    ("candidate", "r @ h_prev", CAND + "return np.tanh(x @ W_xh + (r @ h_prev) @ W_hh + b_h)"),
    ("candidate", "reset on the output", CAND + "return r * np.tanh(x @ W_xh + h_prev @ W_hh + b_h)"),
    ("candidate", "sigmoid", CAND + "return sigmoid(x @ W_xh + (r * h_prev) @ W_hh + b_h)"),
    ("candidate", "no nonlinearity", CAND + "return x @ W_xh + (r * h_prev) @ W_hh + b_h"),
    ("candidate", "no bias", CAND + "return np.tanh(x @ W_xh + (r * h_prev) @ W_hh)"),
    ("candidate", "weights swapped", CAND + "return np.tanh(x @ W_hh + (r * h_prev) @ W_xh + b_h)"),
    ("candidate", "x and h_prev swapped", CAND + "return np.tanh(h_prev @ W_xh + (r * x) @ W_hh + b_h)"),
    ("candidate", "weights transposed", CAND + "return np.tanh(x @ W_xh.T + (r * h_prev) @ W_hh.T + b_h)"),
    ("candidate", "reset modifies h_prev in place", CAND + "h_prev *= r\n    return np.tanh(x @ W_xh + h_prev @ W_hh + b_h)"),
]

UPD = "def hidden_update(z, h_prev, h_tilde):\n    "
UPDATE_MUTANTS = [
    ("hidden_update", "PyTorch's convention", UPD + "return z * h_prev + (1 - z) * h_tilde"),
    ("hidden_update", "h_prev and h_tilde swapped", UPD + "return (1 - z) * h_tilde + z * h_prev"),
    ("hidden_update", "a sum", UPD + "return h_prev + z * h_tilde"),
    ("hidden_update", "no gate at all", UPD + "return h_prev + h_tilde"),
    ("hidden_update", "@ instead of *", UPD + "return (1 - z) @ h_prev + z @ h_tilde"),
    ("hidden_update", "h_prev term dropped", UPD + "return z * h_tilde"),
    ("hidden_update", "h_tilde term dropped", UPD + "return (1 - z) * h_prev"),
    ("hidden_update", "plain average", UPD + "return 0.5 * (h_prev + h_tilde)"),
    ("hidden_update", "in place on h_prev", UPD + "h_prev *= 1 - z\n    h_prev += z * h_tilde\n    return h_prev"),
    ("hidden_update", "returns a list", UPD + "return [(1 - z) * h_prev + z * h_tilde]"),
]

CELL = "def gru_cell(x, h_prev, params):\n    p = params\n"
_R = "    r = reset_gate(x, h_prev, p['W_xr'], p['W_hr'], p['b_r'])\n"
_Z = "    z = update_gate(x, h_prev, p['W_xz'], p['W_hz'], p['b_z'])\n"
_C = "    h_tilde = candidate(x, h_prev, r, p['W_xh'], p['W_hh'], p['b_h'])\n"
CELL_MUTANTS = [
    ("gru_cell", "z passed to candidate",
     CELL + _R + _Z + "    h_tilde = candidate(x, h_prev, z, p['W_xh'], p['W_hh'], p['b_h'])\n"
     "    return hidden_update(z, h_prev, h_tilde)"),
    ("gru_cell", "r passed to hidden_update", CELL + _R + _Z + _C + "    return hidden_update(r, h_prev, h_tilde)"),
    ("gru_cell", "gates swapped",
     CELL + _R + _Z + "    h_tilde = candidate(x, h_prev, z, p['W_xh'], p['W_hh'], p['b_h'])\n"
     "    return hidden_update(r, h_prev, h_tilde)"),
    ("gru_cell", "update gate's parameters to reset_gate",
     CELL + "    r = reset_gate(x, h_prev, p['W_xz'], p['W_hz'], p['b_z'])\n" + _Z + _C
     + "    return hidden_update(z, h_prev, h_tilde)"),
    ("gru_cell", "candidate's parameters to update_gate",
     CELL + _R + "    z = update_gate(x, h_prev, p['W_xh'], p['W_hh'], p['b_h'])\n" + _C
     + "    return hidden_update(z, h_prev, h_tilde)"),
    ("gru_cell", "hidden_update arguments swapped", CELL + _R + _Z + _C + "    return hidden_update(z, h_tilde, h_prev)"),
    ("gru_cell", "1 - z", CELL + _R + _Z + _C + "    return hidden_update(1 - z, h_prev, h_tilde)"),
    ("gru_cell", "reset ignored",
     CELL + _Z + "    h_tilde = candidate(x, h_prev, np.ones_like(h_prev), p['W_xh'], p['W_hh'], p['b_h'])\n"
     "    return hidden_update(z, h_prev, h_tilde)"),
    ("gru_cell", "reset applied twice",
     CELL + _R + _Z + "    h_tilde = candidate(x, r * h_prev, r, p['W_xh'], p['W_hh'], p['b_h'])\n"
     "    return hidden_update(z, h_prev, h_tilde)"),
    ("gru_cell", "returns h_tilde", CELL + _R + _C + "    return h_tilde"),
    ("gru_cell", "h_prev passed twice", CELL + _R + _Z + _C + "    return hidden_update(z, h_prev, h_prev)"),
    ("gru_cell", "returns (h, h)", CELL + _R + _Z + _C + "    h = hidden_update(z, h_prev, h_tilde)\n    return h, h"),
]

CONV = "def to_torch_gru(params):\n    p = params\n    H = p['W_hh'].shape[0]\n    T = lambda a: torch.tensor(a, dtype=torch.float64)\n"


def _conv(w_ih: str, w_hh: str, b_ih: str, b_hh: str) -> str:
    return (CONV + f"    return {{'weight_ih_l0': T({w_ih}), 'weight_hh_l0': T({w_hh}),\n"
            f"            'bias_ih_l0': T({b_ih}), 'bias_hh_l0': T({b_hh})}}")


_WIH = "np.concatenate([p['W_xr'].T, -p['W_xz'].T, p['W_xh'].T])"
_WHH = "np.concatenate([p['W_hr'].T, -p['W_hz'].T, p['W_hh'].T])"
_BIH = "np.concatenate([p['b_r'], -p['b_z'], p['b_h']])"
_BHH = "np.concatenate([np.zeros(2 * H), p['b_hh']])"
CONVERSION_MUTANTS = [
    ("to_torch_gru", "not transposed",
     _conv("np.concatenate([p['W_xr'], -p['W_xz'], p['W_xh']], axis=1)",
           "np.concatenate([p['W_hr'], -p['W_hz'], p['W_hh']], axis=1)", _BIH, _BHH)),
    ("to_torch_gru", "update gate not negated",
     _conv("np.concatenate([p['W_xr'].T, p['W_xz'].T, p['W_xh'].T])",
           "np.concatenate([p['W_hr'].T, p['W_hz'].T, p['W_hh'].T])",
           "np.concatenate([p['b_r'], p['b_z'], p['b_h']])", _BHH)),
    ("to_torch_gru", "bias of the update gate not negated",
     _conv(_WIH, _WHH, "np.concatenate([p['b_r'], p['b_z'], p['b_h']])", _BHH)),
    ("to_torch_gru", "order z, r, n",
     _conv("np.concatenate([-p['W_xz'].T, p['W_xr'].T, p['W_xh'].T])",
           "np.concatenate([-p['W_hz'].T, p['W_hr'].T, p['W_hh'].T])",
           "np.concatenate([-p['b_z'], p['b_r'], p['b_h']])", _BHH)),
    ("to_torch_gru", "order z, r, n and not negated",
     _conv("np.concatenate([p['W_xz'].T, p['W_xr'].T, p['W_xh'].T])",
           "np.concatenate([p['W_hz'].T, p['W_hr'].T, p['W_hh'].T])",
           "np.concatenate([p['b_z'], p['b_r'], p['b_h']])", _BHH)),
    ("to_torch_gru", "order n, r, z",
     _conv("np.concatenate([p['W_xh'].T, p['W_xr'].T, -p['W_xz'].T])",
           "np.concatenate([p['W_hh'].T, p['W_hr'].T, -p['W_hz'].T])",
           "np.concatenate([p['b_h'], p['b_r'], -p['b_z']])", "np.concatenate([p['b_hh'], np.zeros(2 * H)])")),
    ("to_torch_gru", "weights of the update gate not negated",
     _conv("np.concatenate([p['W_xr'].T, p['W_xz'].T, p['W_xh'].T])",
           "np.concatenate([p['W_hr'].T, p['W_hz'].T, p['W_hh'].T])", _BIH, _BHH)),
    ("to_torch_gru", "b_h and b_hh swapped",
     _conv(_WIH, _WHH, "np.concatenate([p['b_r'], -p['b_z'], p['b_hh']])",
           "np.concatenate([np.zeros(2 * H), p['b_h']])")),
    ("to_torch_gru", "b_hh left out", _conv(_WIH, _WHH, _BIH, "np.zeros(3 * H)")),
    ("to_torch_gru", "b_hh added to bias_ih",
     _conv(_WIH, _WHH, "np.concatenate([p['b_r'], -p['b_z'], p['b_h'] + p['b_hh']])", "np.zeros(3 * H)")),
    ("to_torch_gru", "weight matrices swapped", _conv(_WHH, _WIH, _BIH, _BHH)),
    ("to_torch_gru", "reset gate negated too",
     _conv("np.concatenate([-p['W_xr'].T, -p['W_xz'].T, p['W_xh'].T])",
           "np.concatenate([-p['W_hr'].T, -p['W_hz'].T, p['W_hh'].T])",
           "np.concatenate([-p['b_r'], -p['b_z'], p['b_h']])", _BHH)),
    ("to_torch_gru", "float32",
     CONV.replace("torch.float64", "torch.float32")
     + f"    return {{'weight_ih_l0': T({_WIH}), 'weight_hh_l0': T({_WHH}),\n"
     f"            'bias_ih_l0': T({_BIH}), 'bias_hh_l0': T({_BHH})}}"),
    ("to_torch_gru", "r and z biases in both vectors",
     _conv(_WIH, _WHH, _BIH, "np.concatenate([p['b_r'], -p['b_z'], p['b_hh']])")),
    ("to_torch_gru", "numpy arrays instead of tensors",
     CONV.replace("torch.tensor(a, dtype=torch.float64)", "np.array(a)")
     + f"    return {{'weight_ih_l0': T({_WIH}), 'weight_hh_l0': T({_WHH}),\n"
     f"            'bias_ih_l0': T({_BIH}), 'bias_hh_l0': T({_BHH})}}"),
    ("to_torch_gru", "a key misspelt",
     CONV + f"    return {{'weight_ih': T({_WIH}), 'weight_hh_l0': T({_WHH}),\n"
     f"            'bias_ih_l0': T({_BIH}), 'bias_hh_l0': T({_BHH})}}"),
]

MUTANTS = GATE_MUTANTS + CANDIDATE_MUTANTS + UPDATE_MUTANTS + CELL_MUTANTS + CONVERSION_MUTANTS


def _id(m: tuple[str, str, str]) -> str:
    return f"{m[0]}-{m[1].replace(' ', '_')}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=_id)
@pytest.mark.parametrize("seed", SEEDS)
def test_mutant_fails_only_its_function(ref, mutant, seed) -> None:
    fn, label, source = mutant
    results = grade_namespace(ASSIGNMENT, namespace_with(ref, source), seed=seed)
    assert set(results) == set(FUNCTIONS)
    assert not results[fn].passed, f"the mutant '{label}' of {fn} passed: {results[fn].message}"
    wrongly_failed = {k: o.message for k, o in results.items() if k != fn and not o.passed}
    assert not wrongly_failed, f"the mutant '{label}' of {fn} also failed {wrongly_failed}"


def test_every_function_has_at_least_five_mutants() -> None:
    for fn in FUNCTIONS:
        assert sum(m[0] == fn for m in MUTANTS) >= 5, fn


def _diagnosis(fn: str, outcome) -> str | None:
    """The catalogued mistake named by an outcome. A function graded by a judge (to_torch_gru) puts
    it in the message, since the judge's verdict is a message only (Outcome.diagnosis stays None)."""
    if outcome.diagnosis is not None:
        return outcome.diagnosis
    spec = get_spec(ASSIGNMENT).functions[fn]
    if spec.judge is not None:
        for mistake in spec.mistakes:
            if mistake.message in outcome.message:
                return mistake.message
    return None


def test_most_mutants_get_a_specific_diagnosis(ref) -> None:
    diagnosed, vague = 0, []
    for fn, label, source in MUTANTS:
        outcome = grade_namespace(ASSIGNMENT, namespace_with(ref, source), seed=0, only=[fn])[fn]
        if _diagnosis(fn, outcome) is not None:
            diagnosed += 1
        else:
            vague.append(f"{fn}/{label}: {outcome.message}")
    rate = diagnosed / len(MUTANTS)
    assert rate >= 0.8, f"only {rate:.0%} of mutants diagnosed; not diagnosed:\n" + "\n".join(vague)


@pytest.mark.parametrize(
    ("fn", "label", "expected"),
    [
        ("reset_gate", "tanh", "tanh where the reset gate needs sigmoid"),
        ("update_gate", "1 - gate", "1 - z"),
        ("reset_gate", "x and h_prev swapped", "swapped"),
        ("reset_gate", "weights transposed", "transposed"),
        ("candidate", "reset after the product", "reset after the matrix product"),
        ("candidate", "r @ h_prev", "element-wise"),
        ("hidden_update", "PyTorch's convention", "PyTorch's convention"),
        ("hidden_update", "h_prev and h_tilde swapped", "PyTorch's convention, or h_prev and h_tilde swapped"),
        ("hidden_update", "a sum", "weighted average"),
        ("hidden_update", "@ instead of *", "element-wise"),
        ("gru_cell", "z passed to candidate", "update gate where the reset gate belongs"),
        ("gru_cell", "1 - z", "wrong order (or passed 1 - z)"),
        ("to_torch_gru", "update gate not negated", "did not negate the update gate"),
        ("to_torch_gru", "order z, r, n", "(z, r, n)"),
        ("to_torch_gru", "not transposed", "without transposing"),
        ("to_torch_gru", "b_h and b_hh swapped", "swapped b_h and b_hh"),
        ("to_torch_gru", "b_hh added to bias_ih", "added b_hh to b_h"),
    ],
)
def test_diagnosis_names_the_mistake(ref, fn, label, expected) -> None:
    (source,) = [s for f, lab, s in MUTANTS if (f, lab) == (fn, label)]
    outcome = grade_namespace(ASSIGNMENT, namespace_with(ref, source), seed=0, only=[fn])[fn]
    found = _diagnosis(fn, outcome)
    assert found is not None and expected in found, outcome.message


@pytest.mark.parametrize(
    ("label", "expected"),
    [("numpy arrays instead of tensors", "needs torch tensors"), ("float32", "float64"),
     ("a key misspelt", "missing keys ['weight_ih_l0']"), ("r and z biases in both vectors", "count twice")],
)
def test_conversion_form_problems_are_reported(ref, label, expected) -> None:
    (source,) = [s for f, lab, s in MUTANTS if (f, lab) == ("to_torch_gru", label)]
    outcome = grade_namespace(ASSIGNMENT, namespace_with(ref, source), seed=0, only=["to_torch_gru"])
    assert not outcome["to_torch_gru"].passed and expected in outcome["to_torch_gru"].message, outcome


@pytest.mark.parametrize(
    ("label", "expected"),
    [("naive sigmoid overflows", "overflowed"), ("other naive sigmoid overflows", "overflowed"),
     ("in place on an input", "in place"), ("float32", "float64")],
)
def test_numerical_problems_are_reported(ref, label, expected) -> None:
    for fn in ("reset_gate", "update_gate"):
        (source,) = [s for f, lab, s in MUTANTS if (f, lab) == (fn, label)]
        outcome = grade_namespace(ASSIGNMENT, namespace_with(ref, source), seed=0, only=[fn])[fn]
        assert not outcome.passed and expected in outcome.message, outcome.message


# ---------------------------------------------------------------------------------------------
# Correct answers written differently get full marks.

CORRECT_VARIANTS = {
    "scipy expit": """
        from scipy.special import expit
        def reset_gate(x, h_prev, W_xr, W_hr, b_r):
            return expit(x @ W_xr + h_prev @ W_hr + b_r)
        def update_gate(x, h_prev, W_xz, W_hz, b_z):
            return expit(np.einsum('nd,dh->nh', x, W_xz) + np.einsum('nk,kh->nh', h_prev, W_hz) + b_z)
    """,
    "np.exp-based stable sigmoid and the tanh identity": """
        def my_sigmoid(a):
            out = np.empty_like(a)
            pos = a >= 0
            out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
            e = np.exp(a[~pos])
            out[~pos] = e / (1.0 + e)
            return out
        def reset_gate(x, h_prev, W_xr, W_hr, b_r):
            return my_sigmoid(x @ W_xr + h_prev @ W_hr + b_r)
        def update_gate(x, h_prev, W_xz, W_hz, b_z):
            return 0.5 * (1.0 + np.tanh(0.5 * (x @ W_xz + h_prev @ W_hz + b_z)))
    """,
    "fused weights on [x, h_prev]": """
        def reset_gate(x, h_prev, W_xr, W_hr, b_r):
            return sigmoid(np.concatenate([x, h_prev], axis=1) @ np.vstack([W_xr, W_hr]) + b_r)
        def update_gate(x, h_prev, W_xz, W_hz, b_z):
            return sigmoid(np.hstack([x, h_prev]) @ np.concatenate([W_xz, W_hz]) + b_z[None, :])
        def candidate(x, h_prev, r, W_xh, W_hh, b_h):
            return np.tanh(np.hstack([x, r * h_prev]) @ np.vstack([W_xh, W_hh]) + b_h)
        def gru_cell(x, h_prev, params):
            p, H = params, h_prev.shape[1]
            xh = np.hstack([x, h_prev])
            gates = sigmoid(xh @ np.vstack([np.hstack([p['W_xr'], p['W_xz']]), np.hstack([p['W_hr'], p['W_hz']])])
                            + np.concatenate([p['b_r'], p['b_z']]))
            r, z = gates[:, :H], gates[:, H:]
            h_tilde = np.tanh(np.hstack([x, r * h_prev]) @ np.vstack([p['W_xh'], p['W_hh']]) + p['b_h'])
            return h_prev + z * (h_tilde - h_prev)
    """,
    "in-place operations on fresh arrays": """
        def reset_gate(x, h_prev, W_xr, W_hr, b_r):
            a = x @ W_xr
            a += h_prev @ W_hr
            a += b_r
            return sigmoid(a)
        def candidate(x, h_prev, r, W_xh, W_hh, b_h):
            reset = h_prev.copy()
            reset *= r
            a = reset @ W_hh
            a += x @ W_xh
            a += b_h
            np.tanh(a, out=a)
            return a
        def hidden_update(z, h_prev, h_tilde):
            out = 1.0 - z
            out *= h_prev
            out += z * h_tilde
            return out
    """,
    "another algebraic form": """
        def hidden_update(z, h_prev, h_tilde):
            return h_prev + z * (h_tilde - h_prev)
        def candidate(x, h_prev, r, W_xh, W_hh, b_h):
            return np.tanh(x @ W_xh + np.einsum('nh,hk->nk', r * h_prev, W_hh) + b_h)
        def gru_cell(x, h_prev, params):
            g = {k: params[k] for k in params}
            z = update_gate(h_prev=h_prev, x=x, W_xz=g['W_xz'], W_hz=g['W_hz'], b_z=g['b_z'])
            r = reset_gate(x, h_prev, W_xr=g['W_xr'], W_hr=g['W_hr'], b_r=g['b_r'])
            return hidden_update(z=z, h_prev=h_prev,
                                 h_tilde=candidate(x, h_prev, r, g['W_xh'], g['W_hh'], g['b_h']))
    """,
    "conversion with torch operations": """
        def to_torch_gru(params):
            t = {k: torch.from_numpy(np.array(v)) for k, v in params.items()}
            H = t['W_hh'].shape[0]
            return {
                'weight_ih_l0': torch.cat([t['W_xr'], -t['W_xz'], t['W_xh']], dim=1).T.contiguous(),
                'weight_hh_l0': torch.stack([t['W_hr'].T, -t['W_hz'].T, t['W_hh'].T]).reshape(3 * H, H),
                'bias_ih_l0': torch.cat([t['b_r'], t['b_z'].neg(), t['b_h']]),
                'bias_hh_l0': torch.cat([torch.zeros(2 * H, dtype=torch.float64), t['b_hh']]),
            }
    """,
    "conversion with the r and z biases in bias_hh_l0": """
        def to_torch_gru(params):
            p = params
            H = p['W_hh'].shape[0]
            T = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=torch.float64)
            return {'weight_ih_l0': T(np.vstack([p['W_xr'].T, -p['W_xz'].T, p['W_xh'].T])),
                    'weight_hh_l0': T(np.vstack([p['W_hr'].T, -p['W_hz'].T, p['W_hh'].T])),
                    'bias_ih_l0': T(np.concatenate([np.zeros(2 * H), p['b_h']])),
                    'bias_hh_l0': T(np.concatenate([p['b_r'], -p['b_z'], p['b_hh']]))}
    """,
    "conversion with the r and z biases split between the two vectors": """
        def to_torch_gru(params):
            p = params
            gates_ih = np.concatenate([0.25 * p['b_r'], -0.5 * p['b_z']])
            gates_hh = np.concatenate([0.75 * p['b_r'], -0.5 * p['b_z']])
            return {'weight_ih_l0': torch.tensor(np.concatenate([p['W_xr'], -p['W_xz'], p['W_xh']], axis=1).T),
                    'weight_hh_l0': torch.tensor(np.concatenate([p['W_hr'], -p['W_hz'], p['W_hh']], axis=1).T),
                    'bias_ih_l0': torch.tensor(np.concatenate([gates_ih, p['b_h']])),
                    'bias_hh_l0': torch.tensor(np.concatenate([gates_hh, p['b_hh']]))}
    """,
    "conversion via a GRU module": """
        def to_torch_gru(params):
            D, H = params['W_xh'].shape
            gru = torch.nn.GRU(D, H, batch_first=True).double()
            blocks = [('W_xr', 'W_hr', 'b_r', 1.0), ('W_xz', 'W_hz', 'b_z', -1.0), ('W_xh', 'W_hh', 'b_h', 1.0)]
            with torch.no_grad():
                gru.bias_hh_l0.zero_()
                for k, (wx, wh, b, sign) in enumerate(blocks):
                    rows = slice(k * H, (k + 1) * H)
                    gru.weight_ih_l0[rows] = torch.from_numpy(sign * params[wx].T)
                    gru.weight_hh_l0[rows] = torch.from_numpy(sign * params[wh].T)
                    gru.bias_ih_l0[rows] = torch.from_numpy(sign * params[b])
                gru.bias_hh_l0[2 * H:] = torch.from_numpy(params['b_hh'])
            return {k: v.detach().clone() for k, v in gru.state_dict().items()}
    """,
}


@pytest.mark.parametrize("variant", sorted(CORRECT_VARIANTS))
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_variants_get_full_marks(ref, variant, seed) -> None:
    results = grade_namespace(ASSIGNMENT, namespace_with(ref, CORRECT_VARIANTS[variant]), seed=seed)
    failed = {k: o.message for k, o in results.items() if not o.passed}
    assert not failed, f"{variant}: {failed}"


def test_reference_passes_on_many_seeds(ref) -> None:
    for seed in range(2, 8):
        results = grade_namespace(ASSIGNMENT, dict(vars(ref)), seed=seed)
        assert all(o.passed for o in results.values()), {k: o.message for k, o in results.items()}


# ---------------------------------------------------------------------------------------------
# The spec itself: cases cover what the assignment promises; every catalogued mistake is wrong.


def test_cases_cover_batch_of_one_unequal_sizes_and_overflow(ref) -> None:
    spec = get_spec(ASSIGNMENT)
    rng = np.random.default_rng(0)
    for fn in ("reset_gate", "update_gate"):
        cases = spec.functions[fn].cases(rng)
        w_x, w_h, b = [k for k in cases[0] if k not in ("x", "h_prev")]
        assert any(kw["x"].shape[0] == 1 for kw in cases)
        assert any(kw[w_x].shape[0] != kw[w_x].shape[1] for kw in cases)
        pre = [kw["x"] @ kw[w_x] + kw["h_prev"] @ kw[w_h] + kw[b] for kw in cases]
        assert max(a.max() for a in pre) > 709 and min(a.min() for a in pre) < -709  # exp overflows
        first = cases[0]
        assert first["x"].shape[0] == first["x"].shape[1] == first["h_prev"].shape[1]  # square first
    cell = spec.functions["gru_cell"].cases(rng)
    assert any(kw["x"].shape[0] == 1 for kw in cell)
    assert any(np.abs(kw["params"]["b_z"]).max() >= 800 for kw in cell)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_every_catalogued_mistake_differs_from_the_reference(ref, fn) -> None:
    from autograder.checks import outputs_match

    spec = get_spec(ASSIGNMENT).functions[fn]
    (first, *_) = spec.cases(np.random.default_rng(0))
    expected = spec.reference_output(ref, first)
    for mistake in spec.mistakes:
        with np.errstate(all="ignore"):
            wrong = mistake.output(ref, first)
        assert not outputs_match(wrong, expected), f"{fn}: '{mistake.message}' equals the reference"
    messages = [m.message for m in spec.mistakes]
    assert len(set(messages)) == len(messages) >= 5


def test_conversion_mistakes_change_what_nn_gru_computes(ref) -> None:
    """Every catalogued conversion mistake is wrong *behaviourally*: nn.GRU loaded with it does not
    reproduce the reset-after GRU (or refuses the tensors), so the judge never passes one."""
    spec = get_spec(ASSIGNMENT).functions["to_torch_gru"]
    for kw in spec.cases(np.random.default_rng(5)):
        target = reset_after_states(ref, kw["params"])
        np.testing.assert_allclose(torch_gru_states(ref, kw["params"], ref.to_torch_gru(kw["params"])), target,
                                   rtol=1e-10, atol=1e-12)
        for mistake in spec.mistakes:
            state_dict = mistake.output(ref, kw)
            try:
                got = torch_gru_states(ref, kw["params"], state_dict)
            except RuntimeError:  # wrong shapes: load_state_dict refuses them
                continue
            assert not np.allclose(got, target, rtol=1e-7, atol=1e-10), mistake.message


def test_reset_before_gru_is_not_a_reset_after_gru(ref) -> None:
    """The notebook's claim: the notes' candidate (reset before the product) differs from PyTorch's
    (reset after) although every other parameter is shared, unless W_hh is diagonal."""
    rng = np.random.default_rng(0)
    n, d, h = 4, 3, 5
    params = {k: rng.normal(size=v.shape) for k, v in ref.PARAMS.items()}
    params = {**params, **{k: rng.normal(size=(d, h)) for k in ("W_xr", "W_xz", "W_xh")}}
    params.update({k: rng.normal(size=(h, h)) for k in ("W_hr", "W_hz", "W_hh")})
    params.update({k: rng.normal(size=h) for k in ("b_r", "b_z", "b_h")})
    x, h_prev = rng.normal(size=(n, d)), np.tanh(rng.normal(size=(n, h)))
    reset_after = {**params, "b_hh": np.zeros(h)}
    assert not np.allclose(ref.gru_cell(x, h_prev, params), ref.gru_cell_reset_after(x, h_prev, reset_after))
    diagonal = {**params, "W_hh": np.diag(np.diag(params["W_hh"]))}
    np.testing.assert_allclose(ref.gru_cell(x, h_prev, diagonal),
                               ref.gru_cell_reset_after(x, h_prev, {**diagonal, "b_hh": np.zeros(h)}),
                               rtol=1e-12, atol=1e-14)


def test_partial_credit_in_a_student_namespace(ref) -> None:
    """A student whose gates are unimplemented still gets gru_cell's points (the grader swaps the
    reference gates in while testing it) and the student's namespace is restored afterwards."""
    ns = namespace_with(ref, """
        def reset_gate(x, h_prev, W_xr, W_hr, b_r):
            raise NotImplementedError()
    """)
    student_gate = ns["reset_gate"]
    spec = get_spec(ASSIGNMENT).functions["gru_cell"]
    assert grade_function(spec, ns["gru_cell"], ref, namespace=ns, seed=0).passed
    assert ns["reset_gate"] is student_gate
    outcome = grade_function(get_spec(ASSIGNMENT).functions["reset_gate"], student_gate, ref, namespace=ns, seed=0)
    assert not outcome.passed and "not implemented" in outcome.message
