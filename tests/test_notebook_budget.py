"""Every solution notebook runs within a typical JupyterHub student's limits: one CPU core, 1 GB.

Each source notebook (solutions and hidden tests, the heaviest version of the assignment) is
executed by ``jupyter nbconvert --execute`` pinned to one core, as a student's server or a grading
pod would run it. The wall time includes Jupyter's own start-up; the memory is the peak resident
size of the largest process (the kernel).
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
WALL_LIMIT_S = 15.0
MEMORY_LIMIT_MB = 1024

pytestmark = pytest.mark.slow


def _one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_solution_notebook_fits_one_core_and_1gb(notebook: Path, tmp_path: Path) -> None:
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
    assert wall_s < WALL_LIMIT_S, f"{notebook.parent.name} took {wall_s:.1f} s (limit {WALL_LIMIT_S:.0f} s)"
    assert 50 < peak_mb < MEMORY_LIMIT_MB, f"{notebook.parent.name} peaked at {peak_mb:.0f} MB (limit {MEMORY_LIMIT_MB} MB)"
