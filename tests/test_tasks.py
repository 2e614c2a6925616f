"""The toy tasks are reproducible and mean what their docstrings say."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.numerics import numerical_gradient, sigmoid
from autograder.tasks import ADDITION_VOCAB, addition_task, heldout_addition, recall_task


def test_recall_labels_are_the_first_symbol_and_reproducible() -> None:
    tokens, labels = recall_task(50, 7, 4, np.random.default_rng(1))
    assert tokens.shape == (50, 7) and tokens.dtype == np.int64
    np.testing.assert_array_equal(labels, tokens[:, 0])
    again, _ = recall_task(50, 7, 4, np.random.default_rng(1))
    np.testing.assert_array_equal(tokens, again)
    assert set(np.unique(tokens)) <= set(range(4))


def test_addition_round_trips_and_is_correct() -> None:
    data = addition_task(200, 3, np.random.default_rng(2))
    assert data.src.shape == (200, 7) and data.tgt.shape == (200, 5)
    assert (data.tgt[:, 0] == ADDITION_VOCAB.stoi["_"]).all()
    for q, a, src, tgt in zip(data.questions, data.answers, data.src, data.tgt, strict=True):
        x, y = q.split("+")
        assert int(x) + int(y) == int(a)
        assert ADDITION_VOCAB.decode(src)[0] == q
        assert ADDITION_VOCAB.decode(tgt)[0] == a


def test_reversed_input_is_the_mirror_image() -> None:
    plain = addition_task(20, 2, np.random.default_rng(3))
    rev = addition_task(20, 2, np.random.default_rng(3), reverse=True)
    np.testing.assert_array_equal(rev.src, plain.src[:, ::-1])
    np.testing.assert_array_equal(rev.tgt, plain.tgt)


def test_heldout_problems_never_share_a_question_and_are_reproducible() -> None:
    train_src, train_tgt, test_src, test_tgt = heldout_addition(3000, 100, 2, np.random.default_rng(5))
    assert train_src.shape == (3000, 5) and train_tgt.shape == (3000, 4)
    assert test_src.shape == (100, 5) and test_tgt.shape == (100, 4)
    train_q = set(ADDITION_VOCAB.decode(train_src))
    assert not train_q & set(ADDITION_VOCAB.decode(test_src))
    assert len(train_q) > 1000  # drawn at random, not one question repeated
    again = heldout_addition(3000, 100, 2, np.random.default_rng(5))
    for a, b in zip((train_src, train_tgt, test_src, test_tgt), again, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="ask for fewer"):
        heldout_addition(200, 90, 1, np.random.default_rng(6))  # only 100 one-digit questions


def test_vocab_rejects_what_it_cannot_encode() -> None:
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ADDITION_VOCAB.encode(["1-2"], 5)
    with pytest.raises(ValueError, match="longer than width"):
        ADDITION_VOCAB.encode(["123456"], 3)


def test_sigmoid_is_stable_and_exact() -> None:
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):
        s = sigmoid(x)
    np.testing.assert_allclose(s[1:-1], 1 / (1 + np.exp(-x[1:-1])), rtol=1e-15, atol=0)
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(sigmoid(x) + sigmoid(-x), 1.0, rtol=0, atol=1e-15)


def test_numerical_gradient_matches_an_analytic_one() -> None:
    rng = np.random.default_rng(4)
    w = rng.standard_normal((3, 2))
    x = rng.standard_normal((5, 3))
    grad = numerical_gradient(lambda: float(np.sum(np.tanh(x @ w) ** 2)), w)
    h = np.tanh(x @ w)
    np.testing.assert_allclose(grad, x.T @ (2 * h * (1 - h**2)), rtol=1e-7, atol=1e-9)
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.ones(2, dtype=np.float32))
