"""Chapter 5's date task: human-written dates to ISO 8601, the task on which attention's alignment means
something (after the date-format data set of Saito's *Deep Learning from Scratch 2*, ch. 8).

* **Data.** :func:`date_data` writes dates from 1950-01-01 to 2049-12-31 in :data:`FORMATS` (``"september
  27, 1994"``, ``"9/27/94"``, ``"Tue, Sep 27, 1994"``, ``"27.09.1994"``, ...); the target is
  always ``"1994-09-27"``. Every string is assembled from pieces that know which field they hold, so the
  generator also returns, for every source character, the field it belongs to (:data:`GROUPS`: year,
  month, day, weekday, or none). Training and test sets are drawn from disjoint sets of *dates*, so no
  test date appears in training in any format.
* **Model.** :class:`DateSeq2Seq`: the chapter's attention decoder (``seq2seq_study.Decoder`` with
  ``attention=True``: dot score, read-out ``[d_t, v_t]``), with this task's vocabulary, after an encoder
  that is a one-way or a bidirectional LSTM; the bidirectional encoder's states are
  ``h_s = [forward h_s, backward h_s]``. Sources are right-padded and packed, so neither direction ever
  reads padding.
* **Measurements.** :func:`train_dates` (one run, for ``course.run_jobs``) returns exact match, the
  learning curve, and :func:`group_mass`: for every format and output position, the attention mass on
  each group of source characters, averaged over the test examples. The alignment score of an output
  field is the mass its output characters put on the source characters that hold that field.
"""

from __future__ import annotations

import calendar
import datetime as dt
import time

import course
import numpy as np
import seq2seq_study as study
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# ---------------------------------------------------------------------------------------------
# Vocabulary and formats

PAD_CHAR, START_CHAR = "·", "_"
ITOS = [PAD_CHAR, START_CHAR] + list(" ,./-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
STOI = {c: i for i, c in enumerate(ITOS)}
PAD, START, VOCAB_SIZE = STOI[PAD_CHAR], STOI[START_CHAR], len(ITOS)
assert (PAD, START) == (study.PAD, study.START), "DateSeq2Seq uses Seq2Seq's forward and generate"

GROUPS = ("year", "month", "day", "weekday", "none")      # what a source character holds
GROUP_ID = {g: k for k, g in enumerate(GROUPS)}
TARGET_FIELDS = ("year",) * 4 + ("-",) + ("month",) * 2 + ("-",) + ("day",) * 2   # "1994-09-27", by position
FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)  # two-digit years: 50-99 -> 19xx, 00-49 -> 20xx

MONTHS = [calendar.month_name[m].lower() for m in range(1, 13)]
DAYS = [calendar.day_name[k].lower() for k in range(7)]  # Monday = 0, as date.weekday()


def _long(d):
    return [(MONTHS[d.month - 1], "month"), (" ", "none"), (str(d.day), "day"), (", ", "none"),
            (str(d.year), "year")]


def _upper(pieces):
    return [(text.upper(), group) for text, group in pieces]


FORMATS = {
    # name: date -> [(text, group)], the pieces of the written date
    "september 27, 1994": _long,
    "September 27, 1994": lambda d: [(p.capitalize(), g) for p, g in _long(d)],
    "SEPTEMBER 27, 1994": lambda d: _upper(_long(d)),
    "Sep 27, 1994": lambda d: [(MONTHS[d.month - 1][:3].capitalize(), "month")] + _long(d)[1:],
    "27 september 1994": lambda d: [(str(d.day), "day"), (" ", "none"), (MONTHS[d.month - 1], "month"),
                                    (" ", "none"), (str(d.year), "year")],
    "27 SEP 1994": lambda d: [(str(d.day), "day"), (" ", "none"), (MONTHS[d.month - 1][:3].upper(), "month"),
                              (" ", "none"), (str(d.year), "year")],
    "9/27/94": lambda d: [(str(d.month), "month"), ("/", "none"), (str(d.day), "day"), ("/", "none"),
                          (f"{d.year % 100:02d}", "year")],
    "27.09.1994": lambda d: [(f"{d.day:02d}", "day"), (".", "none"), (f"{d.month:02d}", "month"), (".", "none"),
                             (str(d.year), "year")],
    "Tue, Sep 27, 1994": lambda d: [(DAYS[d.weekday()][:3].capitalize(), "weekday"), (", ", "none"),
                                    (MONTHS[d.month - 1][:3].capitalize(), "month")] + _long(d)[1:],
}
FORMAT_NAMES = list(FORMATS)


def write(date: dt.date, fmt: str) -> tuple[str, list[str]]:
    """The date written in format ``fmt``, and the group (a name in :data:`GROUPS`) of each character."""
    text, groups = "", []
    for piece, group in FORMATS[fmt](date):
        text += piece
        groups += [group] * len(piece)
    return text, groups


def iso(date: dt.date) -> str:
    return date.isoformat()                                   # "1994-09-27"


def encode(texts: list[str], width: int) -> np.ndarray:
    """Character ids (N, width), right-padded with PAD."""
    ids = np.full((len(texts), width), PAD, dtype=np.int64)
    for n, text in enumerate(texts):
        ids[n, : len(text)] = [STOI[c] for c in text]
    return ids


def decode(ids) -> str:
    return "".join(ITOS[i] for i in ids if i != PAD)


def date_data(n_train: int = 20_000, n_test: int = 1_800, *, seed: int = 1994, test_dates: float = 0.1) -> dict:
    """A training set and a test set of (written date, ISO date) pairs, every format equally often.

    The dates of the range are split at random: ``test_dates`` of them are test dates, the rest training
    dates, so no test date (in any format, hence no test string) is in the training set. Each example
    is a random date of its set in a format taken in turn. Returns the strings, their format index,
    source ids (N, S) right-padded, target ids (N, 11) = start symbol + ISO date, and source groups
    (N, S) (ids in :data:`GROUPS`, -1 on padding), for ``"train"`` and ``"test"``.
    """
    rng = np.random.default_rng(seed)
    n_days = (LAST - FIRST).days + 1
    is_test = np.zeros(n_days, dtype=bool)
    is_test[rng.choice(n_days, size=int(test_dates * n_days), replace=False)] = True
    out = {}
    for part, n, pool in (("train", n_train, np.flatnonzero(~is_test)), ("test", n_test, np.flatnonzero(is_test))):
        days = rng.choice(pool, size=n, replace=True)
        fmt = np.arange(n) % len(FORMATS)
        dates = [FIRST + dt.timedelta(days=int(k)) for k in days]
        written = [write(d, FORMAT_NAMES[f]) for d, f in zip(dates, fmt, strict=True)]
        out[part] = {"dates": dates, "format": fmt, "text": [w[0] for w in written],
                     "groups": [w[1] for w in written], "target": [iso(d) for d in dates]}
    width = max(len(t) for part in out.values() for t in part["text"])
    for part in out.values():
        part["src"] = torch.from_numpy(encode(part["text"], width))
        part["tgt"] = torch.from_numpy(encode([START_CHAR + t for t in part["target"]], 11))
        groups = np.full((len(part["text"]), width), -1, dtype=np.int64)
        for n, g in enumerate(part["groups"]):
            groups[n, : len(g)] = [GROUP_ID[x] for x in g]
        part["group_ids"] = groups
    return out


# ---------------------------------------------------------------------------------------------
# The model


class DateEncoder(nn.Module):
    """E_x, then a one-way or bidirectional LSTM over the source. States (N, S, H) or (N, S, 2H) with
    [forward, backward] on the feature axis; the final state for the decoder: (h, c) of the forward
    direction after x_S, concatenated with those of the backward direction after x_1 when bidirectional.

    Training batches hold sources of one length (no padding: the LSTM's fast path). A padded batch is
    packed, so that neither direction reads padding; its states are 0 there."""

    def __init__(self, emb_dim: int, hidden: int, bidirectional: bool):
        super().__init__()
        self.bidirectional = bidirectional
        self.embed = nn.Embedding(VOCAB_SIZE, emb_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(emb_dim, hidden, batch_first=True, bidirectional=bidirectional)

    def forward(self, src):
        lengths = (src != PAD).sum(1)
        if bool((lengths == src.shape[1]).all()):
            states, (h, c) = self.lstm(self.embed(src))
        else:
            packed = pack_padded_sequence(self.embed(src), lengths, batch_first=True, enforce_sorted=False)
            states, (h, c) = self.lstm(packed)
            states, _ = pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        if self.bidirectional:                              # (2, N, H) -> (1, N, 2H)
            h, c = (torch.cat([x[0], x[1]], dim=-1)[None] for x in (h, c))
        return states, (h, c)


def attention_decoder(emb_dim: int, state: int) -> study.Decoder:
    """The chapter's attention decoder (``seq2seq_study.Decoder``, dot score) with this task's vocabulary:
    its embedding and read-out are rebuilt for :data:`VOCAB_SIZE` symbols."""
    decoder = study.Decoder(emb_dim, state, attention=True)
    decoder.embed = nn.Embedding(VOCAB_SIZE, emb_dim)
    decoder.out = nn.Linear(2 * state, VOCAB_SIZE)              # [d_t, v_t] -> logits
    return decoder


class DateSeq2Seq(study.Seq2Seq):
    """Encoder (one-way or bidirectional, ``hidden`` units per direction) and the attention decoder, whose
    state has the encoder states' width (H, or 2H when bidirectional) so that e_{t,s} = d_t . h_s.
    Teacher-forced ``forward`` and greedy ``generate`` are the chapter's (``seq2seq_study.Seq2Seq``):
    this vocabulary puts padding and the start symbol at the same ids."""

    def __init__(self, *, bidirectional: bool, hidden: int, emb_dim: int = 16):
        nn.Module.__init__(self)                               # not Seq2Seq's modules: these
        self.encoder = DateEncoder(emb_dim, hidden, bidirectional)
        self.decoder = attention_decoder(emb_dim, (1 + bidirectional) * hidden)

    @torch.no_grad()
    def attention(self, src, n_steps: int = 10):
        """Greedy outputs (N, T) and the weights alpha (N, T, S) with which they were written."""
        guess = self.generate(src, n_steps)
        self(src, torch.cat([torch.full((len(src), 1), START), guess[:, :-1]], dim=1))
        return guess, self.decoder.weights


def matched_hidden(bi_hidden: int, emb_dim: int = 16) -> int:
    """The one-way encoder's width whose whole model has the parameter count closest to the bidirectional
    model's with ``bi_hidden`` units per direction."""
    target = course.n_params(DateSeq2Seq(bidirectional=True, hidden=bi_hidden, emb_dim=emb_dim))
    return min(range(bi_hidden, 3 * bi_hidden),
               key=lambda h: abs(course.n_params(DateSeq2Seq(bidirectional=False, hidden=h, emb_dim=emb_dim)) - target))


# ---------------------------------------------------------------------------------------------
# Measurements and training


def group_mass(weights: torch.Tensor, group_ids: np.ndarray) -> np.ndarray:
    """(N, T, G): for each example and output step, the attention mass on each group of source characters
    (:data:`GROUPS`); padding (group -1) holds none."""
    onehot = np.zeros(group_ids.shape + (len(GROUPS),))
    rows, cols = np.nonzero(group_ids >= 0)
    onehot[rows, cols, group_ids[rows, cols]] = 1.0
    return np.einsum("nts,nsg->ntg", weights.double().numpy(), onehot)


def alignment(mass: np.ndarray) -> dict[str, np.ndarray]:
    """The alignment score of each output field from a (..., T, G) group mass: the mean over the field's
    output positions of the mass on the source characters that hold that field."""
    return {field: mass[..., [t for t, f in enumerate(TARGET_FIELDS) if f == field], GROUP_ID[field]].mean(-1)
            for field in ("year", "month", "day")}


DISPLAY_FORMATS = ("Tue, Sep 27, 1994", "27 SEP 1994", "9/27/94", "27.09.1994")


def display_rows(test: dict) -> list[int]:
    """The first test example of each format in :data:`DISPLAY_FORMATS` (the examples drawn in the chapter)."""
    return [int(np.flatnonzero(test["format"] == FORMAT_NAMES.index(f))[0]) for f in DISPLAY_FORMATS]


def by_length(part: dict) -> dict[int, np.ndarray]:
    """Row indices of ``part`` grouped by source length: a batch of one length has no padding."""
    lengths = (part["src"] != PAD).sum(1).numpy()
    return {int(n): np.flatnonzero(lengths == n) for n in np.unique(lengths)}


def evaluate(model: DateSeq2Seq, part: dict) -> dict:
    """Greedy outputs of every example (one length at a time, as strings), exact match (N,), the group
    mass (N, T, G) of :func:`group_mass`, and the weights alpha (T, S_n) of every example without padding."""
    n = len(part["src"])
    correct, mass, weights, guesses = np.zeros(n, dtype=bool), np.zeros((n, 10, len(GROUPS))), [None] * n, [""] * n
    for length, rows in by_length(part).items():
        src = part["src"][rows, :length]
        guess, alpha = model.attention(src)
        correct[rows] = (guess == part["tgt"][rows, 1:]).all(1).numpy()
        mass[rows] = group_mass(alpha, part["group_ids"][rows, :length])
        for k, row in enumerate(rows):
            weights[row], guesses[row] = alpha[k].numpy(), decode(guess[k].tolist())
    return {"correct": correct, "mass": mass, "weights": weights, "guess": guesses}


def train_dates(*, seed: int, bidirectional: bool, hidden: int, steps: int = 1000, batch: int = 64,
                lr: float = 5e-3, eval_every: int = 100, n_curve: int = 300, keep_model: bool = False,
                **data_kw) -> dict:
    """One run: ``seed`` fixes the weights and the batches; the data set is the same for every run.

    Each batch holds ``batch`` training examples of one source length (a length drawn in proportion to
    its number of examples), so no batch has padding. Returns the test exact match at the end
    (``final``) and per format (``by_format``), the curve (exact match on the first ``n_curve`` test
    examples, and the mean training loss, every ``eval_every`` updates), the group mass (formats, T, G)
    averaged over each format's test examples, and the attention weights and greedy outputs of the
    :func:`display_rows` examples.
    """
    torch.manual_seed(seed)
    data = date_data(**data_kw)
    train, test = data["train"], data["test"]
    groups = list(by_length(train).items())
    counts = torch.tensor([len(rows) for _, rows in groups], dtype=torch.float64)
    curve_part = {key: test[key][:n_curve] for key in ("src", "tgt", "group_ids")}
    model = DateSeq2Seq(bidirectional=bidirectional, hidden=hidden)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    curve, losses, window = [], [], []
    start = time.process_time()
    for step in range(1, steps + 1):
        length, rows = groups[int(torch.multinomial(counts, 1, generator=batches))]
        pick = torch.from_numpy(rows)[torch.randint(0, len(rows), (batch,), generator=batches)]
        src, tgt = train["src"][pick, :length], train["tgt"][pick]
        logits = model(src, tgt[:, :-1])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten())
        window.append(course.apply_update(model, optimiser, loss, clip=5.0))
        if step % eval_every == 0:
            curve.append(float(evaluate(model, curve_part)["correct"].mean()))
            losses.append(float(np.mean(window)))
            window = []
    result = evaluate(model, test)
    correct, fmt = result["correct"], test["format"]
    rows = display_rows(test)
    out = {"seed": seed, "bidirectional": bidirectional, "hidden": hidden, "params": course.n_params(model),
           "final": float(correct.mean()),
           "by_format": np.array([correct[fmt == f].mean() for f in range(len(FORMATS))]),
           "mass": np.array([result["mass"][fmt == f].mean(0) for f in range(len(FORMATS))]),
           "curve": np.array(curve), "loss": np.array(losses), "eval_every": eval_every,
           "examples": [result["weights"][r] for r in rows], "example_guess": [result["guess"][r] for r in rows],
           "cpu_s": time.process_time() - start}
    if keep_model:
        out["model"] = model
    return out
