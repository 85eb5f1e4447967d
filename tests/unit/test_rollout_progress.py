"""What a deploy shows while it waits: rollout state, counts, each service event once, time left."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from loono_infra.deploy.acceptors import Expectation, Observation, wait_for
from loono_infra.deploy.progress import RolloutProgress, RolloutWatcher
from loono_infra.reports.deploy import HEARTBEAT_SECONDS, RolloutLines

NEW = "arn:aws:ecs:eu-central-1:1:task-definition/loono-prod:42"
SINCE = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def _service(state: str, running: int, pending: int, events: list[tuple[str, int]],
             ) -> dict[str, object]:
    return {"deployments": [{"status": "PRIMARY", "taskDefinition": NEW, "rolloutState": state,
                             "runningCount": running, "desiredCount": 1,
                             "pendingCount": pending}],
            "events": [{"id": name, "message": name, "createdAt": SINCE + timedelta(seconds=s)}
                       for name, s in reversed(events)]}  # ECS: newest first


def test_each_look_reports_state_counts_new_events_and_time_left() -> None:
    looks = iter([
        _service("IN_PROGRESS", 0, 1, [("old", -60), ("started 1 task", 5)]),
        _service("IN_PROGRESS", 0, 1, [("old", -60), ("started 1 task", 5)]),
        _service("COMPLETED", 1, 0, [("old", -60), ("started 1 task", 5),
                                     ("reached a steady state", 20)]),
    ])
    clock = iter([0.0, 0.0, 10.0, 20.0])
    heard: list[RolloutProgress] = []
    result = wait_for(lambda: Observation(next(looks)), Expectation(NEW), timeout=900,
                      interval=10, clock=lambda: next(clock), sleep=lambda _: None,
                      on_look=RolloutWatcher(NEW, SINCE, heard.append))
    assert result.outcome == "success"
    assert [(p.state, p.running, p.pending, p.events, p.seconds_left) for p in heard] == [
        ("IN_PROGRESS", 0, 1, ("started 1 task",), 900.0),
        ("IN_PROGRESS", 0, 1, (), 890.0),
        ("COMPLETED", 1, 0, ("reached a steady state",), 880.0)]
    assert heard[0].line() == ("rollout loono-prod:42 IN_PROGRESS: running 0/1, pending 1 "
                               "(0 s, 900 s left)")


def _progress(state: str, elapsed: float, events: tuple[str, ...] = ()) -> RolloutProgress:
    return RolloutProgress("loono-prod:42", state, 0, 1, 1, events, elapsed, 900 - elapsed)


def test_ci_gets_a_line_when_the_rollout_changes_or_a_heartbeat() -> None:
    out, now = io.StringIO(), [0.0]
    lines = RolloutLines(Console(file=out, force_terminal=False, width=200), lambda: now[0])
    for moment, state, events in [(0, "IN_PROGRESS", ("started 1 task",)),
                                  (10, "IN_PROGRESS", ()), (HEARTBEAT_SECONDS + 1,
                                                            "IN_PROGRESS", ()),
                                  (HEARTBEAT_SECONDS + 5, "COMPLETED", ())]:
        now[0] = moment
        lines(_progress(state, moment, events))
    shown = out.getvalue().splitlines()
    assert shown[0] == "   ECS: started 1 task"
    assert [line.split(" ", 1)[1].split(" (")[0] for line in shown[1:]] == [
        "rollout loono-prod:42 IN_PROGRESS: running 0/1, pending 1",
        "rollout loono-prod:42 IN_PROGRESS: running 0/1, pending 1",  # the heartbeat
        "rollout loono-prod:42 COMPLETED: running 0/1, pending 1"]
    last = HEARTBEAT_SECONDS + 5
    assert shown[-1].endswith(f"({last:.0f} s, {900 - last:.0f} s left)")
