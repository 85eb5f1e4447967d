"""Day-to-day looks at the running service: its CloudWatch logs and its status."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from loono_infra.deploy.acceptors import Observation
from loono_infra.deploy.checks import health_verdict, http_fetch
from loono_infra.deploy.clients import DeployClients, target_clients
from loono_infra.deploy.service import EcsService, base_url, running_revision, service_ref
from loono_infra.deploy.taskdef import image_of
from loono_infra.errors import DeployError, LoonoError
from loono_infra.settings import Settings
from loono_infra.targets import resolve_target

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> timedelta:
    """'90s', '15m', '1h', '2d' -> a timedelta; anything else is an error naming --since."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise LoonoError(f"--since {text!r}: expected a number and s, m, h or d (e.g. 1h)")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def log_group_name(settings: Settings) -> str:
    """The service's log group, as the cloudwatch module names it."""
    return f"/ecs/{settings.name_prefix}"


@dataclass(frozen=True)
class LogLine:
    """One CloudWatch log event."""

    timestamp: int
    stream: str
    message: str
    event_id: str = ""

    @property
    def time(self) -> str:
        return datetime.fromtimestamp(self.timestamp / 1000, UTC).isoformat(timespec="seconds")

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "stream": self.stream, "message": self.message}


@dataclass
class LogQuery:
    """What to read: since when, which filter pattern, and whether to keep following."""

    since: timedelta = timedelta(hours=1)
    filter_pattern: str | None = None
    follow: bool = False
    poll_seconds: float = 2.0
    follow_for: float | None = None  # stop following after this many seconds (None: never)
    sleep: Callable[[float], None] = field(default=time.sleep)


def read_logs(settings: Settings, query: LogQuery, sandbox: bool | None = None,
              clients: Any = None) -> Iterator[LogLine]:
    """The service's log lines from query.since on, oldest first; follows when asked."""
    logs = clients or _logs_client(settings, sandbox)
    start = int((datetime.now(UTC) - query.since).timestamp() * 1000)
    seen: set[str] = set()
    began = time.monotonic()
    while True:
        for line in _page_through(logs, log_group_name(settings), start, query.filter_pattern):
            if line.event_id not in seen:
                seen.add(line.event_id)
                start = max(start, line.timestamp)
                yield line
        if not query.follow or _followed_enough(query, began):
            return
        query.sleep(query.poll_seconds)


def _followed_enough(query: LogQuery, began: float) -> bool:
    return query.follow_for is not None and time.monotonic() - began >= query.follow_for


def _page_through(logs: Any, group: str, start: int,
                  pattern: str | None) -> Iterator[LogLine]:
    arguments: dict[str, Any] = {"logGroupName": group, "startTime": start}
    if pattern:
        arguments["filterPattern"] = pattern
    while True:
        try:
            page = logs.filter_log_events(**arguments)
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message", str(error))
            raise LoonoError(f"log group {group}: {message}") from error
        for event in page.get("events", []):
            yield LogLine(int(event["timestamp"]), str(event.get("logStreamName", "")),
                          str(event.get("message", "")), str(event.get("eventId", "")))
        if not page.get("nextToken"):
            return
        arguments["nextToken"] = page["nextToken"]


def _logs_client(settings: Settings, sandbox: bool | None) -> Any:
    return target_clients(resolve_target(settings, sandbox), "logs")[0]


@dataclass(frozen=True)
class ServiceStatus:
    """What runs now: revision, image and digest, the deployments, health, recent events."""

    environment: str
    service: str
    task_definition: str
    image: str
    digest: str | None
    rollout_state: str
    running: int
    desired: int
    deployments: list[str]
    health_url: str | None
    health: str
    events: list[str]

    @property
    def healthy(self) -> bool:
        return self.health == "healthy"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy}


def service_status(settings: Settings, sandbox: bool | None = None,
                   clients: DeployClients | None = None) -> ServiceStatus:
    """The service's state as ECS reports it, and one health check through the load balancer."""
    clients = clients or DeployClients.for_target(resolve_target(settings, sandbox))
    service = EcsService(clients.ecs, service_ref(settings))
    seen = Observation(service.describe())
    primary = seen.primary or {}
    revision = running_revision(seen.service)
    image = image_of(clients.ecs, revision, settings.service.container_name) if revision else ""
    url, health = _health(settings, seen.service, clients)
    return ServiceStatus(
        environment=settings.environment, service=str(service.ref), task_definition=revision,
        image=image, digest=image.split("@", 1)[1] if "@" in image else None,
        rollout_state=str(primary.get("rolloutState", "UNKNOWN")),
        running=int(primary.get("runningCount", 0)), desired=int(primary.get("desiredCount", 0)),
        deployments=seen.summary().split("; "), health_url=url, health=health,
        events=[str(e.get("message", "")) for e in (seen.service.get("events") or [])[:5]])


def _health(settings: Settings, described: Mapping[str, Any],
            clients: DeployClients) -> tuple[str | None, str]:
    try:
        url = base_url(settings, described, clients.elbv2) + settings.service.health_check.path
    except DeployError as error:
        return None, f"unknown ({error.message})"
    fetch = http_fetch(settings.deploy.request_timeout_seconds, clients.ca_bundle)
    verdict = health_verdict(fetch(url))
    return url, verdict or "healthy"
