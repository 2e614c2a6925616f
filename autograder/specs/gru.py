"""Grading spec of assignment 04_gru: the GRU's gates, candidate, hidden update, cell, and the
conversion of a reset-after GRU to ``torch.nn.GRU``.

Random cases draw fresh float64 inputs of several shapes. The first case of every function is
"square" (``N = D = H``) so that mistakes which only run on square arrays (weights swapped or
transposed, ``@`` where ``*`` belongs) still produce an output and can be recognised; later cases
cover a batch of one, ``D != H``, and pre-activations of magnitude 50 to 800 (both signs), where a
naive sigmoid overflows (``call_safely`` reports it).

``to_torch_gru`` is judged by behaviour (``FunctionSpec.judge``): nn.GRU loaded with the student's
tensors must reproduce the numpy reset-after GRU, so any split of the r and z biases between
``bias_ih_l0`` and ``bias_hh_l0`` is accepted (nn.GRU only uses their sum); the reference
conversion, itself checked against the numpy GRU, serves for the form checks and the diagnosis.

The mistake catalogues are transformations of the reference (the executed set-up and solution
cells of ``solutions/04_gru/gru.ipynb``): the reference run with a global rebound, on transformed
inputs, with its output post-processed, or with the functions it calls rewired. None is a copy of
a solution.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..checks import ATOL, RTOL, compare_outputs, diagnose
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

ASSIGNMENT = "04_gru"
GATES = {
    "reset_gate": ("W_xr", "W_hr", "b_r"),
    "update_gate": ("W_xz", "W_hz", "b_z"),
    "candidate": ("W_xh", "W_hh", "b_h"),
}
CELL_KEYS = tuple(k for keys in GATES.values() for k in keys)
TORCH_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")

# Shapes (N, D, H) of the hidden cases: square first (see the module docstring), then a batch of
# one, D < H, D > H.
SHAPES = [(3, 3, 3), (1, 5, 2), (4, 2, 6), (2, 7, 3)]
LARGE_SHAPE = (3, 4, 5)


def _identity(a: Any) -> Any:
    return a


class _NumpyWith:
    """``numpy`` with some attributes replaced (``tanh=sigmoid``), to rebind ``np`` in a function."""

    def __init__(self, **overrides: Any) -> None:
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides[name] if name in self._overrides else getattr(np, name)


# ---------------------------------------------------------------------------------------------
# Random inputs


def _state(rng: np.random.Generator, n: int, h: int) -> np.ndarray:
    """A hidden state in (-1, 1), as a GRU's states are."""
    return np.tanh(rng.normal(size=(n, h)))


def _large_bias(rng: np.random.Generator, h: int) -> np.ndarray:
    """A bias with entries of magnitude 50 to 800 and both signs, including -800 and +800.

    With weights of order one this makes pre-activations where ``exp(-a)`` (a < -709) or
    ``exp(a)`` (a > 709) overflows.
    """
    b = rng.uniform(50.0, 800.0, size=h) * rng.choice([-1.0, 1.0], size=h)
    b[0], b[1] = -800.0, 800.0
    return b


def _params(rng: np.random.Generator, d: int, h: int, *, large: bool = False) -> dict[str, np.ndarray]:
    p = {}
    for w_x, w_h, b in GATES.values():
        p[w_x] = rng.normal(scale=0.7, size=(d, h))
        p[w_h] = rng.normal(scale=0.7, size=(h, h))
        p[b] = _large_bias(rng, h) if large else rng.normal(scale=0.5, size=h)
    return p


def _gate_cases(fn_name: str) -> Callable[[np.random.Generator], list[Inputs]]:
    w_x, w_h, b = GATES[fn_name]

    def cases(rng: np.random.Generator) -> list[Inputs]:
        out = []
        for n, d, h in [*SHAPES, LARGE_SHAPE]:
            large = (n, d, h) == LARGE_SHAPE
            p = _params(rng, d, h, large=large)
            kw = {"x": rng.normal(size=(n, d)), "h_prev": _state(rng, n, h)}
            out.append({**kw, w_x: p[w_x], w_h: p[w_h], b: p[b]})
        return out

    return cases


def _candidate_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, d, h in [*SHAPES, LARGE_SHAPE]:
        p = _params(rng, d, h, large=(n, d, h) == LARGE_SHAPE)
        r = rng.uniform(size=(n, h))
        out.append({"x": rng.normal(size=(n, d)), "h_prev": _state(rng, n, h), "r": r,
                    "W_xh": p["W_xh"], "W_hh": p["W_hh"], "b_h": p["b_h"]})
    # a reset gate that is exactly closed (0) or open (1) on some units
    last = out[2]
    last["r"] = rng.choice([0.0, 1.0], size=last["r"].shape)
    last["r"][0] = [0.0, 1.0] * (last["r"].shape[1] // 2)
    return out


def _update_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, h in [(3, 3), (1, 4), (5, 2), (2, 6)]:
        out.append({"z": rng.uniform(size=(n, h)), "h_prev": _state(rng, n, h), "h_tilde": _state(rng, n, h)})
    # a gate that is exactly shut (keep h_prev) or open (take h_tilde) on some units
    out[-1]["z"][0] = [0.0, 1.0, 0.0, 1.0, 0.5, 1.0]
    return out


def _cell_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, d, h in [*SHAPES, LARGE_SHAPE]:
        p = _params(rng, d, h, large=(n, d, h) == LARGE_SHAPE)
        out.append({"x": rng.normal(size=(n, d)), "h_prev": _state(rng, n, h), "params": p})
    return out


def _reset_after_params(rng: np.random.Generator, d: int, h: int) -> dict[str, np.ndarray]:
    return {**_params(rng, d, h), "b_hh": rng.normal(scale=0.5, size=h)}


def _conversion_cases(rng: np.random.Generator) -> list[Inputs]:
    # (D, H): square first (weight_ih_l0 and weight_hh_l0 have the same shape), then D != H, H = 1
    return [{"params": _reset_after_params(rng, d, h)} for d, h in [(3, 3), (2, 5), (6, 1), (1, 4)]]


# ---------------------------------------------------------------------------------------------
# Gates


def _transposed(*keys: str) -> Callable[[Inputs], Inputs]:
    def transform(kw: Inputs) -> Inputs:
        return {**kw, **{k: kw[k].T for k in keys}}

    return transform


def _bias_outside(fn_name: str, b: str) -> Callable[[Reference, Inputs], Any]:
    def output(ref: Reference, kw: Inputs) -> Any:
        return getattr(ref, fn_name)(**{**kw, b: np.zeros_like(kw[b])}) + kw[b]

    return output


def _gate_mistakes(fn_name: str, symbol: str) -> list[Mistake]:
    w_x, w_h, b = GATES[fn_name]
    gate = fn_name.replace("_", " ")
    mistakes = [
        with_globals(fn_name, f"you used tanh where the {gate} needs sigmoid (a gate lies in (0, 1))",
                     sigmoid=np.tanh),
        with_globals(fn_name, f"your {gate} has no nonlinearity: apply `sigmoid` to the pre-activation",
                     sigmoid=_identity),
        with_inputs(fn_name, f"your {gate} has no bias: add `{b}` to the pre-activation", zeroed(b)),
        Mistake(f"you added the bias `{b}` after the sigmoid; it belongs inside, in the pre-activation",
                _bias_outside(fn_name, b)),
        with_inputs(fn_name, f"you multiplied x by `{w_h}` and h_prev by `{w_x}` (x and h_prev, or the two "
                    f"weight matrices, are swapped): the pre-activation is x @ {w_x} + h_prev @ {w_h} + {b}",
                    swapped(w_x, w_h)),
        with_inputs(fn_name, f"you transposed the weights: with row vectors the product is x @ {w_x} "
                    f"(W of shape (D, H)), not x @ {w_x}.T", _transposed(w_x, w_h)),
        with_inputs(fn_name, f"your {gate} ignores h_prev: add h_prev @ {w_h}", zeroed("h_prev")),
        with_inputs(fn_name, f"your {gate} ignores x: add x @ {w_x}", zeroed("x")),
    ]
    if symbol == "z":
        mistakes.append(with_output(fn_name, "you returned 1 - z (the update gate of PyTorch's convention); "
                                    "here z = sigmoid(x @ W_xz + h_prev @ W_hz + b_z)", lambda out, kw: 1 - out))
    else:
        mistakes.append(with_output(fn_name, "you returned 1 - r; the reset gate is "
                                    "r = sigmoid(x @ W_xr + h_prev @ W_hr + b_r)", lambda out, kw: 1 - out))
    return mistakes


# ---------------------------------------------------------------------------------------------
# Candidate


def _reset_after_product(ref: Reference, kw: Inputs) -> Any:
    # the candidate with the reset moved after the recurrent product (PyTorch's form)
    return np.tanh(kw["x"] @ kw["W_xh"] + kw["r"] * (kw["h_prev"] @ kw["W_hh"]) + kw["b_h"])


def _reset_on_output(ref: Reference, kw: Inputs) -> Any:
    return kw["r"] * ref.candidate(**{**kw, "r": np.ones_like(kw["r"])})


def _candidate_mistakes() -> list[Mistake]:
    name = "candidate"
    return [
        Mistake("you applied the reset after the matrix product, r * (h_prev @ W_hh) (PyTorch's form); "
                "here the reset scales h_prev before it: (r * h_prev) @ W_hh", _reset_after_product),
        with_inputs(name, "your candidate ignores the reset gate: multiply h_prev by r (element-wise) "
                    "before the product with W_hh", lambda kw: {**kw, "r": np.ones_like(kw["r"])}),
        with_inputs(name, "you used 1 - r where the reset gate r belongs: the candidate sees r * h_prev",
                    lambda kw: {**kw, "r": 1 - kw["r"]}),
        with_inputs(name, "you multiplied r and h_prev with @ (a matrix product); the reset acts "
                    "element-wise: r * h_prev", lambda kw: {**kw, "h_prev": kw["r"] @ kw["h_prev"],
                                                            "r": np.ones_like(kw["r"])}),
        Mistake("you applied the reset to the output of tanh; it scales h_prev inside the candidate",
                _reset_on_output),
        with_globals(name, "you used sigmoid where the candidate needs tanh (values in (-1, 1))",
                     np=_NumpyWith(tanh=sigmoid)),
        with_globals(name, "your candidate has no nonlinearity: apply np.tanh to the pre-activation",
                     np=_NumpyWith(tanh=_identity)),
        with_inputs(name, "your candidate has no bias: add `b_h` to the pre-activation", zeroed("b_h")),
        with_inputs(name, "you swapped W_xh and W_hh: x goes with W_xh, the reset state with W_hh",
                    swapped("W_xh", "W_hh")),
        with_inputs(name, "you swapped x and h_prev: the reset gate scales h_prev, and x goes with W_xh",
                    swapped("x", "h_prev")),
        with_inputs(name, "you transposed the weights: with row vectors the products are x @ W_xh and "
                    "(r * h_prev) @ W_hh, W of shape (D, H) and (H, H)", _transposed("W_xh", "W_hh")),
    ]


# ---------------------------------------------------------------------------------------------
# Hidden update


def _update_mistakes() -> list[Mistake]:
    name = "hidden_update"
    return [
        with_inputs(name, "you weighted h_prev by z and h_tilde by 1 - z (PyTorch's convention, or h_prev "
                    "and h_tilde swapped): here z weights the candidate, h = (1 - z) * h_prev + z * h_tilde",
                    swapped("h_prev", "h_tilde")),
        with_output(name, "you added h_prev to z * h_tilde: the new state is a weighted average, "
                    "(1 - z) * h_prev + z * h_tilde, not a sum", lambda out, kw: out + kw["z"] * kw["h_prev"]),
        Mistake("you returned h_prev + h_tilde: the update gate weights the two, "
                "(1 - z) * h_prev + z * h_tilde", lambda ref, kw: kw["h_prev"] + kw["h_tilde"]),
        Mistake("you used @ (a matrix product) where the update gate acts element-wise (* in numpy)",
                lambda ref, kw: (1 - kw["z"]) @ kw["h_prev"] + kw["z"] @ kw["h_tilde"]),
        with_inputs(name, "you dropped the (1 - z) * h_prev term: the unit keeps part of its previous value",
                    zeroed("h_prev")),
        with_inputs(name, "you dropped the z * h_tilde term: the candidate enters through the update gate",
                    zeroed("h_tilde")),
        with_inputs(name, "you averaged h_prev and h_tilde with equal weights: use the update gate z as "
                    "the weight of h_tilde", lambda kw: {**kw, "z": np.full_like(kw["z"], 0.5)}),
    ]


# ---------------------------------------------------------------------------------------------
# Full cell: the reference gru_cell with the functions it calls rewired


def _rewired(ref: Reference, fn_name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable:
    """``ref.<fn_name>`` with its arguments passed through ``change`` (however it is called)."""
    fn = getattr(ref, fn_name)
    signature = inspect.signature(fn)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(**change(dict(signature.bind(*args, **kwargs).arguments)))

    return wrapper


def _gate_from(ref: Reference, kw: Inputs, fn_name: str, keys_from: str) -> Callable:
    """``ref.<fn_name>`` computed, whatever it is passed, from the parameters of ``keys_from``."""
    p = kw["params"]
    return lambda *a, **k: getattr(ref, fn_name)(kw["x"], kw["h_prev"], *(p[key] for key in GATES[keys_from]))


def _cell_with(**rewire: Callable[[Reference, Inputs], Callable]) -> Callable[[Reference, Inputs], Any]:
    def output(ref: Reference, kw: Inputs) -> Any:
        return patched(ref.gru_cell, **{name: make(ref, kw) for name, make in rewire.items()})(**kw)

    return output


def _cell_mistakes() -> list[Mistake]:
    def arg(fn_name: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable:
        return lambda ref, kw: _rewired(ref, fn_name, change)

    def gate(fn_name: str, keys_from: str) -> Callable:
        return lambda ref, kw: _gate_from(ref, kw, fn_name, keys_from)

    return [
        Mistake("the candidate got the update gate where the reset gate belongs (did you pass z to "
                "`candidate`, or the update gate's parameters to `reset_gate`?)",
                _cell_with(reset_gate=gate("update_gate", "update_gate"))),
        Mistake("`hidden_update` got the reset gate where the update gate belongs (did you pass r to "
                "`hidden_update`, or the reset gate's parameters to `update_gate`?)",
                _cell_with(update_gate=gate("reset_gate", "reset_gate"))),
        Mistake("you swapped the reset and update gates: r goes to `candidate`, z to `hidden_update`",
                _cell_with(reset_gate=gate("update_gate", "update_gate"),
                           update_gate=gate("reset_gate", "reset_gate"))),
        Mistake("you gave `reset_gate` the candidate's parameters (W_xh, W_hh, b_h); it takes W_xr, W_hr, b_r",
                _cell_with(reset_gate=gate("reset_gate", "candidate"))),
        Mistake("you gave `update_gate` the candidate's parameters (W_xh, W_hh, b_h); it takes W_xz, W_hz, b_z",
                _cell_with(update_gate=gate("update_gate", "candidate"))),
        Mistake("you passed h_prev and h_tilde to `hidden_update` in the wrong order (or passed 1 - z): "
                "call hidden_update(z, h_prev, h_tilde)",
                _cell_with(hidden_update=arg("hidden_update", lambda a: {**a, "h_prev": a["h_tilde"],
                                                                         "h_tilde": a["h_prev"]}))),
        Mistake("the candidate ignores the reset gate: pass r to `candidate`",
                _cell_with(candidate=arg("candidate", lambda a: {**a, "r": np.ones_like(a["r"])}))),
        Mistake("you passed r * h_prev to `candidate`, which applies the reset itself (the reset was "
                "applied twice)", _cell_with(candidate=arg("candidate", lambda a: {**a, "h_prev": a["r"] * a["h_prev"]}))),
        Mistake("you returned the candidate h_tilde; the new state mixes it with h_prev through `hidden_update`",
                _cell_with(hidden_update=arg("hidden_update", lambda a: {**a, "z": np.ones_like(a["z"])}))),
        Mistake("you returned the previous state h_prev unchanged",
                lambda ref, kw: kw["h_prev"].copy()),
    ]


# ---------------------------------------------------------------------------------------------
# Conversion to torch.nn.GRU


def torch_gru_states(ref: Reference, params: dict[str, np.ndarray], state_dict: Any, *, seed: int = 0,
                     n: int = 3, t: int = 6) -> np.ndarray:
    """Hidden states of ``nn.GRU`` loaded with ``state_dict`` on a random sequence (seeded), with the
    shapes of the reset-after GRU ``params``: the behaviour that a conversion must reproduce."""
    d, h = params["W_xh"].shape
    rng = np.random.default_rng(seed)
    x_seq, h0 = rng.normal(size=(n, t, d)), np.tanh(rng.normal(size=(n, h)))
    return ref.run_torch_gru(state_dict, x_seq, h0)


def reset_after_states(ref: Reference, params: dict[str, np.ndarray], *, seed: int = 0, n: int = 3,
                       t: int = 6) -> np.ndarray:
    """The numpy reset-after GRU on the same sequence as :func:`torch_gru_states`."""
    d, h = params["W_xh"].shape
    rng = np.random.default_rng(seed)
    x_seq, h0 = rng.normal(size=(n, t, d)), np.tanh(rng.normal(size=(n, h)))
    return ref.gru_forward_reset_after(x_seq, h0, params)


def _expected_conversion(ref: Reference, kw: Inputs) -> Any:
    """The reference conversion, checked before use: nn.GRU loaded with it reproduces the numpy
    reset-after GRU on random sequences (so a wrong reference cannot silently grade students)."""
    state_dict = ref.to_torch_gru(kw["params"])
    for seed in (0, 1):
        np.testing.assert_allclose(torch_gru_states(ref, kw["params"], state_dict, seed=seed),
                                   reset_after_states(ref, kw["params"], seed=seed), rtol=1e-10, atol=1e-12)
    return state_dict


def _negated(*keys: str) -> Callable[[Inputs], Inputs]:
    def transform(kw: Inputs) -> Inputs:
        return {**kw, "params": {**kw["params"], **{k: -kw["params"][k] for k in keys}}}

    return transform


def _with_params(change: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]) -> Callable[[Inputs], Inputs]:
    return lambda kw: {**kw, "params": change(dict(kw["params"]))}


def _blocks(order: tuple[int, int, int]) -> Callable[[Any, Inputs], Any]:
    """Reorder the three gate blocks (r, z, n) of every tensor of a converted state dict."""

    def transform(state_dict: Any, kw: Inputs) -> Any:
        out = {}
        for key, value in state_dict.items():
            h = value.shape[0] // 3
            out[key] = value[[i for b in order for i in range(b * h, b * h + h)]]
        return out

    return transform


def _gate_biases_twice(state_dict: Any, kw: Inputs) -> Any:
    """The r and z biases in bias_hh_l0 as well as in bias_ih_l0."""
    h = state_dict["bias_ih_l0"].shape[0] // 3
    hh = state_dict["bias_hh_l0"].clone()
    hh[: 2 * h] += state_dict["bias_ih_l0"][: 2 * h]
    return {**state_dict, "bias_hh_l0": hh}


def _not_transposed(state_dict: Any, kw: Inputs) -> Any:
    return {k: (v.T if v.ndim == 2 else v) for k, v in state_dict.items()}


def _weights_swapped(state_dict: Any, kw: Inputs) -> Any:
    return {**state_dict, "weight_ih_l0": state_dict["weight_hh_l0"], "weight_hh_l0": state_dict["weight_ih_l0"]}


def _order_zrn_not_negated(ref: Reference, kw: Inputs) -> Any:
    return _blocks((1, 0, 2))(ref.to_torch_gru(_negated("W_xz", "W_hz", "b_z")(kw)["params"]), kw)


def _structure_problem(got: Any, expected: Any) -> str | None:
    """What is wrong with the form of a converted state dict (keys, types, dtypes, shapes), if anything."""
    what = "the output of `to_torch_gru`"
    if not isinstance(got, Mapping):
        return f"{what} should be a dict with keys {list(TORCH_KEYS)}, got {type(got).__name__}"
    # values are ignored here (atol=inf): only keys, dtypes, shapes and finiteness are checked
    problem = compare_outputs(got, expected, what=what, rtol=0.0, atol=np.finfo(np.float64).max)
    if problem:
        return problem
    for key in TORCH_KEYS:
        if not (hasattr(got[key], "detach") and hasattr(got[key], "numpy")):
            return (f"{what}[{key!r}] is a {type(got[key]).__name__}; nn.GRU's load_state_dict needs torch "
                    "tensors (e.g. torch.tensor(a, dtype=torch.float64))")
    return None


def _judge_conversion(ref: Reference, kw: Inputs, got: Any) -> str | None:
    """Accept any state dict with which nn.GRU reproduces the reset-after GRU.

    The weights are determined by the GRU, but for the r and z blocks nn.GRU only uses the sum
    bias_ih_l0 + bias_hh_l0, so any split of b_r and -b_z between the two vectors is right. The
    check runs nn.GRU loaded with the student's tensors on seeded random sequences and compares
    its hidden states with the numpy reset-after GRU; when they differ, the catalogue of known
    mistakes names the mistake where it can.
    """
    expected = _expected_conversion(ref, kw)
    problem = _structure_problem(got, expected)
    if problem:
        return _with_diagnosis(ref, kw, got, problem)
    worst = 0.0
    try:
        for seed in (0, 1):
            states = torch_gru_states(ref, kw["params"], got, seed=seed)
            target = reset_after_states(ref, kw["params"], seed=seed)
            if not np.allclose(states, target, rtol=RTOL, atol=ATOL):
                worst = max(worst, float(np.max(np.abs(states - target))))
    except Exception as exc:  # noqa: BLE001 - whatever nn.GRU refuses becomes a message
        return f"nn.GRU could not load the output of `to_torch_gru`: {type(exc).__name__}: {exc}"
    if worst == 0.0:
        return None
    behaviour = (f"nn.GRU loaded with your tensors does not reproduce the reset-after GRU (hidden states "
                 f"off by up to {worst:.3g})")
    values = compare_outputs(_canonical(got), _canonical(expected), what="your conversion")
    return _with_diagnosis(ref, kw, got, f"{behaviour}; {values}" if values else behaviour)


def _canonical(state_dict: Any) -> dict[str, Any]:
    """What nn.GRU actually uses of a state dict: the weights, the sum of the two biases in the r
    and z blocks, and each bias of the n block (so that a mismatch is reported in those terms)."""
    h = state_dict["bias_ih_l0"].shape[0] // 3
    ih, hh = state_dict["bias_ih_l0"], state_dict["bias_hh_l0"]
    return {
        "weight_ih_l0": state_dict["weight_ih_l0"],
        "weight_hh_l0": state_dict["weight_hh_l0"],
        "bias_ih_l0[:2H] + bias_hh_l0[:2H] (r and z biases)": ih[: 2 * h] + hh[: 2 * h],
        "bias_ih_l0[2H:] (b_h)": ih[2 * h :],
        "bias_hh_l0[2H:] (b_hh)": hh[2 * h :],
    }


def _with_diagnosis(ref: Reference, kw: Inputs, got: Any, detail: str) -> str:
    """``detail`` preceded by the catalogued mistake that ``got`` equals, if there is one."""
    mistakes = {}
    for mistake in _CONVERSION_MISTAKES:
        try:
            mistakes[mistake.message] = mistake.output(ref, copy.deepcopy(kw))
        except Exception:  # noqa: BLE001 - a mistake that cannot run on these shapes is skipped
            mistakes[mistake.message] = None
    found = diagnose(got, mistakes)
    return f"{found}. ({detail})" if found else detail


def _conversion_mistakes() -> list[Mistake]:
    name = "to_torch_gru"
    return [
        with_inputs(name, "you did not negate the update gate: PyTorch's z' weights the old state, "
                    "z' = 1 - z = sigmoid(-(x @ W_xz + h_prev @ W_hz + b_z)), so its block holds -W_xz.T, "
                    "-W_hz.T and -b_z", _negated("W_xz", "W_hz", "b_z")),
        with_inputs(name, "you negated the update gate's weights but not its bias b_z: PyTorch's z' = 1 - z "
                    "needs the whole pre-activation negated", _negated("b_z")),
        with_inputs(name, "you negated the update gate's bias but not its weights W_xz, W_hz: PyTorch's "
                    "z' = 1 - z needs the whole pre-activation negated", _negated("W_xz", "W_hz")),
        with_inputs(name, "you negated the reset gate as well: only the update gate has the opposite "
                    "meaning in PyTorch", _negated("W_xr", "W_hr", "b_r")),
        with_output(name, "you stacked the gates in the order (z, r, n); PyTorch's order is (r, z, n)",
                    _blocks((1, 0, 2))),
        Mistake("you stacked the gates in the order (z, r, n) and did not negate the update gate; "
                "PyTorch's order is (r, z, n), and its z' = 1 - z", _order_zrn_not_negated),
        with_output(name, "you stacked the gates in the order (n, r, z); PyTorch's order is (r, z, n)",
                    _blocks((2, 0, 1))),
        with_output(name, "you put the (D, H) blocks side by side without transposing them: PyTorch stores "
                    "weight_ih_l0 as (3H, D) and weight_hh_l0 as (3H, H), each block W.T", _not_transposed),
        with_output(name, "you swapped weight_ih_l0 (input weights W_x?) and weight_hh_l0 (recurrent "
                    "weights W_h?)", _weights_swapped),
        with_inputs(name, "you swapped b_h and b_hh: b_h goes in bias_ih_l0 (outside the reset), b_hh in "
                    "bias_hh_l0 (inside the reset)", _with_params(lambda p: {**p, "b_h": p["b_hh"], "b_hh": p["b_h"]})),
        with_output(name, "you put the r and z biases in both bias_ih_l0 and bias_hh_l0: nn.GRU adds the two "
                    "vectors, so they count twice; put each gate's bias in one of them (zeros in the other)",
                    _gate_biases_twice),
        with_inputs(name, "you left out b_hh: it belongs in the n block of bias_hh_l0",
                    _with_params(lambda p: {**p, "b_hh": np.zeros_like(p["b_hh"])})),
        with_inputs(name, "you added b_hh to b_h in bias_ih_l0: b_hh sits inside the reset, "
                    "r * (h_prev @ W_hh + b_hh), so it goes in the n block of bias_hh_l0",
                    _with_params(lambda p: {**p, "b_h": p["b_h"] + p["b_hh"], "b_hh": np.zeros_like(p["b_hh"])})),
    ]


_CONVERSION_MISTAKES = _conversion_mistakes()

# ---------------------------------------------------------------------------------------------

SPEC = AssignmentSpec.of(
    ASSIGNMENT,
    FunctionSpec("reset_gate", _gate_cases("reset_gate"), _gate_mistakes("reset_gate", "r")),
    FunctionSpec("update_gate", _gate_cases("update_gate"), _gate_mistakes("update_gate", "z")),
    FunctionSpec("candidate", _candidate_cases, _candidate_mistakes()),
    FunctionSpec("hidden_update", _update_cases, _update_mistakes()),
    FunctionSpec("gru_cell", _cell_cases, _cell_mistakes(),
                 uses=("reset_gate", "update_gate", "candidate", "hidden_update")),
    FunctionSpec("to_torch_gru", _conversion_cases, _CONVERSION_MISTAKES, expected=_expected_conversion,
                 judge=_judge_conversion),
)
