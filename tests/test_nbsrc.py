"""The authoring tool round-trips nbgrader source notebooks."""

from __future__ import annotations

import sys

import pytest
from conftest import ASSIGNMENTS, REPO, source_notebook

sys.path.insert(0, str(REPO / "tools"))
import nbsrc  # noqa: E402

SCRIPT = '''# %% [markdown]
# # Title

# %% setup id=setup
import numpy as np

# %% solution id=f
def f(x):
    ### BEGIN SOLUTION
    return x
    ### END SOLUTION

# %% test id=test_f points=2
assert f(1) == 1

# %% answer id=why points=1
# YOUR ANSWER HERE
'''


def test_markers_become_nbgrader_metadata() -> None:
    nb = nbsrc.build(SCRIPT)
    kinds = [(c.cell_type, c.metadata["nbgrader"].get("grade"), c.metadata["nbgrader"].get("solution"))
             for c in nb.cells]
    assert kinds == [("markdown", False, False), ("code", False, False), ("code", False, True),
                     ("code", True, False), ("markdown", True, True)]
    assert nb.cells[3].metadata["nbgrader"]["points"] == 2
    assert nb.cells[1].metadata["tags"] == ["setup"]


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(SystemExit, match="duplicate"):
        nbsrc.build("# %% solution id=a\nx=1\n# %% solution id=a\ny=2\n")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_sources_round_trip(assignment: str) -> None:
    import nbformat

    nb = nbformat.read(source_notebook(assignment), as_version=4)
    again = nbsrc.build(nbsrc.export(nb))
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]
    assert [c.metadata.get("nbgrader") for c in again.cells] == [c.metadata.get("nbgrader") for c in nb.cells]
