"""Toy data sets generated in code (nothing is downloaded), shared by the book and the assignments.

- :func:`recall_task`: the long-term dependency task of chapters 2-4 (recall the first symbol).
- :func:`addition_task`: the character-level addition task of chapter 5 and assignment 5
  (``"57+8" -> "65"``).

Every generator takes a ``numpy.random.Generator`` so that results are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def recall_task(
    n: int, length: int, n_symbols: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of random symbols whose label is the *first* symbol.

    Returns ``tokens`` of shape ``(n, length)`` (int64, values in ``[0, n_symbols)``) and ``labels``
    of shape ``(n,)`` equal to ``tokens[:, 0]``. The model reads the whole sequence and answers at
    the last step, so the information must survive ``length - 1`` steps; chance accuracy is
    ``1 / n_symbols``.
    """
    if length < 1 or n_symbols < 2:
        raise ValueError("need length >= 1 and n_symbols >= 2")
    tokens = rng.integers(0, n_symbols, size=(n, length), dtype=np.int64)
    return tokens, tokens[:, 0].copy()


class CharVocab:
    """A character vocabulary with a padding symbol at index 0."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise ValueError("duplicate characters in vocabulary")
        self.itos = list(chars)
        self.stoi = {c: i for i, c in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad(self) -> int:
        return 0

    def encode(self, strings: list[str], width: int) -> np.ndarray:
        """Encode strings as an int64 array ``(len(strings), width)``, right-padded."""
        out = np.full((len(strings), width), self.pad, dtype=np.int64)
        for row, s in enumerate(strings):
            if len(s) > width:
                raise ValueError(f"{s!r} is longer than width {width}")
            unknown = set(s) - set(self.stoi)
            if unknown:
                raise ValueError(f"characters {sorted(unknown)} are not in the vocabulary")
            out[row, : len(s)] = [self.stoi[c] for c in s]
        return out

    def decode(self, ids: np.ndarray) -> list[str]:
        """Decode rows of ids, dropping padding and the start symbol."""
        ids = np.atleast_2d(np.asarray(ids))
        return ["".join(self.itos[i] for i in row if self.itos[i] not in (" ", "_")) for row in ids]


#: pad, start-of-answer, digits and plus
ADDITION_VOCAB = CharVocab(" _0123456789+")
START = ADDITION_VOCAB.stoi["_"]


@dataclass
class Seq2SeqData:
    """A batch of the addition task.

    ``src``: ``(n, 2 * digits + 1)`` question ids (reversed if ``reversed_input``);
    ``tgt``: ``(n, digits + 2)`` answer ids, ``tgt[:, 0]`` the start symbol ``_``;
    the decoder reads ``tgt[:, :-1]`` and predicts ``tgt[:, 1:]`` (teacher forcing).
    """

    src: np.ndarray
    tgt: np.ndarray
    questions: list[str]
    answers: list[str]
    reversed_input: bool = False


def addition_task(
    n: int, digits: int, rng: np.random.Generator, *, reverse: bool = False
) -> Seq2SeqData:
    """``n`` random problems ``a+b`` with ``0 <= a, b < 10**digits``, answers right-padded."""
    if digits < 1:
        raise ValueError("digits must be >= 1")
    a = rng.integers(0, 10**digits, size=n)
    b = rng.integers(0, 10**digits, size=n)
    questions = [f"{x}+{y}" for x, y in zip(a, b, strict=True)]
    answers = [str(x + y) for x, y in zip(a, b, strict=True)]
    width = 2 * digits + 1
    src = ADDITION_VOCAB.encode(questions, width)
    if reverse:
        src = src[:, ::-1].copy()
    tgt = ADDITION_VOCAB.encode(["_" + s for s in answers], digits + 2)
    return Seq2SeqData(src, tgt, questions, answers, reverse)


def heldout_addition(
    n_train: int, n_test: int, digits: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_test`` test problems, and ``n_train`` training problems drawn among all the others, with
    reversed questions: no test question occurs in the training set.

    Returns ``(train_src, train_tgt, test_src, test_tgt)``, int64 arrays of shapes
    ``(n_train, 2 digits + 1)``, ``(n_train, digits + 2)``, ``(n_test, ...)``, ``(n_test, ...)``.
    """
    test = addition_task(n_test, digits, rng, reverse=True)
    held_out = set(test.questions)
    draws = addition_task(2 * n_train, digits, rng, reverse=True)
    keep = np.array([k for k, q in enumerate(draws.questions) if q not in held_out][:n_train], dtype=np.int64)
    if len(keep) < n_train:
        raise ValueError(f"only {len(keep)} training problems differ from the test set; ask for fewer")
    return draws.src[keep], draws.tgt[keep], test.src, test.tgt
