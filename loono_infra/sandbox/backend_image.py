"""Builds the sandbox's test backend image (busybox httpd FROM scratch) with its switches."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Literal

import docker

from loono_infra.core.errors import SandboxError

Mode = Literal["healthy", "crash", "slow", "unhealthy", "invalid-api"]
MODES: tuple[Mode, ...] = ("healthy", "crash", "slow", "unhealthy", "invalid-api")
BACKEND_DIR = Path(__file__).parent / "backend"
BUSYBOX = Path("/bin/busybox")


def build_test_backend(client: docker.DockerClient, tag: str, mode: Mode = "healthy",
                       version: str = "1", slow_seconds: int = 8) -> str:
    """Builds the image as tag; returns its id. Needs Debian's busybox-static."""
    busybox = shutil.which("busybox") or str(BUSYBOX)
    if not Path(busybox).is_file():
        raise SandboxError("busybox is not installed: apt-get install busybox-static")
    with tempfile.TemporaryDirectory(prefix="loono-backend-") as context:
        shutil.copytree(BACKEND_DIR, context, dirs_exist_ok=True)
        shutil.copy2(busybox, Path(context) / "busybox")
        image, _ = client.images.build(
            path=context, tag=tag, rm=True, forcerm=True,
            buildargs={"MODE": mode, "VERSION": version, "SLOW_SECONDS": str(slow_seconds)})
    return str(image.id)
