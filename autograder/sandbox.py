"""Run a submission's job in isolation: bubblewrap (namespaces) plus resource limits (prlimit).

Inside the sandbox the student's code sees the Python installation (read-only), this package
(read-only; it holds no solution), its own job folder (read-write), an empty ``/tmp``, and nothing
else: no ``solutions/``, no gradebook, no other student's work, no network, no capabilities, an
unprivileged uid. Memory (address space), file size and CPU time are capped by rlimits, wall time
by the caller's timeout (the whole process group is killed).

Without bubblewrap (``--sandbox none``) the job runs with the same limits and a scrubbed
environment in its own folder, but can read whatever the grading user can: use it only for trusted
notebooks (the tests of this package do, to compare the two modes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass
from pathlib import Path

import autograder

SANDBOX_PATH = "/job"
# The sandboxes running now (each in its own session, so a Ctrl-C at the terminal does not reach
# them): `stop_all` kills them at once and refuses new ones.
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


class Stopped(RuntimeError):
    """Grading was interrupted: no new sandbox is started."""


def stop_all() -> int:
    """Kill every running sandbox's process group and start no new one; return how many."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        running = list(_RUNNING)
    for proc in running:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return len(running)


def resume_starting() -> None:
    """Allow sandboxes again (after :func:`stop_all`, for a new batch in the same process)."""
    _STOPPING.clear()


@dataclass
class Limits:
    wall_seconds: float = 300.0
    memory_mb: int = 3072
    file_mb: int = 64


@dataclass
class RunResult:
    returncode: int | None
    timed_out: bool
    stderr_tail: str


def bwrap_available() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = subprocess.run(
        [exe, "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "true"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


def _python_roots() -> list[Path]:
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.exec_prefix).resolve()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(Path(path).resolve())
    # The interpreter the venv points at, e.g. a pyenv installation under /root.
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted(roots)


def _system_binds() -> list[str]:
    args = []
    for path in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def sandbox_command(job_dir: Path, limits: Limits, mode: str) -> tuple[list[str], Path]:
    """The command that runs :mod:`autograder.runner` on ``job_dir``, and the job path it sees."""
    prlimit = shutil.which("prlimit")
    limit_args = []
    if prlimit:
        limit_args = [
            prlimit,
            f"--as={limits.memory_mb * 2**20}",
            f"--fsize={limits.file_mb * 2**20}",
            f"--cpu={int(limits.wall_seconds) + 5}",
            "--core=0",
            "--",
        ]
    package_dir = Path(autograder.__file__).resolve().parent
    python = sys.executable
    env = {
        "PATH": f"{Path(python).parent}:/usr/bin:/bin",
        "HOME": "/tmp",
        "IPYTHONDIR": "/tmp/.ipython",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(package_dir.parent),
        "LANG": "C.UTF-8",
    }
    if mode == "none":
        cmd = [*limit_args, "env", "-i", *[f"{k}={v}" for k, v in env.items()],
               python, "-m", "autograder.runner", str(job_dir)]
        return cmd, job_dir
    # The package dir is bound alone at a neutral path so its parent (the course) stays hidden.
    env["PYTHONPATH"] = "/opt/grader"
    # Order matters: a later mount hides what an earlier one put at the same place, so the empty
    # /tmp comes first (the Python environment may itself live under /tmp, as in a CI clone).
    args = [shutil.which("bwrap") or "bwrap", "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
            *_system_binds()]
    for root in _python_roots():
        if root.exists():
            args += ["--ro-bind", str(root), str(root)]
    args += [
        "--ro-bind", str(package_dir), "/opt/grader/autograder",
        "--bind", str(job_dir), SANDBOX_PATH,
        "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--uid", "65534", "--gid", "65534", "--clearenv",
        "--chdir", SANDBOX_PATH,
    ]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*limit_args, *args, python, "-I", "-c", _BOOT, SANDBOX_PATH], Path(SANDBOX_PATH)


# -I (isolated mode) ignores PYTHONPATH and the user site; put the bound package first explicitly,
# ahead of any editable install that points back into the course folder (hidden in the sandbox).
_BOOT = (
    "import sys; sys.path.insert(0, '/opt/grader'); "
    "from autograder.runner import main; sys.exit(main(sys.argv[1]))"
)


def run_job(job_dir: Path, limits: Limits, mode: str) -> RunResult:
    """Run the job; kill the whole process group at the wall-clock limit."""
    cmd, _ = sandbox_command(job_dir, limits, mode)
    stderr_path = job_dir / "stderr.txt"
    with open(stderr_path, "wb") as err:
        with _RUNNING_LOCK:
            if _STOPPING.is_set():
                raise Stopped("grading was interrupted")
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True, cwd=job_dir)
            _RUNNING.add(proc)
        try:
            code = proc.wait(timeout=limits.wall_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code, timed_out = None, True
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    with open(stderr_path, "rb") as fh:
        fh.seek(max(0, stderr_path.stat().st_size - 4000))
        tail = fh.read().decode(errors="replace")
    return RunResult(code, timed_out, tail)
