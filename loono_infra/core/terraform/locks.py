"""The state lock as Terraform reports it: who holds it, since when, under which ID."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from loono_infra.core.errors import Diagnostic

LOCK_SUMMARY = "Error acquiring the state lock"
_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created):\s*(.*?)\s*$", re.MULTILINE)
_CREATED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? \+0000 UTC$")


@dataclass(frozen=True)
class LockInfo:
    """The holder of a state lock."""

    lock_id: str
    who: str
    operation: str
    created: datetime | None

    def age_seconds(self, now: datetime | None = None) -> float | None:
        if self.created is None:
            return None
        return max(0.0, ((now or datetime.now(UTC)) - self.created).total_seconds())


def lock_in(diagnostics: Iterable[Diagnostic]) -> LockInfo | None:
    """The lock named by a failed command's "Error acquiring the state lock", if any."""
    for diagnostic in diagnostics:
        if diagnostic.summary.strip() == LOCK_SUMMARY:
            fields = dict(_FIELD.findall(diagnostic.detail or ""))
            if fields.get("ID"):
                return LockInfo(fields["ID"], fields.get("Who", "unknown"),
                                fields.get("Operation", "unknown").removeprefix("OperationType"),
                                _created(fields.get("Created", "")))
    return None


def _created(text: str) -> datetime | None:
    match = _CREATED.match(text)
    if match is None:
        return None
    day, clock = match.group(1).split(" ")
    return _moment(day, clock, match.group(2))


def _moment(day: str, clock: str, fraction: str | None) -> datetime:
    """A UTC moment from its date, time of day and fraction of a second (any precision)."""
    moment = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))


_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$")


def lock_from_table(info: str) -> LockInfo | None:
    """The holder as the S3 backend writes it into its DynamoDB item (the Info JSON, UTC)."""
    try:
        data = json.loads(info)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("ID"):
        return None
    match = _ISO.match(str(data.get("Created", "")))
    created = _moment(match.group(1), match.group(2), match.group(3)) if match else None
    return LockInfo(str(data["ID"]), str(data.get("Who", "unknown")),
                    str(data.get("Operation", "unknown")).removeprefix("OperationType"), created)
