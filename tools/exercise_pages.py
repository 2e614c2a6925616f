"""Sphinx extension: the website's exercise pages, built from the *student* notebooks.

An exercise page (``book/exercises/<assignment>.md``) holds a title, a link back to its chapter and
one directive::

    ```{exercise-notebook} 03_lstm
    ```

At build time the directive reads ``exercises/03_lstm/<notebook>.ipynb`` (the nbgrader release,
never ``solutions/``) and renders

- a launch button that opens the notebook in the course's JupyterHub through nbgitpuller,
- a download link for the ``.ipynb`` (Sphinx copies it into the site's ``_downloads/``),
- the notebook's first markdown cell, the assignment's header (what you build, the API, points),
  minus its ``# title`` line, which the page has already.

Nothing is generated into the source tree, so the pages cannot go stale: a changed notebook is a
dependency of its page and rebuilds it. Configuration (``_config.yml``, ``sphinx: config:``):

``exercise_hub_url``
    the JupyterHub's address, e.g. ``https://hub.example.edu`` (empty: no launch button);
``exercise_repository_url`` / ``exercise_branch``
    the repository nbgitpuller clones: the *student distribution* built by
    ``tools/student_dist.py`` (released notebooks and the student-safe package, no solutions),
    never the course repository, which holds ``solutions/``. The build warns (``-W``: fails) when
    this is the book's own ``repository: url`` or a local folder holding ``solutions/``.

The extension also removes duplicated inline scripts from every page: sphinx-thebe's configuration
script is registered twice under Sphinx 7 (once with the file name ``None``, once with ``""``), and
the second copy throws "Identifier 'THEBE_JS_URL' has already been declared" in every browser.

Enabled in ``_config.yml`` with ``sphinx: local_extensions: {exercise_pages: tools/}``. Run as a
script, it prints the launch link of every assignment (for an LMS or an e-mail)::

    python tools/exercise_pages.py --hub https://hub.example.edu
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import quote, urlencode, urlparse

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

__version__ = "1.1"
REPO = Path(__file__).resolve().parents[1]
#: the repository the launch buttons clone by default: the student distribution (tools/student_dist.py)
STUDENT_REPOSITORY = "https://github.com/rnn-course/rnn-course-student"
logger = logging.getLogger(__name__)


def _normalise(url: str) -> str:
    return url.strip().rstrip("/").removesuffix(".git").lower()


def solutions_problem(repository_url: str, course_repository_url: str = "") -> str | None:
    """Why ``repository_url`` must not be what students clone, or None when it may be.

    It may not be the course repository (which holds ``solutions/``) nor a local folder or
    ``file://`` URL of a repository that holds ``solutions/``.
    """
    if not repository_url:
        return None
    if course_repository_url and _normalise(repository_url) == _normalise(course_repository_url):
        return (f"the launch repository {repository_url} is the course repository, which holds solutions/ "
                "(every solution and hidden test): students would clone them")
    parsed = urlparse(repository_url)
    local = Path(parsed.path) if parsed.scheme in ("", "file") else None
    if local is not None and (local / "solutions").exists():
        return (f"the launch repository {repository_url} holds solutions/ (every solution and hidden test): "
                "students would clone them")
    return None


def repository_name(repository_url: str) -> str:
    """The folder nbgitpuller clones into: the last component of the URL, without ``.git``."""
    name = urlparse(repository_url).path.rstrip("/").rsplit("/", 1)[-1]
    return name.removesuffix(".git")


def launch_url(hub_url: str, repository_url: str, notebook: str, *, branch: str = "main",
               interface: str = "lab") -> str:
    """The nbgitpuller link that clones (or updates) the repository and opens ``notebook``.

    ``notebook`` is the path inside the repository, e.g. ``exercises/01_rnn/rnn.ipynb``. Format:
    ``<hub>/hub/user-redirect/git-pull?repo=<url>&urlpath=lab/tree/<repo-name>/<notebook>&branch=<b>``
    with every query value URL-encoded (as nbgitpuller's own link generator does).
    """
    urlpath = f"{interface}/tree/{repository_name(repository_url)}/{notebook}"
    query = urlencode({"repo": repository_url, "urlpath": urlpath, "branch": branch},
                      quote_via=quote, safe="")
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def student_notebook(root: Path, assignment: str) -> Path | None:
    """``exercises/<assignment>/<notebook>.ipynb``, or None when the assignment is not released."""
    found = sorted((root / "exercises" / assignment).glob("*.ipynb"))
    if len(found) > 1:
        raise ValueError(f"exercises/{assignment} holds {len(found)} notebooks, expected one")
    return found[0] if found else None


def header_markdown(notebook: Path) -> str:
    """The first markdown cell of ``notebook`` without its leading ``# title`` line."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    if not cells or cells[0]["cell_type"] != "markdown":
        raise ValueError(f"{notebook} does not start with a markdown header cell")
    source = cells[0]["source"]
    lines = ("".join(source) if isinstance(source, list) else source).splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


# The directive's own words in each edition of the book (tools/i18n.py). The header below them is
# the student notebook's own first cell, shown as the notebook shows it.
TEXT = {
    "en": {"button": "Open in JupyterHub",
           "unreleased": "This assignment is not released yet: its notebook will appear here when it is.",
           "repository": "[the students' repository]({url})",
           "no_repository": "the students' repository (ask your instructor)",
           "download": "Or download the student notebook {download} and open it in JupyterLab on your own "
                       "machine, in a copy of {where}: its README says how to install the course's small "
                       "`autograder` package, which the notebook's visible tests import."},
    "ko": {"button": "JupyterHub에서 열기",
           "unreleased": "이 과제는 아직 공개되지 않았다. 공개되면 여기에 노트북이 나타난다.",
           "repository": "[학생용 저장소]({url})",
           "no_repository": "학생용 저장소(담당 교수자에게 문의)",
           "download": "또는 학생용 노트북 {download}을 내려받아, {where}의 사본 안에서 자신의 컴퓨터의 "
                       "JupyterLab으로 연다. 노트북의 공개 테스트가 불러오는 이 과정의 작은 `autograder` "
                       "패키지를 설치하는 방법은 그 저장소의 README에 있다."},
}


def text(config, key: str) -> str:
    return TEXT.get(config.language or "en", TEXT["en"])[key]


class ExerciseNotebook(SphinxDirective):
    """``{exercise-notebook} <assignment>``: launch button, download link and header."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        assignment = self.arguments[0]
        root = Path(self.env.srcdir)
        notebook = student_notebook(root, assignment)
        if notebook is None:
            if (root / "solutions" / assignment).is_dir():
                logger.warning(f"exercises/{assignment} is missing: run `make exercises`",
                               location=self.get_location())
            note = nodes.note()
            self.parse_markdown(text(self.config, "unreleased"), note)
            return [self.already_in_the_language(note)]
        self.env.note_dependency(str(notebook))
        relpath = notebook.relative_to(root).as_posix()

        box = nodes.container(classes=["exercise-launch-box"])
        config = self.config
        repository = config.exercise_repository_url
        if solutions_problem(repository, config.html_theme_options.get("repository_url", "")):
            repository = ""  # warned once at start (check_launch_repository): never link the solutions
        branch = config.exercise_branch or "main"
        if config.exercise_hub_url and repository:
            url = launch_url(config.exercise_hub_url, repository, relpath, branch=branch)
            button = nodes.reference("", "", nodes.Text(text(config, "button")), refuri=url,
                                     classes=["sd-btn", "sd-btn-primary", "exercise-launch"])
            box += nodes.paragraph("", "", button)
        where = (text(config, "repository").format(url=repository) if repository
                 else text(config, "no_repository"))
        self.parse_markdown(text(config, "download").format(
            download=f"{{download}}`{notebook.name} </{relpath}>`", where=where), box)
        header = nodes.container(classes=["assignment-header"])
        self.parse_markdown(header_markdown(notebook), header)
        return [self.already_in_the_language(box), header]

    def parse_markdown(self, text: str, parent: nodes.Element) -> None:
        self.state.nested_parse(StringList(text.splitlines()), self.content_offset, parent)

    @staticmethod
    def already_in_the_language(parent: nodes.Element) -> nodes.Element:
        """The directive's own words come in the edition's language (TEXT): not messages to translate."""
        for node in parent.findall(nodes.Element):
            node["translatable"] = False
        return parent


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                           doctree: nodes.document | None) -> None:
    """Keep one copy of each script of a page (same file, same attributes, same inline body)."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for script in scripts:
        key = (getattr(script, "filename", script) or "",
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def check_launch_repository(app: Sphinx) -> None:
    """Refuse (a warning: ``-W`` fails the build) a launch repository that holds the solutions."""
    problem = solutions_problem(app.config.exercise_repository_url,
                                app.config.html_theme_options.get("repository_url", ""))
    if problem:
        logger.warning(f"exercise_repository_url: {problem}. Build the student distribution with "
                       "`python tools/student_dist.py`, push it to its own repository and set "
                       "exercise_repository_url to it; the launch buttons are left out until then.")


def setup(app: Sphinx) -> dict:
    app.add_config_value("exercise_hub_url", "", "env", [str])
    app.add_config_value("exercise_repository_url", STUDENT_REPOSITORY, "env", [str])
    app.add_config_value("exercise_branch", "", "env", [str])
    app.add_directive("exercise-notebook", ExerciseNotebook)
    app.connect("builder-inited", check_launch_repository)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print every assignment's nbgitpuller launch link.")
    parser.add_argument("--hub", required=True, help="the JupyterHub's address, e.g. https://hub.example.edu")
    parser.add_argument("--repo", default=STUDENT_REPOSITORY,
                        help="the student distribution nbgitpuller clones (tools/student_dist.py; "
                             "default: %(default)s); never the course repository")
    parser.add_argument("--branch", default="main")
    args = parser.parse_args(argv)
    problem = solutions_problem(args.repo, _course_repository_url())
    if problem:
        parser.exit(1, f"exercise_pages: {problem}; push the student distribution "
                       "(tools/student_dist.py) and pass its URL\n")
    for folder in sorted(p for p in (REPO / "exercises").iterdir() if p.is_dir()):
        notebook = student_notebook(REPO, folder.name)
        if notebook is not None:
            relpath = notebook.relative_to(REPO).as_posix()
            print(f"{folder.name}\t{launch_url(args.hub, args.repo, relpath, branch=args.branch)}")


def _course_repository_url() -> str:
    """The book's ``repository: url`` in _config.yml (the course repository)."""
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text()) or {}
    return str((config.get("repository") or {}).get("url", ""))


if __name__ == "__main__":
    main()
