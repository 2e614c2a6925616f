"""Helpers shared by the chapters: seeding, plot style, progress, timing, runs over several seeds,
and the recall task's training (chapters 2, 3 and 4).

Kept small on purpose: a chapter shows the code it teaches; only plumbing lives here. The toy data
sets live in :mod:`autograder.tasks` (shared with the assignments) and the stable sigmoid and the
finite-difference gradient in :mod:`autograder.numerics`.

Claims that rest on training are made over several seeds: :func:`run_jobs` runs one training
function on many keyword sets (for example every (model, length, seed) triple) on both cores and
returns the results in order; :func:`spread` and :func:`fmt_spread` summarise them for tables and
prose.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import torch

from autograder.tasks import recall_task

SEED = 0


def setup(seed: int = SEED, *, torch_threads: int = 1) -> np.random.Generator:
    """Seed every generator, fix torch to one CPU thread (identical outputs between builds),
    set the figure style, and return a numpy ``Generator``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(torch_threads)
    torch.use_deterministic_algorithms(True)
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    return np.random.default_rng(seed)


def _building() -> bool:
    """True while the book is being built (``make book`` sets RNNCOURSE_BUILD=1)."""
    return os.environ.get("RNNCOURSE_BUILD") == "1"


class _FinalLine:
    """Iterate like the wrapped iterable; print one line when done (what the built page shows)."""

    def __init__(self, iterable: Iterable, desc: str, total: int | None):
        self.iterable, self.desc = iterable, desc
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)

    def __len__(self) -> int:
        return self.total

    def __iter__(self):
        count = 0
        for item in self.iterable:
            count += 1
            yield item
        print(f"{self.desc}: {count}/{self.total if self.total is not None else count} done")


def progress(iterable: Iterable, desc: str, total: int | None = None):
    """A progress bar for long loops (training).

    Run by hand (JupyterLab, a terminal), it is a live text bar (tqdm, counts and elapsed time).
    While the book is built it prints a single final line, ``desc: n/n done``, so that the page
    shows no bar residue and two builds print the same thing. Text rather than tqdm's notebook
    widget: the widget would make the page load scripts from a CDN (the site works offline).
    """
    if _building():
        return _FinalLine(iterable, desc, total)
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stdout, ncols=80, mininterval=1.0)


def time_per_call(fn: Callable[[], object], *, repeat: int = 5, number: int = 10) -> float:
    """Median wall-clock seconds per call of ``fn`` (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return float(np.median(samples))


# ---------------------------------------------------------------------------------------------
# Several seeds, both cores


def n_processes() -> int:
    """Worker processes for :func:`run_jobs`: ``RNNCOURSE_PROCESSES`` if set, else every core (at
    most 2 are assumed: the course's reference machine has 2)."""
    if os.environ.get("RNNCOURSE_PROCESSES"):
        return max(1, int(os.environ["RNNCOURSE_PROCESSES"]))
    return max(1, min(2, os.cpu_count() or 1))


def _worker_init() -> None:
    torch.set_num_threads(1)  # one thread per process: the processes share the cores


def _call(fn: Callable[..., Any], kwargs: dict) -> Any:
    return fn(**kwargs)


def run_jobs(fn: Callable[..., Any], jobs: Sequence[dict], *, desc: str,
             processes: int | None = None) -> list:
    """``[fn(**job) for job in jobs]``, computed on several processes, with a progress bar.

    Every job should fix all of its randomness from its own arguments (a ``seed`` keyword): then
    the results do not depend on which process ran which job, nor on how many processes there
    were. Results come back in the order of ``jobs``. Processes are forked, so ``fn`` may be a
    function defined in the notebook itself; its results must pickle (numbers, arrays, dicts,
    torch modules).
    """
    jobs = list(jobs)
    processes = min(processes or n_processes(), len(jobs)) or 1
    if processes == 1:
        return [fn(**job) for job in progress(jobs, desc=desc)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list = [None] * len(jobs)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                             initializer=_worker_init) as pool:
        futures = {pool.submit(_call, fn, job): k for k, job in enumerate(jobs)}
        for future in progress(as_completed(futures), desc=desc, total=len(jobs)):
            results[futures[future]] = future.result()
    return results


def grid(**axes: Iterable) -> list[dict]:
    """Every combination of the given axes as keyword dicts, the last axis varying fastest:
    ``grid(kind=["RNN", "LSTM"], seed=range(5))`` gives 10 jobs for :func:`run_jobs`."""
    import itertools

    names = list(axes)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


def spread(values: Iterable[float]) -> dict[str, float]:
    """Mean, standard deviation (ddof = 1), min, max and count of a set of per-seed results."""
    v = np.asarray(list(values), dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def fmt_spread(values: Iterable[float], fmt: str = ".2f", *, percent: bool = False) -> str:
    """``"mean (min–max)"`` of per-seed results, for tables and glued prose, e.g. ``0.93 (0.88–0.97)``;
    with ``percent=True`` the values (fractions) are shown as percentages: ``93 % (88–97 %)``."""
    s = spread(values)
    if percent:
        return f"{100 * s['mean']:{fmt}} % ({100 * s['min']:{fmt}}–{100 * s['max']:{fmt}} %)"
    return f"{s['mean']:{fmt}} ({s['min']:{fmt}}–{s['max']:{fmt}})"


def paired_interval(a: Iterable[float], b: Iterable[float], *, level: float = 0.95) -> dict[str, float]:
    """The paired difference ``a - b`` over seeds: its mean and a Student-t interval.

    ``a[k]`` and ``b[k]`` must come from the same seed (same data, same initial draw where the
    models allow it), so that the seed's own luck cancels in the difference.
    """
    import scipy.stats

    d = np.asarray(list(a), dtype=float) - np.asarray(list(b), dtype=float)
    if d.size < 2:
        raise ValueError("need at least two paired results")
    half = float(scipy.stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return {"mean": float(d.mean()), "low": float(d.mean() - half), "high": float(d.mean() + half),
            "wins": int((d > 0).sum()), "n": int(d.size)}


# ---------------------------------------------------------------------------------------------
# The recall task (chapters 2, 3 and 4): one model, one training loop


class RecallNet(torch.nn.Module):
    """One-hot symbols -> one ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` layer -> a linear read-out of
    the last hidden state.

    ``memory_bias`` is added to the bias of the gate that keeps memory: the LSTM's forget gate
    (block 1 of PyTorch's i, f, g, o) and the GRU's ``z`` (block 1 of r, z, n: in PyTorch's
    convention ``z`` weights the *old* state, so a positive bias means "keep"). It is ignored for
    the vanilla RNN, which has no gate. The weights are drawn from torch's global generator: seed
    it first.
    """

    def __init__(self, kind: str, hidden: int, *, n_symbols: int = 4, memory_bias: float = 0.0):
        super().__init__()
        self.kind, self.n_symbols = kind, n_symbols
        self.rec = getattr(torch.nn, kind)(n_symbols, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, n_symbols)
        if memory_bias and kind in ("LSTM", "GRU"):
            with torch.no_grad():
                self.rec.bias_ih_l0[hidden:2 * hidden] += memory_bias

    def forward(self, tokens):
        onehot = torch.nn.functional.one_hot(torch.as_tensor(tokens), self.n_symbols)
        states, _ = self.rec(onehot.to(self.out.weight.dtype))
        return self.out(states[:, -1])


def apply_update(model: torch.nn.Module, optimiser: torch.optim.Optimizer, loss: torch.Tensor,
                 clip: float | None = None) -> float:
    """One training update on ``loss``: clear the old gradients, back-propagate, clip the gradient
    norm to ``clip`` (none if ``None``), and let the optimiser step. Returns the loss as a float.
    Every training loop of the book takes its updates from here."""
    optimiser.zero_grad()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimiser.step()
    return loss.item()


def n_params(module) -> int:
    """The number of trainable numbers of a torch module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def train_recall(kind: str, length: int, *, seed: int, hidden: int = 16, n_symbols: int = 4,
                 memory_bias: float = 0.0, steps: int = 300, batch: int = 64, lr: float = 1e-2,
                 clip: float | None = 1.0, curriculum: bool = False, stop_when_solved: bool = False,
                 n_test: int = 2000, keep_model: bool = False,
                 probe: Callable[[torch.nn.Module], Any] | None = None,
                 probe_every: int = 25) -> dict[str, Any]:
    """Train :class:`RecallNet` on fresh batches of ``recall_task`` with Adam and report.

    - ``curriculum``: each batch has a length drawn uniformly from 2..``length`` (else exactly
      ``length``); the test always uses ``length``.
    - ``clip``: the gradient norm is clipped to this value (``None``: no clipping).
    - ``stop_when_solved``: stop once the last 50 training batches were answered with a mean
      accuracy of at least 0.99 (saves time; ``solved_at`` is recorded either way).
    - ``probe``: called as ``probe(model)`` before updates 0, ``probe_every``, 2 ``probe_every``,
      ... (update 0 is the initialisation); the results are returned as ``probes``, a list of
      ``(updates so far, value)``. A probe must leave the training alone: no draws from torch's
      global generator, no parameter gradients (use ``torch.autograd.grad``), no changes to the
      weights; then the run is the same with and without it.

    ``seed`` fixes the initial weights and the training batches; the test set (``n_test`` fresh
    sequences) depends on ``length`` only, so every model and seed is tested on the same questions.
    Returns a dict: ``accuracy`` (test), ``losses`` and ``train_accuracy`` (per update),
    ``solved_at`` (the update at which the 50-batch mean accuracy first reached 0.99, or ``None``),
    ``updates``, ``params``, and the trained ``model`` if ``keep_model``.
    """

    torch.manual_seed(seed)
    data_rng = np.random.default_rng(seed)
    model = RecallNet(kind, hidden, n_symbols=n_symbols, memory_bias=memory_bias)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses, train_accuracy, solved_at, probes = [], [], None, []
    for update in range(1, steps + 1):
        if probe is not None and (update - 1) % probe_every == 0:
            probes.append((update - 1, probe(model)))
        n_steps = int(data_rng.integers(2, length + 1)) if curriculum else length
        tokens, labels = recall_task(batch, n_steps, n_symbols, data_rng)
        logits = model(tokens)
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
        losses.append(apply_update(model, optimiser, loss, clip))
        train_accuracy.append(float((logits.argmax(1).numpy() == labels).mean()))
        if solved_at is None and update >= 50 and np.mean(train_accuracy[-50:]) >= 0.99:
            solved_at = update
            if stop_when_solved:
                break
    tokens, labels = recall_task(n_test, length, n_symbols, np.random.default_rng([length, 10_000]))
    with torch.no_grad():
        predicted = model(tokens).argmax(1).numpy()
    result = {"accuracy": float(np.mean(predicted == labels)), "losses": np.array(losses),
              "train_accuracy": np.array(train_accuracy), "solved_at": solved_at,
              "updates": len(losses), "params": n_params(model)}
    if probe is not None:
        result["probes"] = probes
    if keep_model:
        result["model"] = model
    return result
