"""A new task definition revision: the service's current one with only the image changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from loono_infra.core.errors import DeployError

# RegisterTaskDefinition's members that DescribeTaskDefinition returns; the rest
# (ARN, revision, status, requiresAttributes, registeredAt...) are ECS's own bookkeeping.
REGISTERABLE = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "volumes",
    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform",
)


def with_image(definition: Mapping[str, Any], container_name: str,
               image: str) -> dict[str, Any]:
    """RegisterTaskDefinition's arguments: definition with container_name's image replaced."""
    containers = [dict(c) for c in definition.get("containerDefinitions", [])]
    named = [c for c in containers if c.get("name") == container_name]
    if not named:
        names = ", ".join(str(c.get("name")) for c in containers) or "none"
        raise DeployError(f"task definition {definition.get('taskDefinitionArn')} has no "
                          f"container named {container_name!r} (it has: {names}); "
                          "see service.container_name in the settings")
    named[0]["image"] = image
    arguments = {key: definition[key] for key in REGISTERABLE if definition.get(key)}
    arguments["containerDefinitions"] = containers
    return arguments


def register_with_image(ecs: Any, current_arn: str, container_name: str, image: str) -> str:
    """Registers the new revision; returns its ARN."""
    try:
        answer = ecs.describe_task_definition(taskDefinition=current_arn, include=["TAGS"])
        arguments = with_image(answer["taskDefinition"], container_name, image)
        if answer.get("tags"):
            arguments["tags"] = answer["tags"]
        registered = ecs.register_task_definition(**arguments)
    except ClientError as error:
        raise DeployError(f"registering a revision of {current_arn}: {error}") from error
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def image_of(ecs: Any, task_definition_arn: str, container_name: str) -> str:
    """The image the named container of a revision runs."""
    definition = ecs.describe_task_definition(taskDefinition=task_definition_arn)
    for container in definition["taskDefinition"].get("containerDefinitions", []):
        if container.get("name") == container_name:
            return str(container.get("image", ""))
    return ""
