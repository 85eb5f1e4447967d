"""Task definition revisions: Terraform's template (family <name>-config) owns the
configuration, deploys own the image. A deploy registers the template's latest revision with
its image swapped as a revision of family <name>; those revisions are the deploy history
(the latest ACTIVE one is what was last deployed; a failed one is deregistered)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
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


TEMPLATE_SUFFIX = "-config"


@dataclass(frozen=True)
class Families:
    """The two task definition families of one service."""

    deployed: str  # the deploys' revisions (family <name_prefix>)

    @property
    def template(self) -> str:
        return self.deployed + TEMPLATE_SUFFIX

    def is_template(self, arn: str) -> bool:
        return family_of(arn) == self.template


def family_of(arn: str) -> str:
    """'loono-prod' of arn:aws:ecs:...:task-definition/loono-prod:7."""
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def latest_revision(ecs: Any, family: str) -> str | None:
    """The ARN of the family's latest ACTIVE revision; None when it has none."""
    try:
        answer = ecs.describe_task_definition(taskDefinition=family)
    except ClientError as error:
        if _code(error) == "ClientException":  # ECS's answer for a family with no revision
            return None
        raise DeployError(f"describing task definition family {family}: {error}") from error
    definition = answer["taskDefinition"]
    return str(definition["taskDefinitionArn"]) if definition.get("status") == "ACTIVE" else None


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


def register_with_image(ecs: Any, base_arn: str, container_name: str, image: str,
                        family: str | None = None) -> str:
    """Registers base_arn with the image swapped (in family, when given); returns its ARN."""
    try:
        answer = ecs.describe_task_definition(taskDefinition=base_arn, include=["TAGS"])
        arguments = with_image(answer["taskDefinition"], container_name, image)
        if family is not None:
            arguments["family"] = family
        if answer.get("tags"):
            arguments["tags"] = answer["tags"]
        registered = ecs.register_task_definition(**arguments)
    except ClientError as error:
        raise DeployError(f"registering a revision of {base_arn}: {error}") from error
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def configuration_of(ecs: Any, arn: str, container_name: str) -> dict[str, Any]:
    """A revision's registerable configuration, image and family left out (to compare two)."""
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    arguments = with_image(definition, container_name, "")
    arguments.pop("family", None)
    return arguments


def deregister(ecs: Any, arn: str) -> None:
    """Marks a revision INACTIVE (a failed deploy's: it must not pass for the last deployed)."""
    with contextlib.suppress(ClientError):
        ecs.deregister_task_definition(taskDefinition=arn)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def image_of(ecs: Any, task_definition_arn: str, container_name: str) -> str:
    """The image the named container of a revision runs."""
    definition = ecs.describe_task_definition(taskDefinition=task_definition_arn)
    for container in definition["taskDefinition"].get("containerDefinitions", []):
        if container.get("name") == container_name:
            return str(container.get("image", ""))
    return ""
