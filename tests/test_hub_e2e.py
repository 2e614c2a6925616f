"""A whole term in a real JupyterHub, end to end: `hub/run_hub.py` starts JupyterHub (from PyPI) with
configurable-http-proxy (from npm) on a free loopback port, its state in a pytest tmp folder; three
students fetch, solve, validate and submit the LSTM assignment (one through the browser, two from a
terminal); the instructor collects, grades with `autograder grade`, releases feedback, and each
student fetches it. Screenshots go to _build/screenshots/hub-*.png.

Also (fast, no hub): the Kubernetes files of deploy/ parse and hold the keys deploy/README.md relies on.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import REPO
from hub_browser import (
    browser,
    log_in,
    menu_items,
    open_menu_item,
    run_all_cells,
    wait_for_kernel_idle,
    wait_for_lab,
)

from autograder.reference import strip_solution_markers
from autograder.sandbox import bwrap_available

sys.path.insert(0, str(REPO / "hub"))
import run_hub  # noqa: E402 - the launcher is a script folder, not a package

ASSIGNMENT = "03_lstm"
NOTEBOOK = "lstm.ipynb"
FULL = {"test_forget_gate": 2.0, "test_input_gate": 2.0, "test_candidate": 2.0, "test_output_gate": 2.0,
        "test_cell_update": 2.0, "test_hidden_update": 2.0, "test_lstm_cell": 3.0, "test_lstm_forward": 3.0,
        "test_lstm_cell_backward": 3.0}
SCREENSHOTS = REPO / "_build" / "screenshots"
STUDENTS = ["ada", "grace", "alan"]  # correct, partly wrong, malicious
WRONG_FORGET_GATE = '''def forget_gate(x, h_prev, W_xf, W_hf, b_f):
    """Forget gate (with the wrong nonlinearity)."""
    return np.tanh(x @ W_xf + h_prev @ W_hf + b_f)
'''
EXIT_KERNEL = "import os\nos._exit(1)\n"  # in the cell_update answer cell: the process ends there


def filled_in(released: Path, overrides: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The student's released notebook with every answer cell filled in from the source notebook
    (as a good student would), then the cells of ``overrides`` (grade id -> source) replaced."""
    source = nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
               for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
    answers.update(overrides or {})
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        key = cell.metadata.get("nbgrader", {}).get("grade_id")
        if key in answers:
            cell.source = answers[key]
    return nb


# ---------------------------------------------------------------------------------------------
# The term


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the whole term once; everything the checks need is returned (the hub is stopped)."""
    if not bwrap_available():
        pytest.fail("bubblewrap is required for the grader's sandbox (apt-get install bubblewrap)")
    state = tmp_path_factory.mktemp("hub") / "state"
    state.mkdir()
    proxy = run_hub.ensure_proxy(REPO / ".hub")
    settings = run_hub.load_or_create_settings(state, port=run_hub.free_port(), proxy_command=proxy,
                                               instructor="instructor", students=STUDENTS)
    out: dict = {"settings": settings, "times": {}}
    t0 = time.perf_counter()
    run_hub.prepare(settings, assignments=[ASSIGNMENT], log=lambda m: None)
    out["times"]["prepare"] = time.perf_counter() - t0
    # The student's own JupyterLab setting: render every cell (the test reads outputs from the page).
    tracker = settings.home("ada") / ".jupyter/lab/user-settings/@jupyterlab/notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    hub = run_hub.Hub(settings)
    url = settings.url
    try:
        t0 = time.perf_counter()
        hub.start()
        out["times"]["hub start"] = time.perf_counter() - t0
        with browser() as b:
            # --- ada, in the browser: fetch, fill in, run, validate, submit ---------------------
            t0 = time.perf_counter()
            ada = log_in(b, url, "ada", settings.student_password)
            wait_for_lab(ada)
            out["times"]["ada login + spawn"] = time.perf_counter() - t0
            out["ada_menu"] = menu_items(ada, "Nbgrader")
            out["ada_formgrader_status"] = ada.request.get(f"{url}/user/ada/formgrader").status
            open_menu_item(ada, "Nbgrader", "Assignment List")
            assignments = ada.locator("#nbgrader-assignment-list")
            assignments.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
            assignments.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
            released = settings.home("ada") / ASSIGNMENT / NOTEBOOK
            out["ada_fetched"] = released.exists()
            nbformat.write(filled_in(released), released)  # the student's answers, file replaced
            ada.goto(f"{url}/user/ada/lab/tree/{ASSIGNMENT}/{NOTEBOOK}?reset")
            wait_for_lab(ada)
            wait_for_kernel_idle(ada)
            t0 = time.perf_counter()
            out["ada_outputs"] = run_all_cells(ada, "largest difference from finite differences")
            out["times"]["ada run all cells (browser)"] = time.perf_counter() - t0
            ada.keyboard.press("Control+s")
            ada.locator(".jp-mod-dirty").first.wait_for(state="detached")
            ada.locator(".jp-OutputArea-output", has_text="forget_gate: OK").first.scroll_into_view_if_needed()
            ada.mouse.wheel(0, 250)  # the function cell above its test, and the next part
            ada.screenshot(path=str(SCREENSHOTS / "hub-student-notebook.png"))
            t0 = time.perf_counter()
            ada.locator(".jp-Toolbar-item", has_text="Validate").first.click()
            dialog = ada.locator(".jp-Dialog")
            dialog.wait_for()
            dialog.locator(".validation-success, .validation-failed, .validation-error, .validation-changed"
                           ).first.wait_for()
            out["ada_validation"] = dialog.inner_text()
            out["times"]["ada validate (button)"] = time.perf_counter() - t0
            dialog.get_by_role("button", name="Ok").click()
            open_menu_item(ada, "Nbgrader", "Assignment List")
            assignments = ada.locator("#nbgrader-assignment-list")
            assignments.locator("#fetched_assignments_list").get_by_role("button", name="Submit").first.click()
            assignments.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
            ada.screenshot(path=str(SCREENSHOTS / "hub-student-assignments.png"))

            # --- grace and alan, from a terminal (at the same time, as in a lab session) ---------
            def from_terminal(student: str, overrides: dict[str, str]) -> str:
                run_hub.run_as(settings, student, "nbgrader", "fetch_assignment", ASSIGNMENT)
                path = settings.home(student) / ASSIGNMENT / NOTEBOOK
                nbformat.write(filled_in(path, overrides), path)
                proc = run_hub.run_as(settings, student, "nbgrader", "validate", f"{ASSIGNMENT}/{NOTEBOOK}",
                                      check=False)
                run_hub.run_as(settings, student, "nbgrader", "submit", ASSIGNMENT)
                return proc.stdout + proc.stderr

            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                grace = pool.submit(from_terminal, "grace", {"forget_gate": WRONG_FORGET_GATE})
                alan = pool.submit(from_terminal, "alan", {"cell_update": EXIT_KERNEL})
                out["grace_validation"], out["alan_validation"] = grace.result(), alan.result()
            out["times"]["grace + alan fetch/validate/submit (CLI, in parallel)"] = time.perf_counter() - t0

            # --- the instructor: collect, grade, release feedback --------------------------------
            course = settings.course
            t0 = time.perf_counter()
            collect = run_hub.run_as(settings, "instructor", "nbgrader", "collect", ASSIGNMENT, cwd=course)
            out["collect_log"] = collect.stdout + collect.stderr
            grade = run_hub.run_as(settings, "instructor", "autograder", "grade", ASSIGNMENT, "--course",
                                   str(course), "--jobs", "2", "--seed", "2026", "-q", cwd=course)
            out["grade_log"] = grade.stderr
            out["times"]["collect + grade"] = time.perf_counter() - t0
            with (course / "graded" / ASSIGNMENT / "grades.csv").open() as fh:
                out["rows"] = {row["student_id"]: row for row in csv.DictReader(fh)}
            with (course / "graded" / ASSIGNMENT / "grades_long.csv").open() as fh:
                out["long"] = list(csv.DictReader(fh))
            run_hub.run_as(settings, "instructor", "nbgrader", "release_feedback", ASSIGNMENT, cwd=course)
            out["feedback"] = {}
            for student in STUDENTS:
                run_hub.run_as(settings, student, "nbgrader", "fetch_feedback", ASSIGNMENT)
                out["feedback"][student] = sorted((settings.home(student) / ASSIGNMENT / "feedback").glob("*/*.html"))

            # --- the instructor in the browser: tools, then the class report ----------------------
            t0 = time.perf_counter()
            teacher = log_in(b, url, "instructor", settings.instructor_password)
            wait_for_lab(teacher)
            out["times"]["instructor login + spawn"] = time.perf_counter() - t0
            out["instructor_menu"] = menu_items(teacher, "Nbgrader")
            out["instructor_formgrader_status"] = teacher.request.get(f"{url}/user/instructor/formgrader").status
            teacher.goto(f"{url}/user/instructor/files/course/graded/{ASSIGNMENT}/report.html")
            teacher.wait_for_load_state("load")
            out["report_text"] = teacher.locator("body").inner_text()
            out["report_images"] = teacher.evaluate(
                "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
            teacher.screenshot(path=str(SCREENSHOTS / "hub-instructor-report.png"), full_page=True)
    except Exception:
        print(f"--- last lines of the hub's log ---\n{hub.log_tail()}")
        raise
    finally:
        hub.stop()
        out["left_running"] = run_hub.marked_pids(str(state))
    return out


def points(row: dict[str, str]) -> dict[str, float]:
    return {part: float(row[part]) for part in FULL}


@pytest.mark.slow
def test_students_see_only_the_student_tools(term) -> None:
    assert term["ada_menu"] == ["Assignment List"], term["ada_menu"]
    assert term["ada_formgrader_status"] == 404
    assert "Formgrader" in term["instructor_menu"] and "Assignment List" in term["instructor_menu"]
    assert term["instructor_formgrader_status"] == 200


@pytest.mark.slow
def test_the_student_works_in_jupyterlab(term) -> None:
    assert term["ada_fetched"]
    outputs = term["ada_outputs"]
    checks = re.findall(r"^\s*(\w+): OK\s*$", outputs, flags=re.M)
    assert {"forget_gate", "input_gate", "candidate", "output_gate", "cell_update", "hidden_update",
            "lstm_cell", "lstm_forward"} <= set(checks), outputs[-3000:]
    assert "Error" not in outputs, outputs[-3000:]
    assert "passes all the tests" in term["ada_validation"], term["ada_validation"]
    assert (SCREENSHOTS / "hub-student-notebook.png").stat().st_size > 20_000


@pytest.mark.slow
def test_validate_tells_the_other_students_what_is_wrong(term) -> None:
    assert "VALIDATION FAILED" in term["grace_validation"] or "forget_gate" in term["grace_validation"]
    assert "Kernel died" in term["alan_validation"], term["alan_validation"][-2000:]


@pytest.mark.slow
def test_collect_finds_every_submission(term) -> None:
    for student in STUDENTS:
        assert f"Collecting submission: {student} {ASSIGNMENT}" in term["collect_log"], term["collect_log"]
    assert "cheating" not in term["collect_log"].lower()


@pytest.mark.slow
def test_the_grades(term) -> None:
    rows = term["rows"]
    assert set(rows) == set(STUDENTS)
    assert rows["ada"]["status"] == "graded" and points(rows["ada"]) == FULL, rows["ada"]
    assert float(rows["ada"]["autograded_total"]) == sum(FULL.values())
    assert rows["grace"]["status"] == "graded", rows["grace"]
    assert points(rows["grace"]) == {**FULL, "test_forget_gate": 0.0}, rows["grace"]
    (diagnosis,) = [r["diagnosis"] for r in term["long"]
                    if r["student_id"] == "grace" and r["part"] == "test_forget_gate"]
    assert "tanh" in diagnosis and "sigmoid" in diagnosis, diagnosis
    crashed = rows["alan"]
    assert crashed["status"] == "crashed" and "process ended" in crashed["reason"], crashed
    later = ("test_cell_update", "test_hidden_update", "test_lstm_cell", "test_lstm_forward",
             "test_lstm_cell_backward")
    assert points(crashed) == {**FULL, **dict.fromkeys(later, 0.0)}, crashed


@pytest.mark.slow
def test_every_student_fetches_their_feedback(term) -> None:
    for student in STUDENTS:
        pages = term["feedback"][student]
        assert [p.name for p in pages] == ["lstm.html"], (student, pages)
    grace = term["feedback"]["grace"][0].read_text()
    assert "def forget_gate" in grace and "tanh" in grace
    assert "process ended" in term["feedback"]["alan"][0].read_text()


@pytest.mark.slow
def test_the_instructor_reads_the_class_report(term) -> None:
    for student in STUDENTS:
        assert student in term["report_text"]
    assert term["report_images"] >= 3
    assert (SCREENSHOTS / "hub-instructor-report.png").stat().st_size > 20_000


@pytest.mark.slow
def test_nothing_is_left_running(term) -> None:
    assert term["left_running"] == []
    print("timings (s):", json.dumps({k: round(v, 1) for k, v in term["times"].items()}))


# ---------------------------------------------------------------------------------------------
# deploy/: Zero to JupyterHub values and the grading Job (parsed offline; no Kubernetes here)


def _load_all(path: Path) -> list[dict]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} is empty"
    return docs


def _quantity(text: str) -> float:
    """A Kubernetes quantity in bytes or cores: '1G', '512Mi', '500m', '2'."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match, text
    return float(match.group(1)) * units.get(match.group(2), 1)


def test_zero_to_jupyterhub_values() -> None:
    (values,) = _load_all(REPO / "deploy" / "values.yaml")
    single = values["singleuser"]
    assert single["image"]["name"] and single["image"]["tag"]
    # The solution notebooks need < 1 GB and < 15 s on one core: the limits leave room for both.
    assert 1e9 <= _quantity(single["memory"]["limit"]) <= 4 * 2**30
    assert _quantity(single["memory"]["guarantee"]) <= _quantity(single["memory"]["limit"])
    assert 1 <= _quantity(single["cpu"]["limit"]) <= 2
    assert single["defaultUrl"] == "/lab"
    volumes = {v["name"]: v for v in single["storage"]["extraVolumes"]}
    mounts = {m["name"]: m for m in single["storage"]["extraVolumeMounts"]}
    assert "nbgrader-exchange" in volumes and "nbgrader-exchange" in mounts
    exchange_claim = volumes["nbgrader-exchange"]["persistentVolumeClaim"]["claimName"]
    exchange_path = mounts["nbgrader-exchange"]["mountPath"]
    assert exchange_path in single["extraFiles"]["nbgrader-config"]["stringData"]
    assert values["hub"]["config"]["Authenticator"]["admin_users"]
    assert "JupyterHub" in values["hub"]["config"]
    claims = {d["metadata"]["name"]: d for d in _load_all(REPO / "deploy" / "exchange-pvc.yaml")}
    assert claims[exchange_claim]["kind"] == "PersistentVolumeClaim"
    assert "ReadWriteMany" in claims[exchange_claim]["spec"]["accessModes"]
    # The instructor's course volume named in the spawn hook exists too.
    for name in re.findall(r'"claimName": "([^"]+)"', values["hub"]["extraConfig"]["10-instructor-tools"]):
        assert name in claims, name
    compile(values["hub"]["extraConfig"]["10-instructor-tools"], "extraConfig", "exec")


def test_grading_job_manifest() -> None:
    text = (REPO / "deploy" / "grading-job.yaml").read_text()
    # The README's command fills in the two placeholders; the result must be a valid Job.
    filled = text.replace("ASSIGNMENT_ID", "03_lstm").replace("JOB_SUFFIX", "03-lstm")
    (job,) = [d for d in yaml.safe_load_all(filled) if d is not None]
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", job["metadata"]["name"]), job["metadata"]["name"]
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    argv = [str(a) for a in container["command"] + container.get("args", [])]
    assert argv[:3] == ["autograder", "grade", "03_lstm"]
    option, rest = {}, argv[3:]
    while rest:  # "--name value" or a lone flag
        name, rest = rest[0], rest[1:]
        assert name.startswith("--"), argv
        if rest and not rest[0].startswith("--"):
            option[name], rest = rest[0], rest[1:]
        else:
            option[name] = True
    jobs, memory_mb = int(option["--jobs"]), int(option["--memory"])
    assert option["--course"] == container["workingDir"]
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    # Every sandbox may reach its memory cap at once; one core per parallel submission.
    assert _quantity(limits["memory"]) >= jobs * memory_mb * 2**20
    assert _quantity(limits["cpu"]) >= jobs and requests == limits
    # bubblewrap needs user namespaces, which the runtime's default seccomp / AppArmor refuse.
    assert container["securityContext"]["seccompProfile"]["type"] == "Unconfined"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert {v["name"] for v in pod["volumes"]} == set(mounts)
    assert option["--course"] in mounts.values()
    (claims,) = [[d["metadata"]["name"] for d in _load_all(REPO / "deploy" / "exchange-pvc.yaml")]]
    assert {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]} <= set(claims)
