"""Assignment 01_rnn: the grader catches wrong answers, names the mistake, and accepts right ones.

Each mutant below is a deliberately wrong version of one graded function, written as a student
would write it. It is executed in a "student namespace" (the setup and solution cells of the source
notebook, executed afresh, so that `rnn_forward` calls whatever `rnn_cell` the namespace holds), and
the whole assignment is graded in-process. Exactly the mutated function must fail: a wrong cell
must not cost the points of the forward pass that calls it (the grader swaps the reference in).

The reference itself is checked independently: its backward passes against central finite
differences, its forward pass against ``torch.nn.RNN`` and its BPTT against ``torch.autograd``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import student_namespace

from autograder.checks import CheckFailed
from autograder.hidden_tests import grade_function, grade_namespace, hidden_check
from autograder.numerics import numerical_gradient
from autograder.reference import ROOT_ENV, load_reference, reference_cells, source_notebook
from autograder.specs import get_spec

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_rnn"
GRADED = ("rnn_cell", "rnn_forward", "rnn_step_backward", "rnn_backward", "birnn_forward")
SEEDS = (0, 7)


@pytest.fixture(autouse=True)
def _course_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """grade_namespace and the spec's cases find the reference from $RNNCOURSE_ROOT, not the cwd."""
    monkeypatch.setenv(ROOT_ENV, str(REPO))


@pytest.fixture(scope="module")
def ref():
    return load_reference(ASSIGNMENT, root=REPO)


def _cells(notebook: Path) -> dict:
    ns: dict = {"__name__": "student"}
    for _, source in reference_cells(notebook):
        exec(compile(source, f"<{notebook.name}>", "exec"), ns)  # noqa: S102 - repo notebooks
    return ns


def _student(source: str | None = None) -> dict:
    """A student who wrote the reference (cells run afresh), with ``source`` run after it."""
    ns = student_namespace(ASSIGNMENT)
    assert set(GRADED) <= set(ns)
    if source is not None:
        exec(compile(textwrap.dedent(source), "<mutant>", "exec"), ns)  # noqa: S102
    return ns


# ---------------------------------------------------------------------------------------------
# Mutants: (function, id, source, expected diagnosis (a substring of the message) or None)

CELL_MUTANTS = [
    ("naive_sigmoid", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return 1 / (1 + np.exp(-(x @ W_xh + h_prev @ W_hh + b_h)))
     """, "sigmoid"),
    ("no_nonlinearity", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return x @ W_xh + h_prev @ W_hh + b_h
     """, "no nonlinearity"),
    ("relu", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.maximum(0, x @ W_xh + h_prev @ W_hh + b_h)
     """, "ReLU"),
    ("no_bias", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(x @ W_xh + h_prev @ W_hh)
     """, "no bias"),
    ("bias_after_tanh", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(np.dot(x, W_xh) + np.dot(h_prev, W_hh)) + b_h
     """, "after the tanh"),
    ("tanh_per_term", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(x @ W_xh) + np.tanh(h_prev @ W_hh) + b_h
     """, "separately"),
    ("weights_swapped", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(x @ W_hh + h_prev @ W_xh + b_h)
     """, "swapped the weights"),
    ("column_vector_W_hh", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(x @ W_xh + (W_hh @ h_prev.T).T + b_h)
     """, "W_hh transposed"),
    ("column_vector_W_xh", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh((W_xh @ x.T).T + h_prev @ W_hh + b_h)
     """, "W_xh transposed"),
    ("ignores_h_prev", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(x @ W_xh + b_h)
     """, "ignores the previous state"),
    ("ignores_x", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(h_prev @ W_hh + b_h)
     """, "ignores the input"),
    ("exp_formula_overflows", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            a = x @ W_xh + h_prev @ W_hh + b_h
            return (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))
     """, None),
    ("float32", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(x @ W_xh + h_prev @ W_hh + b_h).astype(np.float32)
     """, None),
    ("writes_into_h_prev", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            out = h_prev
            out[...] = np.tanh(x @ W_xh + h_prev @ W_hh + b_h)
            return out
     """, None),
]

FORWARD_MUTANTS = [
    ("last_state_only", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            h = h0
            for t in range(x.shape[1]):
                h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
            return h
     """, "only the last hidden state"),
    ("h0_first_off_by_one", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            N, T, D = x.shape
            out = np.zeros((N, T, h0.shape[1]))
            h = h0
            for t in range(T):
                out[:, t] = h
                h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
            return out
     """, "one step late"),
    ("h0_included", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            states = [h0]
            for t in range(x.shape[1]):
                states.append(rnn_cell(x[:, t], states[-1], W_xh, W_hh, b_h))
            return np.stack(states, axis=1)
     """, "included h0"),
    ("state_not_carried", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            return np.stack([rnn_cell(x[:, t], h0, W_xh, W_hh, b_h) for t in range(x.shape[1])],
                            axis=1)
     """, "did not carry the state"),
    ("starts_from_zeros", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            h = np.zeros_like(h0)
            out = []
            for t in range(x.shape[1]):
                h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
                out.append(h)
            return np.stack(out, axis=1)
     """, "started from zeros"),
    ("time_major", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            h, out = h0, []
            for t in range(x.shape[1]):
                h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
                out.append(h)
            return np.stack(out)
     """, "time-major"),
    ("backwards_in_time", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            N, T, _ = x.shape
            out = np.empty((N, T, h0.shape[1]))
            h = h0
            for t in reversed(range(T)):
                h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
                out[:, t] = h
            return out
     """, "backwards in time"),
    ("first_input_every_step", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            h, out = h0, []
            for t in range(x.shape[1]):
                h = rnn_cell(x[:, 0], h, W_xh, W_hh, b_h)
                out.append(h)
            return np.stack(out, axis=1)
     """, "x[:, 0] at every step"),
    ("time_on_first_axis", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            h, out = h0, []
            for t in range(x.shape[1]):
                h = rnn_cell(x[t], h, W_xh, W_hh, b_h)
                out.append(h)
            return np.stack(out, axis=1)
     """, None),
]

STEP_BACKWARD_MUTANTS = [
    ("no_tanh_derivative", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "left out the derivative of tanh"),
    ("derivative_from_h_prev", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_prev ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "used h_prev in the derivative"),
    ("derivative_not_squared", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "as 1 - h_next;"),
    ("tanh_applied_twice", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - np.tanh(h_next) ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "applied tanh again"),
    ("sigmoid_derivative", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * h_next * (1 - h_next)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "sigmoid's derivative"),
    ("dx_no_transpose", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "dx is missing a transpose"),
    ("dh_prev_no_transpose", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "dh_prev is missing a transpose"),
    ("dh_prev_without_W_hh", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "skips the matrix product"),
    ("dW_xh_transposed", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=da.T @ x, dW_hh=h_prev.T @ da,
                        db_h=da.sum(axis=0))
     """, "dW_xh is transposed"),
    ("dW_hh_transposed", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=da.T @ h_prev,
                        db_h=da.sum(axis=0))
     """, "dW_hh is transposed"),
    ("dW_hh_from_x", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=x.T @ da,
                        db_h=da.sum(axis=0))
     """, "built dW_hh from x"),
    ("db_not_summed", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da)
     """, "not summed over the batch"),
    ("db_averaged", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return dict(dx=da @ W_xh.T, dh_prev=da @ W_hh.T, dW_xh=x.T @ da, dW_hh=h_prev.T @ da,
                        db_h=da.mean(axis=0))
     """, "averaged db_h"),
    ("returns_tuple", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next ** 2)
            return da @ W_xh.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
     """, None),
]

BACKWARD_MUTANTS = [
    ("no_carry", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            for t in reversed(range(T)):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t], x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                dh_prev = g["dh_prev"]
            return dict(dx=dx, dh0=dh_prev, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "did not pass the gradient back through time"),
    ("only_last_upstream", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = dh[:, -1]
            for t in reversed(range(T)):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "only dh[:, -1]"),
    ("overwrites_weight_gradients", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            carried = np.zeros_like(h0)
            for t in reversed(range(T)):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh, dW_hh, db_h = g["dW_xh"], g["dW_hh"], g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "first step only"),
    ("forward_in_time", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in range(T):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "went forward in time"),
    ("averaged_over_time", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in reversed(range(T)):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"] / T; dW_hh += g["dW_hh"] / T; db_h += g["db_h"] / T
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "averaged the weight gradients over time"),
    ("dx_appended_backwards", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            dxs = []
            dW_xh, dW_hh, db_h = 0, 0, 0
            carried = np.zeros_like(h0)
            for t in reversed(range(x.shape[1])):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dxs.append(g["dx"])
                dW_xh = dW_xh + g["dW_xh"]; dW_hh = dW_hh + g["dW_hh"]; db_h = db_h + g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=np.stack(dxs, axis=1), dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "reverse time order"),
    ("h_prev_off_by_one", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in reversed(range(T)):
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h[:, t], h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "not h[:, t]"),
    ("negative_index_at_t0", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in reversed(range(T)):
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h[:, t - 1], h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "index -1"),
    ("dh0_zero", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in reversed(range(T)):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=np.zeros_like(h0), dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "dh0 is zero"),
    ("dh0_one_step_short", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            T = x.shape[1]
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in reversed(range(T)):
                h_prev = h0 if t == 0 else h[:, t - 1]
                total = dh[:, t] + carried
                g = rnn_step_backward(total, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh0=total, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, "one step short"),
    ("missing_key", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            dx = np.zeros_like(x)
            dW_xh, dW_hh, db_h = np.zeros_like(W_xh), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
            carried = np.zeros_like(h0)
            for t in reversed(range(x.shape[1])):
                h_prev = h0 if t == 0 else h[:, t - 1]
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h_prev, h[:, t], W_xh, W_hh)
                dx[:, t] = g["dx"]
                dW_xh += g["dW_xh"]; dW_hh += g["dW_hh"]; db_h += g["db_h"]
                carried = g["dh_prev"]
            return dict(dx=dx, dh_prev=carried, dW_xh=dW_xh, dW_hh=dW_hh, db_h=db_h)
     """, None),
]

# The bonus: each mutant calls the student's rnn_forward, as the notebook asks.
BIRNN_MUTANTS = [
    ("directions_in_wrong_order", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, params_fwd["W_xh"], params_fwd["W_hh"], params_fwd["b_h"])
            bwd = rnn_forward(x[:, ::-1], h0_bwd, **params_bwd)[:, ::-1]
            return np.concatenate([bwd, fwd], axis=-1)
     """, "wrong order"),
    ("backward_not_flipped_back", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(np.flip(x, axis=1), h0_bwd, **params_bwd)
            return np.concatenate([fwd, bwd], axis=2)
     """, "did not flip the backward direction's states back"),
    ("backward_reads_forwards", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(x, h0_bwd, **params_bwd)
            return np.concatenate([fwd, bwd], axis=2)
     """, "same order as the forward one"),
    ("only_the_states_flipped", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(x, h0_bwd, **params_bwd)
            return np.concatenate([fwd, bwd[:, ::-1]], axis=2)
     """, "but not its input"),
    ("backward_from_h0_fwd", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(x[:, ::-1], h0_fwd, **params_bwd)[:, ::-1]
            return np.concatenate([fwd, bwd], axis=2)
     """, "starts from h0_fwd"),
    ("one_set_of_weights", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            p = params_fwd
            fwd = rnn_forward(x, h0_fwd, p["W_xh"], p["W_hh"], p["b_h"])
            bwd = rnn_forward(x[:, ::-1], h0_bwd, p["W_xh"], p["W_hh"], p["b_h"])[:, ::-1]
            return np.concatenate([fwd, bwd], axis=2)
     """, "uses params_fwd"),
    ("final_states_only", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(x[:, ::-1], h0_bwd, **params_bwd)
            return np.concatenate([fwd[:, -1], bwd[:, -1]], axis=1)
     """, "final state"),
    ("directions_added", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            return fwd + rnn_forward(x[:, ::-1], h0_bwd, **params_bwd)[:, ::-1]
     """, "added the two directions"),
    ("directions_on_a_new_axis", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(x[:, ::-1], h0_bwd, **params_bwd)[:, ::-1]
            return np.stack([fwd, bwd], axis=2)  # (N, T, 2, H)
     """, None),
]

MUTANTS = [
    pytest.param(fn, source, diagnosis, id=f"{fn}-{name}")
    for fn, group in [("rnn_cell", CELL_MUTANTS), ("rnn_forward", FORWARD_MUTANTS),
                      ("rnn_step_backward", STEP_BACKWARD_MUTANTS),
                      ("rnn_backward", BACKWARD_MUTANTS), ("birnn_forward", BIRNN_MUTANTS)]
    for name, source, diagnosis in group
]


def test_every_function_has_enough_mutants() -> None:
    for group in (CELL_MUTANTS, FORWARD_MUTANTS, STEP_BACKWARD_MUTANTS, BACKWARD_MUTANTS,
                  BIRNN_MUTANTS):
        assert len(group) >= 5


def test_the_reference_gets_full_marks() -> None:
    for seed in SEEDS:
        results = grade_namespace(ASSIGNMENT, _student(), seed=seed)
        assert set(results) == set(GRADED)
        assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("fn", "source", "diagnosis"), MUTANTS)
def test_mutant_fails_alone_with_its_diagnosis(fn, source, diagnosis, seed) -> None:
    results = grade_namespace(ASSIGNMENT, _student(source), seed=seed)
    failed = sorted(name for name, r in results.items() if not r.passed)
    assert failed == [fn], {name: r.message for name, r in results.items()}
    outcome = results[fn]
    if diagnosis is not None:
        assert outcome.diagnosis is not None, outcome.message
        assert diagnosis in outcome.diagnosis, outcome.message
        assert outcome.diagnosis in outcome.message


def test_most_mutants_get_a_specific_diagnosis() -> None:
    diagnosed = 0
    for param in MUTANTS:
        fn, source, _ = param.values
        outcome = grade_namespace(ASSIGNMENT, _student(source), seed=0, only=[fn])[fn]
        assert not outcome.passed
        diagnosed += outcome.diagnosis is not None
    assert diagnosed >= 0.8 * len(MUTANTS), f"{diagnosed} of {len(MUTANTS)} diagnosed"


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        (CELL_MUTANTS[11][1], "overflowed"),
        (CELL_MUTANTS[12][1], "float32"),
        (CELL_MUTANTS[13][1], "modified its input `h_prev` in place"),
        (FORWARD_MUTANTS[8][1], "raised"),
        (STEP_BACKWARD_MUTANTS[13][1], "should be a dict"),
        (BACKWARD_MUTANTS[10][1], "missing keys ['dh0']"),
        (BIRNN_MUTANTS[-1][1], "has shape (4, 4, 2, 3), expected (4, 4, 6)"),
    ],
)
def test_undiagnosed_mutants_still_get_a_useful_message(source, needle) -> None:
    (result,) = [r for r in grade_namespace(ASSIGNMENT, _student(source)).values()
                 if not r.passed]
    assert needle in result.message


# ---------------------------------------------------------------------------------------------
# Correct answers written differently get full marks

CORRECT_VARIANTS = [
    ("rnn_cell", "fused_weights", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            W = np.concatenate([W_xh, W_hh], axis=0)
            return np.tanh(np.concatenate([x, h_prev], axis=1) @ W + b_h)
     """),
    ("rnn_cell", "tanh_from_stable_sigmoid", """
        from autograder.numerics import sigmoid
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return 2.0 * sigmoid(2.0 * (x @ W_xh + h_prev @ W_hh + b_h)) - 1.0
     """),
    ("rnn_cell", "in_place_on_a_fresh_array", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            a = x @ W_xh
            a += h_prev @ W_hh
            a += b_h
            np.tanh(a, out=a)
            return a
     """),
    ("rnn_cell", "column_vectors_transposed_back", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(W_xh.T @ x.T + W_hh.T @ h_prev.T + b_h[:, None]).T
     """),
    ("rnn_cell", "einsum", """
        def rnn_cell(x, h_prev, W_xh, W_hh, b_h):
            return np.tanh(np.einsum("nd,dh->nh", x, W_xh) + np.einsum("nk,kh->nh", h_prev, W_hh)
                           + b_h)
     """),
    ("rnn_forward", "list_then_stack", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            out, h = [], h0
            for x_t in np.moveaxis(x, 1, 0):
                h = rnn_cell(x_t, h, W_xh, W_hh, b_h)
                out.append(h)
            return np.stack(out, axis=1)
     """),
    ("rnn_forward", "inlined_without_rnn_cell", """
        def rnn_forward(x, h0, W_xh, W_hh, b_h):
            xw = x @ W_xh  # all input products at once, (N, T, H)
            out = np.zeros(xw.shape)
            h = h0
            for t in range(x.shape[1]):
                h = np.tanh(xw[:, t] + h @ W_hh + b_h)
                out[:, t] = h
            return out
     """),
    ("rnn_step_backward", "factored_derivative_and_einsum", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - h_next) * (1 + h_next)
            return {"db_h": da.sum(0), "dW_hh": np.einsum("nk,nh->kh", h_prev, da),
                    "dW_xh": np.einsum("nd,nh->dh", x, da), "dh_prev": np.dot(da, W_hh.T),
                    "dx": np.dot(da, W_xh.T)}
     """),
    ("rnn_step_backward", "fused_backward", """
        def rnn_step_backward(dh_next, x, h_prev, h_next, W_xh, W_hh):
            da = dh_next * (1 - np.square(h_next))
            D = x.shape[1]
            d_in = da @ np.concatenate([W_xh, W_hh], axis=0).T
            dW = np.concatenate([x, h_prev], axis=1).T @ da
            return dict(dx=d_in[:, :D], dh_prev=d_in[:, D:], dW_xh=dW[:D], dW_hh=dW[D:],
                        db_h=np.ones(len(da)) @ da)
     """),
    ("rnn_backward", "vectorised_weight_gradients", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            N, T, _ = x.shape
            da = np.zeros_like(h)
            carried = np.zeros_like(h0)
            for t in range(T - 1, -1, -1):
                da[:, t] = (dh[:, t] + carried) * (1 - h[:, t] ** 2)
                carried = da[:, t] @ W_hh.T
            h_before = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
            return dict(dx=da @ W_xh.T, dh0=carried,
                        dW_xh=np.einsum("ntd,nth->dh", x, da),
                        dW_hh=np.einsum("ntk,nth->kh", h_before, da), db_h=da.sum(axis=(0, 1)))
     """),
    ("rnn_backward", "lists_and_sums", """
        def rnn_backward(dh, x, h0, h, W_xh, W_hh):
            steps, carried = [], np.zeros_like(h0)
            for t in reversed(range(x.shape[1])):
                g = rnn_step_backward(dh[:, t] + carried, x[:, t], h0 if t == 0 else h[:, t - 1],
                                      h[:, t], W_xh, W_hh)
                steps.insert(0, g)
                carried = g["dh_prev"]
            out = {k: sum(g[k] for g in steps) for k in ("dW_xh", "dW_hh", "db_h")}
            return {"dx": np.stack([g["dx"] for g in steps], axis=1), "dh0": carried, **out}
     """),
    ("birnn_forward", "slices_and_keyword_params", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            fwd = rnn_forward(x, h0_fwd, **params_fwd)
            bwd = rnn_forward(x[:, ::-1], h0_bwd, **params_bwd)[:, ::-1]
            return np.concatenate((fwd, bwd), axis=-1)
     """),
    ("birnn_forward", "loop_over_rnn_cell", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            T = x.shape[1]
            fwd, bwd = [None] * T, [None] * T
            h_f, h_b = h0_fwd, h0_bwd
            for t in range(T):
                h_f = rnn_cell(x[:, t], h_f, params_fwd["W_xh"], params_fwd["W_hh"], params_fwd["b_h"])
                fwd[t] = h_f
                s = T - 1 - t
                h_b = rnn_cell(x[:, s], h_b, params_bwd["W_xh"], params_bwd["W_hh"], params_bwd["b_h"])
                bwd[s] = h_b
            return np.concatenate([np.stack(fwd, axis=1), np.stack(bwd, axis=1)], axis=2)
     """),
    ("birnn_forward", "filled_in_place_without_helpers", """
        def birnn_forward(x, h0_fwd, h0_bwd, params_fwd, params_bwd):
            N, T, _ = x.shape
            H = h0_fwd.shape[1]
            out = np.empty((N, T, 2 * H))
            h = h0_fwd
            for t in range(T):
                h = np.tanh(x[:, t] @ params_fwd["W_xh"] + h @ params_fwd["W_hh"] + params_fwd["b_h"])
                out[:, t, :H] = h
            h = h0_bwd
            for t in range(T - 1, -1, -1):
                h = np.tanh(x[:, t] @ params_bwd["W_xh"] + h @ params_bwd["W_hh"] + params_bwd["b_h"])
                out[:, t, H:] = h
            return out
     """),
]


@pytest.mark.parametrize(("fn", "source"), [pytest.param(f, s, id=f"{f}-{n}")
                                            for f, n, s in CORRECT_VARIANTS])
def test_correct_but_different_answers_get_full_marks(fn, source) -> None:
    for seed in SEEDS:
        results = grade_namespace(ASSIGNMENT, _student(source), seed=seed)
        assert all(r.passed for r in results.values()), {k: r.message for k, r in results.items()}


def test_a_broken_cell_costs_only_the_cells_points() -> None:
    """rnn_forward calls the broken rnn_cell by name, yet passes: the reference stands in."""
    ns = _student(CELL_MUTANTS[3][1])  # no bias
    x, h0 = np.ones((1, 2, 3)), np.zeros((1, 4))
    W_xh, W_hh, b_h = np.full((3, 4), 0.1), np.eye(4), np.full(4, 0.5)
    own = ns["rnn_forward"](x, h0, W_xh, W_hh, b_h)
    fair = load_reference(ASSIGNMENT, root=REPO).rnn_forward(x, h0, W_xh, W_hh, b_h)
    assert not np.allclose(own, fair)  # the student's own pipeline is wrong ...
    results = grade_namespace(ASSIGNMENT, ns, seed=0)
    assert not results["rnn_cell"].passed
    assert results["rnn_forward"].passed  # ... but the forward pass is graded on its own
    assert ns["rnn_cell"].__code__ is not load_reference(ASSIGNMENT, root=REPO).rnn_cell.__code__


def test_a_broken_forward_pass_costs_only_its_points() -> None:
    """birnn_forward calls a broken rnn_forward (one step late), yet the bonus passes."""
    ns = _student(FORWARD_MUTANTS[1][1])
    results = grade_namespace(ASSIGNMENT, ns, seed=0)
    assert sorted(n for n, r in results.items() if not r.passed) == ["rnn_forward"]
    assert results["birnn_forward"].passed


def test_the_bonus_is_extra_credit() -> None:
    functions = get_spec(ASSIGNMENT).functions
    assert [name for name, spec in functions.items() if spec.bonus] == ["birnn_forward"]


def test_untouched_exercise_fails_everywhere_with_not_implemented() -> None:
    ns = _cells(REPO / "exercises" / ASSIGNMENT / source_notebook(ASSIGNMENT, REPO).name)
    results = grade_namespace(ASSIGNMENT, ns, seed=0)
    assert set(results) == set(GRADED)
    for outcome in results.values():
        assert not outcome.passed and "not implemented yet" in outcome.message


def test_hidden_check_raises_for_students_and_passes_the_reference() -> None:
    ns = _student(FORWARD_MUTANTS[0][1])
    with pytest.raises(CheckFailed, match="only the last hidden state"):
        hidden_check(ASSIGNMENT, "rnn_forward", ns["rnn_forward"], namespace=ns)
    assert hidden_check(ASSIGNMENT, "rnn_cell", ns["rnn_cell"], namespace=ns) is None


# ---------------------------------------------------------------------------------------------
# The spec: cases cover what the header promises; mistakes are real mistakes


def _cases(fn: str, seed: int) -> list[dict]:
    return get_spec(ASSIGNMENT).functions[fn].cases(np.random.default_rng(seed))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cases_cover_the_promised_shapes(ref, seed: int) -> None:
    cell = _cases("rnn_cell", seed)
    assert any(c["x"].shape[0] == 1 for c in cell)
    assert any(c["W_xh"].shape[0] == c["W_xh"].shape[1] for c in cell)
    assert any(c["W_xh"].shape[0] != c["W_xh"].shape[1] for c in cell)
    pre = [c["x"] @ c["W_xh"] + c["h_prev"] @ c["W_hh"] + c["b_h"] for c in cell]
    assert max(a.max() for a in pre) > 710 and min(a.min() for a in pre) < -710  # exp overflows
    assert any(np.all(np.abs(a) < 10) for a in pre)  # and ordinary cases

    forward = _cases("rnn_forward", seed)
    steps = {c["x"].shape[1] for c in forward}
    assert 1 in steps and max(steps) > 3
    assert any(c["x"].shape[0] == 1 for c in forward)
    assert any(c["x"].shape[0] == c["x"].shape[1] for c in forward)
    assert any(c["x"].shape[2] != c["h0"].shape[1] for c in forward)
    assert any(np.abs(c["b_h"]).max() >= 800 for c in forward)

    bidirectional = _cases("birnn_forward", seed)
    assert any(c["x"].shape[0] == 1 and c["x"].shape[1] == 1 for c in bidirectional)
    assert any(c["x"].shape[2] != c["h0_fwd"].shape[1] for c in bidirectional)
    assert any(c["x"].shape[0] == c["x"].shape[1] for c in bidirectional)
    assert any(np.all(c["h0_bwd"] == 0) for c in bidirectional)
    assert any(np.abs(c["params_bwd"]["b_h"]).max() >= 800 for c in bidirectional)
    for c in bidirectional:  # two directions that a swap or a shared set of weights would reveal
        assert not np.array_equal(c["h0_fwd"], c["h0_bwd"])
        assert not np.array_equal(c["params_fwd"]["W_hh"], c["params_bwd"]["W_hh"])

    for fn in GRADED:
        for case in _cases(fn, seed):
            for value in case.values():
                for array in (value.values() if isinstance(value, dict) else [value]):
                    assert array.dtype == np.float64
            with np.errstate(all="raise"):
                getattr(ref, fn)(**case)  # the reference never overflows


@pytest.mark.parametrize("seed", [0, 3])
def test_backward_cases_hold_tanh_states_some_saturated(seed: int) -> None:
    for fn, key in [("rnn_step_backward", "h_next"), ("rnn_backward", "h")]:
        cases = _cases(fn, seed)
        for case in cases:
            for name in (key, "h_prev", "h0"):
                if name in case:
                    assert np.all(np.abs(case[name]) <= 1.0)
            assert case[key].shape == case["dh_next" if key == "h_next" else "dh"].shape
        h = cases[-1][key]
        assert np.any(h == 1.0) and np.any(h == -1.0)  # tanh' = 0 exactly
        near = 1.0 - h[np.abs(h) < 1.0] ** 2
        assert near.min() < 1e-4 and near.max() > 0.1  # nearly saturated, and ordinary units


@pytest.mark.parametrize("fn", GRADED)
def test_every_catalogued_mistake_is_a_real_mistake(ref, fn: str) -> None:
    """Each mistake runs on some case and differs from the reference on some case."""
    from autograder.checks import outputs_match

    spec = get_spec(ASSIGNMENT).functions[fn]
    for mistake in spec.mistakes:
        ran, differs = False, False
        for seed in (0, 1):
            for case in spec.cases(np.random.default_rng(seed)):
                try:
                    with np.errstate(all="ignore"):
                        wrong = mistake.output(ref, {k: v.copy() for k, v in case.items()})
                except (ValueError, IndexError):
                    continue
                ran = True
                differs |= not outputs_match(wrong, spec.reference_output(ref, case))
        assert ran and differs, mistake.message


def test_each_mistake_is_diagnosed_when_made(ref) -> None:
    """Grading the mistake's own output as a student function returns that mistake's message."""
    for fn in GRADED:
        spec = get_spec(ASSIGNMENT).functions[fn]
        messages = [m.message for m in spec.mistakes]
        assert len(set(messages)) == len(messages), "messages must be unique (they are keys)"
        for mistake in spec.mistakes:
            def student(_m=mistake, **kw):
                with np.errstate(all="ignore"):
                    return _m.output(ref, kw)
            outcome = grade_function(spec, student, ref, seed=0)
            assert not outcome.passed
            if outcome.diagnosis is not None:  # a shape error may stop it before any diagnosis
                assert outcome.diagnosis == mistake.message, (mistake.message, outcome.message)


# ---------------------------------------------------------------------------------------------
# The reference is right: finite differences, torch.nn.RNN, torch.autograd


def _network(seed: int, n: int = 2, t: int = 4, d: int = 3, h: int = 5) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(n, t, d)),
        "h0": rng.normal(size=(n, h)),
        "W_xh": rng.normal(scale=0.6, size=(d, h)),
        "W_hh": rng.normal(scale=0.6, size=(h, h)),
        "b_h": rng.normal(scale=0.3, size=h),
        "dh": rng.normal(size=(n, t, h)),
    }


def test_step_backward_matches_finite_differences(ref) -> None:
    p = _network(11)
    x, h_prev, dh_next = p["x"][:, 0].copy(), p["h0"], p["dh"][:, 0]
    params = {"x": x, "h_prev": h_prev, "W_xh": p["W_xh"], "W_hh": p["W_hh"], "b_h": p["b_h"]}

    def loss() -> float:
        return float(np.sum(dh_next * ref.rnn_cell(**params)))

    h_next = ref.rnn_cell(**params)
    grads = ref.rnn_step_backward(dh_next, x, h_prev, h_next, p["W_xh"], p["W_hh"])
    for key, name in [("dx", "x"), ("dh_prev", "h_prev"), ("dW_xh", "W_xh"), ("dW_hh", "W_hh"),
                      ("db_h", "b_h")]:
        np.testing.assert_allclose(grads[key], numerical_gradient(loss, params[name]),
                                   rtol=1e-6, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("t", [1, 5])
def test_bptt_matches_finite_differences(ref, t: int) -> None:
    p = _network(12, t=t)
    params = {k: p[k] for k in ("x", "h0", "W_xh", "W_hh", "b_h")}

    def loss() -> float:
        return float(np.sum(p["dh"] * ref.rnn_forward(**params)))

    h = ref.rnn_forward(**params)
    grads = ref.rnn_backward(p["dh"], p["x"], p["h0"], h, p["W_xh"], p["W_hh"])
    for key, name in [("dx", "x"), ("dh0", "h0"), ("dW_xh", "W_xh"), ("dW_hh", "W_hh"),
                      ("db_h", "b_h")]:
        np.testing.assert_allclose(grads[key], numerical_gradient(loss, params[name]),
                                   rtol=1e-6, atol=1e-9, err_msg=key)


def test_forward_and_bptt_match_torch(ref) -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    p = _network(13, n=3, t=6, d=4, h=5)
    rnn = torch.nn.RNN(4, 5, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():  # torch's cell is tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
        rnn.weight_ih_l0.copy_(torch.from_numpy(p["W_xh"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(p["W_hh"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(p["b_h"]))
        rnn.bias_hh_l0.zero_()
    x = torch.from_numpy(p["x"]).requires_grad_()
    h0 = torch.from_numpy(p["h0"]).requires_grad_()
    out, _ = rnn(x, h0[None])
    (out * torch.from_numpy(p["dh"])).sum().backward()

    h = ref.rnn_forward(p["x"], p["h0"], p["W_xh"], p["W_hh"], p["b_h"])
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    grads = ref.rnn_backward(p["dh"], p["x"], p["h0"], h, p["W_xh"], p["W_hh"])
    expected = {
        "dx": x.grad.numpy(),
        "dh0": h0.grad.numpy(),
        "dW_xh": rnn.weight_ih_l0.grad.numpy().T,
        "dW_hh": rnn.weight_hh_l0.grad.numpy().T,
        "db_h": rnn.bias_ih_l0.grad.numpy(),
    }
    for key, value in expected.items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("t", [1, 5])
def test_bidirectional_matches_torch(ref, t: int) -> None:
    """nn.RNN(bidirectional=True): features :H are the forward direction, H: the backward one,
    both in input order; h_n[1] (the backward direction's last state) is the output at t = 0."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    n, d, h = 3, 4, 5
    rng = np.random.default_rng(14)
    x, h0 = rng.normal(size=(n, t, d)), rng.normal(size=(2, n, h))
    params = [{"W_xh": rng.normal(scale=0.6, size=(d, h)), "W_hh": rng.normal(scale=0.6, size=(h, h)),
               "b_h": rng.normal(scale=0.3, size=h)} for _ in range(2)]
    rnn = torch.nn.RNN(d, h, nonlinearity="tanh", batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for suffix, p in zip(("l0", "l0_reverse"), params, strict=True):
            getattr(rnn, f"weight_ih_{suffix}").copy_(torch.from_numpy(p["W_xh"].T))
            getattr(rnn, f"weight_hh_{suffix}").copy_(torch.from_numpy(p["W_hh"].T))
            getattr(rnn, f"bias_ih_{suffix}").copy_(torch.from_numpy(p["b_h"]))
            getattr(rnn, f"bias_hh_{suffix}").zero_()
        out, h_n = rnn(torch.from_numpy(x), torch.from_numpy(h0))

    got = ref.birnn_forward(x, h0[0], h0[1], params[0], params[1])
    assert got.shape == (n, t, 2 * h)
    np.testing.assert_allclose(got, out.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[:, -1, :h], h_n[0].numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[:, 0, h:], h_n[1].numpy(), rtol=1e-12, atol=1e-14)
