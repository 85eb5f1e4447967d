"""The lookup clients made ahead of a plan: a broken AWS configuration is a warning of the lookup
that needs it, as when clients were made by the lookups themselves, never an aborted plan."""

from __future__ import annotations

import pytest

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.terraform.models import PlannedResource, ResourceChange
from loono_infra.flow.dangling import Clients, find_dangling


def _log_group_create() -> PlannedResource:
    change = ResourceChange("module.cloudwatch.aws_cloudwatch_log_group.app", "module.cloudwatch",
                            "aws_cloudwatch_log_group", "app", "create")
    return PlannedResource(change, None, {"name": "/ecs/loono"})


def test_a_missing_profile_leaves_the_lookups_to_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-anywhere")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    clients = Clients.ready(AwsEndpoint("eu-central-1"))  # must not raise
    found, problems = find_dangling(clients, [_log_group_create()])
    assert found == []
    assert len(problems) == 1
    assert "could not check whether module.cloudwatch.aws_cloudwatch_log_group.app" in problems[0]
    assert "no-such-profile-anywhere" in problems[0]
