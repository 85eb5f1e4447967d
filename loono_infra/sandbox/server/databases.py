"""The sandbox's RDS instances answer for real: each PostgreSQL instance is Debian's
PostgreSQL in a container on the sandbox's Docker network, reachable from the task
containers at the instance's endpoint address, with the master user and password set.

Data lives under ``.loono/sandbox/databases/<identifier>/`` (0700); the password reaches the
container once, as a 0600 file that its first start removes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from loono_infra.core.errors import SandboxError
from loono_infra.sandbox.rootfs import copy_programs, postgres_bin

LOG = logging.getLogger("loono_infra.sandbox.databases")
POSTGRES_DIR = Path(__file__).parent / "postgres"
READY = b"database system is ready to accept connections"
PROGRAMS = ("postgres", "initdb", "psql")
CONTAINER_DATA = "/var/lib/postgresql/data"


@dataclass(frozen=True)
class DatabaseRequest:
    """What CreateDBInstance asked for, as the server needs it."""

    identifier: str
    address: str
    port: int
    username: str
    password: str
    database: str | None


def database_uid() -> int:
    """PostgreSQL refuses to run as root: as root the server runs as 999, else as the user."""
    return 999 if os.getuid() == 0 else os.getuid()


def postgres_image(client: docker.DockerClient) -> str:
    """The image's tag, built once per machine, PostgreSQL version and user id."""
    binaries, uid = postgres_bin(), database_uid()
    tag = f"loono-sandbox-postgres:{binaries.parent.name}-{uid}"
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(tag)
        return tag
    with tempfile.TemporaryDirectory(prefix="loono-postgres-") as context:
        _fill_context(Path(context), binaries)
        client.images.build(path=context, tag=tag, rm=True, forcerm=True,
                            buildargs={"UID": str(uid), "PGBIN": str(binaries)})
    return tag


def _fill_context(context: Path, binaries: Path) -> None:
    root = context / "rootfs"
    copy_programs([binaries / name for name in PROGRAMS], root)
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", _mkdirs(root / "bin") / "busybox")
    version = binaries.parent.name
    for folder in (Path("/usr/share/postgresql") / version, Path("/usr/share/zoneinfo")):
        shutil.copytree(folder, root / folder.relative_to("/"), dirs_exist_ok=True)
    libraries = binaries.parent / "lib"
    for module in libraries.glob("*.so"):
        shutil.copy2(module, _mkdirs(root / libraries.relative_to("/")) / module.name)
    for name in ("Dockerfile", "entry.sh"):
        shutil.copy2(POSTGRES_DIR / name, context / name)


def _mkdirs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class DatabaseServers:
    """Starts, finds and removes the PostgreSQL containers of one sandbox."""

    def __init__(self, client: docker.DockerClient, network: str, directory: Path,
                 labels: dict[str, str]) -> None:
        self._client = client
        self._network = network
        self._directory = directory
        self._labels = labels
        shutil.rmtree(directory, ignore_errors=True)  # a new sandbox has no instances
        self._image: Future[str] = ThreadPoolExecutor(1).submit(postgres_image, client)

    def start(self, request: DatabaseRequest, ready_within: float = 60.0) -> None:
        """Runs the instance's server and waits until it accepts connections."""
        try:
            image = self._image.result()
        except (docker.errors.DockerException, OSError) as error:
            raise SandboxError(f"cannot build the sandbox's PostgreSQL image: {error}") from error
        data, init = self._prepare(request)
        try:
            self._run(image, request, data, init, ready_within)
        except BaseException:
            self.remove(request.identifier)
            raise
        finally:  # read once by the first start; never left on disk
            (init / "password").unlink(missing_ok=True)

    def _run(self, image: str, request: DatabaseRequest, data: Path, init: Path,
             ready_within: float) -> None:
        container = self._client.containers.run(
            image, detach=True, name=self._name(request.identifier), user=database_uid(),
            environment={"MASTER_USER": request.username, "DB_NAME": request.database or "",
                         "PGPORT": str(request.port)},
            volumes={str(data): {"bind": CONTAINER_DATA, "mode": "rw"},
                     str(init): {"bind": "/init", "mode": "rw"}},
            network=self._network, labels=self._labels,
            networking_config={self._network: self._client.api.create_endpoint_config(
                aliases=[request.address])})
        _wait_until_ready(container, ready_within)

    def remove(self, identifier: str) -> None:
        """Stops the instance's server and deletes its data."""
        with contextlib.suppress(docker.errors.NotFound):
            self._client.containers.get(self._name(identifier)).remove(force=True)
        shutil.rmtree(self._directory / identifier, ignore_errors=True)

    def _prepare(self, request: DatabaseRequest) -> tuple[Path, Path]:
        self.remove(request.identifier)
        folder = self._directory / request.identifier
        data, init = folder / "data", folder / "init"
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (folder, data, init):
            path.mkdir(mode=0o700, exist_ok=True)
        password = init / "password"
        password.touch(mode=0o600)
        password.write_text(request.password, encoding="utf-8")
        if os.getuid() == 0:
            for path in (data, init, password):
                os.chown(path, database_uid(), database_uid())
        return data, init

    def _name(self, identifier: str) -> str:
        return f"{self._network}-db-{identifier}"


def _wait_until_ready(container: Container, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        container.reload()
        if READY in container.logs():
            return
        if container.status == "exited":
            break
        time.sleep(0.2)
    # its log is not quoted: a failed first start may show the statement that set the password
    raise SandboxError(f"the sandbox database {container.name} did not start within "
                       f"{within:g} s ({container.status}); see `docker logs {container.name}`")
