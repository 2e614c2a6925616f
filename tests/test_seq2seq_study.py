"""Chapter 5's study (book/seq2seq_study.py): the results file the chapter reads can be regenerated.

`make experiments` runs the full study and writes book/results/seq2seq_study.json. This test reruns
a shortened version of the same script (two of the file's seeds, a short budget) and checks that
every configuration's numbers at the shortened budget agree with the file's numbers at the same
point of training, within the spread between the file's own seeds. With the same seed, a short run
is the beginning of the long one (same initial weights, same batches), so on the machine that wrote
the file the numbers agree exactly; elsewhere rounding may differ slightly, hence the tolerance.
"""

from __future__ import annotations

import json
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "book"))
import seq2seq_study as study  # noqa: E402

RESULTS = json.loads(study.RESULTS.read_text())


def test_the_file_records_how_it_was_made() -> None:
    for part in study.PARTS:
        meta = RESULTS["meta"][part]
        assert meta["command"].startswith("python book/seq2seq_study.py")
        assert "--quick" not in meta["command"]
        assert len(meta["seeds"]) >= 5
        assert {"torch", "numpy", "python"} <= set(meta["versions"])
    names = {r["config"] for r in RESULTS["addition"]}
    assert names == set(study.ADDITION_CONFIGS)
    for name in names:
        seeds = sorted(r["seed"] for r in RESULTS["addition"] if r["config"] == name)
        assert seeds == RESULTS["meta"]["addition"]["seeds"], name
    assert RESULTS["settings"]["addition"] == study.FULL["addition"]
    assert RESULTS["settings"]["copy"] == study.FULL["copy"]
    assert RESULTS["settings"]["dates"] == study.FULL["dates"]
    for bidirectional in (False, True):
        seeds = sorted(r["seed"] for r in RESULTS["dates"] if r["bidirectional"] == bidirectional)
        assert seeds == RESULTS["meta"]["dates"]["seeds"], bidirectional


def _within_spread(quick: float, full_same_seed: float, full_all_seeds: list[float], what: str) -> None:
    spread = max(full_all_seeds) - min(full_all_seeds)
    tolerance = max(spread, 0.02)
    assert abs(quick - full_same_seed) <= tolerance, (what, quick, full_same_seed, full_all_seeds)


@pytest.fixture(scope="module")
def quick() -> dict:
    return study.run_study(study.QUICK)


def test_addition_rerun_agrees_with_the_file(quick: dict) -> None:
    budget = study.QUICK["addition"]
    n_points = budget["steps"] // budget["eval_every"]
    assert budget["eval_every"] == RESULTS["settings"]["addition"]["eval_every"]
    for run in quick["addition"]:
        same = [r for r in RESULTS["addition"] if r["config"] == run["config"]]
        twin = next(r for r in same if r["seed"] == run["seed"])
        assert run["params"] == twin["params"]
        for k in range(n_points):
            _within_spread(run["curve"][k], twin["curve"][k], [r["curve"][k] for r in same],
                           f"{run['config']} seed {run['seed']} exact match at evaluation {k}")
            _within_spread(run["loss"][k], twin["loss"][k], [r["loss"][k] for r in same],
                           f"{run['config']} seed {run['seed']} loss at evaluation {k}")


def test_copy_rerun_agrees_with_the_file(quick: dict) -> None:
    n_points = study.QUICK["copy"]["steps"] // 250
    for run in quick["copy"]:
        same = [r for r in RESULTS["copy"] if r["attention"] == run["attention"]]
        twin = next(r for r in same if r["seed"] == run["seed"])
        for k in range(n_points):
            _within_spread(run["loss"][k], twin["loss"][k], [r["loss"][k] for r in same],
                           f"copy attention={run['attention']} seed {run['seed']} loss at point {k}")


def test_dates_rerun_agrees_with_the_file(quick: dict) -> None:
    budget = study.QUICK["dates"]
    assert budget["hidden"] == RESULTS["settings"]["dates"]["hidden"]
    assert budget["batch"] == RESULTS["settings"]["dates"]["batch"]
    for run in quick["dates"]:
        same = [r for r in RESULTS["dates"] if r["bidirectional"] == run["bidirectional"]]
        twin = next(r for r in same if r["seed"] == run["seed"])
        assert run["params"] == twin["params"] and run["hidden"] == twin["hidden"]
        n_points = budget["steps"] // run["eval_every"]
        assert len(run["curve"]) == n_points
        for k in range(n_points):
            what = f"dates bidirectional={run['bidirectional']} seed {run['seed']}"
            _within_spread(run["curve"][k], twin["curve"][k], [r["curve"][k] for r in same],
                           f"{what}: exact match at evaluation {k}")
            _within_spread(run["loss"][k], twin["loss"][k], [r["loss"][k] for r in same],
                           f"{what}: loss at evaluation {k}")
