"""The sandbox agent's hands: pull, start, watch and stop task containers on the Docker engine."""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from loono_infra.sandbox.server.registry import REGISTRY_USER, RegistryInfo

SANDBOX_LABEL = "ceo.loono.sandbox"
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/")


class PullError(Exception):
    """The image could not be pulled; the message is what ECS would quote."""


@dataclass(frozen=True)
class ContainerSpec:
    """What one task's container needs to run."""

    image: str
    environment: dict[str, str]
    container_port: int | None
    memory_mib: int | None = None  # the task's memory: Fargate's hard limit, Docker's mem_limit


@dataclass(frozen=True)
class ContainerState:
    """A container as the agent sees it on a tick."""

    running: bool
    exit_code: int | None
    error: str


def probe(url: str, timeout: float) -> tuple[bool, str]:
    """One target-group style health probe: a 200-399 answer passes."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return 200 <= answer.status < 400, f"HTTP {answer.status}"
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return False, f"{type(error).__name__}: {error}"


class ContainerRunner:
    """Runs task containers from the sandbox registry, labelled so they can be swept."""

    def __init__(self, client: docker.DockerClient, registry: RegistryInfo, owner: str) -> None:
        self._client = client
        self._registry = registry
        self._owner = owner
        self._network_lock = threading.Lock()
        self.network_name = "loono-sandbox-" + hashlib.sha256(owner.encode()).hexdigest()[:10]

    @property
    def labels(self) -> dict[str, str]:
        """The labels that mark a container or network as this sandbox's."""
        return {SANDBOX_LABEL: self._owner}

    def network(self) -> str:
        """The sandbox's Docker network (created on first use): tasks reach its databases
        there by their endpoint names, as tasks in a VPC do."""
        with self._network_lock:
            if not self._networks():
                self._client.networks.create(self.network_name, driver="bridge",
                                             labels=self.labels)
        return self.network_name

    def _networks(self) -> list[Any]:
        named = self._client.networks.list(names=[self.network_name])
        return [network for network in named if network.name == self.network_name]

    def local_reference(self, image: str) -> str:
        """An ECR image name, pointed at the sandbox registry (where the sandbox's ECR lives)."""
        return _ECR_HOST.sub(f"{self._registry.address}/", image)

    def pull(self, image: str) -> str:
        """Pulls image; returns the digest it resolved to."""
        reference = self.local_reference(image)
        auth = {"username": REGISTRY_USER, "password": self._registry.password}
        try:
            pulled = self._client.images.pull(reference, auth_config=auth)
        except (docker.errors.APIError, docker.errors.ImageNotFound) as error:
            raise PullError(f"CannotPullContainerError: pull image {image}: "
                             f"{_explanation(error)}") from error
        digests: list[str] = pulled.attrs.get("RepoDigests") or []
        return digests[0].rsplit("@", 1)[-1] if digests else ""

    def start(self, spec: ContainerSpec) -> tuple[str, int | None]:
        """Starts the container; returns its id and the host port of the container port."""
        ports = {f"{spec.container_port}/tcp": ("127.0.0.1", None)} if spec.container_port else {}
        limit = {"mem_limit": f"{spec.memory_mib}m"} if spec.memory_mib else {}
        container: Container = self._client.containers.run(
            self.local_reference(spec.image), detach=True, environment=spec.environment, **limit,
            ports=ports, labels=self.labels, network=self.network())  # type: ignore[call-overload]
        container.reload()
        return str(container.id), _host_port(container.attrs, spec.container_port)

    def state(self, container_id: str) -> ContainerState:
        try:
            container = self._client.containers.get(container_id)
        except docker.errors.NotFound:
            return ContainerState(False, None, "container vanished")
        status: dict[str, Any] = container.attrs.get("State", {})
        return ContainerState(bool(status.get("Running")), status.get("ExitCode"),
                              str(status.get("Error") or ""))

    def remove(self, container_id: str) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self._client.containers.get(container_id).remove(force=True)

    def sweep(self) -> int:
        """Removes every container this sandbox started; returns how many."""
        containers = self._client.containers.list(
            all=True, filters={"label": f"{SANDBOX_LABEL}={self._owner}"})
        for container in containers:
            self.remove(str(container.id))
        for network in self._networks():
            with contextlib.suppress(docker.errors.APIError):
                network.remove()
        return len(containers)


def _host_port(attrs: dict[str, Any], container_port: int | None) -> int | None:
    if container_port is None:
        return None
    bindings = (attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{container_port}/tcp")
    return int(bindings[0]["HostPort"]) if bindings else None


def _explanation(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)
