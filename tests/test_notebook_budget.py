"""Every solution notebook runs within a typical JupyterHub student's limits: one CPU core, 1 GB.

Each source notebook (solutions and hidden tests, the heaviest version of the assignment) is
executed by ``jupyter nbconvert --execute`` pinned to one core, as a student's server or a grading
pod would run it. The wall time includes Jupyter's own start-up; the memory is the peak resident
size of the largest process (the kernel).

**The 15 s are 15 s of a reference core**, the one on which the budget was set (issue 5): there, one
update of assignment 5's training recipe (its own ``train_model``, 400 updates in 2.35 s) took
``REFERENCE_UPDATE_S``. Machines that run these tests differ by a factor of 2.5 (chapter 4's page, unchanged,
executed in 50.7 s on one and 113 s on another), and a wall-clock limit fixed in seconds failed on
the slow ones whatever the notebooks did. So the test first times the same updates on the core it
runs on, and scales the limit by how much slower that core is (never below 15 s): a notebook that
doubles its work still fails everywhere, a slower machine alone does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))
WALL_LIMIT_S = 15.0             # on the reference core
REFERENCE_UPDATE_S = 2.35 / 400  # one update of assignment 5's train_model on the reference core
MEMORY_LIMIT_MB = 1024
CALIBRATION = """
import json, sys, time, contextlib, io
import torch
cells = [c for c in json.load(open(sys.argv[1]))["cells"] if c["cell_type"] == "code"]
names = {}
with contextlib.redirect_stdout(io.StringIO()):
    for cell in cells:          # the set-up and every function up to train_model, with their checks
        exec("".join(cell["source"]), names)
        if "def train_model" in "".join(cell["source"]):
            break
train_src, train_tgt, _, _ = names["heldout_problems"](names["N_TRAIN"], names["N_TEST"], seed=0)
names["train_model"](train_src, train_tgt, 20, 0)        # warm-up
times = []
for repeat in range(3):
    start = time.perf_counter()
    names["train_model"](train_src, train_tgt, 50, repeat)
    times.append((time.perf_counter() - start) / 50)
print(min(times))
"""

pytestmark = pytest.mark.slow


def _one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@pytest.fixture(scope="module")
def core_slowdown() -> float:
    """How many times slower this core runs assignment 5's training updates than the reference core
    (at least 1): the wall-clock limit is scaled by it."""
    notebook = REPO / "solutions" / "05_seq2seq" / "seq2seq.ipynb"
    done = subprocess.run([sys.executable, "-c", CALIBRATION, str(notebook)], cwd=notebook.parent,
                          capture_output=True, text=True, preexec_fn=_one_core, timeout=300)
    assert done.returncode == 0, f"the calibration failed:\n{done.stderr[-3000:]}"
    update_s = float(done.stdout.split()[-1])
    slowdown = max(1.0, update_s / REFERENCE_UPDATE_S)
    print(f"\none update of train_model: {update_s * 1e3:.1f} ms on this core, {REFERENCE_UPDATE_S * 1e3:.1f} ms "
          f"on the reference core: limit {WALL_LIMIT_S * slowdown:.1f} s")
    return slowdown


def test_the_calibration_times_real_work(core_slowdown: float) -> None:
    # A slowdown of 5 or more would mean that the calibration measures something else (a loaded machine):
    # the scaled limit would then hide a real regression.
    assert 1.0 <= core_slowdown < 5.0, f"this core is {core_slowdown:.1f} times slower than the reference core"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_solution_notebook_fits_one_core_and_1gb(notebook: Path, tmp_path: Path, core_slowdown: float) -> None:
    # Run in a child process of its own, so that RUSAGE_CHILDREN reports this notebook only.
    script = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute',\n"
        "                '--output-dir', sys.argv[2], sys.argv[1]], check=True, capture_output=True)\n"
        "wall = time.perf_counter() - start\n"
        "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, str(notebook), str(tmp_path)], cwd=notebook.parent,
                          env=env, capture_output=True, text=True, preexec_fn=_one_core, timeout=300)
    assert done.returncode == 0, f"{notebook.name} failed to execute:\n{done.stderr[-3000:]}"
    wall_s, peak_kb = done.stdout.split()
    wall_s, peak_mb = float(wall_s), int(peak_kb) / 1024
    print(f"{notebook.parent.name}: {wall_s:.1f} s on one core, peak {peak_mb:.0f} MB "
          f"({time.perf_counter() - started:.1f} s with this test's start-up)")
    limit_s = WALL_LIMIT_S * min(core_slowdown, 5.0)
    assert wall_s < limit_s, (f"{notebook.parent.name} took {wall_s:.1f} s (limit {limit_s:.1f} s: "
                              f"{WALL_LIMIT_S:.0f} s on the reference core, this core {core_slowdown:.2f} times slower)")
    assert 50 < peak_mb < MEMORY_LIMIT_MB, f"{notebook.parent.name} peaked at {peak_mb:.0f} MB (limit {MEMORY_LIMIT_MB} MB)"
