"""Helpers shared by the chapters: seeding, plot style, timing.

Kept small on purpose: a chapter shows the code it teaches; only plumbing lives here. The toy data
sets live in :mod:`autograder.tasks` (shared with the assignments) and the stable sigmoid and the
finite-difference gradient in :mod:`autograder.numerics`.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterable

import matplotlib as mpl
import numpy as np

SEED = 0


def setup(seed: int = SEED, *, torch_threads: int = 1) -> np.random.Generator:
    """Seed every generator, fix torch to one CPU thread (identical outputs between builds),
    set the figure style, and return a numpy ``Generator``."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(torch_threads)
        torch.use_deterministic_algorithms(True)
    except ImportError:  # torch is in requirements.txt; this keeps numpy-only pages importable
        pass
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


def progress(iterable: Iterable, desc: str, total: int | None = None):
    """A text progress bar for long loops (training), printed to stdout.

    Plain text rather than tqdm's notebook widget: the widget would make the page load scripts
    from a CDN (the site must work offline) and embed timings that change between builds. The bar
    shows counts only, so two builds print the same thing.
    """
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stdout, mininterval=3600, ncols=80,
                bar_format="{desc}: {n_fmt}/{total_fmt} |{bar}|")


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
