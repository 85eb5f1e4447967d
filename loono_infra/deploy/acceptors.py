"""The rollout watcher: a table of acceptors polled by one generic loop (botocore's waiter idea).

Each acceptor looks at one Observation (DescribeServices' service plus the stopped tasks of
the revision being rolled out) and either says nothing or names an outcome with a reason.
The first acceptor that speaks decides. Clock and sleep are injected, so tests drive the
loop with scripted responses and no real time passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["success", "failure"]


@dataclass(frozen=True)
class Observation:
    """One look at the service: DescribeServices' service and our revision's stopped tasks."""

    service: Mapping[str, Any]
    stopped_tasks: Sequence[Mapping[str, Any]] = ()

    @property
    def deployments(self) -> list[Mapping[str, Any]]:
        return list(self.service.get("deployments") or [])

    @property
    def primary(self) -> Mapping[str, Any] | None:
        return next((d for d in self.deployments if d.get("status") == "PRIMARY"), None)

    def summary(self) -> str:
        """A one-line picture of the deployments, for the timeline."""
        return "; ".join(
            f"{d.get('status')} {short_revision(str(d.get('taskDefinition', '')))} "
            f"{d.get('rolloutState', '?')} running {d.get('runningCount', 0)}/"
            f"{d.get('desiredCount', 0)} failed {d.get('failedTasks', 0)}"
            for d in self.deployments) or "no deployments"


@dataclass(frozen=True)
class Expectation:
    """What the rollout should end in: the revision, and how many stopped tasks fail it."""

    task_definition_arn: str
    failed_tasks_limit: int = 3


Matcher = Callable[[Observation, Expectation], "str | None"]


@dataclass(frozen=True)
class Acceptor:
    """One row of the table: when matcher returns a reason, the wait ends with outcome."""

    name: str
    outcome: Outcome
    matcher: Matcher


@dataclass(frozen=True)
class WaitResult:
    """How the wait ended; ``observation`` is the last response seen."""

    outcome: Outcome
    acceptor: str
    reason: str
    observation: Observation | None
    polls: int
    seconds: float
    timeline: list[tuple[float, str]] = field(default_factory=list)


def short_revision(arn: str) -> str:
    """family:revision of a task definition ARN."""
    return arn.rsplit("/", 1)[-1]


def _ours(deployment: Mapping[str, Any], expected: Expectation) -> bool:
    return deployment.get("taskDefinition") == expected.task_definition_arn


def rollout_failed(seen: Observation, expected: Expectation) -> str | None:
    for deployment in seen.deployments:
        if _ours(deployment, expected) and deployment.get("rolloutState") == "FAILED":
            return str(deployment.get("rolloutStateReason") or "rolloutState FAILED")
    return None


def primary_not_ours(seen: Observation, expected: Expectation) -> str | None:
    primary = seen.primary
    if primary is None or _ours(primary, expected):
        return None
    revision = short_revision(str(primary.get("taskDefinition", "")))
    return (f"the service's primary deployment runs {revision}, not "
            f"{short_revision(expected.task_definition_arn)} (circuit breaker rollback)")


def tasks_stopped(seen: Observation, expected: Expectation) -> str | None:
    if len(seen.stopped_tasks) < expected.failed_tasks_limit:
        return None
    return f"{len(seen.stopped_tasks)} tasks of the new revision stopped"


def rollout_completed(seen: Observation, expected: Expectation) -> str | None:
    primary = seen.primary
    if primary is None or not _ours(primary, expected):
        return None
    if primary.get("rolloutState") != "COMPLETED" or len(seen.deployments) != 1:
        return None
    if primary.get("runningCount") != primary.get("desiredCount"):
        return None
    return f"{primary.get('runningCount')} of {primary.get('desiredCount')} tasks running, " \
           "rollout COMPLETED"


ROLLOUT_ACCEPTORS: tuple[Acceptor, ...] = (
    Acceptor("rollout-failed", "failure", rollout_failed),
    Acceptor("rolled-back", "failure", primary_not_ours),
    Acceptor("tasks-stopped", "failure", tasks_stopped),
    Acceptor("completed", "success", rollout_completed),
)


def judge(seen: Observation, expected: Expectation,
          acceptors: Sequence[Acceptor] = ROLLOUT_ACCEPTORS) -> tuple[Acceptor, str] | None:
    """The first acceptor that speaks, with its reason; None means keep waiting."""
    for acceptor in acceptors:
        reason = acceptor.matcher(seen, expected)
        if reason is not None:
            return acceptor, reason
    return None


Look = Callable[[Observation, float, float], None]  # (seen, elapsed, seconds left)


def wait_for(observe: Callable[[], Observation], expected: Expectation, *, timeout: float,
             interval: float, clock: Callable[[], float], sleep: Callable[[float], None],
             acceptors: Sequence[Acceptor] = ROLLOUT_ACCEPTORS,
             on_look: Look | None = None) -> WaitResult:
    """Polls until an acceptor speaks or the deadline passes (a failure named 'deadline');
    on_look hears every look, with the time gone and the time left."""
    started = clock()
    timeline: list[tuple[float, str]] = []
    seen: Observation | None = None
    polls = 0
    while True:
        seen, polls = observe(), polls + 1
        elapsed = clock() - started
        _note(timeline, elapsed, seen.summary())
        if on_look is not None:
            on_look(seen, elapsed, max(0.0, timeout - elapsed))
        verdict = judge(seen, expected, acceptors)
        if verdict is not None:
            acceptor, reason = verdict
            return WaitResult(acceptor.outcome, acceptor.name, reason, seen, polls, elapsed,
                              timeline)
        if elapsed + interval > timeout:
            return WaitResult("failure", "deadline",
                              f"no verdict within the deadline of {timeout:g} s "
                              f"(last: {seen.summary()})", seen, polls, elapsed, timeline)
        sleep(interval)


def _note(timeline: list[tuple[float, str]], elapsed: float, summary: str) -> None:
    if not timeline or timeline[-1][1] != summary:
        timeline.append((round(elapsed, 3), summary))
