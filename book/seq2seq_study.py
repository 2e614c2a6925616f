"""Chapter 5's models and its study: sequence to sequence on addition and on copying.

The chapter (``book/05_seq2seq.md``) shows the model code below and imports it; the full study is
too long for a page, so ``make experiments`` runs it with this script and writes its results to
``book/results/seq2seq_study.json`` (command, seeds and package versions recorded in the file).
The page reads, plots and asserts on that file; ``tests/test_seq2seq_study.py`` reruns a reduced
version and checks that it agrees with the file.

Three experiments:

* **addition** (the task of the source notes and of Saito's ch. 7): the factorial
  {reversed source or not} x {peeky decoder or not}, an attention decoder, and a wider baseline with
  about as many parameters as the peeky model; every configuration over the same seeds and budget.
  Sources are **left-padded**, so that the question always ends right before the decoder starts
  and reversing it changes only the order of its characters, never where the padding sits.
* **copy**: write back a random digit string; the input's length is the only thing that varies.
  One model per seed is trained on lengths 1..``max_len`` (one length per batch, no padding), then
  tested at every length, with and without attention.
* **dates** (``book/dates.py``): human-written dates rewritten in ISO form, a bidirectional encoder
  against a one-way encoder of about equal size, under the same attention decoder; accuracy, curves
  and where the attention weights go, per format.

Usage: ``python book/seq2seq_study.py [--quick] [--only addition|copy|dates] [--out PATH]`` (``make experiments``
runs the whole study: about 210 CPU minutes, 196 of them the addition part, so about 105 minutes on
two quiet cores). Finished runs are
kept in ``.cache/seq2seq_study/``, so an interrupted study resumes where it stopped; ``--only`` reruns
one experiment and keeps the other in the file.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import course  # noqa: E402

from autograder.tasks import ADDITION_VOCAB, START, addition_task  # noqa: E402

PAD = ADDITION_VOCAB.pad
VOCAB_SIZE = len(ADDITION_VOCAB)
DIGIT_IDS = np.array([ADDITION_VOCAB.stoi[c] for c in "0123456789"])
RESULTS = Path(__file__).resolve().parent / "results" / "seq2seq_study.json"


# ---------------------------------------------------------------------------------------------
# The model (the chapter shows these classes)


class Encoder(nn.Module):
    """E_x, then an LSTM over the source: every state h_1..h_S and the final (h_S, c_S)."""

    def __init__(self, emb_dim: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, emb_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(emb_dim, hidden, batch_first=True)

    def forward(self, src):
        states, final = self.lstm(self.embed(src))   # (N, S, H); ((1, N, H), (1, N, H))
        return states, final


class Decoder(nn.Module):
    """An LSTM language model over the answer, started from the encoder's final state.

    peeky:     the context v = h_S is also concatenated to every input and to the read-out's input.
    attention: the read-out also gets v_t = sum_s alpha_{t,s} h_s, with alpha = softmax_s(d_t . h_s).
    """

    def __init__(self, emb_dim: int, hidden: int, *, peeky: bool = False, attention: bool = False):
        super().__init__()
        self.peeky, self.attention = peeky, attention
        self.embed = nn.Embedding(VOCAB_SIZE, emb_dim)
        self.lstm = nn.LSTM(emb_dim + peeky * hidden, hidden, batch_first=True)
        self.out = nn.Linear((1 + peeky + attention) * hidden, VOCAB_SIZE)
        self.weights = None                            # the last alpha, (N, T, S), kept for plots

    def forward(self, tokens, state, h_all, src_pad):
        """tokens (N, T): logits (N, T, V) and the state after the last token. T = 1 is one step."""
        v = h_all[:, -1:].expand(-1, tokens.shape[1], -1)             # context v = h_S, at every step
        inputs = self.embed(tokens)
        if self.peeky:
            inputs = torch.cat([inputs, v], dim=-1)
        d, state = self.lstm(inputs, state)                           # d_1..d_T: (N, T, H)
        features = [d, v] if self.peeky else [d]
        if self.attention:
            scores = d @ h_all.transpose(1, 2)                        # e_{t,s} = d_t . h_s: (N, T, S)
            scores = scores.masked_fill(src_pad[:, None, :], float("-inf"))
            self.weights = torch.softmax(scores, dim=-1)              # alpha_{t,s}
            features.append(self.weights @ h_all)                     # v_t: (N, T, H)
        return self.out(torch.cat(features, dim=-1)), state


class Seq2Seq(nn.Module):
    def __init__(self, *, emb_dim: int = 16, hidden: int = 128, peeky: bool = False,
                 attention: bool = False):
        super().__init__()
        self.encoder = Encoder(emb_dim, hidden)
        self.decoder = Decoder(emb_dim, hidden, peeky=peeky, attention=attention)

    def forward(self, src, tgt_in):
        """Teacher forcing: the true previous tokens, all T steps in one decoder call."""
        h_all, final = self.encoder(src)
        logits, _ = self.decoder(tgt_in, final, h_all, src == PAD)
        return logits

    @torch.no_grad()
    def generate(self, src, n_steps: int):
        """Greedy decoding: the most probable token of each step is the next step's input."""
        h_all, state = self.encoder(src)
        token = torch.full((len(src), 1), START)
        out = []
        for _ in range(n_steps):
            logits, state = self.decoder(token, state, h_all, src == PAD)
            token = logits.argmax(-1)
            out.append(token)
        return torch.cat(out, dim=1)


# ---------------------------------------------------------------------------------------------
# Data


def left_pad(questions: list[str], width: int, *, reverse: bool) -> np.ndarray:
    """Question ids (N, width), padding in FRONT: the question always ends at the last position,
    right before the decoder starts. ``reverse`` reverses the question's characters only."""
    texts = [(q[::-1] if reverse else q).rjust(width) for q in questions]   # " " is the padding id 0
    return ADDITION_VOCAB.encode(texts, width)


def addition_data(digits: int = 3, n_train: int = 45_000, n_test: int = 2_000, *, seed: int = 2014) -> dict:
    """Distinct problems a+b, 0 <= a, b < 10**digits (Saito's ch. 7 data set has 50,000 of them with
    3 digits): a test set and a disjoint training set, answers right-padded after the start symbol."""
    rng = np.random.default_rng(seed)
    draws = addition_task(2 * (n_train + n_test), digits, rng)
    answer_of = dict(zip(draws.questions, draws.answers, strict=True))      # distinct questions
    questions = list(answer_of)[: n_train + n_test]
    if len(questions) < n_train + n_test:
        raise ValueError("not enough distinct problems")
    answers = [answer_of[q] for q in questions]
    tgt = ADDITION_VOCAB.encode(["_" + a for a in answers], digits + 2)
    split = {"test": slice(0, n_test), "train": slice(n_test, n_test + n_train)}
    return {"questions": questions, "answers": answers, "tgt": tgt, "split": split,
            "src_width": 2 * digits + 1, "digits": digits}


# ---------------------------------------------------------------------------------------------
# Training


def exact_match(model: Seq2Seq, src, tgt) -> torch.Tensor:
    """(N,) booleans: the greedy output equals the target at every position."""
    return (model.generate(src, tgt.shape[1] - 1) == tgt[:, 1:]).all(dim=1)


def train_addition(*, seed: int, reverse: bool, peeky: bool = False, attention: bool = False,
                   hidden: int = 128, steps: int = 6000, batch: int = 128, lr: float = 3e-3,
                   eval_every: int = 250, digits: int = 3, n_train: int = 45_000,
                   n_test: int = 2_000, keep_model: bool = False) -> dict:
    """One training run on the addition task. ``seed`` fixes the weights and the batch order; the
    data set is the same for every run. Returns the test exact match during training (curve),
    the final one, the training loss (means over the ``eval_every`` updates before each point) and,
    for attention, the mean attention map over the test problems with two full-width operands."""
    torch.manual_seed(seed)
    data = addition_data(digits, n_train, n_test)
    src = torch.from_numpy(left_pad(data["questions"], data["src_width"], reverse=reverse))
    tgt = torch.from_numpy(data["tgt"])
    tr, te = data["split"]["train"], data["split"]["test"]
    src_train, tgt_train, src_test, tgt_test = src[tr], tgt[tr], src[te], tgt[te]
    model = Seq2Seq(hidden=hidden, peeky=peeky, attention=attention)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    curve, losses, window = [], [], []
    start = time.process_time()
    for step in range(1, steps + 1):
        pick = torch.randint(0, len(src_train), (batch,), generator=batches)
        logits = model(src_train[pick], tgt_train[pick, :-1])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), tgt_train[pick, 1:].flatten())
        window.append(course.apply_update(model, optimiser, loss, clip=5.0))   # zero_grad, backward, clip, step
        if step % eval_every == 0:
            curve.append(exact_match(model, src_test, tgt_test).float().mean().item())
            losses.append(float(np.mean(window)))
            window = []
    correct = exact_match(model, src_test, tgt_test).numpy()
    # per answer position: is the symbol right (teacher-free, greedy)?
    guess = model.generate(src_test, tgt_test.shape[1] - 1)
    per_position = (guess == tgt_test[:, 1:]).float().mean(0).numpy()
    result = {"seed": seed, "reverse": reverse, "peeky": peeky, "attention": attention, "hidden": hidden,
              "params": course.n_params(model), "final": float(correct.mean()), "curve": curve,
              "loss": losses, "per_position": per_position.tolist(), "cpu_s": time.process_time() - start}
    if attention:
        result["attention_map"] = mean_attention_map(model, src_test, tgt_test, data, te)
    if keep_model:
        result["model"] = model
    return result


def mean_attention_map(model, src_test, tgt_test, data, test_rows) -> list:
    """alpha averaged over the test problems whose operands both have ``digits`` digits and whose
    answer has digits + 1 (so that every row has the same layout), replaying the greedy answer."""
    d = data["digits"]
    qs = data["questions"][test_rows]
    keep = [k for k, q in enumerate(qs) if all(len(p) == d for p in q.split("+"))
            and len(data["answers"][test_rows][k]) == d + 1]
    src = src_test[keep]
    with torch.no_grad():
        guess = model.generate(src, tgt_test.shape[1] - 1)
        model(src, torch.cat([tgt_test[keep, :1], guess[:, :-1]], dim=1))
        return model.decoder.weights.mean(0).numpy().round(4).tolist()


def copy_batch(n: int, length: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random digit strings of ``length``: source (n, length), target (n, length + 1) = start, copy."""
    src = DIGIT_IDS[rng.integers(0, 10, size=(n, length))]
    tgt = np.concatenate([np.full((n, 1), START), src], axis=1)
    return torch.from_numpy(src), torch.from_numpy(tgt)


def train_copy(*, seed: int, attention: bool, max_len: int = 32, hidden: int = 64, steps: int = 3000,
               batch: int = 128, lr: float = 3e-3, n_test: int = 500, keep_model: bool = False) -> dict:
    """Copy a random digit string. Each batch has one length drawn uniformly from 1..max_len (no
    padding anywhere); the test uses the same fresh strings for every model and seed, n_test per
    length. Returns exact match and per-position accuracy at every length, and the gradient that
    the first output's loss sends to each source position at the longest length."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Seq2Seq(hidden=hidden, attention=attention)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses, window = [], []
    start = time.process_time()
    for step in range(1, steps + 1):
        src, tgt = copy_batch(batch, int(rng.integers(1, max_len + 1)), rng)
        logits = model(src, tgt[:, :-1])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten())
        window.append(course.apply_update(model, optimiser, loss, clip=5.0))
        if step % 250 == 0:
            losses.append(float(np.mean(window)))
            window = []
    exact, per_position = [], []
    for length in range(1, max_len + 1):
        src, tgt = copy_batch(n_test, length, np.random.default_rng([length, 7]))
        right = (model.generate(src, length) == tgt[:, 1:])
        exact.append(right.all(1).float().mean().item())
        per_position.append(right.float().mean(0).numpy().round(4).tolist())
    result = {"seed": seed, "attention": attention, "hidden": hidden, "params": course.n_params(model),
              "exact": exact, "per_position": per_position, "loss": losses,
              "grad_by_position": source_gradient(model, max_len).tolist(),
              "cpu_s": time.process_time() - start}
    if attention:
        src, tgt = copy_batch(1, 12, np.random.default_rng(12))
        with torch.no_grad():
            model(src, tgt[:, :-1])
        result["attention_map"] = model.decoder.weights[0].numpy().round(3).tolist()
        result["attention_src"] = src[0].tolist()
    if keep_model:
        result["model"] = model
    return result


def source_gradient(model: Seq2Seq, length: int, *, n: int = 256, seed: int = 99) -> np.ndarray:
    """For s = 1..length, the norm of the gradient of the first output's correct logit with respect
    to the embedding E_x[x_s] read at source position s, averaged over n copy problems: how much
    of the first output's gradient reaches each source position. (The logit, not the loss: the
    loss's gradient vanishes once the model is right and sure.)"""
    src, tgt = copy_batch(n, length, np.random.default_rng(seed))
    emb = model.encoder.embed(src).detach().requires_grad_(True)
    h_all, final = model.encoder.lstm(emb)
    logits, _ = model.decoder(tgt[:, :1], final, h_all, src == PAD)
    correct_logit = logits[:, 0].gather(1, tgt[:, 1:2]).sum()
    (grad,) = torch.autograd.grad(correct_logit, emb)
    return grad.norm(dim=-1).mean(0).numpy()


# ---------------------------------------------------------------------------------------------
# The study


ADDITION_CONFIGS = {
    # name: keyword arguments of train_addition (besides the shared budget)
    "baseline": dict(reverse=False),
    "reversed": dict(reverse=True),
    "peeky": dict(reverse=False, peeky=True),
    "reversed + peeky": dict(reverse=True, peeky=True),
    "wide baseline": dict(reverse=False, hidden=None),      # hidden set so that params ~ peeky's
    "attention": dict(reverse=False, attention=True),
}


def matched_hidden(hidden: int, emb_dim: int = 16) -> int:
    """The baseline's width whose parameter count is closest to the peeky model's at ``hidden``."""
    target = course.n_params(Seq2Seq(emb_dim=emb_dim, hidden=hidden, peeky=True))
    return min(range(hidden, 2 * hidden), key=lambda h: abs(course.n_params(Seq2Seq(emb_dim=emb_dim, hidden=h)) - target))


FULL = dict(seeds=list(range(5)), addition=dict(steps=24000, hidden=128, eval_every=250),
            copy=dict(steps=3000, hidden=64, max_len=32), dates=dict(steps=1600, batch=64, hidden=24))
QUICK = dict(seeds=[0, 1], addition=dict(steps=500, hidden=128, eval_every=250),
             copy=dict(steps=500, hidden=64, max_len=32), dates=dict(steps=300, batch=64, hidden=24))


def addition_jobs(settings: dict) -> list[dict]:
    budget = dict(settings["addition"])
    jobs = []
    for kwargs in ADDITION_CONFIGS.values():
        kw = budget | kwargs
        if kw["hidden"] is None:
            kw["hidden"] = matched_hidden(budget["hidden"])
        jobs += [dict(kw, seed=s) for s in settings["seeds"]]
    return jobs


def config_name(run: dict, hidden: int) -> str:
    if run["attention"]:
        return "attention"
    if run["hidden"] != hidden:
        return "wide baseline"
    return {(False, False): "baseline", (True, False): "reversed", (False, True): "peeky",
            (True, True): "reversed + peeky"}[(run["reverse"], run["peeky"])]


CACHE = Path(__file__).resolve().parents[1] / ".cache" / "seq2seq_study"


def _cached(fn_name: str, cache: bool, **job) -> dict:
    """``fn(**job)``, its result kept in .cache/seq2seq_study/ so that an interrupted study resumes.
    The key holds a hash of this file: any change to the code starts the study afresh."""
    import hashlib

    code = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]
    key = CACHE / code / (fn_name + "-" + "-".join(f"{k}={job[k]}" for k in sorted(job)) + ".json")
    if cache and key.exists():
        return json.loads(key.read_text())
    result = globals()[fn_name](**job)
    if cache:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(json.dumps(result))
    return result


def _run_jobs(jobs: list[dict], desc: str, last_first: bool) -> list:
    if not last_first:
        return course.run_jobs(_cached, jobs, desc=desc)
    return course.run_jobs(_cached, jobs[::-1], desc=desc)[::-1]


def _jsonable(value):
    """numpy arrays and scalars as lists and numbers, recursively: what json can write."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def train_dates(**job) -> dict:
    """One run of the date task (``dates.train_dates``), its numbers ready for the results file."""
    import dates  # dates imports this module, so it is imported when a run starts

    return _jsonable(dates.train_dates(**job))


def date_jobs(settings: dict) -> list[dict]:
    """The one-way encoder (width matched in parameters) and the bidirectional one, every seed."""
    import dates

    budget = dict(settings["dates"])
    hidden = budget.pop("hidden")
    return [dict(budget, bidirectional=bi, hidden=h, seed=s)
            for bi, h in ((False, dates.matched_hidden(hidden)), (True, hidden)) for s in settings["seeds"]]


PARTS = ("addition", "copy", "dates")


def run_study(settings: dict, *, what: tuple[str, ...] = PARTS, cache: bool = False,
              last_first: bool = False) -> dict:
    results: dict = {"settings": settings}
    if "addition" in what:
        jobs = [dict(job, fn_name="train_addition", cache=cache) for job in addition_jobs(settings)]
        runs = _run_jobs(jobs, "addition runs", last_first)
        results["addition"] = [dict(r, config=config_name(r, settings["addition"]["hidden"])) for r in runs]
    if "copy" in what:
        jobs = [dict(settings["copy"], attention=a, seed=s, fn_name="train_copy", cache=cache)
                for a in (False, True) for s in settings["seeds"]]
        results["copy"] = _run_jobs(jobs, "copy runs", last_first)
    if "dates" in what:
        jobs = [dict(job, fn_name="train_dates", cache=cache) for job in date_jobs(settings)]
        results["dates"] = _run_jobs(jobs, "date runs", last_first)
    return results


def versions() -> dict:
    import matplotlib
    import scipy

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "matplotlib": matplotlib.__version__, "machine": platform.machine()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, short budgets (a smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", choices=list(PARTS), default=None)
    parser.add_argument("--no-cache", action="store_true",
                        help="recompute every run (by default finished runs are kept in .cache/seq2seq_study/)")
    parser.add_argument("--last-first", action="store_true",
                        help="run the jobs in reverse order: a second process on the same cache (another "
                             "machine, or more cores) then shares the work with the first")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    torch.set_num_threads(1)
    start = time.time()
    parts = (args.only,) if args.only else PARTS
    results = run_study(settings, what=parts, cache=not args.no_cache, last_first=args.last_first)
    meta = {"command": "python book/seq2seq_study.py" + (" --quick" if args.quick else "")
            + (f" --only {args.only}" if args.only else ""),
            "seeds": settings["seeds"], "versions": versions(), "wall_s": round(time.time() - start, 1),
            "cpu_s": round(sum(r["cpu_s"] for part in parts for r in results[part]), 1),
            "processes": course.n_processes(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.only and args.out.exists():          # one part rerun: keep the other part of the file
        old = json.loads(args.out.read_text())
        results = old | {args.only: results[args.only], "settings": settings}
        results["meta"] = old.get("meta", {}) | {args.only: meta}
    else:
        results["meta"] = {part: meta for part in parts}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB) in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
