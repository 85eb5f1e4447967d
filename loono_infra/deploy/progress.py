"""What a deploy shows while it waits for the rollout: state, task counts, new service events
and the time left, one RolloutProgress per look at the service (DeployHooks.rollout)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loono_infra.deploy.acceptors import Observation, short_revision


@dataclass(frozen=True)
class RolloutProgress:
    """One look at a rollout under way."""

    revision: str  # e.g. loono-prod:42
    state: str  # the deployment's rolloutState: IN_PROGRESS, COMPLETED, FAILED
    running: int
    desired: int
    pending: int
    events: tuple[str, ...]  # the service's events new since the previous look
    elapsed_seconds: float
    seconds_left: float

    def line(self) -> str:
        """'rollout loono-prod:42 IN_PROGRESS: running 0/1, pending 1 (12 s, 888 s left)'."""
        return (f"rollout {self.revision} {self.state}: running {self.running}/{self.desired}, "
                f"pending {self.pending} ({self.elapsed_seconds:.0f} s, "
                f"{self.seconds_left:.0f} s left)")


RolloutListener = Callable[[RolloutProgress], None]


class RolloutWatcher:
    """Turns the wait's looks into RolloutProgress for a listener, each service event once."""

    def __init__(self, task_definition: str, since: datetime, listener: RolloutListener) -> None:
        self.task_definition = task_definition
        self.listener = listener
        self._seen_events: set[str] = set()
        self._since = since

    def __call__(self, seen: Observation, elapsed: float, left: float) -> None:
        mine = [d for d in seen.deployments if d.get("taskDefinition") == self.task_definition]
        ours = next((d for d in mine if d.get("status") == "PRIMARY"), mine[0] if mine else {})
        self.listener(RolloutProgress(
            short_revision(self.task_definition), str(ours.get("rolloutState", "?")),
            int(ours.get("runningCount", 0)), int(ours.get("desiredCount", 0)),
            int(ours.get("pendingCount", 0)), self._new_events(seen.service), elapsed, left))

    def _new_events(self, service: Mapping[str, Any]) -> tuple[str, ...]:
        fresh = []
        for event in reversed(service.get("events") or []):  # ECS lists the newest first
            key = str(event.get("id") or event.get("message"))
            created = event.get("createdAt")
            if key in self._seen_events or (isinstance(created, datetime)
                                            and created < self._since):
                continue
            self._seen_events.add(key)
            fresh.append(str(event.get("message", "")))
        return tuple(fresh)
