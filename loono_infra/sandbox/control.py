"""Start, find and stop the sandbox process (moto on 127.0.0.1 with the fidelity fixes)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from loono_infra.core.errors import SandboxError
from loono_infra.core.workspace import Project
from loono_infra.sandbox.processes import REGISTRY_RECORD, alive, stop_recorded, terminate

DEFAULT_TTL_SECONDS = 4 * 3600
SANDBOX_REGION_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}


@dataclass(frozen=True)
class SandboxInfo:
    """A running sandbox: its process and its one endpoint for every AWS service."""

    pid: int
    url: str
    started_at: float
    registry: str | None = None


def sandbox_dir(project_dir: Path) -> Path:
    """Where the sandbox keeps its state file, log, TLS files and secrets."""
    return Project(project_dir).sandbox_dir


def _state_file(project_dir: Path) -> Path:
    return sandbox_dir(project_dir) / "server.json"


def _answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), 1.0):
            return True
    except OSError:
        return False


def sandbox_status(project_dir: Path) -> SandboxInfo | None:
    """The running sandbox of this project, or None."""
    try:
        raw = json.loads(_state_file(project_dir).read_text(encoding="utf-8"))
        info = SandboxInfo(int(raw["pid"]), str(raw["url"]), float(raw["started_at"]),
                           raw.get("registry"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if alive(info.pid) and _answers(info.url):
        return info
    return None


def require_sandbox(project_dir: Path) -> SandboxInfo:
    """The running sandbox, or a SandboxError that says how to start one."""
    info = sandbox_status(project_dir)
    if info is None:
        raise SandboxError(
            "the sandbox is not running: start it with `loono-infra sandbox up` (or `make demo`)"
        )
    return info


def start_sandbox(project_dir: Path, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                  wait_seconds: float = 30.0) -> SandboxInfo:
    """Starts the sandbox in the background (or returns the running one)."""
    running = sandbox_status(project_dir)
    if running is not None:
        return running
    directory = sandbox_dir(project_dir)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # kept passwords, the TLS key, the registry's credentials
    state_file = _state_file(project_dir)
    state_file.unlink(missing_ok=True)
    log = (directory / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "loono_infra.sandbox.server.main", "--state-file", str(state_file),
         "--ttl", str(ttl_seconds)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        cwd=project_dir,
    )
    log.close()
    return _wait_until_serving(project_dir, process, wait_seconds)


def _wait_until_serving(project_dir: Path, process: subprocess.Popen[bytes],
                        wait_seconds: float) -> SandboxInfo:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        info = sandbox_status(project_dir)
        if info is not None:
            return info
        if process.poll() is not None:
            raise SandboxError(f"the sandbox exited at start ({_log_tail(project_dir)})")
        time.sleep(0.05)
    process.terminate()
    raise SandboxError(f"the sandbox did not start within {wait_seconds:.0f} s")


def _log_tail(project_dir: Path) -> str:
    try:
        lines = (sandbox_dir(project_dir) / "server.log").read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    return " | ".join(lines[-5:]) or "empty log"


def stop_sandbox(project_dir: Path, wait_seconds: float = 10.0) -> bool:
    """Stops the running sandbox; returns whether one was running. Its AWS state is gone after."""
    info = sandbox_status(project_dir)
    if info is None:
        return False
    terminate(info.pid, wait_seconds)
    # the registry too, in case the server could not stop it
    stop_recorded(sandbox_dir(project_dir) / "registry" / REGISTRY_RECORD)
    _state_file(project_dir).unlink(missing_ok=True)
    # what it records (state bucket, lock table, ACM import) died with the sandbox
    (sandbox_dir(project_dir) / "prepared.json").unlink(missing_ok=True)
    return True
