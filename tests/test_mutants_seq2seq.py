"""Assignment 05_seq2seq: deliberately wrong answers lose exactly their own points, with a diagnosis.

Each mutant is the source of one function as a student might write it, executed in a namespace
that holds the reference's set-up and solution cells (executed in that namespace, so that the
composites look up ``encode`` and ``decoder_step`` there, as in a student's notebook). Grading must
fail that function and only it: the composites are graded with the reference versions of the
functions they call. Correct answers written differently must get full marks.

The four compared functions are graded on every mutant; ``train_model`` (a training run of a few
seconds) is graded in the tests marked ``slow``: the reference passes the judge, and broken
training loops fail it. What ``train_model`` returns is checked without training (fast tests).
"""

from __future__ import annotations

import functools
import itertools
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import student_namespace

from autograder.checks import CheckFailed
from autograder.hidden_tests import grade_namespace, judge_run
from autograder.reference import load_reference, source_notebook
from autograder.specs import get_spec
from autograder.specs import seq2seq as spec_module
from autograder.tasks import ADDITION_VOCAB, START, heldout_addition

ROOT = Path(__file__).parents[1]
ASSIGNMENT = "05_seq2seq"
SEED = 2024
FUNCTIONS = tuple(get_spec(ASSIGNMENT).functions)
TRAINING = "train_model"
COMPARED = tuple(f for f in FUNCTIONS if f != TRAINING)


@pytest.fixture(scope="module")
def ref():
    return load_reference(ASSIGNMENT, root=ROOT)


@functools.cache
def _grade_source(source: str, seed: int, only: tuple[str, ...]) -> dict:
    ns = student_namespace(ASSIGNMENT)
    exec(compile(textwrap.dedent(source), "<mutant>", "exec"), ns)  # noqa: S102
    return grade_namespace(ASSIGNMENT, ns, seed=seed, only=only)


def grade_with(source: str, *, seed: int = SEED, only: tuple[str, ...] = COMPARED) -> dict:
    """Grade the reference namespace with ``source`` (one or more functions) executed in it.

    Cached per source, seed and selection: the outcomes are read, never modified.
    """
    return _grade_source(source, seed, only)


# ---------------------------------------------------------------------------------------------
# Mutants: (function, label, source, expected words in the diagnosis or None, words in the message)

ENCODE_MUTANTS = [
    ("outputs instead of the final state", """
        def encode(src, embedding, encoder):
            outputs, _ = encoder(embedding(src))
            return outputs
     """, "outputs at every step", None),
    ("first step's state", """
        def encode(src, embedding, encoder):
            outputs, _ = encoder(embedding(src))
            return outputs[:, 0].unsqueeze(0)
     """, "state after the *first* step", None),
    ("first step's state, squeezed", """
        def encode(src, embedding, encoder):
            outputs, _ = encoder(embedding(src))
            return outputs[:, 0]
     """, "first step, without the layer axis", None),
    ("layer axis dropped", """
        def encode(src, embedding, encoder):
            return encoder(embedding(src))[1][0]
     """, "dropped the first axis", None),
    ("both values returned", """
        def encode(src, embedding, encoder):
            return encoder(embedding(src))
     """, "both values of nn.GRU", None),
    ("one-hot instead of the embedding", """
        def encode(src, embedding, encoder):
            x = torch.nn.functional.one_hot(src, embedding.num_embeddings).to(torch.float64)
            return encoder(x)[1]
     """, "one-hot vectors", None),
    ("raw ids", """
        def encode(src, embedding, encoder):
            return encoder(src.unsqueeze(-1).double())[1]
     """, None, "raised"),
    ("time-major input", """
        def encode(src, embedding, encoder):
            return encoder(embedding(src.T))[1]
     """, "time-major", None),
    ("time-major by transpose after embedding", """
        def encode(src, embedding, encoder):
            return encoder(embedding(src).permute(1, 0, 2))[1]
     """, "time-major", None),
    ("question read backwards", """
        def encode(src, embedding, encoder):
            return encoder(embedding(torch.flip(src, dims=[1])))[1]
     """, "backwards", None),
]

DECODER_STEP_MUTANTS = [
    ("state not fed", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token)[:, None])
            return proj(out[:, 0]), new_state
     """, "not passed to the decoder", None),
    ("probabilities", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token)[:, None], state)
            return torch.softmax(proj(out[:, 0]), dim=1), new_state
     """, "probabilities", None),
    ("softmax over the batch", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token)[:, None], state)
            return torch.softmax(proj(out[:, 0]), dim=0), new_state
     """, "batch axis", None),
    ("log-probabilities", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token)[:, None], state)
            return torch.nn.functional.log_softmax(proj(out[:, 0]), dim=-1), new_state
     """, "log-probabilities", None),
    ("old state returned", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, _ = decoder(embedding(token)[:, None], state)
            return proj(out[:, 0]), state
     """, "returned the old state", None),
    ("logits from the old state", """
        def decoder_step(token, state, embedding, decoder, proj):
            _, new_state = decoder(embedding(token)[:, None], state)
            return proj(state[0]), new_state
     """, "come from the old state", None),
    ("time axis not squeezed", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token).unsqueeze(1), state)
            return proj(out), new_state
     """, "(N, 1, V)", None),
    ("state squeezed", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token)[:, None], state)
            return proj(out[:, 0]), new_state.squeeze(0)
     """, "first axis of the new state", None),
    ("outputs in the wrong order", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token)[:, None], state)
            return new_state, proj(out[:, 0])
     """, "(state, logits)", None),
    ("one-hot instead of the embedding", """
        def decoder_step(token, state, embedding, decoder, proj):
            x = torch.nn.functional.one_hot(token, embedding.num_embeddings).double()[:, None]
            out, new_state = decoder(x, state)
            return proj(out[:, 0]), new_state
     """, "one-hot vectors", None),
    ("unbatched call (no time axis)", """
        def decoder_step(token, state, embedding, decoder, proj):
            out, new_state = decoder(embedding(token), state)
            return proj(out), new_state
     """, None, "raised"),
]

GREEDY_MUTANTS = [
    ("start symbol fed every step", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            start = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(start, state, embedding_dec, decoder, proj)
                out.append(logits.argmax(-1))
            return torch.stack(out, 1)
     """, "start symbol at every step", None),
    ("state not updated", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            context = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, _ = decoder_step(token, context, embedding_dec, decoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out, 1)
     """, "state is not updated", None),
    ("start symbol in the output", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            tokens = [torch.full((src.shape[0],), START, dtype=torch.long)]
            for _ in range(max_len):
                logits, state = decoder_step(tokens[-1], state, embedding_dec, decoder, proj)
                tokens.append(logits.argmax(-1))
            return torch.stack(tokens, 1)
     """, "start symbol is in the output", None),
    ("start symbol in the output, one step short", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            tokens = [torch.full((src.shape[0],), START, dtype=torch.long)]
            while len(tokens) < max_len:
                logits, state = decoder_step(tokens[-1], state, embedding_dec, decoder, proj)
                tokens.append(logits.argmax(-1))
            return torch.stack(tokens, 1)
     """, "starts with the start symbol", None),
    ("logits returned", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                token = logits.argmax(-1)
                out.append(logits)
            return torch.stack(out, 1)
     """, "returned the logits", None),
    ("time-major output", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out)
     """, "time-major", None),
    ("decoder embeds with embedding_enc", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_enc, decoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out, 1)
     """, "embedded with `embedding_enc`", None),
    ("context not used", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            encode(src, embedding_enc, encoder)
            state = torch.zeros(1, src.shape[0], decoder.hidden_size, dtype=torch.float64)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out, 1)
     """, "does not start from the context", None),
    ("one step too few", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len - 1):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out, 1)
     """, "one step too few", None),
    ("sampling instead of argmax", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                token = torch.multinomial(torch.softmax(logits, -1), 1)[:, 0]
                out.append(token)
            return torch.stack(out, 1)
     """, None, None),
    ("float ids", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = torch.zeros(src.shape[0], max_len)
            for t in range(max_len):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                token = logits.argmax(-1)
                out[:, t] = token
            return out
     """, "floating-point numbers", None),
    ("embeddings swapped", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_dec, encoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_enc, decoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out, 1)
     """, "two embeddings are swapped", None),
    ("encoder and decoder swapped", """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            state = encode(src, embedding_enc, decoder)
            token = torch.full((src.shape[0],), START, dtype=torch.long)
            out = []
            for _ in range(max_len):
                logits, state = decoder_step(token, state, embedding_dec, encoder, proj)
                token = logits.argmax(-1)
                out.append(token)
            return torch.stack(out, 1)
     """, "encoder and the decoder are swapped", None),
]

LOSS_MUTANTS = [
    ("targets not shifted", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            logits = proj(out)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, :-1].reshape(-1))
     """, "not shifted", None),
    ("shift the wrong way", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, 1:]), encode(src, embedding_enc, encoder))
            logits = proj(out)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, :-1].reshape(-1))
     """, "wrong way", None),
    ("decoder reads tgt[:, 1:]", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, 1:]), encode(src, embedding_enc, encoder))
            logits = proj(out)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
     """, "decoder read tgt[:, 1:]", None),
    ("own predictions fed back", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            state = encode(src, embedding_enc, encoder)
            token = tgt[:, 0]
            losses = []
            for t in range(1, tgt.shape[1]):
                logits, state = decoder_step(token, state, embedding_dec, decoder, proj)
                losses.append(F.cross_entropy(logits, tgt[:, t]))
                token = logits.argmax(-1)
            return torch.stack(losses).mean()
     """, "not teacher forcing", None),
    ("summed over positions", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            logits = proj(out)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                                   reduction="sum")
     """, "summed the loss over all positions", None),
    ("summed over time", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            state = encode(src, embedding_enc, encoder)
            total = 0.0
            for t in range(tgt.shape[1] - 1):
                logits, state = decoder_step(tgt[:, t], state, embedding_dec, decoder, proj)
                total = total + F.cross_entropy(logits, tgt[:, t + 1])
            return total
     """, "summed the loss over time", None),
    ("softmax before cross_entropy", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            probs = torch.softmax(proj(out), dim=-1)
            return F.cross_entropy(probs.reshape(-1, probs.shape[-1]), tgt[:, 1:].reshape(-1))
     """, "softmax before cross_entropy", None),
    ("nll_loss on logits", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            logits = proj(out)
            return F.nll_loss(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
     """, "nll_loss on logits", None),
    ("padding ignored", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            logits = proj(out)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                                   ignore_index=0)
     """, "padding positions", None),
    ("context not used", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]))
            logits = proj(out)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
     """, "does not start from the context", None),
    ("logits not flattened", """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            return F.cross_entropy(proj(out), tgt[:, 1:])
     """, None, None),
]

# beam_search: the loop of the definition, with one thing changed in each mutant.
_BEAM = """
def beam_search(logp, start, eos, width, max_len, alpha):
    beam, complete = [([], start, 0.0)], []
    for t in range(max_len):
        cands = []
        for toks, last, total in beam:
            for nxt in range(logp.shape[2]):
                cands.append((toks + [nxt], nxt, total + {term}))
        cands.sort(key=lambda c: -c[2])
        {select}
        if not beam:
            break
    {final}
    toks, _, total = max(complete, key=lambda c: {key})
    return {result}
"""
GOOD_BEAM = {
    "term": "logp[t, last, nxt]",
    "select": "complete += [c for c in cands[:width] if c[1] == eos]; beam = [c for c in cands[:width] if c[1] != eos]",
    "final": "complete += beam",
    "key": "c[2] / len(c[0]) ** alpha",
    "result": "np.array(toks), total / len(toks) ** alpha",
}


def _beam(**changes: str) -> str:
    return _BEAM.format(**{**GOOD_BEAM, **changes})


BEAM_MUTANTS = [
    ("no length normalisation", _beam(key="c[2]", result="np.array(toks), total"),
     "sum / length ** alpha", None),
    ("chosen by the raw sum, normalised score returned", _beam(key="c[2]"), "chose the best hypothesis", None),
    ("not stopping at EOS", _beam(select="beam = cands[:width]"), "extend", None),
    ("finished beams kept and extended",
     _beam(select="complete += [c for c in cands[:width] if c[1] == eos]; beam = cands[:width]",
           final="complete += [c for c in beam if c[1] != eos]"), "set aside", None),
    ("probabilities added", _beam(term="np.exp(logp[t, last, nxt])"), "added probabilities", None),
    ("width unfinished hypotheses kept",
     _beam(select="complete += [c for c in cands[:width] if c[1] == eos]; "
                  "beam = [c for c in cands if c[1] != eos][:width]"), "unfinished hypotheses", None),
    ("length without the end token",
     _beam(key="c[2] / np.float64(len(c[0]) - (c[1] == eos)) ** alpha",
           result="np.array(toks), total / np.float64(len(toks) - (toks[-1] == eos)) ** alpha"),
     "count the end token", None),
    ("table read as logp[t, next, prev]", _beam(term="logp[t, nxt, last]"), "logp[t, next, prev]", None),
    ("raw sum returned", _beam(result="np.array(toks), total"), "returned the summed", None),
    ("start token returned", _beam(result="np.array([start] + toks), total / len(toks) ** alpha"),
     "start with the start token", None),
    ("end token left out", _beam(result="np.array(toks[:-1] if toks[-1] == eos else toks), "
                                        "total / len(toks) ** alpha"), "left the end token out", None),
    ("a list instead of an array", _beam(result="toks, total / len(toks) ** alpha"),
     None, "return a numpy array"),
]

MUTANTS = [
    (name, label, source, diagnosis, message)
    for name, table in (("encode", ENCODE_MUTANTS), ("decoder_step", DECODER_STEP_MUTANTS),
                        ("greedy_decode", GREEDY_MUTANTS), ("teacher_forcing_loss", LOSS_MUTANTS),
                        ("beam_search", BEAM_MUTANTS))
    for label, source, diagnosis, message in table
]

# Broken training runs (graded in the slow tests): each must fail the accuracy judge.
_TRAIN = """
def train_model(train_src, train_tgt, steps, seed):
    torch.manual_seed(seed)
    model = make_seq2seq(seed)
    params = [p for m in model.values() for p in m.parameters()]
    opt = torch.optim.Adam(params, lr={lr})
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / steps)
    for _ in range({steps}):
        idx = torch.randint(0, len(train_src), (128,))
        {loss}
        {zero_grad}
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        {step}
        sched.step()
{before_return}    return model
"""
GOOD_TRAIN = {
    "lr": "0.03",
    "steps": "steps",
    "loss": "loss = teacher_forcing_loss(train_src[idx], train_tgt[idx], **model)",
    "zero_grad": "opt.zero_grad()",
    "step": "opt.step()",
    "before_return": "",
}


def _train(**changes: str) -> str:
    return _TRAIN.format(**{**GOOD_TRAIN, **changes})


UNSHIFTED_LOSS = ("out, _ = model['decoder'](model['embedding_dec'](train_tgt[idx][:, :-1]), "
                  "encode(train_src[idx], model['embedding_enc'], model['encoder'])); "
                  "loss = F.cross_entropy(model['proj'](out).reshape(-1, VOCAB_SIZE), "
                  "train_tgt[idx][:, :-1].reshape(-1))")

TRAINING_MUTANTS = [
    ("no optimizer step", _train(step="pass")),
    ("targets not shifted", _train(loss=UNSHIFTED_LOSS)),
    ("learning rate far too small", _train(lr="1e-4")),
    ("returns a fresh, untrained model", _train(before_return="    model = make_seq2seq(seed + 1)\n")),
    ("a tenth of the steps", _train(steps="steps // 10")),
    ("gradients never cleared", _train(zero_grad="pass")),
]


def test_every_function_has_at_least_five_mutants() -> None:
    counts = {name: sum(m[0] == name for m in MUTANTS) for name in COMPARED}
    counts[TRAINING] = len(TRAINING_MUTANTS)
    assert all(n >= 5 for n in counts.values()), counts


@pytest.mark.parametrize(("name", "label", "source", "diagnosis", "message"), MUTANTS,
                         ids=[f"{m[0]}-{m[1]}" for m in MUTANTS])
def test_mutant_fails_only_its_own_function(name, label, source, diagnosis, message) -> None:
    results = grade_with(source)
    failed = sorted(k for k, v in results.items() if not v.passed)
    assert failed == [name], f"{label}: expected only {name} to fail, got {failed}: " + "; ".join(
        results[k].message for k in failed)
    outcome = results[name]
    if diagnosis is not None:
        assert outcome.diagnosis is not None and diagnosis in outcome.diagnosis, outcome.message
    if message is not None:
        assert message in outcome.message, outcome.message


def test_most_mutants_get_a_specific_diagnosis() -> None:
    """At least 80 % of all mutants are diagnosed; the training mutants count as undiagnosed (a
    judged function has no catalogue: its message states the accuracy reached and the bar)."""
    diagnosed = [grade_with(src)[name].diagnosis is not None for name, _, src, _, _ in MUTANTS]
    total = len(MUTANTS) + len(TRAINING_MUTANTS)
    assert sum(diagnosed) >= 0.8 * total, f"{sum(diagnosed)} of {total} diagnosed"


# ---------------------------------------------------------------------------------------------
# Correct answers written differently get full marks.

CORRECT_VARIANTS = {
    "encode: last output, explicit zero state": """
        def encode(src, embedding, encoder):
            h0 = torch.zeros(1, src.shape[0], encoder.hidden_size, dtype=torch.float64)
            outputs, _ = encoder(embedding(src), h0)
            return outputs[:, -1].unsqueeze(0).contiguous()
    """,
    "encode: one step at a time": """
        def encode(src, embedding, encoder):
            state = None
            for t in range(src.shape[1]):
                _, state = encoder(embedding(src[:, t:t + 1]), state)
            return state
    """,
    "decoder_step: proj on the new state, functional linear": """
        def decoder_step(token, state, embedding, decoder, proj):
            x = torch.nn.functional.embedding(token, embedding.weight).reshape(len(token), 1, -1)
            _, new_state = decoder(x, state)
            logits = torch.nn.functional.linear(new_state[0], proj.weight, proj.bias)
            return logits, new_state
    """,
    "greedy_decode: preallocated output under no_grad, keyword calls": """
        def greedy_decode(src, embedding_enc, encoder, embedding_dec, decoder, proj, max_len):
            with torch.no_grad():
                state = encode(src=src, embedding=embedding_enc, encoder=encoder)
                out = torch.empty(src.shape[0], max_len, dtype=torch.long)
                token = src.new_full((src.shape[0],), START)
                for t in range(max_len):
                    logits, state = decoder_step(token=token, state=state, embedding=embedding_dec,
                                                 decoder=decoder, proj=proj)
                    token = torch.max(logits, dim=1).indices
                    out[:, t] = token
            return out
    """,
    "teacher_forcing_loss: decoder_step loop, log_softmax and nll_loss": """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            state = encode(src, embedding_enc, encoder)
            log_probs = []
            for t in range(tgt.shape[1] - 1):
                logits, state = decoder_step(tgt[:, t], state, embedding_dec, decoder, proj)
                log_probs.append(torch.log_softmax(logits, dim=-1))
            log_probs = torch.stack(log_probs, dim=1)
            return F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), tgt[:, 1:].reshape(-1))
    """,
    "teacher_forcing_loss: gathered log-probabilities, summed then divided": """
        def teacher_forcing_loss(src, tgt, embedding_enc, encoder, embedding_dec, decoder, proj):
            out, _ = decoder(embedding_dec(tgt[:, :-1]), encode(src, embedding_enc, encoder))
            log_p = torch.log_softmax(proj(out), dim=2)
            picked = log_p.gather(2, tgt[:, 1:, None])
            return -picked.sum() / tgt[:, 1:].numel()
    """,
    "beam_search: heapq.nlargest over (score, tokens) pairs, tuples returned as arrays": """
        import heapq

        def beam_search(logp, start, eos, width, max_len, alpha):
            live, done = [(0.0, (start,))], []
            for t in range(max_len):
                options = [(s + float(logp[t, seq[-1], v]), seq + (v,))
                           for s, seq in live for v in range(logp.shape[-1])]
                best = heapq.nlargest(width, options, key=lambda o: o[0])
                done.extend(o for o in best if o[1][-1] == eos)
                live = [o for o in best if o[1][-1] != eos]
                if not live:
                    break
            done.extend(live)
            scored = [(s / (len(seq) - 1) ** alpha, seq) for s, seq in done]
            score, seq = max(scored, key=lambda o: o[0])
            return np.asarray(seq[1:], dtype=np.int32), score
    """,
    "beam_search: vectorised with numpy (argsort over the flattened candidates)": """
        def beam_search(logp, start, eos, width, max_len, alpha):
            seqs, sums, ends = np.zeros((1, 0), dtype=int), np.zeros(1), np.array([start])
            finals = []
            for t in range(max_len):
                cand = sums[:, None] + logp[t][ends]
                flat = np.argsort(cand, axis=None)[::-1][:width]
                rows, cols = np.unravel_index(flat, cand.shape)
                new = np.concatenate([seqs[rows], cols[:, None]], axis=1)
                new_sums = cand[rows, cols]
                finals += [(new[i], new_sums[i]) for i in np.flatnonzero(cols == eos)]
                keep = cols != eos
                seqs, sums, ends = new[keep], new_sums[keep], cols[keep]
                if not keep.any():
                    break
            finals += list(zip(seqs, sums))
            scores = np.array([s / len(q) ** alpha for q, s in finals])
            k = int(np.argmax(scores))
            return finals[k][0], scores[k]
    """,
}


@pytest.mark.parametrize("label", list(CORRECT_VARIANTS))
@pytest.mark.parametrize("seed", [SEED, 7])
def test_correct_but_different_answers_get_full_marks(label: str, seed: int) -> None:
    results = grade_with(CORRECT_VARIANTS[label], seed=seed)
    failed = {k: v.message for k, v in results.items() if not v.passed}
    assert not failed, failed


def test_a_broken_encoder_costs_only_the_encoder() -> None:
    """Partial credit: greedy_decode and the loss call the broken encode by name, yet pass (``uses``)."""
    results = grade_with(ENCODE_MUTANTS[0][1])
    assert not results["encode"].passed
    assert all(results[k].passed for k in ("decoder_step", "greedy_decode", "teacher_forcing_loss"))


def test_missing_functions_are_reported(ref) -> None:
    ns = student_namespace(ASSIGNMENT)
    del ns["greedy_decode"]
    results = grade_namespace(ASSIGNMENT, ns, seed=SEED, only=COMPARED)
    assert not results["greedy_decode"].passed and "not defined" in results["greedy_decode"].message
    assert all(v.passed for k, v in results.items() if k != "greedy_decode")


def test_unimplemented_function_says_so() -> None:
    results = grade_with("def encode(src, embedding, encoder):\n    raise NotImplementedError()")
    assert "not implemented yet" in results["encode"].message


# ---------------------------------------------------------------------------------------------
# The cases, the reference and the judge.


def test_cases_are_deterministic_and_leave_torch_alone() -> None:
    spec = get_spec(ASSIGNMENT)
    for name in COMPARED:
        torch.manual_seed(123)
        state = torch.random.get_rng_state()
        first = spec.functions[name].cases(np.random.default_rng(5))
        assert torch.equal(torch.random.get_rng_state(), state), f"{name}'s cases moved torch's generator"
        second = spec.functions[name].cases(np.random.default_rng(5))
        assert len(first) == len(second) >= 4
        for a, b in zip(first, second, strict=True):
            for key, value in a.items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(value, b[key]), (name, key)
                elif isinstance(value, np.ndarray):
                    assert np.array_equal(value, b[key]), (name, key)
                elif isinstance(value, torch.nn.Module):
                    for p, q in zip(value.parameters(), b[key].parameters(), strict=True):
                        assert p.dtype == torch.float64 and torch.equal(p, q), (name, key)
                else:
                    assert value == b[key], (name, key)
        assert any(case[next(iter(case))].shape[0] == 1 for case in first), f"{name}: no batch of one"


def test_reference_pieces_agree_with_each_other(ref) -> None:
    """The reference's whole-sequence loss equals the step-by-step one; its encoder's context
    equals the last output; greedy decoding equals the argmax of a teacher-forced run on its own
    predictions."""
    rng = np.random.default_rng(3)
    case = get_spec(ASSIGNMENT).functions["teacher_forcing_loss"].cases(rng)[1]
    src, tgt = case["src"], case["tgt"]
    mods = {k: v for k, v in case.items() if k not in ("src", "tgt")}
    context = ref.encode(src, mods["embedding_enc"], mods["encoder"])
    outputs, _ = mods["encoder"](mods["embedding_enc"](src))
    torch.testing.assert_close(context[0], outputs[:, -1], rtol=1e-12, atol=1e-14)

    state, losses = context, []
    for t in range(tgt.shape[1] - 1):
        logits, state = ref.decoder_step(tgt[:, t], state, mods["embedding_dec"], mods["decoder"], mods["proj"])
        losses.append(torch.nn.functional.cross_entropy(logits, tgt[:, t + 1], reduction="none"))
    stepwise = torch.stack(losses).mean()
    torch.testing.assert_close(ref.teacher_forcing_loss(src, tgt, **mods), stepwise, rtol=1e-12, atol=1e-14)

    predicted = ref.greedy_decode(src, **mods, max_len=4)
    fed = torch.cat([torch.full((src.shape[0], 1), START), predicted[:, :-1]], dim=1)
    out, _ = mods["decoder"](mods["embedding_dec"](fed), context)
    assert torch.equal(mods["proj"](out).argmax(-1), predicted)


def test_judge_reads_the_answers_from_the_questions(ref) -> None:
    train_src, train_tgt, test_src, test_tgt = heldout_addition(500, 50, spec_module.DIGITS, np.random.default_rng(0))
    assert len(train_src) == len(train_tgt) == 500 and len(test_src) == 50
    assert not set(ADDITION_VOCAB.decode(test_src)) & set(ADDITION_VOCAB.decode(train_src))
    answers = spec_module.answers_of(torch.from_numpy(test_src))
    np.testing.assert_array_equal(answers, test_tgt[:, 1:])

    # A decoder stand-in that answers from a table: the judge decodes with the reference's
    # greedy_decode on the modules it builds and loads itself, and compares with the true answers.
    decoded = {"rows": torch.from_numpy(answers)}
    stub = types.SimpleNamespace(make_seq2seq=ref.make_seq2seq, ACCURACY_BAR=0.8,
                                 greedy_decode=lambda src, max_len, **modules: decoded["rows"])
    judge = get_spec(ASSIGNMENT).functions[TRAINING].judge
    kw = {"test_src": torch.from_numpy(test_src), "steps": 400}
    weights = spec_module.trained_weights(ref.make_seq2seq(3))
    assert judge(stub, kw, weights) is None
    wrong = decoded["rows"].clone()
    wrong[:15, 0] = (wrong[:15, 0] + 1) % 10 + 2  # 15 of 50 wrong: 70 %
    decoded["rows"] = wrong
    verdict = judge(stub, kw, weights)
    assert "70.0%" in verdict and "the bar is 80%" in verdict, verdict


def test_the_grader_decodes_with_modules_of_its_own(ref) -> None:
    """The trained weights are loaded, number for number, into modules the grader builds; the
    returned objects' own code is not used (their forward may do anything)."""
    student = ref.make_seq2seq(11)
    weights = spec_module.trained_weights(student)
    mine, problem = spec_module.load_trained(ref, weights)
    assert problem is None
    for key in spec_module.MODULES:
        assert type(mine[key]) is type(ref.make_seq2seq(0)[key]) and mine[key] is not student[key]
        for (name, p), q in zip(mine[key].named_parameters(), student[key].parameters(), strict=True):
            assert torch.equal(p, q), (key, name)

    class Cheating(torch.nn.Linear):
        def forward(self, x):  # pragma: no cover - must never run
            raise AssertionError("the grader ran the student's module")

    cheat = dict(student, proj=Cheating(128, len(ADDITION_VOCAB)))
    _, _, test_src, _ = heldout_addition(100, 20, spec_module.DIGITS, np.random.default_rng(1))
    verdict = get_spec(ASSIGNMENT).functions[TRAINING].judge(
        ref, {"test_src": torch.from_numpy(test_src), "steps": 400}, spec_module.trained_weights(cheat))
    assert "the bar is 60%" in verdict  # untrained: judged on its weights, decoded by the grader


@pytest.mark.parametrize(("returned", "message"), [
    (None, "returned None"),
    (torch.zeros(200, 3, dtype=torch.long), "predictions? return the trained modules"),
    ({"encoder": torch.nn.GRU(32, 128)}, "with the keys"),
    ("hidden 64", "has shape (192, 32), expected (384, 32)"),
    ("a tensor for proj", "'proj' is a Tensor, not a module"),
])
def test_wrong_returns_are_named(ref, returned, message) -> None:
    if returned == "hidden 64":
        returned = ref.make_seq2seq(0, hidden_size=64)
    elif returned == "a tensor for proj":
        returned = dict(ref.make_seq2seq(0), proj=torch.zeros(3))
    spec = get_spec(ASSIGNMENT).functions[TRAINING]
    _, _, test_src, _ = heldout_addition(100, 20, spec_module.DIGITS, np.random.default_rng(1))
    outcome = judge_run(spec, ref, {"train_src": None, "steps": 400, "test_src": torch.from_numpy(test_src)},
                        returned)
    assert not outcome.passed and message in outcome.message, outcome.message


def test_unreadable_weights_get_a_message_not_a_crash(ref) -> None:
    weights = spec_module.trained_weights(ref.make_seq2seq(0))
    weights["proj"]["bias"] = np.array(["x"] * len(ADDITION_VOCAB))  # what a tampered runner could send
    _, problem = spec_module.load_trained(ref, weights)
    assert problem == "the trained proj.bias is not an array of numbers"


def test_the_training_function_never_sees_the_test_questions() -> None:
    """The held-out questions stay with the grader (held back from the call)."""
    source = """
def train_model(train_src, train_tgt, steps, seed, **extra):
    global SEEN
    SEEN = sorted(extra)
    return make_seq2seq(seed)
"""
    ns = student_namespace(ASSIGNMENT)
    exec(compile(source, "<spy>", "exec"), ns)  # noqa: S102
    outcome = grade_namespace(ASSIGNMENT, ns, seed=SEED, only=(TRAINING,))[TRAINING]
    assert ns["SEEN"] == [] and not outcome.passed and "the bar is" in outcome.message


def test_notebook_constants_agree_with_the_spec(ref) -> None:
    assert ref.DIGITS == spec_module.DIGITS
    assert (ref.N_TRAIN, ref.N_TEST) == (spec_module.N_TRAIN, spec_module.N_TEST)
    assert ref.STEPS == spec_module.TRAIN_STEPS
    assert ref.ACCURACY_BAR == spec_module.ACCURACY_BAR


def _visible_cells():
    import nbformat

    nb = nbformat.read(source_notebook(ASSIGNMENT, ROOT), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def test_visible_tests_pass_with_the_reference() -> None:
    """The literal expected values in the test cells agree with the reference (no hidden tests;
    the training cell is run by the slow test below)."""
    ns: dict = {"__name__": "visible_tests"}
    ran = 0
    for cell in _visible_cells():
        source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        if "train_model(" in source and cell.metadata["nbgrader"].get("grade"):
            continue
        try:
            exec(compile(source, cell.metadata["nbgrader"]["grade_id"], "exec"), ns)  # noqa: S102
        except CheckFailed as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"visible test {cell.metadata['nbgrader']['grade_id']} failed: {exc}")
        ran += "check_function(" in source
    assert ran == len(COMPARED)


# ---------------------------------------------------------------------------------------------
# The training run (a few seconds per run).


@pytest.mark.slow
def test_reference_training_passes_the_visible_test_and_the_judge() -> None:
    ns: dict = {"__name__": "visible_tests"}
    for cell in _visible_cells():
        exec(compile(cell.source.split("### BEGIN HIDDEN TESTS")[0], "<cell>", "exec"), ns)  # noqa: S102
    assert ns["accuracy"] >= ns["ACCURACY_BAR"]
    results = grade_with("", only=(TRAINING,))
    assert results[TRAINING].passed, results[TRAINING].message


@pytest.mark.slow
@pytest.mark.parametrize("label", [m[0] for m in TRAINING_MUTANTS])
def test_broken_training_fails_the_judge(label: str) -> None:
    source = dict(TRAINING_MUTANTS)[label]
    outcome = grade_with(source, only=(TRAINING,))[TRAINING]
    assert not outcome.passed, f"{label} passed: {outcome.message}"
    assert "the bar is" in outcome.message, outcome.message


def test_the_training_run_has_no_stand_ins() -> None:
    """train_model trains with the student's own loss (see the spec): a stand-in loss would have
    no gradient."""
    assert get_spec(ASSIGNMENT).functions[TRAINING].uses == ()


# ---------------------------------------------------------------------------------------------
# beam_search: the reference against exhaustive search and greedy decoding; the constructed cases.


def _enumerate_best(logp, start, eos, max_len, alpha):
    """The best complete hypothesis by brute force: every sequence of at most max_len tokens that
    is finished (ends with eos, and eos nowhere else) or unfinished of length max_len."""
    v = logp.shape[2]
    best = (None, -np.inf)
    for k in range(1, max_len + 1):
        for seq in itertools.product(range(v), repeat=k):
            if eos in seq[:-1] or (k < max_len and seq[-1] != eos):
                continue
            total = sum(logp[t, prev, nxt] for t, (prev, nxt) in enumerate(zip((start,) + seq, seq, strict=False)))
            score = total / k ** alpha
            if score > best[1]:
                best = (np.array(seq), score)
    return best


def _greedy(logp, start, eos, max_len):
    tokens, total, last = [], 0.0, start
    for t in range(max_len):
        last = int(np.argmax(logp[t, last]))
        tokens.append(last)
        total += logp[t, tokens[-2] if len(tokens) > 1 else start, last]
        if last == eos:
            break
    return np.array(tokens), total


BEAM_CASES = get_spec(ASSIGNMENT).functions["beam_search"].cases


@pytest.mark.parametrize("seed", [SEED, 7, 11])
def test_beam_reference_is_exact_when_nothing_is_pruned(ref, seed) -> None:
    """With a width of V ** max_len nothing is pruned: the reference finds the optimum that
    enumeration finds (the hidden exhaustive case, and random tables with other alphas)."""
    cases = [c for c in BEAM_CASES(np.random.default_rng(seed)) if c["width"] >= c["logp"].shape[2] ** c["max_len"]]
    rng = np.random.default_rng(seed)
    for alpha in (0.0, 0.5, 1.0):
        eos = int(rng.integers(4))
        cases.append({"logp": spec_module._table(rng, 3, 4, eos, eos_bias=0.5), "start": (eos + 1) % 4,
                      "eos": eos, "width": 4 ** 3, "max_len": 3, "alpha": alpha})
    assert len(cases) == 4
    for case in cases:
        tokens, score = ref.beam_search(**case)
        best_tokens, best_score = _enumerate_best(case["logp"], case["start"], case["eos"], case["max_len"],
                                                  case["alpha"])
        np.testing.assert_array_equal(tokens, best_tokens)
        np.testing.assert_allclose(score, best_score, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", [SEED, 7, 11])
def test_beam_of_width_one_is_greedy_and_greedy_is_not_always_optimal(ref, seed) -> None:
    cases = BEAM_CASES(np.random.default_rng(seed))
    greedy_cases = [c for c in cases if c["width"] == 1]
    assert len(greedy_cases) == 2
    for case in greedy_cases:
        tokens, score = ref.beam_search(**case)
        g_tokens, g_total = _greedy(case["logp"], case["start"], case["eos"], case["max_len"])
        np.testing.assert_array_equal(tokens, g_tokens)
        np.testing.assert_allclose(score, g_total / len(g_tokens) ** case["alpha"], rtol=1e-12, atol=0)
    # The constructed case: greedy (width 1) is beaten by the width of the case, and a width of
    # V ** max_len (exhaustive) agrees with that width.
    rng = np.random.default_rng(seed)
    logp, start, eos = spec_module.greedy_trap(rng, 6, 4)
    trap = [c for c in cases if c["width"] == 2 and c["max_len"] == 4 and c["logp"].shape == (4, 6, 6)]
    assert len(trap) == 1
    case = trap[0]
    beam_tokens, beam_score = ref.beam_search(**case)
    greedy_tokens, greedy_score = ref.beam_search(**{**case, "width": 1})
    assert beam_score > greedy_score + 0.1 and not np.array_equal(beam_tokens, greedy_tokens)
    exact_tokens, _ = ref.beam_search(**{**case, "width": 6 ** 4})
    np.testing.assert_array_equal(beam_tokens, exact_tokens)
    # The early-end case: greedy stops at once on [eos]; a wider beam finds a better answer.
    early = [c for c in cases if c["width"] == 1 and c["logp"].shape == (4, 5, 5)]
    assert len(early) == 1
    tokens, score = ref.beam_search(**early[0])
    assert list(tokens) == [early[0]["eos"]]
    assert ref.beam_search(**{**early[0], "width": 2})[1] > score + 0.1


@pytest.mark.parametrize("seed", [SEED, 7, 11, 12, 13])
def test_beam_variant_without_hooks_is_the_reference_and_every_hook_shows(ref, seed) -> None:
    """The catalogue's beam search gives the reference's answer; each of its hooks (a known
    mistake) changes the answer on at least one hidden case, whatever the seed."""
    from autograder.checks import outputs_match

    cases = BEAM_CASES(np.random.default_rng(seed))
    for case in cases:
        assert outputs_match(spec_module.beam_variant(**case), ref.beam_search(**case))
    for hook in ("keep_finished", "live_width"):
        assert any(not outputs_match(spec_module.beam_variant(**case, **{hook: True}), ref.beam_search(**case))
                   for case in cases), hook
    assert any(not outputs_match(spec_module.beam_variant(**case, eos_counted=False), ref.beam_search(**case))
               for case in cases)
