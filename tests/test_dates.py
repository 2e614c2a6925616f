"""Chapter 5's date task (book/dates.py): the generator writes what it says, and the model's shapes and masks.

The generator is checked against an independent reader (``datetime.strptime``) and against its own
spans; the model against the conventions of the chapter's attention (weights sum to 1 over the source,
0 on padding) and against the claim that packing makes a padded batch the same as unpadded sources.
"""

from __future__ import annotations

import datetime as dt
import re
import sys

import numpy as np
import pytest
import torch
from conftest import REPO

sys.path.insert(0, str(REPO / "book"))
import course  # noqa: E402
import dates  # noqa: E402

torch.set_num_threads(1)      # small tensors: one thread is faster, and the machine may be busy

# an independent reader for each format (strptime reads month and weekday names in any case)
READ = {
    "september 27, 1994": "%B %d, %Y", "September 27, 1994": "%B %d, %Y", "SEPTEMBER 27, 1994": "%B %d, %Y",
    "Sep 27, 1994": "%b %d, %Y", "27 september 1994": "%d %B %Y", "27 SEP 1994": "%d %b %Y",
    "9/27/94": "%m/%d/%y", "27.09.1994": "%d.%m.%Y", "Tue, Sep 27, 1994": "%a, %b %d, %Y",
}


@pytest.fixture(scope="module")
def data() -> dict:
    return dates.date_data(n_train=3000, n_test=900)


def _read(text: str, fmt: str) -> dt.date:
    date = dt.datetime.strptime(text, READ[fmt]).date()
    if "%y" in READ[fmt]:                                     # the task's pivot: 50-99 -> 19xx, 00-49 -> 20xx
        date = date.replace(year=(1900 if date.year % 100 >= 50 else 2000) + date.year % 100)
    return date


def test_every_format_has_a_reader_and_the_example_in_its_name() -> None:
    assert set(READ) == set(dates.FORMATS)
    for fmt in dates.FORMATS:
        assert dates.write(dt.date(1994, 9, 27), fmt)[0] == fmt


@pytest.mark.parametrize("part", ["train", "test"])
def test_targets_are_iso_and_every_source_reads_back_to_its_date(data, part) -> None:
    p = data[part]
    for date, fmt, text, target in zip(p["dates"], p["format"], p["text"], p["target"], strict=True):
        name = dates.FORMAT_NAMES[fmt]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", target) and dt.date.fromisoformat(target) == date
        assert dates.FIRST <= date <= dates.LAST
        assert _read(text, name) == date, (text, name)
        if name.startswith("Tue"):                            # strptime does not check the weekday: we do
            assert text[:3] == date.strftime("%a")
    assert [dates.decode(row) for row in p["src"].tolist()] == p["text"]
    assert [dates.decode(row) for row in p["tgt"].tolist()] == ["_" + t for t in p["target"]]


def test_every_format_is_one_to_one_over_the_range() -> None:
    days = [dates.FIRST + dt.timedelta(days=k) for k in range(0, (dates.LAST - dates.FIRST).days + 1, 7)]
    for fmt in dates.FORMATS:
        assert len({dates.write(d, fmt)[0] for d in days}) == len(days), fmt


def test_spans_hold_their_fields(data) -> None:
    p = data["test"]
    for date, text, groups in zip(p["dates"], p["text"], p["groups"], strict=True):
        assert len(groups) == len(text)
        field = {g: "".join(c for c, h in zip(text, groups, strict=True) if h == g) for g in dates.GROUPS}
        assert int(field["year"]) in (date.year, date.year % 100) and len(field["year"]) in (2, 4)
        assert int(field["day"]) == date.day
        month = field["month"].lower()
        assert (int(month) if month.isdigit() else [m[: len(month)] for m in dates.MONTHS].index(month) + 1) == date.month
        assert field["weekday"] in ("", date.strftime("%a"))
        assert set(field["none"]) <= set(" ,./")
    ids = p["group_ids"]
    assert ((ids == -1) == (p["src"].numpy() == dates.PAD)).all()


def test_split_has_no_date_in_common_and_is_seeded(data) -> None:
    train, test = data["train"], data["test"]
    assert not set(train["dates"]) & set(test["dates"])
    assert not set(train["text"]) & set(test["text"])
    again = dates.date_data(n_train=3000, n_test=900)
    assert again["test"]["text"] == test["text"] and torch.equal(again["train"]["src"], train["src"])
    assert all(np.ptp(np.bincount(part["format"])) <= 1 for part in (train, test))   # formats equally often


@pytest.mark.parametrize("bidirectional", [False, True])
def test_model_shapes_masks_and_packing(data, bidirectional) -> None:
    torch.manual_seed(0)
    H = 6
    model = dates.DateSeq2Seq(bidirectional=bidirectional, hidden=H, emb_dim=5).double()
    src, tgt = data["test"]["src"][:12], data["test"]["tgt"][:12]
    assert (src == dates.PAD).any(), "the check needs padded sources"
    width = (1 + bidirectional) * H
    with torch.no_grad():
        logits = model(src, tgt[:, :-1])
        alpha = model.decoder.weights
        states, (h, c) = model.encoder(src)
    N, S = src.shape
    assert logits.shape == (N, 10, dates.VOCAB_SIZE) and alpha.shape == (N, 10, S)
    assert states.shape == (N, S, width) and h.shape == c.shape == (1, N, width)
    np.testing.assert_allclose(alpha.sum(-1).numpy(), 1.0, rtol=1e-12, atol=1e-12)
    pad = (src == dates.PAD)[:, None, :].expand_as(alpha)
    assert (alpha[pad] == 0).all() and (states[src == dates.PAD] == 0).all()
    # packing: every example of the padded batch gets the states and final state it gets alone, unpadded
    for n in range(N):
        length = int((src[n] != dates.PAD).sum())
        with torch.no_grad():
            alone, (h1, c1) = model.encoder(src[n : n + 1, :length])
        np.testing.assert_allclose(states[n, :length].numpy(), alone[0].numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h[0, n].numpy(), h1[0, 0].numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c[0, n].numpy(), c1[0, 0].numpy(), rtol=1e-10, atol=1e-12)
        # the decoder starts from the forward direction after x_S (and the backward one after x_1)
        np.testing.assert_allclose(h1[0, 0, :H].numpy(), alone[0, -1, :H].numpy(), rtol=1e-12, atol=1e-12)
        if bidirectional:
            np.testing.assert_allclose(h1[0, 0, H:].numpy(), alone[0, 0, H:].numpy(), rtol=1e-12, atol=1e-12)


def test_bidirectional_states_see_both_sides() -> None:
    """Changing the last source character changes the bidirectional encoder's first state, not the one-way's."""
    a = torch.from_numpy(dates.encode(["27.09.1994", "27.09.1995"], 10))
    for bidirectional in (False, True):
        torch.manual_seed(1)
        encoder = dates.DateEncoder(4, 5, bidirectional)
        with torch.no_grad():
            states, _ = encoder(a)
        first_differs = not torch.allclose(states[0, 0], states[1, 0])
        assert first_differs == bidirectional


def test_parameters_matched_and_generation() -> None:
    H = 24
    K = dates.matched_hidden(H)
    bi = course.n_params(dates.DateSeq2Seq(bidirectional=True, hidden=H))
    one = course.n_params(dates.DateSeq2Seq(bidirectional=False, hidden=K))
    assert abs(one - bi) / bi < 0.03
    torch.manual_seed(0)
    model = dates.DateSeq2Seq(bidirectional=True, hidden=4)
    src = torch.from_numpy(dates.encode(["9/27/94", "Tue, Sep 27, 1994"], 17))
    guess, alpha = model.attention(src)
    assert guess.shape == (2, 10) and alpha.shape == (2, 10, 17)
    with torch.no_grad():                                    # the replayed weights are those of the greedy steps
        assert torch.equal(model(src, torch.cat([torch.full((2, 1), dates.START), guess[:, :-1]], 1)).argmax(-1), guess)


def test_group_mass_and_alignment() -> None:
    groups = np.array([[1, 4, 2, -1]])                         # month, none, day, padding
    alpha = torch.tensor([[[0.5, 0.25, 0.25, 0.0]] * 10])
    mass = dates.group_mass(alpha, groups)
    assert mass.shape == (1, 10, len(dates.GROUPS))
    np.testing.assert_allclose(mass.sum(-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mass[0, 0], [0, 0.5, 0.25, 0, 0.25], rtol=0, atol=1e-12)
    score = dates.alignment(mass)
    np.testing.assert_allclose([score["year"][0], score["month"][0], score["day"][0]], [0, 0.5, 0.25], atol=1e-12)


def test_a_short_run_reports_what_the_chapter_reads() -> None:
    r = dates.train_dates(seed=0, bidirectional=True, hidden=4, steps=4, eval_every=2, n_curve=20,
                          n_train=300, n_test=90)
    F = len(dates.FORMATS)
    assert r["curve"].shape == r["loss"].shape == (2,)
    assert r["by_format"].shape == (F,) and r["mass"].shape == (F, 10, len(dates.GROUPS))
    np.testing.assert_allclose(r["mass"].sum(-1), 1.0, rtol=1e-6)
    assert len(r["examples"]) == len(dates.DISPLAY_FORMATS)
    assert 0 <= r["final"] <= 1
