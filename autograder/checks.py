"""Comparison helpers called by the assignments' test cells.

This module is *student-safe*: it knows how to compare an answer with an expected value and how to
explain a mismatch, but it contains no reference solution. The visible tests in ``exercises/`` call
:func:`check_function` with fixed inputs and expected outputs written in the notebook; the hidden
tests go through :mod:`autograder.hidden_tests`, which computes the expected values from the reference
cells of ``solutions/`` (instructors only) and uses the same comparison.

Every failure raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader counts the cell as
failed) with a message that says *what* is wrong: which output, which shape was expected, where
the largest error is, and, when a catalogue of known mistakes is given, which mistake the answer
matches.
"""

from __future__ import annotations

import copy
import os
import re
import traceback
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

# Tolerances, in one place. Every graded quantity is computed in float64 from inputs of order one;
# a correct answer written differently (fused weights, another sigmoid formula, another summation
# order) differs from the reference by a few ulps times the depth of the computation, far below
# RTOL = 1e-7. The smallest wrong answer in the mistake catalogues (a missing bias of 1e-2, say)
# differs by many orders of magnitude more. ATOL only matters for outputs that are exactly 0.
RTOL = 1e-7
ATOL = 1e-10
# Visible tests compare with expected values printed in the notebook with 10 significant digits.
VISIBLE_RTOL = 1e-6
VISIBLE_ATOL = 1e-8


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(AssertionError):
    """A check failed; the message is meant for the student."""

    def _render_traceback_(self) -> list[str]:
        """In IPython and Jupyter: the traceback without this package's own frames (the student's
        cell, their function, and the message), instead of some 25 lines of the checking library."""
        try:
            from IPython import get_ipython

            shell = get_ipython()
            kept, tb = [], self.__traceback__
            while tb is not None:
                if os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) != _PACKAGE_DIR:
                    kept.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
                tb = tb.tb_next
            short = None
            for frame, lasti, lineno in reversed(kept):
                short = types.TracebackType(short, frame, lasti, lineno)
            if shell is None or short is None:
                raise LookupError
            return shell.InteractiveTB.structured_traceback(type(self), self, short, tb_offset=1)
        except Exception:  # noqa: BLE001 - never fail while showing a failure
            return traceback.format_exception_only(type(self), self)


class NotAttempted(CheckFailed):
    """The function itself still raises ``NotImplementedError`` (its body was not written)."""


def _raised_in(fn: Callable[..., Any], exc: BaseException) -> bool:
    """True when ``exc`` was raised by ``fn``'s own body (not by a function it calls)."""
    code = getattr(fn, "__code__", None)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return code is not None and tb is not None and tb.tb_frame.f_code is code


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _num(value: Any) -> str:
    """A number as a student reads it: ``2.5``, not ``np.float64(2.5)``."""
    try:
        if isinstance(value, (bool, np.bool_)):
            return str(bool(value))
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        return f"{float(value):.10g}"
    except (TypeError, ValueError):
        return repr(value)


def compare_arrays(
    got: Any,
    expected: np.ndarray,
    *,
    what: str,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> str | None:
    """Compare one array with its expected value.

    Returns ``None`` when ``got`` matches, otherwise a sentence saying what is wrong with it.
    """
    expected = np.asarray(expected)
    if got is None:
        return f"{what} is None: did you forget a `return` statement?"
    if isinstance(got, (list, tuple)) and expected.ndim > 0:
        return f"{what} is a {type(got).__name__}; return a numpy array of shape {_fmt_shape(expected.shape)}"
    if np.isscalar(got) and expected.ndim == 0:
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        if hasattr(got, "detach") and hasattr(got, "numpy"):
            return f"{what} is a torch tensor; return a numpy array (use `.detach().numpy()`)"
        return f"{what} has type {type(got).__name__}; expected a numpy array"
    if got.shape != expected.shape:
        hint = ""
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            hint = " (it looks transposed: rows are examples, columns are units)"
        elif got.size == expected.size:
            hint = " (same number of elements: check a reshape or a transpose)"
        elif got.ndim == expected.ndim + 1:
            hint = " (one axis too many: did you keep a time or batch axis that should be reduced?)"
        elif (got.ndim == expected.ndim == 3 and got.shape[0] == expected.shape[0]
              and got.shape[2] == expected.shape[2] and abs(got.shape[1] - expected.shape[1]) == 1):
            hint = (" (one time step missing: does your loop run over all T steps, range(T)?)"
                    if got.shape[1] < expected.shape[1] else
                    " (one time step too many: the initial state is not part of the output)")
        return f"{what} has shape {_fmt_shape(got.shape)}, expected {_fmt_shape(expected.shape)}{hint}"
    if np.issubdtype(expected.dtype, np.floating):
        if not np.issubdtype(got.dtype, np.floating):
            return f"{what} has dtype {got.dtype}; expected floating point ({expected.dtype})"
        if got.dtype != expected.dtype:
            return (
                f"{what} has dtype {got.dtype}, expected {expected.dtype}: keep float64 all the way "
                "(no float32 constants or casts)"
            )
        bad = ~np.isfinite(got)
        if bad.any() and np.isfinite(expected).all():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return (
                f"{what} contains {'NaN' if np.isnan(got[idx]) else 'inf'} at index {idx}: "
                "an overflow? (e.g. np.exp of a large number; use a numerically stable form)"
            )
    elif got.dtype != expected.dtype and not (
        np.issubdtype(got.dtype, np.integer) and np.issubdtype(expected.dtype, np.integer)
    ):
        return f"{what} has dtype {got.dtype}, expected {expected.dtype}"
    if np.issubdtype(expected.dtype, np.number):
        close = np.isclose(got, expected, rtol=rtol, atol=atol)
        if close.all():
            return None
        err = np.abs(got.astype(float) - expected.astype(float))
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
        hint = ""
        if (np.issubdtype(expected.dtype, np.floating) and expected.size and np.all((expected > 0) & (expected < 1))
                and np.all(np.isfinite(got)) and np.any((got <= 0) | (got >= 1))):
            hint = (f". The expected values all lie between 0 and 1, the range of a sigmoid (a gate); yours go "
                    f"from {_num(got.min())} to {_num(got.max())}: a gate needs the sigmoid (tanh's range "
                    "is -1 to 1)")
        return (
            f"{what} has the right shape but wrong values: {int((~close).sum())} of {close.size} "
            f"entries differ; the largest error is {err[idx]:.3g} at index {idx} "
            f"(got {_num(got[idx])}, expected {_num(expected[idx])}){hint}"
        )
    if np.array_equal(got, expected):
        return None
    return f"{what} differs from the expected value"


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy")


def compare_outputs(
    got: Any,
    expected: Any,
    *,
    what: str,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> str | None:
    """Compare a structured output (array, tuple/list of arrays, dict of arrays, scalar).

    Torch tensors in ``expected`` are compared as numpy arrays (the seq2seq assignment works in torch).
    """
    if _is_tensor(expected):
        expected = expected.detach().cpu().numpy()
        if _is_tensor(got):
            got = got.detach().cpu().numpy()
    elif _is_tensor(got) and isinstance(expected, (int, float, np.number)):
        got = got.detach().cpu().numpy()  # a scalar loss returned as a tensor (float() would warn)
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"{what} should be a dict with keys {sorted(expected)}, got {type(got).__name__}"
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if extra:
                parts.append(f"unexpected keys {extra}")
            return f"{what}: " + ", ".join(parts)
        for key in expected:
            msg = compare_outputs(got[key], expected[key], what=f"{what}[{key!r}]", rtol=rtol, atol=atol)
            if msg:
                return msg
        return None
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)):
            return f"{what} should be a tuple of {len(expected)} values, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"{what} should be a tuple of {len(expected)} values, got {len(got)}"
        for k, (g, e) in enumerate(zip(got, expected, strict=True)):
            msg = compare_outputs(g, e, what=f"{what}[{k}]", rtol=rtol, atol=atol)
            if msg:
                return msg
        return None
    if isinstance(expected, (bool, np.bool_)):
        return None if bool(got) == bool(expected) and isinstance(got, (bool, np.bool_)) else (
            f"{what} is {_num(got) if isinstance(got, (bool, np.bool_, int, float, np.number)) else repr(got)}, "
            f"expected {_num(expected)}"
        )
    if isinstance(expected, (int, float, np.floating, np.integer)) and not isinstance(got, np.ndarray):
        try:
            g = float(got)
        except (TypeError, ValueError):
            return f"{what} is {type(got).__name__}, expected a number"
        if np.isclose(g, float(expected), rtol=rtol, atol=atol):
            return None
        return f"{what} is {_num(g)}, expected {_num(expected)}"
    return compare_arrays(got, expected, what=what, rtol=rtol, atol=atol)


def outputs_match(got: Any, expected: Any, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """True when ``got`` equals ``expected`` within tolerance (no message)."""
    try:
        with np.errstate(all="ignore"):
            return compare_outputs(got, expected, what="output", rtol=rtol, atol=atol) is None
    except Exception:  # noqa: BLE001 - a malformed output simply does not match
        return False


def diagnose(
    got: Any, candidates: Mapping[str, Any], *, rtol: float = RTOL, atol: float = ATOL
) -> str | None:
    """Return the message of the first known mistake whose output equals ``got``.

    ``candidates`` maps a message ("you used tanh where the gate needs sigmoid") to the output that
    mistake produces on the same inputs.
    """
    for message, wrong in candidates.items():
        if wrong is not None and outputs_match(got, wrong, rtol=rtol, atol=atol):
            return message
    return None


def _short_traceback(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for frame in reversed(frames):
        if "autograder" not in frame.filename.replace("\\", "/").split("/")[-2:][0]:
            inside = f" in `{frame.name}`" if frame.name not in ("<module>", "<lambda>") else ""
            where = f" (line {frame.lineno}{inside}: `{(frame.line or '').strip()}`)"
            break
    return f"{type(exc).__name__}: {exc}{where}"


# `name @ name`, names with attributes or one subscript (`x[:, t] @ p["W_xh"]`); nothing that calls
_MATMUL = re.compile(r"([A-Za-z_][\w.]*(?:\[[^\]()]*\])?)\s*@\s*([A-Za-z_][\w.]*(?:\[[^\]()]*\])?)")


def _matmul_sentence(exc: BaseException) -> str | None:
    """numpy's gufunc message for ``a @ b`` with shapes that do not fit, as a sentence with the shapes
    of the operands on the student's line, e.g. "x (2, 3) @ W_hh (4, 4) cannot be multiplied"."""
    frame = None
    tb = exc.__traceback__
    while tb is not None:
        if os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) != _PACKAGE_DIR:
            frame, lineno = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame is None:
        return None
    import linecache

    line = linecache.getline(frame.f_code.co_filename, lineno).strip()
    scope = {**frame.f_globals, **frame.f_locals}
    for left, right in _MATMUL.findall(line):
        try:
            a = np.shape(eval(left, {}, scope))  # noqa: S307 - the student's own expression, in their process
            b = np.shape(eval(right, {}, scope))  # noqa: S307
        except Exception:  # noqa: BLE001 - an operand we cannot evaluate again: try the next product
            continue
        inner_a = a[-1] if a else None
        inner_b = (b[-2] if len(b) >= 2 else b[0]) if b else None
        if inner_a is not None and inner_b is not None and inner_a != inner_b:
            return (f"on line {lineno} `{line}`: {left} {_fmt_shape(a)} @ {right} {_fmt_shape(b)} cannot be "
                    f"multiplied ({inner_a} columns against {inner_b} rows). Which weight goes with which "
                    "input? (x @ W_x?, h_prev @ W_h?; an element-wise product ⊙ is `*`, not `@`)")
    return None


def call_safely(
    fn: Callable[..., Any], kwargs: Mapping[str, Any], *, name: str, strict_fp: bool = True
) -> Any:
    """Call ``fn(**kwargs)`` on deep copies of the inputs, turning errors into clear messages.

    The copies protect the caller's arrays; a function that modifies its inputs in place is told so.
    With ``strict_fp`` an overflow or invalid operation raises (a naive sigmoid is reported); the
    sandboxed grader turns it off for functions that call other graded functions, so that an
    overflow inside a student's own gate costs that gate's points, not the cell's.
    """
    if not callable(fn):
        raise CheckFailed(f"`{name}` is not a function (it is a {type(fn).__name__})")
    safe = copy.deepcopy(dict(kwargs))
    fp_mode = "raise" if strict_fp else "ignore"
    try:
        with np.errstate(over=fp_mode, invalid=fp_mode):
            out = fn(**safe)
    except NotImplementedError as exc:
        if _raised_in(fn, exc):
            raise NotAttempted(f"`{name}` is not implemented yet: replace `raise NotImplementedError()`") from None
        raise CheckFailed(f"`{name}` calls a function that is not implemented yet: "
                          f"{_short_traceback(exc)}") from None
    except FloatingPointError as exc:
        raise CheckFailed(
            f"`{name}` overflowed or produced an invalid value ({exc}) on these inputs: large "
            "pre-activations need a numerically stable formula (np.tanh, or the stable sigmoid of "
            "autograder.numerics given in the setup cell)"
        ) from None
    except TypeError as exc:
        if "argument" in str(exc):
            raise CheckFailed(
                f"`{name}` could not be called with arguments {list(kwargs)}: {exc}. Keep the "
                "signature given in the assignment."
            ) from None
        raise CheckFailed(f"`{name}` raised {_short_traceback(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - any student error becomes a message
        sentence = _matmul_sentence(exc) if isinstance(exc, ValueError) and "matmul" in str(exc) else None
        if sentence:
            raise CheckFailed(f"`{name}` raised ValueError: {sentence}") from None
        raise CheckFailed(f"`{name}` raised {_short_traceback(exc)}") from None
    for key, value in kwargs.items():
        pairs = value.items() if isinstance(value, Mapping) else [(None, value)]
        for sub, original in pairs:
            now = safe[key] if sub is None else safe[key].get(sub) if isinstance(safe[key], Mapping) else None
            if (isinstance(original, np.ndarray) and isinstance(now, np.ndarray)
                    and now.shape == original.shape
                    and not np.array_equal(now, original, equal_nan=True)):
                where = key if sub is None else f"{key}[{sub!r}]"
                raise CheckFailed(f"`{name}` modified its input `{where}` in place; compute a new array instead")
    return out


def _swapped_tuple(got: Any, expected: Any, names: Sequence[str] | None, *, rtol: float, atol: float) -> str | None:
    """"you returned (c, h); return (h, c) in that order" when the right values come in another order."""
    if not (isinstance(expected, tuple) and isinstance(got, (tuple, list)) and len(got) == len(expected) > 1):
        return None
    if outputs_match(tuple(got), expected, rtol=rtol, atol=atol):
        return None
    labels = list(names) if names and len(names) == len(expected) else [f"output {k}" for k in range(len(expected))]
    order = []
    for g in got:
        match = [k for k, e in enumerate(expected) if outputs_match(g, e, rtol=rtol, atol=atol) and k not in order]
        if not match:
            return None
        order.append(match[0])
    return (f"returned ({', '.join(labels[k] for k in order)}); return ({', '.join(labels)}) in that order"
            if order != list(range(len(expected))) else None)


def check_function(
    fn: Callable[..., Any],
    inputs: Mapping[str, Any],
    expected: Any,
    *,
    name: str,
    rtol: float = VISIBLE_RTOL,
    atol: float = VISIBLE_ATOL,
    output_names: Sequence[str] | None = None,
    optional: bool = False,
) -> None:
    """Visible test: call ``fn(**inputs)`` and compare with ``expected``.

    Raises :class:`CheckFailed` with a specific message; prints a short confirmation on success.
    With ``optional`` (a bonus), a function whose body still raises ``NotImplementedError`` prints
    "optional, not attempted" instead of failing, so that Restart and Run All ends clean.
    """
    try:
        got = call_safely(fn, inputs, name=name)
    except NotAttempted:
        if not optional:
            raise
        print(f"{name}: optional, not attempted")
        return
    what = f"the output of `{name}`"
    swapped = _swapped_tuple(got, expected, output_names, rtol=rtol, atol=atol)
    if swapped:
        raise CheckFailed(f"`{name}` {swapped}")
    if output_names and isinstance(expected, tuple):
        for k, label in enumerate(output_names):
            if not isinstance(got, (tuple, list)) or len(got) != len(expected):
                break
            what_k = f"`{label}` returned by `{name}`"
            msg = compare_outputs(got[k], expected[k], what=what_k, rtol=rtol, atol=atol)
            if msg:
                raise CheckFailed(msg)
    msg = compare_outputs(got, expected, what=what, rtol=rtol, atol=atol)
    if msg:
        raise CheckFailed(msg)
    print(f"{name}: OK")
