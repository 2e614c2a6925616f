"""The word-level language model of chapter 1, reused by chapter 3 (one source of truth).

Chapter 1 (``book/01_rnn.md``) trains :class:`RNNLM` with an Elman layer on ``book/data/harbour.txt``
and probes subject-verb agreement; chapter 3 (``book/03_lstm.md``) trains the same model with an
LSTM layer on the same text, with the same loop and the same probes. The chapters show this code
with ``literalinclude`` and import it; ``tests/test_lm.py`` checks it.
"""

from __future__ import annotations

import math
from pathlib import Path

import course
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def tokenize(sentences):
    """Words split on spaces, each sentence ended by an ``<eos>`` token."""
    return [w for s in sentences for w in s.split() + ["<eos>"]]


def load_corpus(path, train_share=0.9):
    """The sentences of ``path``: the first ``train_share`` for training, the rest held out."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    n_train = int(train_share * len(lines))
    train_words, heldout_words = tokenize(lines[:n_train]), tokenize(lines[n_train:])
    vocab = sorted(set(train_words))
    stoi = {w: i for i, w in enumerate(vocab)}
    assert set(heldout_words) <= set(vocab), "every held-out word occurs in training"
    return {"lines": lines, "n_train": n_train, "train_words": train_words,
            "heldout_words": heldout_words, "vocab": vocab, "stoi": stoi,
            "train_ids": torch.tensor([stoi[w] for w in train_words]),
            "heldout_ids": torch.tensor([stoi[w] for w in heldout_words])}


class RNNLM(nn.Module):
    """Embedding -> one recurrent layer (Elman with tanh, or LSTM) -> affine; the softmax is inside
    the cross-entropy."""

    def __init__(self, vocab_size, embed_dim=32, hidden=128, cell="rnn"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
        self.rnn = layer(embed_dim, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        states, state = self.rnn(self.embed(ids), state)
        return self.proj(states), state


def n_lm_params(vocab_size, embed_dim=32, hidden=128, cell="rnn"):
    """Parameters of RNNLM: embedding, recurrent layer (torch's two biases; four maps for an LSTM),
    output layer."""
    maps = {"rnn": 1, "lstm": 4}[cell]
    recurrent = maps * (embed_dim * hidden + hidden * hidden + 2 * hidden)
    return vocab_size * embed_dim + recurrent + hidden * vocab_size + vocab_size


def detach(state):
    """Cut the backward pass at a state: a tensor (RNN) or an (h, c) pair (LSTM)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@torch.no_grad()
def perplexity(model, ids):
    """exp of the mean cross-entropy of next-token prediction over one long stream (eq-rnn-perplexity)."""
    logits, _ = model(ids[None, :-1])
    return math.exp(F.cross_entropy(logits[0], ids[1:]).item())


def train_lm(seed, train_ids, heldout_ids, B=16, K=32, epochs=11, lr=3e-3, probe=None, *,
             model_class=RNNLM, evaluate=perplexity, **model_kw):
    """Train one ``model_class(V, **model_kw)`` (RNNLM by default) with truncated BPTT; the seed fixes
    the initial weights. ``evaluate(model, ids)`` gives the perplexities (``perplexity``; a model with
    dropout passes one that switches it off). ``probe(model)``, if given, is called after every
    epoch; its results are returned in order."""
    torch.manual_seed(seed)
    V = int(train_ids.max()) + 1
    lm = model_class(V, **model_kw)
    optimizer = torch.optim.Adam(lm.parameters(), lr=lr)
    L = len(train_ids) // B
    streams = train_ids[: B * L].view(B, L)       # row b: a contiguous stretch of the text
    train_loss, heldout_ppl, probes = [], [], []
    for _ in range(epochs):
        state = None
        for s in range(0, L - 1, K):              # blocks in order: the state is carried
            inputs = streams[:, s : min(s + K, L - 1)]
            targets = streams[:, s + 1 : s + 1 + inputs.shape[1]]
            if state is not None:
                state = detach(state)             # truncated BPTT: cut the backward pass here
            logits, state = lm(inputs, state)
            loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
            train_loss.append(course.apply_update(lm, optimizer, loss, clip=1.0))
        heldout_ppl.append(evaluate(lm, heldout_ids))
        if probe is not None:
            probes.append(probe(lm))
    return {"model": lm, "train_loss": np.array(train_loss), "heldout_ppl": np.array(heldout_ppl),
            "ppl_train": evaluate(lm, train_ids), "ppl_heldout": heldout_ppl[-1], "probes": probes}


def agreement_prefixes(grammar):
    """The probe's prefixes, (words, subject is plural): 'local' ends right after the subject,
    'across' after a relative clause whose object may have the other number."""
    prefixes = {"local": [], "across": []}
    for n, nouns in enumerate(grammar.AGENTS):
        for plural in (0, 1):
            for adjective in ["", *(a + " " for a in grammar.ADJECTIVES)]:
                prefixes["local"].append((f"the {adjective}{nouns[plural]}", plural))
            for m, thing in enumerate(grammar.THINGS):
                verb = grammar.TRANSITIVE[(n + m) % len(grammar.TRANSITIVE)][plural]
                prefixes["across"].append((f"the {nouns[plural]} who {verb} {thing}", plural))
    return prefixes


def verb_ids(grammar, stoi):
    """Ids of the first words of the grammar's verbs and verb phrases, each once: (singular, plural)."""
    pairs = {v[0].split()[0]: v[1].split()[0] for v in grammar.TRANSITIVE + grammar.INTRANSITIVE}
    return [stoi[sg] for sg in pairs], [stoi[pl] for pl in pairs.values()]


@torch.no_grad()
def right_number_share(model, cases, stoi, verbs):
    """P(verbs of the subject's number) / P(verbs of either number) after each prefix;
    ``verbs`` = (singular ids, plural ids)."""
    singular_verbs, plural_verbs = verbs
    ids = [[stoi["<eos>"]] + [stoi[w] for w in words.split()] for words, _ in cases]
    padded = torch.tensor([s + [0] * (max(map(len, ids)) - len(s)) for s in ids])
    logits, _ = model(padded)                            # padding comes after: it changes nothing
    p = torch.softmax(logits[torch.arange(len(ids)), [len(s) - 1 for s in ids]], dim=-1)
    p_singular, p_plural = p[:, singular_verbs].sum(1), p[:, plural_verbs].sum(1)
    plural = torch.tensor([bool(pl) for _, pl in cases])
    right = torch.where(plural, p_plural, p_singular)
    return (right / (p_singular + p_plural)).numpy()


def agreement(model, prefixes, stoi, verbs):
    """Fraction of prefixes after which the verbs of the right number are the likelier: local,
    across the relative clause, and across it with a singular / a plural subject."""
    share_local = right_number_share(model, prefixes["local"], stoi, verbs)
    share_across = right_number_share(model, prefixes["across"], stoi, verbs)
    plural_subject = np.array([pl for _, pl in prefixes["across"]], dtype=bool)
    return {"local": float(np.mean(share_local > 0.5)),
            "across": float(np.mean(share_across > 0.5)),
            "across, singular": float(np.mean(share_across[~plural_subject] > 0.5)),
            "across, plural": float(np.mean(share_across[plural_subject] > 0.5))}
