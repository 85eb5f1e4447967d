"""Shared test helpers: the project root and a way to copy it into a scratch folder."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from loono_infra.core import user_sockets
from tests.durations import known_seconds, longest_first

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A suite started as a background job (`make test &` in a script) has SIGINT ignored, and every
# command a test starts would inherit that: the interrupted-apply tests would send their SIGINT
# to a CLI that cannot hear it. A handler, unlike SIG_IGN, is not inherited across exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# One Checkov daemon serves the session's plans (clients/checkov_daemon.py), as on a developer's
# machine: each plan's own worker imported Checkov anew, about 2.7 CPU-seconds, 87 times in a
# run (2026-11-28: 234 of the suite's 1,807 CPU-seconds on two cores). It is named by what
# Checkov reads while it imports, not by a test's other variables, so the session's workers
# share one. Its socket folder is the session's own (set before pytest-xdist starts its workers,
# which inherit it); it leaves 60 s after its last run, and the session's end stops it at once.
# A CI runner's marker would switch it off, so the markers go. The path a CI runner takes, a
# worker of the plan's own, keeps its tests (test_checkov_worker.py, the hung-Checkov fault row).
if "PYTEST_XDIST_WORKER" not in os.environ:
    SUITE_RUNTIME = Path(tempfile.mkdtemp(prefix="lst-", dir="/tmp"))  # socket paths: 107 B
    os.environ["XDG_RUNTIME_DIR"] = str(SUITE_RUNTIME)
    os.environ["LOONO_CHECKOV_DAEMON"] = "on"
    os.environ["LOONO_CHECKOV_DAEMON_IDLE"] = "60"
    for marker in user_sockets.CI_MARKERS:
        os.environ.pop(marker, None)
    atexit.register(lambda: stop_daemons(SUITE_RUNTIME))
# Nor a CLI server (warm/client.py): a served command is not the child of the test that runs it
# (a test that kills or times a command would reach only its client). Its own tests turn it on.
os.environ["LOONO_CLI_SERVER"] = "off"
# One policy cache for every project copy of a test session: Checkov's check list and the scan
# of the (identical) modules are computed once, not once per copy. Its entries are keyed by
# what they depend on (Checkov, the policies, the scanned input), as in a developer's checkout.
SHARED_POLICY_CACHE = Path(tempfile.mkdtemp(prefix="loono-policy-cache-"))
atexit.register(shutil.rmtree, SHARED_POLICY_CACHE, True)


def daemons(runtime: Path) -> list[int]:
    """The daemon processes serving sockets under runtime (not their forks, which share their
    command line)."""
    found = set(serving_processes(runtime))
    return [pid for pid in found if _parent(pid) not in found]


def _parent(pid: int) -> int:
    """pid's parent; 0 for a process gone meanwhile."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def serving_processes(runtime: Path) -> list[int]:
    """Every process whose command line names runtime: daemons and their forks (each
    connection's fork leads a process group of its own)."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and str(runtime).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return found


def stop_daemons(runtime: Path) -> None:
    """Kills every daemon serving sockets under runtime and each of their forks' process groups,
    then removes runtime."""
    for pid in serving_processes(runtime):
        with contextlib.suppress(OSError):
            if os.getpgid(pid) != os.getpgid(0):  # never this session's own group
                os.killpg(os.getpgid(pid), signal.SIGKILL)
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A runtime folder of this user alone, on a short path: a unix socket's path holds at most
    107 bytes, and pytest's tmp_path under xdist is longer."""
    folder = Path(tempfile.mkdtemp(prefix="loono-cli-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def git(project: Path, *args: str) -> str:
    """Runs git in project; returns its output (stripped)."""
    completed = subprocess.run(["git", "-C", str(project), "-c", "user.name=Loono Test",
                                "-c", "user.email=test@loono.invalid", *args],
                               capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def commit_all(project: Path, message: str) -> str:
    """Commits every change of the project copy; returns the new commit. The gates judge with
    committed rules only (flow/trusted.py), so a test that edits them commits them."""
    git(project, "add", "-A")
    git(project, "commit", "-q", "--allow-empty", "-m", message)
    return git(project, "rev-parse", "HEAD")


def copy_project(destination: Path, shared_policy_cache: bool = True) -> Path:
    """Copies what a project needs (modules, environments, policies, CODEOWNERS) into
    destination as a git repository with one commit; returns it. Its policy cache is the
    session's shared one unless shared_policy_cache is False (then it has no .loono at all)."""
    for name in ("terraform", "environments", "policies", ".github"):
        shutil.copytree(PROJECT_ROOT / name, destination / name,
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__"))
    (destination / ".gitignore").write_text(".loono/\n__pycache__/\n", encoding="utf-8")
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, "the project as checked out")
    if not shared_policy_cache:
        return destination
    (destination / ".loono").mkdir(mode=0o700)
    (destination / ".loono" / "policy-cache").symlink_to(SHARED_POLICY_CACHE)
    return destination


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the project, so a test can break files without touching the checkout."""
    return copy_project(tmp_path / "project", shared_policy_cache=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist workers, the longest test files first (tests/durations.py says why); a file's
    tests stay together and in their order. One process keeps the usual order."""
    if hasattr(config, "workerinput"):
        items[:] = longest_first(items, known_seconds())
