"""deploy/ against the real schemas, offline: the Zero to JupyterHub chart's values schema, the
Kubernetes API's own OpenAPI schemas, and the Dockerfile's rules that can be checked by reading it.

- ``deploy/values.yaml`` is merged over the chart's default ``values.yaml`` as Helm merges values
  (maps merged key by key, lists and scalars replaced, ``null`` deletes the key) and the result is
  validated with the chart's ``values.schema.yaml`` (JSON Schema draft 7), as ``helm install``
  does. The chart 4.4.0 files are in ``../shared/z2jh-4.4.0`` (BSD-3, see its LICENSE).
- The grading Job and the volume claims are validated with ``kubernetes-validate`` (the API's
  schemas for each Kubernetes release, bundled in the package), strict: an unknown field fails.
- The Dockerfile is parsed: pinned base images (no ``latest``), the course's requirements installed
  as pinned, the chart's JupyterHub in the image, a non-root user, apt lists removed.
"""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import kubernetes_validate
import pytest
import yaml
from conftest import REPO

CHART = REPO.parent / "shared" / "z2jh-4.4.0"
DEPLOY = REPO / "deploy"
CHART_VERSION, HUB_VERSION = "4.4.0", "5.5.0"
KUBERNETES_LATEST = kubernetes_validate.latest_version()


@pytest.fixture(scope="module")
def chart() -> dict:
    if not (CHART / "values.schema.yaml").is_file():
        pytest.fail(f"the Zero to JupyterHub {CHART_VERSION} chart files are missing: expected {CHART} "
                    "(values.yaml, values.schema.yaml, Chart.yaml), a copy of shared/ beside the clone")
    return {
        "meta": yaml.safe_load((CHART / "Chart.yaml").read_text()),
        "defaults": yaml.safe_load((CHART / "values.yaml").read_text()),
        "schema": yaml.safe_load((CHART / "values.schema.yaml").read_text()),
    }


def helm_merge(defaults: dict, overrides: dict) -> dict:
    """Helm's coalescing of a values file over the chart's defaults."""
    out = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = helm_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def schema_errors(values: dict, schema: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(values)]


def test_helm_merge_follows_helm() -> None:
    defaults = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 2}
    merged = helm_merge(defaults, {"a": {"c": [3], "d": None, "g": 4}, "f": None})
    assert merged == {"a": {"b": 1, "c": [3], "g": 4}}
    assert defaults["a"]["d"] == {"e": 1}  # the defaults are not modified


def test_chart_is_4_4_0_with_jupyterhub_5_5_0(chart) -> None:
    assert chart["meta"]["appVersion"] == HUB_VERSION
    values_text = (DEPLOY / "values.yaml").read_text()
    readme = (DEPLOY / "README.md").read_text()
    for text in (values_text, readme):
        versions = set(re.findall(r"--version (\S+)", text))
        assert versions == {CHART_VERSION}, versions


def test_values_validate_against_the_chart_schema(chart) -> None:
    ours = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    assert schema_errors(chart["defaults"], chart["schema"]) == []
    merged = helm_merge(chart["defaults"], ours)
    assert schema_errors(merged, chart["schema"]) == []
    # The values this course relies on survive the merge.
    assert merged["singleuser"]["defaultUrl"] == "/lab"
    assert merged["singleuser"]["image"]["name"] == ours["singleuser"]["image"]["name"]
    assert merged["hub"]["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"


def test_the_schema_check_catches_mistakes(chart) -> None:
    """The validation is not vacuous: a misspelt key, a wrong type and a stray top-level key fail."""
    ours = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    for path, value in [(("singleuser", "memory", "limt"), "2G"), (("singleuser", "startTimeout"), "300 s"),
                        (("singelusr",), {})]:
        bad = copy.deepcopy(ours)
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert schema_errors(helm_merge(chart["defaults"], bad), chart["schema"]), path


def _manifests() -> list[dict]:
    job_text = (DEPLOY / "grading-job.yaml").read_text().replace("ASSIGNMENT_ID", "03_lstm")
    job_text = job_text.replace("JOB_SUFFIX", "03-lstm")
    docs = [d for d in yaml.safe_load_all(job_text) if d]
    docs += [d for d in yaml.safe_load_all((DEPLOY / "exchange-pvc.yaml").read_text()) if d]
    assert [d["kind"] for d in docs] == ["Job", "PersistentVolumeClaim", "PersistentVolumeClaim"]
    return docs


@pytest.mark.parametrize("version", [KUBERNETES_LATEST, "1.30.0"])
def test_job_and_claims_validate_against_kubernetes_schemas(version: str) -> None:
    for doc in _manifests():
        kubernetes_validate.validate(doc, version, strict=True)


def test_kubernetes_schemas_catch_mistakes() -> None:
    job = _manifests()[0]
    bad = json.loads(json.dumps(job))
    bad["spec"]["template"]["spec"]["containers"][0]["resource"] = bad["spec"]["template"]["spec"][
        "containers"][0].pop("resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_LATEST, strict=True)
    # appArmorProfile is a securityContext field from Kubernetes 1.30 on (deploy/README.md says so).
    with pytest.raises(kubernetes_validate.ValidationError, match="appArmorProfile"):
        kubernetes_validate.validate(job, "1.29.0", strict=True)


# --- the Dockerfile --------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; comments dropped, continuation lines joined."""
    out, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        word, _, rest = whole.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "a continuation line ends the file"
    return out


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions((DEPLOY / "Dockerfile").read_text())


def test_dockerfile_parses_and_pins_its_images(dockerfile) -> None:
    known = {"FROM", "ARG", "ENV", "RUN", "COPY", "USER", "WORKDIR", "EXPOSE", "CMD", "SHELL", "LABEL",
             "ENTRYPOINT"}
    assert {word for word, _ in dockerfile} <= known, {word for word, _ in dockerfile} - known
    args = dict(a.split("=", 1) for w, a in dockerfile if w == "ARG" and "=" in a)
    stages = []
    for word, rest in dockerfile:
        if word != "FROM":
            continue
        image, _, stage = rest.partition(" AS ")
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], image)
        if image not in stages:  # a FROM of an earlier stage is fine
            name, _, tag = image.partition("@")[0].rpartition(":")
            assert name and tag and tag != "latest", f"{image}: pin a tag (or digest), never latest"
        stages.append(stage.strip())
    assert stages == ["singleuser", "grader"]


def test_dockerfile_installs_the_course_requirements_with_the_charts_hub(dockerfile) -> None:
    args = dict(a.split("=", 1) for w, a in dockerfile if w == "ARG" and "=" in a)
    assert args["JUPYTERHUB_VERSION"] == HUB_VERSION  # the chart's hub (Chart.yaml appVersion)
    copied = " ".join(a for w, a in dockerfile if w == "COPY")
    assert "requirements.txt" in copied and "autograder" in copied and "solutions" not in copied
    run = " ".join(a for w, a in dockerfile if w == "RUN")
    assert "-r /opt/rnn-course/requirements-image.txt" in run and "pip check" in run
    assert 's/^jupyterhub==.*/jupyterhub==${JUPYTERHUB_VERSION}/' in run
    # Every other pin of requirements.txt goes in unchanged.
    pins = [line for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line]
    assert any(p.startswith("jupyterhub==") for p in pins) and all(" " not in p for p in pins)
    assert "--index-url https://download.pytorch.org/whl/cpu" in run  # the CPU torch wheel


def test_dockerfile_follows_the_usual_lint_rules(dockerfile) -> None:
    """The hadolint rules that can be checked by reading the file (hadolint itself is not here)."""
    runs = [a for w, a in dockerfile if w == "RUN"]
    for run in runs:
        if "apt-get install" in run:
            assert "--no-install-recommends" in run and "-y" in run  # DL3015, DL3014
            assert "rm -rf /var/lib/apt/lists/*" in run  # DL3009
        if "pip install" in run:
            assert run.count("pip install") == run.count("--no-cache-dir")  # DL3042
        assert not re.search(r"\bsudo\b", run)  # DL3004
        assert not re.search(r"(^|&&\s*)cd ", run)  # DL3003: WORKDIR, not cd
    if any("|" in r for r in runs):  # DL4006
        assert any(w == "SHELL" and "pipefail" in a for w, a in dockerfile)
    users = [a for w, a in dockerfile if w == "USER"]
    assert users and users[-1] not in ("root", "0")  # DL3002: the images run as jovyan
    assert all(w != "ADD" for w, _ in dockerfile)  # DL3020
    cmds = [a for w, a in dockerfile if w == "CMD"]
    assert all(c.startswith("[") and json.loads(c) for c in cmds)  # DL3025: exec form


def test_build_context_leaves_solutions_out() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*" and "!autograder/" in rules and not any("solutions" in line for line in rules)


def test_deploy_page_shows_the_real_dockerfile() -> None:
    readme = (DEPLOY / "README.md").read_text()
    assert "deploy/Dockerfile" in readme
    assert "```dockerfile" not in readme  # the page points at the file instead of a copy that drifts
