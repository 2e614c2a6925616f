"""Sealed reference answers open only for the exact arguments of the reference's calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder import serialize
from autograder.oracle import SealedTable, StandIn, trace_reference


def _gate(x, w):
    return np.tanh(x @ w)


def _cell(x, w):
    return 2.0 * _gate(x, w)


def test_sealed_answers_open_only_with_the_exact_arguments(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 3))
    table = SealedTable()
    table.add("gate", {"x": x, "w": w}, _gate(x, w))
    table.save(tmp_path / "t.npz")
    loaded = SealedTable.load(tmp_path / "t.npz")
    found, value = loaded.lookup("gate", {"x": x.copy(), "w": w})
    assert found
    np.testing.assert_array_equal(value, _gate(x, w))
    assert loaded.lookup("gate", {"x": x + 1e-12, "w": w}) == (False, None)
    assert loaded.lookup("other", {"x": x, "w": w}) == (False, None)
    # The file holds no plaintext of the answer.
    raw = (tmp_path / "t.npz").read_bytes()
    assert _gate(x, w).tobytes() not in raw


def test_trace_reference_seals_every_call_and_stand_in_uses_it() -> None:
    rng = np.random.default_rng(1)
    inputs = {"x": rng.standard_normal((2, 3)), "w": rng.standard_normal((3, 3))}
    table = SealedTable()
    trace_reference(_cell, {"_gate": _gate}, inputs, table)
    assert len(table.entries) == 1

    def broken_gate(x, w):
        raise NotImplementedError()

    stand_in = StandIn("_gate", broken_gate, table)
    np.testing.assert_array_equal(stand_in(inputs["x"], w=inputs["w"]), _gate(**inputs))
    other = StandIn("_gate", lambda x, w: "own", table)
    assert other(inputs["x"] * 2, inputs["w"]) == "own"


def test_serialize_round_trip_and_refuses_objects(tmp_path: Path) -> None:
    torch = __import__("torch")
    record = {"a": (np.arange(3.0), 2, 1.5, None, "s", [True]), "t": torch.ones(2, dtype=torch.float64),
              "m": torch.nn.Linear(2, 2)}
    serialize.save(tmp_path / "r", record)
    back = serialize.load(tmp_path / "r")
    np.testing.assert_array_equal(back["a"][0], np.arange(3.0))
    assert back["a"][1:] == (2, 1.5, None, "s", [True])
    assert torch.equal(back["t"], record["t"])
    assert isinstance(back["m"], serialize.Opaque) and back["m"].type_name == "Linear"
