"""The rollout watcher's acceptor table, driven by scripted DescribeServices answers in the
shapes AWS documents (deployments with status, taskDefinition, rolloutState, counts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from loono_infra.deploy.acceptors import Expectation, Observation, judge, wait_for

OLD = "arn:aws:ecs:eu-central-1:123456789012:task-definition/loono-prod:41"
NEW = "arn:aws:ecs:eu-central-1:123456789012:task-definition/loono-prod:42"


def deployment(status: str, task_definition: str, rollout: str, running: int = 0,
               desired: int = 1, failed: int = 0, reason: str = "") -> dict[str, Any]:
    return {"id": f"ecs-svc/{abs(hash((status, task_definition))) % 10**19}", "status": status,
            "taskDefinition": task_definition, "desiredCount": desired, "pendingCount": 0,
            "runningCount": running, "failedTasks": failed, "rolloutState": rollout,
            "rolloutStateReason": reason or f"ECS deployment {rollout.lower()}.",
            "launchType": "FARGATE"}


def service(*deployments: dict[str, Any]) -> dict[str, Any]:
    return {"serviceName": "loono-prod", "status": "ACTIVE", "desiredCount": 1,
            "runningCount": sum(d["runningCount"] for d in deployments),
            "taskDefinition": deployments[0]["taskDefinition"], "deployments": list(deployments),
            "events": []}


def stopped_task(code: int) -> dict[str, Any]:
    return {"taskArn": "arn:aws:ecs:eu-central-1:123456789012:task/loono-prod/0a1b2c3d4e5f",
            "taskDefinitionArn": NEW, "lastStatus": "STOPPED",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "backend", "exitCode": code}]}


EXPECTED = Expectation(NEW, failed_tasks_limit=3)
IN_PROGRESS = service(deployment("PRIMARY", NEW, "IN_PROGRESS"),
                      deployment("ACTIVE", OLD, "COMPLETED", running=1))
DRAINING = service(deployment("PRIMARY", NEW, "IN_PROGRESS", running=1),
                   deployment("ACTIVE", OLD, "COMPLETED", running=1))
COMPLETED = service(deployment("PRIMARY", NEW, "COMPLETED", running=1))
FAILED = service(deployment("PRIMARY", NEW, "FAILED", failed=3,
                            reason="ECS deployment circuit breaker: tasks failed to start."),
                 deployment("ACTIVE", OLD, "COMPLETED", running=1))
ROLLED_BACK = service(deployment("PRIMARY", OLD, "IN_PROGRESS"),
                      deployment("ACTIVE", NEW, "FAILED", failed=3))


def verdict(answer: dict[str, Any], stopped: int = 0) -> tuple[str, str] | None:
    found = judge(Observation(answer, tuple(stopped_task(3) for _ in range(stopped))), EXPECTED)
    return None if found is None else (found[0].outcome, found[0].name)


@pytest.mark.parametrize(("answer", "expected"), [
    (IN_PROGRESS, None),
    (DRAINING, None),
    (COMPLETED, ("success", "completed")),
    (FAILED, ("failure", "rollout-failed")),
    (ROLLED_BACK, ("failure", "rollout-failed")),
    (service(deployment("PRIMARY", OLD, "COMPLETED", running=1)), ("failure", "rolled-back")),
])
def test_each_documented_state_gets_its_verdict(answer: dict[str, Any],
                                                expected: tuple[str, str] | None) -> None:
    assert verdict(answer) == expected


def test_completed_needs_running_equal_to_desired() -> None:
    short = service(deployment("PRIMARY", NEW, "COMPLETED", running=1, desired=2))
    assert verdict(short) is None


def test_completed_needs_no_other_deployment_left() -> None:
    still_two = service(deployment("PRIMARY", NEW, "COMPLETED", running=1),
                        deployment("ACTIVE", OLD, "COMPLETED", running=1))
    assert verdict(still_two) is None


def test_stopped_tasks_fail_the_rollout_without_the_circuit_breaker() -> None:
    assert verdict(IN_PROGRESS, stopped=2) is None
    assert verdict(IN_PROGRESS, stopped=3) == ("failure", "tasks-stopped")


def test_a_failure_outranks_a_success_seen_in_the_same_answer() -> None:
    assert verdict(COMPLETED, stopped=3) == ("failure", "tasks-stopped")


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*answers: dict[str, Any]) -> Iterator[Observation]:
    for answer in answers:
        yield Observation(answer)
    while True:
        yield Observation(answers[-1])


def test_the_loop_polls_until_completed_and_keeps_a_timeline() -> None:
    time = FakeTime()
    answers = scripted(IN_PROGRESS, IN_PROGRESS, DRAINING, COMPLETED)
    result = wait_for(lambda: next(answers), EXPECTED, timeout=60, interval=2,
                      clock=time.clock, sleep=time.sleep)
    assert (result.outcome, result.acceptor, result.polls) == ("success", "completed", 4)
    assert time.sleeps == [2, 2, 2]
    assert [summary.split(" ")[2] for _, summary in result.timeline] == \
        ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]


def test_the_loop_reports_a_failure_with_the_last_answer() -> None:
    time = FakeTime()
    answers = scripted(IN_PROGRESS, FAILED)
    result = wait_for(lambda: next(answers), EXPECTED, timeout=60, interval=5,
                      clock=time.clock, sleep=time.sleep)
    assert result.outcome == "failure"
    assert result.reason == "ECS deployment circuit breaker: tasks failed to start."
    assert result.observation is not None and result.observation.service is FAILED


def test_the_deadline_ends_the_wait_without_sleeping_past_it() -> None:
    time = FakeTime()
    answers = scripted(IN_PROGRESS)
    result = wait_for(lambda: next(answers), EXPECTED, timeout=10, interval=3,
                      clock=time.clock, sleep=time.sleep)
    assert (result.outcome, result.acceptor) == ("failure", "deadline")
    assert "deadline of 10 s" in result.reason
    assert sum(time.sleeps) <= 10
