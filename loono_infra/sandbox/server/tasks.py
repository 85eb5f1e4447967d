"""ECS tasks as the sandbox's agent runs them: moto serialises these objects for DescribeTasks.

Attribute names follow the ECS API shapes (snake_case of the members); the agent's own
bookkeeping lives under names that start with an underscore, which no shape asks for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SandboxContainer:
    """One container of a task (the sandbox runs single-container task definitions)."""

    name: str
    image: str
    task_arn: str
    container_arn: str
    last_status: str = "PENDING"
    health_status: str = "UNKNOWN"
    image_digest: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    runtime_id: str | None = None


@dataclass
class TaskProbe:
    """The load balancer's running verdict on a task's target."""

    passes: int = 0
    failures: int = 0
    healthy: bool = False
    next_probe_at: float = 0.0


class SandboxTask:
    """A task of a service deployment, backed by one Docker container."""

    def __init__(self, cluster_arn: str, task_definition_arn: str, group: str,
                 deployment_id: str, container: tuple[str, str]) -> None:
        self.id = uuid.uuid4().hex
        region_account = cluster_arn.split(":cluster/")[0]
        cluster_name = cluster_arn.rsplit("/", 1)[-1]
        self.task_arn = f"{region_account}:task/{cluster_name}/{self.id}"
        self.cluster_arn = cluster_arn
        self.task_definition_arn = task_definition_arn
        self.group = group
        self.started_by = deployment_id
        self.launch_type = "FARGATE"
        self.last_status = "PROVISIONING"
        self.desired_status = "RUNNING"
        self.health_status = "UNKNOWN"
        self.stopped_reason: str | None = None
        self.stop_code: str | None = None
        self.created_at = utc_now()
        self.started_at: datetime | None = None
        self.stopped_at: datetime | None = None
        self.tags: list[dict[str, str]] = []
        self.container_instance_arn: str | None = None
        name, image = container
        self.containers = [SandboxContainer(name, image, self.task_arn,
                                            f"{self.task_arn}/{uuid.uuid4()}")]
        self._deployment_id = deployment_id
        self._docker_id: str | None = None
        self._host_port: int | None = None
        self._started_monotonic = 0.0
        self._probe = TaskProbe()
        self._log_target: tuple[str, str] | None = None

    @property
    def container(self) -> SandboxContainer:
        return self.containers[0]

    @property
    def stopped(self) -> bool:
        return self.last_status == "STOPPED"

    def advance(self) -> None:
        """moto's DescribeTasks advances its own tasks' state; the agent drives these."""

    def mark_running(self, docker_id: str, host_port: int | None, now: float) -> None:
        self._docker_id = docker_id
        self._host_port = host_port
        self._started_monotonic = now
        self.last_status = "RUNNING"
        self.started_at = utc_now()
        self.container.last_status = "RUNNING"
        self.container.runtime_id = docker_id

    def mark_stopped(self, reason: str, stop_code: str, exit_code: int | None = None) -> None:
        self.last_status = "STOPPED"
        self.desired_status = "STOPPED"
        self.stopped_reason = reason
        self.stop_code = stop_code
        self.stopped_at = utc_now()
        self.health_status = "UNKNOWN"
        self.container.last_status = "STOPPED"
        self.container.exit_code = exit_code
        self.container.reason = reason if exit_code is None else None


@dataclass
class ServiceRun:
    """What the agent remembers about one service between ticks."""

    tasks: list[SandboxTask] = field(default_factory=list)
    last_completed_task_definition: str | None = None
    failed_by_deployment: dict[str, int] = field(default_factory=dict)

    def live_tasks(self) -> list[SandboxTask]:
        return [task for task in self.tasks if not task.stopped]

    def tasks_of(self, deployment_id: str) -> list[SandboxTask]:
        return [task for task in self.live_tasks() if task._deployment_id == deployment_id]
