"""Helpers of the fault matrix: the CLI as a real process, signals, and what AWS holds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loono_infra.core.settings import load_settings
from loono_infra.flow.targets import checked_environment, resolve_target
from tests.conftest import PROJECT_ROOT, copy_project
from tests.integration.conftest import project_with_sandbox, sandbox_clients

ENV = "sandbox"


@dataclass
class Checkout:
    """A project checkout whose CLI runs as its own process (signals reach it alone)."""

    root: Path

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "loono_infra.cli", *args, "--env", ENV], cwd=self.root,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, start_new_session=True)

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        process = self.start(*args)
        stdout, stderr = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@dataclass
class Sandboxed:
    """A checkout with its own sandbox, and boto3 clients aimed at it."""

    checkout: Checkout
    aws: Callable[[str], Any]

    def vpcs(self) -> int:
        return len([v for v in self.aws("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]])

    def state_resources(self) -> list[str]:
        """The managed resources the environment's state holds (`terraform state list`)."""
        settings = load_settings(self.checkout.root / "environments" / f"{ENV}.toml")
        target = resolve_target(settings)
        _, env = checked_environment(target)
        listed = target.engine.run(["state", "list"], target.workdir, env)
        if "No state file was found" in listed.stderr:
            return []  # nothing was ever saved
        assert listed.returncode == 0, listed.stderr
        return [line for line in listed.stdout.split() if ".data." not in f".{line}"]


@pytest.fixture
def sandboxed(tmp_path: Path) -> Iterator[Sandboxed]:
    for project in project_with_sandbox(tmp_path):
        yield Sandboxed(Checkout(project), sandbox_clients(project))


def second_checkout(first: Path, destination: Path) -> Checkout:
    """Another checkout of the same project, on the same sandbox and state (a colleague)."""
    copy = copy_project(destination)
    sandbox = Path(".loono") / "sandbox"
    (copy / sandbox).mkdir(parents=True)
    for name in ("server.json", "secrets.json"):  # the same sandbox, the same DB password
        shutil.copyfile(first / sandbox / name, copy / sandbox / name)
    shutil.copytree(first / sandbox / "tls", copy / sandbox / "tls")
    return Checkout(copy)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def terraform_children(process: subprocess.Popen[str]) -> list[int]:
    """The Terraform worker processes our CLI started (in sessions of their own)."""
    found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True,
                           check=False).stdout.split()
    return [int(pid) for pid in found]


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL to our process and every Terraform it runs: nothing gets to clean up."""
    children = terraform_children(process)
    for pid in children:
        os.killpg(pid, signal.SIGKILL)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
