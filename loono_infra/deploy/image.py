"""The image to deploy: a local image by name:tag, or one built from a Dockerfile (Docker SDK)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.images import Image

from loono_infra.core.errors import DeployError

_REFERENCE = re.compile(r"^(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::\d+/[^:@]+)?)"
                        r":(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$")
BuildLog = Callable[[str], None]


@dataclass(frozen=True)
class ImageReference:
    """name:tag of a local image; the tag is what the deploy pushes."""

    name: str
    tag: str

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


def parse_reference(text: str) -> ImageReference:
    """name:tag, or a DeployError that shows the expected form."""
    match = _REFERENCE.match(text.strip())
    if match is None:
        raise DeployError(f"image {text!r} is not name:tag (e.g. loono-backend:3f2c1ab); "
                          "a tag is required, digests are learnt at push")
    return ImageReference(match["name"], match["tag"])


def docker_engine() -> docker.DockerClient:
    """The local Docker engine, or a DeployError saying it cannot be reached."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        raise DeployError(f"the Docker engine cannot be reached: {error}") from error
    return client


def local_image(client: docker.DockerClient, reference: ImageReference) -> Image:
    try:
        return client.images.get(str(reference))
    except docker.errors.ImageNotFound as error:
        raise DeployError(f"image {reference} does not exist locally: build it first, or pass "
                          "--build <directory with a Dockerfile>") from error


def build_image(client: docker.DockerClient, context: Path, reference: ImageReference,
                log: BuildLog | None = None) -> Image:
    """Builds context/Dockerfile as reference; a failed step is a DeployError quoting its log."""
    if not (context / "Dockerfile").is_file():
        raise DeployError(f"--build {context}: no Dockerfile in that directory")
    lines: list[str] = []
    try:
        stream = client.api.build(path=str(context), tag=str(reference), rm=True, forcerm=True,
                                  decode=True)
        for item in stream:
            _collect(item, lines, log)
    except docker.errors.APIError as error:
        raise DeployError(f"building {context} failed: {error.explanation or error}") from error
    return local_image(client, reference)


def _collect(item: dict[str, Any], lines: list[str], log: BuildLog | None) -> None:
    text = str(item.get("stream") or item.get("status") or "").rstrip()
    if text:
        lines.append(text)
        if log is not None:
            log(text)
    if "error" in item or "errorDetail" in item:
        message = item.get("error") or item.get("errorDetail", {}).get("message")
        tail = " | ".join(lines[-4:])
        raise DeployError(f"image build failed: {message} (last build output: {tail})")
