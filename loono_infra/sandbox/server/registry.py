"""The sandbox's image registry: Debian's ``docker-registry`` on 127.0.0.1 with htpasswd auth.

Its one user and password are the ones the sandbox's ``ecr:GetAuthorizationToken`` hands out,
so a client that logs in the ECR way pushes to it unchanged.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from loono_infra.core.errors import SandboxError
from loono_infra.sandbox.processes import REGISTRY_RECORD, stop_recorded

REGISTRY_USER = "AWS"
REGISTRY_PROGRAM = "docker-registry"
HTPASSWD_PROGRAM = "htpasswd"
_CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {address}
  secret: loono-sandbox-registry
auth:
  htpasswd:
    realm: loono-sandbox
    path: {htpasswd}
"""


@dataclass(frozen=True)
class RegistryInfo:
    """A running sandbox registry."""

    pid: int
    address: str
    password: str

    def as_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "address": self.address, "password": self.password}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _require_program(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SandboxError(f"{name} is not installed: apt-get install {package}")
    return path


def _write_htpasswd(path: Path, password: str) -> None:
    program = _require_program(HTPASSWD_PROGRAM, "apache2-utils")
    result = subprocess.run([program, "-Bbn", REGISTRY_USER, password], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SandboxError(f"htpasswd failed: {result.stderr.strip()}")
    path.write_text(result.stdout, encoding="utf-8")


def start_registry(directory: Path, password: str, wait_seconds: float = 10.0) -> RegistryInfo:
    """Writes the registry's config and htpasswd, starts it on a free port and waits for it."""
    directory.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    _write_htpasswd(directory / "htpasswd", password)
    (directory / "config.yml").write_text(
        _CONFIG.format(storage=directory / "storage", address=address,
                       htpasswd=directory / "htpasswd"), encoding="utf-8")
    return _launch(directory, address, password, wait_seconds)


def restart_registry(directory: Path, wait_seconds: float = 10.0) -> RegistryInfo:
    """Starts the registry again on its old address, with its old config and storage."""
    info = registry_info(directory)
    if info is None:
        raise SandboxError(f"no sandbox registry was set up in {directory}")
    stop_registry(directory)
    return _launch(directory, info.address, info.password, wait_seconds)


def registry_info(directory: Path) -> RegistryInfo | None:
    """The registry last started in directory (running or not), or None."""
    try:
        raw = json.loads((directory / REGISTRY_RECORD).read_text(encoding="utf-8"))
        return RegistryInfo(int(raw["pid"]), str(raw["address"]), str(raw["password"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _launch(directory: Path, address: str, password: str, wait_seconds: float) -> RegistryInfo:
    program = _require_program(REGISTRY_PROGRAM, "docker-registry")
    log = (directory / "registry.log").open("ab")
    process = subprocess.Popen([program, "serve", str(directory / "config.yml")],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log.close()
    _wait_until_listening(process, address, wait_seconds)
    info = RegistryInfo(process.pid, address, password)
    state = directory / REGISTRY_RECORD
    state.write_text(json.dumps(info.as_dict()), encoding="utf-8")
    state.chmod(0o600)
    return info


def _wait_until_listening(process: subprocess.Popen[bytes], address: str,
                          wait_seconds: float) -> None:
    host, port = address.split(":")
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(f"docker-registry exited at start (code {process.returncode})")
        try:
            with socket.create_connection((host, int(port)), 0.5):
                return
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SandboxError(f"docker-registry did not listen on {address} within {wait_seconds:.0f} s")


def stop_registry(directory: Path, wait_seconds: float = 5.0) -> bool:
    """Stops the registry last started in directory; returns whether it was running."""
    return stop_recorded(directory / REGISTRY_RECORD, wait_seconds)
