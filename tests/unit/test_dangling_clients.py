"""The lookup clients made ahead of a plan: a broken AWS configuration is a warning of the lookup
that needs it, as when clients were made by the lookups themselves, never an aborted plan."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import BotoCoreError, EndpointConnectionError

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.errors import LoonoError
from loono_infra.core.terraform.models import PlannedResource, ResourceChange
from loono_infra.flow import dangling
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


def _creates(count: int) -> list[PlannedResource]:
    return [PlannedResource(ResourceChange(f"aws_cloudwatch_log_group.g{n}", "",
                                           "aws_cloudwatch_log_group", f"g{n}", "create"),
                            None, {"name": f"/ecs/g{n}"}) for n in range(count)]


class _NoClients(Clients):
    def __init__(self) -> None:
        super().__init__(AwsEndpoint("eu-central-1"))

    def client(self, service: str) -> object:
        return object()


def test_the_lookups_run_side_by_side_and_are_told_in_plan_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Three lookups meet at a barrier: asked one after another, the first would wait alone
    until the barrier breaks (BrokenBarrierError fails the test)."""
    together = threading.Barrier(3, timeout=10)

    def lookup(client: object, after: dict[str, str]) -> str | None:
        together.wait()
        number = int(after["name"].removeprefix("/ecs/g"))
        if number == 1:
            raise BotoCoreError()
        return after["name"] if number % 2 == 0 else None

    monkeypatch.setitem(dangling.LOOKUPS, "aws_cloudwatch_log_group", ("logs", lookup))
    monkeypatch.setattr(dangling, "LOOKUP_THREADS", 3)
    found, problems = find_dangling(_NoClients(), _creates(6))
    assert [d.address for d in found] == ["aws_cloudwatch_log_group.g0",
                                          "aws_cloudwatch_log_group.g2",
                                          "aws_cloudwatch_log_group.g4"]
    assert [d.import_id for d in found] == ["/ecs/g0", "/ecs/g2", "/ecs/g4"]
    assert len(problems) == 1 and "aws_cloudwatch_log_group.g1" in problems[0]


def test_an_endpoint_that_does_not_answer_stops_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookup(client: object, after: dict[str, str]) -> str | None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    monkeypatch.setitem(dangling.LOOKUPS, "aws_cloudwatch_log_group", ("logs", lookup))
    with pytest.raises(LoonoError, match=r"did not answer while checking whether "
                       r"aws_cloudwatch_log_group\.g0 already exists"):
        find_dangling(_NoClients(), _creates(2))
