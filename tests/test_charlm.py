"""book/charlm.py: chapter 3's character-level language model and its search for a meaningful unit."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / "book"))
import charlm  # noqa: E402
import lm  # noqa: E402
from data import make_corpus as grammar  # noqa: E402


@pytest.fixture(scope="module")
def text():
    return charlm.load_chars(REPO / "book" / "data" / "harbour.txt")


def test_characters_keep_chapter_1s_split(text) -> None:
    words = lm.load_corpus(REPO / "book" / "data" / "harbour.txt")
    assert text["n_train"] == words["n_train"] and text["lines"] == words["lines"]
    decoded = "".join(text["chars"][i] for i in text["train_ids"].tolist())
    assert decoded == "\n" + "".join(line + "\n" for line in words["lines"][:words["n_train"]])
    held = "".join(text["chars"][i] for i in text["heldout_ids"].tolist())
    assert held.split("\n")[1:-1] == words["lines"][words["n_train"]:]


def test_clauses_agree_with_the_grammars_parser(text) -> None:
    """The clause finder gives, sentence by sentence, the (plural, has a relative clause) pairs of
    the grammar's own derivation."""
    for line in text["lines"] + charlm.fresh_sentences(300, seed=3):
        found = [(bool(c["plural"]), c["who"] is not None) for c in charlm.clauses(line)]
        (derivation,) = grammar.parses(line)
        assert found == list(derivation[1]), line


def test_features_of_one_sentence() -> None:
    line = "at dawn , the old men who mend the nets climb the stairs , and the keeper sleeps ."
    features = charlm.char_features(line)
    relative, everywhere = features["relative clause"]
    assert everywhere.all() and len(relative) == len(line) + 1
    inside = "".join(ch for ch, v in zip(line, relative, strict=False) if v)
    assert inside == "o mend the nets "             # from the last letter of "who" to the verb
    plural, defined = features["plural subject"]
    spans = "".join(ch if d else "|" for ch, d in zip(line + "\n", defined, strict=True))
    assert [s for s in spans.split("|") if s] == [" who mend the nets ", " "]
    assert plural[defined].tolist() == [1] * len(" who mend the nets ") + [0]
    position, _ = features["position"]
    assert position.tolist() == list(range(len(line) + 1))


def test_cell_states_are_those_of_the_layer() -> None:
    """states() recomputes c_t from the weights; stepping nn.LSTM one character at a time returns
    the same c_t (and h_t)."""
    torch.manual_seed(0)
    model = lm.RNNLM(9, 5, 7, cell="lstm")
    ids = torch.randint(0, 9, (3, 11))
    h, c = charlm.states(model, ids)
    state = None
    with torch.no_grad():
        for t in range(ids.shape[1]):
            _, state = model.rnn(model.embed(ids[:, t:t + 1]), state)
            np.testing.assert_allclose(state[0][0].numpy(), h[:, t], rtol=0, atol=1e-6)
            np.testing.assert_allclose(state[1][0].numpy(), c[:, t], rtol=0, atol=1e-6)


def test_correlations_are_pearsons() -> None:
    rng = np.random.default_rng(0)
    units, values = rng.normal(size=(50, 4)), rng.normal(size=50)
    units[:, 2] = 3 * values + 1
    units[:, 3] = 5.0                                   # a constant unit: r = 0, not nan
    r = charlm.correlations(units, values)
    for j in range(3):
        np.testing.assert_allclose(r[j], np.corrcoef(units[:, j], values)[0, 1], rtol=1e-12, atol=1e-12)
    assert r[2] == pytest.approx(1) and r[3] == 0
    two = charlm.correlations(units, np.stack([values, -values], 1))
    np.testing.assert_allclose(two[:, 1], -two[:, 0], rtol=0, atol=1e-12)


def test_labelled_states_line_up_with_the_features(text) -> None:
    torch.manual_seed(1)
    model = lm.RNNLM(len(text["chars"]), 8, 6, cell="lstm")
    lines = text["lines"][:5]
    units, features = charlm.labelled_states(model, text["stoi"], lines)
    assert units.shape == (sum(len(line) + 1 for line in lines), 12)
    # the first sentence alone gives the same rows: padding and the other sentences change nothing
    alone, _ = charlm.labelled_states(model, text["stoi"], lines[:1])
    np.testing.assert_allclose(units[:len(alone)], alone, rtol=0, atol=1e-6)
    assert (features["position"][0] == np.concatenate([np.arange(len(s) + 1) for s in lines])).all()


def test_the_search_finds_a_planted_unit(text, monkeypatch) -> None:
    """A model whose unit 3 is exactly the position in the sentence: the search picks it, with r = 1
    on both sets, far above its null."""
    def planted(model, stoi, lines):
        units = np.random.default_rng(len(lines)).normal(size=(sum(len(s) + 1 for s in lines), 8))
        features = {name: tuple(np.concatenate([charlm.char_features(s)[name][k] for s in lines])
                                for k in (0, 1)) for name in charlm.FEATURES}
        units[:, 3] = features["position"][0]
        return units, features

    monkeypatch.setattr(charlm, "labelled_states", planted)
    found = charlm.unit_search(None, None, text["lines"][:40], text["lines"][40:80])
    assert found["position"]["unit"] == 3
    assert found["position"]["r_test"] == pytest.approx(1) and found["position"]["null"] < 0.5
    assert abs(found["relative clause"]["r_test"]) < 0.5


def test_sampling_is_reproducible_and_stops_at_the_newline(text) -> None:
    torch.manual_seed(2)
    model = lm.RNNLM(len(text["chars"]), 8, 16, cell="lstm")
    first = charlm.sample(model, 5, text["chars"], torch.Generator().manual_seed(4), max_chars=30)
    again = charlm.sample(model, 5, text["chars"], torch.Generator().manual_seed(4), max_chars=30)
    assert first == again and len(first) == 5
    assert all("\n" not in s and len(s) <= 30 for s in first)
    probe = charlm.sample_probe(text["chars"], text["lines"], n_samples=5, n_shown=2)(model)
    assert probe["grammatical"] == 0 and probe["verbatim"] == 0 and len(probe["shown"]) == 2


def test_entropy_per_character(text) -> None:
    floor = charlm.entropy_per_char(n_sentences=5000)
    corpus_chars = np.mean([len(s) + 1 for s in text["lines"]])
    assert abs(floor["chars"] - corpus_chars) < 5 * floor["chars_se"] * np.sqrt(5000 / len(text["lines"]))
    assert floor["nats"] == pytest.approx(grammar.entropy_per_sentence() / floor["chars"])
