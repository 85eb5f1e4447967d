"""ECS task definition revisions as ECS keeps them (moto is lenient here):

- a family without a revision names its latest ACTIVE revision;
- an INACTIVE (deregistered) revision cannot start a new service or be set on one
  ("ClientException: TaskDefinition is inactive").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.ecs.exceptions import EcsClientException, TaskDefinitionNotFoundException
from moto.ecs.models import EC2ContainerServiceBackend

_MARK = "_loono_revisions"


def family_names_latest_active_revision() -> None:
    original: Callable[..., Any] = EC2ContainerServiceBackend.describe_task_definition
    if getattr(original, _MARK, False):
        return

    def describe_task_definition(self: EC2ContainerServiceBackend,
                                 task_definition_str: str) -> Any:
        name = task_definition_str
        if ":" in name.split("/")[-1]:
            return original(self, name)
        revisions = self.task_definitions.get(name.split("/")[-1]) or {}
        active = [number for number, revision in revisions.items()
                  if revision.status == "ACTIVE"]
        if not active:
            raise TaskDefinitionNotFoundException()
        return revisions[max(active)]

    setattr(describe_task_definition, _MARK, True)
    EC2ContainerServiceBackend.describe_task_definition = describe_task_definition  # type: ignore


def inactive_revisions_start_nothing() -> None:
    original_create: Callable[..., Any] = EC2ContainerServiceBackend.create_service
    original_update: Callable[..., Any] = EC2ContainerServiceBackend.update_service
    if getattr(original_create, _MARK, False):
        return

    def create_service(self: EC2ContainerServiceBackend, cluster_str: str, service_name: str,
                       desired_count: int, task_definition_str: str | None = None,
                       *args: Any, **kwargs: Any) -> Any:
        _require_active(self, task_definition_str)
        return original_create(self, cluster_str, service_name, desired_count,
                               task_definition_str, *args, **kwargs)

    def update_service(self: EC2ContainerServiceBackend,
                       service_properties: dict[str, Any]) -> Any:
        _require_active(self, service_properties.get("task_definition"))
        return original_update(self, service_properties)

    for patched in (create_service, update_service):
        setattr(patched, _MARK, True)
    EC2ContainerServiceBackend.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]


def _require_active(backend: EC2ContainerServiceBackend, name: str | None) -> None:
    if name and backend.describe_task_definition(name).status != "ACTIVE":
        raise EcsClientException("TaskDefinition is inactive")
