"""Shared test helpers: the project root and a way to copy it into a scratch folder."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.durations import known_seconds, longest_first

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A suite started as a background job (`make test &` in a script) has SIGINT ignored, and every
# command a test starts would inherit that: the interrupted-apply tests would send their SIGINT
# to a CLI that cannot hear it. A handler, unlike SIG_IGN, is not inherited across exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# No Checkov daemon outlives a test (clients/checkov_daemon.py): each test's environment differs,
# so each would start a daemon of its own. The daemon's own tests turn it on where they need it.
os.environ["LOONO_CHECKOV_DAEMON"] = "off"
# Nor a CLI server (warm/client.py): a served command is not the child of the test that runs it
# (a test that kills or times a command would reach only its client). Its own tests turn it on.
os.environ["LOONO_CLI_SERVER"] = "off"
# One policy cache for every project copy of a test session: Checkov's check list and the scan
# of the (identical) modules are computed once, not once per copy. Its entries are keyed by
# what they depend on (Checkov, the policies, the scanned input), as in a developer's checkout.
SHARED_POLICY_CACHE = Path(tempfile.mkdtemp(prefix="loono-policy-cache-"))
atexit.register(shutil.rmtree, SHARED_POLICY_CACHE, True)


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
