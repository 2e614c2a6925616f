"""Chapter 5's "Decoding done properly" (book/decoding.py): its beam search is the assignment's.

The page shows the results of ``decoding.beam_search`` only (assignment 5 grades a beam search).
One source of truth: on random tables of log-probabilities, which is how the assignment specifies
``beam_search``, the book's model-driven implementation must return what the assignment's reference
returns (tokens and normalised score), for every width, length and alpha drawn, including tables
built so that greedy decoding is not the best answer. And on the model, width 1 is the book's greedy
decoding and a beam as wide as the tree is exhaustive.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / "book"))
import decoding as dec  # noqa: E402

from autograder.reference import load_reference  # noqa: E402
from autograder.specs.seq2seq import early_end_trap, greedy_trap  # noqa: E402


@pytest.fixture(scope="module")
def reference():
    return load_reference("05_seq2seq", root=REPO).beam_search


def _random_table(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    t, v = int(rng.integers(1, 7)), int(rng.integers(2, 8))
    logits = rng.normal(0.0, float(rng.uniform(0.5, 2.0)), size=(t, v, v))
    start, eos = (int(x) for x in rng.permutation(v)[:2])
    logits[:, :, eos] += rng.uniform(0.0, 2.0)
    return logits - np.logaddexp.reduce(logits, axis=2, keepdims=True), start, eos


def _both(reference, logp, start, eos, width, max_len, alpha):
    ours = dec.beam_search(*dec.table_step(logp), start, eos, width, max_len, alpha)
    theirs = reference(logp=logp, start=start, eos=eos, width=width, max_len=max_len, alpha=alpha)
    return ours, theirs


def test_beam_search_equals_the_assignment_reference_on_random_tables(reference) -> None:
    rng = np.random.default_rng(2016)
    for case in range(400):
        logp, start, eos = _random_table(rng)
        width, max_len = int(rng.integers(1, 6)), int(rng.integers(1, logp.shape[0] + 1))
        alpha = float(rng.choice([0.0, 0.6, 0.7, 1.0, rng.uniform(0, 1.5)]))
        (tokens, score), (ref_tokens, ref_score) = _both(reference, logp, start, eos, width, max_len, alpha)
        np.testing.assert_array_equal(tokens, ref_tokens, err_msg=f"case {case}")
        np.testing.assert_allclose(score, ref_score, rtol=1e-12, atol=1e-12, err_msg=f"case {case}")


@pytest.mark.parametrize("trap", [greedy_trap, early_end_trap])
def test_beam_search_equals_the_reference_where_greedy_is_not_best(reference, trap) -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        logp, start, eos = trap(rng, 6, 5)
        for width in (1, 2, 3):
            for alpha in (0.0, 0.7, 1.0):
                (tokens, score), (ref_tokens, ref_score) = _both(reference, logp, start, eos, width, 5, alpha)
                np.testing.assert_array_equal(tokens, ref_tokens)
                np.testing.assert_allclose(score, ref_score, rtol=1e-12, atol=1e-12)


def test_on_the_model_width_one_is_greedy_and_a_full_beam_is_exhaustive() -> None:
    torch.manual_seed(0)
    model = dec.EosSeq2Seq(hidden=8).double()
    _, _, questions, _ = dec.split()
    src = dec.encode_questions(questions[:6], 5)
    np.testing.assert_array_equal(dec.beam_decode(model, src, width=1, max_len=4, alpha=0.7).numpy(),
                                  dec.greedy(model, src, 4).numpy())
    for n in range(3):
        complete, scores = dec.all_complete(model, src[n], 3, 0.7)
        V = dec.OUT_VOCAB       # one answer of length 1 ($), V - 1 of length 2, (V - 1)**2 * V of length 3
        assert len(complete) == 1 + (V - 1) + (V - 1) ** 2 * V
        tokens, score = dec.beam_search(*dec.model_step(model, src[n]), dec.START, dec.EOS, dec.OUT_VOCAB ** 2, 3, 0.7)
        np.testing.assert_array_equal(tokens, complete[int(np.argmax(scores))])
        np.testing.assert_allclose(score, scores.max(), rtol=1e-12, atol=1e-12)
