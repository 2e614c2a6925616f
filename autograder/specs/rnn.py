"""Grading spec of assignment 01_rnn: a vanilla RNN cell, its forward pass, and BPTT.

Graded functions (batch-first row vectors, float64; see the header of ``solutions/01_rnn``):

======================  ======  ====================================================================
function                points  hidden cases
======================  ======  ====================================================================
``rnn_cell``            3       D == H (so swapped or transposed weights give values, not errors),
                                a batch of one with D > H, D < H, pre-activations of +-50 to +-800
``rnn_forward``         3       D == H, N = T (swapped axes keep the shape), a batch of one with
                                T = 1, h0 = 0, saturating pre-activations
``rnn_step_backward``   4       shapes as ``rnn_cell``; states with saturated units (h = +-1
                                exactly, 1 - h^2 down to 1e-13) in the last case
``rnn_backward``        4       shapes as ``rnn_forward``, saturated states in the last case
``birnn_forward``       2       bonus (extra credit): D == H with N = T, a batch of one with T = 1,
                                D != H, h0_bwd = 0, saturating pre-activations; the two directions
                                always have different weights and initial states
======================  ======  ====================================================================

The points live on the test cells of the source notebook; the table is kept in its header.
``rnn_forward`` is graded with the reference ``rnn_cell`` in the student's namespace and
``rnn_backward`` with the reference ``rnn_step_backward`` (``uses``), so that a wrong cell costs the
cell's points only; the bonus ``birnn_forward`` with the reference ``rnn_forward`` and ``rnn_cell``
(a student may loop over the cell instead of calling the forward pass).

The backward functions' contract is algebraic in their inputs, so their cases draw the states
directly as tanh of random pre-activations (in (-1, 1); in the large case some are exactly +-1 and
some have 1 - h^2 down to 1e-13) instead of running a forward pass: this package is installed by
students and holds no forward pass. A correct answer cannot depend on the states being consistent
with the other inputs (``b_h`` is not even given).

Mistake catalogues are transformations of the reference: the reference with ``np.tanh`` replaced,
with an input zeroed, transposed or exchanged, its output post-processed, or a wrong algorithm
assembled from calls to the reference functions (never a copy of them). Which input transformations
mimic which mistake follows from where each input enters the formulas: in one backward step,
``h_next`` enters only through the derivative of ``tanh``, ``x`` only through ``dW_xh``, ``h_prev``
only through ``dW_hh``, ``W_xh`` only through ``dx`` and ``W_hh`` only through ``dh_prev``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..numerics import sigmoid
from ..spec_kit import (
    AssignmentSpec,
    FunctionSpec,
    Inputs,
    Mistake,
    Reference,
    swapped,
    with_globals,
    with_inputs,
    with_output,
    zeroed,
)

ASSIGNMENT = "01_rnn"


class _NumpyWith:
    """The numpy module with a few functions replaced (``_NumpyWith(tanh=sigmoid)``)."""

    def __init__(self, **overrides: Any) -> None:
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


# ---------------------------------------------------------------------------------------------
# Random cases


def _params(rng: np.random.Generator, d: int, h: int, *, large: bool = False) -> dict[str, np.ndarray]:
    """Weights of a cell; with ``large``, biases of +-50 to +-800 on most units (tanh saturates)."""
    params = {
        "W_xh": rng.normal(scale=0.5, size=(d, h)),
        "W_hh": rng.normal(scale=0.5, size=(h, h)),
        "b_h": rng.normal(scale=0.5, size=h),
    }
    if large:
        # +800 and -800 for certain (exp(800) overflows float64 in either sign of a hand-written
        # tanh or sigmoid), more saturated units in between, and two ordinary units.
        n_big = h - 2
        big = rng.choice([-1.0, 1.0], size=n_big) * rng.uniform(50.0, 800.0, size=n_big)
        big[:2] = [800.0, -800.0]
        params["b_h"][:n_big] = big
    return params


def _outputs(rng: np.random.Generator, shape: tuple[int, ...], *, large: bool = False) -> np.ndarray:
    """States that a tanh layer outputs; with ``large``, its last axis has saturated units.

    Units 0 and 1 saturate exactly (pre-activations of +50 to +800 and -50 to -800: tanh is +1
    and -1 in float64), units 2 and 3 nearly (+-3 to +-15: 1 - h^2 between 1e-13 and 1e-2), the
    others are ordinary.
    """
    pre = rng.normal(scale=1.5, size=shape)
    if large:
        signs = rng.choice([-1.0, 1.0], size=shape[:-1] + (4,))
        signs[..., :2] = [1.0, -1.0]  # both ends of tanh, in every row
        pre[..., :2] = signs[..., :2] * rng.uniform(50.0, 800.0, size=shape[:-1] + (2,))
        pre[..., 2:4] = signs[..., 2:] * rng.uniform(3.0, 15.0, size=shape[:-1] + (2,))
    return np.tanh(pre)


# (N, D, H, large) of the single-step functions; the square case comes first so that a student
# who swaps or transposes a weight matrix gets a diagnosis rather than a shape error.
STEP_SHAPES = [(3, 4, 4, False), (1, 5, 3, False), (4, 2, 6, False), (2, 3, 6, True)]
# (N, T, D, H, large, zero h0) of the sequence functions.
SEQUENCE_SHAPES = [
    (3, 4, 4, 4, False, False),
    (1, 1, 3, 2, False, False),
    (4, 4, 3, 3, False, False),
    (2, 5, 2, 5, False, True),
    (1, 6, 4, 3, False, False),
    (2, 3, 3, 6, True, False),
]


def _cell_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for n, d, h, large in STEP_SHAPES:
        cases.append({"x": rng.normal(size=(n, d)), "h_prev": _outputs(rng, (n, h)),
                      **_params(rng, d, h, large=large)})
    return cases


def _forward_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for n, t, d, h, large, zero_h0 in SEQUENCE_SHAPES:
        h0 = np.zeros((n, h)) if zero_h0 else _outputs(rng, (n, h))
        cases.append({"x": rng.normal(size=(n, t, d)), "h0": h0, **_params(rng, d, h, large=large)})
    return cases


def _step_backward_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for n, d, h, large in STEP_SHAPES:
        params = _params(rng, d, h)
        cases.append({
            "dh_next": rng.normal(size=(n, h)),
            "x": rng.normal(size=(n, d)),
            "h_prev": _outputs(rng, (n, h), large=large),
            "h_next": _outputs(rng, (n, h), large=large),
            "W_xh": params["W_xh"],
            "W_hh": params["W_hh"],
        })
    return cases


# (N, T, D, H, large, zero h0_bwd) of the bidirectional layer.
BIDIRECTIONAL_SHAPES = [
    (4, 4, 3, 3, False, False),
    (1, 1, 3, 2, False, False),
    (3, 5, 2, 4, False, False),
    (2, 3, 4, 5, False, True),
    (1, 6, 4, 3, False, False),
    (2, 3, 3, 6, True, False),
]


def _bidirectional_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for n, t, d, h, large, zero_h0 in BIDIRECTIONAL_SHAPES:
        cases.append({
            "x": rng.normal(size=(n, t, d)),
            "h0_fwd": _outputs(rng, (n, h)),
            "h0_bwd": np.zeros((n, h)) if zero_h0 else _outputs(rng, (n, h)),
            "params_fwd": _params(rng, d, h, large=large),
            "params_bwd": _params(rng, d, h, large=large),
        })
    return cases


def _backward_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for n, t, d, h, large, zero_h0 in SEQUENCE_SHAPES:
        params = _params(rng, d, h)
        cases.append({
            "dh": rng.normal(size=(n, t, h)),
            "x": rng.normal(size=(n, t, d)),
            "h0": np.zeros((n, h)) if zero_h0 else _outputs(rng, (n, h)),
            "h": _outputs(rng, (n, t, h), large=large),
            "W_xh": params["W_xh"],
            "W_hh": params["W_hh"],
        })
    return cases


# ---------------------------------------------------------------------------------------------
# Helpers that build wrong answers from the reference functions


def _transposed(key: str):
    def transform(kw: Inputs) -> Inputs:
        return {**kw, key: kw[key].T}

    return transform


def _replaced(key: str, by: str):
    def transform(kw: Inputs) -> Inputs:
        return {**kw, key: kw[by]}

    return transform


def _tanh_on_each_term(ref: Reference, kw: Inputs) -> np.ndarray:
    """tanh(x W_xh) + tanh(h_prev W_hh) + b_h."""
    no_bias = np.zeros_like(kw["b_h"])
    from_x = ref.rnn_cell(kw["x"], np.zeros_like(kw["h_prev"]), kw["W_xh"], kw["W_hh"], no_bias)
    from_h = ref.rnn_cell(np.zeros_like(kw["x"]), kw["h_prev"], kw["W_xh"], kw["W_hh"], no_bias)
    return from_x + from_h + kw["b_h"]


def _every_step_from_h0(ref: Reference, kw: Inputs) -> np.ndarray:
    """Each step computed from h0 instead of the previous state (the state is not carried)."""
    steps = [ref.rnn_forward(**{**kw, "x": kw["x"][:, t : t + 1]}) for t in range(kw["x"].shape[1])]
    return np.concatenate(steps, axis=1)


def _with_derivative(factor):
    """Inputs that make the reference use ``factor(h_next)`` in place of tanh's derivative."""

    def transform(kw: Inputs) -> Inputs:
        h_next = kw["h_next"]
        return {**kw, "dh_next": kw["dh_next"] * factor(h_next), "h_next": np.zeros_like(h_next)}

    return transform


def _gradient_before_bias(ref: Reference, kw: Inputs) -> np.ndarray:
    """dL/da of one step, shape (N, H): what db_h is before summing over the batch.

    With W_xh = I (and x of matching width), the reference's dx is exactly that gradient.
    """
    n, h = kw["h_next"].shape
    return ref.rnn_step_backward(**{**kw, "x": np.zeros((n, h)), "W_xh": np.eye(h)})["dx"]


def _parameter_gradients_scaled(out: dict, factor: float) -> dict:
    return {**out, **{k: out[k] * factor for k in ("dW_xh", "dW_hh", "db_h")}}


def _previous_state(kw: Inputs, t: int) -> np.ndarray:
    return kw["h0"] if t == 0 else kw["h"][:, t - 1]


def _total_upstream(ref: Reference, kw: Inputs) -> list[np.ndarray]:
    """The total gradient on the state after each step t: dh[:, t] plus what step t+1 sends back.

    What step t+1 sends back is the ``dh0`` of the reference BPTT run on steps t+1, ..., T-1 alone.
    """
    dh = kw["dh"]
    last = dh.shape[1] - 1
    totals = []
    for t in range(last + 1):
        later = np.zeros_like(kw["h0"])
        if t < last:
            later = ref.rnn_backward(dh[:, t + 1 :], kw["x"][:, t + 1 :], kw["h"][:, t],
                                     kw["h"][:, t + 1 :], kw["W_xh"], kw["W_hh"])["dh0"]
        totals.append(dh[:, t] + later)
    return totals


def _one_step(ref: Reference, kw: Inputs, t: int, upstream: np.ndarray, prev: np.ndarray) -> dict:
    return ref.rnn_step_backward(upstream, kw["x"][:, t], prev, kw["h"][:, t], kw["W_xh"], kw["W_hh"])


def _no_carry(ref: Reference, kw: Inputs) -> dict:
    """Each step sees dh[:, t] only; dh0 is what the first step sends back from dh[:, 0]."""
    out = ref.rnn_backward(**zeroed("W_hh")(kw))
    first = _one_step(ref, kw, 0, kw["dh"][:, 0], kw["h0"])
    return {**out, "dh0": first["dh_prev"]}


def _weights_of_step(which: int):
    """Parameter gradients of a single step (the others overwritten rather than added)."""

    def output(ref: Reference, kw: Inputs) -> dict:
        out = ref.rnn_backward(**kw)
        t = which % kw["x"].shape[1]
        step = _one_step(ref, kw, t, _total_upstream(ref, kw)[t], _previous_state(kw, t))
        return {**out, **{k: step[k] for k in ("dW_xh", "dW_hh", "db_h")}}

    return output


def _dW_hh_with_previous(choose):
    """dW_hh summed with a wrong previous state ``choose(kw, t)`` at each step."""

    def output(ref: Reference, kw: Inputs) -> dict:
        out = ref.rnn_backward(**kw)
        totals = _total_upstream(ref, kw)
        wrong = sum(_one_step(ref, kw, t, g, choose(kw, t))["dW_hh"] for t, g in enumerate(totals))
        return {**out, "dW_hh": wrong}

    return output


def _forward_in_time(ref: Reference, kw: Inputs) -> dict:
    """The BPTT loop run from t = 0 upwards, each step passing its dh_prev on to step t + 1."""
    dx, carried = [], np.zeros_like(kw["h0"])
    sums = {k: 0.0 for k in ("dW_xh", "dW_hh", "db_h")}
    for t in range(kw["x"].shape[1]):
        step = _one_step(ref, kw, t, kw["dh"][:, t] + carried, _previous_state(kw, t))
        dx.append(step["dx"])
        sums = {k: sums[k] + step[k] for k in sums}
        carried = step["dh_prev"]
    return {"dx": np.stack(dx, axis=1), "dh0": carried, **sums}


def _dh0_one_step_short(ref: Reference, kw: Inputs) -> dict:
    out = ref.rnn_backward(**kw)
    return {**out, "dh0": _total_upstream(ref, kw)[0]}


def _only_last_upstream(kw: Inputs) -> Inputs:
    dh = np.zeros_like(kw["dh"])
    dh[:, -1] = kw["dh"][:, -1]
    return {**kw, "dh": dh}


# ---------------------------------------------------------------------------------------------

RNN_CELL = FunctionSpec(
    "rnn_cell",
    _cell_cases,
    mistakes=[
        with_globals("rnn_cell", "you used a sigmoid where the RNN cell needs tanh",
                     np=_NumpyWith(tanh=sigmoid)),
        with_globals("rnn_cell", "you applied no nonlinearity: h_next is tanh of the pre-activation",
                     np=_NumpyWith(tanh=lambda a: a)),
        with_globals("rnn_cell", "you used ReLU where the RNN cell needs tanh",
                     np=_NumpyWith(tanh=lambda a: np.maximum(a, 0.0))),
        with_inputs("rnn_cell", "your cell has no bias: add b_h before the tanh", zeroed("b_h")),
        Mistake("you added b_h after the tanh; it belongs inside, with the two products",
                lambda ref, kw: ref.rnn_cell(**zeroed("b_h")(kw)) + kw["b_h"]),
        Mistake("you applied tanh to x @ W_xh and h_prev @ W_hh separately; apply it once, to "
                "their sum plus b_h", _tanh_on_each_term),
        with_inputs("rnn_cell", "you swapped the weights: x goes with W_xh and h_prev with W_hh",
                    swapped("W_xh", "W_hh")),
        with_inputs("rnn_cell", "you multiplied by W_hh transposed (the column-vector W_hh h_prev); "
                    "with row vectors the product is h_prev @ W_hh", _transposed("W_hh")),
        with_inputs("rnn_cell", "you multiplied by W_xh transposed (the column-vector W_xh x); "
                    "with row vectors the product is x @ W_xh", _transposed("W_xh")),
        with_inputs("rnn_cell", "your cell ignores the previous state h_prev", zeroed("h_prev")),
        with_inputs("rnn_cell", "your cell ignores the input x", zeroed("x")),
    ],
)

RNN_FORWARD = FunctionSpec(
    "rnn_forward",
    _forward_cases,
    uses=("rnn_cell",),
    mistakes=[
        with_output("rnn_forward", "you returned only the last hidden state; return all of them, "
                    "shape (N, T, H)", lambda out, kw: out[:, -1]),
        with_output("rnn_forward", "your states are one step late: h[:, 0] must be the state after "
                    "reading x[:, 0], not h0",
                    lambda out, kw: np.concatenate([kw["h0"][:, None], out[:, :-1]], axis=1)),
        with_output("rnn_forward", "you included h0 in the output; return only the T states computed "
                    "from x", lambda out, kw: np.concatenate([kw["h0"][:, None], out], axis=1)),
        Mistake("you did not carry the state: every step started from h0 instead of the state of "
                "the step before", _every_step_from_h0),
        with_inputs("rnn_forward", "you started from zeros instead of the given h0", zeroed("h0")),
        with_output("rnn_forward", "your output is time-major (T, N, H); return it batch-first, "
                    "(N, T, H)", lambda out, kw: out.transpose(1, 0, 2)),
        Mistake("you ran the sequence backwards in time; read x[:, 0] first, then x[:, 1], and so on",
                lambda ref, kw: ref.rnn_forward(**{**kw, "x": kw["x"][:, ::-1]})[:, ::-1]),
        Mistake("you fed x[:, 0] at every step instead of x[:, t]",
                lambda ref, kw: ref.rnn_forward(
                    **{**kw, "x": np.repeat(kw["x"][:, :1], kw["x"].shape[1], axis=1)})),
    ],
)

RNN_STEP_BACKWARD = FunctionSpec(
    "rnn_step_backward",
    _step_backward_cases,
    mistakes=[
        with_inputs("rnn_step_backward", "you left out the derivative of tanh: multiply dh_next by "
                    "1 - h_next**2 before the matrix products", zeroed("h_next")),
        with_inputs("rnn_step_backward", "you used h_prev in the derivative of tanh; it is "
                    "1 - h_next**2, with h_next the output of this step", _replaced("h_next", "h_prev")),
        with_inputs("rnn_step_backward", "you wrote the derivative of tanh as 1 - h_next; it is "
                    "1 - h_next**2", _with_derivative(lambda h: 1.0 - h)),
        with_inputs("rnn_step_backward", "you applied tanh again in the derivative: h_next already is "
                    "tanh(a), so tanh'(a) = 1 - h_next**2",
                    _with_derivative(lambda h: 1.0 - np.tanh(h) ** 2)),
        with_inputs("rnn_step_backward", "you used the sigmoid's derivative h (1 - h); tanh's is "
                    "1 - h_next**2", _with_derivative(lambda h: h * (1.0 - h))),
        with_inputs("rnn_step_backward", "dx is missing a transpose: it is (dL/da) @ W_xh.T",
                    _transposed("W_xh")),
        with_inputs("rnn_step_backward", "dh_prev is missing a transpose: it is (dL/da) @ W_hh.T",
                    _transposed("W_hh")),
        with_inputs("rnn_step_backward", "dh_prev skips the matrix product: multiply dL/da by W_hh.T",
                    lambda kw: {**kw, "W_hh": np.eye(kw["W_hh"].shape[0])}),
        with_inputs("rnn_step_backward", "dx and dh_prev use each other's weights: dx goes back "
                    "through W_xh, dh_prev through W_hh", swapped("W_xh", "W_hh")),
        with_output("rnn_step_backward", "dW_xh is transposed: it is x.T @ (dL/da), shape (D, H)",
                    lambda out, kw: {**out, "dW_xh": out["dW_xh"].T}),
        with_output("rnn_step_backward", "dW_hh is transposed: it is h_prev.T @ (dL/da)",
                    lambda out, kw: {**out, "dW_hh": out["dW_hh"].T}),
        with_inputs("rnn_step_backward", "you built dW_hh from x; W_hh multiplies h_prev, so it is "
                    "h_prev.T @ (dL/da)", _replaced("h_prev", "x")),
        with_inputs("rnn_step_backward", "you built dW_xh from h_prev; W_xh multiplies x, so it is "
                    "x.T @ (dL/da)", _replaced("x", "h_prev")),
        Mistake("db_h is not summed over the batch: the bias serves every example, so add the rows "
                "of dL/da (shape (H,))",
                lambda ref, kw: {**ref.rnn_step_backward(**kw), "db_h": _gradient_before_bias(ref, kw)}),
        with_output("rnn_step_backward", "you averaged db_h over the batch; the loss is a sum over "
                    "examples, so sum the rows",
                    lambda out, kw: {**out, "db_h": out["db_h"] / kw["x"].shape[0]}),
        with_output("rnn_step_backward", "you divided the weight and bias gradients by the batch "
                    "size; the loss is a sum over examples, so do not average",
                    lambda out, kw: _parameter_gradients_scaled(out, 1.0 / kw["x"].shape[0])),
    ],
)

RNN_BACKWARD = FunctionSpec(
    "rnn_backward",
    _backward_cases,
    uses=("rnn_step_backward",),
    mistakes=[
        Mistake("you did not pass the gradient back through time: step t must receive dh[:, t] "
                "plus the dh_prev of step t + 1", _no_carry),
        Mistake("you did not pass the gradient back through time, and dh0 is zero: step t must "
                "receive dh[:, t] plus the dh_prev of step t + 1, and dh0 is the dh_prev of step 0",
                lambda ref, kw: ref.rnn_backward(**zeroed("W_hh")(kw))),
        with_inputs("rnn_backward", "you used only dh[:, -1]: the loss has a direct gradient on "
                    "every state, add dh[:, t] at every step", _only_last_upstream),
        Mistake("you kept the weight gradients of the first step only (= instead of +=): sum them "
                "over all steps", _weights_of_step(0)),
        Mistake("you kept the weight gradients of the last step only (= instead of +=): sum them "
                "over all steps", _weights_of_step(-1)),
        with_output("rnn_backward", "you averaged the weight gradients over time; the weights are "
                    "shared by every step, so sum them",
                    lambda out, kw: _parameter_gradients_scaled(out, 1.0 / kw["x"].shape[1])),
        Mistake("you went forward in time; BPTT starts at the last step and goes back to the first",
                _forward_in_time),
        with_output("rnn_backward", "dh0 is zero: it is the dh_prev returned by the first step",
                    lambda out, kw: {**out, "dh0": np.zeros_like(out["dh0"])}),
        Mistake("dh0 is one step short: you returned the total gradient on h[:, 0]; dh0 is what "
                "step 0 sends back from it (its dh_prev)", _dh0_one_step_short),
        with_output("rnn_backward", "dx is in reverse time order (appended while going backwards?): "
                    "dx[:, t] must be the gradient of x[:, t]",
                    lambda out, kw: {**out, "dx": out["dx"][:, ::-1]}),
        Mistake("the previous state of step t is h[:, t - 1] (h0 at t = 0), not h[:, t]",
                _dW_hh_with_previous(lambda kw, t: kw["h"][:, t])),
        Mistake("you used h0 as the previous state of every step; step t > 0 starts from h[:, t - 1]",
                _dW_hh_with_previous(lambda kw, t: kw["h0"])),
        Mistake("at t = 0 the previous state is h0, not h[:, -1] (index -1 is the last step, not "
                "the one before the first)", _dW_hh_with_previous(lambda kw, t: kw["h"][:, t - 1])),
    ],
)

def _halves(out: np.ndarray, kw: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """The forward and backward directions' states in the reference's (N, T, 2H) output."""
    h = kw["h0_fwd"].shape[1]
    return out[..., :h], out[..., h:]


def _directions_swapped(out: np.ndarray, kw: Inputs) -> np.ndarray:
    ahead, behind = _halves(out, kw)
    return np.concatenate([behind, ahead], axis=-1)


def _backward_not_flipped_back(out: np.ndarray, kw: Inputs) -> np.ndarray:
    """The backward direction's states left in the order it computed them (y[:, 0] read x[:, -1])."""
    ahead, behind = _halves(out, kw)
    return np.concatenate([ahead, behind[:, ::-1]], axis=-1)


def _backward_reads_forwards(ref: Reference, kw: Inputs) -> np.ndarray:
    """The backward direction's weights run over x in the forward order, x[:, 0] first.

    The reference on x reversed in time has, flipped back, the backward weights' states over x read
    from x[:, 0]: its own ``flip(x)`` undoes ours.
    """
    return _backward_over_x(ref, kw, flipped_back=True)


def _backward_over_x(ref: Reference, kw: Inputs, *, flipped_back: bool) -> np.ndarray:
    ahead, _ = _halves(ref.birnn_forward(**kw), kw)
    _, behind = _halves(ref.birnn_forward(**{**kw, "x": kw["x"][:, ::-1]}), kw)
    return np.concatenate([ahead, behind[:, ::-1] if flipped_back else behind], axis=-1)


def _final_states(out: np.ndarray, kw: Inputs) -> np.ndarray:
    """What torch's h_n holds: each direction's last state (the backward one's is at t = 0)."""
    ahead, behind = _halves(out, kw)
    return np.concatenate([ahead[:, -1], behind[:, 0]], axis=-1)


BIRNN_FORWARD = FunctionSpec(
    "birnn_forward",
    _bidirectional_cases,
    uses=("rnn_cell", "rnn_forward"),
    bonus=True,
    mistakes=[
        with_output("birnn_forward", "you concatenated the directions in the wrong order: the "
                    "forward states come first (features :H), the backward ones last (H:)",
                    _directions_swapped),
        with_output("birnn_forward", "you did not flip the backward direction's states back: "
                    "y[:, t, H:] must be the backward state that has just read x[:, t], so reverse "
                    "its outputs in time again", _backward_not_flipped_back),
        Mistake("your backward direction reads x in the same order as the forward one; run it over "
                "x reversed in time (x[:, ::-1]) and flip its states back", _backward_reads_forwards),
        Mistake("you reversed the backward direction's states in time but not its input: run it over "
                "x[:, ::-1], then flip its states back",
                lambda ref, kw: _backward_over_x(ref, kw, flipped_back=False)),
        with_inputs("birnn_forward", "your backward direction starts from h0_fwd; it starts from "
                    "h0_bwd", _replaced("h0_bwd", "h0_fwd")),
        with_inputs("birnn_forward", "you swapped the initial states: the forward direction starts "
                    "from h0_fwd, the backward one from h0_bwd", swapped("h0_fwd", "h0_bwd")),
        with_inputs("birnn_forward", "you swapped the weights of the two directions: params_fwd "
                    "belongs to the forward direction", swapped("params_fwd", "params_bwd")),
        with_inputs("birnn_forward", "your backward direction uses params_fwd; it has its own "
                    "weights, params_bwd", _replaced("params_bwd", "params_fwd")),
        with_inputs("birnn_forward", "your backward direction starts from zeros instead of h0_bwd",
                    zeroed("h0_bwd")),
        with_output("birnn_forward", "you returned only the states of the last step; return every "
                    "step, shape (N, T, 2H)", lambda out, kw: out[:, -1]),
        with_output("birnn_forward", "you returned each direction's final state (what "
                    "torch.nn.RNN returns as h_n); return the states of every step, shape (N, T, 2H)",
                    _final_states),
        with_output("birnn_forward", "you added the two directions; concatenate them along the "
                    "features, shape (N, T, 2H)", lambda out, kw: sum(_halves(out, kw))),
        with_output("birnn_forward", "you concatenated along time (N, 2T, H); concatenate along the "
                    "features, (N, T, 2H)",
                    lambda out, kw: np.concatenate(_halves(out, kw), axis=1)),
    ],
)

SPEC = AssignmentSpec.of(ASSIGNMENT, RNN_CELL, RNN_FORWARD, RNN_STEP_BACKWARD, RNN_BACKWARD,
                         BIRNN_FORWARD)
