"""Run the course in a real JupyterHub on this machine: ``make hub`` (or ``.venv/bin/python hub/run_hub.py``).

What it starts, on 127.0.0.1 only:

- JupyterHub (``hub/jupyterhub_config.py``) with configurable-http-proxy, which is installed from
  the npm registry into ``<proxy-prefix>/node_modules`` on first use (default ``.hub/``);
- one instructor and a few student accounts, each with a home folder ``<state>/home/<name>``;
  students see JupyterLab with nbgrader's *Assignments* list and *Validate* button, the instructor
  also sees the formgrader and the course (``~/course``: the course's ``nbgrader_config.py`` and
  ``solutions/``, copied from this repository on first start);
- nbgrader's exchange at the course-local root the course's ``nbgrader_config.py`` names
  (``~/course/.course-state/exchange`` of the instructor), with every assignment of ``solutions/``
  generated and released by the instructor.

It prints the URL and the accounts, then waits; Ctrl-C stops everything it started (by PID). All
state lives in one folder (default ``.hub/``, removed by ``make clean``); starting again reuses it
(submissions, grades and passwords survive a restart).

The instructor grades from a terminal in their JupyterLab::

    cd ~/course && nbgrader collect 03_lstm && autograder grade 03_lstm && nbgrader release_feedback 03_lstm

The module is also the library the end-to-end test uses (``tests/test_hub_e2e.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).resolve().with_name("jupyterhub_config.py")
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
VENV_BIN = Path(sys.executable).parent
MARKER = "RNNCOURSE_HUB_STATE"
COURSE_ID = "rnn-course"
# What students must not see in JupyterLab: the instructor's tools (lab plugins and server side).
STUDENT_DISABLED_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
STUDENT_DISABLED_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
# Nobody here is online: no "would you like to receive news?" notification.
EVERYONE_DISABLED_PLUGINS = ("@jupyterlab/apputils-extension:announcements",)
# Variables of the caller's environment that would point a user's tools away from their home.
FOREIGN_ENV = ("JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH", "JUPYTER_DATA_DIR", "JUPYTER_PATH",
               "JUPYTER_RUNTIME_DIR", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JPY_API_TOKEN",
               "JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_BASE_URL")


class HubError(RuntimeError):
    """The hub could not be prepared or started; the message says why and where the log is."""


@dataclass
class HubSettings:
    """Everything a run of the hub needs; saved as ``<state>/hub.json`` (read by the hub config)."""

    state: str
    port: int
    hub_port: int
    proxy_api_port: int
    proxy_command: str
    instructor: str = "instructor"
    students: list[str] = field(default_factory=lambda: ["ada", "grace", "alan"])
    student_password: str = ""
    instructor_password: str = ""
    ip: str = "127.0.0.1"
    venv_bin: str = str(VENV_BIN)

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.students]

    @property
    def settings_file(self) -> Path:
        return Path(self.state) / "hub.json"

    def home(self, user: str) -> Path:
        return Path(self.state) / "home" / user

    @property
    def course(self) -> Path:
        """The instructor's course folder (nbgrader's CourseDirectory.root)."""
        return self.home(self.instructor) / "course"

    def password(self, user: str) -> str:
        return self.instructor_password if user == self.instructor else self.student_password

    def save(self) -> None:
        self.settings_file.write_text(json.dumps(asdict(self), indent=1))
        os.chmod(self.settings_file, 0o600)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_proxy(prefix: Path) -> Path:
    """configurable-http-proxy from the npm registry, installed once into ``prefix/node_modules``."""
    command = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if command.exists():
        return command
    npm = shutil.which("npm")
    if npm is None:
        raise HubError("npm is needed to install configurable-http-proxy (Debian/Ubuntu: apt-get install npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    print(f"==> installing {PROXY_PACKAGE} from the npm registry into {prefix}/node_modules", flush=True)
    proc = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
                           PROXY_PACKAGE], capture_output=True, text=True)
    if proc.returncode != 0 or not command.exists():
        raise HubError(f"`npm install --prefix {prefix} {PROXY_PACKAGE}` failed:\n{proc.stdout}\n{proc.stderr}")
    return command


def exchange_root(course: Path) -> Path:
    """The exchange the course's nbgrader_config.py names (so that every account uses the same one)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    root = config.Exchange.root if "root" in config.Exchange else "/srv/nbgrader/exchange"
    return Path(root)


def user_env(settings: HubSettings, user: str) -> dict[str, str]:
    """The environment of a terminal in ``user``'s JupyterLab (what the spawner gives their server)."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.update(HOME=str(settings.home(user)), USER=user, JUPYTERHUB_USER=user, MPLBACKEND="Agg",
               PATH=os.pathsep.join([settings.venv_bin, os.environ.get("PATH", "/usr/bin:/bin")]),
               **{MARKER: settings.state})
    return env


def run_as(settings: HubSettings, user: str, *command: str, cwd: Path | None = None,
           timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command as ``user`` would from a terminal in their JupyterLab (cwd: their home).

    ``nbgrader`` and ``autograder`` are taken from the course's virtual environment."""
    exe, *args = command
    if exe in ("nbgrader", "autograder", "jupyter"):
        exe = str(Path(settings.venv_bin) / exe)
    proc = subprocess.run([exe, *args], cwd=cwd or settings.home(user), env=user_env(settings, user),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise HubError(f"{user}: `{' '.join(command)}` failed ({proc.returncode}):\n"
                       f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def write_user_config(settings: HubSettings, user: str, exchange: Path) -> None:
    """Per-account Jupyter configuration in ``~/.jupyter`` (the highest-priority config folder)."""
    jupyter = settings.home(user) / ".jupyter"
    jupyter.mkdir(parents=True, exist_ok=True)
    instructor = user == settings.instructor
    lines = [
        "# Written by hub/run_hub.py for the local course hub.",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.Exchange.root = {str(exchange)!r}",
    ]
    if instructor:
        lines += [
            f"c.CourseDirectory.root = {str(settings.course)!r}",
            "# Local demo: every account is the same OS user, so submissions look like the instructor's",
            "# own files; a multi-user hub keeps the default owner check.",
            "c.ExchangeCollect.check_owner = False",
        ]
    else:
        lines += [
            "# Local demo: every account is the same OS user, so nbgrader would take the OS user name",
            "# as the student id; a multi-user hub gets it from the OS account or the container.",
            f"c.CourseDirectory.student_id = {user!r}",
        ]
    (jupyter / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    disabled = list(EVERYONE_DISABLED_PLUGINS) + ([] if instructor else list(STUDENT_DISABLED_PLUGINS))
    # What `jupyter labextension disable --level=user <plugin>` writes.
    _write_json(jupyter / "labconfig" / "page_config.json", {"disabledExtensions": dict.fromkeys(disabled, True)})
    server_extensions = {} if instructor else dict.fromkeys(STUDENT_DISABLED_SERVER_EXTENSIONS, False)
    _write_json(jupyter / "jupyter_server_config.json", {"ServerApp": {"jpserver_extensions": server_extensions}})


def released(exchange: Path) -> set[str]:
    outbound = exchange / COURSE_ID / "outbound"
    return {p.name for p in outbound.iterdir() if p.is_dir()} if outbound.is_dir() else set()


def prepare(settings: HubSettings, *, source: Path = REPO, assignments: list[str] | None = None,
            log=print) -> list[str]:
    """Create the accounts' homes and configs, the instructor's course, and release the assignments.

    Returns the assignments released by this call (those already in the exchange are kept)."""
    state = Path(settings.state)
    for user in settings.users:
        settings.home(user).mkdir(parents=True, exist_ok=True)
    course = settings.course
    if not (course / "nbgrader_config.py").exists():
        course.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(source / "solutions", course / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    exchange = exchange_root(course)
    exchange.mkdir(parents=True, exist_ok=True)
    for user in settings.users:
        write_user_config(settings, user, exchange)
    wanted = assignments or sorted(p.name for p in (course / "solutions").iterdir()
                                   if p.is_dir() and list(p.glob("*.ipynb")))
    done, failed = [], []
    already = released(exchange)
    for assignment in wanted:
        if assignment in already:
            continue
        try:
            run_as(settings, settings.instructor, "nbgrader", "generate_assignment", assignment, "--force",
                   "--log-level=WARN", cwd=course)
            run_as(settings, settings.instructor, "nbgrader", "release_assignment", assignment, "--force",
                   "--log-level=WARN", cwd=course)
        except HubError as exc:
            if assignments:  # asked for by name: a failure is an error
                raise
            failed.append(assignment)
            log(f"WARNING: {assignment} was not released: {str(exc).strip().splitlines()[-1][:300]}")
            continue
        done.append(assignment)
        log(f"==> released {assignment}")
    (state / "logs").mkdir(exist_ok=True)
    return done


def marked_pids(state: str) -> list[int]:
    """Processes started for this hub: their environment holds ``RNNCOURSE_HUB_STATE=<state>``."""
    needle = f"{MARKER}={state}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


class Hub:
    """One running JupyterHub (with its proxy and single-user servers); ``stop()`` ends them all."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(settings.state) / "logs" / "jupyterhub.log"

    def start(self, timeout: float = 120) -> None:
        self.settings.save()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
        env.update(RNNCOURSE_HUB_SETTINGS=str(self.settings.settings_file), **{MARKER: self.settings.state},
                   PATH=os.pathsep.join([self.settings.venv_bin, os.environ.get("PATH", "/usr/bin:/bin")]))
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([str(Path(self.settings.venv_bin) / "jupyterhub"), "-f", str(CONFIG)],
                                         cwd=self.settings.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubError(f"JupyterHub exited ({self.proc.returncode}) while starting:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.settings.url}/hub/api", timeout=5) as resp:
                    if resp.status == 200 and "version" in json.loads(resp.read()):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.3)
        raise HubError(f"JupyterHub did not answer on {self.settings.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else "(no log)"

    def stop(self, grace: float = 20) -> None:
        """SIGTERM to the hub (it stops the servers and the proxy), then SIGKILL to anything left:
        the hub's process group and every process carrying this hub's marker."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        deadline = time.monotonic() + 10
        while (left := marked_pids(self.settings.state)) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGTERM if time.monotonic() < deadline - 7 else signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.3)
        for pid in marked_pids(self.settings.state):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def load_or_create_settings(state: Path, *, port: int | None, proxy_command: Path, instructor: str,
                            students: list[str]) -> HubSettings:
    """Reuse the saved passwords (and port) of an earlier run; fresh internal ports every time."""
    old = {}
    if (state / "hub.json").exists():
        old = json.loads((state / "hub.json").read_text())
    settings = HubSettings(
        state=str(state), port=port or old.get("port") or 8010, hub_port=free_port(), proxy_api_port=free_port(),
        proxy_command=str(proxy_command), instructor=instructor, students=students,
        student_password=old.get("student_password") or secrets.token_urlsafe(9),
        instructor_password=old.get("instructor_password") or secrets.token_urlsafe(30),
    )
    return settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_hub.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=None, help="public port on 127.0.0.1 (default 8010)")
    parser.add_argument("--state", type=Path, default=REPO / ".hub", help="state folder (default .hub/)")
    parser.add_argument("--proxy-prefix", type=Path, default=REPO / ".hub",
                        help="where configurable-http-proxy is installed (default .hub/)")
    parser.add_argument("--course", type=Path, default=REPO,
                        help="course to copy nbgrader_config.py and solutions/ from on first start (default: this repo)")
    parser.add_argument("--instructor", default="instructor", help="the instructor's account (default %(default)s)")
    parser.add_argument("--students", default="ada,grace,alan",
                        help="comma-separated student accounts (default %(default)s)")
    parser.add_argument("--assignments", default=None,
                        help="comma-separated assignments to release (default: every folder of solutions/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state = args.state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    students = [s.strip() for s in args.students.split(",") if s.strip()]
    try:
        proxy = ensure_proxy(args.proxy_prefix.resolve())
        settings = load_or_create_settings(state, port=args.port, proxy_command=proxy,
                                           instructor=args.instructor, students=students)
        print(f"==> preparing the accounts and the course in {state}", flush=True)
        prepare(settings, source=args.course.resolve(),
                assignments=args.assignments.split(",") if args.assignments else None,
                log=lambda m: print(m, flush=True))
        hub = Hub(settings)
        print("==> starting JupyterHub", flush=True)
        hub.start()
    except HubError as exc:
        print(f"run_hub: {exc}", file=sys.stderr)
        return 1

    stopping = False

    def on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    width = max(len(u) for u in settings.users)
    print(f"\nThe course hub is running on {settings.url}  (log: {hub.log_path})\n")
    print(f"  {'account':<{width}}  password")
    print(f"  {settings.instructor:<{width}}  {settings.instructor_password}  (instructor: formgrader, ~/course)")
    for student in settings.students:
        print(f"  {student:<{width}}  {settings.student_password}")
    print("\nStudents: Nbgrader > Assignment List > Fetch, solve, Validate, Submit.")
    print("Instructor (a terminal in JupyterLab): cd ~/course && nbgrader collect <a> && autograder grade <a> "
          "&& nbgrader release_feedback <a>")
    print("Ctrl-C stops the hub and every server it started.\n", flush=True)
    try:
        while hub.proc is not None and hub.proc.poll() is None:
            time.sleep(1)
        print(f"run_hub: JupyterHub exited ({hub.proc.returncode}); last lines of its log:\n{hub.log_tail(2000)}",
              file=sys.stderr)
    except KeyboardInterrupt:
        stopping = True
        print("\n==> stopping the hub", flush=True)
    finally:
        hub.stop()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
