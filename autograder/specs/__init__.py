"""Grading specs, one module per assignment: random cases, known mistakes, fair substitutions."""

from __future__ import annotations

import importlib

from ..grading import AssignmentSpec

#: assignment folder name (under solutions/ and exercises/) -> spec module
MODULES = {
    "01_rnn": "rnn",
    "02_gradients": "gradients",
    "03_lstm": "lstm",
    "04_gru": "gru",
    "05_seq2seq": "seq2seq",
}


def get_spec(assignment: str) -> AssignmentSpec:
    if assignment not in MODULES:
        raise KeyError(f"unknown assignment {assignment!r}; known: {sorted(MODULES)}")
    module = importlib.import_module(f"{__name__}.{MODULES[assignment]}")
    return module.SPEC
