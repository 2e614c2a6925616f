"""Hidden tests of assignment 05_seq2seq (PyTorch): random cases, known mistakes, fair substitutions.

The students write, with ``torch.nn.GRU`` modules (``batch_first=True``), the encoder
(``encode``), one decoder step (``decoder_step``), greedy decoding (``greedy_decode``), the
teacher-forcing loss (``teacher_forcing_loss``) and a training run on the addition task of
chapter 5 (``train_model``).

Every case builds fresh float64 modules whose parameters are drawn from the case's numpy
generator (so the cases do not depend on torch's generator, and do not disturb it: the modules are
created inside ``torch.random.fork_rng``). The weights are drawn a little larger than PyTorch's
default initialisation so that the decoder's choices depend on its inputs: with tiny weights a
greedy decoder repeats one symbol and several mistakes would give the right answer. The first case
of each function is the one where the most mistakes can run: the embedding size equals the
vocabulary size (so a one-hot input fits the recurrent layer), the batch size equals the sequence
length (so a time-major input keeps its shape), and both embeddings and both GRUs have the same
sizes (so swapping them runs). Later cases cover a batch of one and other sizes.

``train_model`` is judged, not compared: it returns the trained modules, which the grader loads
into modules of its own and decodes greedily (with the reference) on held-out problems the function
never saw; it earns its points when the exact-match accuracy reaches ``ACCURACY_BAR`` (the notebook
states it, and its set-up cell defines the same value; a test checks that they agree).

The mistake catalogues are transformations of the reference (its functions run on transformed
inputs, with other functions swapped in, or with their outputs post-processed), or outputs computed
from the reference's ``encode`` and ``decoder_step``; none is a copy of a solution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import CheckFailed
from ..spec_kit import (
    AssignmentSpec,
    FunctionSpec,
    Inputs,
    Mistake,
    Reference,
    patched,
    swapped,
    with_inputs,
    with_output,
)
from ..tasks import ADDITION_VOCAB, START, heldout_addition

ASSIGNMENT = "05_seq2seq"
PAD = ADDITION_VOCAB.pad
# The training run (the notebook's set-up cell defines the same values; a test checks it).
DIGITS = 2
N_TRAIN = 20000
N_TEST = 200
TRAIN_STEPS = 400
ACCURACY_BAR = 0.6
WEIGHT_SCALE = 1.2


# ---------------------------------------------------------------------------------------------
# Random inputs


def _fill(module: nn.Module, rng: np.random.Generator) -> nn.Module:
    """Overwrite every parameter of ``module`` with normal(0, WEIGHT_SCALE) draws from ``rng``."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, WEIGHT_SCALE, size=tuple(p.shape))))
    return module


def _modules(rng: np.random.Generator, v: int, e: int, h: int, *, e_dec: int | None = None) -> Inputs:
    """Embeddings, GRUs and output layer of a seq2seq model, float64, drawn from ``rng``."""
    e_dec = e if e_dec is None else e_dec
    with torch.random.fork_rng(devices=[]):  # construction draws from torch's generator: keep it
        torch.manual_seed(0)
        mods = {
            "embedding_enc": nn.Embedding(v, e).double(),
            "encoder": nn.GRU(e, h, batch_first=True).double(),
            "embedding_dec": nn.Embedding(v, e_dec).double(),
            "decoder": nn.GRU(e_dec, h, batch_first=True).double(),
            "proj": nn.Linear(h, v).double(),
        }
    return {k: _fill(m, rng) for k, m in mods.items()}


def _ids(rng: np.random.Generator, shape: tuple[int, ...], v: int) -> torch.Tensor:
    return torch.from_numpy(rng.integers(0, v, size=shape, dtype=np.int64))


def _state(rng: np.random.Generator, n: int, h: int) -> torch.Tensor:
    """A GRU state (1, N, H): values in (-1, 1), like the output of a GRU."""
    return torch.from_numpy(np.tanh(rng.normal(0.0, 1.0, size=(1, n, h))))


def _targets(rng: np.random.Generator, n: int, t: int, v: int) -> torch.Tensor:
    """Answers as the task makes them: START, then symbols, then padding (at least one row has some)."""
    tgt = rng.integers(2, v, size=(n, t), dtype=np.int64)
    tgt[:, 0] = START
    lengths = rng.integers(2, t + 1, size=n)
    lengths[0] = max(2, t - 1)
    for row, length in enumerate(lengths):
        tgt[row, length:] = PAD
    return torch.from_numpy(tgt)


def _encode_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    # (N, S, V, E, H): E == V and N == S first (see the module docstring), then a batch of one.
    for n, s, v, e, h in [(3, 3, 5, 5, 4), (1, 6, 13, 8, 16), (4, 2, 13, 16, 8), (5, 7, 9, 3, 6)]:
        mods = _modules(rng, v, e, h)
        out.append({"src": _ids(rng, (n, s), v), "embedding": mods["embedding_enc"],
                    "encoder": mods["encoder"]})
    return out


def _decoder_step_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    for n, v, e, h in [(3, 5, 5, 4), (1, 13, 8, 16), (4, 13, 16, 8), (6, 9, 3, 5)]:
        mods = _modules(rng, v, e, h)
        out.append({"token": _ids(rng, (n,), v), "state": _state(rng, n, h),
                    "embedding": mods["embedding_dec"], "decoder": mods["decoder"], "proj": mods["proj"]})
    return out


def _greedy_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    # (N, S, V, E_enc, E_dec, H, max_len): N == max_len and E_enc == E_dec first; max_len = 1 once.
    # Batches of several rows: a wrong decoder may agree with the right one on a few rows.
    for n, s, v, e, e_dec, h, max_len in [(8, 4, 7, 5, 5, 8, 8), (1, 5, 13, 8, 6, 16, 5),
                                          (5, 4, 13, 4, 4, 8, 1), (12, 7, 10, 6, 3, 12, 6)]:
        out.append({"src": _ids(rng, (n, s), v), **_modules(rng, v, e, h, e_dec=e_dec), "max_len": max_len})
    return out


def _loss_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []
    # (N, S, T, V, E_enc, E_dec, H)
    for n, s, t, v, e, e_dec, h in [(3, 3, 4, 6, 6, 6, 5), (1, 5, 4, 13, 8, 6, 16),
                                    (5, 4, 3, 13, 4, 8, 8), (4, 6, 6, 9, 5, 3, 7)]:
        out.append({"src": _ids(rng, (n, s), v), "tgt": _targets(rng, n, t, v),
                    **_modules(rng, v, e, h, e_dec=e_dec)})
    return out


def _train_cases(rng: np.random.Generator) -> list[Inputs]:
    """One training run on fresh problems; its test questions are held back from the function."""
    train_src, train_tgt, test_src, _ = heldout_addition(N_TRAIN, N_TEST, DIGITS, rng)
    return [{"train_src": torch.from_numpy(train_src), "train_tgt": torch.from_numpy(train_tgt),
             "steps": TRAIN_STEPS, "seed": int(rng.integers(2**31)),
             "test_src": torch.from_numpy(test_src)}]


# ---------------------------------------------------------------------------------------------
# Building blocks of the mistake catalogues


def _replaced(**values: Callable[[Inputs], Any]) -> Callable[[Inputs], Inputs]:
    """Replace inputs by values computed from all the inputs."""

    def transform(kw: Inputs) -> Inputs:
        return {**kw, **{k: make(kw) for k, make in values.items()}}

    return transform


def _one_hot(v: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Stands for an embedding: one-hot rows of the ids (float64)."""
    return lambda ids: F.one_hot(ids, v).double()


def _raw_ids(ids: torch.Tensor) -> torch.Tensor:
    """Stands for an embedding: the ids themselves as one feature."""
    return ids.double().unsqueeze(-1)


def _time_major(rnn: nn.Module) -> Callable[..., Any]:
    """``rnn`` (batch_first) fed a (time, batch, features) tensor, as if it were time-major."""
    return lambda x, *state: rnn(x.transpose(0, 1), *state)


def _outputs_of(rnn: nn.Module) -> Callable[..., Any]:
    """An rnn whose "final state" is its whole output sequence (N, S, H)."""

    def run(x: torch.Tensor, *state: Any) -> Any:
        out, _ = rnn(x, *state)
        return out, out

    return run


def _first_state_of(rnn: nn.Module) -> Callable[..., Any]:
    """An rnn whose "final state" is the state after the first step, (1, N, H)."""

    def run(x: torch.Tensor, *state: Any) -> Any:
        out, last = rnn(x, *state)
        return out, out[:, :1].transpose(0, 1)

    return run


def _squeezed(out: Any, kw: Inputs) -> Any:
    return out[0]


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)


def _zeros_like_state(kw: Inputs) -> torch.Tensor:
    return torch.zeros_like(kw["state"])


# encode -----------------------------------------------------------------------------------------

ENCODE = FunctionSpec(
    "encode",
    _encode_cases,
    mistakes=[
        with_inputs("encode", "you returned the GRU's outputs at every step (N, S, H); the context is "
                    "the final hidden state, the second value nn.GRU returns, of shape (1, N, H)",
                    _replaced(encoder=lambda kw: _outputs_of(kw["encoder"]))),
        with_inputs("encode", "you returned the state after the *first* step; the context is the state "
                    "after the last step (the whole question read)",
                    _replaced(encoder=lambda kw: _first_state_of(kw["encoder"]))),
        Mistake("you returned the state after the first step, without the layer axis; the context "
                "is the state after the last step, shape (1, N, H)",
                lambda ref, kw: _first_state_of(kw["encoder"])(kw["embedding"](kw["src"]))[1][0]),
        with_output("encode", "you dropped the first axis: return the state as nn.GRU gives it, "
                    "(1, N, H) (num_layers = 1 first), so that the decoder can start from it",
                    _squeezed),
        Mistake("you returned both values of nn.GRU (outputs, h_n); return only the final state h_n",
                lambda ref, kw: kw["encoder"](kw["embedding"](kw["src"]))),
        with_inputs("encode", "the embedding is missing: you fed one-hot vectors of the ids to the GRU; "
                    "look the ids up in `embedding` first",
                    _replaced(embedding=lambda kw: _one_hot(kw["embedding"].num_embeddings))),
        with_inputs("encode", "the embedding is missing: you fed the raw ids to the GRU; look them up "
                    "in `embedding` first", _replaced(embedding=lambda kw: _raw_ids)),
        with_inputs("encode", "you fed the GRU a time-major tensor (S, N, E), but it was built with "
                    "batch_first=True: give it (N, S, E), examples first",
                    _replaced(encoder=lambda kw: _time_major(kw["encoder"]))),
        with_inputs("encode", "you read the question backwards (src flipped along time); read "
                    "src[:, 0] first", _replaced(src=lambda kw: kw["src"].flip(1))),
    ],
)


# decoder_step -----------------------------------------------------------------------------------


def _logits_from_old_state(ref: Reference, kw: Inputs) -> Any:
    _, new_state = ref.decoder_step(**kw)
    return kw["proj"](kw["state"][0]), new_state


DECODER_STEP = FunctionSpec(
    "decoder_step",
    _decoder_step_cases,
    mistakes=[
        with_inputs("decoder_step", "`state` is not passed to the decoder GRU (it then starts from "
                    "zeros, and the decoder forgets the question): call decoder(x, state)",
                    _replaced(state=_zeros_like_state)),
        with_output("decoder_step", "you returned probabilities (a softmax); return the logits, the "
                    "raw output of `proj` (cross_entropy and argmax take logits)",
                    lambda out, kw: (_softmax(out[0]), out[1])),
        with_output("decoder_step", "you returned a softmax over the batch axis (dim=0), and "
                    "probabilities rather than logits: return the raw output of `proj`",
                    lambda out, kw: (torch.softmax(out[0], dim=0), out[1])),
        with_output("decoder_step", "you returned log-probabilities (log_softmax); return the logits, "
                    "the raw output of `proj`", lambda out, kw: (torch.log_softmax(out[0], dim=-1), out[1])),
        with_output("decoder_step", "you returned the old state; return the new state the decoder GRU "
                    "gives back", lambda out, kw: (out[0], kw["state"])),
        Mistake("the logits come from the old state: apply `proj` to the decoder's new output",
                _logits_from_old_state),
        with_output("decoder_step", "the logits have shape (N, 1, V): remove the time axis of length "
                    "one (out[:, 0] or squeeze(1)) to return (N, V)",
                    lambda out, kw: (out[0].unsqueeze(1), out[1])),
        with_output("decoder_step", "you dropped the first axis of the new state: return it as nn.GRU "
                    "gives it, (1, N, H)", lambda out, kw: (out[0], out[1][0])),
        with_output("decoder_step", "you returned (state, logits); return (logits, state) in that order",
                    lambda out, kw: (out[1], out[0])),
        with_inputs("decoder_step", "the embedding is missing: you fed one-hot vectors of the tokens "
                    "to the GRU; look them up in `embedding` first",
                    _replaced(embedding=lambda kw: _one_hot(kw["embedding"].num_embeddings))),
    ],
)


# greedy_decode ----------------------------------------------------------------------------------


def _greedy_with_step(ref: Reference, kw: Inputs, step: Callable[..., Any]) -> Any:
    return patched(ref.greedy_decode, decoder_step=step)(**kw)


def _always_start(ref: Reference) -> Callable[..., Any]:
    def step(token: torch.Tensor, state: Any, *modules: Any) -> Any:
        return ref.decoder_step(torch.full_like(token, START), state, *modules)

    return step


def _state_kept(ref: Reference) -> Callable[..., Any]:
    def step(token: torch.Tensor, state: Any, *modules: Any) -> Any:
        logits, _ = ref.decoder_step(token, state, *modules)
        return logits, state

    return step


def _stacked_logits(ref: Reference, kw: Inputs) -> torch.Tensor:
    logits = []

    def step(*args: Any) -> Any:
        out = ref.decoder_step(*args)
        logits.append(out[0])
        return out

    _greedy_with_step(ref, kw, step)
    return torch.stack(logits, dim=1)


def _with_start(out: torch.Tensor) -> torch.Tensor:
    start = torch.full((out.shape[0], 1), START, dtype=out.dtype)
    return torch.cat([start, out], dim=1)


def _context_from_zeros(ref: Reference, kw: Inputs) -> Any:
    def encode(src: torch.Tensor, embedding: Any, encoder: nn.Module) -> torch.Tensor:
        return torch.zeros(1, src.shape[0], encoder.hidden_size, dtype=torch.float64)

    return patched(ref.greedy_decode, encode=encode)(**kw)


GREEDY_DECODE = FunctionSpec(
    "greedy_decode",
    _greedy_cases,
    uses=("encode", "decoder_step"),
    mistakes=[
        Mistake("you fed the start symbol at every step; feed back the token predicted at the "
                "previous step (the argmax)", lambda ref, kw: _greedy_with_step(ref, kw, _always_start(ref))),
        Mistake("the state is not updated: every step starts again from the context; pass the state "
                "returned by one decoder step to the next", lambda ref, kw: _greedy_with_step(ref, kw, _state_kept(ref))),
        with_output("greedy_decode", "the start symbol is in the output: return only the max_len "
                    "predicted tokens (N, max_len)", lambda out, kw: _with_start(out)),
        with_output("greedy_decode", "the output starts with the start symbol (and so misses the last "
                    "prediction): return the max_len predicted tokens", lambda out, kw: _with_start(out)[:, :-1]),
        with_output("greedy_decode", "you decoded one step too few: return max_len predicted tokens",
                    lambda out, kw: out[:, :-1]),
        Mistake("you returned the logits (N, max_len, V); return the predicted ids, their argmax "
                "over the vocabulary", _stacked_logits),
        with_output("greedy_decode", "the output is time-major (max_len, N); return (N, max_len), one "
                    "row per example (stack along dim=1)", lambda out, kw: out.T),
        with_output("greedy_decode", "the predicted ids are floating-point numbers: return them as "
                    "torch.long (argmax already gives long ids; do not collect them in a float tensor)",
                    lambda out, kw: out.float()),
        with_output("greedy_decode", "the predicted ids are floating-point numbers (float64): return "
                    "them as torch.long (argmax already gives long ids)", lambda out, kw: out.double()),
        with_inputs("greedy_decode", "the decoder's tokens are embedded with `embedding_enc`; use "
                    "`embedding_dec` for them", _replaced(embedding_dec=lambda kw: kw["embedding_enc"])),
        with_inputs("greedy_decode", "the two embeddings are swapped: the question goes through "
                    "`embedding_enc`, the decoder's tokens through `embedding_dec`",
                    swapped("embedding_enc", "embedding_dec")),
        with_inputs("greedy_decode", "the encoder and the decoder are swapped: `encoder` reads the "
                    "question, `decoder` writes the answer", swapped("encoder", "decoder")),
        Mistake("the decoder does not start from the context: pass encode(...)'s result as the first "
                "state", _context_from_zeros),
    ],
)


# teacher_forcing_loss ---------------------------------------------------------------------------


def _stepwise_logits(ref: Reference, kw: Inputs, tokens: torch.Tensor | None) -> torch.Tensor:
    """Logits (N, T', V) of the reference decoder started from the reference context and fed
    ``tokens`` (N, T') one column at a time; ``None``: fed its own argmax from the start symbol."""
    state = ref.encode(kw["src"], kw["embedding_enc"], kw["encoder"])
    steps = kw["tgt"].shape[1] - 1 if tokens is None else tokens.shape[1]
    token = torch.full((kw["src"].shape[0],), START, dtype=torch.long)
    logits = []
    for t in range(steps):
        if tokens is not None:
            token = tokens[:, t]
        step_logits, state = ref.decoder_step(token, state, kw["embedding_dec"], kw["decoder"], kw["proj"])
        logits.append(step_logits)
        token = step_logits.argmax(dim=-1)
    return torch.stack(logits, dim=1)


def _ce(logits: torch.Tensor, targets: torch.Tensor, **options: Any) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), **options)


def _fed(kw: Inputs) -> torch.Tensor:
    return kw["tgt"][:, :-1]


def _wanted(kw: Inputs) -> torch.Tensor:
    return kw["tgt"][:, 1:]


def _number(value: Any) -> float:
    """A scalar loss as a Python float (detached first: no autograd warning on stderr, which
    nbgrader would count as a failed cell)."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
    return float(value)


def _as_number(mistake: Mistake) -> Mistake:
    """The mistake's loss as a Python float (see ``_expected_loss``)."""
    return Mistake(mistake.message, lambda ref, kw: _number(mistake.output(ref, kw)))


def _expected_loss(ref: Reference, kw: Inputs) -> float:
    """The reference loss as a Python float: a scalar tensor returned by the student is compared as
    a number, whether it arrives as a 0-d tensor (in-process) or as a 1-element one (the sandbox's
    npz transport turns 0-d arrays into shape (1,))."""
    return _number(ref.teacher_forcing_loss(**kw))


TEACHER_FORCING_LOSS = FunctionSpec(
    "teacher_forcing_loss",
    _loss_cases,
    uses=("encode", "decoder_step"),
    expected=_expected_loss,
    mistakes=[_as_number(m) for m in [
        Mistake("the targets are not shifted: the decoder reads tgt[:, :-1] and must predict the *next* "
                "tokens tgt[:, 1:], not the ones it reads",
                lambda ref, kw: _ce(_stepwise_logits(ref, kw, _fed(kw)), _fed(kw))),
        Mistake("the shift goes the wrong way: the decoder reads tgt[:, :-1] (starting with the start "
                "symbol) and predicts tgt[:, 1:]",
                lambda ref, kw: _ce(_stepwise_logits(ref, kw, _wanted(kw)), _fed(kw))),
        Mistake("the decoder read tgt[:, 1:]; it reads tgt[:, :-1], which starts with the start symbol, "
                "and predicts tgt[:, 1:]",
                lambda ref, kw: _ce(_stepwise_logits(ref, kw, _wanted(kw)), _wanted(kw))),
        Mistake("this is not teacher forcing: you fed the decoder its own predictions; feed it the "
                "true previous tokens tgt[:, :-1]",
                lambda ref, kw: _ce(_stepwise_logits(ref, kw, None), _wanted(kw))),
        with_output("teacher_forcing_loss", "you summed the loss over all positions; average it "
                    "(the mean over the N x (T - 1) predicted tokens)",
                    lambda out, kw: out * _wanted(kw).numel()),
        with_output("teacher_forcing_loss", "you summed the loss over time and averaged over the "
                    "batch; average over all N x (T - 1) predicted tokens",
                    lambda out, kw: out * _wanted(kw).shape[1]),
        Mistake("you applied a softmax before cross_entropy, which applies log-softmax itself: give "
                "it the logits", lambda ref, kw: _ce(_softmax(_stepwise_logits(ref, kw, _fed(kw))), _wanted(kw))),
        Mistake("you used nll_loss on logits: nll_loss expects log-probabilities (use cross_entropy "
                "on the logits, or nll_loss on log_softmax)",
                lambda ref, kw: F.nll_loss(_stepwise_logits(ref, kw, _fed(kw)).reshape(-1, kw["proj"].out_features),
                                           _wanted(kw).reshape(-1))),
        Mistake("you left out the padding positions (ignore_index): the decoder must also learn to "
                "write the padding that ends a short answer, so count every position",
                lambda ref, kw: _ce(_stepwise_logits(ref, kw, _fed(kw)), _wanted(kw), ignore_index=PAD)),
        Mistake("the decoder does not start from the context: pass encode(...)'s result as its "
                "initial state",
                lambda ref, kw: patched(ref.teacher_forcing_loss, encode=lambda src, emb, enc: torch.zeros(
                    1, src.shape[0], enc.hidden_size, dtype=torch.float64))(**kw)),
    ]],
)


# train_model ------------------------------------------------------------------------------------

MODULES = ("embedding_enc", "encoder", "embedding_dec", "decoder", "proj")


def trained_weights(model: Any) -> dict[str, dict[str, np.ndarray]]:
    """The plain form of what ``train_model`` returns: each module's parameters as float64 arrays.

    Only the numbers leave the student's code: the grader loads them into modules it builds itself
    (``make_seq2seq`` of the source notebook) and decodes with the reference, so that a returned
    object's own code (a subclass with its own ``forward``, say) never decides the grade.
    """
    if model is None:
        raise CheckFailed("`train_model` returned None: did you forget `return model`?")
    if not isinstance(model, dict):
        hint = " (predictions? return the trained modules instead)" if hasattr(model, "shape") else ""
        raise CheckFailed(f"`train_model` returned a {type(model).__name__}{hint}; return the dict "
                          f"of the five trained modules that make_seq2seq built: {', '.join(MODULES)}")
    if set(model) != set(MODULES):
        raise CheckFailed(f"`train_model` returned a dict with the keys {sorted(map(str, model))}; "
                          f"return the dict make_seq2seq built, with the keys {', '.join(MODULES)}")
    weights = {}
    for key in MODULES:
        module = model[key]
        if not isinstance(module, nn.Module):
            raise CheckFailed(f"`train_model`'s {key!r} is a {type(module).__name__}, not a module")
        weights[key] = {name: value.detach().cpu().to(torch.float64).numpy().copy()
                        for name, value in module.state_dict().items()}
    return weights


def answers_of(test_src: Any) -> np.ndarray:
    """The correct answers (N, DIGITS + 1) to reversed questions given as ids, as the task writes
    them (digits, then padding; no start symbol)."""
    ids = np.asarray(test_src.detach().cpu().numpy() if hasattr(test_src, "detach") else test_src)
    questions = ["".join(ADDITION_VOCAB.itos[i] for i in row[::-1]).strip() for row in ids]
    sums = [str(sum(int(part) for part in q.split("+"))) for q in questions]
    return ADDITION_VOCAB.encode(sums, DIGITS + 1)


def exact_match(predictions: Any, answers: np.ndarray) -> float:
    """Fraction of the rows of ``predictions`` (N, T - 1) equal to ``answers`` in every position."""
    return float((np.asarray(predictions) == answers).all(axis=1).mean())


def load_trained(ref: Reference, weights: Any) -> tuple[Inputs | None, str | None]:
    """(modules, None): the grader's own ``make_seq2seq`` modules holding the trained weights; or
    (None, what is wrong with them)."""
    model = ref.make_seq2seq(0)
    if not isinstance(weights, dict) or set(weights) != set(MODULES):
        return None, "`train_model` must return the dict of the five modules that make_seq2seq built"
    for key in MODULES:
        theirs = weights[key]
        mine = model[key].state_dict()
        if not isinstance(theirs, dict) or set(theirs) != set(mine):
            got = sorted(theirs) if isinstance(theirs, dict) else type(theirs).__name__
            return None, (f"the trained {key!r} has the parameters {got}, expected {sorted(mine)}: "
                          "build the model with make_seq2seq(seed)")
        for name, value in theirs.items():
            shape = tuple(np.shape(value))
            if shape != tuple(mine[name].shape):
                return None, (f"the trained {key}.{name} has shape {shape}, expected "
                              f"{tuple(mine[name].shape)}: build the model with make_seq2seq(seed) "
                              "and keep its sizes")
            try:
                mine[name] = torch.as_tensor(np.asarray(value, dtype=np.float64)).to(mine[name].dtype)
            except (TypeError, ValueError):
                return None, f"the trained {key}.{name} is not an array of numbers"
        model[key].load_state_dict(mine)
    return model, None


def _judge_training(ref: Reference, kw: Inputs, got: Any) -> str | None:
    model, problem = load_trained(ref, got)
    if problem:
        return problem
    with torch.no_grad():
        predictions = ref.greedy_decode(kw["test_src"], **model, max_len=DIGITS + 1)
    accuracy = exact_match(predictions, answers_of(kw["test_src"]))
    bar = float(getattr(ref, "ACCURACY_BAR", ACCURACY_BAR))
    if accuracy < bar:
        return (f"exact-match accuracy {accuracy:.1%} on {len(kw['test_src'])} held-out problems after "
                f"{kw['steps']} training steps (decoded greedily by the grader); the bar is "
                f"{bar:.0%}. Check the training step (zero_grad, backward, step), the learning rate, "
                "and that the loss is the one of teacher_forcing_loss")
    return None


# No ``uses``: the run trains with the student's own loss. Reference stand-ins cannot serve here: a
# loss must be differentiated (a recorded or sealed value has no gradient). The function never sees
# the test questions (held back), and returns the trained modules, not predictions: the grader
# decodes with its own modules and the reference's greedy_decode, so neither computing the answers
# by arithmetic nor memorising a test set can earn the points.
TRAIN_MODEL = FunctionSpec(
    "train_model",
    _train_cases,
    judge=_judge_training,
    held_back=("test_src",),
    plain=trained_weights,
)


# beam_search ------------------------------------------------------------------------------------
#
# The "model" is a table of next-token log-probabilities, logp[t, prev, next] (T, V, V), each row
# log-softmax normalised: plain arrays, so that the sandbox can send the cases as they are.


def _table(rng: np.random.Generator, t: int, v: int, eos: int, *, scale: float = 1.5,
           eos_bias: float = 0.0) -> np.ndarray:
    """A random table (t, v, v) of log-probabilities; ``eos_bias`` makes the end token likelier."""
    logits = rng.normal(0.0, scale, size=(t, v, v))
    logits[:, :, eos] += eos_bias
    return logits - np.logaddexp.reduce(logits, axis=2, keepdims=True)


def _normalised(logits: np.ndarray) -> np.ndarray:
    return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)


def greedy_trap(rng: np.random.Generator, v: int, t: int) -> tuple[np.ndarray, int, int]:
    """A table where greedy decoding is not optimal, built from ``rng`` alone: from the start token
    the likeliest first token ``a`` leads to flat, unlikely continuations, while the runner-up ``b``
    is followed by the end token with high probability. Returns (logp, start, eos)."""
    start, eos, a, b = (int(x) for x in rng.permutation(v)[:4])
    logits = rng.normal(0.0, 0.3, size=(t, v, v))
    logits[0, start, :] = rng.normal(-3.0, 0.3, size=v)
    logits[0, start, a] = 1.0 + rng.uniform(0.0, 0.2)  # greedy's first choice
    logits[0, start, b] = 0.6 + rng.uniform(0.0, 0.2)  # the runner-up
    logits[0, start, eos] = -6.0
    logits[1, b, :] = rng.normal(-3.0, 0.3, size=v)
    logits[1, b, eos] = 4.0 + rng.uniform(0.0, 0.5)  # b then the end: likely
    return _normalised(logits), start, eos


def early_end_trap(rng: np.random.Generator, v: int, t: int) -> tuple[np.ndarray, int, int]:
    """A table where the likeliest first token is the end token, yet the best answer (alpha = 1)
    is the runner-up ``c`` followed by the end token: with width 1 the beam holds only the finished
    ``[eos]`` and stops; a beam that keeps ``width`` *unfinished* hypotheses finds ``[c, eos]``, and
    one that keeps extending finished hypotheses finds ``[eos, eos]``.
    Built from ``rng`` alone. Returns (logp, start, eos)."""
    start, eos, c = (int(x) for x in rng.permutation(v)[:3])
    logits = rng.normal(0.0, 0.3, size=(t, v, v))
    logits[0, start, :] = rng.normal(-4.0, 0.3, size=v)
    logits[0, start, eos] = 1.0 + rng.uniform(0.0, 0.1)
    logits[0, start, c] = 0.8 + rng.uniform(0.0, 0.1)
    logits[1, c, eos] = 6.0 + rng.uniform(0.0, 0.5)
    logits[1, eos, eos] = 6.0 + rng.uniform(0.0, 0.5)  # a finished [eos] kept in the beam would go on well
    return _normalised(logits), start, eos


def _beam_cases(rng: np.random.Generator) -> list[Inputs]:
    out = []

    def ends(v: int) -> tuple[int, int]:
        start, eos = rng.permutation(v)[:2]
        return int(start), int(eos)

    # (T, V, width, max_len, alpha, eos_bias): the first case is the one where most mistakes differ.
    for t, v, width, max_len, alpha, bias, scale in [(6, 6, 3, 6, 1.0, 0.0, 1.0), (6, 5, 1, 6, 1.0, 1.5, 1.5),
                                                     (7, 8, 4, 5, 0.6, 1.0, 1.5), (8, 5, 2, 8, 1.0, 1.5, 1.0)]:
        start, eos = ends(v)
        out.append({"logp": _table(rng, t, v, eos, scale=scale, eos_bias=bias), "start": start, "eos": eos,
                    "width": width, "max_len": max_len, "alpha": alpha})
        if width == 1:  # the constructed cases: greedy decoding (width 1) is not optimal
            logp, start, eos = greedy_trap(rng, 6, 4)
            out.append({"logp": logp, "start": start, "eos": eos, "width": 2, "max_len": 4, "alpha": 0.5})
            logp, start, eos = early_end_trap(rng, 5, 4)
            out.append({"logp": logp, "start": start, "eos": eos, "width": 1, "max_len": 4, "alpha": 1.0})
            # the same kind of table with a beam of two: normalised, [c, eos] beats [eos]
            logp, start, eos = early_end_trap(rng, 5, 4)
            out.append({"logp": logp, "start": start, "eos": eos, "width": 2, "max_len": 4, "alpha": 1.0})
    # Small enough for an exhaustive search: width V ** max_len keeps every hypothesis.
    start, eos = ends(3)
    out.append({"logp": _table(rng, 3, 3, eos), "start": start, "eos": eos, "width": 27,
                "max_len": 3, "alpha": 1.0})
    # One step only (a table of one step).
    start, eos = ends(4)
    out.append({"logp": _table(rng, 1, 4, eos), "start": start, "eos": eos, "width": 2,
                "max_len": 1, "alpha": 1.0})
    return out


def beam_variant(logp: np.ndarray, start: int, eos: int, width: int, max_len: int, alpha: float, *,
                 keep_finished: bool = False, live_width: bool = False,
                 eos_counted: bool = True) -> tuple[np.ndarray, float]:
    """Beam search written for the mistake catalogue, with hooks that make it go wrong in known
    ways (the defaults give the right answer; a test checks it against the reference):

    ``keep_finished``: hypotheses that ended with the end token stay in the beam and are extended;
    ``live_width``: the beam keeps the ``width`` best *unfinished* candidates (finished ones take no
    place); ``eos_counted=False``: the length that normalises the score leaves out the end token.
    """
    logp = np.asarray(logp, dtype=np.float64)
    live_tokens: list[list[int]] = [[]]
    live_sums = np.zeros(1)
    last = np.array([start])
    done: list[tuple[list[int], float]] = []
    for t in range(max_len):
        totals = live_sums[:, None] + logp[t, last]  # (B, V)
        order = np.argsort(-totals, axis=None, kind="stable")
        rows, cols = np.unravel_index(order, totals.shape)
        ranked = [(live_tokens[r] + [int(c)], float(totals[r, c])) for r, c in zip(rows, cols, strict=True)]
        top = ranked[:width]
        done += [(toks, s) for toks, s in top if toks[-1] == eos]
        if keep_finished:
            kept = top
        elif live_width:
            kept = [(toks, s) for toks, s in ranked if toks[-1] != eos][:width]
        else:
            kept = [(toks, s) for toks, s in top if toks[-1] != eos]
        if not kept:
            break
        live_tokens = [toks for toks, _ in kept]
        live_sums = np.array([s for _, s in kept])
        last = np.array([toks[-1] for toks in live_tokens])
    else:
        done += [(toks, float(s)) for toks, s in zip(live_tokens, live_sums, strict=True)
                 if not (keep_finished and toks[-1] == eos)]

    def length(toks: list[int]) -> float:
        return float(len(toks) - (not eos_counted and toks[-1] == eos))

    with np.errstate(divide="ignore", invalid="ignore"):
        scored = [(toks, np.float64(s) / np.float64(length(toks)) ** alpha) for toks, s in done]
    best = max(range(len(scored)), key=lambda k: scored[k][1])
    return np.array(scored[best][0], dtype=np.int64), float(scored[best][1])


def _variant(**hooks: bool) -> Callable[[Reference, Inputs], Any]:
    return lambda ref, kw: beam_variant(**kw, **hooks)


def _rescored(out: Any, kw: Inputs) -> Any:
    """An answer whose score (a raw sum) is divided by length ** alpha."""
    tokens, total = out
    return tokens, total / len(tokens) ** kw["alpha"]


def _eos_dropped(out: Any, kw: Inputs) -> Any:
    tokens, score = out
    kept = list(tokens[:-1] if tokens[-1] == kw["eos"] else tokens)
    return np.array(kept), score  # as np.array(list) makes it: an empty answer is float64


BEAM_SEARCH = FunctionSpec(
    "beam_search",
    _beam_cases,
    mistakes=[
        # First: when the choice is the same with or without normalisation, the score says which.
        with_output("beam_search", "you returned the summed log-probability; return the normalised "
                    "score, sum / length ** alpha (and choose the best hypothesis by it)",
                    lambda out, kw: (out[0], out[1] * len(out[0]) ** kw["alpha"])),
        Mistake("you chose the best hypothesis by its raw sum of log-probabilities; choose it by the "
                "normalised score sum / length ** alpha, and return that score",
                lambda ref, kw: _rescored(ref.beam_search(**{**kw, "alpha": 0.0}), kw)),
        with_inputs("beam_search", "the scores are not length-normalised (as if alpha were 0): the "
                    "final choice compares sum / length ** alpha, which does not favour short answers",
                    _replaced(alpha=lambda kw: 0.0)),
        Mistake("hypotheses that ended with `eos` stayed in the beam and were extended: a finished "
                "hypothesis is set aside (it leaves the beam, and competes only in the final choice)",
                _variant(keep_finished=True)),
        with_inputs("beam_search", "you did not stop hypotheses at the end token: one that ends with "
                    "`eos` is finished: set it aside, do not extend it", _replaced(eos=lambda kw: -1)),
        with_inputs("beam_search", "you added probabilities instead of log-probabilities: a "
                    "hypothesis' score is the sum of the log-probabilities of its tokens",
                    _replaced(logp=lambda kw: np.exp(kw["logp"]))),
        Mistake("your beam kept `width` unfinished hypotheses at each step; keep the `width` best "
                "candidates, finished or not, and set the finished ones aside (the beam then shrinks)",
                _variant(live_width=True)),
        Mistake("the length that normalises the score must count the end token (a finished "
                "hypothesis y_1 ... y_k = eos has length k)", _variant(eos_counted=False)),
        with_inputs("beam_search", "you read the table as logp[t, next, prev]: the row is the previous "
                    "token, the column the next one (logp[t, prev, next])",
                    _replaced(logp=lambda kw: kw["logp"].transpose(0, 2, 1))),
        with_output("beam_search", "the returned tokens start with the start token; return the tokens "
                    "after it", lambda out, kw: (np.concatenate([[kw["start"]], out[0]]), out[1])),
        with_output("beam_search", "you left the end token out of the returned tokens: a finished "
                    "hypothesis ends with `eos`", _eos_dropped),
    ],
)


SPEC = AssignmentSpec.of(ASSIGNMENT, ENCODE, DECODER_STEP, GREEDY_DECODE, TEACHER_FORCING_LOSS,
                         TRAIN_MODEL, BEAM_SEARCH)
