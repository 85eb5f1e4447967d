"""What a plan says about the running service (core/plans.service_rollout_note): Terraform's
task definition is the template deploys copy, so apply rolls a change of it out itself."""

from __future__ import annotations

import pytest

from loono_infra.core.plans import service_rollout_note
from loono_infra.core.terraform.models import ResourceChange

TASK = ("module.ecs.aws_ecs_task_definition.this", "aws_ecs_task_definition")
SERVICE = ("module.ecs.aws_ecs_service.this", "aws_ecs_service")
OTHER = ("module.rds.aws_db_instance.this", "aws_db_instance")


def changes(*items: tuple[tuple[str, str], str]) -> list[ResourceChange]:
    return [ResourceChange(address, "module." + address.split(".")[1], kind, "this", action)
            for (address, kind), action in items]


@pytest.mark.parametrize(("planned", "expected"), [
    (changes((TASK, "create"), (SERVICE, "create")), "first deploy starts it"),
    (changes((TASK, "replace"), (SERVICE, "replace")), "replaced: it has no tasks"),
    (changes((TASK, "replace")), "rolls onto it with the image deployed now"),
    (changes((TASK, "update"), (SERVICE, "update")), "rolls onto it"),
])
def test_the_plan_says_what_happens_to_the_running_service(planned: list[ResourceChange],
                                                            expected: str) -> None:
    note = service_rollout_note(planned)
    assert note is not None and expected in note


@pytest.mark.parametrize("planned", [
    changes(),
    changes((OTHER, "update")),
    changes((TASK, "noop"), (SERVICE, "noop")),
    changes((SERVICE, "update")),  # e.g. the grace period: ECS applies it in place
])
def test_nothing_to_say_when_the_task_configuration_stays(planned: list[ResourceChange]) -> None:
    assert service_rollout_note(planned) is None
