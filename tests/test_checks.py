"""The student-facing comparison helpers say precisely what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks import (
    CheckFailed,
    call_safely,
    check_function,
    compare_outputs,
    diagnose,
    outputs_match,
)


def test_matching_arrays_pass_and_print_ok(capsys) -> None:
    x = np.arange(6.0).reshape(2, 3)
    check_function(lambda a: a * 2, {"a": x}, x * 2, name="double")
    assert "double: OK" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("got", "fragment"),
    [
        (None, "forget a `return`"),
        (np.zeros((3, 2)), "looks transposed"),
        (np.zeros((6,)), "same number of elements"),
        (np.zeros((2, 3), dtype=np.float32), "keep float64"),
        (np.zeros((2, 3), dtype=np.int64), "expected floating point"),
        (np.full((2, 3), np.nan), "contains NaN"),
        ([[0.0] * 3] * 2, "return a numpy array"),
    ],
)
def test_wrong_outputs_get_specific_messages(got, fragment: str) -> None:
    message = compare_outputs(got, np.ones((2, 3)), what="h")
    assert message is not None and fragment in message


def test_value_mismatch_reports_location_and_size() -> None:
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[1, 2] = 0.5
    message = compare_outputs(got, expected, what="h")
    assert "1 of 6 entries" in message and "(1, 2)" in message and "0.5" in message


def test_tolerance_is_relative_and_explicit() -> None:
    expected = np.array([1.0, 1e6])
    assert compare_outputs(expected * (1 + 1e-9), expected, what="h") is None
    assert compare_outputs(expected * (1 + 1e-5), expected, what="h") is not None


def test_structured_outputs() -> None:
    a, b = np.ones(2), np.zeros(2)
    assert compare_outputs((a, b), (a, b), what="out") is None
    assert "tuple of 2" in compare_outputs((a,), (a, b), what="out")
    assert "[1]" in compare_outputs((a, a), (a, b), what="out")
    assert "missing keys ['db']" in compare_outputs({"dW": a}, {"dW": a, "db": b}, what="grads")


def test_torch_tensors_compare_as_arrays() -> None:
    torch = pytest.importorskip("torch")
    t = torch.arange(4, dtype=torch.float64)
    assert compare_outputs(t.clone(), t, what="x") is None
    assert compare_outputs(t + 1, t, what="x") is not None


def test_not_implemented_is_named() -> None:
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        call_safely(stub, {"x": 1}, name="rnn_cell")


def test_overflow_is_reported_not_hidden() -> None:
    def naive_sigmoid(a):
        return 1.0 / (1.0 + np.exp(-a))

    with pytest.raises(CheckFailed, match="overflow"):
        call_safely(naive_sigmoid, {"a": np.array([-800.0, 0.0])}, name="forget_gate")


def test_in_place_modification_is_caught_and_inputs_are_protected() -> None:
    def sneaky(h):
        h += 1
        return h

    h = np.zeros(3)
    with pytest.raises(CheckFailed, match="modified its input `h` in place"):
        call_safely(sneaky, {"h": h}, name="f")
    np.testing.assert_array_equal(h, np.zeros(3))


def test_wrong_signature_says_keep_the_signature() -> None:
    with pytest.raises(CheckFailed, match="Keep the signature"):
        call_safely(lambda x: x, {"x": 1, "y": 2}, name="f")


def test_student_exception_shows_the_offending_line() -> None:
    def broken(x):
        return x @ np.ones((5, 5))

    with pytest.raises(CheckFailed, match=r"ValueError.*line \d+"):
        call_safely(broken, {"x": np.ones((2, 3))}, name="f")


def test_diagnose_names_the_matching_mistake() -> None:
    a = np.linspace(-2, 2, 5)
    candidates = {"used tanh": np.tanh(a), "forgot the bias": a}
    assert diagnose(np.tanh(a), candidates) == "used tanh"
    assert diagnose(a + 1, candidates) is None
    assert not outputs_match("garbage", a)


def test_in_place_change_inside_a_dict_argument_is_caught() -> None:
    def sneaky(params):
        params["W"] *= 2
        return params["W"]

    params = {"W": np.ones((2, 2))}
    with pytest.raises(CheckFailed, match=r"modified its input `params\['W'\]` in place"):
        call_safely(sneaky, {"params": params}, name="f")
    np.testing.assert_array_equal(params["W"], np.ones((2, 2)))


def test_optional_bonus_not_attempted_prints_and_passes(capsys) -> None:
    def bonus(x):
        """docstring"""
        # YOUR CODE HERE
        raise NotImplementedError()

    check_function(bonus, {"x": np.ones(2)}, np.ones(2), name="bonus", optional=True)
    assert capsys.readouterr().out.strip() == "bonus: optional, not attempted"
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_function(bonus, {"x": np.ones(2)}, np.ones(2), name="bonus")
    with pytest.raises(CheckFailed, match="wrong values"):  # attempted and wrong: fails as usual
        check_function(lambda x: x * 2, {"x": np.ones(2)}, np.ones(2), name="bonus", optional=True)


def test_a_part_not_implemented_is_named_not_the_composite() -> None:
    def gate(x):
        raise NotImplementedError()

    def composite(x):
        return gate(x) + 1

    with pytest.raises(CheckFailed, match=r"calls a function that is not implemented yet.*in `gate`") as info:
        check_function(composite, {"x": np.ones(2)}, np.ones(2), name="composite", optional=True)
    assert "composite` is not implemented" not in str(info.value)


# ---- messages a student reads on the visible inputs ------------------------------------------------


def _message(fn, inputs, expected, **kw) -> str:
    with pytest.raises(CheckFailed) as info:
        check_function(fn, inputs, expected, name="f", **kw)
    return str(info.value)


def test_numbers_in_messages_are_plain() -> None:
    msg = _message(lambda x: x * 2, {"x": np.ones(3)}, np.ones(3))
    assert "got 2, expected 1" in msg and "np.float64" not in msg
    msg = _message(lambda x: 2.5, {"x": 1}, 1.0)
    assert "is 2.5, expected 1" in msg and "np." not in msg


def test_swapped_tuple_is_named() -> None:
    h, c = np.full((2, 3), 0.25), np.full((2, 3), -1.5)
    msg = _message(lambda x: (c, h), {"x": 1}, (h, c), output_names=("h", "c"))
    assert msg == "`f` returned (c, h); return (h, c) in that order"


def test_gate_outside_zero_one_is_explained() -> None:
    a = np.linspace(-2, 2, 8).reshape(2, 4)
    msg = _message(lambda a: np.tanh(a), {"a": a}, 1 / (1 + np.exp(-a)))
    assert "between 0 and 1" in msg and "sigmoid" in msg


@pytest.mark.parametrize("steps, words", [(2, "one time step missing"), (4, "one time step too many")])
def test_one_time_step_missing_or_extra(steps: int, words: str) -> None:
    msg = _message(lambda x: np.zeros((2, steps, 4)), {"x": 1}, np.ones((2, 3, 4)))
    assert words in msg


def test_matmul_shape_error_is_a_sentence_with_the_shapes() -> None:
    def rnn_cell(x, h_prev, W_xh, W_hh):
        return np.tanh(x @ W_hh + h_prev @ W_xh)

    msg = _message(rnn_cell, dict(x=np.ones((2, 3)), h_prev=np.ones((2, 4)), W_xh=np.ones((3, 4)),
                                  W_hh=np.ones((4, 4))), np.ones((2, 4)))
    assert "x (2, 3) @ W_hh (4, 4) cannot be multiplied" in msg
    assert "which weight goes with which input" in msg.lower() and "`*`" in msg
    assert "gufunc" not in msg


def test_jupyter_shows_the_students_cell_not_the_library(tmp_path) -> None:
    """In a notebook the failing check shows the student's cell and the message, not the frames of
    autograder/checks.py."""
    import re

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\nfrom autograder.checks import check_function\n"
        "def f(x):\n    return x * 2\n"
        "check_function(f, dict(x=np.ones(3)), np.ones(3), name='f')")]
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute()
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    text = "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error.traceback)
    assert "checks.py" not in text, text
    assert "check_function(f" in text and "wrong values" in text
    assert len(text.splitlines()) < 15, text
