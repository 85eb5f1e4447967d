"""Builds the sandbox's test backend image (busybox httpd and psql FROM scratch) with its
switches."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Literal

import docker

from loono_infra.core.errors import SandboxError
from loono_infra.sandbox.rootfs import copy_at_host_path, libraries_of, postgres_bin

Mode = Literal["healthy", "crash", "slow", "unhealthy", "invalid-api"]
MODES: tuple[Mode, ...] = ("healthy", "crash", "slow", "unhealthy", "invalid-api")
BACKEND_DIR = Path(__file__).parent / "backend"
BUSYBOX = Path("/bin/busybox")


def build_test_backend(client: docker.DockerClient, tag: str, mode: Mode = "healthy",
                       version: str = "1", slow_seconds: int = 8) -> str:
    """Builds the image as tag; returns its id. Needs Debian's busybox-static and postgresql."""
    busybox = shutil.which("busybox") or str(BUSYBOX)
    if not Path(busybox).is_file():
        raise SandboxError("busybox is not installed: apt-get install busybox-static")
    with tempfile.TemporaryDirectory(prefix="loono-backend-") as context:
        shutil.copytree(BACKEND_DIR, context, dirs_exist_ok=True)
        _fill_rootfs(Path(context) / "rootfs", Path(busybox))
        image, _ = client.images.build(
            path=context, tag=tag, rm=True, forcerm=True,
            buildargs={"MODE": mode, "VERSION": version, "SLOW_SECONDS": str(slow_seconds)})
    return str(image.id)


def _fill_rootfs(root: Path, busybox: Path) -> None:
    """busybox and psql (with its libraries) under /bin: the shell, httpd and the DB check."""
    (root / "bin").mkdir(parents=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    psql = postgres_bin() / "psql"
    shutil.copy2(psql, root / "bin" / "psql")
    for library in libraries_of(psql):
        copy_at_host_path(library, root)
