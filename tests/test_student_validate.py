"""What a student sees: nbgrader's Validate and Restart Kernel and Run All Cells on their notebook.

Validate (the JupyterLab button and `nbgrader validate`) must fail whenever a visible check fails,
including the checks of the composites (`lstm_cell`, `rnn_forward`...), whose checks sit in their own
0-point grade cells so that they cost no points; an optional bonus left alone ends the run clean.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, filled_notebook

pytestmark = pytest.mark.slow




def validate(nb: nbformat.NotebookNode, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "student.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(BIN / "nbgrader"), "validate", str(path)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    return proc.stdout + proc.stderr


LSTM_CELL_SWAPPED = '''def lstm_cell(x, h_prev, c_prev, params):
    p = params
    f = forget_gate(x, h_prev, p["W_xf"], p["W_hf"], p["b_f"])
    i = input_gate(x, h_prev, p["W_xi"], p["W_hi"], p["b_i"])
    g = candidate(x, h_prev, p["W_xg"], p["W_hg"], p["b_g"])
    o = output_gate(x, h_prev, p["W_xo"], p["W_ho"], p["b_o"])
    c = cell_update(f, i, g, c_prev)
    return c, hidden_update(o, c)
'''
LSTM_FORWARD_SHORT = '''def lstm_forward(x, h0, c0, params):
    h, c, hs = h0, c0, []
    for t in range(x.shape[1] - 1):
        h, c = lstm_cell(x[:, t], h, c, params)
        hs.append(h)
    return np.stack(hs, axis=1), c
'''
RNN_FORWARD_SHORT = '''def rnn_forward(x, h0, W_xh, W_hh, b_h):
    h, hs = h0, []
    for t in range(x.shape[1] - 1):
        h = rnn_cell(x[:, t], h, W_xh, W_hh, b_h)
        hs.append(h)
    return np.stack(hs, axis=1)
'''
RNN_BACKWARD_NO_FUTURE = '''def rnn_backward(dh, x, h0, h, W_xh, W_hh):
    grads = {"dx": np.zeros_like(x), "dW_xh": np.zeros_like(W_xh), "dW_hh": np.zeros_like(W_hh),
             "db_h": np.zeros(W_hh.shape[0])}
    for t in reversed(range(x.shape[1])):
        before = h[:, t - 1] if t > 0 else h0
        local = rnn_step_backward(dh[:, t], x[:, t], before, h[:, t], W_xh, W_hh)
        grads["dx"][:, t] = local["dx"]
        for k in ("dW_xh", "dW_hh", "db_h"):
            grads[k] += local[k]
        grads["dh0"] = local["dh_prev"]
    return grads
'''


@pytest.mark.parametrize("assignment", ["01_rnn", "03_lstm"])
def test_validate_passes_a_correct_notebook(tmp_path: Path, assignment: str) -> None:
    out = validate(filled_notebook(assignment), tmp_path)
    assert "Success! Your notebook passes all the tests." in out, out[-3000:]


@pytest.mark.parametrize("assignment, overrides, says", [
    ("03_lstm", {"lstm_cell": LSTM_CELL_SWAPPED}, "returned (c, h); return (h, c) in that order"),
    ("03_lstm", {"lstm_forward": LSTM_FORWARD_SHORT}, "one time step missing"),
    ("01_rnn", {"rnn_forward": RNN_FORWARD_SHORT}, "one time step missing"),
    ("01_rnn", {"rnn_backward": RNN_BACKWARD_NO_FUTURE}, "wrong values"),
], ids=["lstm_cell-(c,h)", "lstm_forward-T-1", "rnn_forward-T-1", "rnn_backward-no-future"])
def test_validate_fails_on_a_wrong_composite(tmp_path: Path, assignment: str, overrides: dict, says: str) -> None:
    out = validate(filled_notebook(assignment, overrides), tmp_path)
    assert "Success!" not in out, out[-3000:]
    assert "VALIDATION FAILED" in out, out[-3000:]
    (name,) = overrides
    assert f"`{name}`" in out, out[-3000:]
    # what the student reads in the failing check cell (Validate shortens it)
    from conftest import student_namespace

    ns = student_namespace(assignment)
    exec(compile(overrides[name], f"<student {name}>", "exec"), ns)  # noqa: S102
    check = next(c.source for c in filled_notebook(assignment).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == f"check_{name}")
    with pytest.raises(AssertionError, match=re.escape(says)):
        exec(compile(check, f"<check_{name}>", "exec"), ns)  # noqa: S102


def _run_all(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def test_unattempted_bonus_ends_restart_and_run_all_clean(tmp_path: Path) -> None:
    """Every required function done, the bonus left alone: no red error anywhere, the bonus says it is
    optional, and Validate passes."""
    nb = filled_notebook("03_lstm", blank=("lstm_cell_backward",))
    ran = _run_all(nbformat.from_dict(nb), tmp_path / "run")
    errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.get("ename"), o.get("evalue"))
              for c in ran.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    printed = "".join(o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "lstm_cell_backward: optional, not attempted" in printed
    out = validate(nb, tmp_path / "validate")
    assert "Success! Your notebook passes all the tests." in out, out[-3000:]
