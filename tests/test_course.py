"""book/course.py: the seeds harness and the shared recall-task training."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "book"))
import course  # noqa: E402


def _short_run(kind: str, seed: int) -> dict:
    return course.train_recall(kind, 6, seed=seed, steps=30, hidden=8)


def test_results_do_not_depend_on_the_number_of_processes() -> None:
    jobs = course.grid(kind=["RNN", "GRU"], seed=range(3))
    assert jobs[:2] == [{"kind": "RNN", "seed": 0}, {"kind": "RNN", "seed": 1}]
    one = course.run_jobs(_short_run, jobs, desc="one process", processes=1)
    two = course.run_jobs(_short_run, jobs, desc="two processes", processes=2)
    for a, b in zip(one, two, strict=True):
        assert a["accuracy"] == b["accuracy"]
        np.testing.assert_array_equal(a["losses"], b["losses"])
    # different seeds are different runs
    assert not np.array_equal(one[0]["losses"], one[1]["losses"])


def test_the_built_book_prints_one_line_per_loop(capsys, monkeypatch) -> None:
    monkeypatch.setenv("RNNCOURSE_BUILD", "1")
    assert list(course.progress(range(3), desc="runs")) == [0, 1, 2]
    assert capsys.readouterr().out == "runs: 3/3 done\n"


def test_spread_and_paired_interval() -> None:
    s = course.spread([0.5, 1.0, 0.75])
    assert (s["mean"], s["min"], s["max"], s["n"]) == (0.75, 0.5, 1.0, 3)
    np.testing.assert_allclose(s["std"], 0.25, rtol=1e-12)
    assert course.fmt_spread([0.5, 1.0, 0.75]) == "0.75 (0.50–1.00)"
    assert course.fmt_spread([0.5, 1.0], ".0f", percent=True) == "75 % (50–100 %)"
    # differences 1, 1, 2: mean 4/3, t(0.975, 2) = 4.3027, sd = 0.57735
    d = course.paired_interval([2, 3, 5], [1, 2, 3])
    np.testing.assert_allclose(d["mean"], 4 / 3, rtol=1e-12)
    np.testing.assert_allclose(d["high"] - d["mean"], 4.302653 * 0.577350 / np.sqrt(3), rtol=1e-5)
    assert d["wins"] == 3 and d["n"] == 3
    with pytest.raises(ValueError):
        course.paired_interval([1], [0])


def test_train_recall_memory_bias_and_test_set() -> None:
    import torch

    torch.manual_seed(0)
    lstm = course.RecallNet("LSTM", 5, memory_bias=2.0)
    torch.manual_seed(0)
    plain = course.RecallNet("LSTM", 5)
    shift = (lstm.rec.bias_ih_l0 - plain.rec.bias_ih_l0).detach().numpy()
    np.testing.assert_allclose(shift, np.r_[np.zeros(5), 2 * np.ones(5), np.zeros(10)], atol=1e-6)
    assert course.n_params(plain) == 4 * (5 * (4 + 5) + 2 * 5) + 5 * 4 + 4
    # a short sequence is learnt: the solved criterion fires and stops training early
    run = course.train_recall("LSTM", 2, seed=0, steps=400, stop_when_solved=True)
    assert run["solved_at"] is not None and run["updates"] == run["solved_at"] < 400
    assert run["accuracy"] > 0.95


def test_apply_update_is_one_clipped_optimiser_step() -> None:
    """course.apply_update, the update of every training loop in the book, equals the explicit steps:
    clear the old gradients, back-propagate, clip the norm, step; it returns the loss."""
    import torch

    def model_and_loss(seed: int):
        torch.manual_seed(seed)
        model = torch.nn.Linear(3, 2).double()
        x = torch.randn(5, 3, dtype=torch.float64)
        return model, lambda: (100 * model(x)).pow(2).mean()        # a large gradient: clipping acts

    for clip in (None, 0.5):
        model, loss = model_and_loss(0)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for p in model.parameters():           # stale gradients that a missing zero_grad would add
            p.grad = torch.ones_like(p)
        value = loss()
        returned = course.apply_update(model, opt, value, clip)
        ref, ref_loss = model_and_loss(0)
        ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
        ref_value = ref_loss()
        ref_value.backward()
        if clip is not None:
            assert torch.nn.utils.clip_grad_norm_(ref.parameters(), clip) > 10 * clip
        ref_opt.step()
        assert returned == ref_value.item()
        for a, b in zip(model.parameters(), ref.parameters(), strict=True):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
