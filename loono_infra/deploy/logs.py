"""The running service's CloudWatch log lines (its log group), paged and optionally followed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from loono_infra.core.errors import LoonoError
from loono_infra.core.settings import Settings
from loono_infra.core.workspace import log_group_name
from loono_infra.flow.targets import aws_endpoint, resolve_target

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str) -> timedelta:
    """'90s', '15m', '1h', '2d' -> a timedelta; anything else is an error naming --since."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise LoonoError(f"--since {text!r}: expected a number and s, m, h or d (e.g. 1h)")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


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
        group = log_group_name(settings.name_prefix)
        for line in _page_through(logs, group, start, query.filter_pattern):
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
    return aws_endpoint(resolve_target(settings, sandbox)).client("logs")
