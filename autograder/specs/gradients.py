"""Grading spec of assignment 02_gradients: clipping by global norm and Jacobian products.

Random cases draw fresh float64 inputs of several shapes; the mistake catalogues are
transformations of the reference functions (run on transformed inputs, or their outputs
post-processed), never copies of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..spec_kit import AssignmentSpec, FunctionSpec, Inputs, Mistake, Reference, with_inputs, with_output

ASSIGNMENT = "02_gradients"

# ---------------------------------------------------------------------------------------------
# clip_grad_norm


def _grad_dict(rng: np.random.Generator, shapes: dict[str, tuple[int, ...]], scale: float) -> dict:
    return {name: scale * rng.normal(size=shape) for name, shape in shapes.items()}


def _clip_cases(rng: np.random.Generator) -> list[Inputs]:
    rnn = {"W_xh": (3, 5), "W_hh": (5, 5), "b_h": (5,), "W_hy": (5, 2), "b_y": (2,)}
    cases = [
        # clipped: several arrays, D != H, global norm far above the threshold
        {"grads": _grad_dict(rng, rnn, 1.0), "threshold": 1.0},
        # not clipped: the norm is below the threshold
        {"grads": _grad_dict(rng, rnn, 0.05), "threshold": float(rng.uniform(1.0, 2.0))},
        # one array only, a 3-d one among them, and a large threshold that is still exceeded
        {"grads": _grad_dict(rng, {"W": (4, 7)}, 3.0), "threshold": 2.5},
        {"grads": _grad_dict(rng, {"emb": (6, 3, 2), "b": (1,)}, 10.0), "threshold": 5.0},
        # every array is below the threshold on its own, but the global norm is above it
        {"grads": _grad_dict(rng, {f"g{k}": (2, 2) for k in range(6)}, 1.0), "threshold": 1.0},
    ]
    small = cases[-1]["grads"]
    # make the per-array norms all smaller than the threshold, the global norm larger
    cases[-1]["grads"] = {k: 0.9 * v / np.linalg.norm(v) for k, v in small.items()}
    # a zero gradient (norm 0 is below any positive threshold)
    cases.append({"grads": {"W_hh": np.zeros((3, 3)), "b_h": np.zeros(3)}, "threshold": 0.5})
    return cases


def _global_norm(ref: Reference, kw: Inputs) -> float:
    return ref.clip_grad_norm(kw["grads"], kw["threshold"])[1]


def _per_array(ref: Reference, kw: Inputs) -> Any:
    clipped = {k: ref.clip_grad_norm({k: g}, kw["threshold"])[0][k] for k, g in kw["grads"].items()}
    return clipped, _global_norm(ref, kw)


def _elementwise(ref: Reference, kw: Inputs) -> Any:
    thr = kw["threshold"]
    return {k: np.clip(g, -thr, thr) for k, g in kw["grads"].items()}, _global_norm(ref, kw)


def _inverted_factor(clipped_norm: Any, kw: Inputs) -> Any:
    clipped, norm = clipped_norm
    thr = kw["threshold"]
    if norm < thr:
        return clipped, norm
    # the reference scaled by thr / norm; the mistake scales by norm / thr
    return {k: g * (norm / thr) ** 2 for k, g in clipped.items()}, norm


def _always_rescale(ref: Reference, kw: Inputs) -> Any:
    norm = _global_norm(ref, kw)
    if norm == 0:
        return None
    return {k: g * (kw["threshold"] / norm) for k, g in kw["grads"].items()}, norm


def _with_other_norm(power: float, root: bool):
    """The reference rule applied with sum(|g|**power) (optionally its root) as the norm."""

    def output(ref: Reference, kw: Inputs) -> Any:
        grads, thr = kw["grads"], kw["threshold"]
        l2 = _global_norm(ref, kw)
        other = float(sum(np.sum(np.abs(g) ** power) for g in grads.values()))
        if root:
            other = other ** (1.0 / power)
        if l2 == 0 or other == 0:
            return None
        # the reference clips by l2; a threshold thr * l2 / other makes it clip exactly when
        # other >= thr, by the factor thr / other
        return ref.clip_grad_norm(grads, thr * l2 / other)[0], other

    return output


def _summed_norms(ref: Reference, kw: Inputs) -> Any:
    grads, thr = kw["grads"], kw["threshold"]
    l2 = _global_norm(ref, kw)
    total = float(sum(np.sqrt(np.sum(g * g)) for g in grads.values()))
    if l2 == 0:
        return None
    return ref.clip_grad_norm(grads, thr * l2 / total)[0], total


CLIP = FunctionSpec(
    "clip_grad_norm",
    _clip_cases,
    mistakes=(
        Mistake(
            "you clipped each array by its own norm; the rule uses one global norm over all the "
            "arrays together (the square root of the sum of every squared entry)",
            _per_array,
        ),
        Mistake(
            "you clipped every entry into [-threshold, threshold] (np.clip); clipping by norm "
            "rescales the whole gradient by one factor and keeps its direction",
            _elementwise,
        ),
        with_output(
            "clip_grad_norm",
            "you scaled by total_norm / threshold; the factor is threshold / total_norm, so the "
            "clipped gradient has norm exactly threshold",
            _inverted_factor,
        ),
        Mistake(
            "you rescaled even though the norm was below the threshold; leave the gradient as it "
            "is when total_norm < threshold",
            _always_rescale,
        ),
        with_output(
            "clip_grad_norm",
            "you returned the norm after clipping; return the norm before clipping",
            lambda out, kw: (out[0], min(out[1], kw["threshold"])),
        ),
        Mistake(
            "you used the L1 norm (sum of absolute values); use the L2 norm, the square root of the "
            "sum of squares",
            _with_other_norm(1.0, root=False),
        ),
        Mistake(
            "you used the squared norm (sum of squares) without the square root",
            _with_other_norm(2.0, root=False),
        ),
        Mistake(
            "you added up the L2 norms of the arrays; the global norm is the square root of the sum "
            "of all squared entries (the norm of all the arrays flattened into one vector)",
            _summed_norms,
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# step_jacobian


def _states(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return np.tanh(scale * rng.normal(size=shape))


def _jacobian_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for H in (4, 3, 7):
        cases.append({"h_t": _states(rng, (H,)), "W_hh": rng.normal(size=(H, H))})
    cases.append({"h_t": _states(rng, (1,)), "W_hh": rng.normal(size=(1, 1))})  # a single unit
    # saturated units: pre-activations of |a| ~ 50-800 give h = +-1 exactly, derivative 0
    a = rng.uniform(50.0, 800.0, size=5) * rng.choice([-1.0, 1.0], size=5)
    a[[1, 3]] = rng.normal(size=2)
    cases.append({"h_t": np.tanh(a), "W_hh": rng.normal(size=(5, 5))})
    return cases


def _with_derivative(message: str, derivative):
    """The Jacobian with another factor in place of tanh' = 1 - h**2 (rows scaled by it)."""

    def output(ref: Reference, kw: Inputs) -> Any:
        h = kw["h_t"]
        # with h = 0 the reference returns W_hh.T alone (the factor is 1)
        return derivative(h)[:, None] * ref.step_jacobian(h_t=np.zeros_like(h), W_hh=kw["W_hh"])

    return Mistake(message, output)


STEP_JACOBIAN = FunctionSpec(
    "step_jacobian",
    _jacobian_cases,
    mistakes=(
        with_inputs(
            "step_jacobian",
            "you used W_hh where W_hh.T belongs: in the row-vector convention "
            "J[i, j] = (1 - h_t[i]**2) * W_hh[j, i]",
            lambda kw: {**kw, "W_hh": kw["W_hh"].T},
        ),
        Mistake(
            "you multiplied on the wrong side: W_hh.T @ diag(1 - h_t**2) scales the columns; the "
            "tanh derivative of unit i scales row i, diag(1 - h_t**2) @ W_hh.T",
            lambda ref, kw: ref.step_jacobian(h_t=kw["h_t"], W_hh=kw["W_hh"].T).T,
        ),
        with_output(
            "step_jacobian",
            "your Jacobian is transposed: rows belong to the new state h_t, columns to h_{t-1}",
            lambda out, kw: out.T,
        ),
        with_inputs(
            "step_jacobian",
            "you forgot the derivative of tanh: J = diag(1 - h_t**2) @ W_hh.T, not W_hh.T",
            lambda kw: {**kw, "h_t": np.zeros_like(kw["h_t"])},
        ),
        with_inputs(
            "step_jacobian",
            "you applied tanh again: h_t is already tanh(a), so tanh'(a) = 1 - h_t**2, not "
            "1 - tanh(h_t)**2",
            lambda kw: {**kw, "h_t": np.tanh(kw["h_t"])},
        ),
        _with_derivative("you used h_t where the derivative 1 - h_t**2 belongs", lambda h: h),
        _with_derivative("you used (1 - h_t)**2; the tanh derivative is 1 - h_t**2", lambda h: (1 - h) ** 2),
        _with_derivative("you used 1 - h_t; the tanh derivative is 1 - h_t**2 (square h_t)", lambda h: 1 - h),
        _with_derivative(
            "you used the sigmoid derivative h_t * (1 - h_t); the state comes from tanh, whose "
            "derivative is 1 - h_t**2",
            lambda h: h * (1 - h),
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# jacobian_product_norm


def _run_rnn(rng: np.random.Generator, T: int, H: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    W_hh = scale * rng.normal(size=(H, H)) / np.sqrt(H)
    x = rng.normal(size=(T, H))
    h, seq = np.zeros(H), np.zeros((T, H))
    for t in range(T):
        h = np.tanh(h @ W_hh + 0.5 * x[t])
        seq[t] = h
    return seq, W_hh


def _product_cases(rng: np.random.Generator) -> list[Inputs]:
    cases = []
    for T, H, scale, k in ((8, 4, 1.2, 4), (12, 6, 0.8, 7), (6, 3, 2.5, 6), (10, 5, 1.5, 3),
                           (5, 1, 1.3, 3), (1, 4, 1.0, 1), (7, 4, 1.0, 0)):
        seq, W_hh = _run_rnn(rng, T, H, scale)
        cases.append({"h_seq": seq, "W_hh": W_hh, "k": k})
    return cases


def _jacobians(ref: Reference, h_seq: np.ndarray, W_hh: np.ndarray, rows) -> list[np.ndarray]:
    return [ref.step_jacobian(h_seq[r], W_hh) for r in rows]


def _last_rows(kw: Inputs) -> list[int]:
    T = kw["h_seq"].shape[0]
    return list(range(T - 1, T - 1 - kw["k"], -1))


def _chain(mats: list[np.ndarray], H: int) -> np.ndarray:
    out = np.eye(H)
    for m in mats:
        out = out @ m
    return out


def _norm_of(norm_fn):
    def output(ref: Reference, kw: Inputs) -> Any:
        H = kw["W_hh"].shape[0]
        return float(norm_fn(_chain(_jacobians(ref, kw["h_seq"], kw["W_hh"], _last_rows(kw)), H)))

    return output


def _reversed_order(kw: Inputs) -> Inputs:
    seq = kw["h_seq"].copy()
    k, T = kw["k"], seq.shape[0]
    seq[T - k:] = seq[T - k:][::-1].copy()
    return {**kw, "h_seq": seq}


def _shifted(offset: int):
    """The reference on rows shifted back by ``offset`` (the window ends before the last state)."""

    def transform(kw: Inputs) -> Inputs:
        seq = kw["h_seq"]
        if seq.shape[0] - offset < kw["k"]:
            raise ValueError("window out of range")
        return {**kw, "h_seq": seq[: seq.shape[0] - offset]}

    return transform


def _k_changed(delta: int):
    def transform(kw: Inputs) -> Inputs:
        k = kw["k"] + delta
        if not 0 <= k <= kw["h_seq"].shape[0]:
            raise ValueError("k out of range")
        return {**kw, "k": k}

    return transform


def _product_of_norms(ref: Reference, kw: Inputs) -> Any:
    mats = _jacobians(ref, kw["h_seq"], kw["W_hh"], _last_rows(kw))
    return float(np.prod([np.linalg.norm(m, 2) for m in mats]))


def _spectral_radius(m: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(m))))


PRODUCT_NORM = FunctionSpec(
    "jacobian_product_norm",
    _product_cases,
    uses=("step_jacobian",),
    mistakes=(
        Mistake(
            "you returned the Frobenius norm (numpy's default for a matrix); the spectral norm is "
            "np.linalg.norm(M, 2), the largest singular value",
            _norm_of(np.linalg.norm),
        ),
        with_inputs(
            "jacobian_product_norm",
            "you multiplied the Jacobians in the wrong order: dh_T/dh_{T-k} = J_T J_{T-1} ... "
            "J_{T-k+1}, the latest step on the left",
            _reversed_order,
        ),
        Mistake(
            "you returned the product of the norms of the factors; that is only an upper bound, "
            "take the norm of the product",
            _product_of_norms,
        ),
        with_inputs(
            "jacobian_product_norm",
            "your window is one step too early: the factors use the last k rows "
            "h_seq[T-1], ..., h_seq[T-k] (h_seq[t-1] is h_t)",
            _shifted(1),
        ),
        with_inputs(
            "jacobian_product_norm",
            "you multiplied k + 1 Jacobians; dh_T/dh_{T-k} has exactly k factors (k = 0 is the "
            "identity)",
            _k_changed(+1),
        ),
        with_inputs(
            "jacobian_product_norm",
            "you multiplied k - 1 Jacobians; dh_T/dh_{T-k} has exactly k factors",
            _k_changed(-1),
        ),
        Mistake(
            "you returned the spectral radius (largest |eigenvalue|); the 2-norm is the largest "
            "singular value",
            _norm_of(_spectral_radius),
        ),
        Mistake(
            "you returned the norm of the product over the whole sequence; use the last k steps only",
            lambda ref, kw: ref.jacobian_product_norm(kw["h_seq"], kw["W_hh"], kw["h_seq"].shape[0]),
        ),
    ),
)

SPEC = AssignmentSpec.of(ASSIGNMENT, CLIP, STEP_JACOBIAN, PRODUCT_NORM)
