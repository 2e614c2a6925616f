"""Chapter 3's character-level language model, and the search for a hidden unit that means something.

The model is chapter 1's :class:`lm.RNNLM` with an LSTM layer, trained by :func:`lm.train_lm` (the
same truncated BPTT), on the harbour text read character by character instead of word by word:
:func:`load_chars` keeps chapter 1's split of the sentences and ends every sentence with a newline.
:func:`train_charlm` records, before training and after every epoch, samples of the model and the
share of them that the grammar (``book/data/make_corpus.py``) can produce.

The search: :func:`char_features` labels every character of a sentence with features read off the
grammar (inside an open relative clause; the number of the subject whose verb is still to come; the
position in the sentence), :func:`states` runs a model over a stream of sentences and returns every
unit's hidden and cell state at every character, and :func:`unit_search` picks, for each feature,
the unit whose activation correlates best with it on one set of sentences and measures that unit
on another set, next to a null (the same search with the labels shifted against the text).
``tests/test_charlm.py`` checks it.
"""

from __future__ import annotations

import random

import lm
import numpy as np
import torch
from data import make_corpus as grammar

EOS = "\n"                        # ends every sentence, as <eos> does for chapter 1's words
FEATURES = ("relative clause", "plural subject", "position")


def stream(lines) -> str:
    """The sentences as one text: each ends with a newline, and the text starts with one (so that the
    first character of the first sentence is predicted from the end of a sentence, like every other)."""
    return EOS + "".join(line + EOS for line in lines)


def load_chars(path, train_share=0.9):
    """The harbour text as characters, split into the same training and held-out sentences as
    chapter 1's words (:func:`lm.load_corpus`)."""
    words = lm.load_corpus(path, train_share)
    lines, n_train = words["lines"], words["n_train"]
    train_text, heldout_text = stream(lines[:n_train]), stream(lines[n_train:])
    chars = sorted(set(train_text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    assert set(heldout_text) <= set(chars), "every held-out character occurs in training"
    return {"lines": lines, "n_train": n_train, "chars": chars, "stoi": stoi,
            "train_ids": torch.tensor([stoi[ch] for ch in train_text]),
            "heldout_ids": torch.tensor([stoi[ch] for ch in heldout_text])}


def fresh_sentences(n: int, seed: int) -> list[str]:
    """``n`` new sentences of the grammar, drawn with their own seeded generator."""
    rng = random.Random(seed)
    return [grammar.sentence(rng) for _ in range(n)]


def entropy_per_char(n_sentences: int = 20_000, seed: int = 7) -> dict[str, float]:
    """The grammar's entropy rate per character (nats): the exact entropy of a sentence over the
    expected number of characters per sentence, newline included, the latter estimated from
    ``n_sentences`` fresh sentences (with its standard error)."""
    lengths = np.array([len(s) + 1 for s in fresh_sentences(n_sentences, seed)], dtype=float)
    mean, se = lengths.mean(), lengths.std(ddof=1) / np.sqrt(lengths.size)
    return {"nats": grammar.entropy_per_sentence() / mean, "chars": float(mean), "chars_se": float(se)}


@torch.no_grad()
def sample(model, n, chars, generator, temperature=1.0, max_chars=200):
    """``n`` sentences sampled character by character in one batch, each from the end of a sentence
    (a newline, zero state) to its first newline; one cut at ``max_chars`` is returned as is."""
    eos = chars.index(EOS)
    ids, state, drawn = torch.full((n, 1), eos), None, []
    finished = torch.zeros(n, dtype=torch.bool)
    for _ in range(max_chars):
        logits, state = model(ids, state)
        ids = torch.multinomial(torch.softmax(logits[:, -1] / temperature, dim=-1), 1,
                                generator=generator)
        drawn.append(ids)
        finished |= ids[:, 0] == eos
        if finished.all():
            break
    return ["".join(chars[k] for k in row).split(EOS)[0] for row in torch.cat(drawn, 1).tolist()]


def sample_probe(chars, training_lines, n_samples=200, n_shown=4, seed=1990):
    """A probe for :func:`lm.train_lm`: sample ``n_samples`` sentences (temperature 1, the same
    generator seed every time) and return the share the grammar can produce, the share that are
    sentences of ``training_lines`` word for word, and the first ``n_shown``."""
    training_lines = set(training_lines)

    def probe(model):
        samples = sample(model, n_samples, chars, torch.Generator().manual_seed(seed))
        return {"grammatical": float(np.mean([grammar.is_grammatical(s) for s in samples])),
                "verbatim": float(np.mean([s in training_lines for s in samples])),
                "shown": samples[:n_shown]}
    return probe


def initial_model(seed, V, **model_kw):
    """The model :func:`lm.train_lm` starts from with this seed (the same draws, in the same order)."""
    torch.manual_seed(seed)
    return lm.RNNLM(V, **model_kw)


# ---------------------------------------------------------------------------------------------
# What each character means in the grammar


def _match(options, tokens, i):
    """The end of the option of ``options`` (phrases) that the tokens spell from ``i``, or None."""
    ends = [i + len(o.split()) for o in options if tokens[i:i + len(o.split())] == o.split()]
    assert len(ends) <= 1, f"ambiguous at {tokens[i:]}"
    return ends[0] if ends else None


def clauses(line: str) -> list[dict]:
    """Every clause of a sentence of the grammar, found by its subject (the only place where the
    grammar puts a person or an animal): the token indices where the subject's noun ends, where its
    relative clause starts ("who") and ends, where the main verb starts, and the subject's number."""
    tokens, found = line.split(), []
    nouns = {number: [a[number] for a in grammar.AGENTS] for number in (0, 1)}
    verbs = [v[number] for v in grammar.TRANSITIVE for number in (0, 1)]
    for i, token in enumerate(tokens):
        if token != "the":
            continue
        starts = [i + 1] + ([i + 2] if tokens[i + 1:i + 2] and tokens[i + 1] in grammar.ADJECTIVES else [])
        hits = [(number, _match(nouns[number], tokens, j)) for j in starts for number in (0, 1)]
        hits = [(number, end) for number, end in hits if end is not None]
        if not hits:
            continue
        (plural, noun_end), = hits
        clause = {"plural": plural, "noun_end": noun_end, "who": None, "verb": noun_end}
        if tokens[noun_end] == "who":
            assert tokens[noun_end + 1] in verbs
            clause["who"] = noun_end
            clause["verb"] = _match(grammar.THINGS, tokens, noun_end + 2)
        found.append(clause)
    return found


def char_features(line: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per character of ``line + EOS``: (value, defined) for each feature of :data:`FEATURES`.

    The value at a character is what is true once that character has been read (the state after
    it is what we correlate):

    - "relative clause": 1 from the last letter of "who" to the space before the main verb, else 0;
    - "plural subject": 1 (plural) or 0 (singular), defined from the space after the subject's noun
      (when its number is known) to the space before its verb, undefined elsewhere;
    - "position": the number of characters read since the sentence began.
    """
    text = line + EOS
    starts = np.cumsum([0] + [len(t) + 1 for t in line.split()])    # where each token starts
    relative = np.zeros(len(text))
    plural, subject = np.zeros(len(text)), np.zeros(len(text), dtype=bool)
    for clause in clauses(line):
        verb = starts[clause["verb"]]
        if clause["who"] is not None:
            relative[starts[clause["who"]] + 2:verb] = 1
        noun_end = starts[clause["noun_end"]] - 1                      # the space after the noun
        subject[noun_end:verb] = True
        plural[noun_end:verb] = clause["plural"]
    everywhere = np.ones(len(text), dtype=bool)
    return {"relative clause": (relative, everywhere), "plural subject": (plural, subject),
            "position": (np.arange(len(text), dtype=float), everywhere)}


# ---------------------------------------------------------------------------------------------
# Every unit's states, and the search


@torch.no_grad()
def states(model, ids):
    """The hidden and the cell state of every unit after every character of ``ids`` (N, T), each row
    read from the zero state: two arrays (N, T, H). ``nn.LSTM`` returns only the hidden states; the
    cell states are recomputed from its weights with the chapter's equations (gates in PyTorch's
    order i, f, g, o), and ``h_t = o_t ⊙ tanh(c_t)`` is checked against the layer's own output."""
    layer = model.rnn
    x = model.embed(ids)
    h, _ = layer(x)
    x, h, weights = x.double(), h.double(), [w.double() for w in layer.all_weights[0]]
    W_x, W_h, b_x, b_h = weights                  # PyTorch's layout: (4H, D), (4H, H), two biases
    h_prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
    a = x @ W_x.T + h_prev @ W_h.T + b_x + b_h
    i, f, g, o = a.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c, c_prev = torch.empty_like(h), torch.zeros_like(h[:, 0])
    for t in range(h.shape[1]):
        c_prev = c[:, t] = f[:, t] * c_prev + i[:, t] * g[:, t]
    error = float((o * torch.tanh(c) - h).abs().max())     # float32 layer against float64 here
    assert error < 1e-4, f"h_t = o_t * tanh(c_t) fails by {error:.1e}: wrong gate order?"
    h, c = h.numpy(), c.numpy()
    return h, c


def labelled_states(model, stoi, lines):
    """States and features of every character of ``lines``, each sentence read on its own from the
    end of a sentence (a newline and the zero state, as when sampling): ``units`` (n_chars, 2H), the
    hidden states then the cell states, and per feature of :func:`char_features` (value, defined)."""
    texts = [EOS + line + EOS for line in lines]
    width = max(map(len, texts))
    ids = torch.tensor([[stoi[ch] for ch in text] + [stoi[EOS]] * (width - len(text)) for text in texts])
    h, c = states(model, ids)                     # padding comes after a sentence: it changes nothing
    read = np.array([[1 <= t < len(text) for t in range(width)] for text in texts])
    units = np.concatenate([h, c], axis=-1)[read]  # row-major: sentence by sentence, in order
    per_line = [char_features(line) for line in lines]
    features = {name: tuple(np.concatenate([f[name][k] for f in per_line]) for k in (0, 1))
                for name in FEATURES}
    assert all(len(v) == len(units) for v, _ in features.values())
    return units, features


def correlations(units, values):
    """Pearson's r of every column of ``units`` (n, U) with every column of ``values`` (n, K), as a
    (U, K) array (``values`` of shape (n,): a (U,) array); 0 where a column is constant."""
    u, v = units - units.mean(0), values - values.mean(0)
    norm = np.sqrt(np.multiply.outer((u * u).sum(0), (v * v).sum(0)))
    return np.divide(u.T @ v, norm, out=np.zeros(norm.shape), where=norm > 0)


def unit_search(model, stoi, search_lines, test_lines, n_shifts=20, seed=0):
    """For each feature: the unit (of the 2H hidden and cell states) whose activation correlates
    most with the feature on ``search_lines`` (largest |r|), and its r on ``test_lines``, with the
    sign that it had in the search (so a unit that only fitted the noise of the search scores about
    0). The null: the same search with the labels shifted circularly against the text by
    ``n_shifts`` random offsets (a shift keeps the runs of both series, a shuffle would not); its
    ``null`` is the largest |r| any unit reaches with any shift."""
    search_units, search_features = labelled_states(model, stoi, search_lines)
    test_units, test_features = labelled_states(model, stoi, test_lines)
    rng = np.random.default_rng(seed)
    out = {}
    for name in FEATURES:
        values, defined = search_features[name]
        units, values = search_units[defined], values[defined]
        r_search = correlations(units, values)
        best = int(np.argmax(np.abs(r_search)))
        test_values, test_defined = test_features[name]
        r_test = correlations(test_units[test_defined, best], test_values[test_defined])
        n = len(values)
        shifted = np.stack([np.roll(values, s) for s in rng.integers(n // 10, n - n // 10, n_shifts)], 1)
        out[name] = {"unit": best, "r_search": float(r_search[best]),
                     "r_test": float(np.sign(r_search[best]) * r_test),
                     "null": float(np.abs(correlations(units, shifted)).max())}
    return out


def train_charlm(seed, text, search_lines, test_lines, epochs=20, probe_epochs=None, n_samples=200,
                 **train_kw):
    """Train one character-level LSTM language model (:func:`lm.train_lm` on ``text`` of
    :func:`load_chars`; ``train_kw``: its keywords and the model's), probe its samples before
    training and after each epoch of ``probe_epochs`` (default: every epoch), and run
    :func:`unit_search` on the trained model and on its initialisation. Returns ``train_lm``'s dict
    with ``samples`` ({epoch: probe}, epoch 0 the initialisation), ``heldout_ppl_untrained``,
    ``search`` and ``search_untrained``; ``model`` is the trained model."""
    model_kw = {k: train_kw.pop(k) for k in ("embed_dim", "hidden") if k in train_kw}
    probe_epochs = set(range(1, epochs + 1) if probe_epochs is None else probe_epochs)
    V = len(text["chars"])
    probe = sample_probe(text["chars"], text["lines"][:text["n_train"]], n_samples)
    epoch = iter(range(1, epochs + 1))
    untrained = initial_model(seed, V, cell="lstm", **model_kw)
    samples = {0: probe(untrained)}

    def some_epochs(model):
        k = next(epoch)
        if k in probe_epochs:
            samples[k] = probe(model)

    run = lm.train_lm(seed, text["train_ids"], text["heldout_ids"], epochs=epochs, probe=some_epochs,
                      cell="lstm", **model_kw, **train_kw)
    del run["probes"]
    run["samples"] = samples
    run["heldout_ppl_untrained"] = lm.perplexity(untrained, text["heldout_ids"])
    run["search"] = unit_search(run["model"], text["stoi"], search_lines, test_lines, seed=seed)
    run["search_untrained"] = unit_search(untrained, text["stoi"], search_lines, test_lines, seed=seed)
    return run
