"""book/lm.py: the language model of chapters 1 and 3 (model, truncated BPTT, perplexity, probe)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from conftest import REPO
from torch import nn

sys.path.insert(0, str(REPO / "book"))
import lm  # noqa: E402
from data import make_corpus as grammar  # noqa: E402


@pytest.fixture(scope="module")
def text():
    return lm.load_corpus(REPO / "book" / "data" / "harbour.txt")


def test_corpus_split_and_ids(text) -> None:
    lines = text["lines"]
    assert text["n_train"] == int(0.9 * len(lines))
    assert text["train_words"].count("<eos>") == text["n_train"]
    assert len(text["train_ids"]) == len(text["train_words"])
    assert [text["vocab"][i] for i in text["train_ids"][:12].tolist()] == text["train_words"][:12]
    assert text["vocab"] == sorted(text["vocab"]) and int(text["train_ids"].max()) == len(text["vocab"]) - 1
    assert lm.tokenize(["a b .", "c ."]) == ["a", "b", ".", "<eos>", "c", ".", "<eos>"]


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("embed_dim,hidden", [(32, 128), (8, 20)])
def test_shapes_and_parameter_count(cell, embed_dim, hidden) -> None:
    V = 37
    model = lm.RNNLM(V, embed_dim, hidden, cell=cell)
    assert isinstance(model.rnn, {"rnn": nn.RNN, "lstm": nn.LSTM}[cell])
    logits, state = model(torch.randint(0, V, (3, 5)))
    assert logits.shape == (3, 5, V)
    if cell == "rnn":
        assert state.shape == (1, 3, hidden)
    else:
        assert [s.shape for s in state] == [(1, 3, hidden), (1, 3, hidden)]
    n = sum(p.numel() for p in model.parameters())
    assert lm.n_lm_params(V, embed_dim, hidden, cell) == n
    recurrent = sum(p.numel() for p in model.rnn.parameters())
    assert recurrent == {"rnn": 1, "lstm": 4}[cell] * (hidden * (embed_dim + hidden) + 2 * hidden)


def test_unknown_cell_is_refused() -> None:
    with pytest.raises(KeyError):
        lm.RNNLM(10, cell="gru")


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_carrying_the_state_equals_one_pass(cell) -> None:
    """Reading a stream in two blocks, the state carried (and detached), gives the outputs of one
    pass; starting the second block from zero gives others."""
    torch.manual_seed(0)
    model = lm.RNNLM(20, 8, 16, cell=cell)
    ids = torch.randint(0, 20, (2, 12))
    whole, _ = model(ids)
    first, state = model(ids[:, :7])
    second, _ = model(ids[:, 7:], lm.detach(state))
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    fresh, _ = model(ids[:, 7:])
    assert (fresh - whole[:, 7:]).abs().max() > 1e-4
    detached = lm.detach(state)
    for s in detached if isinstance(detached, tuple) else (detached,):
        assert not s.requires_grad


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size() -> None:
    class Uniform(nn.Module):
        def forward(self, ids, state=None):
            return torch.zeros(*ids.shape, 13), state

    assert lm.perplexity(Uniform(), torch.randint(0, 13, (50,))) == pytest.approx(13, rel=1e-6)


def test_perplexity_is_exp_of_the_mean_cross_entropy() -> None:
    torch.manual_seed(1)
    model = lm.RNNLM(11, 4, 6, cell="lstm")
    ids = torch.randint(0, 11, (30,))
    logits, _ = model(ids[None, :-1])
    logp = torch.log_softmax(logits[0], -1)[torch.arange(29), ids[1:]]
    assert lm.perplexity(model, ids) == pytest.approx(math.exp(-logp.mean().item()), rel=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_a_short_training_run_lowers_the_loss_and_is_reproducible(text, cell) -> None:
    train_ids, heldout_ids = text["train_ids"][:2000], text["heldout_ids"][:400]
    calls = []
    run = lm.train_lm(0, train_ids, heldout_ids, B=4, K=16, epochs=2, cell=cell, hidden=32,
                      probe=lambda model: calls.append(model) or len(calls))
    assert run["probes"] == [1, 2] and all(m is run["model"] for m in calls)
    assert len(run["heldout_ppl"]) == 2 and run["ppl_heldout"] == run["heldout_ppl"][-1]
    V = len(text["vocab"])
    assert math.log(V) - run["train_loss"][-5:].mean() > 1.0      # well below the uniform model
    assert run["train_loss"][-5:].mean() < run["train_loss"][:5].mean() - 1.0
    assert run["ppl_heldout"] < V / 4
    again = lm.train_lm(0, train_ids, heldout_ids, B=4, K=16, epochs=2, cell=cell, hidden=32)
    np.testing.assert_array_equal(again["train_loss"], run["train_loss"])
    other = lm.train_lm(1, train_ids, heldout_ids, B=4, K=16, epochs=2, cell=cell, hidden=32)
    assert not np.array_equal(other["train_loss"], run["train_loss"])


def test_prefixes_cover_both_numbers_and_are_grammatical_beginnings() -> None:
    prefixes = lm.agreement_prefixes(grammar)
    n_agents = len(grammar.AGENTS)
    assert len(prefixes["local"]) == n_agents * 2 * (1 + len(grammar.ADJECTIVES))
    assert len(prefixes["across"]) == n_agents * 2 * len(grammar.THINGS)
    for kind in prefixes:
        assert sum(pl for _, pl in prefixes[kind]) * 2 == len(prefixes[kind])
    # each prefix followed by a verb of the subject's number is a sentence of the grammar
    for words, plural in prefixes["local"][:20] + prefixes["across"][::25]:
        assert grammar.is_grammatical(f"{words} {grammar.INTRANSITIVE[0][plural]} .")
        assert not grammar.is_grammatical(f"{words} {grammar.INTRANSITIVE[0][1 - plural]} .")


class _Oracle(nn.Module):
    """A hand-made model: after the last word, all probability on one verb of a chosen number
    (the number of the first noun it read, or always singular)."""

    def __init__(self, stoi, verbs, follow_subject):
        super().__init__()
        self.stoi, self.verbs, self.follow = stoi, verbs, follow_subject
        plural_nouns = {stoi[w.split()[-1]] for _, w in grammar.AGENTS}
        self.plural_nouns = plural_nouns

    def forward(self, ids, state=None):
        V = len(self.stoi)
        logits = torch.full((*ids.shape, V), -30.0)
        for row in range(ids.shape[0]):
            plural = self.follow and any(int(w) in self.plural_nouns for w in ids[row, :5])
            logits[row, :, self.verbs[int(plural)][0]] = 10.0
        return logits, state


def test_the_probe_on_hand_made_models(text) -> None:
    stoi = text["stoi"]
    verbs = lm.verb_ids(grammar, stoi)
    firsts = {v[0].split()[0] for v in grammar.TRANSITIVE + grammar.INTRANSITIVE}
    assert len(verbs[0]) == len(verbs[1]) == len(firsts) == len(set(verbs[0]))
    assert stoi["mends"] in verbs[0] and stoi["mend"] in verbs[1] and stoi["were"] in verbs[1]
    prefixes = lm.agreement_prefixes(grammar)
    right = lm.agreement(_Oracle(stoi, verbs, follow_subject=True), prefixes, stoi, verbs)
    assert right == {"local": 1.0, "across": 1.0, "across, singular": 1.0, "across, plural": 1.0}
    singular = lm.agreement(_Oracle(stoi, verbs, follow_subject=False), prefixes, stoi, verbs)
    assert singular == {"local": 0.5, "across": 0.5, "across, singular": 1.0, "across, plural": 0.0}
    share = lm.right_number_share(_Oracle(stoi, verbs, True), [("the keepers", 1), ("the keeper", 0),
                                                              ("the keeper", 1)], stoi, verbs)
    np.testing.assert_allclose(share, [1.0, 1.0, 0.0], atol=1e-6)


def test_the_probe_reads_the_prediction_after_the_last_word_not_the_padding(text) -> None:
    """Prefixes of different lengths are padded in one batch: the share of each must be the one
    computed alone."""
    stoi = text["stoi"]
    verbs = lm.verb_ids(grammar, stoi)
    torch.manual_seed(0)
    model = lm.RNNLM(len(stoi), 8, 16, cell="lstm")
    cases = [("the keeper", 0), ("the old keepers who mend the nets", 1), ("the gulls", 1)]
    together = lm.right_number_share(model, cases, stoi, verbs)
    alone = [lm.right_number_share(model, [c], stoi, verbs)[0] for c in cases]
    np.testing.assert_allclose(together, alone, rtol=1e-5)


def test_train_lm_takes_another_model_class(text) -> None:
    """Chapter 1's stacked and regularised models train with the same loop (model_class, evaluate)."""
    calls = []

    class Recorded(lm.RNNLM):
        pass

    def evaluate(model, ids):
        calls.append(type(model).__name__)
        return lm.perplexity(model, ids)

    args = (0, text["train_ids"], text["heldout_ids"])
    plain = lm.train_lm(*args, epochs=1, hidden=16, embed_dim=8)
    other = lm.train_lm(*args, epochs=1, hidden=16, embed_dim=8, model_class=Recorded, evaluate=evaluate)
    assert isinstance(other["model"], Recorded) and calls == ["Recorded", "Recorded"]
    np.testing.assert_allclose(other["heldout_ppl"], plain["heldout_ppl"], rtol=1e-12)
