"""The hidden-test machinery: references from the source notebooks, fresh cases, diagnoses; the
specs found by their assignment's name; the package's modules importing one another without a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from autograder import specs
from autograder.hidden_tests import grade_function, substituted
from autograder.reference import ReferenceUnavailable, course_root, load_reference
from autograder.spec_kit import FunctionSpec, patched, swapped, with_globals, with_inputs, zeroed
from autograder.specs import UnknownAssignment, assignments, get_spec


def _cases(rng: np.random.Generator):
    return [
        {"x": rng.standard_normal((n, d)), "w": rng.standard_normal((d, h)), "b": rng.standard_normal(h)}
        for n, d, h in [(1, 3, 3), (4, 2, 5)]
    ]


def _affine_tanh(x, w, b):
    return np.tanh(x @ w + b)


REF = type("Ref", (), {"layer": staticmethod(_affine_tanh)})()
SPEC = FunctionSpec(
    "layer",
    _cases,
    mistakes=[
        with_globals("layer", "you used sigmoid instead of tanh", np=type("np", (), {
            "tanh": staticmethod(lambda a: 1 / (1 + np.exp(-a)))})),
        with_inputs("layer", "you forgot the bias", zeroed("b")),
    ],
)


def test_correct_function_passes_on_fresh_cases() -> None:
    outcome = grade_function(SPEC, lambda x, w, b: np.tanh(np.dot(x, w) + b), REF)
    assert outcome.passed and outcome.cases == 2


@pytest.mark.parametrize(
    ("wrong", "diagnosis"),
    [
        (lambda x, w, b: np.tanh(x @ w), "you forgot the bias"),
        (lambda x, w, b: 1 / (1 + np.exp(-(x @ w + b))), "you used sigmoid instead of tanh"),
        (lambda x, w, b: np.tanh(x @ w + 2 * b), None),
    ],
)
def test_wrong_functions_fail_with_the_right_diagnosis(wrong, diagnosis) -> None:
    outcome = grade_function(SPEC, wrong, REF, seed=3)
    assert not outcome.passed
    assert outcome.diagnosis == diagnosis
    assert "hidden case 1" in outcome.message


def test_patched_rebinds_globals_without_touching_the_original() -> None:
    fake = patched(_affine_tanh, np=type("np", (), {"tanh": staticmethod(lambda a: a)}))
    x, w, b = np.ones((1, 2)), np.ones((2, 2)), np.zeros(2)
    np.testing.assert_allclose(fake(x, w, b), x @ w)
    np.testing.assert_allclose(_affine_tanh(x, w, b), np.tanh(x @ w))


def test_swapped_and_substituted() -> None:
    assert swapped("a", "b")({"a": 1, "b": 2, "c": 3}) == {"a": 2, "b": 1, "c": 3}
    ns = {"f": 1}
    with substituted(ns, {"f": 2, "g": 3}):
        assert ns == {"f": 2, "g": 3}
    assert ns == {"f": 1}


def test_course_root_is_found_from_inside_the_course() -> None:
    assert course_root(REPO / "exercises") == REPO


def test_reference_is_unavailable_outside_a_course(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("RNNCOURSE_ROOT", raising=False)
    with pytest.raises(ReferenceUnavailable, match="only available to instructors"):
        course_root(tmp_path)


@pytest.mark.parametrize("assignment", assignments())
def test_every_spec_matches_its_reference(assignment: str) -> None:
    """Each spec grades exactly the functions the reference defines, and the reference passes."""
    if not (REPO / "solutions" / assignment).is_dir():
        pytest.fail(f"solutions/{assignment} is missing")
    ref = load_reference(assignment, root=REPO)
    spec = get_spec(assignment)
    assert spec.name == assignment
    for name, fspec in spec.functions.items():
        fn = getattr(ref, name)
        namespace = dict(vars(ref))
        outcome = grade_function(fspec, fn, ref, namespace=namespace, seed=11)
        assert outcome.passed, outcome.message
        for used in fspec.uses:
            assert used in spec.functions, f"{name} uses {used}, which is not graded"


# -- specs found by the assignment's name ------------------------------------------------------


def test_every_assignment_has_a_spec_and_every_spec_an_assignment() -> None:
    folders = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert folders and assignments() == folders
    for assignment in folders:
        assert get_spec(assignment).name == assignment


def test_an_unknown_assignment_names_the_known_ones() -> None:
    with pytest.raises(KeyError) as caught:
        get_spec("06_attention")
    assert isinstance(caught.value, UnknownAssignment)
    message = str(caught.value)
    assert message.startswith("no grading spec for assignment '06_attention'"), message
    assert "ASSIGNMENT = '06_attention'" in message
    assert message.endswith("known: " + ", ".join(assignments())), message


@pytest.fixture
def extra_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``autograder.specs`` with a second folder of spec modules (cleaned up afterwards)."""
    folder = tmp_path / "more_specs"
    folder.mkdir()
    monkeypatch.setattr(specs, "__path__", [*specs.__path__, str(folder)])
    specs._modules.cache_clear()
    yield folder
    specs._modules.cache_clear()
    for name in [m for m in sys.modules if m.startswith("autograder.specs.") and m.rsplit(".", 1)[1] in
                 {p.stem for p in folder.glob("*.py")}]:
        del sys.modules[name]


NEW_SPEC = """
from autograder.spec_kit import AssignmentSpec, FunctionSpec

ASSIGNMENT = "06_attention"
SPEC = AssignmentSpec.of(ASSIGNMENT, FunctionSpec("attend", lambda rng: [{}]))
"""


def test_a_new_assignment_needs_only_its_spec_module(extra_specs: Path) -> None:
    (extra_specs / "attention.py").write_text(NEW_SPEC)
    (extra_specs / "_shared.py").write_text("HELPER = 1\n")  # a helper: not a spec, needs no ASSIGNMENT
    assert "06_attention" in assignments()
    assert list(get_spec("06_attention").functions) == ["attend"]
    assert get_spec("03_lstm").name == "03_lstm"


def test_a_spec_module_must_say_which_assignment_it_grades(extra_specs: Path) -> None:
    (extra_specs / "attention.py").write_text(NEW_SPEC.replace('ASSIGNMENT = "06_attention"', "NAME = 1"))
    with pytest.raises(RuntimeError, match=r"attention\.py declares no ASSIGNMENT"):
        assignments()


def test_two_spec_modules_cannot_grade_the_same_assignment(extra_specs: Path) -> None:
    (extra_specs / "lstm_again.py").write_text(NEW_SPEC.replace("06_attention", "03_lstm"))
    with pytest.raises(RuntimeError, match="both declare ASSIGNMENT = '03_lstm'"):
        get_spec("03_lstm")


def test_a_spec_named_otherwise_than_its_declaration_is_refused(extra_specs: Path) -> None:
    (extra_specs / "attention.py").write_text(NEW_SPEC.replace("SPEC = AssignmentSpec.of(ASSIGNMENT,",
                                                               'SPEC = AssignmentSpec.of("07_other",'))
    with pytest.raises(RuntimeError, match="its SPEC is named '07_other'"):
        get_spec("06_attention")


# -- the package's import graph ----------------------------------------------------------------

PACKAGE = REPO / "autograder"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Which course modules each module of ``autograder/`` imports: every import statement,
    those inside functions included (an import deferred to call time is how a circle hides), and
    the package a submodule belongs to (importing ``autograder.specs.lstm`` runs ``specs/__init__``)."""
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(f): f for f in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        if "." in name:
            edges.add(name.rpartition(".")[0])
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:  # import autograder.x.y: the deepest course module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports (``[a, b, ..., a]``), or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_a_circle_and_only_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"b", "c"}}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_autograder_modules_import_one_another_without_a_circle() -> None:
    graph = import_graph()
    # the graph sees the imports that exist, deferred ones included
    assert "autograder.specs" in graph["autograder.hidden_tests"]
    assert "autograder.spec_kit" in graph["autograder.specs.lstm"]
    assert "autograder.spec_kit" in graph["autograder.oracle"]  # imported inside a function
    assert "autograder.specs" in graph["autograder.specs.seq2seq"]
    assert graph["autograder.spec_kit"] <= {"autograder", "autograder.checks"}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_every_autograder_module_imports_on_its_own() -> None:
    """Each module imported first, in a fresh set of course modules (a circle shows as an
    ImportError for the module that starts it)."""
    names = sorted(n for n in import_graph() if n != "autograder.__main__")  # that one runs the command
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'autograder' or m.startswith('autograder.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
