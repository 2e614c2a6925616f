"""Chapter 5, "Decoding done properly": answers of any length that end with an end symbol, padding
masked in the loss and in attention, and the runs that the section measures.

The model is the chapter's ``seq2seq_study.Seq2Seq`` with attention, with two changes: the encoder
reads right-padded questions as packed sequences (so that the padding never enters its states), and
the decoder's vocabulary has one more symbol, the end symbol ``$``.

``beam_search`` is the model-driven beam search of the section. The page imports it and shows its
results only: assignment 5 grades a beam search, so its code must not reach the site
(``tests/test_no_leaks.py`` checks this; ``tests/test_decoding.py`` checks that it agrees with the
assignment's reference on random tables).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import course  # noqa: E402
import seq2seq_study as study  # noqa: E402

from autograder.tasks import ADDITION_VOCAB, START  # noqa: E402

PAD = ADDITION_VOCAB.pad
EOS = len(ADDITION_VOCAB)                      # 13: a symbol of the decoder only
OUT_VOCAB = EOS + 1
ITOS = ADDITION_VOCAB.itos + ["$"]


# ---------------------------------------------------------------------------------------------
# Data: right-padded questions, answers that end with the end symbol


def eos_problems(digits: int = 2) -> tuple[list[str], list[str]]:
    """Every problem a+b with 0 <= a, b < 10**digits, in a fixed order, and its answer."""
    qs = [f"{a}+{b}" for a in range(10**digits) for b in range(10**digits)]
    return qs, [str(eval(q)) for q in qs]  # noqa: S307 - our own digits


def encode_questions(questions: list[str], width: int, reverse: bool = True) -> torch.Tensor:
    """(N, width) question ids, right-padded with PAD; ``reverse`` reverses each question's characters
    (the padding stays on the right)."""
    return torch.from_numpy(ADDITION_VOCAB.encode([q[::-1] if reverse else q for q in questions], width))


def encode_answers(answers: list[str], width: int) -> torch.Tensor:
    """(N, width) target ids: start symbol, the answer's digits, EOS, then PAD (never predicted)."""
    out = torch.full((len(answers), width), PAD, dtype=torch.long)
    for row, a in enumerate(answers):
        ids = [START] + [ADDITION_VOCAB.stoi[c] for c in a] + [EOS]
        out[row, : len(ids)] = torch.tensor(ids)
    return out


def decode(ids) -> list[str]:
    """Token ids -> strings, up to and including the first EOS (shown as $); PAD is dropped."""
    out = []
    for row in np.atleast_2d(np.asarray(ids)):
        text = ""
        for i in row:
            if i == PAD:
                continue
            text += ITOS[i]
            if i == EOS:
                break
        out.append(text)
    return out


def split(digits: int = 2, n_test: int = 2000, seed: int = 16):
    """A fixed random split of every problem into a test set of n_test and a training set."""
    qs, ans = eos_problems(digits)
    order = np.random.default_rng(seed).permutation(len(qs))
    test, train = order[:n_test], order[n_test:]
    return [qs[i] for i in train], [ans[i] for i in train], [qs[i] for i in test], [ans[i] for i in test]


# ---------------------------------------------------------------------------------------------
# The model


class PackedEncoder(study.Encoder):
    """The chapter's encoder on right-padded questions, read as packed sequences: the LSTM stops at
    each question's last symbol, its final state is the state there, and the states h_s at padding
    positions are zero (and masked by the attention)."""

    def forward(self, src):
        lengths = (src != PAD).sum(1)
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(src), lengths, batch_first=True,
                                                   enforce_sorted=False)
        states, final = self.lstm(packed)
        states, _ = nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=src.shape[1])
        return states, final


class EosSeq2Seq(study.Seq2Seq):
    """seq2seq_study.Seq2Seq with attention, a packed encoder and an output vocabulary with EOS."""

    def __init__(self, *, emb_dim: int = 16, hidden: int = 64):
        super().__init__(emb_dim=emb_dim, hidden=hidden, attention=True)
        self.encoder = PackedEncoder(emb_dim, hidden)
        self.decoder.embed = nn.Embedding(OUT_VOCAB, emb_dim)
        self.decoder.out = nn.Linear(2 * hidden, OUT_VOCAB)


def masked_loss(logits, tgt_out):
    """Cross-entropy averaged over the real target tokens (PAD ignored)."""
    return nn.functional.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)


@torch.no_grad()
def greedy(model, src, max_len: int) -> torch.Tensor:
    """Greedy decoding that stops at EOS, batched: (N, max_len) ids, PAD after each row's EOS.
    The loop ends as soon as every row has written EOS."""
    h_all, state = model.encoder(src)
    token = torch.full((len(src), 1), START)
    done = torch.zeros(len(src), dtype=torch.bool)
    out = torch.full((len(src), max_len), PAD)
    for t in range(max_len):
        logits, state = model.decoder(token, state, h_all, src == PAD)
        token = logits.argmax(-1)                                   # (N, 1)
        out[:, t] = torch.where(done, PAD, token[:, 0])
        done |= token[:, 0] == EOS
        if done.all():
            break
    return out


@torch.no_grad()
def own_prefix_logits(model, src, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy decoding for max_len steps without stopping: the ids fed back and every step's logits."""
    h_all, state = model.encoder(src)
    token = torch.full((len(src), 1), START)
    ids, logits_all = [], []
    for _ in range(max_len):
        logits, state = model.decoder(token, state, h_all, src == PAD)
        token = logits.argmax(-1)
        ids.append(token)
        logits_all.append(logits)
    return torch.cat(ids, 1), torch.cat(logits_all, 1)


# ---------------------------------------------------------------------------------------------
# Training


def train(*, seed: int, steps: int = 1200, hidden: int = 32, batch: int = 128, lr: float = 3e-2,
          eval_every: int = 100, digits: int = 2, sampling: float = 0.0) -> dict:
    """One run on the addition task with EOS: Adam, lr decayed linearly to 0, masked loss.
    ``sampling``: scheduled sampling, the probability (reached linearly by the end of training) of
    feeding the model's own previous prediction instead of the true symbol, per position."""
    torch.manual_seed(seed)
    q_tr, a_tr, q_te, a_te = split(digits)
    width = 2 * digits + 1
    src_tr, tgt_tr = encode_questions(q_tr, width), encode_answers(a_tr, digits + 3)
    src_te, tgt_te = encode_questions(q_te, width), encode_answers(a_te, digits + 3)
    model = EosSeq2Seq(hidden=hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / steps)
    gen = torch.Generator().manual_seed(seed)                        # the batches: the same with or without sampling
    coins = torch.Generator().manual_seed(seed + 1)                  # scheduled sampling's draws
    losses, curve, window = [], [], []
    start = time.process_time()
    for step in range(1, steps + 1):
        pick = torch.randint(0, len(src_tr), (batch,), generator=gen)
        src, tgt = src_tr[pick], tgt_tr[pick]
        if sampling:                                                  # scheduled sampling, step by step
            p = sampling * step / steps
            h_all, state = model.encoder(src)
            token, per_step = tgt[:, :1], []
            for t in range(tgt.shape[1] - 1):
                step_logits, state = model.decoder(token, state, h_all, src == PAD)
                per_step.append(step_logits)
                own = step_logits.argmax(-1)                          # (N, 1), no gradient through it
                token = torch.where(torch.rand((len(src), 1), generator=coins) < p, own, tgt[:, t + 1:t + 2])
            logits = torch.cat(per_step, 1)
        else:
            logits = model(src, tgt[:, :-1])                          # teacher forcing
        loss = masked_loss(logits, tgt[:, 1:])
        window.append(course.apply_update(model, opt, loss, clip=5.0))
        sched.step()
        if step % eval_every == 0:
            losses.append(float(np.mean(window)))
            window = []
            curve.append(exact(model, src_te, tgt_te))
    model.decoder.weights = None                                     # a tensor of the graph: not picklable
    return {"seed": seed, "sampling": sampling, "model": model, "loss": losses, "curve": curve,
            "cpu_s": time.process_time() - start}


def exact(model, src, tgt) -> float:
    """Exact match of greedy decoding with EOS: every symbol up to and including EOS."""
    guess = greedy(model, src, tgt.shape[1] - 1)
    return float((guess == tgt[:, 1:]).all(1).float().mean())


# ---------------------------------------------------------------------------------------------
# Beam search on the model


def table_step(logp: np.ndarray):
    """A step function for ``beam_search`` that reads a table logp[t, prev, next] (no state)."""
    def step(state, last, t):
        return logp[t, last], state
    return step, None, lambda state, keep: state


def model_step(model, src_row: torch.Tensor):
    """A step function for ``beam_search`` that runs the decoder on one question (src_row: (S,)).
    The state is the decoder's (h, c) for every hypothesis of the beam."""
    with torch.no_grad():
        h_all, final = model.encoder(src_row[None])

    def step(state, last, t):
        n = len(last)
        with torch.no_grad():
            logits, new = model.decoder(torch.as_tensor(last)[:, None], state, h_all.expand(n, -1, -1),
                                        (src_row == PAD)[None].expand(n, -1))
        return torch.log_softmax(logits[:, 0].double(), -1).numpy(), new

    def select(state, keep):
        keep = torch.as_tensor(keep)
        return tuple(s[:, keep] for s in state)

    return step, final, select


def beam_search(step, state, select, start: int, eos: int, width: int, max_len: int, alpha: float):
    """Beam search with length normalisation; see the page for the algorithm. Returns the best
    complete hypothesis (tokens without the start symbol, as a numpy array) and its normalised score."""
    live_tokens = np.zeros((1, 0), dtype=np.int64)       # (B, t) tokens of the live hypotheses
    live_sums = np.zeros(1)
    last = np.array([start])
    finished = []                                          # (tokens, summed log-probability)
    for t in range(max_len):
        logp, state = step(state, last, t)                  # (B, V)
        cand = (live_sums[:, None] + logp).ravel()
        order = np.argsort(-cand, kind="stable")[:width]
        parent, token = np.divmod(order, logp.shape[1])
        ended = token == eos
        for k in np.flatnonzero(ended):
            finished.append((np.append(live_tokens[parent[k]], eos), cand[order[k]]))
        go_on = ~ended
        if not go_on.any():
            break
        live_tokens = np.concatenate([live_tokens[parent[go_on]], token[go_on, None]], 1)
        live_sums = cand[order[go_on]]
        last = token[go_on]
        state = select(state, parent[go_on])
    else:
        finished += list(zip(live_tokens, live_sums, strict=True))
    best = max(finished, key=lambda hyp: hyp[1] / len(hyp[0]) ** alpha)
    return best[0].astype(np.int64), float(best[1] / len(best[0]) ** alpha)


def train_and_beam(*, widths: tuple = (), alpha: float = 0.7, n_beam: int = 1000, **train_kw) -> dict:
    """``train(**train_kw)``, then the exact match of beam search of each width on the first n_beam
    test problems (the page's greedy-versus-beam comparison; width 1 is greedy decoding)."""
    run = train(**train_kw)
    _, _, q_te, _ = split()
    src = encode_questions(q_te[:n_beam], 5)
    run["beam"] = {w: beam_decode(run["model"], src, width=w, max_len=4, alpha=alpha) for w in widths}
    return run


def beam_decode(model, src, *, width: int, max_len: int, alpha: float) -> torch.Tensor:
    """Beam search on every question of src: (N, max_len) ids, PAD after EOS."""
    out = torch.full((len(src), max_len), PAD)
    for n in range(len(src)):
        step, state, select = model_step(model, src[n])
        tokens, _ = beam_search(step, state, select, START, EOS, width, max_len, alpha)
        out[n, : len(tokens)] = torch.from_numpy(tokens)
    return out


def all_complete(model, src_row: torch.Tensor, max_len: int, alpha: float):
    """Every complete hypothesis (ended by EOS, or of max_len symbols) and its normalised score,
    by enumeration of the whole tree, one decoder call per level. Returns (list of tokens, scores)."""
    step, state, select = model_step(model, src_row)
    prefixes, sums, last = [np.zeros(0, dtype=np.int64)], np.zeros(1), np.array([START])
    done_tokens, done_sums = [], []
    for t in range(max_len):
        logp, state = step(state, last, t)
        V = logp.shape[1]
        parent, token = np.divmod(np.arange(len(prefixes) * V), V)
        cand = sums[parent] + logp.ravel()
        new_prefixes = [np.append(prefixes[p], k) for p, k in zip(parent, token, strict=True)]
        ended = token == EOS
        if t == max_len - 1:
            ended[:] = True
        done_tokens += [new_prefixes[i] for i in np.flatnonzero(ended)]
        done_sums += list(cand[ended])
        keep = np.flatnonzero(~ended)
        prefixes, sums, last = [new_prefixes[i] for i in keep], cand[keep], token[keep]
        state = select(state, parent[keep])
    lengths = np.array([len(x) for x in done_tokens])
    return done_tokens, np.array(done_sums) / lengths ** alpha
