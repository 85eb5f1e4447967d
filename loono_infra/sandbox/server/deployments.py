"""ECS service deployments as ECS reports them, kept on moto's Service objects.

moto's UpdateService changes the task definition but starts no deployment; the sandbox's
patch here starts one the way ECS does (a new PRIMARY, the previous one ACTIVE), and the
agent moves it on. ListTasks also learns to filter by service, as ECS does.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend

from loono_infra.sandbox.server.tasks import utc_now

_MARK = "_loono_deployments"
MAX_EVENTS = 100


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randrange(10**18, 10**19)}"


def primary(service: Any) -> dict[str, Any] | None:
    """The PRIMARY deployment of a service, or None."""
    deployment: dict[str, Any]
    for deployment in service.deployments:
        if deployment.get("status") == "PRIMARY":
            return deployment
    return None


def failure_threshold(desired_count: int) -> int:
    """The circuit breaker's documented threshold: 0.5 x desired count, at least 3, at most 200."""
    return min(200, max(3, math.ceil(0.5 * desired_count)))


def circuit_breaker(service: Any) -> tuple[bool, bool]:
    """(enabled, rollback) of the service's deployment circuit breaker."""
    configuration = getattr(service, "deployment_configuration", None) or {}
    breaker = configuration.get("deploymentCircuitBreaker") or {}
    return bool(breaker.get("enable")), bool(breaker.get("rollback"))


def add_event(service: Any, message: str) -> None:
    """Adds a service event, newest first, as DescribeServices lists them."""
    event = {"id": str(uuid.uuid4()), "createdAt": utc_now(),
             "message": f"(service {service.name}) {message}"}
    service.events = [event, *service.events][:MAX_EVENTS]


def start_deployment(service: Any, task_definition_arn: str) -> dict[str, Any]:
    """A new PRIMARY deployment of task_definition_arn; the previous PRIMARY becomes ACTIVE."""
    now = utc_now()
    deployment_id = new_deployment_id()
    deployment = {
        "id": deployment_id, "status": "PRIMARY", "taskDefinition": task_definition_arn,
        "desiredCount": service.desired_count, "pendingCount": 0, "runningCount": 0,
        "failedTasks": 0, "createdAt": now, "updatedAt": now, "launchType": service.launch_type,
        "platformVersion": service.platform_version, "platformFamily": "Linux",
        "networkConfiguration": service.network_configuration or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }
    older = [{**old, "status": "ACTIVE"} if old.get("status") == "PRIMARY" else old
             for old in service.deployments]
    service.deployments = [deployment, *older]
    service.task_definition = task_definition_arn
    return deployment


def update_service_starts_deployment() -> None:
    """UpdateService with a new task definition (or forceNewDeployment) starts a deployment."""
    original: Callable[..., Any] = EC2ContainerServiceBackend.update_service
    if getattr(original, _MARK, False):
        return

    def update_service(self: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Any:
        requested = properties.get("task_definition")
        forced = bool(properties.get("force_new_deployment"))
        name = str(properties.get("service", "")).split("/")[-1]
        before = self._get_service(properties.get("cluster", "default"), name)
        counts = (before.running_count, before.pending_count)
        service = original(self, dict(properties))
        service.running_count, service.pending_count = counts
        current = primary(service)
        arn = self.describe_task_definition(requested).arn if requested else None
        if arn is not None and (forced or current is None or current["taskDefinition"] != arn):
            start_deployment(service, arn)
        elif arn is None and forced and current is not None:
            start_deployment(service, current["taskDefinition"])
        elif arn is not None:
            service.task_definition = arn
        return service

    setattr(update_service, _MARK, True)
    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign,assignment]


def list_tasks_filters_by_service() -> None:
    """ListTasks with serviceName lists that service's tasks only (group service:<name>)."""
    original: Callable[..., Any] = EC2ContainerServiceBackend.list_tasks
    if getattr(original, _MARK, False):
        return

    def list_tasks(self: EC2ContainerServiceBackend, cluster_str: str | None = None,
                   container_instance: str | None = None, family: str | None = None,
                   started_by: str | None = None, service_name: str | None = None,
                   desiredStatus: str | None = None) -> Any:  # noqa: N803 - moto's name
        tasks = original(self, cluster_str, container_instance, family, started_by, service_name,
                         desiredStatus)
        if not service_name:
            return tasks
        return [task for task in tasks if getattr(task, "group", "") == f"service:{service_name}"]

    setattr(list_tasks, _MARK, True)
    EC2ContainerServiceBackend.list_tasks = list_tasks  # type: ignore[method-assign]
