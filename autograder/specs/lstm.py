"""Hidden tests of assignment 03_lstm: random cases, known mistakes, fair substitutions.

Every case draws fresh float64 inputs. The first case of each function is the one where every
known mistake can run (square shapes: ``N == D == H``, or ``N == T`` for the layer), so that a
wrong answer is diagnosed as early as possible; the later cases cover a batch of one, ``D != H``,
and pre-activations of several hundred, where ``1 / (1 + np.exp(-a))`` overflows (the grader runs
the student's code with numpy set to raise on overflow).

The mistakes are transformations of the reference cells of ``solutions/03_lstm/lstm.ipynb``
(a global name rebound, an input zeroed, swapped or transposed, an output post-processed), or
outputs computed from the reference's functions; none of them is a copy of a solution.

Note on "another gate's parameters": the three sigmoid gates compute the same function of their
arguments, so handing a gate the wrong parameters is a mistake of the caller; it is diagnosed in
``lstm_cell``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..numerics import sigmoid
from ..spec_kit import (
    AssignmentSpec,
    FunctionSpec,
    Inputs,
    Mistake,
    Reference,
    patched,
    swapped,
    with_globals,
    with_inputs,
    with_output,
    zeroed,
)

ASSIGNMENT = "03_lstm"
GATES = {"forget_gate": "f", "input_gate": "i", "candidate": "g", "output_gate": "o"}
GATE_WORDS = {"f": "forget gate", "i": "input gate", "g": "candidate", "o": "output gate"}
BASIC_FUNCTIONS = (*GATES, "cell_update", "hidden_update")


# ---------------------------------------------------------------------------------------------
# Random inputs


def _bias(rng: np.random.Generator, h: int, big: bool) -> np.ndarray:
    """A bias of order one, or one whose entries reach several hundred in magnitude.

    The large version always holds one entry below -709 and one above +709 (where ``np.exp``
    of minus / plus the pre-activation overflows), the others spread in ``±[50, 800]``.
    """
    if not big:
        return rng.normal(0.0, 0.5, size=h)
    b = rng.choice([-1.0, 1.0], size=h) * rng.uniform(50.0, 800.0, size=h)
    b[0] = -rng.uniform(730.0, 800.0)
    if h > 1:
        b[1] = rng.uniform(730.0, 800.0)
    return b


def _params(rng: np.random.Generator, d: int, h: int, big: bool = False) -> dict[str, np.ndarray]:
    params = {}
    for g in "figo":
        params[f"W_x{g}"] = rng.normal(0.0, 0.5, size=(d, h))
        params[f"W_h{g}"] = rng.normal(0.0, 0.5, size=(h, h))
        params[f"b_{g}"] = _bias(rng, h, big)
    return params


def _state(rng: np.random.Generator, n: int, h: int) -> np.ndarray:
    """A hidden state: values in (-1, 1) like the output of a tanh."""
    return rng.uniform(-1.0, 1.0, size=(n, h))


def _gate_cases(g: str) -> Callable[[np.random.Generator], list[Inputs]]:
    def cases(rng: np.random.Generator) -> list[Inputs]:
        out = []
        # (N, D, H, large pre-activations): square first, then a batch of 1, D != H both ways.
        for n, d, h, big in [(4, 4, 4, False), (1, 3, 5, False), (5, 2, 6, False),
                             (3, 6, 2, False), (3, 5, 4, True)]:
            out.append({
                "x": rng.standard_normal((n, d)),
                "h_prev": _state(rng, n, h),
                f"W_x{g}": rng.normal(0.0, 0.5, size=(d, h)),
                f"W_h{g}": rng.normal(0.0, 0.5, size=(h, h)),
                f"b_{g}": _bias(rng, h, big),
            })
        return out

    return cases


def _update_values(rng: np.random.Generator, n: int, h: int) -> dict[str, np.ndarray]:
    return {
        "f": rng.uniform(0.0, 1.0, size=(n, h)),
        "i": rng.uniform(0.0, 1.0, size=(n, h)),
        "g": rng.uniform(-1.0, 1.0, size=(n, h)),
        "o": rng.uniform(0.0, 1.0, size=(n, h)),
    }


def _cell_update_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    # N == H first (where a matrix product in place of * runs at all); a long-lived memory last.
    for n, h, c_scale in [(4, 4, 2.0), (1, 5, 2.0), (6, 3, 2.0), (2, 7, 50.0)]:
        v = _update_values(rng, n, h)
        out.append({"f": v["f"], "i": v["i"], "g": v["g"], "c_prev": c_scale * rng.standard_normal((n, h))})
    return out


def _hidden_update_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, h, c_scale in [(4, 4, 2.0), (1, 5, 2.0), (6, 3, 2.0)]:
        out.append({"o": _update_values(rng, n, h)["o"], "c": c_scale * rng.standard_normal((n, h))})
    # A cell state of several hundred: a tanh written with np.exp overflows.
    c = rng.choice([-1.0, 1.0], size=(3, 4)) * rng.uniform(50.0, 800.0, size=(3, 4))
    c[0, 0], c[1, 1] = -780.0, 760.0
    out.append({"o": _update_values(rng, 3, 4)["o"], "c": c})
    return out


def _cell_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, d, h, big in [(4, 4, 4, False), (1, 3, 5, False), (5, 6, 2, False), (3, 5, 4, True)]:
        out.append({
            "x": rng.standard_normal((n, d)),
            "h_prev": _state(rng, n, h),
            "c_prev": 2.0 * rng.standard_normal((n, h)),
            "params": _params(rng, d, h, big),
        })
    return out


def _forward_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    # (N, T, D, H): N == T first (where a batch/time mix-up keeps the shapes), T = 1, D == H.
    for n, t, d, h, big in [(3, 3, 2, 4, False), (1, 6, 3, 2, False), (4, 1, 4, 3, False),
                            (2, 5, 4, 4, False), (2, 4, 3, 5, True)]:
        out.append({
            "x": rng.standard_normal((n, t, d)),
            "h0": _state(rng, n, h),
            "c0": rng.standard_normal((n, h)),
            "params": _params(rng, d, h, big),
        })
    return out


def _backward_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, d, h, big in [(3, 4, 4, False), (1, 3, 5, False), (4, 5, 2, False), (2, 3, 4, True)]:
        out.append({
            "dh": rng.standard_normal((n, h)),
            "dc": rng.standard_normal((n, h)),
            "x": rng.standard_normal((n, d)),
            "h_prev": _state(rng, n, h),
            "c_prev": rng.standard_normal((n, h)),
            "params": _params(rng, d, h, big),
        })
    return out


# ---------------------------------------------------------------------------------------------
# Building blocks of the mistake catalogues


class _NumpyWith:
    """numpy with some functions replaced: runs a reference that calls ``np.tanh`` with another
    squashing function (attributes not overridden are numpy's)."""

    def __init__(self, **overrides: Any) -> None:
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _identity(a: np.ndarray) -> np.ndarray:
    return np.asarray(a)


def _transposed(*keys: str) -> Callable[[Inputs], Inputs]:
    def transform(kw: Inputs) -> Inputs:
        return {**kw, **{k: kw[k].T for k in keys}}

    return transform


def _replaced(**values: Callable[[Inputs], Any]) -> Callable[[Inputs], Inputs]:
    """Replace inputs by values computed from all the inputs."""

    def transform(kw: Inputs) -> Inputs:
        return {**kw, **{k: make(kw) for k, make in values.items()}}

    return transform


def _with_params(transform: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]):
    def inputs(kw: Inputs) -> Inputs:
        return {**kw, "params": transform(dict(kw["params"]))}

    return inputs


def _gate_params_from(target: str, source: str) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The parameters of gate ``source`` put where gate ``target``'s belong."""

    def transform(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**p, **{f"{kind}{target}": p[f"{kind}{source}"] for kind in ("W_x", "W_h", "b_")}}

    return transform


def _gate_params_swapped(a: str, b: str) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The parameters of gates ``a`` and ``b`` exchanged."""

    def transform(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _gate_params_from(a, b)(p) | {f"{kind}{b}": p[f"{kind}{a}"] for kind in ("W_x", "W_h", "b_")}

    return transform


def _positional(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` called with positional arguments (to stand in for another function of the cell)."""
    return lambda *args: fn(*args)


def _gate_mistakes(name: str, g: str) -> list[Mistake]:
    wx, wh, b = f"W_x{g}", f"W_h{g}", f"b_{g}"
    if g == "g":
        squash = [
            with_globals(name, "you used a sigmoid where the candidate needs tanh (its values lie in "
                         "(-1, 1), it is content, not a valve)", np=_NumpyWith(tanh=sigmoid)),
            with_globals(name, "the tanh is missing: you returned the pre-activation "
                         f"x @ {wx} + h_prev @ {wh} + {b}", np=_NumpyWith(tanh=_identity)),
            with_output(name, "a sign is flipped: you computed tanh(-a) instead of tanh(a)",
                        lambda out, kw: -out),
        ]
    else:
        squash = [
            with_globals(name, "you used tanh where a gate needs the sigmoid (a gate is a valve "
                         "with values in (0, 1))", sigmoid=np.tanh),
            with_globals(name, "the sigmoid is missing: you returned the pre-activation "
                         f"x @ {wx} + h_prev @ {wh} + {b}", sigmoid=_identity),
            with_output(name, "a sign is flipped: you computed sigmoid(-a) = 1 - sigmoid(a)",
                        lambda out, kw: 1.0 - out),
        ]
    return [
        *squash,
        with_inputs(name, f"your {GATE_WORDS[g]} has no bias: `{b}` is missing", zeroed(b)),
        Mistake(f"you added the bias `{b}` after the nonlinearity; it belongs inside it",
                lambda ref, kw: getattr(ref, name)(**zeroed(b)(kw)) + kw[b]),
        with_inputs(name, f"the term h_prev @ {wh} is missing: the {GATE_WORDS[g]} ignores h_(t-1)",
                    zeroed("h_prev")),
        with_inputs(name, f"the term x @ {wx} is missing: the {GATE_WORDS[g]} ignores x_t",
                    zeroed("x")),
        # x_t @ W_h? + h_(t-1) @ W_x? is one output, whichever pair the student swapped.
        with_inputs(name, f"x and h_prev are paired with the wrong weights: x_t multiplies `{wx}` "
                    f"and h_(t-1) multiplies `{wh}`", swapped("x", "h_prev")),
        with_inputs(name, f"you used `{wh}` transposed: with row vectors it is h_prev @ {wh}",
                    _transposed(wh)),
        with_inputs(name, f"you used `{wx}` transposed: with row vectors it is x @ {wx}",
                    _transposed(wx)),
        with_inputs(name, "both weights are transposed (the column-vector convention W x); here "
                    "rows are examples: multiply x and h_prev on the right", _transposed(wx, wh)),
        with_output(name, "your output is transposed: rows must be examples (N, H)",
                    lambda out, kw: out.T),
    ]


def _gate_spec(name: str) -> FunctionSpec:
    return FunctionSpec(name, _gate_cases(GATES[name]), mistakes=_gate_mistakes(name, GATES[name]))


def _kept(ref: Reference, kw: Inputs) -> np.ndarray:
    """The first term of the reference cell update alone (the input gate zeroed)."""
    return ref.cell_update(**{**kw, "i": np.zeros_like(kw["i"])})


def _written(ref: Reference, kw: Inputs) -> np.ndarray:
    """The second term of the reference cell update alone (the forget gate zeroed)."""
    return ref.cell_update(**{**kw, "f": np.zeros_like(kw["f"])})


CELL_UPDATE = FunctionSpec(
    "cell_update",
    _cell_update_cases,
    mistakes=[
        Mistake("you used the matrix product @ where the element-wise product * belongs",
                lambda ref, kw: kw["f"] @ kw["c_prev"] + kw["i"] @ kw["g"]),
        Mistake("you wrote f @ c_prev: the forget gate scales c_(t-1) element-wise (*), not by a "
                "matrix product",
                lambda ref, kw: kw["f"] @ kw["c_prev"] + _written(ref, kw)),
        Mistake("you wrote i @ g: the input gate scales the candidate element-wise (*), not by a "
                "matrix product",
                lambda ref, kw: kw["i"] @ kw["g"] + _kept(ref, kw)),
        # i ⊙ c_(t-1) + f ⊙ g: the same output whether f and i or g and c_prev were swapped.
        with_inputs("cell_update", "f and i are paired with the wrong terms: the forget gate f "
                    "scales the old memory c_(t-1), the input gate i scales the candidate g",
                    swapped("f", "i")),
        with_inputs("cell_update", "the old memory is lost: the term f ⊙ c_(t-1) is missing",
                    zeroed("c_prev")),
        with_inputs("cell_update", "nothing new is written: the term i ⊙ g is missing",
                    zeroed("g")),
        with_inputs("cell_update", "you added the candidate g without scaling it by the input "
                    "gate i", _replaced(i=lambda kw: np.ones_like(kw["i"]))),
        with_inputs("cell_update", "you kept all of c_(t-1): it must be scaled by the forget "
                    "gate f", _replaced(f=lambda kw: np.ones_like(kw["f"]))),
        with_inputs("cell_update", "you used (1 - f) ⊙ c_(t-1): f is the fraction of the memory "
                    "kept, not the fraction forgotten", _replaced(f=lambda kw: 1.0 - kw["f"])),
        Mistake("you multiplied the two terms f ⊙ c_(t-1) and i ⊙ g; add them",
                lambda ref, kw: _kept(ref, kw) * _written(ref, kw)),
        Mistake("you subtracted i ⊙ g; add it",
                lambda ref, kw: _kept(ref, kw) - _written(ref, kw)),
        with_output("cell_update", "you applied tanh to the new cell state: the cell update has no "
                    "nonlinearity (tanh(c) belongs to hidden_update)", lambda out, kw: np.tanh(out)),
    ],
)


def _gate_free(ref: Reference, c: np.ndarray) -> np.ndarray:
    """The reference hidden update with the output gate fully open: tanh(c)."""
    return ref.hidden_update(np.ones_like(c), c)


HIDDEN_UPDATE = FunctionSpec(
    "hidden_update",
    _hidden_update_cases,
    mistakes=[
        with_globals("hidden_update", "the tanh is missing: h = o ⊙ tanh(c), not o ⊙ c",
                     np=_NumpyWith(tanh=_identity)),
        with_globals("hidden_update", "you used a sigmoid where the hidden update needs tanh",
                     np=_NumpyWith(tanh=sigmoid)),
        Mistake("you computed tanh(o ⊙ c): the tanh applies to c alone, then multiply by o",
                lambda ref, kw: np.tanh(kw["o"] * kw["c"])),
        Mistake("you added o and tanh(c); multiply them element-wise",
                lambda ref, kw: kw["o"] + _gate_free(ref, kw["c"])),
        Mistake("you used the matrix product @ where the element-wise product * belongs",
                lambda ref, kw: kw["o"] @ _gate_free(ref, kw["c"])),
        with_inputs("hidden_update", "the output gate o is missing: you returned tanh(c)",
                    _replaced(o=lambda kw: np.ones_like(kw["o"]))),
        with_inputs("hidden_update", "you swapped o and c: the tanh squashes the cell state c",
                    swapped("o", "c")),
        with_inputs("hidden_update", "you applied a sigmoid to o again: o is already a gate value",
                    _replaced(o=lambda kw: sigmoid(kw["o"]))),
    ],
)


def _patched_cell(ref: Reference, **names: Callable[..., Any]) -> Callable[..., Any]:
    return patched(ref.lstm_cell, **names)


def _cell_h_from_c_prev(ref: Reference, kw: Inputs) -> Any:
    """The reference cell whose hidden update reads c_(t-1) instead of c_t."""
    old = kw["c_prev"]
    h_wrong, _ = _patched_cell(ref, hidden_update=lambda o, c: ref.hidden_update(o, old))(**kw)
    return h_wrong, ref.lstm_cell(**kw)[1]


LSTM_CELL = FunctionSpec(
    "lstm_cell",
    _cell_cases,
    uses=BASIC_FUNCTIONS,
    mistakes=[
        with_output("lstm_cell", "you returned (c, h); return (h, c) in that order",
                    lambda out, kw: (out[1], out[0])),
        with_inputs("lstm_cell", "f and i are swapped: check which parameters go to forget_gate "
                    "and to input_gate, and the order of the arguments of cell_update",
                    _with_params(_gate_params_swapped("f", "i"))),
        with_inputs("lstm_cell", "forget_gate received the input gate's parameters (W_xi, W_hi, "
                    "b_i); give it W_xf, W_hf, b_f", _with_params(_gate_params_from("f", "i"))),
        with_inputs("lstm_cell", "input_gate received the forget gate's parameters (W_xf, W_hf, "
                    "b_f); give it W_xi, W_hi, b_i", _with_params(_gate_params_from("i", "f"))),
        with_inputs("lstm_cell", "candidate received the input gate's parameters (W_xi, W_hi, "
                    "b_i); give it W_xg, W_hg, b_g", _with_params(_gate_params_from("g", "i"))),
        with_inputs("lstm_cell", "output_gate received the forget gate's parameters (W_xf, W_hf, "
                    "b_f); give it W_xo, W_ho, b_o", _with_params(_gate_params_from("o", "f"))),
        with_inputs("lstm_cell", "output_gate received the input gate's parameters (W_xi, W_hi, "
                    "b_i); give it W_xo, W_ho, b_o", _with_params(_gate_params_from("o", "i"))),
        with_inputs("lstm_cell", "you swapped the candidate's and the output gate's parameters",
                    _with_params(_gate_params_swapped("g", "o"))),
        Mistake("the candidate g was computed with a sigmoid: call candidate (tanh) for it",
                lambda ref, kw: _patched_cell(ref, candidate=_positional(ref.forget_gate))(**kw)),
        Mistake("the output gate was computed with tanh: call output_gate (a sigmoid) for it",
                lambda ref, kw: _patched_cell(ref, output_gate=_positional(ref.candidate))(**kw)),
        with_inputs("lstm_cell", "you swapped h_prev and c_prev: the gates read h_(t-1), the cell "
                    "update reads c_(t-1)", swapped("h_prev", "c_prev")),
        with_inputs("lstm_cell", "the gates read c_(t-1); they must read h_(t-1)",
                    _replaced(h_prev=lambda kw: kw["c_prev"])),
        with_inputs("lstm_cell", "the cell update read h_(t-1); it must read c_(t-1)",
                    _replaced(c_prev=lambda kw: kw["h_prev"])),
        with_inputs("lstm_cell", "you swapped x and h_prev in the gate calls",
                    swapped("x", "h_prev")),
        Mistake("h was computed from the old cell state c_(t-1); use the new c_t",
                _cell_h_from_c_prev),
        with_output("lstm_cell", "you returned the old hidden state h_prev instead of the new h",
                    lambda out, kw: (kw["h_prev"], out[1])),
        with_output("lstm_cell", "you returned the old cell state c_prev instead of the new c",
                    lambda out, kw: (out[0], kw["c_prev"])),
    ],
)


def _forward_with_cell(ref: Reference, kw: Inputs, cell: Callable[..., Any]) -> Any:
    return patched(ref.lstm_forward, lstm_cell=cell)(**kw)


def _forward_returning_c_seq(ref: Reference, kw: Inputs) -> Any:
    cells = []

    def recording_cell(*args: Any) -> Any:
        h, c = ref.lstm_cell(*args)
        cells.append(c)
        return h, c

    _, c_last = _forward_with_cell(ref, kw, recording_cell)
    return np.stack(cells, axis=1), c_last


def _shifted(out: Any, kw: Inputs) -> Any:
    h_seq, c_last = out
    return np.concatenate([kw["h0"][:, None, :], h_seq[:, :-1]], axis=1), c_last


LSTM_FORWARD = FunctionSpec(
    "lstm_forward",
    _forward_cases,
    uses=("lstm_cell",),
    mistakes=[
        Mistake("the state is not carried: every step starts again from h0 and c0; pass the h and "
                "c returned by one step to the next",
                lambda ref, kw: _forward_with_cell(
                    ref, kw, lambda x, h, c, p: ref.lstm_cell(x, kw["h0"], kw["c0"], p))),
        Mistake("the cell state is not carried: every step starts again from c0",
                lambda ref, kw: _forward_with_cell(
                    ref, kw, lambda x, h, c, p: ref.lstm_cell(x, h, kw["c0"], p))),
        Mistake("the hidden state is not carried: every step starts again from h0",
                lambda ref, kw: _forward_with_cell(
                    ref, kw, lambda x, h, c, p: ref.lstm_cell(x, kw["h0"], c, p))),
        Mistake("you returned the cell states c_1..c_T where the hidden states h_1..h_T belong",
                _forward_returning_c_seq),
        with_output("lstm_forward", "you returned the last hidden state h_T where the last cell "
                    "state c_T belongs", lambda out, kw: (out[0], out[0][:, -1])),
        with_output("lstm_forward", "you returned c0 as the last cell state: return the c of the "
                    "last step", lambda out, kw: (out[0], kw["c0"])),
        with_output("lstm_forward", "off by one: h_seq holds h_0..h_(T-1); it must hold h_1..h_T "
                    "(store the state after each step)", _shifted),
        with_output("lstm_forward", "h_seq starts with h0: it must hold h_1..h_T only",
                    lambda out, kw: (np.concatenate([kw["h0"][:, None, :], out[0]], axis=1), out[1])),
        with_output("lstm_forward", "the time axis comes first in h_seq: it must be (N, T, H) "
                    "(stack along axis=1)", lambda out, kw: (out[0].transpose(1, 0, 2), out[1])),
        with_inputs("lstm_forward", "you sliced x[t] (example t) instead of x[:, t] (time step t "
                    "of every example)", _replaced(x=lambda kw: kw["x"].transpose(1, 0, 2))),
        with_inputs("lstm_forward", "you processed the sequence backwards: step t reads x[:, t] "
                    "for t = 0 .. T-1", _replaced(x=lambda kw: kw["x"][:, ::-1])),
        with_inputs("lstm_forward", "you swapped h0 and c0", swapped("h0", "c0")),
    ],
)


def _grads_renamed(out: dict[str, Any], pairs: dict[str, str]) -> dict[str, Any]:
    return {**out, **{a: out[b] for a, b in pairs.items()}}


LSTM_CELL_BACKWARD = FunctionSpec(
    "lstm_cell_backward",
    _backward_cases,
    uses=(*BASIC_FUNCTIONS, "lstm_cell"),
    bonus=True,
    mistakes=[
        with_inputs("lstm_cell_backward", "the upstream gradient dc is ignored: it adds to the "
                    "gradient that reaches c_t through h_t", zeroed("dc")),
        with_inputs("lstm_cell_backward", "the upstream gradient dh is ignored", zeroed("dh")),
        with_output("lstm_cell_backward", "you swapped dx and dh_prev",
                    lambda out, kw: _grads_renamed(out, {"dx": "dh_prev", "dh_prev": "dx"})),
        with_output("lstm_cell_backward", "the gradients of the forget and input gates' "
                    "parameters are swapped",
                    lambda out, kw: _grads_renamed(out, {
                        **{f"d{kind}f": f"d{kind}i" for kind in ("W_x", "W_h", "b_")},
                        **{f"d{kind}i": f"d{kind}f" for kind in ("W_x", "W_h", "b_")}})),
        with_output("lstm_cell_backward", "your weight gradients are transposed: dW_x? has the "
                    "shape (D, H) of W_x?, i.e. x.T @ (gradient of the pre-activation)",
                    lambda out, kw: {k: (v.T if k.startswith("dW") else v) for k, v in out.items()}),
        with_output("lstm_cell_backward", "the signs of your gradients are flipped",
                    lambda out, kw: {k: -v for k, v in out.items()}),
    ],
)


SPEC = AssignmentSpec.of(
    ASSIGNMENT,
    *(_gate_spec(name) for name in GATES),
    CELL_UPDATE,
    HIDDEN_UPDATE,
    LSTM_CELL,
    LSTM_FORWARD,
    LSTM_CELL_BACKWARD,
)
